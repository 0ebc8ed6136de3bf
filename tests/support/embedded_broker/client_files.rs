//! The client files of a secured embedded broker, in the layout `deploy/local/kafka.sh start
//! --security …` writes them into its state dir, so every interop peer reads its settings from
//! the same file names whichever broker runs:
//!
//! - `client-security.yml`: Spring Boot YAML (`spring.kafka.security.protocol`,
//!   `spring.kafka.ssl.*` with a PKCS12 trust store, `spring.kafka.properties.sasl.*`), for
//!   `SPRING_CONFIG_ADDITIONAL_LOCATION`;
//! - `client.properties`: Java kafka-clients;
//! - `client-librdkafka.properties`: librdkafka / confluent-kafka;
//! - `client.env`: shell-sourceable `KAFKA_*` variables (kafka-python);
//! - `tls/`: `ca.pem`, `client-truststore.pem` (the same CA), `client-truststore.p12` (alias
//!   `ca`), `store-password`; with a client certificate also `client.pem`, `client.key`,
//!   `client.keystore.p12` (alias `client`).
//!
//! SASL clients log in as alice with SCRAM-SHA-512, as kafka.sh's files do.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use kafka_listener::client::SecurityProtocol;
use kafka_listener::embedded::TestCertificates;
use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKeyChain};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The user every client file logs in as, and the mechanism.
pub const CLIENT_USER: (&str, &str) = ("alice", "alice-secret");
pub const CLIENT_MECHANISM: &str = "SCRAM-SHA-512";

/// Writes the client files for a broker at `bootstrap` secured with `protocol` into `dir`
/// (created if missing); returns the path of `client-security.yml`.
pub fn write(
    dir: &Path,
    bootstrap: &str,
    protocol: SecurityProtocol,
    certificates: Option<&TestCertificates>,
) -> io::Result<PathBuf> {
    let dir = std::path::absolute(dir)?;
    let tls_dir = dir.join("tls");
    fs::create_dir_all(&tls_dir)?;
    let password = store_password();
    let tls = match certificates.filter(|_| protocol.uses_tls()) {
        Some(certificates) => Some(write_tls(&tls_dir, certificates, protocol, &password)?),
        None => None,
    };
    let (user, secret) = CLIENT_USER;
    let jaas = format!(
        r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{secret}";"#
    );
    let name = protocol.kafka_name();
    let origin = format!("the {name} embedded broker at {bootstrap}");

    let yml = dir.join("client-security.yml");
    let mut text = format!(
        "# Written by embedded-broker for {origin}.\n# Spring Boot style: SPRING_CONFIG_ADDITIONAL_LOCATION={}\nspring:\n  kafka:\n    security:\n      protocol: {name}\n",
        yml.display()
    );
    if let Some(tls) = &tls {
        let _ = write!(
            text,
            "    ssl:\n      trust-store-location: 'file:{}'\n      trust-store-password: '{password}'\n      trust-store-type: PKCS12\n",
            tls.truststore_p12.display()
        );
        if let Some(keystore) = &tls.keystore_p12 {
            let _ = write!(
                text,
                "      key-store-location: 'file:{}'\n      key-store-password: '{password}'\n      key-store-type: PKCS12\n",
                keystore.display()
            );
        }
    }
    if protocol.uses_sasl() || tls.is_some() {
        text.push_str("    properties:\n");
    }
    if protocol.uses_sasl() {
        let _ = write!(
            text,
            "      sasl.mechanism: {CLIENT_MECHANISM}\n      sasl.jaas.config: '{jaas}'\n"
        );
    }
    if tls.is_some() {
        text.push_str(
            "      # The broker certificate carries SAN IP:127.0.0.1, so host name checks stay on.\n      ssl.endpoint.identification.algorithm: https\n",
        );
    }
    write_file(&yml, &text)?;

    let mut java =
        format!("# Java kafka-clients settings for {origin}.\nsecurity.protocol={name}\n");
    if protocol.uses_sasl() {
        let _ = write!(
            java,
            "sasl.mechanism={CLIENT_MECHANISM}\nsasl.jaas.config={jaas}\n"
        );
    }
    if let Some(tls) = &tls {
        let _ = write!(
            java,
            "ssl.truststore.location={}\nssl.truststore.password={password}\nssl.truststore.type=PKCS12\nssl.endpoint.identification.algorithm=https\n",
            tls.truststore_p12.display()
        );
        if let Some(keystore) = &tls.keystore_p12 {
            let _ = write!(
                java,
                "ssl.keystore.location={}\nssl.keystore.password={password}\nssl.keystore.type=PKCS12\n",
                keystore.display()
            );
        }
    }
    write_file(&dir.join("client.properties"), &java)?;

    let mut rdkafka = format!(
        "# librdkafka (confluent-kafka) settings for {origin}.\nsecurity.protocol={name}\n"
    );
    if protocol.uses_sasl() {
        let _ = write!(
            rdkafka,
            "sasl.mechanisms={CLIENT_MECHANISM}\nsasl.username={user}\nsasl.password={secret}\n"
        );
    }
    if let Some(tls) = &tls {
        let _ = write!(
            rdkafka,
            "ssl.ca.location={}\nssl.endpoint.identification.algorithm=https\n",
            tls.ca_pem.display()
        );
        if let Some((cert, key)) = &tls.client_pem {
            let _ = write!(
                rdkafka,
                "ssl.certificate.location={}\nssl.key.location={}\n",
                cert.display(),
                key.display()
            );
        }
    }
    write_file(&dir.join("client-librdkafka.properties"), &rdkafka)?;

    let mut env = format!(
        "# Shell-sourceable settings for {origin} (kafka-python etc.).\nKAFKA_BOOTSTRAP_SERVERS={bootstrap}\nKAFKA_SECURITY_PROTOCOL={name}\n"
    );
    if protocol.uses_sasl() {
        let _ = write!(
            env,
            "KAFKA_SASL_MECHANISM={CLIENT_MECHANISM}\nKAFKA_SASL_USERNAME={user}\nKAFKA_SASL_PASSWORD={secret}\n"
        );
    }
    if let Some(tls) = &tls {
        let _ = write!(
            env,
            "KAFKA_SSL_CAFILE={}\nKAFKA_SSL_STORE_PASSWORD={password}\n",
            tls.ca_pem.display()
        );
        if let Some((cert, key)) = &tls.client_pem {
            let _ = write!(
                env,
                "KAFKA_SSL_CERTFILE={}\nKAFKA_SSL_KEYFILE={}\n",
                cert.display(),
                key.display()
            );
        }
    }
    write_file(&dir.join("client.env"), &env)?;
    Ok(yml)
}

