//! The wire layout of every request the embedded broker serves, as Kafka's message
//! definitions give them (`clients/src/main/resources/common/message/*Request.json`): the
//! broker walks each request along its layout before decoding it.

use kafka_protocol::messages::ApiKey;

use super::layout::{
    all, between, fields, since, until, Message, Struct, TaggedField, Ty, Versions, BOOL, INT16,
    INT32, INT32S, INT64, INT8, UUID,
};

/// The layout of `api`'s request, for every API the embedded broker serves
/// (`embedded::wire::SUPPORTED_APIS`).
pub(super) fn request_layout(api: ApiKey) -> Option<&'static Message> {
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
        ApiKey::ApiVersions => &API_VERSIONS,
        ApiKey::CreateTopics => &CREATE_TOPICS,
        ApiKey::DeleteTopics => &DELETE_TOPICS,
        ApiKey::InitProducerId => &INIT_PRODUCER_ID,
        ApiKey::AddPartitionsToTxn => &ADD_PARTITIONS_TO_TXN,
        ApiKey::EndTxn => &END_TXN,
        ApiKey::OffsetForLeaderEpoch => &OFFSET_FOR_LEADER_EPOCH,
        ApiKey::DescribeConfigs => &DESCRIBE_CONFIGS,
        ApiKey::CreatePartitions => &CREATE_PARTITIONS,
        ApiKey::DeleteGroups => &DELETE_GROUPS,
        _ => return None,
    })
}

// Produce: transactional id, acks, timeout, then topics of partitions of records.
static PRODUCE_PARTITION: Struct = fields(&[all(INT32), all(Ty::Bytes)]);
static PRODUCE_TOPIC: Struct = fields(&[
    until(12, Ty::String),
    since(13, UUID),
    all(Ty::Array(&PRODUCE_PARTITION)),
]);
static PRODUCE: Message = Message {
    flexible_from: 9,
    body: fields(&[
        all(Ty::String),
        all(INT16),
        all(INT32),
        all(Ty::Array(&PRODUCE_TOPIC)),
    ]),
};

// Fetch: the only served request whose codec decodes tagged fields by tag.
static FETCH_PARTITION: Struct = Struct {
    fields: &[
        all(INT32),
        since(9, INT32),
        all(INT64),
        since(12, INT32),
        since(5, INT64),
        all(INT32),
    ],
    tagged: &[
        TaggedField {
            tag: 0,
            versions: Versions {
                min: 17,
                max: i16::MAX,
            },
            ty: UUID,
        },
        TaggedField {
            tag: 1,
            versions: Versions {
                min: 18,
                max: i16::MAX,
            },
            ty: INT64,
        },
    ],
};
static FETCH_TOPIC: Struct = fields(&[
    until(12, Ty::String),
    since(13, UUID),
    all(Ty::Array(&FETCH_PARTITION)),
]);
static FETCH_FORGOTTEN_TOPIC: Struct = fields(&[
    between(7, 12, Ty::String),
    since(13, UUID),
    since(7, INT32S),
]);
static FETCH_REPLICA_STATE: Struct = fields(&[all(INT32), all(INT64)]);
static FETCH: Message = Message {
    flexible_from: 12,
    body: Struct {
        fields: &[
            until(14, INT32),
            all(INT32),
            all(INT32),
            since(3, INT32),
            since(4, INT8),
            since(7, INT32),
            since(7, INT32),
            all(Ty::Array(&FETCH_TOPIC)),
            since(7, Ty::Array(&FETCH_FORGOTTEN_TOPIC)),
            since(11, Ty::String),
        ],
        tagged: &[
            TaggedField {
                tag: 0,
                versions: Versions {
                    min: 12,
                    max: i16::MAX,
                },
                ty: Ty::String,
            },
            TaggedField {
                tag: 1,
                versions: Versions {
                    min: 15,
                    max: i16::MAX,
                },
                ty: Ty::Struct(&FETCH_REPLICA_STATE),
            },
        ],
    },
};

static LIST_OFFSETS_PARTITION: Struct = fields(&[all(INT32), since(4, INT32), all(INT64)]);
static LIST_OFFSETS_TOPIC: Struct =
    fields(&[all(Ty::String), all(Ty::Array(&LIST_OFFSETS_PARTITION))]);
