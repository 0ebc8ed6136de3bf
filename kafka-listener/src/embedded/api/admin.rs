//! Cluster and topic administration: ApiVersions, Metadata (with auto-create), CreateTopics,
//! DeleteTopics, CreatePartitions, DescribeConfigs, InitProducerId.

use std::collections::HashSet;

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, BrokerId, CreatePartitionsRequest,
    CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse, InitProducerIdRequest,
    InitProducerIdResponse, MetadataRequest, MetadataResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::embedded::cluster::BrokerContext;
use crate::embedded::codes;
use crate::embedded::coordinator::sb;
use crate::embedded::topics::Topic;
use crate::embedded::wire::SUPPORTED_APIS;
use kafka_protocol::messages::ApiKey;

/// Kafka reports "authorized operations not requested" as `Integer.MIN_VALUE`.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Kafka's rule for `client_software_name` / `client_software_version` (ApiVersions v3+).
fn valid_software_field(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            edge(first)
                && edge(last)
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        }
        _ => false,
    }
}

/// ApiVersions; v3+ requests must name the client software as Kafka requires, or get
/// INVALID_REQUEST without a version list (as Kafka answers).
pub(crate) fn api_versions_request(
    request: &ApiVersionsRequest,
    version: i16,
) -> ApiVersionsResponse {
    if version >= 3
        && !(valid_software_field(request.client_software_name.as_str())
            && valid_software_field(request.client_software_version.as_str()))
    {
        return ApiVersionsResponse::default().with_error_code(codes::INVALID_REQUEST);
    }
    api_versions(codes::NONE)
}

/// ApiVersions: exactly the APIs and versions the broker implements.
pub(crate) fn api_versions(error_code: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_finalized_features_epoch(-1)
        .with_api_keys(
            SUPPORTED_APIS
                .iter()
                // SASL is answered by the connection (embedded::sasl) before requests reach the
                // handlers, on brokers started with it; advertised always, as Kafka does.
                .chain(&[
                    (ApiKey::SaslHandshake, 0, 1),
                    (ApiKey::SaslAuthenticate, 0, 2),
                ])
                .map(|&(api, min, max)| {
                    ApiVersion::default()
                        .with_api_key(api as i16)
                        .with_min_version(min)
                        .with_max_version(max)
                })
                .collect(),
        )
}

fn topic_metadata(ctx: &BrokerContext, topic: &Topic) -> MetadataResponseTopic {
    let partitions = (0..topic.partition_count())
        .map(|p| {
            let leader = BrokerId(ctx.cluster.topics.leader(topic, p));
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(leader)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![leader])
                .with_isr_nodes(vec![leader])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(sb(&topic.name))))
        .with_topic_id(topic.id)
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// Metadata. Missing topics are auto-created when both the request (v4+) and the broker allow
/// it. Like Kafka 4.x, the creating request still answers UNKNOWN_TOPIC_OR_PARTITION; the topic
/// appears from the next request on.
pub(crate) fn metadata(
    ctx: &BrokerContext,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let registry = &ctx.cluster.topics;
    let brokers = registry
        .brokers()
        .iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.node_id))
                .with_host(sb(&b.host))
                .with_port(b.port)
        })
        .collect();
    let all_topics = match &request.topics {
        None => true,
        Some(list) => version == 0 && list.is_empty(),
    };
    let topics = if all_topics {
        registry
            .all()
            .iter()
            .map(|t| topic_metadata(ctx, t))
            .collect()
    } else {
        let allow_create = (version < 4 || request.allow_auto_topic_creation)
            && ctx.cluster.settings.auto_create_topics;
        request
            .topics
            .unwrap_or_default()
            .into_iter()
            .map(|requested| {
                let found = match &requested.name {
                    Some(name) => registry.get(name.as_str()),
                    None => registry.get_by_id(requested.topic_id),
                };
                if let Some(topic) = found {
                    return topic_metadata(ctx, &topic);
                }
                let missing = MetadataResponseTopic::default()
                    .with_name(requested.name.clone())
                    .with_topic_id(requested.topic_id)
                    .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
                let Some(name) = requested.name else {
                    return missing.with_error_code(codes::UNKNOWN_TOPIC_ID);
                };
                if !allow_create {
                    return missing.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION);
                }
                match registry.create(
                    name.as_str(),
                    ctx.cluster.settings.default_partitions,
                    false,
                ) {
                    Ok(topic) => {
                        tracing::info!(topic = %topic.name, "auto-created topic");
                        missing.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION)
                    }
                    Err((codes::TOPIC_ALREADY_EXISTS, _)) => registry
                        .get(name.as_str())
                        .map(|t| topic_metadata(ctx, &t))
                        .unwrap_or_else(|| {
                            missing
                                .clone()
                                .with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION)
                        }),
                    Err((code, _)) => missing.with_error_code(code),
                }
            })
            .collect()
    };
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(sb(&ctx.cluster.cluster_id)))
        .with_controller_id(BrokerId(registry.brokers()[0].node_id))
        .with_topics(topics)
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

