//! Which offset of one partition may be committed, when records finish out of order.
//!
//! Records are dispatched in offset order but may be acknowledged in any order (parallel
//! processing, MANUAL acks). Only the contiguous acknowledged prefix of what was dispatched may
//! be committed: committing past an unfinished record would lose it on a restart. Offsets of
//! dispatched records need not be consecutive (compaction and transaction markers leave gaps),
//! so contiguity is over the dispatched sequence, not over integers.

use std::collections::VecDeque;

/// Why an acknowledgment was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckRejected {
    /// The offset was never dispatched on this assignment, or its partition was revoked and
    /// re-assigned since: committing it could skip records.
    #[error("offset {offset} is not in flight on this partition (revoked, re-delivered, or never dispatched)")]
    NotInFlight {
        /// The offset acknowledged.
        offset: i64,
    },
}

/// Tracks dispatched and acknowledged offsets of one partition.
///
/// ```
/// use kafka_listener::container::OffsetTracker;
///
/// let mut tracker = OffsetTracker::new(10);
/// for offset in 10..14 {
///     tracker.dispatched(offset);
/// }
/// tracker.acknowledge(11).unwrap();
/// tracker.acknowledge(12).unwrap();
/// assert_eq!(tracker.committable(), None); // 10 is still running
/// tracker.acknowledge(10).unwrap();
/// assert_eq!(tracker.committable(), Some(13)); // 10, 11, 12 done; 13 is not
/// tracker.committed(13);
/// assert_eq!(tracker.committable(), None);
/// ```
#[derive(Debug, Clone)]
pub struct OffsetTracker {
    /// Dispatched offsets not yet below the committed position, in dispatch (= offset) order,
    /// each with whether it has been acknowledged.
    in_flight: VecDeque<(i64, bool)>,
    /// The position the group has committed (next offset to consume after a restart).
    committed: i64,
    /// The highest position the acknowledged prefix reaches, maybe not committed yet.
    acked_position: i64,
}

impl OffsetTracker {
    /// A tracker for a partition whose consumption starts at `position` (the committed offset or
    /// the reset position).
    pub fn new(position: i64) -> Self {
        Self {
            in_flight: VecDeque::new(),
            committed: position,
            acked_position: position,
        }
    }

    /// Records that `offset` was handed to a handler. Offsets must increase.
    pub fn dispatched(&mut self, offset: i64) {
        debug_assert!(
            self.in_flight.back().is_none_or(|&(last, _)| offset > last),
            "offsets must be dispatched in increasing order"
        );
        self.in_flight.push_back((offset, false));
    }

    /// Marks `offset` as done. The committable position advances over the acknowledged prefix.
    pub fn acknowledge(&mut self, offset: i64) -> Result<(), AckRejected> {
        let index = self
            .in_flight
            .binary_search_by_key(&offset, |&(o, _)| o)
            .map_err(|_| AckRejected::NotInFlight { offset })?;
        self.in_flight[index].1 = true;
        self.advance_over_acknowledged_prefix();
        Ok(())
    }

    /// Marks every dispatched offset up to and including `offset` as done (a batch ack).
    pub fn acknowledge_up_to(&mut self, offset: i64) {
        while let Some(&(front, _)) = self.in_flight.front() {
            if front > offset {
                break;
            }
            self.in_flight.pop_front();
            self.acked_position = front + 1;
        }
        self.advance_over_acknowledged_prefix();
    }

    /// Drops acknowledged records from the front; the acknowledged position follows them.
    fn advance_over_acknowledged_prefix(&mut self) {
        while let Some(&(offset, true)) = self.in_flight.front() {
            self.in_flight.pop_front();
            self.acked_position = offset + 1;
        }
    }

    /// Records that the partition's log up to `position` held nothing to dispatch after the
    /// last dispatched offset (transaction markers, aborted transactions): once everything
    /// dispatched is acknowledged, the committable position reaches `position`. `true` if that
    /// moved anything.
    pub fn skipped_to(&mut self, position: i64) -> bool {
        let last = self
            .in_flight
            .back()
            .map_or(self.acked_position - 1, |&(offset, _)| offset);
        if position - 1 <= last {
            return false;
        }
        self.in_flight.push_back((position - 1, true));
        self.advance_over_acknowledged_prefix();
        true
    }

    /// Forgets one dispatched record that will never run on this assignment (a seek dropped
    /// it before its handler started): it no longer holds back the committable prefix.
    pub fn forget(&mut self, offset: i64) {
        // Skipped on purpose: the prefix moves over it like over an acknowledged record.
        if let Ok(index) = self.in_flight.binary_search_by_key(&offset, |&(o, _)| o) {
            self.in_flight[index].1 = true;
            self.advance_over_acknowledged_prefix();
        }
    }

    /// Records the tracker holds: dispatched, and not yet in the acknowledged prefix.
    pub fn held(&self) -> usize {
        self.in_flight.len()
    }

    /// Forgets everything dispatched at or after `offset`, which will be delivered again (nack,
    /// seek, retry). Acknowledgments of those offsets that arrive later are rejected.
    pub fn rewind_to(&mut self, offset: i64) {
        while self.in_flight.back().is_some_and(|&(o, _)| o >= offset) {
            self.in_flight.pop_back();
        }
        if offset < self.acked_position {
            self.acked_position = offset.max(self.committed);
        }
    }