/// Where [`write_tls`] put the trust (and key) material.
struct TlsFiles {
    ca_pem: PathBuf,
    truststore_p12: PathBuf,
    keystore_p12: Option<PathBuf>,
    client_pem: Option<(PathBuf, PathBuf)>,
}

fn write_tls(
    dir: &Path,
    certificates: &TestCertificates,
    protocol: SecurityProtocol,
    password: &str,
) -> io::Result<TlsFiles> {
    let invalid =
        |what: &str, e: String| io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {e}"));
    let ca_pem = dir.join("ca.pem");
    write_file(&ca_pem, certificates.ca_pem())?;
    write_file(&dir.join("client-truststore.pem"), certificates.ca_pem())?;
    let ca = pem_certificates(certificates.ca_pem())?;
    let mut truststore = KeyStore::new();
    for (n, der) in ca.iter().enumerate() {
        let alias = if n == 0 {
            "ca".to_owned()
        } else {
            format!("ca-{n}")
        };
        let certificate =
            Certificate::from_der(der).map_err(|e| invalid("the CA", e.to_string()))?;
        truststore.add_entry(&alias, KeyStoreEntry::Certificate(certificate));
    }
    let truststore_p12 = dir.join("client-truststore.p12");
    let bytes = truststore
        .writer(password)
        .write()
        .map_err(|e| invalid("the PKCS12 trust store", e.to_string()))?;
    write_file(&truststore_p12, bytes)?;
    write_file(&dir.join("store-password"), format!("{password}\n"))?;

    // kafka.sh's `ssl` mode authenticates clients by certificate; so does this one.
    let (keystore_p12, client_pem) = if protocol == SecurityProtocol::Ssl {
        let cert = dir.join("client.pem");
        let key = dir.join("client.key");
        write_file(&cert, certificates.client_chain_pem())?;
        write_file(&key, certificates.client_key_pem())?;
        let key_der = match PrivateKeyDer::from_pem_slice(certificates.client_key_pem().as_bytes())
        {
            Ok(PrivateKeyDer::Pkcs8(key)) => key.secret_pkcs8_der().to_vec(),
            Ok(_) => return Err(invalid("the client key", "not PKCS#8".into())),
            Err(e) => return Err(invalid("the client key", e.to_string())),
        };
        let mut chain = Vec::new();
        for der in pem_certificates(certificates.client_chain_pem())?
            .iter()
            .chain(&ca)
        {
            chain.push(
                Certificate::from_der(der)
                    .map_err(|e| invalid("the client chain", e.to_string()))?,
            );
        }
        let mut keystore = KeyStore::new();
        keystore.add_entry(
            "client",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(key_der, b"client", chain)),
        );
        let bytes = keystore
            .writer(password)
            .write()
            .map_err(|e| invalid("the PKCS12 key store", e.to_string()))?;
        let keystore_p12 = dir.join("client.keystore.p12");
        write_file(&keystore_p12, bytes)?;
        (Some(keystore_p12), Some((cert, key)))
    } else {
        (None, None)
    };
    Ok(TlsFiles {
        ca_pem,
        truststore_p12,
        keystore_p12,
        client_pem,
    })
}

fn pem_certificates(pem: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("PEM: {e}")))
}

/// A fresh random password for the PKCS12 stores (they hold a throw-away CA, but a store
/// without a password is something keytool and some clients refuse).
fn store_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is keyed from the OS's random source: enough for a throw-away password.
    (0..2)
        .map(|n| {
            let mut hasher = std::hash::RandomState::new().build_hasher();
            hasher.write_u32(n);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

/// Writes `contents` readable by this user only: the files hold passwords and keys.
fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_ref())
}
