//! Rich responses of the APIs only the embedded broker's handle and tests send through
//! `BrokerConnection` (produce, admin and transaction APIs), for [`super::response_seeds`].

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::*;
use uuid::Uuid;

use super::response_seeds::{s, topic, unknown_tag, When};

/// `api`'s response at version `v` with every field `v` has set, for the APIs of this module.
pub(super) fn rich_body(api: ApiKey, v: i16) -> Option<ResponseKind> {
    let id = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
    let flexible_from = |min: i16| {
        if v >= min {
            unknown_tag()
        } else {
            BTreeMap::new()
        }
    };
    Some(match api {
        ApiKey::Produce => {
            let partition = |i: i32| {
                produce_response::PartitionProduceResponse::default()
                    .with_index(i)
                    .with_error_code(1)
                    .with_base_offset(100)
                    .with_log_append_time_ms(1_700_000_000_000)
                    .when(v >= 5, |p| p.with_log_start_offset(3))
                    .when(v >= 8, |p| {
                        p.with_record_errors(vec![
                            produce_response::BatchIndexAndErrorMessage::default()
                                .with_batch_index(2)
                                .with_batch_index_error_message(Some(s("bad record"))),
                        ])
                        .with_error_message(Some(s("bad batch")))
                    })
                    .when(v >= 10, |p| {
                        p.with_current_leader(
                            produce_response::LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(2))
                                .with_leader_epoch(5),
                        )
                    })
            };
            let topic_response = |name: &str| {
                produce_response::TopicProduceResponse::default()
                    .when(v <= 12, |t| t.with_name(topic(name)))
                    .when(v >= 13, |t| t.with_topic_id(id))
                    .with_partition_responses(vec![partition(0), partition(1)])
            };
            let mut response = ProduceResponse::default()
                .with_responses(vec![topic_response("orders"), topic_response("t")])
                .with_throttle_time_ms(5)
                .when(v >= 10, |r| {
                    r.with_node_endpoints(vec![produce_response::NodeEndpoint::default()
                        .with_node_id(BrokerId(2))
                        .with_host(s("broker-2"))
                        .with_port(9092)
                        .with_rack(Some(s("rack-a")))])
                });
            response.unknown_tagged_fields = flexible_from(9);
            ResponseKind::Produce(response)
        }
        ApiKey::DescribeGroups => {
            let member = |id: &str| {
                describe_groups_response::DescribedGroupMember::default()
                    .with_member_id(s(id))
                    .when(v >= 4, |m| m.with_group_instance_id(Some(s("instance"))))
                    .with_client_id(s("client"))
                    .with_client_host(s("/127.0.0.1"))
                    .with_member_metadata(Bytes::from_static(b"metadata"))
                    .with_member_assignment(Bytes::from_static(b"assignment"))
            };
            let group = |id: &str| {
                describe_groups_response::DescribedGroup::default()
                    .with_error_code(1)
                    .when(v >= 6, |g| g.with_error_message(Some(s("dead"))))
                    .with_group_id(GroupId(s(id)))
                    .with_group_state(s("Stable"))
                    .with_protocol_type(s("consumer"))
                    .with_protocol_data(s("range"))
                    .with_members(vec![member("m1"), member("m2")])
                    .when(v >= 3, |g| g.with_authorized_operations(7))
            };
            let mut response = DescribeGroupsResponse::default()
                .when(v >= 1, |r| r.with_throttle_time_ms(5))
                .with_groups(vec![group("g1"), group("group-2")]);
            response.unknown_tagged_fields = flexible_from(5);
            ResponseKind::DescribeGroups(response)
        }
        ApiKey::ListGroups => {
            let group = |id: &str| {
                list_groups_response::ListedGroup::default()
                    .with_group_id(GroupId(s(id)))
                    .with_protocol_type(s("consumer"))
                    .when(v >= 4, |g| g.with_group_state(s("Stable")))
                    .when(v >= 5, |g| g.with_group_type(s("classic")))
            };
            let mut response = ListGroupsResponse::default()
                .when(v >= 1, |r| r.with_throttle_time_ms(5))
                .with_error_code(1)
                .with_groups(vec![group("g1"), group("group-2")]);
            response.unknown_tagged_fields = flexible_from(3);
            ResponseKind::ListGroups(response)
        }
        ApiKey::CreateTopics => {
            let config = |name: &str| {
                create_topics_response::CreatableTopicConfigs::default()
                    .with_name(s(name))
                    .with_value(Some(s("1")))
                    .with_read_only(true)
                    .with_config_source(5)
                    .with_is_sensitive(true)
            };
            let result = |name: &str| {
                create_topics_response::CreatableTopicResult::default()
                    .with_name(topic(name))
                    .when(v >= 7, |t| t.with_topic_id(id))
                    .with_error_code(1)
                    .with_error_message(Some(s("exists")))
                    .when(v >= 5, |t| {
                        t.with_topic_config_error_code(2)
                            .with_num_partitions(3)
                            .with_replication_factor(1)
                            .with_configs(Some(vec![config("a"), config("b")]))
                    })
            };
            let mut response = CreateTopicsResponse::default()
                .with_throttle_time_ms(5)
                .with_topics(vec![result("orders"), result("t")]);
            response.unknown_tagged_fields = flexible_from(5);
            ResponseKind::CreateTopics(response)
        }
        ApiKey::DeleteTopics => {
            let result = |name: &str| {
                delete_topics_response::DeletableTopicResult::default()
                    .with_name(Some(topic(name)))
                    .when(v >= 6, |t| t.with_topic_id(id))
                    .with_error_code(1)
                    .when(v >= 5, |t| t.with_error_message(Some(s("unknown"))))
            };
            let mut response = DeleteTopicsResponse::default()
                .with_throttle_time_ms(5)
                .with_responses(vec![result("orders"), result("t")]);
            response.unknown_tagged_fields = flexible_from(4);
            ResponseKind::DeleteTopics(response)
        }
        ApiKey::InitProducerId => {
            let mut response = InitProducerIdResponse::default()
                .with_throttle_time_ms(5)
                .with_error_code(1)
                .with_producer_id(ProducerId(11))
                .with_producer_epoch(2)
                .when(v >= 6, |r| {
                    r.with_ongoing_txn_producer_id(ProducerId(12))
                        .with_ongoing_txn_producer_epoch(3)
                });
            response.unknown_tagged_fields = flexible_from(2);
            ResponseKind::InitProducerId(response)
        }
        ApiKey::AddPartitionsToTxn => {
            let partition = |i: i32| {
                add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default()
                    .with_partition_index(i)
                    .with_partition_error_code(1)
            };
            let topic_result = |name: &str| {
                add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default()
                    .with_name(topic(name))
                    .with_results_by_partition(vec![partition(0), partition(1)])
            };
            let mut response = AddPartitionsToTxnResponse::default().with_throttle_time_ms(5);
            if v >= 4 {
                let transaction = |id: &str| {
                    add_partitions_to_txn_response::AddPartitionsToTxnResult::default()
                        .with_transactional_id(TransactionalId(s(id)))
                        .with_topic_results(vec![topic_result("orders"), topic_result("t")])
                };
                response = response
                    .with_error_code(1)
                    .with_results_by_transaction(vec![transaction("tx1"), transaction("tx2")]);
            } else {
                response = response.with_results_by_topic_v3_and_below(vec![
                    topic_result("orders"),
                    topic_result("t"),
                ]);
            }
            response.unknown_tagged_fields = flexible_from(3);
            ResponseKind::AddPartitionsToTxn(response)
        }
        ApiKey::EndTxn => {
            let mut response = EndTxnResponse::default()
                .with_throttle_time_ms(5)
                .with_error_code(1)
                .when(v >= 5, |r| {
                    r.with_producer_id(ProducerId(11)).with_producer_epoch(2)
                });
            response.unknown_tagged_fields = flexible_from(3);
            ResponseKind::EndTxn(response)
        }
        ApiKey::OffsetForLeaderEpoch => {
            let partition = |i: i32| {
                offset_for_leader_epoch_response::EpochEndOffset::default()
                    .with_error_code(1)
                    .with_partition(i)
                    .with_leader_epoch(5)
                    .with_end_offset(42)
            };
            let topic_result = |name: &str| {
                offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                    .with_topic(topic(name))
                    .with_partitions(vec![partition(0), partition(1)])
            };
            let mut response = OffsetForLeaderEpochResponse::default()
                .with_throttle_time_ms(5)
                .with_topics(vec![topic_result("orders"), topic_result("t")]);
            response.unknown_tagged_fields = flexible_from(4);
            ResponseKind::OffsetForLeaderEpoch(response)
        }
        ApiKey::DescribeConfigs => {
            let synonym = |name: &str| {
                describe_configs_response::DescribeConfigsSynonym::default()
                    .with_name(s(name))
                    .with_value(Some(s("1")))
                    .with_source(4)
            };
            let config = |name: &str| {
                describe_configs_response::DescribeConfigsResourceResult::default()
                    .with_name(s(name))
                    .with_value(Some(s("1")))
                    .with_read_only(true)
                    .with_config_source(5)
                    .with_is_sensitive(true)
                    .with_synonyms(vec![synonym("a"), synonym("b")])
                    .when(v >= 3, |c| {
                        c.with_config_type(3).with_documentation(Some(s("docs")))
                    })
            };
            let result = |name: &str| {
                describe_configs_response::DescribeConfigsResult::default()
                    .with_error_code(1)
                    .with_error_message(Some(s("denied")))
                    .with_resource_type(2)
                    .with_resource_name(s(name))
                    .with_configs(vec![config("retention.ms"), config("cleanup.policy")])
            };
            let mut response = DescribeConfigsResponse::default()
                .with_throttle_time_ms(5)
                .with_results(vec![result("orders"), result("t")]);
            response.unknown_tagged_fields = flexible_from(4);
            ResponseKind::DescribeConfigs(response)
        }
        ApiKey::CreatePartitions => {
            let result = |name: &str| {
                create_partitions_response::CreatePartitionsTopicResult::default()
                    .with_name(topic(name))
                    .with_error_code(1)
                    .with_error_message(Some(s("invalid")))
            };
            let mut response = CreatePartitionsResponse::default()
                .with_throttle_time_ms(5)
                .with_results(vec![result("orders"), result("t")]);
            response.unknown_tagged_fields = flexible_from(2);
            ResponseKind::CreatePartitions(response)
        }
        ApiKey::DeleteGroups => {
            let result = |id: &str| {
                delete_groups_response::DeletableGroupResult::default()
                    .with_group_id(GroupId(s(id)))
                    .with_error_code(1)
            };
            let mut response = DeleteGroupsResponse::default()
                .with_throttle_time_ms(5)
                .with_results(vec![result("g1"), result("group-2")]);
            response.unknown_tagged_fields = flexible_from(2);
            ResponseKind::DeleteGroups(response)
        }
        _ => return None,
    })
}
