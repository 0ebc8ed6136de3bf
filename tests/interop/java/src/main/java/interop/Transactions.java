package interop;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java half of {@code txn-read-committed-from-java}: a transactional kafka-clients producer
 * ({@code transactional.id}, idempotence) writes {@link #TRANSACTIONS} transactions of
 * {@link #RECORDS_PER_TRANSACTION} records to a fresh {@link #PARTITIONS}-partition topic; record j
 * of a transaction goes to partition j % 3, so every transaction spans all partitions and leaves a
 * marker on each. Even transactions commit, odd ones abort, the last (10) commits, so every
 * partition's log ends in a commit marker. Aborted records are flushed before the abort, so they
 * are in the log (and a read_uncommitted consumer sees them).
 *
 * <p>Record (t, j): key {@code txn-t-j}; value {@code t-j-commit} or {@code t-j-abort} followed by
 * the bytes (t * 31 + j + k) mod 256 for k in 0..j; headers {@code txn} (t, 4-byte big-endian),
 * {@code seq} (j, 4-byte big-endian), {@code outcome} ({@code commit} / {@code abort}). The Rust
 * side (tests/interop/listener_peer/transactions.rs) defines the same records and, from the
 * layout, their offsets: on partition p a transaction holds n_p records (7, 7, 6) and one marker.
 */
final class Transactions {
    static final int TRANSACTIONS = 11;
    static final int RECORDS_PER_TRANSACTION = 20;
    static final int PARTITIONS = 3;

    private Transactions() {}

    static String topic(String run) {
        return "interop-" + run + "-txn";
    }

    static boolean commits(int t) {
        return t % 2 == 0;
    }

    /** Records of one transaction on partition p. */
    static int perTransaction(int p) {
        return (RECORDS_PER_TRANSACTION - p + PARTITIONS - 1) / PARTITIONS;
    }

    /** Where record (t, j) lands: every earlier transaction left its records and one marker. */
    static long offset(int t, int j) {
        return (long) t * (perTransaction(j % PARTITIONS) + 1) + j / PARTITIONS;
    }

    static byte[] key(int t, int j) {
        return ("txn-" + t + "-" + j).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] value(int t, int j) {
        byte[] text = (t + "-" + j + "-" + (commits(t) ? "commit" : "abort")).getBytes(StandardCharsets.UTF_8);
        ByteBuffer value = ByteBuffer.allocate(text.length + j).put(text);
        for (int k = 0; k < j; k++) {
            value.put((byte) ((t * 31 + j + k) % 256));
        }
        return value.array();
    }

    static RecordHeaders headers(int t, int j) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("txn", ByteBuffer.allocate(4).putInt(t).array());
        headers.add("seq", ByteBuffer.allocate(4).putInt(j).array());
        headers.add("outcome", (commits(t) ? "commit" : "abort").getBytes(StandardCharsets.UTF_8));
        return headers;
    }

    static void produce(String bootstrap, String run) throws Exception {
        String topic = topic(run);
        Properties adminProps = ClientConfig.forBootstrap(bootstrap);
        adminProps.put("client.id", "interop-java-txn");
        try (Admin admin = Admin.create(adminProps)) {
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        Properties props = ClientConfig.forBootstrap(bootstrap);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "interop-java-txn");
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "interop-" + run + "-java-txn");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        // A fresh topic: one request in flight, see Scenarios (KAFKA-15591).
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            for (int t = 0; t < TRANSACTIONS; t++) {
                producer.beginTransaction();
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int j = 0; j < RECORDS_PER_TRANSACTION; j++) {
                    acks.add(producer.send(new ProducerRecord<>(topic, j % PARTITIONS, key(t, j), value(t, j),
                            headers(t, j))));
                }
                // Written before the outcome is decided: an abort must leave its records in the log.
                producer.flush();
                for (int j = 0; j < RECORDS_PER_TRANSACTION; j++) {
                    RecordMetadata ack = acks.get(j).get(30, TimeUnit.SECONDS);
                    if (ack.offset() != offset(t, j)) {
                        throw new Scenarios.Failed("record (" + t + ", " + j + ") acknowledged at partition "
                                + ack.partition() + " offset " + ack.offset() + ", expected offset " + offset(t, j));
                    }
                }
                if (commits(t)) {
                    producer.commitTransaction();
                } else {
                    producer.abortTransaction();
                }
            }
        }
    }
}
