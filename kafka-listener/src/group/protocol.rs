//! ConsumerProtocol bytes: the subscription a member sends in JoinGroup and the assignment the
//! leader hands out in SyncGroup, encoded exactly as kafka-clients does — an i16 version prefix
//! (which kafka-protocol's codec leaves out) followed by the versioned body — so Java and
//! librdkafka members decode ours and we decode theirs.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    consumer_protocol_assignment, consumer_protocol_subscription, ConsumerProtocolAssignment,
    ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::TopicPartition;

/// The ConsumerProtocol version kafka-clients 3.x/4.x writes (rack id and generation included).
pub const CONSUMER_PROTOCOL_VERSION: i16 = 3;

/// The JoinGroup protocol type of every consumer group.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// A ConsumerProtocol payload that cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed consumer protocol {what}: {reason}")]
pub struct ProtocolError {
    what: &'static str,
    reason: String,
}

/// What one member asks for: its topics, the partitions it owns now (cooperative protocol),
/// its generation, rack and assignor-specific user data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Assignor-specific bytes (cooperative-sticky writes the generation here).
    pub user_data: Option<Bytes>,
    /// Partitions the member owns as it joins.
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation in which `owned_partitions` were assigned, -1 if none.
    pub generation_id: i32,
    /// `client.rack`.
    pub rack_id: Option<String>,
}

/// What the leader gives one member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The member's partitions.
    pub partitions: Vec<TopicPartition>,
    /// Assignor-specific bytes.
    pub user_data: Option<Bytes>,
}

impl Subscription {
    /// Encodes as kafka-clients does: i16 version 3, then the v3 body.
    pub fn encode(&self) -> Bytes {
        let message = ConsumerProtocolSubscription::default()
            .with_topics(self.topics.iter().map(|t| str_bytes(t)).collect())
            .with_user_data(self.user_data.clone())
            .with_owned_partitions(
                group_by_topic(&self.owned_partitions)
                    .into_iter()
                    .map(|(topic, partitions)| {
                        consumer_protocol_subscription::TopicPartition::default()
                            .with_topic(TopicName(str_bytes(topic)))
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
            .with_generation_id(self.generation_id)
            .with_rack_id(self.rack_id.as_deref().map(str_bytes));
        encode_versioned(&message)
    }

    /// Decodes a subscription of any version (newer versions read as version 3, as Java does).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        decode_subscription(bytes).map_err(|reason| ProtocolError {
            what: "subscription",
            reason,
        })
    }
}

impl Assignment {
    /// Encodes as kafka-clients does: i16 version 3, then the body.
    pub fn encode(&self) -> Bytes {
        let message = ConsumerProtocolAssignment::default()
            .with_assigned_partitions(
                group_by_topic(&self.partitions)
                    .into_iter()
                    .map(|(topic, partitions)| {
                        consumer_protocol_assignment::TopicPartition::default()
                            .with_topic(TopicName(str_bytes(topic)))
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
            .with_user_data(self.user_data.clone());
        encode_versioned(&message)
    }

    /// Decodes an assignment of any version. An empty payload (what a broker hands a member the
    /// leader gave nothing, or after a failed sync) is the empty assignment.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        decode_assignment(bytes).map_err(|reason| ProtocolError {
            what: "assignment",
            reason,
        })
    }
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// Partitions grouped per topic in first-seen topic order, as Java's ConsumerProtocol does.
fn group_by_topic(partitions: &[TopicPartition]) -> Vec<(&str, Vec<i32>)> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        let entry = by_topic.entry(tp.topic.as_str()).or_insert_with(|| {
            order.push(tp.topic.as_str());
            Vec::new()
        });
        entry.push(tp.partition);
    }
    order
        .into_iter()
        .map(|topic| (topic, by_topic.remove(topic).unwrap_or_default()))
        .collect()
}

fn encode_versioned<M: Encodable>(message: &M) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(CONSUMER_PROTOCOL_VERSION);
    // Encoding at a supported version only fails for strings or arrays over i16/i32 length,
    // which topic names (≤ 249 chars) and partition lists cannot reach.
    message
        .encode(&mut buf, CONSUMER_PROTOCOL_VERSION)
        .expect("consumer protocol fields fit their wire types");
    buf.freeze()
}

/// Reads the i16 version prefix; newer versions read as version 3 (their extra fields come
/// after the ones we know, and Java ignores them the same way).
fn read_version(reader: &mut Reader<'_>) -> Result<i16, String> {
    let version = reader.i16()?;
    if version < 0 {
        return Err(format!("negative version {version}"));
    }
    Ok(version.min(CONSUMER_PROTOCOL_VERSION))
}

fn decode_subscription(bytes: &[u8]) -> Result<Subscription, String> {
    let mut r = Reader(bytes);
    let version = read_version(&mut r)?;
    let topics = r.array(|r| r.string())?;
    let user_data = r.nullable_bytes()?;
    let owned_partitions = if version >= 1 {
        r.topic_partitions()?
    } else {
        Vec::new()
    };
    let generation_id = if version >= 2 { r.i32()? } else { -1 };
    let rack_id = if version >= 3 {
        r.nullable_string()?
    } else {
        None
    };
    Ok(Subscription {
        topics,
        user_data,
        owned_partitions,
        generation_id,
        rack_id,
    })
}

