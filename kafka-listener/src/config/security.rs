//! `security.protocol`, `ssl.*` and `sasl.*` for each client → a [`SecurityConfig`], at every
//! level Spring Boot binds, the more specific winning (as `KafkaProperties.build*Properties`
//! layers them): `spring.kafka.ssl.*` / `spring.kafka.security.protocol`, then
//! `spring.kafka.properties.*`, then `spring.kafka.<client>.ssl.*` /
//! `spring.kafka.<client>.security.protocol`, then `spring.kafka.<client>.properties.*`.
//!
//! Store locations may be `file:/path`, a plain path, or `classpath:name`, which is read relative
//! to the working directory (there is no class path). A Spring Boot SSL bundle
//! (`ssl.bundle: name` → `spring.ssl.bundle.{pem,jks}.name.*`) replaces the `ssl.*` store keys.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::binder::{Binder, Located};
use super::error::ConfigError;
use super::origin::Origin;
use super::warning::ConfigWarning;
use crate::client::{
    ClientCredentialsTokenProvider, JaasConfig, SaslMechanism, SaslSettings, Secret,
    SecurityConfig, SecurityProtocol, Store, TlsSettings, UnsecuredTokenProvider,
};

/// Kafka's property name and, where Spring Boot has one, the typed key under `ssl.` /
/// `security.` of `spring.kafka` and of each client section.
const KEYS: &[(&str, Option<&str>)] = &[
    ("security.protocol", Some("security.protocol")),
    ("ssl.truststore.location", Some("ssl.trust-store-location")),
    ("ssl.truststore.password", Some("ssl.trust-store-password")),
    ("ssl.truststore.type", Some("ssl.trust-store-type")),
    (
        "ssl.truststore.certificates",
        Some("ssl.trust-store-certificates"),
    ),
    ("ssl.keystore.location", Some("ssl.key-store-location")),
    ("ssl.keystore.password", Some("ssl.key-store-password")),
    ("ssl.keystore.type", Some("ssl.key-store-type")),
    (
        "ssl.keystore.certificate.chain",
        Some("ssl.key-store-certificate-chain"),
    ),
    ("ssl.keystore.key", Some("ssl.key-store-key")),
    ("ssl.key.password", Some("ssl.key-password")),
    ("ssl.protocol", Some("ssl.protocol")),
    ("ssl.endpoint.identification.algorithm", None),
    ("sasl.mechanism", None),
    ("sasl.jaas.config", None),
    ("sasl.login.callback.handler.class", None),
    ("sasl.oauthbearer.token.endpoint.url", None),
];

/// Kafka's OIDC login handler (the `secured` package held it before Kafka 3.4); with it,
/// `sasl.oauthbearer.token.endpoint.url` and the JAAS line's `clientId`, `clientSecret` and
/// `scope` configure the client-credentials flow.
const OIDC_LOGIN_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
];

/// Kafka's default `unsecuredLoginLifetimeSeconds`.
const UNSECURED_LOGIN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// The token providers one load has built, so the consumer, producer and admin clients of one
/// configuration share a provider (and its token cache) when they name the same client.
#[derive(Default)]
pub(crate) struct TokenProviders(Vec<Arc<ClientCredentialsTokenProvider>>);

impl TokenProviders {
    fn share(
        &mut self,
        provider: ClientCredentialsTokenProvider,
    ) -> Arc<ClientCredentialsTokenProvider> {
        if let Some(existing) = self.0.iter().find(|p| p.same_client(&provider)) {
            return Arc::clone(existing);
        }
        let provider = Arc::new(provider);
        self.0.push(Arc::clone(&provider));
        provider
    }
}

/// A value with the key (as a YAML path) that set it.
#[derive(Debug, Clone)]
struct Setting {
    key: String,
    value: String,
    origin: Origin,
}

/// The effective security settings of one client section.
struct Effective {
    values: BTreeMap<&'static str, Setting>,
    bundle: Option<Setting>,
}

