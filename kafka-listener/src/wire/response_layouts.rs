//! The wire layout of every response our client decodes, as Kafka's message definitions give
//! them (`clients/src/main/resources/common/message/*Response.json`), checked against what
//! kafka-protocol 0.18's decoders read at each version: the group client's and fetcher's
//! APIs, SASL, and the admin APIs the embedded broker serves (which tests and the embedded
//! broker's own handle send through [`BrokerConnection`](crate::client::BrokerConnection)).
//! Versions run over the whole range kafka-protocol decodes, not only the ones we send today.

use kafka_protocol::messages::ApiKey;

use super::layout::{
    all, between, fields, since, tagged_since, until, Message, Struct, Ty, BOOL, INT16, INT32,
    INT32S, INT64, INT8, UUID,
};

const STRING: Ty = Ty::String;
const BYTES: Ty = Ty::Bytes;

/// A response body never encoded flexibly (SaslHandshake).
const NEVER_FLEXIBLE: i16 = i16::MAX;

/// The layout of `api`'s response, or `None` for an API the client has no layout for (whose
/// responses it therefore refuses to decode).
pub(super) fn response_layout(api: ApiKey) -> Option<&'static Message> {
    Some(match api {
        ApiKey::Produce => &PRODUCE,
        ApiKey::Fetch => &FETCH,
        ApiKey::ListOffsets => &LIST_OFFSETS,
        ApiKey::Metadata => &METADATA,
        ApiKey::OffsetCommit => &OFFSET_COMMIT,
        ApiKey::OffsetFetch => &OFFSET_FETCH,
        ApiKey::FindCoordinator => &FIND_COORDINATOR,
        ApiKey::JoinGroup => &JOIN_GROUP,
        ApiKey::Heartbeat => &HEARTBEAT,
        ApiKey::LeaveGroup => &LEAVE_GROUP,
        ApiKey::SyncGroup => &SYNC_GROUP,
        ApiKey::DescribeGroups => &DESCRIBE_GROUPS,
        ApiKey::ListGroups => &LIST_GROUPS,
        ApiKey::SaslHandshake => &SASL_HANDSHAKE,
        ApiKey::ApiVersions => &API_VERSIONS,
        ApiKey::CreateTopics => &CREATE_TOPICS,
        ApiKey::DeleteTopics => &DELETE_TOPICS,
        ApiKey::InitProducerId => &INIT_PRODUCER_ID,
        ApiKey::AddPartitionsToTxn => &ADD_PARTITIONS_TO_TXN,
        ApiKey::EndTxn => &END_TXN,
        ApiKey::OffsetForLeaderEpoch => &OFFSET_FOR_LEADER_EPOCH,
        ApiKey::DescribeConfigs => &DESCRIBE_CONFIGS,
        ApiKey::SaslAuthenticate => &SASL_AUTHENTICATE,
        ApiKey::CreatePartitions => &CREATE_PARTITIONS,
        ApiKey::DeleteGroups => &DELETE_GROUPS,
        _ => return None,
    })
}

// Shared by Produce (tag 0 from v10) and Fetch (tag 0 from v16): the brokers a client should
// move to, node id, host, port, rack.
static NODE_ENDPOINT: Struct = fields(&[all(INT32), all(STRING), all(INT32), all(STRING)]);
// Leader id and epoch, in the tagged `current_leader` of Produce and Fetch partitions.
static LEADER_ID_AND_EPOCH: Struct = fields(&[all(INT32), all(INT32)]);

static PRODUCE_RECORD_ERROR: Struct = fields(&[all(INT32), all(STRING)]);
static PRODUCE_PARTITION: Struct = Struct {
    fields: &[
        all(INT32),
        all(INT16),
        all(INT64),
        all(INT64),
        since(5, INT64),
        since(8, Ty::Array(&PRODUCE_RECORD_ERROR)),
        since(8, STRING),
    ],
    tagged: &[tagged_since(0, 10, Ty::Struct(&LEADER_ID_AND_EPOCH))],
};
static PRODUCE_TOPIC: Struct = fields(&[
    until(12, STRING),
    since(13, UUID),
    all(Ty::Array(&PRODUCE_PARTITION)),
]);
static PRODUCE: Message = Message {
    flexible_from: 9,
    body: Struct {
        fields: &[all(Ty::Array(&PRODUCE_TOPIC)), all(INT32)],
        tagged: &[tagged_since(0, 10, Ty::Array(&NODE_ENDPOINT))],
    },
};

