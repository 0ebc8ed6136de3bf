//! The consumer-group client against the embedded broker or, with `KAFKA_BOOTSTRAP_SERVERS`
//! set, real Kafka: membership, rebalances, commits and offsets, coordinator failover.

#[path = "../group_support/mod.rs"]
mod group_support;

mod group_commits;
mod group_failover;
mod group_membership;
mod group_offsets;
mod group_rebalance;
