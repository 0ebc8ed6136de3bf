//! Start-up: select and validate listeners, prepare topics, start each listener's consumers.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::running::{ListenerRuntime, RunningApp};
use super::topics::{create_topics, missing_topics};
use super::App;
use crate::config::{AckMode, AutoOffsetReset, KafkaProperties};
use crate::container::{
    ack_mode_policy, fetch_settings_for, record_dispatch, run_member, worker_settings_for,
    MemberEnvironment, MemberSettings,
};
use crate::extract::ListenerInfo;
use crate::group::{self, GroupConfig, GroupMember};
use crate::registry::{
    self, canonical_ack_mode, ListenerDefaults, ListenerHandler, ListenerSpec, SpecValue,
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
        shutdown_timeout,
    } = app;
    for warning in properties.warnings() {
        tracing::warn!(%warning, "configuration");
    }
    let specs = select_listeners(listeners.as_deref())?;
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
    let mut runtimes = Vec::new();
    for (spec, plan) in plans {
        let ListenerHandler::Record(handler) = spec.handler else {
            return Err(Error::Unsupported {
                listener: spec.location(),
                feature: "a batch listener",
            });
        };
        let dispatch = record_dispatch(
            handler,
            ListenerInfo::new(spec.id(), Some(plan.group.group_id.as_str())),
            state.clone(),
        );
        let mut runtime = ListenerRuntime::new(spec.id());
        for n in 0..plan.concurrency {
            let member_connection = connection
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
                    poll_timeout: properties.listener.poll_timeout,
                    error_handler: error_handler.clone(),
                    max_poll_interval: plan.group.max_poll_interval,
                },
                dispatch.clone(),
                MemberEnvironment {
                    data_plane: Arc::clone(&data_plane),
                    shutdown: shutdown.clone(),
                    events: events.clone(),
                },
                control_tx,
            ));
            runtime.add_member(task, control_rx.await.ok());
        }
        tracing::info!(
            listener = spec.id(),
            group = %plan.group.group_id,
            topics = ?plan.topics,
            concurrency = plan.concurrency,
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
        let concurrency = match spec.concurrency {
            Some(SpecValue::Literal(n)) => n,
            Some(SpecValue::Placeholder(text)) => {
                let value = properties.resolve_placeholders(text)?;
                value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        invalid(
                            "concurrency",
                            value,
                            "expected a positive whole number".into(),
                        )
                    })?
            }
            None => properties.listener.concurrency.unwrap_or(1),
        }
        .max(1);
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
