//! Start-up: select and validate listeners, prepare topics, start each listener's consumers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::container_settings::{ack_mode_policy, fetch_settings_for, worker_settings_for};
use super::error_handlers::{self, Chosen, ErrorHandlerSources};
use super::retry_topics;
use super::running::{ListenerRuntime, RunningApp};
use super::topics::{create_topics, missing_topics};
use super::App;
use crate::client::ConnectionConfig;
use crate::config::{AckMode, AutoOffsetReset, KafkaProperties, RecovererKind};
use crate::container::{
    batch_dispatch, record_dispatch, run_assigned, run_member, AckEvents, Assignment,
    ContainerEvent, DispatchOrdering, ListenerDispatch, MemberEnvironment, MemberSettings,
    Parallelism, Subscription, TopicPattern,
};
use crate::error::{DeliveryFailure, ErrorHandler};
use crate::extract::AppState;
use crate::extract::ListenerInfo;
use crate::group::{self, GroupConfig, GroupMember, TopicPartition};
use crate::record::ConsumerRecord;
use crate::registry::{
    self, HandlerFuture, ListenerDefaults, ListenerHandler, ListenerSpec, SpecValue,
};
use crate::result::{Error, Result};

pub(super) async fn start(app: App) -> Result<RunningApp> {
    let App {
        properties,
        mut state,
        listeners,
        bootstrap,
        topics,
        error_handler,
        listener_error_handlers,
        retry_topics: app_retry_topics,
        shutdown_timeout,
    } = app;
    for warning in properties.warnings() {
        tracing::warn!(%warning, "configuration");
    }
    if properties.lacks_oauthbearer_token_provider() {
        return Err(Error::MissingTokenProvider);
    }
    let specs = select_listeners(listeners.as_deref())?;
    // Every registered id, so a section for a listener not started now is no "unknown key".
    let all_ids: Vec<&str> = registry::all().iter().map(|s| s.id()).collect();
    let configured = crate::config::bind_error_handlers(&properties, &all_ids)?;
    for warning in &configured.warnings {
        tracing::warn!(%warning, "configuration");
    }
    let error_handlers = ErrorHandlerSources {
        app_wide: error_handler.as_ref(),
        per_listener: &listener_error_handlers,
        configured: &configured,
        ids: &all_ids,
    };
    // `send_to` listeners reply through it; it connects on the first reply.
    state.insert(crate::reply::ReplySender::new(
        properties.clone(),
        bootstrap.clone(),
    ));
    registry::validate(
        &specs,
        &ListenerDefaults {
            group_id: properties.consumer.group_id.clone(),
            ack_mode: Some(properties.listener.ack_mode.spring_name().to_owned()),
        },
    )?;
    // Configuration errors first, then what the code registered; all before connecting.
    check_required_state(&specs, &state)?;
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
        data_plane: Arc::clone(&data_plane),
        shutdown: shutdown.clone(),
        events: events.clone(),
        tasks: TaskTracker::new(),
    };
    let mut runtimes = Vec::new();
    let mut template = retry_topics::LazyTemplate::default();
    for (spec, plan) in plans {
        let mut error_handler = match error_handlers.choose(spec.id()) {
            Chosen::Code(handler) => handler.clone(),
            Chosen::Configured(configured) => {
                let dead_letters = match configured.recoverer {
                    RecovererKind::DeadLetter => {
                        Some(template.get(&properties, bootstrap.as_deref()).await?)
                    }
                    RecovererKind::Log => None,
                };
                error_handlers::from_properties(configured, dead_letters)
            }
            Chosen::Default => ErrorHandler::default(),
        };
        let retry_config = retry_topics::config_for(spec, app_retry_topics.as_ref(), &properties)?;
        let group = match &plan.assigned {
            Some((_, group)) => group.as_deref(),
            None => Some(plan.group.group_id.as_str()),
        };
        let listener_info = ListenerInfo::new(spec.id(), group);
        let handler = match spec.handler {
            ListenerHandler::Record(handler) => handler,
            ListenerHandler::Batch(handler) => {
                if retry_config.is_some() {
                    return Err(Error::ListenerSetting {
                        listener: spec.location(),
                        setting: "retry_topic",
                        value: String::new(),
                        reason:
                            "retry topics forward single records: use a record listener \
                                 (Spring's @RetryableTopic does not support batch listeners either)"
                                .into(),
                    });
                }
                let dispatch = batch_dispatch(handler, listener_info, state.clone());
                let listener = Listener {
                    id: spec.id(),
                    plan: &plan,
                    error_handler,
                };
                let dispatch = ListenerDispatch::<RecordFn, _>::Batches(dispatch);
                runtimes.push(context.start_members(listener, dispatch).await);
                continue;
            }
        };
        if let Some(config) = retry_config {
            let template = template.get(&properties, bootstrap.as_deref()).await?;
            let setup = retry_topics::prepare(&plan.topics, &config, &data_plane, template).await?;
            error_handler = setup.error_handler;
            for stage in setup.stages {
                let stage_id = format!("{}{}", spec.id(), stage.suffix);
                let stage_plan = plan.for_retry_stage(stage.topics, &stage.suffix);
                let dispatch = retry_topics::due_time_gate(record_dispatch(
                    handler,
                    ListenerInfo::new(stage_id.as_str(), Some(stage_plan.group.group_id.as_str())),
                    state.clone(),
                ));
                let listener = Listener {
                    id: &stage_id,
                    plan: &stage_plan,
                    error_handler: error_handler.clone(),
                };
                let dispatch = ListenerDispatch::Records(dispatch);
                runtimes.push(context.start_members(listener, dispatch).await);
            }
        }
        let dispatch = record_dispatch(handler, listener_info, state.clone());
        let listener = Listener {
            id: spec.id(),
            plan: &plan,
            error_handler,
        };
        runtimes.push(
            context
                .start_members(listener, ListenerDispatch::Records(dispatch))
                .await,
        );
    }
    Ok(RunningApp::new(
        shutdown,
        context.tasks,
        events,
        events_from_start,
        runtimes,
        shutdown_timeout,
    ))
}