impl Effective {
    fn get(&self, name: &str) -> Option<&Setting> {
        self.values.get(name)
    }
}

fn collect(binder: &mut Binder<'_>, client: &str) -> Result<Effective, ConfigError> {
    let root = "spring.kafka";
    let global_map = binder.map(&format!("{root}.properties"))?;
    let own_prefix = format!("{root}.{client}.properties");
    let own_map = binder.map(&own_prefix)?;
    let mut values = BTreeMap::new();
    for (name, typed) in KEYS {
        let mut winner: Option<Setting> = None;
        let mut consider = |found: Option<Located<String>>, key: String| {
            if let Some(found) = found {
                winner = Some(Setting {
                    key,
                    value: found.value,
                    origin: found.origin,
                });
            }
        };
        if let Some(typed) = typed {
            let key = format!("{root}.{typed}");
            consider(binder.string(&key)?, key);
        }
        consider(
            global_map.get(*name).cloned(),
            format!("{root}.properties.{name}"),
        );
        if let Some(typed) = typed {
            let key = format!("{root}.{client}.{typed}");
            consider(binder.string(&key)?, key);
        }
        consider(own_map.get(*name).cloned(), format!("{own_prefix}.{name}"));
        if let Some(setting) = winner {
            values.insert(*name, setting);
        }
    }
    let mut bundle = None;
    for key in [
        format!("{root}.ssl.bundle"),
        format!("{root}.{client}.ssl.bundle"),
    ] {
        if let Some(found) = binder.string(&key)? {
            bundle = Some(Setting {
                key,
                value: found.value,
                origin: found.origin,
            });
        }
    }
    Ok(Effective { values, bundle })
}

fn error(setting: &Setting, message: impl Into<String>) -> ConfigError {
    ConfigError::Security {
        key: setting.key.clone(),
        origin: setting.origin.clone(),
        message: message.into(),
    }
}

/// `file:/x` → `/x`; `classpath:x` → `x` (relative to the working directory); else as written.
fn location(value: &str) -> PathBuf {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix("classpath:") {
        return PathBuf::from(rest.trim_start_matches('/'));
    }
    if let Some(rest) = value.strip_prefix("file://") {
        return PathBuf::from(rest);
    }
    PathBuf::from(value.strip_prefix("file:").unwrap_or(value))
}

fn checked_location(setting: &Setting) -> Result<PathBuf, ConfigError> {
    let path = location(&setting.value);
    if !path.exists() {
        let classpath = if setting.value.trim().starts_with("classpath:") {
            " (classpath: locations are read relative to the working directory)"
        } else {
            ""
        };
        return Err(error(
            setting,
            format!("file {} does not exist{classpath}", path.display()),
        ));
    }
    Ok(path)
}

/// PEM given either inline or as a location (Spring Boot's PEM bundles accept both).
fn pem_text(setting: &Setting) -> Result<String, ConfigError> {
    if setting.value.trim_start().starts_with("-----BEGIN") {
        return Ok(setting.value.clone());
    }
    let path = checked_location(setting)?;
    std::fs::read_to_string(&path)
        .map_err(|e| error(setting, format!("cannot read {}: {e}", path.display())))
}

fn secret(effective: &Effective, name: &str) -> Option<Secret> {
    effective.get(name).map(|s| Secret::new(s.value.clone()))
}

fn bundle_setting(binder: &mut Binder<'_>, key: String) -> Result<Option<Setting>, ConfigError> {
    Ok(binder.string(&key)?.map(|found| Setting {
        key,
        value: found.value,
        origin: found.origin,
    }))
}

