//! A bounded, deterministic stand-in for the `request_decoder` fuzz target that runs in every
//! `cargo test`: valid requests of every served API and version, mutated many ways, must decode
//! or fail with an error — never panic.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};

use crate::embedded::wire::{decode_request, SUPPORTED_APIS};

/// xorshift64*: deterministic, so a failure reproduces from its iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn body(api: ApiKey) -> Option<RequestKind> {
    let s = |v: &str| StrBytes::from_string(v.to_owned());
    Some(match api {
        ApiKey::Produce => {
            RequestKind::Produce(ProduceRequest::default().with_acks(1).with_topic_data(vec![
                produce_request::TopicProduceData::default()
                    .with_name(TopicName(s("t")))
                    .with_partition_data(vec![produce_request::PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(Bytes::from_static(&[0; 70])))]),
            ]))
        }
        ApiKey::Fetch => RequestKind::Fetch(FetchRequest::default().with_topics(
            vec![fetch_request::FetchTopic::default()
            .with_topic(TopicName(s("t")))
            .with_partitions(vec![fetch_request::FetchPartition::default()])],
        )),
        ApiKey::ListOffsets => {
            RequestKind::ListOffsets(ListOffsetsRequest::default().with_topics(vec![
            list_offsets_request::ListOffsetsTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![list_offsets_request::ListOffsetsPartition::default()]),
        ]))
        }
        ApiKey::Metadata => {
            RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(s("t")))),
        ])))
        }
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(
            OffsetCommitRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(TopicName(s("t")))
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default(),
                        ]),
                ]),
        ),
        ApiKey::OffsetFetch => {
            RequestKind::OffsetFetch(OffsetFetchRequest::default().with_group_id(GroupId(s("g"))))
        }
        ApiKey::FindCoordinator => {
            RequestKind::FindCoordinator(FindCoordinatorRequest::default().with_key(s("g")))
        }
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
        ApiKey::ApiVersions => RequestKind::ApiVersions(
            ApiVersionsRequest::default().with_client_software_name(s("x")),
        ),
        ApiKey::CreateTopics => {
            RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
                create_topics_request::CreatableTopic::default().with_name(TopicName(s("t"))),
            ]))
        }
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(DeleteTopicsRequest::default()),
        ApiKey::InitProducerId => RequestKind::InitProducerId(InitProducerIdRequest::default()),
        ApiKey::OffsetForLeaderEpoch => {
            RequestKind::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest::default())
        }
        ApiKey::DescribeConfigs => {
            RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default().with_resource_name(s("t")),
        ]))
        }
        ApiKey::CreatePartitions => {
            RequestKind::CreatePartitions(CreatePartitionsRequest::default())
        }
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(
            DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]),
        ),
        _ => return None,
    })
}

/// One valid frame (without size prefix) per served API and version. Encoding may refuse a
/// field a version lacks; those combinations are skipped.
pub(crate) fn seed_frames() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for &(api, min, max) in SUPPORTED_APIS {
        for version in min..=max {
            let Some(body) = body(api) else { continue };
            let header = RequestHeader::default()
                .with_request_api_key(api as i16)
                .with_request_api_version(version)
                .with_correlation_id(7)
                .with_client_id(Some(StrBytes::from_static_str("fuzz")));
            let mut frame = BytesMut::new();
            if header
                .encode(&mut frame, api.request_header_version(version))
                .is_err()
            {
                continue;
            }
            if body.encode(&mut frame, version).is_err() {
                continue;
            }
            seeds.push(frame.to_vec());
        }
    }
    seeds
}

