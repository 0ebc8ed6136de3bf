//! Which requests a fault rule applies to: an API, and optionally a group, a topic, a client id
//! or the broker that receives the request.

use kafka_protocol::messages::{ApiKey, RequestKind};

use crate::embedded::cluster::BrokerContext;
use crate::embedded::wire::DecodedRequest;

/// The requests one rule matches; `None` fields match anything.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) api: ApiKey,
    pub(crate) group: Option<String>,
    pub(crate) topic: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) broker: Option<i32>,
}

impl Scope {
    pub(crate) fn api(api: ApiKey) -> Self {
        Self {
            api,
            group: None,
            topic: None,
            client_id: None,
            broker: None,
        }
    }

    /// Whether `request`, received by the broker of `ctx`, is in this scope. A request naming
    /// several groups or topics matches when any of them is the one asked for.
    pub(crate) fn matches(&self, ctx: &BrokerContext, request: &DecodedRequest) -> bool {
        request.api == self.api
            && self.broker.is_none_or(|b| b == ctx.node_id)
            && self
                .client_id
                .as_deref()
                .is_none_or(|c| request.header.client_id.as_ref().map(|id| id.as_str()) == Some(c))
            && self
                .group
                .as_deref()
                .is_none_or(|g| groups_of(request).contains(&g))
            && self
                .topic
                .as_deref()
                .is_none_or(|t| topics_of(ctx, request).iter().any(|named| named == t))
    }
}

/// The group ids (or coordinator keys) a request names.
fn groups_of(request: &DecodedRequest) -> Vec<&str> {
    let version = request.header.request_api_version;
    match &request.body {
        RequestKind::FindCoordinator(r) if version >= 4 => {
            r.coordinator_keys.iter().map(|k| k.as_str()).collect()
        }
        RequestKind::FindCoordinator(r) => vec![r.key.as_str()],
        RequestKind::JoinGroup(r) => vec![r.group_id.as_str()],
        RequestKind::SyncGroup(r) => vec![r.group_id.as_str()],
        RequestKind::Heartbeat(r) => vec![r.group_id.as_str()],
        RequestKind::LeaveGroup(r) => vec![r.group_id.as_str()],
        RequestKind::OffsetCommit(r) => vec![r.group_id.as_str()],
        RequestKind::OffsetFetch(r) if version >= 8 => {
            r.groups.iter().map(|g| g.group_id.as_str()).collect()
        }
        RequestKind::OffsetFetch(r) => vec![r.group_id.as_str()],
        RequestKind::DescribeGroups(r) => r.groups.iter().map(|g| g.as_str()).collect(),
        _ => Vec::new(),
    }
}

/// The topic names a request names (topic ids resolved through the cluster).
fn topics_of(ctx: &BrokerContext, request: &DecodedRequest) -> Vec<String> {
    let by_id = |id| {
        ctx.cluster
            .topics
            .get_by_id(id)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let version = request.header.request_api_version;
    match &request.body {
        RequestKind::Fetch(r) if version >= 13 => {
            r.topics.iter().map(|t| by_id(t.topic_id)).collect()
        }
        RequestKind::Fetch(r) => r.topics.iter().map(|t| t.topic.to_string()).collect(),
        RequestKind::Produce(r) if version >= 13 => {
            r.topic_data.iter().map(|t| by_id(t.topic_id)).collect()
        }
        RequestKind::Produce(r) => r.topic_data.iter().map(|t| t.name.to_string()).collect(),
        RequestKind::ListOffsets(r) => r.topics.iter().map(|t| t.name.to_string()).collect(),
        RequestKind::Metadata(r) => r
            .topics
            .iter()
            .flatten()
            .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
            .collect(),
        RequestKind::OffsetCommit(r) => r.topics.iter().map(|t| t.name.to_string()).collect(),
        RequestKind::OffsetFetch(r) if version >= 8 => r
            .groups
            .iter()
            .flat_map(|g| g.topics.iter().flatten())
            .map(|t| t.name.to_string())
            .collect(),
        RequestKind::OffsetFetch(r) => r
            .topics
            .iter()
            .flatten()
            .map(|t| t.name.to_string())
            .collect(),
        _ => Vec::new(),
    }
}
