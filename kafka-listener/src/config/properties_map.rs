//! [`Properties`]: a raw Kafka properties map whose `Debug` hides secrets.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::client::is_sensitive_key;

/// Raw Kafka properties (`spring.kafka[.consumer|.producer|.admin].properties.*`): a
/// `BTreeMap<String, String>` (it derefs to one) whose `Debug` prints `"***"` for
/// `sasl.jaas.config`, passwords, secrets and key material, so logging a configuration never
/// logs a credential.
///
/// ```
/// use kafka_listener::config::KafkaProperties;
///
/// let props = KafkaProperties::from_yaml_str(r#"
/// spring.kafka.properties:
///   sasl.jaas.config: 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";'
///   ssl.truststore.location: /etc/kafka/ca.p12
/// "#).unwrap();
/// assert!(props.properties["sasl.jaas.config"].contains("alice-secret"));
/// let debug = format!("{:?}", props.properties);
/// assert!(!debug.contains("alice-secret"));
/// assert!(debug.contains("/etc/kafka/ca.p12"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties(BTreeMap<String, String>);

impl Properties {
    /// The map itself.
    pub fn into_inner(self) -> BTreeMap<String, String> {
        self.0
    }
}

impl Deref for Properties {
    type Target = BTreeMap<String, String>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<String, String>> for Properties {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.0 {
            if is_sensitive_key(key) {
                map.entry(key, &"***");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}
