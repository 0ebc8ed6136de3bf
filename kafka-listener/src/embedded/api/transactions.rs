//! The transaction coordinator's requests: AddPartitionsToTxn (the client form, v0-3) and
//! EndTxn; InitProducerId lives with the admin requests.

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse,
};

use crate::embedded::cluster::BrokerContext;

/// AddPartitionsToTxn: every partition gets the request's error code, or its own.
pub(crate) fn add_partitions_to_txn(
    ctx: &BrokerContext,
    request: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let partitions: Vec<(String, i32)> = request
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|&p| (t.name.to_string(), p)))
        .collect();
    let codes = ctx
        .cluster
        .transactions
        .add_partitions(
            request.v3_and_below_transactional_id.as_str(),
            request.v3_and_below_producer_id.0,
            request.v3_and_below_producer_epoch,
            &partitions,
            &ctx.cluster.topics,
        )
        .unwrap_or_else(|code| vec![code; partitions.len()]);
    let mut codes = codes.into_iter();
    let results = request
        .v3_and_below_topics
        .into_iter()
        .map(|topic| {
            let results = topic
                .partitions
                .iter()
                .map(|&partition| {
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(partition)
                        .with_partition_error_code(codes.next().unwrap_or_default())
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(topic.name)
                .with_results_by_partition(results)
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
}

/// EndTxn: commit or abort markers on every partition of the transaction.
pub(crate) fn end_txn(ctx: &BrokerContext, request: EndTxnRequest) -> EndTxnResponse {
    let result = ctx.cluster.transactions.end(
        request.transactional_id.as_str(),
        request.producer_id.0,
        request.producer_epoch,
        request.committed,
        &ctx.cluster.topics,
    );
    EndTxnResponse::default()
        .with_error_code(result.err().unwrap_or_default())
        .with_producer_id(request.producer_id)
        .with_producer_epoch(request.producer_epoch)
}
