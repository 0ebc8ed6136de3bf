//! TLS settings → one `rustls::ClientConfig`, shared by our own connections and rskafka's.
//!
//! Trust and key material come from PEM text, PEM files or PKCS12 files (Kafka's
//! `ssl.truststore.*` / `ssl.keystore.*`, Spring Boot's `spring.kafka.ssl.*` and SSL bundles). A
//! file's format is read from its content, not trusted from `*.type`: Java's JKS is recognised
//! and refused with the one `keytool` command that converts it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::secret::Secret;

/// The first four bytes of a Java KeyStore file.
const JKS_MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];

/// Why the TLS settings cannot be turned into a client configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A store file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// `trust store` or `key store`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Java KeyStore, which this crate cannot read.
    #[error("{what} {path} is a Java KeyStore (JKS), which kafka-listener cannot read; convert it to PKCS12 once with `keytool -importkeystore -srckeystore {path} -srcstoretype JKS -destkeystore {p12} -deststoretype PKCS12` and point the location (and type: PKCS12) at the .p12 file")]
    Jks {
        /// `trust store` or `key store`.
        what: &'static str,
        /// The JKS file.
        path: String,
        /// A suggested PKCS12 file name.
        p12: String,
    },
    /// The content is not what it should be (no certificate, a bad key, a wrong password).
    #[error("invalid {what} {source_name}: {reason}")]
    Invalid {
        /// `trust store` or `key store`.
        what: &'static str,
        /// The file, or `PEM text`.
        source_name: String,
        /// What is wrong (never the secret).
        reason: String,
    },
    /// No trust store was configured and the system has no CA bundle.
    #[error("TLS needs trusted CA certificates: set ssl.truststore.location (or spring.kafka.ssl.trust-store-location); no system CA bundle was found (SSL_CERT_FILE, /etc/ssl/certs/ca-certificates.crt, …)")]
    NoTrustAnchors,
    /// rustls refused the configuration.
    #[error("cannot build the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Where certificates (and maybe a private key) come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A file: PEM or PKCS12, told apart by content. `password` opens a PKCS12 file.
    File {
        /// The file.
        path: PathBuf,
        /// The store password (`*.password`).
        password: Option<Secret>,
    },
    /// PEM text (`ssl.truststore.certificates`; `ssl.keystore.certificate.chain` with
    /// `ssl.keystore.key`).
    Pem {
        /// One or more `-----BEGIN CERTIFICATE-----` blocks.
        certificates: String,
        /// A `-----BEGIN PRIVATE KEY-----` (PKCS8, PKCS1 or SEC1) block, for a key store.
        private_key: Option<Secret>,
    },
}

impl Store {
    /// A PEM or PKCS12 file.
    pub fn file(path: impl Into<PathBuf>, password: Option<Secret>) -> Self {
        Store::File {
            path: path.into(),
            password,
        }
    }

    /// PEM certificates, e.g. a CA for a trust store.
    pub fn pem(certificates: impl Into<String>) -> Self {
        Store::Pem {
            certificates: certificates.into(),
            private_key: None,
        }
    }

    /// A PEM certificate chain with its private key, for a key store.
    pub fn pem_key_pair(chain: impl Into<String>, private_key: impl Into<Secret>) -> Self {
        Store::Pem {
            certificates: chain.into(),
            private_key: Some(private_key.into()),
        }
    }
}

/// TLS settings of `SSL` and `SASL_SSL` connections.
///
/// ```
/// use kafka_listener::client::{Store, TlsSettings};
///
/// let settings = TlsSettings::new()
///     .trust_store(Store::file("/etc/kafka/truststore.p12", Some("changeit".into())))
///     .endpoint_identification(false);
/// assert!(!settings.verifies_host_name());
/// assert!(!format!("{settings:?}").contains("changeit"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    trust_store: Option<Store>,
    key_store: Option<Store>,
    key_password: Option<Secret>,
    endpoint_identification: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsSettings {
    /// The system's CA certificates, no client certificate, host names verified (Kafka's
    /// defaults).
    pub fn new() -> Self {
        Self {
            trust_store: None,
            key_store: None,
            key_password: None,
            endpoint_identification: true,
        }
    }

    /// The CA certificates to trust instead of the system's.
    pub fn trust_store(mut self, store: Store) -> Self {
        self.trust_store = Some(store);
        self
    }

    /// A client certificate and key (mutual TLS).
    pub fn key_store(mut self, store: Store) -> Self {
        self.key_store = Some(store);
        self
    }

    /// `ssl.key.password`: the key's own password inside a PKCS12 key store, when it differs
    /// from the store's.
    pub fn key_password(mut self, password: Secret) -> Self {
        self.key_password = Some(password);
        self
    }

    /// `ssl.endpoint.identification.algorithm`: `https` (true, Kafka's default) checks that the
    /// broker's certificate names the host connected to; empty (false) skips only that check,
    /// the certificate chain is still verified.
    pub fn endpoint_identification(mut self, enabled: bool) -> Self {
        self.endpoint_identification = enabled;
        self
    }

    /// Whether the broker's host name is checked against its certificate.
    pub fn verifies_host_name(&self) -> bool {
        self.endpoint_identification
    }

    /// Whether a client certificate is configured.
    pub fn has_client_certificate(&self) -> bool {
        self.key_store.is_some()
    }

    /// Loads the stores and builds the rustls client configuration.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let anchors = match &self.trust_store {
            Some(store) => load_certificates(store, "trust store")?,
            None => system_roots()?,
        };
        for anchor in anchors {
            roots.add(anchor).map_err(|e| TlsError::Invalid {
                what: "trust store",
                source_name: "CA certificate".to_owned(),
                reason: e.to_string(),
            })?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?;
        let builder = if self.endpoint_identification {
            builder.with_root_certificates(roots)
        } else {
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| TlsError::Invalid {
                        what: "trust store",
                        source_name: "CA certificates".to_owned(),
                        reason: e.to_string(),
                    })?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier { inner }))
        };
        let config = match &self.key_store {
            Some(store) => {
                let (chain, key) = load_key_pair(store, self.key_password.as_ref())?;
                builder.with_client_auth_cert(chain, key)?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// The host name rustls checks the certificate against: the host part of `host:port`.
pub(crate) fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => addr,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("invalid host name `{host}`: {e}"))
}

