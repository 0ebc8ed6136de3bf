//! Start-up: select and validate listeners, prepare topics, start each listener's consumers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::running::{ListenerRuntime, RunningApp};
use super::topics::{create_topics, missing_topics};
use super::App;
use crate::client::ConnectionConfig;
use crate::config::{AckMode, AutoOffsetReset, KafkaProperties};
use crate::container::{
    ack_mode_policy, batch_dispatch, fetch_settings_for, record_dispatch, run_member,
    worker_settings_for, AckEvents, ContainerEvent, DispatchOrdering, ListenerDispatch,
    MemberEnvironment, MemberSettings, Parallelism,
};
use crate::error::{DeliveryFailure, ErrorHandler};
use crate::extract::ListenerInfo;
use crate::group::{self, GroupConfig, GroupMember};
use crate::record::ConsumerRecord;
use crate::registry::{
    self, canonical_ack_mode, HandlerFuture, ListenerDefaults, ListenerHandler, ListenerSpec,
    SpecValue,
};
use crate::result::{Error, Result};

pub(super) async fn start(app: App) -> Result<RunningApp> {
    let App {
        properties,
        state,
        listeners,
        bootstrap,
        topics,
        error_handler,
        shutdown_timeout,
    } = app;
    for warning in properties.warnings() {
        tracing::warn!(%warning, "configuration");
    }
    let specs = select_listeners(listeners.as_deref())?;
    registry::validate(
        &specs,
        &ListenerDefaults {
            group_id: properties.consumer.group_id.clone(),
            ack_mode: Some(properties.listener.ack_mode.spring_name().to_owned()),
        },
    )?;
    let connection = match &bootstrap {
        Some(servers) => properties
            .consumer_connection()
            .with_bootstrap_servers([servers.as_str()]),
        None => properties.consumer_connection(),
    };
    let data_plane = Arc::new(connection.rskafka_client().await?);
    create_topics(&data_plane, &topics).await?;
    let shutdown = CancellationToken::new();
    let (events, events_from_start) = tokio::sync::broadcast::channel(1024);
    let plans = specs
        .iter()
        .map(|&spec| ListenerPlan::resolve(spec, &properties, shutdown_timeout).map(|p| (spec, p)))
        .collect::<Result<Vec<_>>>()?;
    if properties.listener.missing_topics_fatal {
        let wanted = plans
            .iter()
            .flat_map(|(_, plan)| plan.topics.iter().map(String::as_str));
        let missing = missing_topics(&data_plane, wanted).await?;
        if !missing.is_empty() {
            return Err(Error::MissingTopics { topics: missing });
        }
    }
    let context = StartContext {
        connection,
        poll_timeout: properties.listener.poll_timeout,
        error_handler,
        data_plane,
        shutdown: shutdown.clone(),
        events: events.clone(),
    };
    let mut runtimes = Vec::new();
    for (spec, plan) in plans {
        let listener = ListenerInfo::new(spec.id(), Some(plan.group.group_id.as_str()));
        let runtime = match spec.handler {
            ListenerHandler::Record(handler) => {
                let dispatch = record_dispatch(handler, listener, state.clone());
                context
                    .start_members(spec, &plan, ListenerDispatch::Records(dispatch))
                    .await
            }
            ListenerHandler::Batch(handler) => {
                let dispatch = batch_dispatch(handler, listener, state.clone());
                context
                    .start_members(
                        spec,
                        &plan,
                        ListenerDispatch::<RecordFn, _>::Batches(dispatch),
                    )
                    .await
            }
        };
        tracing::info!(
            listener = spec.id(),
            group = %plan.group.group_id,
            topics = ?plan.topics,
            concurrency = plan.concurrency,
            batch = spec.is_batch(),
            "listener started"
        );
        runtimes.push(runtime);
    }
    Ok(RunningApp::new(
        shutdown,
        events,
        events_from_start,
        runtimes,
        shutdown_timeout,
    ))
}

