//! The secured embedded broker's TLS side: a test CA made in-process, a server certificate for
//! `localhost` / `127.0.0.1`, optionally a client certificate for mutual TLS.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::client::{SaslSettings, SecurityConfig, Store, TlsSettings};

/// Certificates of a TLS-secured [`EmbeddedKafka`](super::EmbeddedKafka): the CA clients must
/// trust and, for mutual TLS, a client certificate the broker accepts.
#[derive(Clone)]
pub struct TestCertificates {
    ca_pem: String,
    client_chain_pem: String,
    client_key_pem: String,
    pub(crate) server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TestCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCertificates").finish_non_exhaustive()
    }
}

impl TestCertificates {
    /// The CA certificate (PEM) that signed the broker's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate chain (PEM) signed by the same CA.
    pub fn client_chain_pem(&self) -> &str {
        &self.client_chain_pem
    }

    /// The client certificate's private key (PKCS8 PEM).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// TLS settings that trust this CA and present the client certificate.
    pub fn client_tls(&self) -> TlsSettings {
        TlsSettings::new()
            .trust_store(Store::pem(self.ca_pem.clone()))
            .key_store(Store::pem_key_pair(
                self.client_chain_pem.clone(),
                self.client_key_pem.clone(),
            ))
    }

    /// Generates a CA, a server certificate for `localhost` and `127.0.0.1`, and a client
    /// certificate; the server requires the client certificate when `mutual` is set.
    pub(crate) fn generate(mutual: bool) -> Result<Self, String> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let err = |e: rcgen::Error| e.to_string();
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "kafka-listener embedded test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).map_err(err)?;
        let leaf =
            |names: Vec<String>, cn: &str| -> Result<(rcgen::Certificate, KeyPair), String> {
                let key = KeyPair::generate().map_err(err)?;
                let mut params = CertificateParams::new(names).map_err(err)?;
                params.distinguished_name.push(DnType::CommonName, cn);
                let cert = params.signed_by(&key, &ca, &ca_key).map_err(err)?;
                Ok((cert, key))
            };
        let (server_cert, server_key) = leaf(
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            "embedded-kafka",
        )?;
        let (client_cert, client_key) = leaf(vec!["client".to_owned()], "client")?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if mutual {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from(ca.der().to_vec()))
                .map_err(|e| e.to_string())?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| e.to_string())?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let server = builder
            .with_single_cert(
                vec![
                    CertificateDer::from(server_cert.der().to_vec()),
                    CertificateDer::from(ca.der().to_vec()),
                ],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .map_err(|e| e.to_string())?;
        Ok(Self {
            ca_pem: ca.pem(),
            client_chain_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            server: Arc::new(server),
        })
    }
}

/// What a client needs to reach an embedded broker secured this way: TLS trusting its CA
/// (with the client certificate when it requires one) and the given SASL settings.
pub(crate) fn client_security(
    certificates: Option<&TestCertificates>,
    mutual: bool,
    sasl: Option<SaslSettings>,
) -> SecurityConfig {
    let tls = certificates.map(|c| {
        if mutual {
            c.client_tls()
        } else {
            TlsSettings::new().trust_store(Store::pem(c.ca_pem.clone()))
        }
    });
    match (tls, sasl) {
        (None, None) => SecurityConfig::plaintext(),
        (None, Some(sasl)) => SecurityConfig::sasl_plaintext(sasl),
        (Some(tls), None) => SecurityConfig::ssl(tls).expect("the generated CA loads"),
        (Some(tls), Some(sasl)) => {
            SecurityConfig::sasl_ssl(tls, sasl).expect("the generated CA loads")
        }
    }
}
