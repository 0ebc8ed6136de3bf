//! The two vocabularies of Kafka security: `security.protocol` and `sasl.mechanism`.

use std::fmt;

/// `security.protocol`: whether a connection uses TLS, SASL, both or neither.
///
/// ```
/// use kafka_listener::client::SecurityProtocol;
///
/// let protocol = SecurityProtocol::from_kafka_name("sasl_ssl").unwrap();
/// assert_eq!(protocol, SecurityProtocol::SaslSsl);
/// assert!(protocol.uses_tls() && protocol.uses_sasl());
/// assert_eq!(protocol.kafka_name(), "SASL_SSL");
/// assert!(SecurityProtocol::from_kafka_name("KERBEROS").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SecurityProtocol {
    /// No TLS, no SASL (Kafka's default).
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Every protocol, in Kafka's order.
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// Kafka's spelling, e.g. `SASL_SSL`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Parses Kafka's spelling, ignoring case and `-`/`_` differences.
    pub fn from_kafka_name(name: &str) -> Option<Self> {
        let wanted = name.trim().replace('-', "_").to_ascii_uppercase();
        Self::ALL.into_iter().find(|p| p.kafka_name() == wanted)
    }

    /// Whether connections are wrapped in TLS (`SSL`, `SASL_SSL`).
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL (`SASL_PLAINTEXT`, `SASL_SSL`).
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kafka_name())
    }
}

/// `sasl.mechanism`: how a SASL connection authenticates.
///
/// ```
/// use kafka_listener::client::SaslMechanism;
///
/// assert_eq!(SaslMechanism::from_kafka_name("SCRAM-SHA-512"), Some(SaslMechanism::ScramSha512));
/// assert_eq!(SaslMechanism::from_kafka_name("GSSAPI"), None);
/// assert_eq!(SaslMechanism::supported_names(), "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaslMechanism {
    /// `PLAIN`: user name and password (use it over TLS only).
    Plain,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `OAUTHBEARER` (RFC 7628) with a token from an [`OAuthBearerTokenProvider`](super::OAuthBearerTokenProvider).
    OAuthBearer,
}

impl SaslMechanism {
    /// Every supported mechanism.
    pub const ALL: [SaslMechanism; 4] = [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
        SaslMechanism::OAuthBearer,
    ];

    /// Kafka's (and SASL's) name, e.g. `SCRAM-SHA-256`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Parses a mechanism name (case-insensitive); `None` for mechanisms this crate lacks
    /// (GSSAPI, AWS_MSK_IAM, …).
    pub fn from_kafka_name(name: &str) -> Option<Self> {
        let wanted = name.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|m| m.kafka_name() == wanted)
    }

    /// The supported names, comma-separated, for error messages.
    pub fn supported_names() -> String {
        Self::ALL
            .iter()
            .map(|m| m.kafka_name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether this is one of the SCRAM mechanisms.
    pub fn is_scram(self) -> bool {
        matches!(
            self,
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512
        )
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kafka_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_round_trip_in_any_case() {
        for protocol in SecurityProtocol::ALL {
            let lower = protocol.kafka_name().to_ascii_lowercase();
            assert_eq!(SecurityProtocol::from_kafka_name(&lower), Some(protocol));
        }
    }

    #[test]
    fn mechanism_names_round_trip_and_unknown_ones_are_none() {
        for mechanism in SaslMechanism::ALL {
            assert_eq!(
                SaslMechanism::from_kafka_name(mechanism.kafka_name()),
                Some(mechanism)
            );
        }
        assert_eq!(SaslMechanism::from_kafka_name("AWS_MSK_IAM"), None);
    }
}