/// CreateTopics.
pub(crate) fn create_topics(
    ctx: &BrokerContext,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.to_string()))
        .map(|t| t.name.to_string())
        .collect();
    let broker_count = ctx.cluster.topics.brokers().len() as i16;
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let mut result = CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_num_partitions(-1)
                .with_replication_factor(-1);
            if duplicates.contains(t.name.as_str()) {
                return result
                    .with_error_code(codes::INVALID_REQUEST)
                    .with_error_message(Some(sb("Duplicate topic name.")));
            }
            let partitions = if !t.assignments.is_empty() {
                t.assignments.len() as i32
            } else if t.num_partitions == -1 {
                ctx.cluster.settings.default_partitions
            } else {
                t.num_partitions
            };
            let replication = if t.replication_factor == -1 { 1 } else { t.replication_factor };
            if replication < 1 || replication > broker_count {
                return result.with_error_code(codes::INVALID_REPLICATION_FACTOR).with_error_message(Some(sb(&format!(
                    "Unable to replicate the partition {replication} time(s): The target replication factor of {replication} cannot be reached because only {broker_count} broker(s) are registered."
                ))));
            }
            let log_append_time = match t
                .configs
                .iter()
                .find(|c| c.name.as_str() == "message.timestamp.type")
                .and_then(|c| c.value.as_ref())
                .map(|v| v.as_str())
            {
                None | Some("CreateTime") => false,
                Some("LogAppendTime") => true,
                Some(other) => {
                    return result.with_error_code(codes::INVALID_CONFIG).with_error_message(Some(
                        StrBytes::from_string(format!(
                            "Invalid value {other} for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"
                        )),
                    ))
                }
            };
            match ctx.cluster.topics.create_with(
                t.name.as_str(),
                partitions,
                log_append_time,
                request.validate_only,
            ) {
                Ok(topic) => {
                    tracing::info!(topic = %topic.name, partitions, "created topic");
                    result.topic_id = topic.id;
                    result.num_partitions = partitions;
                    result.replication_factor = replication;
                    result.configs = Some(Vec::new());
                    result
                }
                Err((code, message)) => result.with_error_code(code).with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

/// DeleteTopics (by name, or by id in v6).
pub(crate) fn delete_topics(
    ctx: &BrokerContext,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    let registry = &ctx.cluster.topics;
    let requested: Vec<(Option<TopicName>, uuid::Uuid)> = if version >= 6 {
        request
            .topics
            .into_iter()
            .map(|t| (t.name, t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|n| (Some(n), Default::default()))
            .collect()
    };
    let responses = requested
        .into_iter()
        .map(|(name, id)| {
            let topic = match &name {
                Some(n) => registry.get(n.as_str()),
                None => registry.get_by_id(id),
            };
            let result = DeletableTopicResult::default()
                .with_name(name.clone())
                .with_topic_id(id);
            match topic {
                Some(topic) => {
                    registry.delete(&topic.name);
                    tracing::info!(topic = %topic.name, "deleted topic");
                    result
                        .with_name(Some(TopicName(sb(&topic.name))))
                        .with_topic_id(topic.id)
                }
                None if name.is_some() => result.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION),
                None => result.with_error_code(codes::UNKNOWN_TOPIC_ID),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

/// CreatePartitions.
pub(crate) fn create_partitions(
    ctx: &BrokerContext,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let current = ctx
                .cluster
                .topics
                .get(t.name.as_str())
                .map(|topic| topic.partition_count());
            // Explicit replica assignments must cover exactly the new partitions.
            if let (Some(assignments), Some(current)) = (&t.assignments, current) {
                if assignments.len() as i32 != t.count - current {
                    return result
                        .with_error_code(codes::INVALID_REPLICA_ASSIGNMENT)
                        .with_error_message(Some(sb(&format!(
                        "Increasing the number of partitions by {} but {} assignments provided.",
                        t.count - current,
                        assignments.len()
                    ))));
                }
            }
            match ctx
                .cluster
                .topics
                .add_partitions(t.name.as_str(), t.count, request.validate_only)
            {
                Ok(()) => result,
                Err((code, message)) => result
                    .with_error_code(code)
                    .with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

/// DescribeConfigs resource types.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Config sources and types (Kafka's `DescribeConfigsResponse.ConfigSource` / `ConfigType`).
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;
const SOURCE_STATIC_BROKER: i8 = 4;
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

const TOPIC_CONFIGS: &[(&str, &str, i8)] = &[
    ("cleanup.policy", "delete", TYPE_LIST),
    ("compression.type", "producer", TYPE_STRING),
    ("max.message.bytes", "1048588", TYPE_INT),
    ("message.timestamp.type", "CreateTime", TYPE_STRING),
    ("min.insync.replicas", "1", TYPE_INT),
    ("retention.bytes", "-1", TYPE_LONG),
    ("retention.ms", "604800000", TYPE_LONG),
    ("segment.bytes", "1073741824", TYPE_INT),
    ("unclean.leader.election.enable", "false", TYPE_BOOLEAN),
];

/// DescribeConfigs for topics (Kafka's defaults; topics here take no overrides) and brokers.
pub(crate) fn describe_configs(
    ctx: &BrokerContext,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let settings = &ctx.cluster.settings;
    let broker_configs: Vec<(&str, String, i8)> = vec![
        (
            "auto.create.topics.enable",
            settings.auto_create_topics.to_string(),
            TYPE_BOOLEAN,
        ),
        ("node.id", ctx.node_id.to_string(), TYPE_INT),
        (
            "num.partitions",
            settings.default_partitions.to_string(),
            TYPE_INT,
        ),
        ("offsets.topic.num.partitions", "50".to_owned(), TYPE_INT),
    ];
    let results = request
        .resources
        .into_iter()
        .map(|r| {
            let mut result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let wanted = |name: &str| {
                r.configuration_keys
                    .as_ref()
                    .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
            };
            let entry = |name: &str, value: &str, source: i8, config_type: i8| {
                DescribeConfigsResourceResult::default()
                    .with_name(sb(name))
                    .with_value(Some(sb(value)))
                    .with_config_source(source)
                    .with_config_type(config_type)
            };
            match r.resource_type {
                RESOURCE_TOPIC if ctx.cluster.topics.get(r.resource_name.as_str()).is_some() => {
                    let log_append_time = ctx
                        .cluster
                        .topics
                        .get(r.resource_name.as_str())
                        .is_some_and(|t| t.log_append_time);
                    result.configs = TOPIC_CONFIGS
                        .iter()
                        .filter(|(n, _, _)| wanted(n))
                        .map(|&(n, v, t)| match n {
                            "message.timestamp.type" if log_append_time => {
                                entry(n, "LogAppendTime", SOURCE_TOPIC, t)
                            }
                            _ => entry(n, v, SOURCE_DEFAULT, t),
                        })
                        .collect();
                }
                RESOURCE_TOPIC => {
                    result.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION;
                    result.error_message =
                        Some(sb(&format!("Topic '{}' does not exist.", r.resource_name)));
                }
                RESOURCE_BROKER
                    if r.resource_name.is_empty()
                        || r.resource_name.as_str() == ctx.node_id.to_string() =>
                {
                    result.configs = broker_configs
                        .iter()
                        .filter(|(n, _, _)| wanted(n))
                        .map(|(n, v, t)| entry(n, v, SOURCE_STATIC_BROKER, *t))
                        .collect();
                }
                _ => {
                    result.error_code = codes::INVALID_REQUEST;
                    result.error_message =
                        Some(sb("Unexpected resource type or broker id for this broker."));
                }
            }
            result
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// InitProducerId: a fresh producer id for idempotent producers (transactions are not
/// implemented; transactional ids get an id too, so `enable.idempotence` clients start).
pub(crate) fn init_producer_id(
    ctx: &BrokerContext,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let transactional_id = request.transactional_id.as_ref().map(|id| id.as_str());
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1)
        .with_ongoing_txn_producer_id(ProducerId(-1))
        .with_ongoing_txn_producer_epoch(-1);
    match ctx
        .cluster
        .transactions
        .init_producer(transactional_id, &ctx.cluster.topics)
    {
        Ok((id, epoch)) => response
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(code) => response.with_error_code(code),
    }
}