// Fetch: record batches are the partition's `records` bytes, length-checked like any bytes.
static FETCH_ABORTED_TRANSACTION: Struct = fields(&[all(INT64), all(INT64)]);
static FETCH_EPOCH_END_OFFSET: Struct = fields(&[all(INT32), all(INT64)]);
static FETCH_SNAPSHOT_ID: Struct = fields(&[all(INT64), all(INT32)]);
static FETCH_PARTITION: Struct = Struct {
    fields: &[
        all(INT32),
        all(INT16),
        all(INT64),
        all(INT64),
        since(5, INT64),
        all(Ty::Array(&FETCH_ABORTED_TRANSACTION)),
        since(11, INT32),
        all(BYTES),
    ],
    tagged: &[
        tagged_since(0, 0, Ty::Struct(&FETCH_EPOCH_END_OFFSET)),
        tagged_since(1, 0, Ty::Struct(&LEADER_ID_AND_EPOCH)),
        tagged_since(2, 0, Ty::Struct(&FETCH_SNAPSHOT_ID)),
    ],
};
static FETCH_TOPIC: Struct = fields(&[
    until(12, STRING),
    since(13, UUID),
    all(Ty::Array(&FETCH_PARTITION)),
]);
static FETCH: Message = Message {
    flexible_from: 12,
    body: Struct {
        fields: &[
            all(INT32),
            since(7, INT16),
            since(7, INT32),
            all(Ty::Array(&FETCH_TOPIC)),
        ],
        tagged: &[tagged_since(0, 16, Ty::Array(&NODE_ENDPOINT))],
    },
};

static LIST_OFFSETS_PARTITION: Struct = fields(&[
    all(INT32),
    all(INT16),
    all(INT64),
    all(INT64),
    since(4, INT32),
]);
static LIST_OFFSETS_TOPIC: Struct = fields(&[all(STRING), all(Ty::Array(&LIST_OFFSETS_PARTITION))]);
static LIST_OFFSETS: Message = Message {
    flexible_from: 6,
    body: fields(&[since(2, INT32), all(Ty::Array(&LIST_OFFSETS_TOPIC))]),
};

static METADATA_BROKER: Struct = fields(&[all(INT32), all(STRING), all(INT32), since(1, STRING)]);
static METADATA_PARTITION: Struct = fields(&[
    all(INT16),
    all(INT32),
    all(INT32),
    since(7, INT32),
    all(INT32S),
    all(INT32S),
    since(5, INT32S),
]);
static METADATA_TOPIC: Struct = fields(&[
    all(INT16),
    all(STRING),
    since(10, UUID),
    since(1, BOOL),
    all(Ty::Array(&METADATA_PARTITION)),
    since(8, INT32),
]);
static METADATA: Message = Message {
    flexible_from: 9,
    body: fields(&[
        since(3, INT32),
        all(Ty::Array(&METADATA_BROKER)),
        since(2, STRING),
        since(1, INT32),
        all(Ty::Array(&METADATA_TOPIC)),
        between(8, 10, INT32),
        since(13, INT16),
    ]),
};

static OFFSET_COMMIT_PARTITION: Struct = fields(&[all(INT32), all(INT16)]);
static OFFSET_COMMIT_TOPIC: Struct = fields(&[
    until(9, STRING),
    since(10, UUID),
    all(Ty::Array(&OFFSET_COMMIT_PARTITION)),
]);
static OFFSET_COMMIT: Message = Message {
    flexible_from: 8,
    body: fields(&[since(3, INT32), all(Ty::Array(&OFFSET_COMMIT_TOPIC))]),
};

// OffsetFetch: one group's topics (v1-7) or a batch of groups (v8+), each shape its own
// structs in Kafka's definition.
static OFFSET_FETCH_PARTITION: Struct = fields(&[
    all(INT32),
    all(INT64),
    since(5, INT32),
    all(STRING),
    all(INT16),
]);
static OFFSET_FETCH_TOPIC: Struct = fields(&[all(STRING), all(Ty::Array(&OFFSET_FETCH_PARTITION))]);
static OFFSET_FETCH_GROUP_PARTITION: Struct =
    fields(&[all(INT32), all(INT64), all(INT32), all(STRING), all(INT16)]);
static OFFSET_FETCH_GROUP_TOPIC: Struct = fields(&[
    until(9, STRING),
    since(10, UUID),
    all(Ty::Array(&OFFSET_FETCH_GROUP_PARTITION)),
]);
static OFFSET_FETCH_GROUP: Struct = fields(&[
    all(STRING),
    all(Ty::Array(&OFFSET_FETCH_GROUP_TOPIC)),
    all(INT16),
]);
static OFFSET_FETCH: Message = Message {
    flexible_from: 6,
    body: fields(&[
        since(3, INT32),
        until(7, Ty::Array(&OFFSET_FETCH_TOPIC)),
        between(2, 7, INT16),
        since(8, Ty::Array(&OFFSET_FETCH_GROUP)),
    ]),
};

