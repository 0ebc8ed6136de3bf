//! Spring Boot configuration: `application.yml` / `application.properties` → [`KafkaProperties`].
//!
//! Loading goes through layers, one module each:
//!
//! 1. **Parse and flatten** each YAML document (`yaml`) or properties document
//!    (`properties_format`) into `a.b.c → value @ file:line:column`.
//! 2. **Select** the documents and `application-{profile}.yml` files of the active profiles
//!    (`profiles`).
//! 3. **Merge** with environment overrides on top (`environment`): env > profile > base >
//!    defaults, names matched relaxed (`relaxed`: `group-id` = `groupId` = `group_id` =
//!    `SPRING_KAFKA_CONSUMER_GROUP_ID` = `SPRING_KAFKA_CONSUMER_GROUPID`).
//! 4. **Bind** (`binder`, `bind`): resolve `${…}` placeholders, parse durations and sizes
//!    (`units`), map (de)serializer class names to codecs (`codec`), apply Spring Boot 4's
//!    defaults and start-up rules, and warn about unknown keys with "did you mean".
//!
//! ```
//! use kafka_listener::config::{AckMode, ConfigLoader};
//!
//! let props = ConfigLoader::new()
//!     .env([("KAFKA_HOST", "broker:9092")])
//!     .load_yaml_str("spring.kafka.bootstrap-servers: ${KAFKA_HOST:localhost:9092}")
//!     .unwrap();
//! assert_eq!(props.consumer_connection().bootstrap_servers(), ["broker:9092"]);
//! assert_eq!(props.listener.ack_mode, AckMode::Batch);
//! ```

mod bind;
mod binder;
mod codec;
mod environment;
mod error;
mod error_handler;
mod kafka_properties;
mod loader;
mod model;
mod origin;
mod placeholders;
mod profiles;
mod properties_format;
mod properties_map;
mod relaxed;
mod security;
mod units;
mod warning;
mod yaml;

pub use codec::{Deserializer, Serializer};
pub use error::ConfigError;
pub(crate) use error_handler::{bind_error_handlers, ConfiguredErrorHandlers};
pub use error_handler::{
    listener_prefix as error_handler_listener_prefix, BackOffProperties, ErrorHandlerProperties,
    RecovererKind, APP_WIDE_PREFIX as ERROR_HANDLER_PREFIX,
};
pub use kafka_properties::{KafkaProperties, DEFAULT_BOOTSTRAP_SERVERS};
pub use loader::ConfigLoader;
pub use model::{
    AckMode, AdminProperties, Assignor, AutoOffsetReset, ConsumerProperties, GroupSettings,
    IsolationLevel, ListenerProperties, ListenerType, ParallelismProperties, ProducerProperties,
    RetryTopicProperties, SecurityProtocol, TemplateProperties,
};
pub use origin::Origin;
pub use properties_map::Properties;
pub(crate) use units::{parse_duration, DURATION_FORMS};
pub use warning::ConfigWarning;
