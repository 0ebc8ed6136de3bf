package interop;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The Java half of the `same-partition-as-java` scenario: kafka-clients' producer, with its default
 * partitioner, sends {@link #KEYS} keyed records to a {@link #PARTITIONS}-partition topic; then our
 * KafkaTemplate (tests/interop/producer_peer.rs) sends the same keys and checks by fetching that
 * every key sits on one partition. The key set is defined identically on both sides.
 */
final class SharedKeys {
    static final int KEYS = 600;
    static final int PARTITIONS = 6;

    private SharedKeys() {}

    static String topic(String run) {
        return "interop-" + run + "-shared-keys";
    }

    /** Key i: ASCII ids, UTF-8 text with 2-, 3- and 4-byte characters, and 8 raw bytes. */
    static byte[] key(int i) {
        return switch (i % 4) {
            case 0 -> ("order-" + i).getBytes(StandardCharsets.UTF_8);
            case 1 -> ("клиент-" + i + "-ü").getBytes(StandardCharsets.UTF_8);
            case 2 -> ("キー" + i + "\uD83D\uDD11").getBytes(StandardCharsets.UTF_8);
            default -> ByteBuffer.allocate(8).putLong(i * 2654435761L).array();
        };
    }

    static void produce(Admin admin, KafkaProducer<byte[], byte[]> producer, String run) throws Exception {
        String topic = topic(run);
        admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < KEYS; i++) {
            RecordHeaders headers = new RecordHeaders();
            headers.add("producer", "java".getBytes(StandardCharsets.UTF_8));
            acks.add(producer.send(new ProducerRecord<>(topic, null, key(i), "java".getBytes(StandardCharsets.UTF_8),
                    headers)));
        }
        producer.flush();
        for (Future<RecordMetadata> ack : acks) {
            ack.get(30, TimeUnit.SECONDS);
        }
    }
}