// FindCoordinator: one coordinator (v0-3) or one per requested key (v4+).
static FIND_COORDINATOR_COORDINATOR: Struct = fields(&[
    all(STRING),
    all(INT32),
    all(STRING),
    all(INT32),
    all(INT16),
    all(STRING),
]);
static FIND_COORDINATOR: Message = Message {
    flexible_from: 3,
    body: fields(&[
        since(1, INT32),
        until(3, INT16),
        between(1, 3, STRING),
        until(3, INT32),
        until(3, STRING),
        until(3, INT32),
        since(4, Ty::Array(&FIND_COORDINATOR_COORDINATOR)),
    ]),
};

static JOIN_GROUP_MEMBER: Struct = fields(&[all(STRING), since(5, STRING), all(BYTES)]);
static JOIN_GROUP: Message = Message {
    flexible_from: 6,
    body: fields(&[
        since(2, INT32),
        all(INT16),
        all(INT32),
        since(7, STRING),
        all(STRING),
        all(STRING),
        since(9, BOOL),
        all(STRING),
        all(Ty::Array(&JOIN_GROUP_MEMBER)),
    ]),
};

static HEARTBEAT: Message = Message {
    flexible_from: 4,
    body: fields(&[since(1, INT32), all(INT16)]),
};

static LEAVE_GROUP_MEMBER: Struct = fields(&[all(STRING), all(STRING), all(INT16)]);
static LEAVE_GROUP: Message = Message {
    flexible_from: 4,
    body: fields(&[
        since(1, INT32),
        all(INT16),
        since(3, Ty::Array(&LEAVE_GROUP_MEMBER)),
    ]),
};

static SYNC_GROUP: Message = Message {
    flexible_from: 4,
    body: fields(&[
        since(1, INT32),
        all(INT16),
        since(5, STRING),
        since(5, STRING),
        all(BYTES),
    ]),
};

static DESCRIBE_GROUPS_MEMBER: Struct = fields(&[
    all(STRING),
    since(4, STRING),
    all(STRING),
    all(STRING),
    all(BYTES),
    all(BYTES),
]);
static DESCRIBE_GROUPS_GROUP: Struct = fields(&[
    all(INT16),
    since(6, STRING),
    all(STRING),
    all(STRING),
    all(STRING),
    all(STRING),
    all(Ty::Array(&DESCRIBE_GROUPS_MEMBER)),
    since(3, INT32),
]);
static DESCRIBE_GROUPS: Message = Message {
    flexible_from: 5,
    body: fields(&[since(1, INT32), all(Ty::Array(&DESCRIBE_GROUPS_GROUP))]),
};

static LIST_GROUPS_GROUP: Struct =
    fields(&[all(STRING), all(STRING), since(4, STRING), since(5, STRING)]);
static LIST_GROUPS: Message = Message {
    flexible_from: 3,
    body: fields(&[
        since(1, INT32),
        all(INT16),
        all(Ty::Array(&LIST_GROUPS_GROUP)),
    ]),
};

static SASL_HANDSHAKE: Message = Message {
    flexible_from: NEVER_FLEXIBLE,
    body: fields(&[all(INT16), all(Ty::StringArray)]),
};

// ApiVersions: the supported and finalized feature lists are tagged, with the same shape
// (name, two version levels).
static API_VERSIONS_API: Struct = fields(&[all(INT16), all(INT16), all(INT16)]);
static API_VERSIONS_FEATURE: Struct = fields(&[all(STRING), all(INT16), all(INT16)]);
static API_VERSIONS: Message = Message {
    flexible_from: 3,
    body: Struct {
        fields: &[
            all(INT16),
            all(Ty::Array(&API_VERSIONS_API)),
            since(1, INT32),
        ],
        tagged: &[
            tagged_since(0, 0, Ty::Array(&API_VERSIONS_FEATURE)),
            tagged_since(1, 0, INT64),
            tagged_since(2, 0, Ty::Array(&API_VERSIONS_FEATURE)),
            tagged_since(3, 0, BOOL),
        ],
    },
};

static CREATE_TOPICS_CONFIG: Struct =
    fields(&[all(STRING), all(STRING), all(BOOL), all(INT8), all(BOOL)]);