/// The trust and key stores of a Spring Boot SSL bundle.
fn bundle_stores(
    binder: &mut Binder<'_>,
    bundle: &Setting,
    mut tls: TlsSettings,
) -> Result<TlsSettings, ConfigError> {
    let name = bundle.value.trim();
    let pem = format!("spring.ssl.bundle.pem.{name}");
    let jks = format!("spring.ssl.bundle.jks.{name}");
    let mut found = false;
    if let Some(cert) = bundle_setting(binder, format!("{pem}.truststore.certificate"))? {
        tls = tls.trust_store(Store::pem(pem_text(&cert)?));
        found = true;
    }
    if let Some(cert) = bundle_setting(binder, format!("{pem}.keystore.certificate"))? {
        let key =
            bundle_setting(binder, format!("{pem}.keystore.private-key"))?.ok_or_else(|| {
                error(
                    &cert,
                    format!("a PEM key store needs {pem}.keystore.private-key too"),
                )
            })?;
        if let Some(password) =
            bundle_setting(binder, format!("{pem}.keystore.private-key-password"))?
        {
            return Err(error(&password, "encrypted PEM private keys are not supported; decrypt the key once with `openssl pkcs8 -in key.pem -out key-plain.pem` or use a PKCS12 bundle"));
        }
        tls = tls.key_store(Store::pem_key_pair(pem_text(&cert)?, pem_text(&key)?));
        found = true;
    }
    for (store, is_trust) in [("truststore", true), ("keystore", false)] {
        let Some(location) = bundle_setting(binder, format!("{jks}.{store}.location"))? else {
            continue;
        };
        let password = bundle_setting(binder, format!("{jks}.{store}.password"))?
            .map(|p| Secret::new(p.value));
        let _ = bundle_setting(binder, format!("{jks}.{store}.type"))?;
        let file = Store::file(checked_location(&location)?, password);
        tls = if is_trust {
            tls.trust_store(file)
        } else {
            tls.key_store(file)
        };
        found = true;
    }
    if let Some(password) = bundle_setting(binder, format!("{jks}.key.password"))? {
        tls = tls.key_password(Secret::new(password.value));
    }
    if !found {
        return Err(error(
            bundle,
            format!("no SSL bundle `{name}`: define {pem}.truststore.certificate or {jks}.truststore.location"),
        ));
    }
    Ok(tls)
}

fn tls_settings(
    binder: &mut Binder<'_>,
    effective: &Effective,
) -> Result<TlsSettings, ConfigError> {
    let mut tls = TlsSettings::new();
    if let Some(algorithm) = effective.get("ssl.endpoint.identification.algorithm") {
        tls = tls.endpoint_identification(!algorithm.value.trim().is_empty());
    }
    if let Some(bundle) = &effective.bundle {
        return bundle_stores(binder, bundle, tls);
    }
    if let Some(certificates) = effective.get("ssl.truststore.certificates") {
        tls = tls.trust_store(Store::pem(certificates.value.clone()));
    } else if let Some(location) = effective.get("ssl.truststore.location") {
        tls = tls.trust_store(Store::file(
            checked_location(location)?,
            secret(effective, "ssl.truststore.password"),
        ));
    }
    if let Some(chain) = effective.get("ssl.keystore.certificate.chain") {
        let key = effective.get("ssl.keystore.key").ok_or_else(|| {
            error(
                chain,
                "a PEM key store needs ssl.keystore.key (the private key) too",
            )
        })?;
        tls = tls.key_store(Store::pem_key_pair(
            chain.value.clone(),
            Secret::new(key.value.clone()),
        ));
    } else if let Some(location) = effective.get("ssl.keystore.location") {
        tls = tls.key_store(Store::file(
            checked_location(location)?,
            secret(effective, "ssl.keystore.password"),
        ));
    }
    if let Some(password) = secret(effective, "ssl.key.password") {
        tls = tls.key_password(password);
    }
    Ok(tls)
}

