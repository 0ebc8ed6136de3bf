package interop;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Producer throughput, measured the way kafka-producer-perf-test does: fixed-size values with
 * null keys, sent asynchronously, timed from the first send to the last acknowledgement. Used by
 * bench/producer.sh next to our KafkaTemplate (bench/producer_bench.rs) with the same settings.
 *
 * <pre>
 * ProducerPerf --bootstrap B --topic T --records N --size BYTES --partitions P --replication R
 * </pre>
 * Prints one line: {@code java records=N seconds=S records_per_sec=X}.
 */
public final class ProducerPerf {
    private ProducerPerf() {}

    public static void main(String[] args) throws Exception {
        java.util.Map<String, String> options = new java.util.HashMap<>();
        for (int a = 0; a + 1 < args.length; a += 2) {
            options.put(args[a], args[a + 1]);
        }
        String bootstrap = options.get("--bootstrap");
        String topic = options.get("--topic");
        int records = Integer.parseInt(options.getOrDefault("--records", "200000"));
        int size = Integer.parseInt(options.getOrDefault("--size", "100"));
        int partitions = Integer.parseInt(options.getOrDefault("--partitions", "6"));
        short replication = Short.parseShort(options.getOrDefault("--replication", "3"));
        if (bootstrap == null || topic == null) {
            System.err.println("usage: ProducerPerf --bootstrap B --topic T [--records N] [--size BYTES]"
                    + " [--partitions P] [--replication R]");
            System.exit(2);
        }
        Properties adminProps = ClientConfig.forBootstrap(bootstrap);
        try (Admin admin = Admin.create(adminProps)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, replication))).all().get(60, TimeUnit.SECONDS);
        }
        Properties props = ClientConfig.forBootstrap(bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-java");
        byte[] value = new byte[size];
        for (int i = 0; i < size; i++) {
            value[i] = (byte) ('a' + i % 26);
        }
        AtomicLong acked = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            // One record first, so metadata lookup and connection set-up are not timed.
            producer.send(new ProducerRecord<>(topic, value)).get(60, TimeUnit.SECONDS);
            long start = System.nanoTime();
            for (int i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>(topic, value), (metadata, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    } else {
                        acked.incrementAndGet();
                    }
                });
            }
            producer.flush();
            double seconds = (System.nanoTime() - start) / 1e9;
            if (failure.get() != null || acked.get() != records) {
                System.err.println("java producer failed: acked " + acked.get() + " of " + records + ": " + failure.get());
                System.exit(1);
            }
            System.out.printf("java records=%d seconds=%.3f records_per_sec=%.0f%n", records, seconds, records / seconds);
        }
    }
}
