//! The latency scenarios' producer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_listener::producer::partition_for_key;
use rskafka::chrono::DateTime;
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::record::Record;

use super::{key_of, now_us, value_of, Latencies, Progress};

/// How often the paced producer sends what is due: one produce request per partition per tick.
/// Kafka serves one request per connection at a time, so a 1 ms tick (6,000 requests/s) queued
/// up behind the broker; 5 ms is Kafka 4's default linger.ms.
const SEND_TICK: Duration = Duration::from_millis(5);

/// A producer paced at a fixed rate: every [`SEND_TICK`] it sends the records that are due, one
/// produce request per partition, each value stamped with the time it was built. rskafka directly
/// rather than our `KafkaTemplate`: the template's per-record `send` reached only ~2,200 records/s
/// here (2026-11-25), so its backlog, not the listener, would have been measured.
pub struct PacedProducer {
    partitions: Vec<Arc<PartitionClient>>,
}

impl PacedProducer {
    pub async fn connect(bootstrap: &str, topic: &str, partitions: i32) -> Result<Self, String> {
        let client = super::security::connection(bootstrap)
            .rskafka_client()
            .await
            .map_err(|e| format!("connect the producer: {e}"))?;
        let mut clients = Vec::new();
        for partition in 0..partitions {
            let deadline = Instant::now() + Duration::from_secs(60);
            let partition_client = loop {
                match client
                    .partition_client(topic, partition, UnknownTopicHandling::Retry)
                    .await
                {
                    Ok(p) => break p,
                    Err(e) if Instant::now() > deadline => {
                        return Err(format!("partition {partition} of {topic}: {e}"))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            };
            clients.push(Arc::new(partition_client));
        }
        Ok(Self {
            partitions: clients,
        })
    }

    /// Sends records `first_id..first_id + records` at `rate` per second; returns once every
    /// produce request was acknowledged.
    pub async fn send(&self, records: u64, rate: u64, first_id: u64) -> Result<(), String> {
        let count = self.partitions.len() as i32;
        let started = Instant::now();
        let mut sent = 0u64;
        let mut ticks = tokio::time::interval(SEND_TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut in_flight = tokio::task::JoinSet::new();
        while sent < records {
            ticks.tick().await;
            let due = (started.elapsed().as_micros() as u64 * rate / 1_000_000).min(records);
            let mut batches: Vec<Vec<Record>> = vec![Vec::new(); self.partitions.len()];
            let now = now_us();
            let timestamp =
                DateTime::from_timestamp_millis((now / 1000) as i64).unwrap_or_default();
            for id in first_id + sent..first_id + due {
                let key = key_of(id, 10_000);
                let partition = partition_for_key(key.as_bytes(), count) as usize;
                let value = value_of(id, &key, now, 100);
                batches[partition].push(Record {
                    key: Some(key.into_bytes()),
                    value: Some(value),
                    headers: Default::default(),
                    timestamp,
                });
            }
            sent = due;
            for (partition, batch) in batches.into_iter().enumerate() {
                if batch.is_empty() {
                    continue;
                }
                let client = Arc::clone(&self.partitions[partition]);
                in_flight.spawn(async move {
                    client
                        .produce(batch, Compression::NoCompression)
                        .await
                        .map_err(|e| format!("produce to partition {partition}: {e}"))
                });
            }
            while let Some(done) = in_flight.try_join_next() {
                done.map_err(|e| format!("a produce task failed: {e}"))??;
            }
        }
        while let Some(done) = in_flight.join_next().await {
            done.map_err(|e| format!("a produce task failed: {e}"))??;
        }
        Ok(())
    }

    /// The latency measurement around a running consumer that feeds `progress` (expecting
    /// `records + 1`) and `latencies`: one warm-up record proves the consumer reads before the
    /// clock starts; then `records` records at `rate` per second; returns once all were handled.
    pub async fn measure(
        &self,
        progress: &Progress,
        latencies: &Latencies,
        records: u64,
        rate: u64,
    ) -> Result<(), String> {
        self.send(1, rate, 0).await?;
        let warm = Instant::now();
        while progress.count() < 1 {
            if warm.elapsed() > Duration::from_secs(120) {
                return Err("the warm-up record was never handled".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        latencies.clear();
        let sending = Instant::now();
        self.send(records, rate, 1).await?;
        // If the producer could not keep the pace, the latency includes its backlog: say so.
        eprintln!(
            "bench: sent and acknowledged {records} records in {:.2} s (target {:.2} s)",
            sending.elapsed().as_secs_f64(),
            records as f64 / rate as f64
        );
        tokio::time::timeout(Duration::from_secs(300), progress.wait())
            .await
            .map_err(|_| format!("handled {} of {} records", progress.count(), records + 1))
    }
}
