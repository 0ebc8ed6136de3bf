//! Reads typed values out of the merged [`Environment`]: resolves placeholders, parses, and on
//! failure names the key, its origin, the value and what is accepted. It remembers every key it
//! was asked for, so keys nobody asked for can be reported as unknown afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::environment::Environment;
use super::error::ConfigError;
use super::origin::{Origin, PropertyValue};
use super::placeholders::{self, PlaceholderError};
use super::relaxed::{closest, elements, env_form, uniform, uniform_key};
use super::units::{
    parse_duration, parse_duration_seconds, parse_size, DURATION_FORMS, DURATION_FORMS_SECONDS,
    SIZE_FORMS,
};
use super::warning::ConfigWarning;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

pub(crate) struct Binder<'a> {
    environment: &'a Environment,
    known: BTreeSet<String>,
    known_spelled: Vec<String>,
    map_prefixes: Vec<String>,
    unsupported_prefixes: Vec<String>,
}

impl<'a> Binder<'a> {
    pub fn new(environment: &'a Environment) -> Self {
        Self {
            environment,
            known: BTreeSet::new(),
            known_spelled: Vec::new(),
            map_prefixes: Vec::new(),
            unsupported_prefixes: Vec::new(),
        }
    }

    fn remember(&mut self, key: &str) {
        if self.known.insert(uniform_key(key)) {
            self.known_spelled.push(key.to_owned());
        }
    }

    /// Resolves placeholders in `raw`, reporting failures against `key`.
    pub fn resolve(&self, key: &str, raw: PropertyValue) -> Result<Located<String>, ConfigError> {
        let value = resolve_in(self.environment, &raw.value)
            .map_err(|e| placeholder_error(key, &raw.origin, e))?;
        Ok(Located {
            value,
            origin: raw.origin,
        })
    }

    /// The resolved text of `key`, if set.
    pub fn string(&mut self, key: &str) -> Result<Option<Located<String>>, ConfigError> {
        self.remember(key);
        match self.environment.get(key) {
            Some(raw) => self.resolve(key, raw).map(Some),
            None => Ok(None),
        }
    }

    /// A value parsed by `parse`; `expected` describes the accepted values for the error.
    pub fn parsed<T>(
        &mut self,
        key: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<Located<T>>, ConfigError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        match parse(text.value.trim()) {
            Some(value) => Ok(Some(Located {
                value,
                origin: text.origin,
            })),
            None => Err(ConfigError::InvalidValue {
                key: key.to_owned(),
                origin: text.origin,
                value: text.value,
                expected: expected.to_owned(),
            }),
        }
    }

    pub fn bool(&mut self, key: &str) -> Result<Option<Located<bool>>, ConfigError> {
        self.parsed(key, "true or false", parse_bool)
    }

    pub fn number<T: std::str::FromStr>(
        &mut self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        Ok(self
            .parsed(key, expected, |s| s.parse().ok())?
            .map(|l| l.value))
    }

    pub fn duration(&mut self, key: &str) -> Result<Option<Duration>, ConfigError> {
        Ok(self
            .parsed(key, DURATION_FORMS, parse_duration)?
            .map(|l| l.value))
    }

    /// A duration whose bare numbers are seconds (Spring's `@DurationUnit(SECONDS)` keys).
    pub fn duration_seconds(&mut self, key: &str) -> Result<Option<Duration>, ConfigError> {
        Ok(self
            .parsed(key, DURATION_FORMS_SECONDS, parse_duration_seconds)?
            .map(|l| l.value))
    }

    pub fn size(&mut self, key: &str) -> Result<Option<u64>, ConfigError> {
        Ok(self.parsed(key, SIZE_FORMS, parse_size)?.map(|l| l.value))
    }

