//! Valid request frames for every served API and version: a minimal one, and a rich one with
//! every field the version has set (arrays of several items, nested arrays, nullable fields
//! present, unknown tagged fields in flexible versions), so the length guard's layouts and the
//! codec are compared on every byte a client can send.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use uuid::Uuid;

use crate::embedded::wire::SUPPORTED_APIS;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

fn topic(v: &str) -> TopicName {
    TopicName(s(v))
}

/// The smallest request of `api` that every version can encode.
fn minimal_body(api: ApiKey) -> Option<RequestKind> {
    Some(match api {
        ApiKey::Produce => {
            RequestKind::Produce(ProduceRequest::default().with_acks(1).with_topic_data(vec![
                produce_request::TopicProduceData::default()
                    .with_name(topic("t"))
                    .with_partition_data(vec![produce_request::PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(Bytes::from_static(&[0; 70])))]),
            ]))
        }
        ApiKey::Fetch => RequestKind::Fetch(FetchRequest::default().with_topics(vec![
            fetch_request::FetchTopic::default()
                .with_topic(topic("t"))
                .with_partitions(vec![fetch_request::FetchPartition::default()]),
        ])),
        ApiKey::ListOffsets => {
            RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(vec![
                list_offsets_request::ListOffsetsTopic::default()
                    .with_name(topic("t"))
                    .with_partitions(vec![list_offsets_request::ListOffsetsPartition::default()]),
            ]))
        }
        ApiKey::Metadata => {
            RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(topic("t"))),
            ])))
        }
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(
            OffsetCommitRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic("t"))
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default(),
                        ]),
                ]),
        ),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(OffsetFetchRequest::default()),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(FindCoordinatorRequest::default()),
        ApiKey::JoinGroup => RequestKind::JoinGroup(
            JoinGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(b"m"))]),
        ),
        ApiKey::Heartbeat => {
            RequestKind::Heartbeat(HeartbeatRequest::default().with_group_id(GroupId(s("g"))))
        }
        ApiKey::LeaveGroup => {
            RequestKind::LeaveGroup(LeaveGroupRequest::default().with_group_id(GroupId(s("g"))))
        }
        ApiKey::SyncGroup => RequestKind::SyncGroup(
            SyncGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s("m")),
                ]),
        ),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(
            DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]),
        ),
        ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
        ApiKey::ApiVersions => RequestKind::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::CreateTopics => {
            RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
                create_topics_request::CreatableTopic::default().with_name(topic("t")),
            ]))
        }
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default()),
        ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest::default()),
        ApiKey::OffsetForLeaderEpoch => {
            RequestKind::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest::default())
        }
        ApiKey::DescribeConfigs => {
            RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_name(s("t")),
            ]))
        }
        ApiKey::CreatePartitions => {
            RequestKind::CreatePartitions(CreatePartitionsRequest::default())
        }
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(
            DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]),
        ),
        ApiKey::AddPartitionsToTxn => {
            RequestKind::AddPartitionsToTxn(AddPartitionsToTxnRequest::default())
        }
        ApiKey::EndTxn => RequestKind::EndTxn(EndTxnRequest::default()),
        _ => return None,
    })
}