fn sasl_settings(
    effective: &Effective,
    protocol: &Setting,
    client: &str,
    providers: &mut TokenProviders,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<SaslSettings, ConfigError> {
    let supported = format!(
        "one of {} (GSSAPI/Kerberos, AWS_MSK_IAM and other mechanisms are not supported)",
        SaslMechanism::supported_names()
    );
    let Some(mechanism_setting) = effective.get("sasl.mechanism") else {
        return Err(error(
            protocol,
            format!(
                "{} needs sasl.mechanism (Kafka's default, GSSAPI, is not supported): set spring.kafka.properties.sasl.mechanism (or spring.kafka.{client}.properties.sasl.mechanism) to {supported}",
                protocol.value.trim()
            ),
        ));
    };
    let mechanism = SaslMechanism::from_kafka_name(&mechanism_setting.value).ok_or_else(|| {
        ConfigError::InvalidValue {
            key: mechanism_setting.key.clone(),
            origin: mechanism_setting.origin.clone(),
            value: mechanism_setting.value.clone(),
            expected: supported.clone(),
        }
    })?;
    let Some(jaas_setting) = effective.get("sasl.jaas.config") else {
        return Err(error(
            protocol,
            format!(
                "{} needs credentials: set spring.kafka.properties.sasl.jaas.config (or spring.kafka.{client}.properties.sasl.jaas.config), e.g. `org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" password=\"…\";`",
                protocol.value.trim()
            ),
        ));
    };
    let jaas =
        JaasConfig::parse(&jaas_setting.value).map_err(|e| error(jaas_setting, e.to_string()))?;
    if mechanism == SaslMechanism::OAuthBearer {
        return oauthbearer_settings(effective, jaas_setting, &jaas, providers, warnings);
    }
    let username = jaas.username().ok_or_else(|| {
        error(
            jaas_setting,
            format!(
                "the {} login module needs username=\"…\"",
                jaas.login_module_simple_name()
            ),
        )
    })?;
    let password = jaas.password().cloned().ok_or_else(|| {
        error(
            jaas_setting,
            format!(
                "the {} login module needs password=\"…\"",
                jaas.login_module_simple_name()
            ),
        )
    })?;
    Ok(SaslSettings::new(mechanism, username, password))
}

/// OAUTHBEARER's token source: the OIDC client-credentials flow when
/// `sasl.oauthbearer.token.endpoint.url` is set, unsigned tokens when the JAAS line has
/// `unsecuredLoginStringClaim_sub` (Kafka's default, unsecured login), else none — then a
/// provider registered in code (`App::oauthbearer_token_provider`) supplies the tokens.
fn oauthbearer_settings(
    effective: &Effective,
    jaas_setting: &Setting,
    jaas: &JaasConfig,
    providers: &mut TokenProviders,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<SaslSettings, ConfigError> {
    let from_code = || SaslSettings::new(SaslMechanism::OAuthBearer, "", "");
    let url = effective.get("sasl.oauthbearer.token.endpoint.url");
    match effective.get("sasl.login.callback.handler.class") {
        Some(handler) if !OIDC_LOGIN_HANDLERS.contains(&handler.value.trim()) => {
            warnings.push(ConfigWarning::ignored(
                handler.key.clone(),
                handler.origin.clone(),
                "a Java login callback handler cannot run here; register an OAuthBearerTokenProvider in code with App::oauthbearer_token_provider".to_owned(),
            ));
            return Ok(from_code());
        }
        Some(handler) if url.is_none() => {
            return Err(error(
                handler,
                "OAuthBearerLoginCallbackHandler needs sasl.oauthbearer.token.endpoint.url (the OIDC token endpoint)",
            ))
        }
        _ => {}
    }
    if let Some(url) = url {
        let needs = |option: &str| {
            jaas.option(option).filter(|v| !v.is_empty()).ok_or_else(|| {
                error(
                    jaas_setting,
                    format!("OAUTHBEARER with a token endpoint needs {option}=\"…\" in the OAuthBearerLoginModule line"),
                )
            })
        };
        let client_id = needs("clientId")?;
        let client_secret = Secret::new(needs("clientSecret")?);
        let provider = ClientCredentialsTokenProvider::new(&url.value, client_id, client_secret)
            .map_err(|e| error(url, e.to_string()))?
            .scope(jaas.option("scope").unwrap_or_default());
        return Ok(SaslSettings::oauthbearer(providers.share(provider)));
    }
    if let Some(subject) = jaas.option("unsecuredLoginStringClaim_sub") {
        let lifetime = match jaas.option("unsecuredLoginLifetimeSeconds") {
            None => UNSECURED_LOGIN_LIFETIME,
            Some(seconds) => seconds
                .trim()
                .parse()
                .map(std::time::Duration::from_secs)
                .map_err(|_| {
                    error(
                        jaas_setting,
                        "unsecuredLoginLifetimeSeconds must be a whole number of seconds",
                    )
                })?,
        };
        return Ok(SaslSettings::oauthbearer(Arc::new(
            UnsecuredTokenProvider::new(subject, lifetime),
        )));
    }
    Ok(from_code())
}

/// The security configuration of one client section (`consumer`, `producer`, `admin`), plus
/// warnings for settings the protocol ignores.
pub(crate) fn bind(
    binder: &mut Binder<'_>,
    client: &str,
    providers: &mut TokenProviders,
) -> Result<(SecurityConfig, Vec<ConfigWarning>), ConfigError> {
    let effective = collect(binder, client)?;
    let protocol_setting = effective.get("security.protocol").cloned();
    let protocol = match &protocol_setting {
        None => SecurityProtocol::Plaintext,
        Some(setting) => SecurityProtocol::from_kafka_name(&setting.value).ok_or_else(|| {
            ConfigError::InvalidValue {
                key: setting.key.clone(),
                origin: setting.origin.clone(),
                value: setting.value.clone(),
                expected: "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL".to_owned(),
            }
        })?,
    };
    let mut warnings = Vec::new();
    let ignored = |prefix: &str, reason: &str, warnings: &mut Vec<ConfigWarning>| {
        for setting in effective
            .values
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, s)| s)
            .chain(effective.bundle.iter().filter(|_| prefix == "ssl."))
        {
            warnings.push(ConfigWarning::ignored(
                setting.key.clone(),
                setting.origin.clone(),
                reason.to_owned(),
            ));
        }
    };
    let protocol_name = protocol.kafka_name();
    if !protocol.uses_sasl() {
        ignored(
            "sasl.",
            &format!("security.protocol is {protocol_name}, so SASL is off; set it to SASL_PLAINTEXT or SASL_SSL to authenticate"),
            &mut warnings,
        );
    }
    if !protocol.uses_tls() {
        ignored(
            "ssl.",
            &format!("security.protocol is {protocol_name}, so TLS is off; set it to SSL or SASL_SSL to use TLS"),
            &mut warnings,
        );
    }
    let tls_error = |e: crate::client::TlsError| {
        let setting = [
            "ssl.truststore.location",
            "ssl.keystore.location",
            "ssl.truststore.certificates",
        ]
        .iter()
        .find_map(|name| effective.get(name))
        .or(effective.bundle.as_ref())
        .or(protocol_setting.as_ref())
        .cloned()
        .expect("TLS is only built when security.protocol is set");
        error(&setting, e.to_string())
    };
    let security = match protocol {
        SecurityProtocol::Plaintext => SecurityConfig::plaintext(),
        SecurityProtocol::Ssl => {
            SecurityConfig::ssl(tls_settings(binder, &effective)?).map_err(tls_error)?
        }
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => {
            let protocol_setting = protocol_setting.as_ref().expect("set for SASL");
            let sasl = sasl_settings(
                &effective,
                protocol_setting,
                client,
                providers,
                &mut warnings,
            )?;
            if protocol == SecurityProtocol::SaslSsl {
                SecurityConfig::sasl_ssl(tls_settings(binder, &effective)?, sasl)
                    .map_err(tls_error)?
            } else {
                SecurityConfig::sasl_plaintext(sasl)
            }
        }
    };
    Ok((security, warnings))
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;
