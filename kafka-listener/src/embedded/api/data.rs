//! The data plane: Produce, Fetch, ListOffsets, OffsetForLeaderEpoch.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceRequest, ProduceResponse,
    ProducerId,
};
use tokio::time::Instant;

use crate::embedded::cluster::BrokerContext;
use crate::embedded::codes;
use crate::embedded::log::PartitionLog;
use crate::embedded::topics::Topic;

/// A partition this broker leads, or the error code Kafka gives for it.
fn led_partition(
    ctx: &BrokerContext,
    topic: Option<&Arc<Topic>>,
    index: i32,
) -> Result<Arc<PartitionLog>, i16> {
    let topic = topic.ok_or(codes::UNKNOWN_TOPIC_OR_PARTITION)?;
    let log = topic
        .partition(index)
        .ok_or(codes::UNKNOWN_TOPIC_OR_PARTITION)?;
    if ctx.cluster.topics.leader(topic, index) != ctx.node_id {
        return Err(codes::NOT_LEADER_OR_FOLLOWER);
    }
    Ok(log)
}

/// Produce. `None` for acks=0: Kafka sends no response then.
pub(crate) fn produce(
    ctx: &BrokerContext,
    request: ProduceRequest,
    version: i16,
) -> Option<ProduceResponse> {
    let acks_valid = matches!(request.acks, -1..=1);
    let mut responses = Vec::new();
    for topic_data in request.topic_data {
        let (topic, unknown_code) = if version >= 13 {
            (
                ctx.cluster.topics.get_by_id(topic_data.topic_id),
                codes::UNKNOWN_TOPIC_ID,
            )
        } else {
            (
                ctx.cluster.topics.get(topic_data.name.as_str()),
                codes::UNKNOWN_TOPIC_OR_PARTITION,
            )
        };
        let mut partitions = Vec::new();
        for p in topic_data.partition_data {
            let mut response = PartitionProduceResponse::default()
                .with_index(p.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            let result = if !acks_valid {
                Err(codes::INVALID_REQUIRED_ACKS)
            } else if topic.is_none() {
                Err(unknown_code)
            } else {
                led_partition(ctx, topic.as_ref(), p.index).and_then(|log| {
                    let records = p.records.unwrap_or_default();
                    let base = log.append(&records).map_err(|e| e.code())?;
                    Ok((base, log.log_start_offset()))
                })
            };
            match result {
                Ok((base, start)) => {
                    response.base_offset = base;
                    response.log_start_offset = start;
                }
                Err(code) => response.error_code = code,
            }
            partitions.push(response);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_topic_id(topic_data.topic_id)
                .with_partition_responses(partitions),
        );
    }
    if request.acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}

/// Fetch: answers once `min_bytes` are available, an error occurs, or `max_wait_ms` passes;
/// waits on the partitions' append notifications, never by polling.
pub(crate) async fn fetch(
    ctx: &BrokerContext,
    request: FetchRequest,
    version: i16,
) -> FetchResponse {
    let deadline = Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let topics: Vec<Option<Arc<Topic>>> = request
        .topics
        .iter()
        .map(|t| {
            if version >= 13 {
                ctx.cluster.topics.get_by_id(t.topic_id)
            } else {
                ctx.cluster.topics.get(t.topic.as_str())
            }
        })
        .collect();
    loop {
        let logs: Vec<Arc<PartitionLog>> = request
            .topics
            .iter()
            .zip(&topics)
            .flat_map(|(t, topic)| {
                t.partitions
                    .iter()
                    .filter_map(move |p| topic.as_ref()?.partition(p.partition))
            })
            .collect();
        // Armed before reading, so an append between the read and the wait still wakes us.
        let mut waits: Vec<Pin<Box<tokio::sync::futures::Notified<'_>>>> = logs
            .iter()
            .map(|log| {
                let mut wait = Box::pin(log.appended());
                wait.as_mut().enable();
                wait
            })
            .collect();
        let (response, bytes, errors) = read_fetch(ctx, &request, &topics, version);
        if bytes >= request.min_bytes.max(0) as usize
            || errors
            || Instant::now() >= deadline
            || waits.is_empty()
        {
            return response;
        }
        let any_append = std::future::poll_fn(|cx| {
            if waits.iter_mut().any(|w| w.as_mut().poll(cx).is_ready()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        });
        if tokio::time::timeout_at(deadline, any_append).await.is_err() {
            return read_fetch(ctx, &request, &topics, version).0;
        }
    }
}

fn read_fetch(
    ctx: &BrokerContext,
    request: &FetchRequest,
    topics: &[Option<Arc<Topic>>],
    version: i16,
) -> (FetchResponse, usize, bool) {
    let mut remaining = request.max_bytes.max(0) as usize;
    let mut total = 0usize;
    let mut errors = false;
    let mut responses = Vec::new();
    for (t, topic) in request.topics.iter().zip(topics) {
        let mut partitions = Vec::new();
        for p in &t.partitions {
            let mut data = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_preferred_read_replica(BrokerId(-1))
                .with_records(Some(Bytes::new()));
            let unknown = if version >= 13 && topic.is_none() {
                codes::UNKNOWN_TOPIC_ID
            } else {
                codes::UNKNOWN_TOPIC_OR_PARTITION
            };
            match led_partition(ctx, topic.as_ref(), p.partition) {
                Err(code) => {
                    data.error_code = if topic.is_none() { unknown } else { code };
                    errors = true;
                }
                Ok(log) => {
                    let limit = (p.partition_max_bytes.max(0) as usize).min(remaining);
                    let read_committed = request.isolation_level == 1;
                    match log.read(p.fetch_offset, limit, total == 0, read_committed) {
                        None => {
                            data.error_code = codes::OFFSET_OUT_OF_RANGE;
                            data.high_watermark = log.high_watermark();
                            data.last_stable_offset = log.last_stable_offset();
                            data.log_start_offset = log.log_start_offset();
                            errors = true;
                        }
                        Some(read) => {
                            total += read.records.len();
                            remaining = remaining.saturating_sub(read.records.len());
                            data.high_watermark = read.high_watermark;
                            data.last_stable_offset = read.last_stable_offset;
                            data.log_start_offset = read.log_start_offset;
                            data.aborted_transactions = read.aborted.map(|aborted| {
                                aborted
                                    .into_iter()
                                    .map(|a| {
                                        AbortedTransaction::default()
                                            .with_producer_id(ProducerId(a.producer_id))
                                            .with_first_offset(a.first_offset)
                                    })
                                    .collect()
                            });
                            data.records = Some(read.records);
                        }
                    }
                }
            }
            partitions.push(data);
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_topic_id(t.topic_id)
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default().with_responses(responses),
        total,
        errors,
    )
}

/// ListOffsets: latest (-1), earliest (-2), max timestamp (-3), earliest local (-4), or the
/// first offset at or after a timestamp (batch max timestamps decide).
pub(crate) fn list_offsets(
    ctx: &BrokerContext,
    request: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    // Leader epochs exist from v4 on; an older response must leave the field at its default.
    let leader_epoch = if version >= 4 { 0 } else { -1 };
    // read_committed consumers see the log end at the last stable offset.
    let read_committed = request.isolation_level == 1;
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = ctx.cluster.topics.get(t.name.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    match led_partition(ctx, topic.as_ref(), p.partition_index) {
                        Err(code) => r.error_code = code,
                        Ok(log) => {
                            r.leader_epoch = leader_epoch;
                            match p.timestamp {
                                -1 if read_committed => r.offset = log.last_stable_offset(),
                                -1 => r.offset = log.high_watermark(),
                                -2 | -4 => r.offset = log.log_start_offset(),
                                -3 => {
                                    if let Some((offset, ts)) = log.max_timestamp() {
                                        r.offset = offset;
                                        r.timestamp = ts;
                                    }
                                }
                                ts if ts >= 0 => {
                                    if let Some((offset, found)) = log.offset_for_timestamp(ts) {
                                        r.offset = offset;
                                        r.timestamp = found;
                                    }
                                }
                                _ => r.leader_epoch = -1,
                            }
                        }
                    }
                    r
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// OffsetForLeaderEpoch: every partition has had one leader epoch, 0, which ends at the log end.
pub(crate) fn offset_for_leader_epoch(
    ctx: &BrokerContext,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let topic = ctx.cluster.topics.get(t.topic.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    match led_partition(ctx, topic.as_ref(), p.partition) {
                        Err(code) => r.error_code = code,
                        Ok(log) if p.leader_epoch == 0 => {
                            r.leader_epoch = 0;
                            r.end_offset = log.high_watermark();
                        }
                        Ok(_) => {}
                    }
                    r
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