/// Verifies the chain like the default verifier and forgives only a host-name mismatch
/// (`ssl.endpoint.identification.algorithm` empty).
#[derive(Debug)]
struct ChainOnlyVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

enum Content {
    Pem(String),
    Pkcs12(Vec<u8>),
}

fn read_store(path: &Path, what: &'static str) -> Result<Content, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })?;
    if bytes.starts_with(&JKS_MAGIC) {
        let shown = path.display().to_string();
        let p12 = match shown.strip_suffix(".jks") {
            Some(stem) => format!("{stem}.p12"),
            None => format!("{shown}.p12"),
        };
        return Err(TlsError::Jks {
            what,
            path: shown,
            p12,
        });
    }
    match String::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => Ok(Content::Pem(text)),
        Ok(text) => Ok(Content::Pkcs12(text.into_bytes())),
        Err(e) => Ok(Content::Pkcs12(e.into_bytes())),
    }
}

fn invalid(what: &'static str, source_name: &str, reason: impl fmt::Display) -> TlsError {
    TlsError::Invalid {
        what,
        source_name: source_name.to_owned(),
        reason: reason.to_string(),
    }
}

fn pem_certificates(
    text: &str,
    what: &'static str,
    source_name: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(what, source_name, e))?;
    if certificates.is_empty() {
        return Err(invalid(
            what,
            source_name,
            "no -----BEGIN CERTIFICATE----- block",
        ));
    }
    Ok(certificates)
}

fn pem_private_key(text: &str, source_name: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    if text.contains("ENCRYPTED PRIVATE KEY") {
        return Err(invalid(
            "key store",
            source_name,
            "encrypted PEM private keys are not supported; decrypt it once with `openssl pkcs8 -in key.pem -out key-plain.pem` or use a PKCS12 key store",
        ));
    }
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| {
        invalid(
            "key store",
            source_name,
            format!("no usable -----BEGIN PRIVATE KEY----- block ({e})"),
        )
    })
}

fn pkcs12(
    bytes: &[u8],
    password: Option<&Secret>,
    what: &'static str,
    source_name: &str,
) -> Result<p12_keystore::KeyStore, TlsError> {
    let password = password.map(Secret::expose).unwrap_or_default();
    p12_keystore::KeyStore::from_pkcs12(bytes, password).map_err(|e| {
        invalid(
            what,
            source_name,
            format!("cannot open it as PKCS12 (wrong password, or not a PKCS12 file?): {e}"),
        )
    })
}

fn load_certificates(
    store: &Store,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    match store {
        Store::Pem { certificates, .. } => pem_certificates(certificates, what, "PEM text"),
        Store::File { path, password } => {
            let name = path.display().to_string();
            match read_store(path, what)? {
                Content::Pem(text) => pem_certificates(&text, what, &name),
                Content::Pkcs12(bytes) => {
                    let keystore = pkcs12(&bytes, password.as_ref(), what, &name)?;
                    let mut out = Vec::new();
                    for (_, entry) in keystore.entries() {
                        match entry {
                            p12_keystore::KeyStoreEntry::Certificate(cert) => {
                                out.push(CertificateDer::from(cert.as_der().to_vec()))
                            }
                            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => out.extend(
                                chain
                                    .chain()
                                    .iter()
                                    .map(|c| CertificateDer::from(c.as_der().to_vec())),
                            ),
                            _ => {}
                        }
                    }
                    if out.is_empty() {
                        return Err(invalid(what, &name, "the PKCS12 file holds no certificate"));
                    }
                    Ok(out)
                }
            }
        }
    }
}

