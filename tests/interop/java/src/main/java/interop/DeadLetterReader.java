package interop;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.springframework.kafka.support.KafkaHeaders;

/**
 * Scenario {@code dlt-read}: reads the dead letters our listener published
 * ({@code interop-listener-peer dlt-publish}, tests/interop/listener_peer/dead_letter.rs) and
 * decodes Spring's {@code kafka_dlt-*} headers the way Spring Kafka's DeadLetterPublishingRecoverer
 * encodes them: names from Spring's own {@link KafkaHeaders}, partition as a 4-byte big-endian int,
 * offset and timestamp as 8-byte big-endian longs, the rest UTF-8.
 *
 * <p>The data set: topic {@code interop-R-dlt} (3 partitions), on partition p at offset 0 key
 * {@code dlt-p}, value {@code poison-p}, timestamp 1700000000000 + p; group
 * {@code interop-R-dlt-group}; the handler fails with the Rust error {@code InteropPoison},
 * message {@code record dlt-p is poison}.
 */
final class DeadLetterReader {
    static final int PARTITIONS = 3;
    static final long BASE_TIMESTAMP = 1_700_000_000_000L;

    private DeadLetterReader() {}

    static void read(String bootstrap, String run) throws Scenarios.Failed {
        String topic = "interop-" + run + "-dlt";
        String dlt = topic + "-dlt";
        Properties props = ClientConfig.forBootstrap(bootstrap);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "interop-java-dlt");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(dlt, p));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (records.size() < PARTITIONS && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        if (records.size() != PARTITIONS) {
            throw new Scenarios.Failed("expected " + PARTITIONS + " dead letters in " + dlt + ", read " + records.size());
        }
        for (ConsumerRecord<byte[], byte[]> record : records) {
            check(record, topic, "interop-" + run + "-dlt-group");
        }
    }

    private static void check(ConsumerRecord<byte[], byte[]> record, String topic, String group)
            throws Scenarios.Failed {
        int p = record.partition();
        String where = "dead letter on partition " + p + ": ";
        expect(where + "key", "dlt-" + p, utf8(record.key()));
        expect(where + "value (raw, as received)", "poison-" + p, utf8(record.value()));
        expect(where + KafkaHeaders.DLT_ORIGINAL_TOPIC, topic, utf8(last(record, KafkaHeaders.DLT_ORIGINAL_TOPIC)));
        // Spring: ByteBuffer.allocate(Integer.BYTES).putInt(record.partition()).
        byte[] partition = last(record, KafkaHeaders.DLT_ORIGINAL_PARTITION);
        expect(where + KafkaHeaders.DLT_ORIGINAL_PARTITION + " length", 4, partition.length);
        expect(where + KafkaHeaders.DLT_ORIGINAL_PARTITION, p, ByteBuffer.wrap(partition).getInt());
        // Spring: ByteBuffer.allocate(Long.BYTES).putLong(record.offset()).
        byte[] offset = last(record, KafkaHeaders.DLT_ORIGINAL_OFFSET);
        expect(where + KafkaHeaders.DLT_ORIGINAL_OFFSET + " length", 8, offset.length);
        expect(where + KafkaHeaders.DLT_ORIGINAL_OFFSET, 0L, ByteBuffer.wrap(offset).getLong());
        byte[] timestamp = last(record, KafkaHeaders.DLT_ORIGINAL_TIMESTAMP);
        expect(where + KafkaHeaders.DLT_ORIGINAL_TIMESTAMP + " length", 8, timestamp.length);
        expect(where + KafkaHeaders.DLT_ORIGINAL_TIMESTAMP, BASE_TIMESTAMP + p, ByteBuffer.wrap(timestamp).getLong());
        expect(where + KafkaHeaders.DLT_ORIGINAL_TIMESTAMP_TYPE, "CreateTime",
                utf8(last(record, KafkaHeaders.DLT_ORIGINAL_TIMESTAMP_TYPE)));
        expect(where + KafkaHeaders.DLT_ORIGINAL_CONSUMER_GROUP, group,
                utf8(last(record, KafkaHeaders.DLT_ORIGINAL_CONSUMER_GROUP)));
        String fqcn = utf8(last(record, KafkaHeaders.DLT_EXCEPTION_FQCN));
        if (!fqcn.endsWith("InteropPoison")) {
            throw new Scenarios.Failed(where + KafkaHeaders.DLT_EXCEPTION_FQCN + " is " + fqcn
                    + ", expected the Rust error type ending in InteropPoison");
        }
        expect(where + KafkaHeaders.DLT_EXCEPTION_MESSAGE, "record dlt-" + p + " is poison",
                utf8(last(record, KafkaHeaders.DLT_EXCEPTION_MESSAGE)));
        String stack = utf8(last(record, KafkaHeaders.DLT_EXCEPTION_STACKTRACE));
        if (!stack.startsWith(fqcn + ": record dlt-" + p)) {
            throw new Scenarios.Failed(where + KafkaHeaders.DLT_EXCEPTION_STACKTRACE + " is " + stack);
        }
    }

    /** The last value of {@code name}, as Spring's readers take it ({@code Headers.lastHeader}). */
    private static byte[] last(ConsumerRecord<byte[], byte[]> record, String name) throws Scenarios.Failed {
        Header header = record.headers().lastHeader(name);
        if (header == null || header.value() == null) {
            throw new Scenarios.Failed("dead letter on partition " + record.partition() + " has no " + name);
        }
        return header.value();
    }

    private static String utf8(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    private static void expect(String what, Object expected, Object actual) throws Scenarios.Failed {
        if (!expected.equals(actual)) {
            throw new Scenarios.Failed(what + " is " + actual + ", expected " + expected);
        }
    }
}