/// The record dispatch type a batch listener's [`ListenerDispatch`] names but never holds.
type RecordFn = fn(ConsumerRecord, AckEvents) -> HandlerFuture;

/// What every listener's members are started with.
struct StartContext {
    connection: ConnectionConfig,
    poll_timeout: Duration,
    error_handler: ErrorHandler,
    data_plane: Arc<rskafka::client::Client>,
    shutdown: CancellationToken,
    events: tokio::sync::broadcast::Sender<ContainerEvent>,
}

impl StartContext {
    /// Starts `plan.concurrency` group members of one listener.
    async fn start_members<D, Fut, F>(
        &self,
        spec: &ListenerSpec,
        plan: &ListenerPlan,
        dispatch: ListenerDispatch<D, F>,
    ) -> ListenerRuntime
    where
        D: Fn(ConsumerRecord, AckEvents) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), F>> + Send + 'static,
        F: DeliveryFailure,
    {
        let mut runtime = ListenerRuntime::new(spec.id());
        for n in 0..plan.concurrency {
            let member_connection = self
                .connection
                .clone()
                .client_id(format!("{}-{n}", plan.client_id_prefix));
            let member = GroupMember::new(member_connection, plan.group.clone());
            let (control_tx, control_rx) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(run_member(
                member,
                plan.topics.clone(),
                MemberSettings {
                    listener_id: spec.id().into(),
                    worker: plan.worker,
                    fetch: plan.fetch,
                    poll_timeout: self.poll_timeout,
                    error_handler: self.error_handler.clone(),
                    max_poll_interval: plan.group.max_poll_interval,
                },
                dispatch.clone(),
                MemberEnvironment {
                    data_plane: Arc::clone(&self.data_plane),
                    shutdown: self.shutdown.clone(),
                    events: self.events.clone(),
                },
                control_tx,
            ));
            runtime.add_member(task, control_rx.await.ok());
        }
        runtime
    }
}

/// The listeners to run: the named ones, or every registered one with `auto_startup`.
fn select_listeners(ids: Option<&[String]>) -> Result<Vec<&'static ListenerSpec>> {
    let all = registry::all();
    match ids {
        Some(ids) => ids
            .iter()
            .map(|id| {
                registry::find(id).ok_or_else(|| Error::UnknownListener {
                    id: id.clone(),
                    known: all.iter().map(|s| s.id()).collect::<Vec<_>>().join(", "),
                })
            })
            .collect(),
        None => Ok(all
            .into_iter()
            .filter(|spec| !matches!(spec.auto_startup, Some(SpecValue::Literal(false))))
            .collect()),
    }
}

/// One listener's settings with attribute overrides, placeholders and configuration merged.
struct ListenerPlan {
    topics: Vec<String>,
    group: GroupConfig,
    concurrency: u32,
    client_id_prefix: String,
    worker: crate::container::WorkerSettings,
    fetch: crate::container::FetchSettings,
}

