//! Valid response frames for every API with a response layout, at every version kafka-protocol
//! decodes: a minimal one (defaults) and a rich one with every field the version has set
//! (arrays of two items, nested arrays, nullable fields present, known tagged fields set and an
//! unknown tagged field in flexible versions), so the layouts and the codec are compared on
//! every byte a broker can send.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use uuid::Uuid;

use super::admin_response_seeds;

/// Every API with a response layout, with the versions the codec decodes.
pub(super) const LAYOUT_APIS: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::SaslHandshake,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::InitProducerId,
    ApiKey::AddPartitionsToTxn,
    ApiKey::EndTxn,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::DescribeConfigs,
    ApiKey::SaslAuthenticate,
    ApiKey::CreatePartitions,
    ApiKey::DeleteGroups,
];

/// Every (API, version) pair a seed exists for.
pub(super) fn layout_versions() -> impl Iterator<Item = (ApiKey, i16)> {
    LAYOUT_APIS.iter().flat_map(|&api| {
        let versions = api.valid_versions();
        (versions.min..=versions.max).map(move |v| (api, v))
    })
}

/// A response frame (header and body, no size prefix) with correlation id 7.
pub(super) fn frame(api: ApiKey, version: i16, body: &ResponseKind) -> Vec<u8> {
    let mut header = ResponseHeader::default().with_correlation_id(7);
    if api.response_header_version(version) >= 1 {
        header.unknown_tagged_fields = unknown_tag();
    }
    let mut frame = BytesMut::new();
    header
        .encode(&mut frame, api.response_header_version(version))
        .expect("header encodes");
    body.encode(&mut frame, version)
        .unwrap_or_else(|e| panic!("{api:?} v{version} encodes: {e}"));
    frame.to_vec()
}

/// Minimal and rich frames for every API and version, with their API and version.
pub(super) fn seed_frames() -> Vec<(ApiKey, i16, Vec<u8>)> {
    layout_versions()
        .flat_map(|(api, v)| {
            [minimal_body(api), rich_body(api, v)].map(|body| (api, v, frame(api, v, &body)))
        })
        .collect()
}

/// Tag 9 with three bytes: known to no response layout.
pub(super) fn unknown_tag() -> BTreeMap<i32, Bytes> {
    BTreeMap::from([(9, Bytes::from_static(&[1, 2, 3]))])
}

pub(super) fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

pub(super) fn topic(v: &str) -> TopicName {
    TopicName(s(v))
}

/// Applies `f` only when `cond` holds: fields a version lacks stay at their defaults (the
/// codec refuses to encode some of them otherwise).
pub(super) trait When: Sized {
    fn when(self, cond: bool, f: impl FnOnce(Self) -> Self) -> Self {
        if cond {
            f(self)
        } else {
            self
        }
    }
}

impl<T> When for T {}

