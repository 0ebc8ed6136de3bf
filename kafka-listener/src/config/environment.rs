//! The merged view of every active source, highest precedence first: environment variables,
//! then profile documents and files, then the base file. Lookups are relaxed (see
//! [`super::relaxed`]); a list or map set in a higher source replaces the lower one's whole,
//! as in Spring Boot.

use std::collections::{BTreeMap, HashMap};

use super::origin::{Origin, PropertySource, PropertyValue};
use super::relaxed::{elements, env_form, uniform_key};

/// One file source with its relaxed index (uniform key → entry; the last duplicate wins).
#[derive(Debug)]
struct Layer {
    source: PropertySource,
    /// The uniform form of each entry's key, in entry order.
    uniform: Vec<String>,
    by_key: HashMap<String, usize>,
}

impl Layer {
    fn new(source: PropertySource) -> Self {
        let uniform: Vec<String> = source
            .entries
            .iter()
            .map(|(key, _)| uniform_key(key))
            .collect();
        let by_key = uniform
            .iter()
            .enumerate()
            .map(|(index, key)| (key.clone(), index))
            .collect();
        Self {
            source,
            uniform,
            by_key,
        }
    }

    /// Entries whose uniform key lies under `uniform_prefix` (which ends in `.`).
    fn under<'a>(
        &'a self,
        uniform_prefix: &'a str,
    ) -> impl Iterator<Item = &'a (String, PropertyValue)> + 'a {
        self.source
            .entries
            .iter()
            .zip(&self.uniform)
            .filter(move |(_, uniform)| uniform.starts_with(uniform_prefix))
            .map(|(entry, _)| entry)
    }

    fn get(&self, uniform: &str) -> Option<&PropertyValue> {
        self.by_key.get(uniform).map(|i| &self.source.entries[*i].1)
    }
}

/// Environment variables, kept apart from the test process's real environment: the loader
/// takes them as an explicit map.
#[derive(Debug, Default, Clone)]
pub(crate) struct EnvVars {
    vars: BTreeMap<String, String>,
    by_form: HashMap<String, String>,
}