type KeyPair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn load_key_pair(store: &Store, key_password: Option<&Secret>) -> Result<KeyPair, TlsError> {
    const WHAT: &str = "key store";
    match store {
        Store::Pem {
            certificates,
            private_key,
        } => {
            let chain = pem_certificates(certificates, WHAT, "PEM certificate chain")?;
            let key_text = match private_key {
                Some(key) => key.expose().to_owned(),
                None => certificates.clone(),
            };
            Ok((chain, pem_private_key(&key_text, "PEM private key")?))
        }
        Store::File { path, password } => {
            let name = path.display().to_string();
            match read_store(path, WHAT)? {
                Content::Pem(text) => Ok((
                    pem_certificates(&text, WHAT, &name)?,
                    pem_private_key(&text, &name)?,
                )),
                Content::Pkcs12(bytes) => {
                    let keystore = pkcs12(&bytes, password.as_ref(), WHAT, &name).or_else(|e| {
                        match key_password {
                            Some(key_password) => pkcs12(&bytes, Some(key_password), WHAT, &name),
                            None => Err(e),
                        }
                    })?;
                    let (_, chain) = keystore.private_key_chain().ok_or_else(|| {
                        invalid(WHAT, &name, "the PKCS12 file holds no private key")
                    })?;
                    let certificates = chain
                        .chain()
                        .iter()
                        .map(|c| CertificateDer::from(c.as_der().to_vec()))
                        .collect();
                    let key = PrivateKeyDer::try_from(chain.key().to_vec())
                        .map_err(|e| invalid(WHAT, &name, e))?;
                    Ok((certificates, key))
                }
            }
        }
    }
}

/// The system's CA bundle: `SSL_CERT_FILE`, else the usual distribution paths.
fn system_roots() -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let candidates = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem",
                "/etc/ssl/cert.pem",
            ]
            .into_iter()
            .map(PathBuf::from),
        );
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let certificates: Vec<_> = CertificateDer::pem_slice_iter(text.as_bytes())
                .filter_map(Result::ok)
                .collect();
            if !certificates.is_empty() {
                return Ok(certificates);
            }
        }
    }
    Err(TlsError::NoTrustAnchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kl-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn test_ca() -> (String, rcgen_like::KeyPairPem) {
        rcgen_like::self_signed()
    }

    /// A fixed self-signed certificate and key (generated once with rcgen), so these unit tests
    /// need no generator.
    mod rcgen_like {
        pub struct KeyPairPem {
            pub key: String,
        }
        pub fn self_signed() -> (String, KeyPairPem) {
            (
                include_str!("testdata/cert.pem").to_owned(),
                KeyPairPem {
                    key: include_str!("testdata/key.pem").to_owned(),
                },
            )
        }
    }

    #[test]
    fn a_pem_trust_store_builds_a_client_config() {
        let (cert, _) = test_ca();
        let settings = TlsSettings::new().trust_store(Store::pem(cert));
        settings.client_config().unwrap();
    }

    #[test]
    fn a_pem_key_pair_builds_a_mutual_tls_client_config() {
        let (cert, key) = test_ca();
        let settings = TlsSettings::new()
            .trust_store(Store::pem(cert.clone()))
            .key_store(Store::pem_key_pair(cert, key.key));
        settings.client_config().unwrap();
    }

    #[test]
    fn a_pkcs12_trust_and_key_store_load_with_their_password() {
        let (cert, key) = test_ca();
        let cert_der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let key_der = PrivateKeyDer::from_pem_slice(key.key.as_bytes()).unwrap();
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "ca",
            p12_keystore::KeyStoreEntry::Certificate(
                p12_keystore::Certificate::from_der(&cert_der).unwrap(),
            ),
        );
        store.add_entry(
            "client",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
                key_der.secret_der(),
                [1u8; 20],
                [p12_keystore::Certificate::from_der(&cert_der).unwrap()],
            )),
        );
        let bytes = store.writer("store-pass").write().unwrap();
        let path = temp_file("both.p12", &bytes);
        let settings = TlsSettings::new()
            .trust_store(Store::file(&path, Some("store-pass".into())))
            .key_store(Store::file(&path, Some("store-pass".into())));
        settings.client_config().unwrap();

        let wrong = TlsSettings::new().trust_store(Store::file(&path, Some("nope".into())));
        let err = wrong.client_config().unwrap_err().to_string();
        assert!(err.contains("wrong password"), "{err}");
        assert!(!err.contains("nope"), "{err}");
    }

    #[test]
    fn a_jks_store_is_refused_with_the_keytool_command() {
        let path = temp_file("truststore.jks", &[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]);
        let err = TlsSettings::new()
            .trust_store(Store::file(&path, None))
            .client_config()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("keytool -importkeystore -srckeystore"),
            "{err}"
        );
        assert!(err.contains("-srcstoretype JKS"), "{err}");
        assert!(
            err.contains("truststore.p12 -deststoretype PKCS12"),
            "{err}"
        );
    }

    #[test]
    fn the_server_name_is_the_host_part_of_the_address() {
        assert_eq!(
            server_name("kafka-1.example.com:9093").unwrap(),
            ServerName::try_from("kafka-1.example.com").unwrap()
        );
        assert!(matches!(
            server_name("127.0.0.1:9093").unwrap(),
            ServerName::IpAddress(_)
        ));
    }
}