/// The default response of `api`.
fn minimal_body(api: ApiKey) -> ResponseKind {
    match api {
        ApiKey::Produce => ResponseKind::Produce(Default::default()),
        ApiKey::Fetch => ResponseKind::Fetch(Default::default()),
        ApiKey::ListOffsets => ResponseKind::ListOffsets(Default::default()),
        ApiKey::Metadata => ResponseKind::Metadata(Default::default()),
        ApiKey::OffsetCommit => ResponseKind::OffsetCommit(Default::default()),
        ApiKey::OffsetFetch => ResponseKind::OffsetFetch(Default::default()),
        ApiKey::FindCoordinator => ResponseKind::FindCoordinator(Default::default()),
        ApiKey::JoinGroup => ResponseKind::JoinGroup(Default::default()),
        ApiKey::Heartbeat => ResponseKind::Heartbeat(Default::default()),
        ApiKey::LeaveGroup => ResponseKind::LeaveGroup(Default::default()),
        ApiKey::SyncGroup => ResponseKind::SyncGroup(Default::default()),
        ApiKey::DescribeGroups => ResponseKind::DescribeGroups(Default::default()),
        ApiKey::ListGroups => ResponseKind::ListGroups(Default::default()),
        ApiKey::SaslHandshake => ResponseKind::SaslHandshake(Default::default()),
        ApiKey::ApiVersions => ResponseKind::ApiVersions(Default::default()),
        ApiKey::CreateTopics => ResponseKind::CreateTopics(Default::default()),
        ApiKey::DeleteTopics => ResponseKind::DeleteTopics(Default::default()),
        ApiKey::InitProducerId => ResponseKind::InitProducerId(Default::default()),
        ApiKey::AddPartitionsToTxn => ResponseKind::AddPartitionsToTxn(Default::default()),
        ApiKey::EndTxn => ResponseKind::EndTxn(Default::default()),
        ApiKey::OffsetForLeaderEpoch => ResponseKind::OffsetForLeaderEpoch(Default::default()),
        ApiKey::DescribeConfigs => ResponseKind::DescribeConfigs(Default::default()),
        ApiKey::SaslAuthenticate => ResponseKind::SaslAuthenticate(Default::default()),
        ApiKey::CreatePartitions => ResponseKind::CreatePartitions(Default::default()),
        ApiKey::DeleteGroups => ResponseKind::DeleteGroups(Default::default()),
        other => panic!("no seed for {other:?}"),
    }
}

