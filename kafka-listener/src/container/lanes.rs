//! Which records of a partition may run now: key-ordered parallel dispatch.
//!
//! A partition's records are admitted in offset order. With [`DispatchOrdering::Key`], records
//! that share a key form a lane and run one after another in offset order, while records of
//! different keys run concurrently; [`DispatchOrdering::Partition`] puts every record in one lane
//! (Spring's one-at-a-time order), [`DispatchOrdering::Unordered`] gives each record its own.
//! Records without a key share one lane under `Key` ordering, so their relative order is kept.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use crate::record::ConsumerRecord;

pub use crate::vocabulary::DispatchOrdering;

/// How many records of one partition may be in flight at once, and in what order.
///
/// ```
/// use kafka_listener::container::{DispatchOrdering, Parallelism};
///
/// let sequential = Parallelism::default();
/// assert!(!sequential.is_parallel());
/// let wide = Parallelism::new(64, DispatchOrdering::Key);
/// assert!(wide.is_parallel());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// The window: records admitted (running or waiting behind their key) at most. When it is
    /// full the partition stops fetching until a record completes.
    pub max_in_flight: usize,
    /// Which records may overtake which.
    pub ordering: DispatchOrdering,
}

impl Parallelism {
    /// `max_in_flight` records at once (at least one) in `ordering`.
    pub fn new(max_in_flight: usize, ordering: DispatchOrdering) -> Self {
        Self {
            max_in_flight: max_in_flight.max(1),
            ordering,
        }
    }

    /// `true` when more than one record of a partition may run at a time.
    pub fn is_parallel(&self) -> bool {
        self.max_in_flight > 1 && self.ordering != DispatchOrdering::Partition
    }
}

impl Default for Parallelism {
    fn default() -> Self {
        Self::new(1, DispatchOrdering::Key)
    }
}

/// A lane's identity: a hash of the key (a collision only serializes two keys, never reorders).
pub(crate) type LaneId = u64;

/// The admitted records of one partition, by lane.
#[derive(Debug)]
pub(crate) struct Lanes {
    ordering: DispatchOrdering,
    /// Records waiting behind the running record of their lane; a lane with an empty queue has
    /// one running record.
    waiting: HashMap<LaneId, VecDeque<ConsumerRecord>>,
    /// Running unordered records (they have no lane entry).
    unlaned_running: usize,
    admitted: usize,
}

impl Lanes {
    pub(crate) fn new(ordering: DispatchOrdering) -> Self {
        Self {
            ordering,
            waiting: HashMap::new(),
            unlaned_running: 0,
            admitted: 0,
        }
    }

    /// Records running or waiting.
    pub(crate) fn admitted(&self) -> usize {
        self.admitted
    }

    /// The lane `record` belongs to; `None` for records that run unordered.
    pub(crate) fn lane_of(&self, record: &ConsumerRecord) -> Option<LaneId> {
        match self.ordering {
            DispatchOrdering::Unordered => None,
            DispatchOrdering::Partition => Some(0),
            DispatchOrdering::Key => {
                let mut hasher = DefaultHasher::new();
                record.key.as_deref().hash(&mut hasher);
                Some(hasher.finish())
            }
        }
    }