fn decode_assignment(bytes: &[u8]) -> Result<Assignment, String> {
    let mut r = Reader(bytes);
    read_version(&mut r)?;
    let partitions = r.topic_partitions()?;
    let user_data = r.nullable_bytes()?;
    Ok(Assignment {
        partitions,
        user_data,
    })
}

/// A bounds-checked reader for the (non-flexible) ConsumerProtocol layout. Decoding is our own
/// rather than kafka-protocol's because its decoder allocates whatever array length the input
/// claims — a hostile peer's 2^31 would abort the process — while here every length is checked
/// against the bytes actually left.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err(format!("needs {n} more bytes, {} left", self.0.len()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn nullable_string(&mut self) -> Result<Option<String>, String> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| "string is not UTF-8".to_owned())
    }

    fn string(&mut self) -> Result<String, String> {
        self.nullable_string()?
            .ok_or_else(|| "null where a string is required".to_owned())
    }

    fn nullable_bytes(&mut self) -> Result<Option<Bytes>, String> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(Bytes::copy_from_slice(self.take(len as usize)?)))
    }

    /// An array whose elements take at least one byte each, so a length beyond the bytes left
    /// is rejected before anything is allocated.
    fn array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Vec::new());
        }
        let len = len as usize;
        if len > self.0.len() {
            return Err(format!("array of {len} elements in {} bytes", self.0.len()));
        }
        (0..len).map(|_| element(self)).collect()
    }

    fn topic_partitions(&mut self) -> Result<Vec<TopicPartition>, String> {
        let per_topic = self.array(|r| {
            let topic = r.string()?;
            let partitions = r.array(|r| r.i32())?;
            Ok((topic, partitions))
        })?;
        Ok(per_topic
            .into_iter()
            .flat_map(|(topic, partitions)| {
                partitions
                    .into_iter()
                    .map(move |p| TopicPartition::new(topic.clone(), p))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    /// Bytes kafka-clients 4.x writes for `new Subscription(List.of("orders"), null,
    /// List.of(new TopicPartition("orders", 1)), 7, Optional.of("r1"))`, laid out by hand from
    /// ConsumerProtocolSubscription.json v3.
    fn java_subscription_bytes() -> Vec<u8> {
        let mut b = vec![0, 3]; // version 3
        b.extend([0, 0, 0, 1, 0, 6]); // topics: 1, "orders"
        b.extend(b"orders");
        b.extend([0xff, 0xff, 0xff, 0xff]); // user data: null
        b.extend([0, 0, 0, 1, 0, 6]); // owned partitions: 1 topic, "orders"
        b.extend(b"orders");
        b.extend([0, 0, 0, 1, 0, 0, 0, 1]); // [1]
        b.extend([0, 0, 0, 7]); // generation 7
        b.extend([0, 2]); // rack "r1"
        b.extend(b"r1");
        b
    }

    #[test]
    fn subscription_bytes_match_kafka_clients_layout() {
        let subscription = Subscription {
            topics: vec!["orders".into()],
            user_data: None,
            owned_partitions: vec![tp("orders", 1)],
            generation_id: 7,
            rack_id: Some("r1".into()),
        };
        assert_eq!(
            subscription.encode().as_ref(),
            &java_subscription_bytes()[..]
        );
        assert_eq!(
            Subscription::decode(&java_subscription_bytes()).unwrap(),
            subscription
        );
    }

    #[test]
    fn version_zero_subscription_from_an_old_client_decodes() {
        let mut b = vec![0, 0, 0, 0, 0, 1, 0, 1];
        b.extend(b"t");
        b.extend([0, 0, 0, 2, 0xab, 0xcd]);
        let decoded = Subscription::decode(&b).unwrap();
        assert_eq!(decoded.topics, ["t"]);
        assert_eq!(decoded.user_data.as_deref(), Some(&[0xab, 0xcd][..]));
        assert_eq!(decoded.generation_id, -1);
    }

    #[test]
    fn newer_versions_decode_as_version_three_ignoring_trailing_fields() {
        let mut b = java_subscription_bytes();
        b[1] = 9;
        b.extend([1, 2, 3, 4]);
        assert_eq!(Subscription::decode(&b).unwrap().generation_id, 7);
    }

    #[test]
    fn assignment_round_trips_and_groups_partitions_per_topic() {
        let assignment = Assignment {
            partitions: vec![tp("b", 0), tp("a", 2), tp("b", 3)],
            user_data: Some(Bytes::from_static(b"x")),
        };
        let bytes = assignment.encode();
        assert_eq!(&bytes[..2], &[0, 3]);
        let decoded = Assignment::decode(&bytes).unwrap();
        assert_eq!(decoded.partitions, vec![tp("b", 0), tp("b", 3), tp("a", 2)]);
        assert_eq!(decoded.user_data, assignment.user_data);
    }

    #[test]
    fn empty_assignment_payload_is_no_partitions() {
        assert_eq!(Assignment::decode(&[]).unwrap(), Assignment::default());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for garbage in [
            &[0u8][..],
            &[0xff, 0xff, 1, 2],
            &[0, 1, 0x7f, 0xff, 0xff, 0xff],
        ] {
            assert!(Subscription::decode(garbage).is_err(), "{garbage:?}");
        }
        assert!(Assignment::decode(&[0, 1, 0, 0, 0, 5]).is_err());
        // An array claiming 2^31-1 elements must be rejected, not allocated.
        assert!(Assignment::decode(&[0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0]).is_err());
    }
}