/// `api`'s request at version `v` with every field `v` has set to a non-default value.
fn rich_body(api: ApiKey, v: i16) -> Option<RequestKind> {
    let id = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
    let named = |name: &str| if v >= 13 { topic("") } else { topic(name) };
    let topic_id = |min: i16| if v >= min { id } else { Uuid::nil() };
    let two_groups = vec![GroupId(s("g1")), GroupId(s("group-2"))];
    Some(match api {
        ApiKey::Produce => {
            let partition = |i: i32| {
                produce_request::PartitionProduceData::default()
                    .with_index(i)
                    .with_records(Some(Bytes::from(vec![i as u8; 61 + i as usize])))
            };
            RequestKind::Produce(
                ProduceRequest::default()
                    .with_transactional_id(Some(TransactionalId(s("tx"))))
                    .with_acks(-1)
                    .with_timeout_ms(1500)
                    .with_topic_data(vec![
                        produce_request::TopicProduceData::default()
                            .with_name(named("orders"))
                            .with_topic_id(topic_id(13))
                            .with_partition_data(vec![partition(0), partition(1)]),
                        produce_request::TopicProduceData::default()
                            .with_name(named("t"))
                            .with_topic_id(topic_id(13))
                            .with_partition_data(vec![
                                produce_request::PartitionProduceData::default().with_index(2),
                            ]),
                    ]),
            )
        }
        ApiKey::Fetch => {
            let partition = |p: i32| {
                let mut partition = fetch_request::FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(100 + i64::from(p))
                    .with_partition_max_bytes(1 << 20);
                if v >= 9 {
                    partition = partition.with_current_leader_epoch(3);
                }
                if v >= 12 {
                    partition = partition.with_last_fetched_epoch(2);
                }
                if v >= 5 {
                    partition = partition.with_log_start_offset(7);
                }
                if v >= 17 {
                    partition = partition.with_replica_directory_id(id);
                }
                if v >= 18 {
                    partition = partition.with_high_watermark(99);
                }
                partition
            };
            let fetch_topic = |name: &str| {
                fetch_request::FetchTopic::default()
                    .with_topic(named(name))
                    .with_topic_id(topic_id(13))
                    .with_partitions(vec![partition(0), partition(4)])
            };
            let mut request = FetchRequest::default()
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(52_428_800)
                .with_isolation_level(1)
                .with_topics(vec![fetch_topic("orders"), fetch_topic("t")]);
            if v <= 14 {
                request = request.with_replica_id(BrokerId(-1));
            } else {
                request = request.with_replica_state(
                    fetch_request::ReplicaState::default()
                        .with_replica_id(BrokerId(3))
                        .with_replica_epoch(9),
                );
            }
            if v >= 7 {
                request = request
                    .with_session_id(12)
                    .with_session_epoch(4)
                    .with_forgotten_topics_data(vec![fetch_request::ForgottenTopic::default()
                        .with_topic(named("gone"))
                        .with_topic_id(topic_id(13))
                        .with_partitions(vec![1, 2, 3])]);
            }
            if v >= 11 {
                request = request.with_rack_id(s("rack-a"));
            }
            if v >= 12 {
                request = request.with_cluster_id(Some(s("cluster")));
            }
            RequestKind::Fetch(request)
        }
        ApiKey::ListOffsets => {
            let partition = |p: i32| {
                let partition = list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(p)
                    .with_timestamp(-2);
                if v >= 4 {
                    partition.with_current_leader_epoch(5)
                } else {
                    partition
                }
            };
            let mut request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                    .with_name(topic("t"))
                    .with_partitions(vec![partition(0), partition(1)])]);
            if v >= 2 {
                request = request.with_isolation_level(1);
            }
            if v >= 10 {
                request = request.with_timeout_ms(3000);
            }
            RequestKind::ListOffsets(request)
        }
        ApiKey::Metadata => {
            let metadata_topic = |name: &str| {
                let t =
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic(name)));
                if v >= 10 {
                    t.with_topic_id(id)
                } else {
                    t
                }
            };
            let mut request = MetadataRequest::default()
                .with_topics(Some(vec![metadata_topic("a"), metadata_topic("orders")]));
            if v >= 4 {
                request = request.with_allow_auto_topic_creation(false);
            }
            if (8..=10).contains(&v) {
                request = request.with_include_cluster_authorized_operations(true);
            }
            if v >= 8 {
                request = request.with_include_topic_authorized_operations(true);
            }
            RequestKind::Metadata(request)
        }
        ApiKey::OffsetCommit => {
            let partition = |p: i32| {
                let partition = offset_commit_request::OffsetCommitRequestPartition::default()
                    .with_partition_index(p)
                    .with_committed_offset(1000 + i64::from(p))
                    .with_committed_metadata(Some(s("meta")));
                if v >= 6 {
                    partition.with_committed_leader_epoch(4)
                } else {
                    partition
                }
            };
            let mut request = OffsetCommitRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_generation_id_or_member_epoch(3)
                .with_member_id(s("member-1"))
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic("t"))
                        .with_partitions(vec![partition(0), partition(1)]),
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic("u"))
                        .with_partitions(vec![partition(2)]),
                ]);
            if v >= 7 {
                request = request.with_group_instance_id(Some(s("instance")));
            }
            if v <= 4 {
                request = request.with_retention_time_ms(60_000);
            }
            RequestKind::OffsetCommit(request)
        }
        ApiKey::OffsetFetch => {
            let request = if v <= 7 {
                let request = OffsetFetchRequest::default()
                    .with_group_id(GroupId(s("g")))
                    .with_topics(Some(vec![
                        offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic("t"))
                            .with_partition_indexes(vec![0, 1, 2]),
                        offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic("u"))
                            .with_partition_indexes(vec![]),
                    ]));
                if v == 7 {
                    request.with_require_stable(true)
                } else {
                    request
                }
            } else {
                let group = |name: &str| {
                    let group = offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s(name)))
                        .with_topics(Some(vec![
                            offset_fetch_request::OffsetFetchRequestTopics::default()
                                .with_name(topic("t"))
                                .with_partition_indexes(vec![0, 5]),
                        ]));
                    if v >= 9 {
                        group.with_member_id(Some(s("m"))).with_member_epoch(6)
                    } else {
                        group
                    }
                };
                OffsetFetchRequest::default()
                    .with_groups(vec![group("g1"), group("g2")])
                    .with_require_stable(true)
            };
            RequestKind::OffsetFetch(request)
        }
        ApiKey::FindCoordinator => {
            let mut request = FindCoordinatorRequest::default();
            if v <= 3 {
                request = request.with_key(s("g"));
            } else {
                request = request.with_coordinator_keys(vec![s("g1"), s("group-two")]);
            }
            if v >= 1 {
                request = request.with_key_type(0);
            }
            RequestKind::FindCoordinator(request)
        }
        ApiKey::JoinGroup => {
            let protocol = |name: &str| {
                join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s(name))
                    .with_metadata(Bytes::from(vec![1u8; 23]))
            };
            let mut request = JoinGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_session_timeout_ms(10_000)
                .with_member_id(s("member"))
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![protocol("range"), protocol("cooperative-sticky")]);
            if v >= 1 {
                request = request.with_rebalance_timeout_ms(30_000);
            }
            if v >= 5 {
                request = request.with_group_instance_id(Some(s("instance-1")));
            }
            if v >= 8 {
                request = request.with_reason(Some(s("rejoin")));
            }
            RequestKind::JoinGroup(request)
        }
        ApiKey::Heartbeat => {
            let mut request = HeartbeatRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_generation_id(4)
                .with_member_id(s("member"));
            if v >= 3 {
                request = request.with_group_instance_id(Some(s("instance")));
            }
            RequestKind::Heartbeat(request)
        }
        ApiKey::LeaveGroup => {
            let request = LeaveGroupRequest::default().with_group_id(GroupId(s("g")));
            RequestKind::LeaveGroup(if v <= 2 {
                request.with_member_id(s("member"))
            } else {
                let member = |id: &str| {
                    let member = leave_group_request::MemberIdentity::default()
                        .with_member_id(s(id))
                        .with_group_instance_id(Some(s("instance")));
                    if v >= 5 {
                        member.with_reason(Some(s("bye")))
                    } else {
                        member
                    }
                };
                request.with_members(vec![member("m1"), member("m2")])
            })
        }
        ApiKey::SyncGroup => {
            let assignment = |member: &str| {
                sync_group_request::SyncGroupRequestAssignment::default()
                    .with_member_id(s(member))
                    .with_assignment(Bytes::from(vec![0u8; 17]))
            };
            let mut request = SyncGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_generation_id(2)
                .with_member_id(s("m1"))
                .with_assignments(vec![assignment("m1"), assignment("m2")]);
            if v >= 3 {
                request = request.with_group_instance_id(Some(s("instance")));
            }
            if v >= 5 {
                request = request
                    .with_protocol_type(Some(s("consumer")))
                    .with_protocol_name(Some(s("range")));
            }
            RequestKind::SyncGroup(request)
        }
        ApiKey::DescribeGroups => {
            let request = DescribeGroupsRequest::default().with_groups(two_groups);
            RequestKind::DescribeGroups(if v >= 3 {
                request.with_include_authorized_operations(true)
            } else {
                request
            })
        }
        ApiKey::ListGroups => {
            let mut request = ListGroupsRequest::default();
            if v >= 4 {
                request = request.with_states_filter(vec![s("Stable"), s("Empty")]);
            }
            if v >= 5 {
                request = request.with_types_filter(vec![s("classic")]);
            }
            RequestKind::ListGroups(request)
        }
        ApiKey::ApiVersions => {
            let request = ApiVersionsRequest::default();
            RequestKind::ApiVersions(if v >= 3 {
                request
                    .with_client_software_name(s("kafka-listener"))
                    .with_client_software_version(s("0.1.0"))
            } else {
                request
            })
        }
        ApiKey::CreateTopics => {
            let new_topic = |name: &str| {
                create_topics_request::CreatableTopic::default()
                    .with_name(topic(name))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_assignments(vec![
                        create_topics_request::CreatableReplicaAssignment::default()
                            .with_partition_index(0)
                            .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                    ])
                    .with_configs(vec![
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(Some(s("1000"))),
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(s("cleanup.policy"))
                            .with_value(None),
                    ])
            };
            RequestKind::CreateTopics(
                CreateTopicsRequest::default()
                    .with_topics(vec![new_topic("a"), new_topic("b")])
                    .with_timeout_ms(5000)
                    .with_validate_only(true),
            )
        }
        ApiKey::DeleteTopics => {
            let request = DeleteTopicsRequest::default().with_timeout_ms(5000);
            RequestKind::DeleteTopics(if v >= 6 {
                request.with_topics(vec![
                    delete_topics_request::DeleteTopicState::default()
                        .with_name(Some(topic("a")))
                        .with_topic_id(id),
                    delete_topics_request::DeleteTopicState::default().with_name(None),
                ])
            } else {
                request.with_topic_names(vec![topic("a"), topic("bb")])
            })
        }
        ApiKey::InitProducerId => {
            let request = InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s("tx"))))
                .with_transaction_timeout_ms(60_000);
            RequestKind::InitProducerId(if v >= 3 {
                request
                    .with_producer_id(ProducerId(77))
                    .with_producer_epoch(2)
            } else {
                request
            })
        }
        ApiKey::OffsetForLeaderEpoch => {
            let partition = |p: i32| {
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(p)
                    .with_current_leader_epoch(5)
                    .with_leader_epoch(4)
            };
            let request = OffsetForLeaderEpochRequest::default().with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(topic("t"))
                    .with_partitions(vec![partition(0), partition(1)]),
            ]);
            RequestKind::OffsetForLeaderEpoch(if v >= 3 {
                request.with_replica_id(BrokerId(-2))
            } else {
                request
            })
        }
        ApiKey::DescribeConfigs => {
            let resource = |keys: Option<Vec<StrBytes>>| {
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("orders"))
                    .with_configuration_keys(keys)
            };
            let request = DescribeConfigsRequest::default()
                .with_resources(vec![
                    resource(Some(vec![s("retention.ms"), s("segment.bytes")])),
                    resource(None),
                ])
                .with_include_synonyms(true);
            RequestKind::DescribeConfigs(if v >= 3 {
                request.with_include_documentation(true)
            } else {
                request
            })
        }
        ApiKey::CreatePartitions => RequestKind::CreatePartitions(
            CreatePartitionsRequest::default()
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(topic("t"))
                        .with_count(4)
                        .with_assignments(Some(vec![
                            create_partitions_request::CreatePartitionsAssignment::default()
                                .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                        ])),
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(topic("u"))
                        .with_count(2)
                        .with_assignments(None),
                ])
                .with_timeout_ms(5000)
                .with_validate_only(true),
        ),
        ApiKey::DeleteGroups => {
            RequestKind::DeleteGroups(DeleteGroupsRequest::default().with_groups_names(two_groups))
        }
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(
            AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(TransactionalId(s("tx")))
                .with_v3_and_below_producer_id(ProducerId(77))
                .with_v3_and_below_producer_epoch(2)
                .with_v3_and_below_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic("a"))
                        .with_partitions(vec![0, 1, 2]),
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic("bb"))
                        .with_partitions(vec![]),
                ]),
        ),
        ApiKey::EndTxn => RequestKind::EndTxn(
            EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_producer_id(ProducerId(77))
                .with_producer_epoch(2)
                .with_committed(true),
        ),
        _ => return None,
    })
}

