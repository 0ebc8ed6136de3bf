//! YAML → flattened [`PropertySource`]s, one per `---` document, each value with its line and
//! column (saphyr's `MarkedYaml`).
//!
//! Flattening follows Spring Boot's `YamlPropertySourceLoader`: nested mappings join with `.`,
//! sequences become `key[0]`, `key[1]`, …, scalars keep the text the user wrote (`1.0` stays
//! `1.0`, `yes` stays `yes`: YAML 1.2 has no `yes` boolean), `null`/`~`/empty become "".

use std::sync::Arc;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::error::ConfigError;
use super::origin::{Origin, PropertySource, PropertyValue};
use super::profiles::take_on_profile;

/// Deeper nesting than this is no configuration anyone writes; refusing it keeps recursion (ours
/// and the recursive drop of saphyr's tree) far from the stack's limit on hostile input.
const MAX_NESTING: usize = 128;

/// Parses every document of `text`. `file` names the source in positions and errors.
pub(crate) fn parse_documents(text: &str, file: &str) -> Result<Vec<PropertySource>, ConfigError> {
    let file: Arc<str> = Arc::from(file);
    reject_deep_flow_nesting(text, &file)?;
    let documents = MarkedYaml::load_from_str(text).map_err(|e| ConfigError::Yaml {
        origin: Origin::file(file.clone(), e.marker().line(), e.marker().col() + 1),
        message: e.info().to_owned(),
    })?;
    let chars: Vec<char> = text.chars().collect();
    let mut sources = Vec::with_capacity(documents.len());
    for (index, document) in documents.iter().enumerate() {
        let mut flattener = Flattener {
            file: &file,
            chars: &chars,
            source: PropertySource::named(format!("{file} (document {})", index + 1)),
        };
        flattener.node(document, String::new(), 0)?;
        let mut source = flattener.source;
        take_on_profile(&mut source);
        sources.push(source);
    }
    Ok(sources)
}

/// A cheap pre-scan: flow collections (`[[[[…`) are the only way to nest deeply in a short input.
fn reject_deep_flow_nesting(text: &str, file: &Arc<str>) -> Result<(), ConfigError> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    for c in text.chars() {
        column += 1;
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            '\n' => {
                line += 1;
                column = 0;
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(ConfigError::Yaml {
                origin: Origin::file(file.clone(), line, column),
                message: format!("nesting deeper than {MAX_NESTING} levels; flatten the structure"),
            });
        }
    }
    Ok(())
}

struct Flattener<'a> {
    file: &'a Arc<str>,
    chars: &'a [char],
    source: PropertySource,
}

