//! Routes each decoded request to the handler of its API family.

mod admin;
mod data;
mod groups;
mod transactions;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use super::cluster::BrokerContext;
use super::coordinator::ClientInfo;
use super::wire::DecodedRequest;

pub(crate) use admin::api_versions;

/// Handles one request; `None` when Kafka sends no response (Produce with acks=0).
pub(crate) async fn handle(
    ctx: &BrokerContext,
    request: DecodedRequest,
    client_host: &str,
) -> Option<ResponseKind> {
    let version = request.header.request_api_version;
    let client = ClientInfo {
        client_id: request
            .header
            .client_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        client_host: format!("/{client_host}"),
    };
    let response: ResponseKind = match request.body {
        RequestKind::ApiVersions(r) => admin::api_versions_request(&r, version).into(),
        RequestKind::Metadata(r) => admin::metadata(ctx, r, version).into(),
        RequestKind::CreateTopics(r) => admin::create_topics(ctx, r).into(),
        RequestKind::DeleteTopics(r) => admin::delete_topics(ctx, r, version).into(),
        RequestKind::CreatePartitions(r) => admin::create_partitions(ctx, r).into(),
        RequestKind::DescribeConfigs(r) => admin::describe_configs(ctx, r).into(),
        RequestKind::InitProducerId(r) => admin::init_producer_id(ctx, r).into(),
        RequestKind::AddPartitionsToTxn(r) => transactions::add_partitions_to_txn(ctx, r).into(),
        RequestKind::EndTxn(r) => transactions::end_txn(ctx, r).into(),
        RequestKind::Produce(r) => data::produce(ctx, r, version)?.into(),
        RequestKind::Fetch(r) => data::fetch(ctx, r, version).await.into(),
        RequestKind::ListOffsets(r) => data::list_offsets(ctx, r, version).into(),
        RequestKind::OffsetForLeaderEpoch(r) => data::offset_for_leader_epoch(ctx, r).into(),
        RequestKind::FindCoordinator(r) => groups::find_coordinator(ctx, r, version).into(),
        RequestKind::JoinGroup(r) => groups::join_group(ctx, r, version, client).await.into(),
        RequestKind::SyncGroup(r) => groups::sync_group(ctx, r, version).await.into(),
        RequestKind::Heartbeat(r) => groups::heartbeat(ctx, r).into(),
        RequestKind::LeaveGroup(r) => groups::leave_group(ctx, r, version).into(),
        RequestKind::OffsetCommit(r) => groups::offset_commit(ctx, r, version).into(),
        RequestKind::OffsetFetch(r) => groups::offset_fetch(ctx, r, version).into(),
        RequestKind::ListGroups(r) => groups::list_groups(ctx, r).into(),
        RequestKind::DescribeGroups(r) => groups::describe_groups(ctx, r, version).into(),
        RequestKind::DeleteGroups(r) => groups::delete_groups(ctx, r).into(),
        other => {
            // decode_request only lets advertised APIs through, and each has an arm above.
            tracing::error!(api = ?request.api, "request for an API without a handler");
            drop(other);
            return None;
        }
    };
    Some(response)
}