static LIST_OFFSETS: Message = Message {
    flexible_from: 6,
    body: fields(&[
        all(INT32),
        since(2, INT8),
        all(Ty::Array(&LIST_OFFSETS_TOPIC)),
        since(10, INT32),
    ]),
};

static METADATA_TOPIC: Struct = fields(&[since(10, UUID), all(Ty::String)]);
static METADATA: Message = Message {
    flexible_from: 9,
    body: fields(&[
        all(Ty::Array(&METADATA_TOPIC)),
        since(4, BOOL),
        between(8, 10, BOOL),
        since(8, BOOL),
    ]),
};

static OFFSET_COMMIT_PARTITION: Struct =
    fields(&[all(INT32), all(INT64), since(6, INT32), all(Ty::String)]);
static OFFSET_COMMIT_TOPIC: Struct =
    fields(&[all(Ty::String), all(Ty::Array(&OFFSET_COMMIT_PARTITION))]);
static OFFSET_COMMIT: Message = Message {
    flexible_from: 8,
    body: fields(&[
        all(Ty::String),
        all(INT32),
        all(Ty::String),
        since(7, Ty::String),
        between(2, 4, INT64),
        all(Ty::Array(&OFFSET_COMMIT_TOPIC)),
    ]),
};

// OffsetFetch: one group (v1-7) or a batch of groups (v8+); topics list partition indexes.
static OFFSET_FETCH_TOPIC: Struct = fields(&[all(Ty::String), all(INT32S)]);
static OFFSET_FETCH_GROUP: Struct = fields(&[
    all(Ty::String),
    since(9, Ty::String),
    since(9, INT32),
    all(Ty::Array(&OFFSET_FETCH_TOPIC)),
]);
static OFFSET_FETCH: Message = Message {
    flexible_from: 6,
    body: fields(&[
        until(7, Ty::String),
        until(7, Ty::Array(&OFFSET_FETCH_TOPIC)),
        since(8, Ty::Array(&OFFSET_FETCH_GROUP)),
        since(7, BOOL),
    ]),
};

static FIND_COORDINATOR: Message = Message {
    flexible_from: 3,
    body: fields(&[
        until(3, Ty::String),
        since(1, INT8),
        since(4, Ty::StringArray),
    ]),
};

static JOIN_GROUP_PROTOCOL: Struct = fields(&[all(Ty::String), all(Ty::Bytes)]);
static JOIN_GROUP: Message = Message {
    flexible_from: 6,
    body: fields(&[
        all(Ty::String),
        all(INT32),
        since(1, INT32),
        all(Ty::String),
        since(5, Ty::String),
        all(Ty::String),
        all(Ty::Array(&JOIN_GROUP_PROTOCOL)),
        since(8, Ty::String),
    ]),
};

static HEARTBEAT: Message = Message {
    flexible_from: 4,
    body: fields(&[
        all(Ty::String),
        all(INT32),
        all(Ty::String),
        since(3, Ty::String),
    ]),
};

static LEAVE_GROUP_MEMBER: Struct =
    fields(&[all(Ty::String), all(Ty::String), since(5, Ty::String)]);
static LEAVE_GROUP: Message = Message {
    flexible_from: 4,
    body: fields(&[
        all(Ty::String),
        until(2, Ty::String),
        since(3, Ty::Array(&LEAVE_GROUP_MEMBER)),
    ]),
};

static SYNC_GROUP_ASSIGNMENT: Struct = fields(&[all(Ty::String), all(Ty::Bytes)]);
static SYNC_GROUP: Message = Message {
    flexible_from: 4,
    body: fields(&[
        all(Ty::String),
        all(INT32),
        all(Ty::String),
        since(3, Ty::String),
        since(5, Ty::String),
        since(5, Ty::String),
        all(Ty::Array(&SYNC_GROUP_ASSIGNMENT)),
    ]),
};

static DESCRIBE_GROUPS: Message = Message {
    flexible_from: 5,
    body: fields(&[all(Ty::StringArray), since(3, BOOL)]),
};