/// `api`'s response at version `v` with every field `v` has set to a non-default value.
fn rich_body(api: ApiKey, v: i16) -> ResponseKind {
    let id = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
    let flexible_from = |min: i16| {
        if v >= min {
            unknown_tag()
        } else {
            BTreeMap::new()
        }
    };
    match api {
        ApiKey::Fetch => {
            let partition = |i: i32| {
                fetch_response::PartitionData::default()
                    .with_partition_index(i)
                    .with_error_code(1)
                    .with_high_watermark(100)
                    .with_last_stable_offset(90)
                    .when(v >= 5, |p| p.with_log_start_offset(3))
                    .when(v >= 12, |p| {
                        p.with_diverging_epoch(
                            fetch_response::EpochEndOffset::default()
                                .with_epoch(4)
                                .with_end_offset(80),
                        )
                        .with_current_leader(
                            fetch_response::LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(2))
                                .with_leader_epoch(5),
                        )
                        .with_snapshot_id(
                            fetch_response::SnapshotId::default()
                                .with_end_offset(70)
                                .with_epoch(3),
                        )
                    })
                    .with_aborted_transactions(Some(vec![
                        fetch_response::AbortedTransaction::default()
                            .with_producer_id(ProducerId(11))
                            .with_first_offset(40),
                        fetch_response::AbortedTransaction::default()
                            .with_producer_id(ProducerId(12))
                            .with_first_offset(41),
                    ]))
                    .when(v >= 11, |p| p.with_preferred_read_replica(BrokerId(3)))
                    .with_records(Some(Bytes::from(vec![i as u8; 61 + i as usize])))
            };
            let topic_response = |name: &str| {
                fetch_response::FetchableTopicResponse::default()
                    .when(v <= 12, |t| t.with_topic(topic(name)))
                    .when(v >= 13, |t| t.with_topic_id(id))
                    .with_partitions(vec![partition(0), partition(1)])
            };
            let mut response = FetchResponse::default()
                .with_throttle_time_ms(5)
                .when(v >= 7, |r| r.with_error_code(1).with_session_id(12))
                .with_responses(vec![topic_response("orders"), topic_response("t")])
                .when(v >= 16, |r| {
                    r.with_node_endpoints(vec![fetch_response::NodeEndpoint::default()
                        .with_node_id(BrokerId(2))
                        .with_host(s("broker-2"))
                        .with_port(9092)
                        .with_rack(Some(s("rack-a")))])
                });
            response.unknown_tagged_fields = flexible_from(12);
            ResponseKind::Fetch(response)
        }
        ApiKey::ListOffsets => {
            let partition = |i: i32| {
                list_offsets_response::ListOffsetsPartitionResponse::default()
                    .with_partition_index(i)
                    .with_error_code(1)
                    .with_timestamp(1_700_000_000_000)
                    .with_offset(42)
                    .when(v >= 4, |p| p.with_leader_epoch(5))
            };
            let topic_response = |name: &str| {
                list_offsets_response::ListOffsetsTopicResponse::default()
                    .with_name(topic(name))
                    .with_partitions(vec![partition(0), partition(1)])
            };
            let mut response = ListOffsetsResponse::default()
                .when(v >= 2, |r| r.with_throttle_time_ms(5))
                .with_topics(vec![topic_response("orders"), topic_response("t")]);
            response.unknown_tagged_fields = flexible_from(6);
            ResponseKind::ListOffsets(response)
        }
        ApiKey::Metadata => {
            let broker = |i: i32| {
                metadata_response::MetadataResponseBroker::default()
                    .with_node_id(BrokerId(i))
                    .with_host(s("broker"))
                    .with_port(9092)
                    .when(v >= 1, |b| b.with_rack(Some(s("rack-a"))))
            };
            let partition = |i: i32| {
                metadata_response::MetadataResponsePartition::default()
                    .with_error_code(1)
                    .with_partition_index(i)
                    .with_leader_id(BrokerId(1))
                    .when(v >= 7, |p| p.with_leader_epoch(5))
                    .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                    .with_isr_nodes(vec![BrokerId(1)])
                    .when(v >= 5, |p| p.with_offline_replicas(vec![BrokerId(2)]))
            };
            let topic_response = |name: &str| {
                metadata_response::MetadataResponseTopic::default()
                    .with_error_code(1)
                    .with_name(Some(topic(name)))
                    .when(v >= 10, |t| t.with_topic_id(id))
                    .when(v >= 1, |t| t.with_is_internal(true))
                    .with_partitions(vec![partition(0), partition(1)])
                    .when(v >= 8, |t| t.with_topic_authorized_operations(7))
            };
            let mut response = MetadataResponse::default()
                .when(v >= 3, |r| r.with_throttle_time_ms(5))
                .with_brokers(vec![broker(1), broker(2)])
                .when(v >= 2, |r| r.with_cluster_id(Some(s("cluster"))))
                .when(v >= 1, |r| r.with_controller_id(BrokerId(1)))
                .with_topics(vec![topic_response("orders"), topic_response("t")])
                .when((8..=10).contains(&v), |r| {
                    r.with_cluster_authorized_operations(7)
                })
                .when(v >= 13, |r| r.with_error_code(1));
            response.unknown_tagged_fields = flexible_from(9);
            ResponseKind::Metadata(response)
        }
        ApiKey::OffsetCommit => {
            let partition = |i: i32| {
                offset_commit_response::OffsetCommitResponsePartition::default()
                    .with_partition_index(i)
                    .with_error_code(1)
            };
            let topic_response = |name: &str| {
                offset_commit_response::OffsetCommitResponseTopic::default()
                    .when(v <= 9, |t| t.with_name(topic(name)))
                    .when(v >= 10, |t| t.with_topic_id(id))
                    .with_partitions(vec![partition(0), partition(1)])
            };
            let mut response = OffsetCommitResponse::default()
                .when(v >= 3, |r| r.with_throttle_time_ms(5))
                .with_topics(vec![topic_response("orders"), topic_response("t")]);
            response.unknown_tagged_fields = flexible_from(8);
            ResponseKind::OffsetCommit(response)
        }
        ApiKey::OffsetFetch => {
            let mut response =
                OffsetFetchResponse::default().when(v >= 3, |r| r.with_throttle_time_ms(5));
            if v <= 7 {
                let partition = |i: i32| {
                    offset_fetch_response::OffsetFetchResponsePartition::default()
                        .with_partition_index(i)
                        .with_committed_offset(42)
                        .when(v >= 5, |p| p.with_committed_leader_epoch(5))
                        .with_metadata(Some(s("meta")))
                        .with_error_code(1)
                };
                let topic_response = |name: &str| {
                    offset_fetch_response::OffsetFetchResponseTopic::default()
                        .with_name(topic(name))
                        .with_partitions(vec![partition(0), partition(1)])
                };
                response = response
                    .with_topics(vec![topic_response("orders"), topic_response("t")])
                    .when(v >= 2, |r| r.with_error_code(1));
            } else {
                let partition = |i: i32| {
                    offset_fetch_response::OffsetFetchResponsePartitions::default()
                        .with_partition_index(i)
                        .with_committed_offset(42)
                        .with_committed_leader_epoch(5)
                        .with_metadata(Some(s("meta")))
                        .with_error_code(1)
                };
                let topic_response = |name: &str| {
                    offset_fetch_response::OffsetFetchResponseTopics::default()
                        .when(v <= 9, |t| t.with_name(topic(name)))
                        .when(v >= 10, |t| t.with_topic_id(id))
                        .with_partitions(vec![partition(0), partition(1)])
                };
                let group = |name: &str| {
                    offset_fetch_response::OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(s(name)))
                        .with_topics(vec![topic_response("orders"), topic_response("t")])
                        .with_error_code(1)
                };
                response = response.with_groups(vec![group("g1"), group("group-2")]);
            }
            response.unknown_tagged_fields = flexible_from(6);
            ResponseKind::OffsetFetch(response)
        }
        ApiKey::FindCoordinator => {
            let mut response =
                FindCoordinatorResponse::default().when(v >= 1, |r| r.with_throttle_time_ms(5));
            if v <= 3 {
                response = response
                    .with_error_code(1)
                    .when(v >= 1, |r| r.with_error_message(Some(s("not yet"))))
                    .with_node_id(BrokerId(2))
                    .with_host(s("broker-2"))
                    .with_port(9092);
            } else {
                let coordinator = |key: &str| {
                    find_coordinator_response::Coordinator::default()
                        .with_key(s(key))
                        .with_node_id(BrokerId(2))
                        .with_host(s("broker-2"))
                        .with_port(9092)
                        .with_error_code(1)
                        .with_error_message(Some(s("not yet")))
                };
                response = response.with_coordinators(vec![coordinator("g1"), coordinator("g2")]);
            }
            response.unknown_tagged_fields = flexible_from(3);
            ResponseKind::FindCoordinator(response)
        }
        ApiKey::JoinGroup => {
            let member = |id: &str| {
                join_group_response::JoinGroupResponseMember::default()
                    .with_member_id(s(id))
                    .when(v >= 5, |m| m.with_group_instance_id(Some(s("instance"))))
                    .with_metadata(Bytes::from_static(b"\0\x03subscription"))
            };
            let mut response = JoinGroupResponse::default()
                .when(v >= 2, |r| r.with_throttle_time_ms(5))
                .with_error_code(1)
                .with_generation_id(3)
                .when(v >= 7, |r| r.with_protocol_type(Some(s("consumer"))))
                .with_protocol_name(Some(s("range")))
                .with_leader(s("member-1"))
                .when(v >= 9, |r| r.with_skip_assignment(true))
                .with_member_id(s("member-1"))
                .with_members(vec![member("member-1"), member("member-2")]);
            response.unknown_tagged_fields = flexible_from(6);
            ResponseKind::JoinGroup(response)
        }
        ApiKey::Heartbeat => {
            let mut response = HeartbeatResponse::default()
                .when(v >= 1, |r| r.with_throttle_time_ms(5))
                .with_error_code(27);
            response.unknown_tagged_fields = flexible_from(4);
            ResponseKind::Heartbeat(response)
        }
        ApiKey::LeaveGroup => {
            let member = |id: &str| {
                leave_group_response::MemberResponse::default()
                    .with_member_id(s(id))
                    .with_group_instance_id(Some(s("instance")))
                    .with_error_code(1)
            };
            let mut response = LeaveGroupResponse::default()
                .when(v >= 1, |r| r.with_throttle_time_ms(5))
                .with_error_code(1)
                .when(v >= 3, |r| r.with_members(vec![member("m1"), member("m2")]));
            response.unknown_tagged_fields = flexible_from(4);
            ResponseKind::LeaveGroup(response)
        }
        ApiKey::SyncGroup => {
            let mut response = SyncGroupResponse::default()
                .when(v >= 1, |r| r.with_throttle_time_ms(5))
                .with_error_code(1)
                .when(v >= 5, |r| {
                    r.with_protocol_type(Some(s("consumer")))
                        .with_protocol_name(Some(s("range")))
                })
                .with_assignment(Bytes::from_static(b"\0\x03assignment"));
            response.unknown_tagged_fields = flexible_from(4);
            ResponseKind::SyncGroup(response)
        }
        ApiKey::SaslHandshake => ResponseKind::SaslHandshake(
            SaslHandshakeResponse::default()
                .with_error_code(33)
                .with_mechanisms(vec![s("PLAIN"), s("SCRAM-SHA-512")]),
        ),
        ApiKey::ApiVersions => {
            let key = |k: i16| {
                api_versions_response::ApiVersion::default()
                    .with_api_key(k)
                    .with_min_version(0)
                    .with_max_version(9)
            };
            let mut response = ApiVersionsResponse::default()
                .with_error_code(0)
                .with_api_keys(vec![key(0), key(1), key(18)])
                .when(v >= 1, |r| r.with_throttle_time_ms(5))
                .when(v >= 3, |r| {
                    r.with_supported_features(vec![
                        api_versions_response::SupportedFeatureKey::default()
                            .with_name(s("metadata.version"))
                            .with_min_version(1)
                            .with_max_version(20),
                    ])
                    .with_finalized_features_epoch(4)
                    .with_finalized_features(vec![
                        api_versions_response::FinalizedFeatureKey::default()
                            .with_name(s("metadata.version"))
                            .with_max_version_level(20)
                            .with_min_version_level(20),
                    ])
                    .with_zk_migration_ready(true)
                });
            response.unknown_tagged_fields = flexible_from(3);
            ResponseKind::ApiVersions(response)
        }
        ApiKey::SaslAuthenticate => {
            let mut response = SaslAuthenticateResponse::default()
                .with_error_code(58)
                .with_error_message(Some(s("bad credentials")))
                .with_auth_bytes(Bytes::from_static(b"server-final-message"))
                .when(v >= 1, |r| r.with_session_lifetime_ms(60_000));
            response.unknown_tagged_fields = flexible_from(2);
            ResponseKind::SaslAuthenticate(response)
        }
        other => admin_response_seeds::rich_body(other, v)
            .unwrap_or_else(|| panic!("no seed for {other:?}")),
    }
}

/// The directory `write_response_decoder_corpus` fills with seed inputs.
const CORPUS_ENV: &str = "KAFKA_LISTENER_FUZZ_CORPUS";

/// Writes the minimal and rich seed responses, one file each, into the directory
/// `KAFKA_LISTENER_FUZZ_CORPUS` names, as a starting corpus for the `response_decoder` fuzz
/// target (see fuzz/README.md), in its input format: the API key's byte, the version's offset
/// from the API's lowest version, then the frame.
#[test]
#[ignore = "writes files; run by hand before fuzzing"]
fn write_response_decoder_corpus() {
    let dir = std::env::var_os(CORPUS_ENV).expect("set KAFKA_LISTENER_FUZZ_CORPUS to a directory");
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    for (i, (api, version, frame)) in seed_frames().into_iter().enumerate() {
        let kind = if i % 2 == 0 { "minimal" } else { "rich" };
        let offset = version - api.valid_versions().min;
        let mut input = vec![api as i16 as u8, offset as u8];
        input.extend_from_slice(&frame);
        let path = dir.join(format!("{api:?}-v{version}-{kind}"));
        std::fs::write(&path, &input).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}
