//! Where a configuration value came from, and the flattened `a.b.c → value` form every source
//! (YAML document, properties file, environment) is reduced to before binding.

use std::fmt;
use std::sync::Arc;

/// Where a value was written: a position in a file, an environment variable, or a built-in
/// default. Error messages print it so the user can jump straight to the line to fix.
///
/// ```
/// use kafka_listener::config::Origin;
///
/// let origin = Origin::file("application.yml", 12, 17);
/// assert_eq!(origin.to_string(), "application.yml:12:17");
/// assert_eq!(Origin::env("SPRING_KAFKA_CLIENT_ID").to_string(), "environment variable SPRING_KAFKA_CLIENT_ID");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line and column (both 1-based) in a named file or string source.
    File {
        /// The file's path as given, or `<string>` for in-memory sources.
        file: Arc<str>,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        name: String,
    },
    /// Spring Boot's default for an unset key.
    Default,
    /// Written in code: a builder call or a `#[kafka_listener]` attribute.
    Code,
}

impl Origin {
    /// A position in a file (1-based line and column).
    pub fn file(file: impl Into<Arc<str>>, line: usize, column: usize) -> Self {
        Origin::File {
            file: file.into(),
            line,
            column,
        }
    }

    /// An environment variable.
    pub fn env(name: impl Into<String>) -> Self {
        Origin::Env { name: name.into() }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { file, line, column } => write!(f, "{file}:{line}:{column}"),
            Origin::Env { name } => write!(f, "environment variable {name}"),
            Origin::Default => f.write_str("default"),
            Origin::Code => f.write_str("set in code"),
        }
    }
}

/// One flattened value with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PropertyValue {
    /// The value as written (placeholders not yet resolved).
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

/// One flattened source: a YAML document, a properties file or document, in the order written.
///
/// Keys are dotted paths as written (`spring.kafka.consumer.group-id`, `…bootstrap-servers[0]`,
/// `…properties[session.timeout.ms]`); matching them is relaxed (see [`super::relaxed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PropertySource {
    /// A name for diagnostics, e.g. `application.yml (document 2)`.
    pub name: String,
    /// `spring.config.activate.on-profile` of this document, if it has one.
    pub on_profile: Option<PropertyValue>,
    /// The flattened entries, in source order; a later duplicate wins.
    pub entries: Vec<(String, PropertyValue)>,
}

impl PropertySource {
    /// An empty source with a name.
    pub(crate) fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Adds one entry.
    pub(crate) fn push(&mut self, key: impl Into<String>, value: PropertyValue) {
        self.entries.push((key.into(), value));
    }
}
