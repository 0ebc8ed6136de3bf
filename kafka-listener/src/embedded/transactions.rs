//! The transaction coordinator: producer ids and epochs per transactional id, the partitions of
//! each open transaction, and the commit or abort markers written when it ends (Kafka's
//! transaction protocol v1: InitProducerId, AddPartitionsToTxn, Produce, EndTxn).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::codes;
use super::topics::{Topic, TopicRegistry};

#[derive(Debug)]
struct TransactionalProducer {
    producer_id: i64,
    epoch: i16,
    /// Partitions written in the open transaction (empty when none is open).
    partitions: BTreeSet<(String, i32)>,
}

/// Producer ids, and every transactional id's state.
#[derive(Debug)]
pub(crate) struct Transactions {
    next_producer_id: AtomicI64,
    producers: Mutex<HashMap<String, TransactionalProducer>>,
}

impl Transactions {
    pub(crate) fn new() -> Self {
        Self {
            next_producer_id: AtomicI64::new(1000),
            producers: Mutex::new(HashMap::new()),
        }
    }

    /// InitProducerId: a fresh id for an idempotent producer; for a transactional id, its id
    /// with the epoch bumped (fencing older instances), after aborting what the previous
    /// instance left open.
    pub(crate) fn init_producer(
        &self,
        transactional_id: Option<&str>,
        topics: &TopicRegistry,
    ) -> Result<(i64, i16), i16> {
        let Some(transactional_id) = transactional_id.filter(|id| !id.is_empty()) else {
            return Ok((self.next_producer_id.fetch_add(1, Ordering::Relaxed), 0));
        };
        let mut producers = self.producers.lock().expect("transactions lock");
        match producers.get_mut(transactional_id) {
            Some(producer) => {
                write_markers(producer, false, topics);
                if producer.epoch == i16::MAX - 1 {
                    producer.producer_id = self.next_producer_id.fetch_add(1, Ordering::Relaxed);
                    producer.epoch = 0;
                } else {
                    producer.epoch += 1;
                }
                Ok((producer.producer_id, producer.epoch))
            }
            None => {
                let producer_id = self.next_producer_id.fetch_add(1, Ordering::Relaxed);
                producers.insert(
                    transactional_id.to_owned(),
                    TransactionalProducer {
                        producer_id,
                        epoch: 0,
                        partitions: BTreeSet::new(),
                    },
                );
                Ok((producer_id, 0))
            }
        }
    }

    /// AddPartitionsToTxn: the partitions join the open transaction. The error code per
    /// partition, or one for the whole request.
    pub(crate) fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        topics: &TopicRegistry,
    ) -> Result<Vec<i16>, i16> {
        let mut producers = self.producers.lock().expect("transactions lock");
        let producer = checked(&mut producers, transactional_id, producer_id, epoch)?;
        Ok(partitions
            .iter()
            .map(|(topic, partition)| {
                match topics.get(topic).and_then(|t| t.partition(*partition)) {
                    Some(_) => {
                        producer.partitions.insert((topic.clone(), *partition));
                        codes::NONE
                    }
                    None => codes::UNKNOWN_TOPIC_OR_PARTITION,
                }
            })
            .collect())
    }

    /// EndTxn: writes a commit or abort marker to every partition of the transaction.
    pub(crate) fn end(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        topics: &TopicRegistry,
    ) -> Result<(), i16> {
        let mut producers = self.producers.lock().expect("transactions lock");
        let producer = checked(&mut producers, transactional_id, producer_id, epoch)?;
        write_markers(producer, commit, topics);
        Ok(())
    }
}

fn checked<'a>(
    producers: &'a mut HashMap<String, TransactionalProducer>,
    transactional_id: &str,
    producer_id: i64,
    epoch: i16,
) -> Result<&'a mut TransactionalProducer, i16> {
    let producer = producers
        .get_mut(transactional_id)
        .filter(|p| p.producer_id == producer_id)
        .ok_or(codes::INVALID_PRODUCER_ID_MAPPING)?;
    if epoch < producer.epoch {
        return Err(codes::PRODUCER_FENCED);
    }
    if epoch > producer.epoch {
        return Err(codes::INVALID_PRODUCER_EPOCH);
    }
    Ok(producer)
}

fn write_markers(producer: &mut TransactionalProducer, commit: bool, topics: &TopicRegistry) {
    for (topic, partition) in std::mem::take(&mut producer.partitions) {
        let log = topics
            .get(&topic)
            .and_then(|t: Arc<Topic>| t.partition(partition));
        if let Some(log) = log {
            log.write_marker(producer.producer_id, producer.epoch, commit);
        }
    }
}
