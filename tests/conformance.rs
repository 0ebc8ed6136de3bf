//! Conformance suite: each test runs against the embedded broker by default and against real
//! Kafka when KAFKA_BOOTSTRAP_SERVERS is set, with the same assertions. What Kafka does is
//! the specification; the embedded broker must be indistinguishable here.

#[path = "conformance/wire.rs"]
mod wire;

#[path = "conformance/data.rs"]
mod data;
#[path = "conformance/groups.rs"]
mod groups;
#[path = "conformance/topics.rs"]
mod topics;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::*;
use wire::*;

const NONE: i16 = 0;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_ID: i16 = 100;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const REBALANCE_IN_PROGRESS: i16 = 27;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_REQUEST: i16 = 42;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_PARTITIONS: i16 = 37;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;

async fn topic(kafka: &TestKafka, prefix: &str, partitions: i32) -> String {
    let name = unique_name(prefix);
    kafka.create_topic(&name, partitions).await;
    name
}
