use crate::client::{SaslMechanism, SecurityProtocol};
use crate::config::{ConfigError, ConfigLoader, KafkaProperties};

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";"#;

fn load(yaml: &str) -> Result<KafkaProperties, ConfigError> {
    load_with_env(yaml, &[])
}

fn load_with_env(yaml: &str, env: &[(&str, &str)]) -> Result<KafkaProperties, ConfigError> {
    ConfigLoader::new()
        .profiles(Vec::<String>::new())
        .env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .load_yaml_str(yaml)
}

fn cert_path() -> String {
    format!(
        "{}/src/client/security/testdata/cert.pem",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn the_more_specific_level_wins_for_security_protocol() {
    let yaml = format!(
        r#"
spring.kafka:
  security.protocol: SSL
  ssl.trust-store-location: file:{cert}
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: SCRAM-SHA-256
    sasl.jaas.config: '{JAAS}'
  consumer:
    security.protocol: SASL_PLAINTEXT
  producer:
    security.protocol: PLAINTEXT
    properties:
      security.protocol: SSL
"#,
        cert = cert_path()
    );
    let props = load(&yaml).unwrap();
    let protocol = |c: crate::client::ConnectionConfig| c.security_config().protocol();
    // consumer typed key beats global properties and global typed key
    assert_eq!(
        protocol(props.consumer_connection()),
        SecurityProtocol::SaslPlaintext
    );
    // producer.properties beats producer's typed key
    assert_eq!(protocol(props.producer_connection()), SecurityProtocol::Ssl);
    // admin: global properties beat the global typed key
    assert_eq!(
        protocol(props.admin_connection()),
        SecurityProtocol::SaslSsl
    );
    let sasl = props
        .admin_connection()
        .security_config()
        .sasl()
        .unwrap()
        .clone();
    assert_eq!(sasl.mechanism(), SaslMechanism::ScramSha256);
    assert_eq!(sasl.username(), "alice");
}

#[test]
fn the_jaas_config_binds_from_spring_kafka_properties_sasl_jaas_config_env_var() {
    let props = load_with_env(
        "spring.kafka.properties: {security.protocol: SASL_PLAINTEXT, sasl.mechanism: PLAIN}",
        &[("SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", JAAS)],
    )
    .unwrap();
    let security = props.consumer_connection().security_config().clone();
    assert_eq!(security.sasl().unwrap().username(), "alice");
    assert!(props.warnings().is_empty(), "{:?}", props.warnings());
}

#[test]
fn an_unsupported_mechanism_is_an_error_listing_the_supported_ones_with_its_yaml_path() {
    let yaml = format!(
        "spring.kafka.properties:\n  security.protocol: SASL_SSL\n  sasl.mechanism: GSSAPI\n  sasl.jaas.config: '{JAAS}'\n"
    );
    let err = load(&yaml).unwrap_err().to_string();
    assert!(
        err.contains("spring.kafka.properties.sasl.mechanism"),
        "{err}"
    );
    assert!(
        err.contains("PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER"),
        "{err}"
    );
}

#[test]
fn an_unknown_security_protocol_is_an_error_listing_the_four() {
    let err = load("spring.kafka.properties.security.protocol: TLS")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spring.kafka.properties.security.protocol"),
        "{err}"
    );
    assert!(
        err.contains("PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        "{err}"
    );
}

#[test]
fn sasl_without_a_jaas_config_is_an_error_naming_the_key() {
    let err = load("spring.kafka.security.protocol: SASL_PLAINTEXT\nspring.kafka.properties.sasl.mechanism: PLAIN")
        .unwrap_err()
        .to_string();
    assert!(err.contains("sasl.jaas.config"), "{err}");
    assert!(
        err.contains("spring.kafka.security.protocol at <string>:1"),
        "{err}"
    );
}

#[test]
fn sasl_and_ssl_keys_under_plaintext_are_warnings_naming_each_key() {
    let yaml = format!(
        "spring.kafka.properties:\n  sasl.mechanism: PLAIN\n  sasl.jaas.config: '{JAAS}'\nspring.kafka.ssl.trust-store-location: /nowhere.p12\n"
    );
    let props = load(&yaml).unwrap();
    let keys: Vec<&str> = props.warnings().iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "spring.kafka.properties.sasl.jaas.config",
            "spring.kafka.properties.sasl.mechanism",
            "spring.kafka.ssl.trust-store-location",
        ]
    );
    let text = props.warnings()[0].to_string();
    assert!(text.contains("PLAINTEXT"), "{text}");
    assert!(!text.contains("alice-secret"), "{text}");
}