impl EnvVars {
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let by_form = vars
            .keys()
            .filter(|name| looks_like_property_override(name))
            .map(|name| (env_form(name), name.clone()))
            .collect();
        Self { vars, by_form }
    }

    /// A variable by its exact name.
    pub fn exact(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The variable that overrides `key` (`spring.kafka.consumer.group-id` ←
    /// `SPRING_KAFKA_CONSUMER_GROUP_ID` or `SPRING_KAFKA_CONSUMER_GROUPID`).
    pub fn for_key(&self, key: &str) -> Option<(&str, &str)> {
        if self.by_form.is_empty() {
            return None;
        }
        let name = self.by_form.get(&env_form(&uniform_key(key)))?;
        Some((name.as_str(), self.vars[name].as_str()))
    }

    /// Variables that start with the environment form of `prefix` and continue with `_`: the
    /// rest, lower-cased with `_` → `.`, is the map key (`…_PROPERTIES_SESSION_TIMEOUT_MS` →
    /// `session.timeout.ms`), which is how Spring Boot binds env vars into maps.
    pub fn map_entries(&self, prefix: &str) -> Vec<(String, &str, &str)> {
        let wanted = env_form(&uniform_key(prefix));
        let mut out = Vec::new();
        for (name, value) in &self.vars {
            if !looks_like_property_override(name) {
                continue;
            }
            let mut seen = 0;
            let mut split_at = None;
            for (index, c) in name.char_indices() {
                if seen == wanted.len() {
                    split_at = Some(index);
                    break;
                }
                if c.is_ascii_alphanumeric() {
                    if wanted.as_bytes().get(seen) != Some(&(c.to_ascii_lowercase() as u8)) {
                        break;
                    }
                    seen += 1;
                }
            }
            let Some(split_at) = split_at else { continue };
            let rest = &name[split_at..];
            let Some(rest) = rest.strip_prefix('_') else {
                continue;
            };
            if rest.is_empty() {
                continue;
            }
            out.push((
                rest.to_ascii_lowercase().replace('_', "."),
                name.as_str(),
                value.as_str(),
            ));
        }
        out
    }

    /// Names of the variables that look like `spring.kafka.*` overrides.
    pub fn kafka_override_names(&self) -> impl Iterator<Item = &str> {
        self.vars
            .keys()
            .filter(|name| {
                env_form(name).starts_with("springkafka") && looks_like_property_override(name)
            })
            .map(String::as_str)
    }
}

/// Spring Boot only maps upper-case-and-underscore names (or dotted names) onto properties;
/// `PATH` or `HOME` never override anything because no key reduces to them, but the filter also
/// keeps e.g. `spring_kafka_x` in lower case from matching, as Spring does.
fn looks_like_property_override(name: &str) -> bool {
    name.contains('.')
        || name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Every active source, highest precedence first.
#[derive(Debug, Default)]
pub(crate) struct Environment {
    env: EnvVars,
    /// File layers, highest precedence first.
    layers: Vec<Layer>,
}

impl Environment {
    /// `sources` in precedence order from lowest (base document 1) to highest (last profile
    /// document); `env` above all.
    pub fn new(sources: Vec<PropertySource>, env: EnvVars) -> Self {
        let layers = sources.into_iter().rev().map(Layer::new).collect();
        Self { env, layers }
    }

    /// The environment variables.
    pub fn env(&self) -> &EnvVars {
        &self.env
    }

    /// The winning value of `key`.
    pub fn get(&self, key: &str) -> Option<PropertyValue> {
        if let Some((name, value)) = self.env.for_key(key) {
            return Some(PropertyValue {
                value: value.to_owned(),
                origin: Origin::env(name),
            });
        }
        let uniform = uniform_key(key);
        self.layers
            .iter()
            .find_map(|layer| layer.get(&uniform))
            .cloned()
    }

    /// The winning list of `key`: from the highest source that sets `key` itself (one value,
    /// to be split on commas by the caller) or `key[0]`, `key[1]`, … (taken from that source only).
    pub fn list(&self, key: &str) -> Option<Vec<PropertyValue>> {
        if let Some(value) = self.get_from_env(key) {
            return Some(vec![value]);
        }
        // `SPRING_KAFKA_BOOTSTRAP_SERVERS_0`, `…_1`: Spring Boot's indexed form for env lists.
        let from_env: Vec<PropertyValue> = (0..)
            .map_while(|i| self.get_from_env(&format!("{key}[{i}]")))
            .collect();
        if !from_env.is_empty() {
            return Some(from_env);
        }
        let uniform = uniform_key(key);
        for layer in &self.layers {
            if let Some(value) = layer.get(&uniform) {
                return Some(vec![value.clone()]);
            }
            let items: Vec<PropertyValue> = (0..)
                .map_while(|i| layer.get(&format!("{uniform}.{i}")).cloned())
                .collect();
            if !items.is_empty() {
                return Some(items);
            }
        }
        None
    }

    fn get_from_env(&self, key: &str) -> Option<PropertyValue> {
        self.env.for_key(key).map(|(name, value)| PropertyValue {
            value: value.to_owned(),
            origin: Origin::env(name),
        })
    }

    /// Every entry under `prefix` as map key (the rest of the path, as written) → value, with
    /// higher sources overriding lower ones key by key.
    pub fn map(&self, prefix: &str) -> BTreeMap<String, PropertyValue> {
        let prefix_len = elements(prefix).len();
        let uniform_prefix = format!("{}.", uniform_key(prefix));
        let mut out = BTreeMap::new();
        for layer in self.layers.iter().rev() {
            // A list value (`strategy: [a, b]` → `strategy[0]`, `strategy[1]`) becomes one
            // comma-separated value, as Kafka writes lists; a higher layer replaces it whole.
            let mut lists: BTreeMap<String, PropertyValue> = BTreeMap::new();
            for (key, value) in layer.under(&uniform_prefix) {
                let mut parts = elements(key);
                let is_list_item = parts.len() > prefix_len + 1
                    && parts.last().is_some_and(|last| {
                        last.bracketed
                            && !last.text.is_empty()
                            && last.text.chars().all(|c| c.is_ascii_digit())
                    });
                if is_list_item {
                    parts.pop();
                }
                if parts.len() <= prefix_len {
                    continue;
                }
                let rest: Vec<&str> = parts[prefix_len..]
                    .iter()
                    .map(|e| e.text.as_str())
                    .collect();
                let map_key = rest.join(".");
                if is_list_item {
                    lists
                        .entry(map_key)
                        .and_modify(|joined| {
                            joined.value.push(',');
                            joined.value.push_str(&value.value);
                        })
                        .or_insert_with(|| value.clone());
                } else {
                    out.insert(map_key, value.clone());
                }
            }
            out.extend(lists);
        }
        for (map_key, name, value) in self.env.map_entries(prefix) {
            out.insert(
                map_key,
                PropertyValue {
                    value: value.to_owned(),
                    origin: Origin::env(name),
                },
            );
        }
        out
    }

    /// Every key written in a file under `prefix` (as written, with its origin), for the
    /// unknown-key check.
    pub fn file_keys_under(&self, prefix: &str) -> Vec<(String, Origin)> {
        let uniform_prefix = format!("{}.", uniform_key(prefix));
        let mut out = Vec::new();
        for layer in &self.layers {
            for (key, value) in layer.under(&uniform_prefix) {
                out.push((key.clone(), value.origin.clone()));
            }
        }
        out
    }
}