static LIST_GROUPS: Message = Message {
    flexible_from: 3,
    body: fields(&[since(4, Ty::StringArray), since(5, Ty::StringArray)]),
};

static API_VERSIONS: Message = Message {
    flexible_from: 3,
    body: fields(&[since(3, Ty::String), since(3, Ty::String)]),
};

static CREATE_TOPICS_ASSIGNMENT: Struct = fields(&[all(INT32), all(INT32S)]);
static CREATE_TOPICS_CONFIG: Struct = fields(&[all(Ty::String), all(Ty::String)]);
static CREATE_TOPICS_TOPIC: Struct = fields(&[
    all(Ty::String),
    all(INT32),
    all(INT16),
    all(Ty::Array(&CREATE_TOPICS_ASSIGNMENT)),
    all(Ty::Array(&CREATE_TOPICS_CONFIG)),
]);
static CREATE_TOPICS: Message = Message {
    flexible_from: 5,
    body: fields(&[all(Ty::Array(&CREATE_TOPICS_TOPIC)), all(INT32), all(BOOL)]),
};

static DELETE_TOPICS_TOPIC: Struct = fields(&[all(Ty::String), all(UUID)]);
static DELETE_TOPICS: Message = Message {
    flexible_from: 4,
    body: fields(&[
        since(6, Ty::Array(&DELETE_TOPICS_TOPIC)),
        until(5, Ty::StringArray),
        all(INT32),
    ]),
};

static INIT_PRODUCER_ID: Message = Message {
    flexible_from: 2,
    body: fields(&[
        all(Ty::String),
        all(INT32),
        since(3, INT64),
        since(3, INT16),
    ]),
};

// AddPartitionsToTxn, the client form (v0-3): transactional id, producer id and epoch, topics
// of partition indexes. (v4+ batches transactions for brokers; it is not served.)
static ADD_PARTITIONS_TO_TXN_TOPIC: Struct = fields(&[all(Ty::String), all(INT32S)]);
static ADD_PARTITIONS_TO_TXN: Message = Message {
    flexible_from: 3,
    body: fields(&[
        all(Ty::String),
        all(INT64),
        all(INT16),
        all(Ty::Array(&ADD_PARTITIONS_TO_TXN_TOPIC)),
    ]),
};

// EndTxn: transactional id, producer id and epoch, commit or abort.
static END_TXN: Message = Message {
    flexible_from: 3,
    body: fields(&[all(Ty::String), all(INT64), all(INT16), all(BOOL)]),
};

static OFFSET_FOR_LEADER_EPOCH_PARTITION: Struct = fields(&[all(INT32), all(INT32), all(INT32)]);
static OFFSET_FOR_LEADER_EPOCH_TOPIC: Struct = fields(&[
    all(Ty::String),
    all(Ty::Array(&OFFSET_FOR_LEADER_EPOCH_PARTITION)),
]);
static OFFSET_FOR_LEADER_EPOCH: Message = Message {
    flexible_from: 4,
    body: fields(&[
        since(3, INT32),
        all(Ty::Array(&OFFSET_FOR_LEADER_EPOCH_TOPIC)),
    ]),
};

static DESCRIBE_CONFIGS_RESOURCE: Struct =
    fields(&[all(INT8), all(Ty::String), all(Ty::StringArray)]);
static DESCRIBE_CONFIGS: Message = Message {
    flexible_from: 4,
    body: fields(&[
        all(Ty::Array(&DESCRIBE_CONFIGS_RESOURCE)),
        since(1, BOOL),
        since(3, BOOL),
    ]),
};

static CREATE_PARTITIONS_ASSIGNMENT: Struct = fields(&[all(INT32S)]);
static CREATE_PARTITIONS_TOPIC: Struct = fields(&[
    all(Ty::String),
    all(INT32),
    all(Ty::Array(&CREATE_PARTITIONS_ASSIGNMENT)),
]);
static CREATE_PARTITIONS: Message = Message {
    flexible_from: 2,
    body: fields(&[
        all(Ty::Array(&CREATE_PARTITIONS_TOPIC)),
        all(INT32),
        all(BOOL),
    ]),
};

static DELETE_GROUPS: Message = Message {
    flexible_from: 2,
    body: fields(&[all(Ty::StringArray)]),
};