/// The record dispatch type a batch listener's [`ListenerDispatch`] names but never holds.
type RecordFn = fn(ConsumerRecord, AckEvents) -> HandlerFuture;

/// One listener to start: the registered one, or one of its retry-topic listeners.
struct Listener<'a> {
    id: &'a str,
    plan: &'a ListenerPlan,
    error_handler: ErrorHandler,
}

/// What every listener's members are started with.
struct StartContext {
    connection: ConnectionConfig,
    poll_timeout: Duration,
    data_plane: Arc<rskafka::client::Client>,
    shutdown: CancellationToken,
    events: tokio::sync::broadcast::Sender<ContainerEvent>,
    /// Owns every task of every listener: members, workers, fetches, commits.
    tasks: TaskTracker,
}

impl StartContext {
    /// Starts `listener`'s consumers: its concurrency of group members, or one runner for its
    /// manually assigned partitions.
    async fn start_members<D, Fut, F>(
        &self,
        listener: Listener<'_>,
        dispatch: ListenerDispatch<D, F>,
    ) -> ListenerRuntime
    where
        D: Fn(ConsumerRecord, AckEvents) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), F>> + Send + 'static,
        F: DeliveryFailure,
    {
        let Listener {
            id,
            plan,
            error_handler,
        } = listener;
        let mut runtime = ListenerRuntime::new(id);
        let settings = MemberSettings {
            listener_id: id.into(),
            worker: plan.worker,
            fetch: plan.fetch,
            poll_timeout: self.poll_timeout,
            error_handler,
            max_poll_interval: plan.group.max_poll_interval,
        };
        tracing::info!(
            listener = id,
            group = %plan.group.group_id,
            topics = ?plan.topics,
            concurrency = plan.concurrency,
            partitions = ?plan.assigned.as_ref().map(|(partitions, _)| partitions),
            "listener starting"
        );
        let environment = |connection: ConnectionConfig| MemberEnvironment {
            data_plane: Arc::clone(&self.data_plane),
            connection,
            shutdown: self.shutdown.clone(),
            events: self.events.clone(),
            tasks: self.tasks.clone(),
        };
        if let Some((partitions, group_id)) = &plan.assigned {
            // Every partition has its own worker task already: one runner serves them all.
            let assignment = Assignment {
                partitions: partitions.clone(),
                group_id: group_id.clone(),
                reset: plan.group.auto_offset_reset,
                connection: self.connection.clone(),
            };
            let (control_tx, control_rx) = tokio::sync::oneshot::channel();
            let task = self.tasks.spawn(run_assigned(
                assignment,
                settings,
                dispatch,
                environment(self.connection.clone()),
                control_tx,
            ));
            runtime.add_member(task, control_rx.await.ok());
            return runtime;
        }
        for n in 0..plan.concurrency {
            let member_connection = self
                .connection
                .clone()
                .client_id(format!("{}-{n}", plan.client_id_prefix));
            let member = GroupMember::new(member_connection.clone(), plan.group.clone());
            let (control_tx, control_rx) = tokio::sync::oneshot::channel();
            let task = self.tasks.spawn(run_member(
                member,
                plan.subscription.clone(),
                settings.clone(),
                dispatch.clone(),
                environment(member_connection.clone()),
                control_tx,
            ));
            runtime.add_member(task, control_rx.await.ok());
        }
        runtime
    }
}