    /// The offset to commit now, if the acknowledged prefix moved past the last commit.
    pub fn committable(&self) -> Option<i64> {
        (self.acked_position > self.committed).then_some(self.acked_position)
    }

    /// Records a successful commit of `position`.
    pub fn committed(&mut self, position: i64) {
        self.committed = self.committed.max(position);
    }

    /// The last committed position.
    pub fn committed_position(&self) -> i64 {
        self.committed
    }

    /// How many dispatched records are not yet acknowledged-and-contiguous.
    pub fn in_flight(&self) -> usize {
        self.in_flight.iter().filter(|&&(_, acked)| !acked).count()
    }

    /// `true` when every dispatched record is acknowledged.
    pub fn is_drained(&self) -> bool {
        self.in_flight.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker_with(start: i64, offsets: &[i64]) -> OffsetTracker {
        let mut tracker = OffsetTracker::new(start);
        for &offset in offsets {
            tracker.dispatched(offset);
        }
        tracker
    }

    #[test]
    fn in_order_acks_commit_last_handled_plus_one() {
        let mut tracker = tracker_with(0, &[0, 1, 2]);
        tracker.acknowledge(0).unwrap();
        assert_eq!(tracker.committable(), Some(1));
        tracker.acknowledge(1).unwrap();
        tracker.acknowledge(2).unwrap();
        assert_eq!(tracker.committable(), Some(3));
        assert!(tracker.is_drained());
    }

    #[test]
    fn out_of_order_acks_commit_only_the_contiguous_prefix() {
        let mut tracker = tracker_with(5, &[5, 6, 7, 8]);
        tracker.acknowledge(8).unwrap();
        tracker.acknowledge(6).unwrap();
        assert_eq!(tracker.committable(), None);
        tracker.acknowledge(5).unwrap();
        assert_eq!(tracker.committable(), Some(7));
        assert_eq!(tracker.in_flight(), 1);
        tracker.acknowledge(7).unwrap();
        assert_eq!(tracker.committable(), Some(9));
    }

    #[test]
    fn gaps_in_offsets_do_not_block_the_prefix() {
        // Compacted topic: offsets 3 and 4 no longer exist.
        let mut tracker = tracker_with(0, &[0, 2, 5]);
        tracker.acknowledge(0).unwrap();
        tracker.acknowledge(2).unwrap();
        tracker.acknowledge(5).unwrap();
        assert_eq!(tracker.committable(), Some(6));
    }

    #[test]
    fn acknowledging_an_unknown_offset_is_rejected_and_commits_nothing() {
        let mut tracker = tracker_with(0, &[0, 1]);
        assert_eq!(
            tracker.acknowledge(7),
            Err(AckRejected::NotInFlight { offset: 7 })
        );
        assert_eq!(tracker.committable(), None);
    }

    #[test]
    fn rewind_drops_later_records_and_rejects_their_late_acks() {
        let mut tracker = tracker_with(0, &[0, 1, 2, 3]);
        tracker.acknowledge(0).unwrap();
        tracker.rewind_to(2);
        assert_eq!(
            tracker.acknowledge(3),
            Err(AckRejected::NotInFlight { offset: 3 })
        );
        tracker.acknowledge(1).unwrap();
        assert_eq!(tracker.committable(), Some(2));
        tracker.dispatched(2);
        tracker.acknowledge(2).unwrap();
        assert_eq!(tracker.committable(), Some(3));
    }

    #[test]
    fn committed_position_suppresses_repeat_commits() {
        let mut tracker = tracker_with(0, &[0]);
        tracker.acknowledge(0).unwrap();
        tracker.committed(1);
        assert_eq!(tracker.committable(), None);
        assert_eq!(tracker.committed_position(), 1);
    }

    #[test]
    fn skipped_markers_become_committable_once_earlier_records_are_acknowledged() {
        let mut tracker = tracker_with(0, &[0, 1]);
        assert!(tracker.skipped_to(3), "offset 2 was a commit marker");
        assert_eq!(tracker.committable(), None, "0 and 1 still run");
        tracker.acknowledge(0).unwrap();
        tracker.acknowledge(1).unwrap();
        assert_eq!(tracker.committable(), Some(3));
        assert!(!tracker.skipped_to(3), "nothing new to skip");
        tracker.dispatched(3);
        tracker.acknowledge(3).unwrap();
        assert_eq!(tracker.committable(), Some(4));
    }

    #[test]
    fn batch_ack_covers_everything_up_to_the_offset() {
        let mut tracker = tracker_with(0, &[0, 1, 2, 3]);
        tracker.acknowledge(3).unwrap();
        tracker.acknowledge_up_to(1);
        assert_eq!(tracker.committable(), Some(2));
        tracker.acknowledge_up_to(2);
        assert_eq!(tracker.committable(), Some(4));
    }

    #[test]
    fn a_forgotten_record_no_longer_holds_back_the_prefix() {
        let mut tracker = tracker_with(0, &[0, 1, 2, 3]);
        tracker.acknowledge(0).unwrap();
        tracker.forget(2);
        tracker.acknowledge(1).unwrap();
        assert_eq!(tracker.committable(), Some(3));
        tracker.forget(3);
        assert_eq!(tracker.committable(), Some(4));
        assert!(tracker.is_drained());
    }
}