impl ListenerPlan {
    fn resolve(
        spec: &'static ListenerSpec,
        properties: &KafkaProperties,
        drain_timeout: Duration,
    ) -> Result<Self> {
        let invalid =
            |setting: &'static str, value: String, reason: String| Error::ListenerSetting {
                listener: spec.location(),
                setting,
                value,
                reason,
            };
        if !spec.partitions.is_empty() {
            return Err(Error::Unsupported {
                listener: spec.location(),
                feature: "manual partition assignment (`partitions = [...]`)",
            });
        }
        if spec.topic_pattern.is_some() {
            return Err(Error::Unsupported {
                listener: spec.location(),
                feature: "a topic pattern subscription",
            });
        }
        let topics = spec
            .topics
            .iter()
            .map(|t| properties.resolve_placeholders(t))
            .collect::<Result<Vec<_>, _>>()?;
        let group_id = spec
            .group_id_or(properties.consumer.group_id.as_deref())
            .map(|g| properties.resolve_placeholders(g))
            .transpose()?
            .expect("validated: a group-managed listener has a group id");
        let positive = |setting: &'static str, value: Option<SpecValue<u32>>| match value {
            Some(SpecValue::Literal(n)) => Ok(Some(n.max(1))),
            Some(SpecValue::Placeholder(text)) => {
                let value = properties.resolve_placeholders(text)?;
                match value.trim().parse::<u32>().ok().filter(|&n| n > 0) {
                    Some(n) => Ok(Some(n)),
                    None => Err(invalid(
                        setting,
                        value,
                        "expected a positive whole number".into(),
                    )),
                }
            }
            None => Ok(None),
        };
        let concurrency = positive("concurrency", spec.concurrency)?
            .or(properties.listener.concurrency)
            .unwrap_or(1)
            .max(1);
        let max_in_flight = positive("parallelism", spec.parallelism)?
            .or(properties.parallelism.max_in_flight)
            .unwrap_or(1);
        let ordering = match spec.ordering {
            Some(written) => {
                let resolved = properties.resolve_placeholders(written)?;
                resolved
                    .parse::<DispatchOrdering>()
                    .map_err(|reason| invalid("ordering", resolved.clone(), reason))?
            }
            None => properties.parallelism.ordering.unwrap_or_default(),
        };
        let ack_mode = match spec.ack_mode {
            Some(written) => {
                let resolved = properties.resolve_placeholders(written)?;
                let canonical = canonical_ack_mode(&resolved).ok_or_else(|| {
                    invalid(
                        "ack_mode",
                        resolved.clone(),
                        format!("expected one of {}", registry::ACK_MODES.join(", ")),
                    )
                })?;
                AckMode::CHOICES
                    .iter()
                    .find(|(name, _)| *name == canonical)
                    .map(|&(_, mode)| mode)
                    .expect("ACK_MODES and AckMode::CHOICES name the same seven modes")
            }
            None => properties.listener.ack_mode,
        };
        let mut worker =
            worker_settings_for(&properties.listener, &properties.consumer, drain_timeout);
        worker.parallelism = Parallelism::new(max_in_flight as usize, ordering);
        if spec.ack_mode.is_some() && !properties.consumer.auto_commit() {
            worker.commit_policy = ack_mode_policy(
                ack_mode,
                properties.listener.ack_count,
                properties.listener.ack_time,
            );
        }
        let settings = &properties.consumer.group;
        let mut group = GroupConfig::new(group_id)
            .session_timeout(settings.session_timeout)
            .heartbeat_interval(settings.heartbeat_interval)
            .max_poll_interval(settings.max_poll_interval)
            .assignment_strategy(
                settings
                    .partition_assignment_strategy
                    .iter()
                    .map(|a| a.protocol_name()),
            )
            .map_err(|e| {
                invalid(
                    "partition.assignment.strategy",
                    String::new(),
                    e.to_string(),
                )
            })?
            .auto_offset_reset(
                match properties.consumer.auto_offset_reset.unwrap_or_default() {
                    AutoOffsetReset::Earliest => group::AutoOffsetReset::Earliest,
                    AutoOffsetReset::Latest => group::AutoOffsetReset::Latest,
                    AutoOffsetReset::None => group::AutoOffsetReset::None,
                },
            );
        if let Some(instance) = &settings.group_instance_id {
            group = group.group_instance_id(instance.clone());
        }
        let client_id_prefix = spec
            .client_id_prefix
            .map(str::to_owned)
            .or_else(|| properties.listener.client_id.clone())
            .or_else(|| properties.consumer.client_id.clone())
            .unwrap_or_else(|| spec.id().to_owned());
        Ok(Self {
            topics,
            group,
            concurrency,
            client_id_prefix,
            worker,
            fetch: fetch_settings_for(&properties.consumer),
        })
    }
}