/// Adds an unknown tag to the top-level struct, as a newer client might send.
fn with_unknown_tag(mut body: RequestKind) -> RequestKind {
    macro_rules! tag_each {
        ($($kind:ident),*) => {
            match &mut body {
                $(RequestKind::$kind(request) => {
                    request
                        .unknown_tagged_fields
                        .insert(100, Bytes::from_static(b"future"));
                })*
                _ => {}
            }
        };
    }
    tag_each!(
        Produce,
        Fetch,
        ListOffsets,
        Metadata,
        OffsetCommit,
        OffsetFetch,
        FindCoordinator,
        JoinGroup,
        Heartbeat,
        LeaveGroup,
        SyncGroup,
        DescribeGroups,
        ListGroups,
        ApiVersions,
        CreateTopics,
        DeleteTopics,
        InitProducerId,
        OffsetForLeaderEpoch,
        DescribeConfigs,
        CreatePartitions,
        DeleteGroups,
        AddPartitionsToTxn,
        EndTxn
    );
    body
}

/// Frames `body` at `version` with a request header, or `None` when the version cannot
/// encode it.
fn frame(api: ApiKey, version: i16, body: &RequestKind) -> Option<Vec<u8>> {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("fuzz")));
    let mut frame = BytesMut::new();
    header
        .encode(&mut frame, api.request_header_version(version))
        .ok()?;
    body.encode(&mut frame, version).ok()?;
    Some(frame.to_vec())
}

/// One minimal valid frame (without size prefix) per served API and version.
pub(crate) fn seed_frames() -> Vec<Vec<u8>> {
    served_versions()
        .filter_map(|(api, version)| frame(api, version, &minimal_body(api)?))
        .collect()
}

/// One rich valid frame per served API and version.
pub(crate) fn rich_seed_frames() -> Vec<Vec<u8>> {
    served_versions()
        .filter_map(|(api, version)| {
            let body = rich_body(api, version)?;
            let flexible = api.request_header_version(version) >= 2;
            let body = if flexible {
                with_unknown_tag(body)
            } else {
                body
            };
            frame(api, version, &body)
        })
        .collect()
}

/// Every (API, version) the broker serves.
pub(crate) fn served_versions() -> impl Iterator<Item = (ApiKey, i16)> {
    SUPPORTED_APIS
        .iter()
        .flat_map(|&(api, min, max)| (min..=max).map(move |version| (api, version)))
}