impl Flattener<'_> {
    fn origin(&self, node: &MarkedYaml<'_>) -> Origin {
        let start = node.span.start;
        Origin::file(self.file.clone(), start.line(), start.col() + 1)
    }

    /// The characters the node spans in the input, for scalars whose typed value would lose the
    /// user's spelling (`1.0`, `0x10`, `True`).
    fn written_text(&self, node: &MarkedYaml<'_>) -> Option<String> {
        let (start, end) = (node.span.start.index(), node.span.end.index());
        (start < end && end <= self.chars.len())
            .then(|| self.chars[start..end].iter().collect::<String>())
            .map(|s| s.trim().to_owned())
    }

    fn scalar_text(&self, node: &MarkedYaml<'_>, scalar: &Scalar<'_>) -> String {
        match scalar {
            Scalar::String(s) => s.to_string(),
            Scalar::Null => String::new(),
            Scalar::Boolean(b) => b.to_string(),
            Scalar::Integer(i) => self.written_text(node).unwrap_or_else(|| i.to_string()),
            Scalar::FloatingPoint(f) => self.written_text(node).unwrap_or_else(|| f.to_string()),
        }
    }

    fn key_text(&self, key: &MarkedYaml<'_>) -> Result<String, ConfigError> {
        match &key.data {
            YamlData::Value(scalar) => Ok(self.scalar_text(key, scalar)),
            YamlData::Tagged(_, inner) => self.key_text(inner),
            YamlData::Representation(text, _, _) => Ok(text.to_string()),
            _ => Err(ConfigError::Yaml {
                origin: self.origin(key),
                message: "a mapping key must be a plain value (not a list or mapping)".to_owned(),
            }),
        }
    }

    fn node(
        &mut self,
        node: &MarkedYaml<'_>,
        prefix: String,
        depth: usize,
    ) -> Result<(), ConfigError> {
        if depth > MAX_NESTING {
            return Err(ConfigError::Yaml {
                origin: self.origin(node),
                message: format!("nesting deeper than {MAX_NESTING} levels; flatten the structure"),
            });
        }
        match &node.data {
            YamlData::Mapping(mapping) => {
                if mapping.is_empty() && !prefix.is_empty() {
                    self.leaf(prefix.clone(), String::new(), node);
                }
                for (key, value) in mapping {
                    let key_text = self.key_text(key)?;
                    let path = join(&prefix, &key_text);
                    self.node(value, path, depth + 1)?;
                }
            }
            YamlData::Sequence(items) => {
                if items.is_empty() && !prefix.is_empty() {
                    self.leaf(prefix.clone(), String::new(), node);
                }
                for (index, item) in items.iter().enumerate() {
                    self.node(item, format!("{prefix}[{index}]"), depth + 1)?;
                }
            }
            YamlData::Value(scalar) => {
                let text = self.scalar_text(node, scalar);
                self.scalar_leaf(prefix, text, node)?;
            }
            YamlData::Representation(text, _, _) => {
                let text = text.to_string();
                self.scalar_leaf(prefix, text, node)?;
            }
            YamlData::Tagged(_, inner) => self.node(inner, prefix, depth + 1)?,
            YamlData::Alias(_) | YamlData::BadValue => {
                return Err(ConfigError::Yaml {
                    origin: self.origin(node),
                    message: "this value cannot be read (unknown alias or a value that does not match its tag)"
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    fn scalar_leaf(
        &mut self,
        prefix: String,
        text: String,
        node: &MarkedYaml<'_>,
    ) -> Result<(), ConfigError> {
        if prefix.is_empty() {
            // A document that is a lone scalar sets nothing; Spring Boot ignores it too, but
            // only an empty one is likely intentional.
            if text.is_empty() {
                return Ok(());
            }
            return Err(ConfigError::Yaml {
                origin: self.origin(node),
                message: format!("the document is the plain value `{text}`, not a mapping of keys"),
            });
        }
        self.leaf(prefix, text, node);
        Ok(())
    }

    fn leaf(&mut self, key: String, value: String, node: &MarkedYaml<'_>) {
        let origin = self.origin(node);
        self.source.push(key, PropertyValue { value, origin });
    }
}

/// Joins a path and a key; a key in brackets (`[session.timeout.ms]`) is appended as an
/// indexed element so its dots stay part of the name.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else if key.starts_with('[') {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(text: &str) -> Vec<(String, String, String)> {
        parse_documents(text, "t.yml").unwrap()[0]
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone(), v.origin.to_string()))
            .collect()
    }

    #[test]
    fn nested_mappings_flatten_with_positions() {
        let entries = flat("spring:\n  kafka:\n    client-id: app\n    ratio: 1.0\n");
        assert_eq!(
            entries[0],
            (
                "spring.kafka.client-id".into(),
                "app".into(),
                "t.yml:3:16".into()
            )
        );
        assert_eq!(entries[1].1, "1.0");
    }

    #[test]
    fn sequences_become_indexed_keys() {
        let entries = flat("a:\n  - x\n  - y\nb: [1, 2]\n");
        let keys: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(keys, ["a[0]", "a[1]", "b[0]", "b[1]"]);
    }

    #[test]
    fn every_document_is_its_own_source_with_its_profile() {
        let docs = parse_documents(
            "a: 1\n---\nspring.config.activate.on-profile: prod\na: 2\n",
            "t.yml",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].on_profile.as_ref().unwrap().value, "prod");
        assert_eq!(docs[1].entries.len(), 1);
    }

    #[test]
    fn an_on_profile_list_means_any_of_its_profiles() {
        let docs = parse_documents(
            "spring.config.activate.on-profile: [dev, prod]
a: 2
",
            "t.yml",
        )
        .unwrap();
        assert_eq!(docs[0].on_profile.as_ref().unwrap().value, "dev,prod");
        assert_eq!(docs[0].entries.len(), 1);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_documents("a: [1, 2\nb: c", "bad.yml").unwrap_err();
        assert!(err.to_string().contains("bad.yml:"), "{err}");
    }

    #[test]
    fn deep_flow_nesting_is_refused_not_overflowed() {
        let text = "[".repeat(100_000);
        assert!(parse_documents(&text, "t.yml").is_err());
    }
}
