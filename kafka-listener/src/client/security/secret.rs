//! [`Secret`]: a string that never shows up in logs or `Debug` output.

use std::fmt;

/// A password, private key or JAAS line. Its `Debug` prints `"***"`, and it has no `Display`, so
/// it cannot end up in a log line or an error message by accident; [`expose`](Self::expose) is
/// the one, greppable, way to read it.
///
/// ```
/// use kafka_listener::client::Secret;
///
/// let password = Secret::new("alice-secret");
/// assert_eq!(format!("{password:?}"), "\"***\"");
/// assert_eq!(password.expose(), "alice-secret");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text, for the one place that must send or decode it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Whether a Kafka or Spring property of this name holds a secret: `sasl.jaas.config`, any
/// `*password*`, `*secret*`, and private key material (`ssl.keystore.key`, `private-key`).
///
/// ```
/// use kafka_listener::client::is_sensitive_key;
///
/// assert!(is_sensitive_key("sasl.jaas.config"));
/// assert!(is_sensitive_key("spring.kafka.ssl.trust-store-password"));
/// assert!(is_sensitive_key("sasl.oauthbearer.client.secret"));
/// assert!(is_sensitive_key("ssl.keystore.key"));
/// assert!(!is_sensitive_key("ssl.truststore.location"));
/// ```
pub fn is_sensitive_key(key: &str) -> bool {
    let uniform: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect::<String>()
        .to_ascii_lowercase();
    uniform.contains("password")
        || uniform.contains("secret")
        || uniform.contains("jaas")
        || uniform.contains("privatekey")
        || uniform.ends_with("keystore.key")
        || uniform.ends_with("keystorekey")
        || uniform.contains("credential")
        || uniform.contains("token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_inside_a_struct_is_redacted_in_debug_and_pretty_debug() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: String,
            password: Secret,
        }
        let login = Login {
            user: "alice".into(),
            password: Secret::new("alice-secret"),
        };
        for text in [format!("{login:?}"), format!("{login:#?}")] {
            assert!(text.contains("alice"), "{text}");
            assert!(!text.contains("alice-secret"), "{text}");
            assert!(text.contains("***"), "{text}");
        }
    }
}