fn mutate(rng: &mut Rng, frame: &mut Vec<u8>) {
    match rng.below(6) {
        0 if !frame.is_empty() => {
            let i = rng.below(frame.len());
            frame[i] ^= 1 << rng.below(8);
        }
        1 if !frame.is_empty() => {
            let i = rng.below(frame.len());
            frame[i] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)];
        }
        2 => {
            let keep = rng.below(frame.len() + 1);
            frame.truncate(keep);
        }
        3 => {
            let i = rng.below(frame.len() + 1);
            frame.insert(i, rng.next() as u8);
        }
        4 if frame.len() >= 4 => {
            // Interesting 32-bit values: lengths and counts at their limits.
            let i = rng.below(frame.len() - 3);
            let v = [0i32, -1, 1, i32::MAX, i32::MIN, 0x7fff, 0x10000][rng.below(7)];
            frame[i..i + 4].copy_from_slice(&v.to_be_bytes());
        }
        _ => {
            let mut tail = BytesMut::new();
            tail.put_u64(rng.next());
            frame.extend_from_slice(&tail);
        }
    }
}

#[test]
fn every_served_api_and_version_has_a_seed() {
    let seeds = seed_frames();
    let served: usize = SUPPORTED_APIS
        .iter()
        .map(|&(_, min, max)| (max - min + 1) as usize)
        .sum();
    assert!(
        seeds.len() * 10 >= served * 9,
        "{} seeds for {served} versions",
        seeds.len()
    );
    for seed in &seeds {
        decode_request(seed).unwrap_or_else(|e| panic!("seed does not decode: {e}"));
    }
}

/// How many mutated inputs one `cargo test` decodes.
const MUTATED_INPUTS: usize = 3_000;
const CHILD_TEST: &str = "embedded::tests::decoder_mutations::decoder_mutation_child";
const START_ENV: &str = "KAFKA_LISTENER_DECODER_MUTATION_START";

/// The deterministic sequence of mutated frames.
fn mutated_inputs() -> impl Iterator<Item = Vec<u8>> {
    let seeds = seed_frames();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..MUTATED_INPUTS).map(move |_| {
        let mut frame = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut frame);
        }
        frame
    })
}

/// Runs in a child process: decodes the inputs from `START_ENV` on, printing each index first,
/// so the parent can tell which input ended the process.
#[test]
#[ignore = "child process of mutated_requests_decode_or_fail_cleanly"]
fn decoder_mutation_child() {
    use std::io::Write;
    let Some(start) = std::env::var(START_ENV)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return;
    };
    let mut out = std::io::stdout().lock();
    for (i, frame) in mutated_inputs().enumerate().skip(start) {
        write!(out, "\n@{i}\n")
            .and_then(|_| out.flush())
            .expect("stdout");
        let _ = decode_request(&frame);
    }
    writeln!(out, "@done").expect("stdout");
}

/// Every mutated input decodes or is refused with an error. The inputs run in child processes
/// because kafka-protocol 0.18 reserves `Vec` capacity for an array's declared length before
/// reading it: a forged length makes it request terabytes, and the failed allocation aborts the
/// process (not a panic we could catch). Those aborts are counted and reported as the known
/// upstream defect; any panic, or any other way of dying, fails this test.
#[test]
fn mutated_requests_decode_or_fail_cleanly() {
    let exe = std::env::current_exe().expect("test binary path");
    let mut start = 0;
    let mut upstream_aborts = Vec::new();
    loop {
        let output = std::process::Command::new(&exe)
            .args([
                CHILD_TEST,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(START_ENV, start.to_string())
            .output()
            .expect("run the decoder child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stdout.contains("@done") {
            assert!(
                output.status.success(),
                "child failed after finishing: {stderr}"
            );
            break;
        }
        let last: usize = stdout
            .lines()
            .filter_map(|l| l.rsplit_once('@').map(|(_, n)| n))
            .filter_map(|n| n.parse().ok())
            .next_back()
            .unwrap_or_else(|| panic!("child decoded nothing: {stderr}"));
        let allocation_abort =
            stderr.contains("memory allocation of") && !stderr.contains("panicked");
        assert!(
            allocation_abort,
            "decoding mutated input {last} failed: {stderr}"
        );
        upstream_aborts.push(last);
        start = last + 1;
    }
    eprintln!(
        "{} mutated requests decoded or refused; {} hit kafka-protocol's unbounded Vec::with_capacity: {:?}",
        MUTATED_INPUTS,
        upstream_aborts.len(),
        &upstream_aborts[..upstream_aborts.len().min(20)]
    );
}
