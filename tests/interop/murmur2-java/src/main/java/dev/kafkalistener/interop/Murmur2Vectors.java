package dev.kafkalistener.interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

/**
 * Prints, as TSV, kafka-clients' murmur2 hash of a fixed set of serialized keys and the partition
 * its producer picks for each key under several partition counts. The Rust partitioner must agree
 * on every line; the output is checked in as tests/fixtures/murmur2_java_vectors.tsv.
 *
 * <p>The keys cover what reaches the partitioner in practice: the empty key, short and long ASCII
 * ids, UTF-8 text with 2-, 3- and 4-byte characters (as StringSerializer writes it), every length
 * modulo 4 (murmur2 mixes the 1-3 trailing bytes separately), and arbitrary bytes (binary keys,
 * Long/IntegerSerializer output).
 */
public final class Murmur2Vectors {

    /** Partition counts each key is placed under. */
    static final int[] PARTITION_COUNTS = {1, 2, 3, 6, 7, 12, 100, 1000};

    private static final String ALPHANUMERIC =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/";

    /** Code points from the 2-, 3- and 4-byte UTF-8 ranges (Latin-1, Cyrillic, CJK, emoji). */
    private static final int[] MULTIBYTE = {
        0xe9, 0xfc, 0xdf, 0x416, 0x44f, 0x3b1, 0x5d0, 0x20ac, 0x3042, 0x30ad, 0x4e2d, 0x6587,
        0xac00, 0xfffd, 0x1f511, 0x1f680, 0x1d11e, 0x10348
    };

    private Murmur2Vectors() {}

    public static void main(String[] args) {
        List<byte[]> keys = keys(new Random(20261125L));
        StringBuilder out = new StringBuilder();
        out.append("# kafka-clients ").append(org.apache.kafka.common.utils.internals.AppInfoParser.getVersion())
                .append(": Utils.murmur2(key) and BuiltInPartitioner.partitionForKey(key, n)\n");
        out.append("# key_hex\tmurmur2");
        for (int n : PARTITION_COUNTS) {
            out.append("\tpartitions_").append(n);
        }
        out.append('\n');
        HexFormat hex = HexFormat.of();
        for (byte[] key : keys) {
            out.append(key.length == 0 ? "-" : hex.formatHex(key)).append('\t').append(Utils.murmur2(key));
            for (int n : PARTITION_COUNTS) {
                int partition = BuiltInPartitioner.partitionForKey(key, n);
                // The producer's choice must be the documented formula; fail loudly if 4.4 changed it.
                if (partition != Utils.toPositive(Utils.murmur2(key)) % n) {
                    throw new IllegalStateException("partitionForKey is no longer toPositive(murmur2) % n");
                }
                out.append('\t').append(partition);
            }
            out.append('\n');
        }
        System.out.print(out);
    }

    static List<byte[]> keys(Random random) {
        List<byte[]> keys = new ArrayList<>();
        keys.add(new byte[0]);
        for (String fixed : List.of("21", "foobar", "abc", "a", "ab", "order-42", "key-0000", " ", "null")) {
            keys.add(utf8(fixed));
        }
        for (int i = 0; i < 200; i++) {
            keys.add(utf8("key-" + i));
        }
        for (int i = 0; i < 200; i++) {
            keys.add(utf8(ascii(random, 1 + random.nextInt(40))));
        }
        for (int i = 0; i < 250; i++) {
            keys.add(utf8(multibyte(random, 1 + random.nextInt(24))));
        }
        for (int i = 0; i < 60; i++) {
            keys.add(utf8(ascii(random, 100 + random.nextInt(3000))));
        }
        for (int i = 0; i < 200; i++) {
            byte[] bytes = new byte[random.nextInt(65)];
            random.nextBytes(bytes);
            keys.add(bytes);
        }
        for (int i = 0; i < 50; i++) {
            // Keys as LongSerializer and IntegerSerializer write them (big-endian).
            long value = random.nextLong();
            keys.add(java.nio.ByteBuffer.allocate(8).putLong(value).array());
            keys.add(java.nio.ByteBuffer.allocate(4).putInt((int) value).array());
        }
        return keys;
    }

    private static String ascii(Random random, int length) {
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            s.append(ALPHANUMERIC.charAt(random.nextInt(ALPHANUMERIC.length())));
        }
        return s.toString();
    }

    private static String multibyte(Random random, int length) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) {
            if (random.nextBoolean()) {
                s.append(ALPHANUMERIC.charAt(random.nextInt(ALPHANUMERIC.length())));
            } else {
                s.appendCodePoint(MULTIBYTE[random.nextInt(MULTIBYTE.length)]);
            }
        }
        return s.toString();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
