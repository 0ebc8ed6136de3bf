//! Partition choice identical to Java's producer, so a key lands on the same partition whichever
//! service produced it (per-key ordering across a mixed Java/Rust estate depends on it).

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`) of the serialized key.
///
/// ```
/// use kafka_listener::producer::murmur2;
/// assert_eq!(murmur2(b"21"), -973_932_308);
/// assert_eq!(murmur2(b"foobar"), -790_332_482);
/// ```
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    // Java mixes the trailing bytes in with fall-through from the highest one down.
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Java's default partitioner picks for a keyed record:
/// `toPositive(murmur2(key)) % partitions`.
///
/// ```
/// use kafka_listener::producer::partition_for_key;
/// assert_eq!(partition_for_key(b"order-42", 6), partition_for_key(b"order-42", 6));
/// assert!(partition_for_key(b"order-42", 6) < 6);
/// ```
///
/// # Panics
/// If `partitions` is not positive: a topic always has at least one partition.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition");
    // Java's toPositive masks the sign bit rather than taking the absolute value.
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from Apache Kafka's own tests of `Utils.murmur2`.
    #[test]
    fn murmur2_matches_kafkas_reference_values() {
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input.as_bytes()), expected, "murmur2({input:?})");
        }
    }

    #[test]
    fn murmur2_of_the_empty_key_is_stable() {
        assert_eq!(murmur2(b""), murmur2(&[]));
    }

    #[test]
    fn murmur2_partition_masks_the_sign_bit_like_java() {
        // murmur2("21") is negative; Java's toPositive keeps the low 31 bits.
        let expected = (-973_932_308i32 & 0x7fff_ffff) % 7;
        assert_eq!(partition_for_key(b"21", 7), expected);
    }
}
