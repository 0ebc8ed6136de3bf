package interop;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One kafka-clients member of the mixed group judged by interop-listener-peer (its
 * group_mixed.rs documents the files in the sync directory): subscribes once `join` exists,
 * publishes its assignment and every consumed record, commits after each poll, and closes (leaving
 * the group) once `leave` exists.
 */
final class MixedGroupMember {
    private MixedGroupMember() {}

    static void run(String bootstrap, String topic, String group, Path sync) throws IOException {
        try {
            consume(bootstrap, topic, group, sync);
        } catch (Exception e) {
            Files.writeString(sync.resolve("peer.error"), "java member: " + e);
            throw new IOException(e);
        }
    }

    private static void consume(String bootstrap, String topic, String group, Path sync) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        while (!Files.exists(sync.resolve("join"))) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the judge never wrote `join`");
            }
            Thread.sleep(50);
        }
        Properties props = ClientConfig.forBootstrap(bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "interop-java-member");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
        props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, RangeAssignor.class.getName());
        Set<Integer> owned = null;
        try (KafkaConsumer<byte[], byte[]> consumer =
                        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                Writer consumed = Files.newBufferedWriter(sync.resolve("peer.consumed"), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            consumer.subscribe(List.of(topic));
            while (!Files.exists(sync.resolve("leave"))) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("no `leave` within 240 s");
                }
                var records = consumer.poll(Duration.ofMillis(200));
                Set<Integer> nowOwned = consumer.assignment().stream().map(TopicPartition::partition)
                        .collect(Collectors.toCollection(TreeSet::new));
                if (!nowOwned.equals(owned)) {
                    owned = nowOwned;
                    writeAssignment(sync, owned);
                }
                Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    consumed.write(record.partition() + " " + record.offset() + " "
                            + new String(record.value(), StandardCharsets.UTF_8) + "\n");
                    positions.put(new TopicPartition(topic, record.partition()),
                            new OffsetAndMetadata(record.offset() + 1));
                }
                consumed.flush();
                if (!positions.isEmpty()) {
                    consumer.commitSync(positions);
                }
            }
        } // close() sends LeaveGroup
        writeAssignment(sync, Set.of());
        Files.writeString(sync.resolve("peer.left"), "");
    }

    private static void writeAssignment(Path sync, Set<Integer> partitions) throws IOException {
        Path tmp = sync.resolve("peer.assignment.tmp");
        Files.writeString(tmp, partitions.stream().map(String::valueOf).collect(Collectors.joining(" ")));
        Files.move(tmp, sync.resolve("peer.assignment"), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }
}