/// Fails start-up, as Spring does for a missing bean, when a listener takes a `State<T>` that
/// was never registered (every record would fail to extract and be skipped).
fn check_required_state(specs: &[&'static ListenerSpec], state: &AppState) -> Result<()> {
    for spec in specs {
        if let Some(missing) = (spec.required_state)()
            .into_iter()
            .find(|required| !state.satisfies(required))
        {
            return Err(Error::MissingState {
                listener: spec.location(),
                type_name: missing.type_name,
            });
        }
    }
    Ok(())
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
#[derive(Clone)]
struct ListenerPlan {
    topics: Vec<String>,
    subscription: Subscription,
    /// Manual assignment: the partitions, and the group that stores their offsets, if any.
    assigned: Option<(Vec<TopicPartition>, Option<String>)>,
    group: GroupConfig,
    concurrency: u32,
    client_id_prefix: String,
    worker: crate::container::WorkerSettings,
    fetch: crate::container::FetchSettings,
}

impl ListenerPlan {
    /// The plan of one of this listener's retry-topic listeners: its topics, the group and
    /// client id with the topic's suffix (as Spring names them), and a new group starting from
    /// the earliest offset so no record forwarded before its first assignment is skipped.
    fn for_retry_stage(&self, topics: Vec<String>, suffix: &str) -> Self {
        let mut plan = self.clone();
        plan.subscription = Subscription::Topics(topics.clone());
        plan.topics = topics;
        plan.assigned = None;
        plan.group.group_id = format!("{}{suffix}", self.group.group_id);
        plan.group = plan
            .group
            .auto_offset_reset(group::AutoOffsetReset::Earliest);
        plan.client_id_prefix = format!("{}{suffix}", self.client_id_prefix);
        plan
    }

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
        let pattern = match spec.topic_pattern {
            Some(written) => {
                let pattern = properties.resolve_placeholders(written)?;
                let refresh = match properties.consumer.properties.get("metadata.max.age.ms") {
                    Some(ms) => Duration::from_millis(ms.trim().parse().map_err(|_| {
                        invalid(
                            "metadata.max.age.ms",
                            ms.clone(),
                            "expected a whole number of milliseconds".into(),
                        )
                    })?),
                    // Java's default: new matching topics are found within five minutes.
                    None => Duration::from_secs(300),
                };
                let compiled = TopicPattern::new(&pattern, refresh).map_err(|error| {
                    invalid("topic_pattern", pattern.clone(), error.to_string())
                })?;
                Some(compiled)
            }
            None => None,
        };
        let topics = spec
            .topics
            .iter()
            .map(|t| properties.resolve_placeholders(t))
            .collect::<Result<Vec<_>, _>>()?;
        let group_id = spec
            .group_id_or(properties.consumer.group_id.as_deref())
            .map(|g| properties.resolve_placeholders(g))
            .transpose()?;
        let assigned = (!spec.partitions.is_empty()).then(|| {
            let partitions = topics
                .iter()
                .flat_map(|topic| {
                    spec.partitions
                        .iter()
                        .map(|&partition| TopicPartition::new(topic.as_str(), partition))
                })
                .collect::<Vec<_>>();
            (partitions, group_id.clone())
        });
        // Validated: a group-managed listener has a group id; manual assignment may have none.
        let group_id = group_id.unwrap_or_default();
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
                resolved.parse::<AckMode>().map_err(|_| {
                    invalid(
                        "ack_mode",
                        resolved.clone(),
                        format!("expected one of {}", AckMode::names()),
                    )
                })?
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
            subscription: match pattern {
                Some(pattern) => Subscription::Pattern(pattern),
                None => Subscription::Topics(topics.clone()),
            },
            topics,
            assigned,
            group,
            concurrency,
            client_id_prefix,
            worker,
            fetch: fetch_settings_for(&properties.consumer),
        })
    }
}