static CREATE_TOPICS_TOPIC: Struct = Struct {
    fields: &[
        all(STRING),
        since(7, UUID),
        all(INT16),
        all(STRING),
        since(5, INT32),
        since(5, INT16),
        since(5, Ty::Array(&CREATE_TOPICS_CONFIG)),
    ],
    tagged: &[tagged_since(0, 0, INT16)],
};
static CREATE_TOPICS: Message = Message {
    flexible_from: 5,
    body: fields(&[all(INT32), all(Ty::Array(&CREATE_TOPICS_TOPIC))]),
};

static DELETE_TOPICS_TOPIC: Struct =
    fields(&[all(STRING), since(6, UUID), all(INT16), since(5, STRING)]);
static DELETE_TOPICS: Message = Message {
    flexible_from: 4,
    body: fields(&[all(INT32), all(Ty::Array(&DELETE_TOPICS_TOPIC))]),
};

static INIT_PRODUCER_ID: Message = Message {
    flexible_from: 2,
    body: fields(&[
        all(INT32),
        all(INT16),
        all(INT64),
        all(INT16),
        since(6, INT64),
        since(6, INT16),
    ]),
};

// AddPartitionsToTxn: results by topic (v0-3), or by transaction, each by topic (v4+).
static ADD_PARTITIONS_TO_TXN_PARTITION: Struct = fields(&[all(INT32), all(INT16)]);
static ADD_PARTITIONS_TO_TXN_TOPIC: Struct = fields(&[
    all(STRING),
    all(Ty::Array(&ADD_PARTITIONS_TO_TXN_PARTITION)),
]);
static ADD_PARTITIONS_TO_TXN_TRANSACTION: Struct =
    fields(&[all(STRING), all(Ty::Array(&ADD_PARTITIONS_TO_TXN_TOPIC))]);
static ADD_PARTITIONS_TO_TXN: Message = Message {
    flexible_from: 3,
    body: fields(&[
        all(INT32),
        since(4, INT16),
        since(4, Ty::Array(&ADD_PARTITIONS_TO_TXN_TRANSACTION)),
        until(3, Ty::Array(&ADD_PARTITIONS_TO_TXN_TOPIC)),
    ]),
};

static END_TXN: Message = Message {
    flexible_from: 3,
    body: fields(&[all(INT32), all(INT16), since(5, INT64), since(5, INT16)]),
};

static OFFSET_FOR_LEADER_EPOCH_PARTITION: Struct =
    fields(&[all(INT16), all(INT32), all(INT32), all(INT64)]);
static OFFSET_FOR_LEADER_EPOCH_TOPIC: Struct = fields(&[
    all(STRING),
    all(Ty::Array(&OFFSET_FOR_LEADER_EPOCH_PARTITION)),
]);
static OFFSET_FOR_LEADER_EPOCH: Message = Message {
    flexible_from: 4,
    body: fields(&[all(INT32), all(Ty::Array(&OFFSET_FOR_LEADER_EPOCH_TOPIC))]),
};

static DESCRIBE_CONFIGS_SYNONYM: Struct = fields(&[all(STRING), all(STRING), all(INT8)]);
static DESCRIBE_CONFIGS_CONFIG: Struct = fields(&[
    all(STRING),
    all(STRING),
    all(BOOL),
    all(INT8),
    all(BOOL),
    all(Ty::Array(&DESCRIBE_CONFIGS_SYNONYM)),
    since(3, INT8),
    since(3, STRING),
]);
static DESCRIBE_CONFIGS_RESULT: Struct = fields(&[
    all(INT16),
    all(STRING),
    all(INT8),
    all(STRING),
    all(Ty::Array(&DESCRIBE_CONFIGS_CONFIG)),
]);
static DESCRIBE_CONFIGS: Message = Message {
    flexible_from: 4,
    body: fields(&[all(INT32), all(Ty::Array(&DESCRIBE_CONFIGS_RESULT))]),
};

static SASL_AUTHENTICATE: Message = Message {
    flexible_from: 2,
    body: fields(&[all(INT16), all(STRING), all(BYTES), since(1, INT64)]),
};

static CREATE_PARTITIONS_TOPIC: Struct = fields(&[all(STRING), all(INT16), all(STRING)]);
static CREATE_PARTITIONS: Message = Message {
    flexible_from: 2,
    body: fields(&[all(INT32), all(Ty::Array(&CREATE_PARTITIONS_TOPIC))]),
};

static DELETE_GROUPS_GROUP: Struct = fields(&[all(STRING), all(INT16)]);
static DELETE_GROUPS: Message = Message {
    flexible_from: 2,
    body: fields(&[all(INT32), all(Ty::Array(&DELETE_GROUPS_GROUP))]),
};