    /// One of `choices`, matched relaxed (`manual_immediate`, `manual-immediate`,
    /// `MANUAL_IMMEDIATE` are one value).
    pub fn choice<T: Copy>(
        &mut self,
        key: &str,
        choices: &[(&str, T)],
    ) -> Result<Option<Located<T>>, ConfigError> {
        let expected = format!(
            "one of {}",
            choices
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.parsed(key, &expected, |text| {
            let wanted = uniform(text);
            choices
                .iter()
                .find(|(name, _)| uniform(name) == wanted)
                .map(|(_, value)| *value)
        })
    }

    /// A list written as a sequence or as a comma-separated string.
    pub fn list(&mut self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        self.remember(key);
        let Some(items) = self.environment.list(key) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for item in items {
            let resolved = self.resolve(key, item)?;
            out.extend(
                resolved
                    .value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(Some(out))
    }

    /// A free-form map such as `spring.kafka.consumer.properties`, resolved.
    pub fn map(&mut self, prefix: &str) -> Result<BTreeMap<String, Located<String>>, ConfigError> {
        self.map_prefixes.push(format!("{}.", uniform_key(prefix)));
        let mut out = BTreeMap::new();
        for (map_key, raw) in self.environment.map(prefix) {
            let key = format!("{prefix}.{map_key}");
            out.insert(map_key, self.resolve(&key, raw)?);
        }
        Ok(out)
    }

    /// Keys Spring Boot has but this crate does not act on: reported as such, not as typos.
    pub fn unsupported(&mut self, prefix: &str) {
        self.unsupported_prefixes
            .push(format!("{}.", uniform_key(prefix)));
    }

    /// Every key under `root` written in a file, or set through a `SPRING_KAFKA_*` variable,
    /// that nobody bound: a typo or a key we do not support. Each is logged with a suggestion.
    pub fn unknown_keys(&self, root: &str) -> Vec<ConfigWarning> {
        let mut warnings = self.unknown_file_keys(root);
        for name in self.environment.env().kafka_override_names() {
            // `…_SERVERS_0` belongs to the list key `…servers`.
            let unindexed =
                env_form(name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_'));
            let bound = self.known.iter().any(|k| {
                self.environment.env().for_key(k).map(|(n, _)| n) == Some(name)
                    || env_form(k) == unindexed
            }) || self.map_prefixes.iter().any(|p| {
                self.environment
                    .env()
                    .map_entries(p.trim_end_matches('.'))
                    .iter()
                    .any(|(_, n, _)| *n == name)
            });
            if !bound {
                let key = name.to_ascii_lowercase().replace('_', ".");
                warnings.push(self.warning(key, Origin::env(name)));
            }
        }
        for warning in &warnings {
            tracing::warn!(key = %warning.key, origin = %warning.origin, suggestion = ?warning.suggestion, "{warning}");
        }
        warnings
    }

    /// Like [`unknown_keys`](Self::unknown_keys) for files only, and not logged: for roots
    /// outside `spring.kafka`, which no `SPRING_KAFKA_*` variable can set.
    pub fn unknown_file_keys(&self, root: &str) -> Vec<ConfigWarning> {
        let mut seen = BTreeSet::new();
        self.environment
            .file_keys_under(root)
            .into_iter()
            .filter(|(key, _)| {
                let uniform = uniform_key(key);
                !self.is_bound(&uniform) && seen.insert(uniform)
            })
            .map(|(key, origin)| self.warning(key, origin))
            .collect()
    }

    fn is_bound(&self, uniform: &str) -> bool {
        if self.known.contains(uniform)
            || self
                .map_prefixes
                .iter()
                .any(|p| uniform.starts_with(p.as_str()))
        {
            return true;
        }
        // An empty section (`listener: {}`, `properties:`) is the parent of known keys.
        let as_parent = format!("{uniform}.");
        if self
            .known
            .iter()
            .chain(&self.map_prefixes)
            .any(|k| k.starts_with(&as_parent))
        {
            return true;
        }
        // `bootstrap-servers[0]` is part of the list key `bootstrap-servers`.
        match uniform.rsplit_once('.') {
            Some((parent, last)) if last.chars().all(|c| c.is_ascii_digit()) => {
                self.known.contains(parent)
            }
            _ => false,
        }
    }

    fn warning(&self, key: String, origin: Origin) -> ConfigWarning {
        let uniform = uniform_key(&key);
        let unsupported = self
            .unsupported_prefixes
            .iter()
            .any(|p| uniform.starts_with(p.as_str()));
        let suggestion = if unsupported {
            None
        } else {
            self.suggest(&key)
        };
        ConfigWarning {
            key,
            origin,
            suggestion,
            unsupported,
            ignored_because: None,
        }
    }

    /// A known key with the same parent and a similar last element, else a known key with the
    /// same last element under another parent (`consumer.ack-mode` → `listener.ack-mode`).
    fn suggest(&self, key: &str) -> Option<String> {
        let parts = elements(key);
        let (last, parent) = parts.split_last()?;
        let parent: Vec<String> = parent.iter().map(|e| e.uniform()).collect();
        let parent = parent.join(".");
        let siblings: Vec<(&str, &str)> = self
            .known_spelled
            .iter()
            .filter_map(|k| {
                let (p, l) = k.rsplit_once('.')?;
                (uniform_key(p) == parent).then_some((k.as_str(), l))
            })
            .collect();
        if let Some(best) = closest(&last.text, siblings.iter().map(|(_, l)| *l)) {
            return siblings
                .iter()
                .find(|(_, l)| *l == best)
                .map(|(k, _)| (*k).to_owned());
        }
        let wanted = last.uniform();
        self.known_spelled
            .iter()
            .find(|k| {
                k.rsplit_once('.')
                    .is_some_and(|(_, l)| uniform(l) == wanted)
            })
            .cloned()
    }
}

/// Resolves `${…}` in `text` against the environment: a variable by exact name first, then a
/// property (relaxed, environment variables included).
pub(crate) fn resolve_in(
    environment: &Environment,
    text: &str,
) -> Result<String, PlaceholderError> {
    placeholders::resolve(text, &|name| {
        environment
            .env()
            .exact(name)
            .map(str::to_owned)
            .or_else(|| environment.get(name).map(|v| v.value))
    })
}

pub(crate) fn placeholder_error(
    key: &str,
    origin: &Origin,
    error: PlaceholderError,
) -> ConfigError {
    match error {
        PlaceholderError::Unresolved(name) => ConfigError::UnresolvedPlaceholder {
            key: key.to_owned(),
            origin: origin.clone(),
            name,
        },
        PlaceholderError::Circular(chain) => ConfigError::CircularPlaceholder {
            key: key.to_owned(),
            origin: origin.clone(),
            chain: chain.join(" -> "),
        },
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
