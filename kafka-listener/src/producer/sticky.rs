//! Partition choice for records without a key: Kafka's uniform sticky partitioner (KIP-794).
//!
//! Keyless records stick to one partition until about `batch.size` bytes went to it, then move
//! to another partition chosen at random, so batches fill up and load spreads evenly.

use std::collections::HashMap;

/// Per-topic sticky partition state.
#[derive(Debug)]
pub struct StickyPartitions {
    batch_size: usize,
    topics: HashMap<String, Sticky>,
    random: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sticky {
    partition: i32,
    bytes: usize,
}

impl StickyPartitions {
    /// Switches partition after `batch_size` bytes.
    pub fn new(batch_size: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Self {
            batch_size: batch_size.max(1),
            topics: HashMap::new(),
            random: seed | 1,
        }
    }

    /// The partition for a keyless record of `size` bytes to `topic` with `partitions`.
    pub fn partition(&mut self, topic: &str, partitions: i32, size: usize) -> i32 {
        let next = self.next_random();
        let sticky = self.topics.entry(topic.to_owned()).or_insert(Sticky {
            partition: (next % partitions as u64) as i32,
            bytes: 0,
        });
        if sticky.partition >= partitions {
            sticky.partition = (next % partitions as u64) as i32;
        }
        let chosen = sticky.partition;
        sticky.bytes += size;
        if sticky.bytes >= self.batch_size {
            sticky.bytes = 0;
            if partitions > 1 {
                // Any partition but the current one.
                let offset = 1 + (next % (partitions as u64 - 1)) as i32;
                sticky.partition = (chosen + offset) % partitions;
            }
        }
        chosen
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: enough to spread partitions; not for anything secret.
        let mut x = self.random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.random = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyless_records_stick_until_a_batch_is_full_then_move() {
        let mut sticky = StickyPartitions::new(100);
        let first = sticky.partition("t", 6, 40);
        assert_eq!(sticky.partition("t", 6, 40), first);
        assert_eq!(
            sticky.partition("t", 6, 40),
            first,
            "120 bytes reached on this record"
        );
        let next = sticky.partition("t", 6, 40);
        assert_ne!(next, first);
    }

    #[test]
    fn keyless_records_spread_over_all_partitions() {
        let mut sticky = StickyPartitions::new(10);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..600 {
            seen.insert(sticky.partition("t", 6, 10));
        }
        assert_eq!(seen.len(), 6);
    }

    #[test]
    fn a_single_partition_topic_always_gets_partition_zero() {
        let mut sticky = StickyPartitions::new(1);
        for _ in 0..10 {
            assert_eq!(sticky.partition("t", 1, 5), 0);
        }
    }
}