    /// Admits the next record of the partition: returns it if it may start now, or keeps it
    /// until the running record of its lane finishes.
    pub(crate) fn admit(&mut self, record: ConsumerRecord) -> Option<ConsumerRecord> {
        self.admitted += 1;
        let Some(lane) = self.lane_of(&record) else {
            self.unlaned_running += 1;
            return Some(record);
        };
        match self.waiting.entry(lane) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push_back(record);
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(VecDeque::new());
                Some(record)
            }
        }
    }

    /// The running record of `lane` finished: returns the next record of that lane to start.
    pub(crate) fn finished(&mut self, lane: Option<LaneId>) -> Option<ConsumerRecord> {
        self.admitted = self.admitted.saturating_sub(1);
        let Some(lane) = lane else {
            self.unlaned_running = self.unlaned_running.saturating_sub(1);
            return None;
        };
        let Entry::Occupied(mut queue) = self.waiting.entry(lane) else {
            return None;
        };
        match queue.get_mut().pop_front() {
            Some(next) => Some(next),
            None => {
                queue.remove();
                None
            }
        }
    }

    /// Drops every record that has not started (seek, stop); running records stay admitted.
    /// Returns the offsets dropped.
    pub(crate) fn drop_waiting(&mut self) -> Vec<i64> {
        let dropped: Vec<i64> = self
            .waiting
            .values_mut()
            .flat_map(|queue| queue.drain(..).map(|r| r.offset))
            .collect();
        self.admitted -= dropped.len();
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record(offset: i64, key: Option<&str>) -> ConsumerRecord {
        ConsumerRecord {
            offset,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            ..ConsumerRecord::default()
        }
    }

    fn offsets(started: impl IntoIterator<Item = Option<ConsumerRecord>>) -> Vec<i64> {
        started.into_iter().flatten().map(|r| r.offset).collect()
    }

    #[test]
    fn records_of_different_keys_start_at_once_and_same_keys_queue_in_offset_order() {
        let mut lanes = Lanes::new(DispatchOrdering::Key);
        let started = offsets([
            lanes.admit(record(0, Some("a"))),
            lanes.admit(record(1, Some("b"))),
            lanes.admit(record(2, Some("a"))),
            lanes.admit(record(3, Some("a"))),
        ]);
        assert_eq!(started, [0, 1]);
        assert_eq!(lanes.admitted(), 4);
        let a = lanes.lane_of(&record(9, Some("a")));
        assert_eq!(lanes.finished(a).map(|r| r.offset), Some(2));
        assert_eq!(lanes.finished(a).map(|r| r.offset), Some(3));
        assert_eq!(lanes.finished(a), None);
        // The lane is gone: the next "a" starts at once.
        assert_eq!(lanes.admit(record(4, Some("a"))).map(|r| r.offset), Some(4));
        assert_eq!(lanes.admitted(), 2);
    }

    #[test]
    fn keyless_records_share_one_lane_under_key_ordering() {
        let mut lanes = Lanes::new(DispatchOrdering::Key);
        let started = offsets([lanes.admit(record(0, None)), lanes.admit(record(1, None))]);
        assert_eq!(started, [0]);
    }

    #[test]
    fn partition_ordering_runs_one_record_at_a_time() {
        let mut lanes = Lanes::new(DispatchOrdering::Partition);
        let started = offsets([
            lanes.admit(record(0, Some("a"))),
            lanes.admit(record(1, Some("b"))),
        ]);
        assert_eq!(started, [0]);
        assert_eq!(lanes.finished(Some(0)).map(|r| r.offset), Some(1));
    }

    #[test]
    fn unordered_records_all_start_and_count_until_finished() {
        let mut lanes = Lanes::new(DispatchOrdering::Unordered);
        let started = offsets([
            lanes.admit(record(0, Some("a"))),
            lanes.admit(record(1, Some("a"))),
        ]);
        assert_eq!(started, [0, 1]);
        assert_eq!(lanes.finished(None), None);
        assert_eq!(lanes.admitted(), 1);
    }

    #[test]
    fn dropping_waiting_records_keeps_the_running_ones_admitted() {
        let mut lanes = Lanes::new(DispatchOrdering::Key);
        for offset in 0..5 {
            lanes.admit(record(offset, Some("k")));
        }
        assert_eq!(lanes.drop_waiting(), [1, 2, 3, 4]);
        assert_eq!(lanes.admitted(), 1);
        assert_eq!(lanes.finished(lanes.lane_of(&record(0, Some("k")))), None);
        assert_eq!(lanes.admitted(), 0);
    }
}