#[test]
fn debug_output_of_the_whole_configuration_never_shows_a_secret() {
    let yaml = format!(
        r#"
spring.kafka:
  security.protocol: SASL_SSL
  ssl:
    trust-store-location: {cert}
    trust-store-password: store-secret
  properties:
    sasl.mechanism: PLAIN
    sasl.jaas.config: '{JAAS}'
  consumer.properties.ssl.key.password: key-secret
"#,
        cert = cert_path()
    );
    let props = load(&yaml).unwrap();
    for text in [format!("{props:?}"), format!("{props:#?}")] {
        for secret in ["alice-secret", "store-secret", "key-secret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("***"));
    }
}

#[test]
fn a_jks_trust_store_is_a_start_up_error_with_the_keytool_command() {
    let dir = std::env::temp_dir().join(format!("kl-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jks = dir.join("client.truststore.jks");
    std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
    let yaml = format!(
        "spring.kafka:\n  security.protocol: SSL\n  ssl.trust-store-location: file:{}\n  ssl.trust-store-type: JKS\n",
        jks.display()
    );
    let err = load(&yaml).unwrap_err().to_string();
    assert!(
        err.contains("spring.kafka.ssl.trust-store-location"),
        "{err}"
    );
    assert!(err.contains("keytool -importkeystore"), "{err}");
}

#[test]
fn a_missing_classpath_store_says_it_is_read_from_the_working_directory() {
    let err = load("spring.kafka:\n  security.protocol: SSL\n  ssl.trust-store-location: classpath:nowhere.p12\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("relative to the working directory"), "{err}");
}

#[test]
fn a_spring_boot_pem_ssl_bundle_supplies_the_trust_store() {
    let yaml = format!(
        "spring.ssl.bundle.pem.kafka.truststore.certificate: file:{}\nspring.kafka:\n  security.protocol: SSL\n  ssl.bundle: kafka\n  properties.ssl.endpoint.identification.algorithm: ''\n",
        cert_path()
    );
    let props = load(&yaml).unwrap();
    let security = props.producer_connection().security_config().clone();
    assert!(security.tls_client_config().is_some());
    assert!(!security.tls_settings().unwrap().verifies_host_name());
    let err = load("spring.kafka:\n  security.protocol: SSL\n  ssl.bundle: missing\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no SSL bundle `missing`"), "{err}");
}

#[test]
fn spring_config_additional_location_overrides_the_applications_own_keys() {
    let dir = std::env::temp_dir().join(format!("kl-additional-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let extra = dir.join("client-security.yml");
    std::fs::write(
        &extra,
        format!("spring.kafka:\n  security.protocol: SASL_PLAINTEXT\n  properties:\n    sasl.mechanism: SCRAM-SHA-512\n    sasl.jaas.config: '{JAAS}'\n"),
    )
    .unwrap();
    let location = format!("file:{}", extra.display());
    let props = load_with_env(
        "spring.kafka.security.protocol: PLAINTEXT\nspring.kafka.consumer.group-id: app",
        &[("SPRING_CONFIG_ADDITIONAL_LOCATION", location.as_str())],
    )
    .unwrap();
    assert_eq!(props.consumer.group_id.as_deref(), Some("app"));
    let security = props.consumer_connection().security_config().clone();
    assert_eq!(security.protocol(), SecurityProtocol::SaslPlaintext);
    assert_eq!(
        security.sasl().unwrap().mechanism(),
        SaslMechanism::ScramSha512
    );
    let missing = load_with_env(
        "a: 1",
        &[("SPRING_CONFIG_ADDITIONAL_LOCATION", "optional:/nowhere.yml")],
    );
    assert!(missing.is_ok());
    assert!(load_with_env(
        "a: 1",
        &[("SPRING_CONFIG_ADDITIONAL_LOCATION", "/nowhere.yml")]
    )
    .is_err());
}

const OAUTH_MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const OIDC_HANDLER: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";

fn oauth_yaml(jaas_options: &str, extra: &str) -> String {
    format!(
        "spring.kafka:\n  security.protocol: SASL_PLAINTEXT\n  properties:\n    sasl.mechanism: OAUTHBEARER\n    sasl.jaas.config: '{OAUTH_MODULE} required {jaas_options};'\n{extra}"
    )
}

#[test]
fn oauthbearer_with_the_oidc_login_handler_gives_every_client_one_shared_token_provider() {
    let props = load(&oauth_yaml(
        r#"clientId="svc" clientSecret="s3cr3t" scope="kafka""#,
        &format!("    sasl.login.callback.handler.class: {OIDC_HANDLER}\n    sasl.oauthbearer.token.endpoint.url: https://idp.example.com/oauth2/token\n"),
    ))
    .unwrap();
    let sasl = |c: crate::client::ConnectionConfig| c.security_config().sasl().unwrap().clone();
    let consumer = sasl(props.consumer_connection());
    assert_eq!(consumer.mechanism(), SaslMechanism::OAuthBearer);
    assert!(consumer.has_token_provider());
    // Equal SaslSettings hold the same provider (compared by pointer): one token cache.
    assert_eq!(consumer, sasl(props.producer_connection()));
    assert_eq!(consumer, sasl(props.admin_connection()));
    assert!(!format!("{props:?}").contains("s3cr3t"));
}

#[test]
fn oauthbearer_login_handler_without_a_token_endpoint_is_an_error_naming_the_key() {
    let err = load(&oauth_yaml(
        r#"clientId="svc" clientSecret="s3cr3t""#,
        &format!("    sasl.login.callback.handler.class: {OIDC_HANDLER}\n"),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("sasl.oauthbearer.token.endpoint.url"), "{err}");
    assert!(err.contains("sasl.login.callback.handler.class"), "{err}");
}

#[test]
fn oauthbearer_token_endpoint_without_a_client_secret_is_an_error_naming_the_option() {
    let err = load(&oauth_yaml(
        r#"clientId="svc""#,
        "    sasl.oauthbearer.token.endpoint.url: http://127.0.0.1:1/token\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("clientSecret"), "{err}");
    assert!(
        err.contains("spring.kafka.properties.sasl.jaas.config"),
        "{err}"
    );
}

#[test]
fn a_java_login_callback_handler_is_a_warning_and_leaves_the_token_source_to_code() {
    let props = load(&oauth_yaml(
        "",
        "    sasl.login.callback.handler.class: com.example.VaultLoginHandler\n",
    ))
    .unwrap();
    let sasl = props
        .consumer_connection()
        .security_config()
        .sasl()
        .unwrap()
        .clone();
    assert!(!sasl.has_token_provider());
    let warnings: Vec<String> = props.warnings().iter().map(|w| w.to_string()).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("sasl.login.callback.handler.class")
                && w.contains("App::oauthbearer_token_provider")),
        "{warnings:?}"
    );
}

#[test]
fn unsecured_login_claims_give_unsigned_tokens_as_kafkas_default_login_handler_does() {
    let props = load(&oauth_yaml(r#"unsecuredLoginStringClaim_sub="alice""#, "")).unwrap();
    let sasl = props
        .consumer_connection()
        .security_config()
        .sasl()
        .unwrap()
        .clone();
    assert!(sasl.has_token_provider());
}
