//! [`ListenerSpec`]: what `#[kafka_listener(...)]` declares about one function.

use super::ListenerHandler;
use std::fmt;

/// A setting given either as a literal (`concurrency = 3`) or as a `${…}` placeholder that the
/// runtime resolves from the configuration at start (`concurrency = "${orders.concurrency}"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecValue<T: 'static> {
    /// The value written in the attribute.
    Literal(T),
    /// The raw placeholder text, e.g. `"${orders.concurrency:3}"`.
    Placeholder(&'static str),
}

/// One `#[kafka_listener]` function: its settings as written (string settings keep their
/// `${…}` placeholders raw) and the adapter the container calls.
///
/// The macro builds it as a constant and registers it with `inventory`; read them with
/// [`all`](super::all) and [`find`](super::find).
#[derive(Debug, Clone, Copy)]
pub struct ListenerSpec {
    /// The explicit `id`, if any; see [`id`](Self::id).
    pub id: Option<&'static str>,
    /// The function's name.
    pub fn_name: &'static str,
    /// `module_path!()` where the function is declared.
    pub module_path: &'static str,
    /// `file!()` where the function is declared.
    pub file: &'static str,
    /// `line!()` of the function.
    pub line: u32,
    /// Topics to subscribe to (or to assign, with `partitions`).
    pub topics: &'static [&'static str],
    /// A regex subscription (`topicPattern`).
    pub topic_pattern: Option<&'static str>,
    /// Manually assigned partitions of each topic; empty for group management.
    pub partitions: &'static [i32],
    /// The consumer group (overrides `spring.kafka.consumer.group-id`).
    pub group_id: Option<&'static str>,
    /// Consumers per listener (`spring.kafka.listener.concurrency` when absent).
    pub concurrency: Option<SpecValue<u32>>,
    /// Whether the listener starts with the app (default `true`).
    pub auto_startup: Option<SpecValue<bool>>,
    /// Prefix of the consumers' `client.id`.
    pub client_id_prefix: Option<&'static str>,
    /// One of Spring's ack modes, as written (`spring.kafka.listener.ack-mode` when absent).
    pub ack_mode: Option<&'static str>,
    /// Per-listener Kafka consumer property overrides, as written.
    pub properties: &'static [(&'static str, &'static str)],
    /// Whether the function takes an `Acknowledgment` / `BatchAcknowledgment`.
    pub takes_acknowledgment: bool,
    /// Records of one partition handled at once (`kafka-listener.parallelism.max-in-flight`
    /// when absent).
    pub parallelism: Option<SpecValue<u32>>,
    /// `key`, `partition` or `unordered`, as written (`kafka-listener.parallelism.ordering`
    /// when absent).
    pub ordering: Option<&'static str>,
    /// `retry_topic(...)`: non-blocking retries through retry topics.
    pub retry_topic: Option<crate::error::RetryTopicSpec>,
    /// The `State<T>` types the function takes, checked when the app starts.
    pub required_state: fn() -> Vec<crate::extract::RequiredState>,
    /// The generated adapter.
    pub handler: ListenerHandler,
}

impl ListenerSpec {
    /// The listener's id: the `id` attribute, or else the function's name.
    pub fn id(&self) -> &'static str {
        self.id.unwrap_or(self.fn_name)
    }

    /// `true` for a batch listener (`batch = true`).
    pub fn is_batch(&self) -> bool {
        matches!(self.handler, ListenerHandler::Batch(_))
    }

    /// `true` when the listener's partitions are assigned by a consumer group, `false` for
    /// manual assignment (`partitions = [...]`).
    pub fn uses_group_management(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The group the listener consumes in, as Spring chooses it: the `group_id` attribute, else
    /// the explicit `id` (Spring's `idIsGroup`, on by default), else `default` (the configured
    /// `spring.kafka.consumer.group-id`).
    ///
    /// ```
    /// # use kafka_listener::registry::{ListenerHandler, ListenerSpec};
    /// # fn adapter(_: kafka_listener::extract::RecordContext) -> kafka_listener::registry::HandlerFuture {
    /// #     Box::pin(async { Ok(()) })
    /// # }
    /// let spec = ListenerSpec {
    ///     id: Some("order-listener"),
    ///     group_id: None,
    ///     # fn_name: "on_order", module_path: "app", file: "src/main.rs", line: 1,
    ///     # topics: &["orders"], topic_pattern: None, partitions: &[], concurrency: None,
    ///     # auto_startup: None, client_id_prefix: None, ack_mode: None, properties: &[],
    ///     # takes_acknowledgment: false, parallelism: None, ordering: None, retry_topic: None,
    ///     # required_state: Vec::new,
    ///     # handler: ListenerHandler::Record(adapter),
    ///     // …
    /// };
    /// assert_eq!(spec.group_id_or(Some("from-config")), Some("order-listener"));
    /// ```
    pub fn group_id_or<'a>(&self, default: Option<&'a str>) -> Option<&'a str> {
        self.group_id.or(self.id).or(default)
    }

    /// Where the function is declared, for error messages: `` `fn name` (file:line) ``.
    pub fn location(&self) -> ListenerLocation {
        ListenerLocation {
            fn_name: self.fn_name,
            module_path: self.module_path,
            file: self.file,
            line: self.line,
        }
    }
}

/// Where a listener function is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerLocation {
    /// The function's name.
    pub fn_name: &'static str,
    /// Its module.
    pub module_path: &'static str,
    /// Its source file.
    pub file: &'static str,
    /// Its line.
    pub line: u32,
}

impl fmt::Display for ListenerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`fn {}::{}` ({}:{})",
            self.module_path, self.fn_name, self.file, self.line
        )
    }
}
