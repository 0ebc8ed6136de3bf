package interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java half of {@code null-header-from-java}: kafka-clients writes what rskafka could not
 * read — null header values, the same header name more than once, null keys, tombstones — to a
 * topic created through the AdminClient with {@code message.timestamp.type=LogAppendTime} and to a
 * CreateTime topic. The Rust side is tests/interop/listener_peer/null_headers.rs.
 *
 * <p>Record i (0 &le; i &lt; {@link #RECORDS}) goes to partition i % 3 (offset i / 3) with the
 * producer timestamp {@link #BASE_TIMESTAMP} + i, shaped by i % 4:
 * <pre>
 * 0: key null,    value "value-i",  headers dup="first", nothing=null, dup="second"
 * 1: key "key-i", value null,       headers nothing=null                  (a tombstone)
 * 2: key null,    value null,       no headers
 * 3: key "key-i", value "" (empty), headers dup=null, dup="" (empty), dup="third"
 * </pre>
 */
final class NullHeaders {
    static final int RECORDS = 12;
    static final int PARTITIONS = 3;
    static final long BASE_TIMESTAMP = 1_600_000_000_000L;

    private NullHeaders() {}

    static String logAppendTopic(String run) {
        return "interop-" + run + "-headers-log-append";
    }

    static String createTimeTopic(String run) {
        return "interop-" + run + "-headers-create";
    }

    static ProducerRecord<byte[], byte[]> record(String topic, int i) {
        byte[] key = i % 2 == 1 ? utf8("key-" + i) : null;
        RecordHeaders headers = new RecordHeaders();
        byte[] value;
        switch (i % 4) {
            case 0 -> {
                value = utf8("value-" + i);
                headers.add("dup", utf8("first"));
                headers.add("nothing", null);
                headers.add("dup", utf8("second"));
            }
            case 1 -> {
                value = null;
                headers.add("nothing", null);
            }
            case 2 -> value = null;
            default -> {
                value = new byte[0];
                headers.add("dup", null);
                headers.add("dup", new byte[0]);
                headers.add("dup", utf8("third"));
            }
        }
        return new ProducerRecord<>(topic, i % PARTITIONS, BASE_TIMESTAMP + i, key, value, headers);
    }

    /**
     * Writes every record first, then judges the broker's timestamps, so the records are there
     * for our listener to read even where the broker ignored the topic config.
     */
    static void produce(String bootstrap, String run) throws Exception {
        String logAppend = logAppendTopic(run);
        String createTime = createTimeTopic(run);
        Properties adminProps = ClientConfig.forBootstrap(bootstrap);
        adminProps.put("client.id", "interop-java-headers");
        try (Admin admin = Admin.create(adminProps)) {
            admin.createTopics(List.of(
                    new NewTopic(logAppend, PARTITIONS, (short) 1)
                            .configs(Map.of("message.timestamp.type", "LogAppendTime")),
                    new NewTopic(createTime, PARTITIONS, (short) 1)))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Properties props = ClientConfig.forBootstrap(bootstrap);
        props.put(ProducerConfig.CLIENT_ID_CONFIG, "interop-java-headers");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        // A fresh topic: one request in flight, see Scenarios (KAFKA-15591).
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            String wrongTimestamp = null;
            for (String topic : List.of(logAppend, createTime)) {
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int i = 0; i < RECORDS; i++) {
                    acks.add(producer.send(record(topic, i)));
                }
                producer.flush();
                for (int i = 0; i < RECORDS; i++) {
                    RecordMetadata ack = acks.get(i).get(30, TimeUnit.SECONDS);
                    if (ack.partition() != i % PARTITIONS || ack.offset() != i / PARTITIONS) {
                        throw new Scenarios.Failed(topic + " record " + i + " acknowledged at partition "
                                + ack.partition() + " offset " + ack.offset());
                    }
                    // kafka-clients reports the broker's append time for a LogAppendTime topic.
                    boolean brokerTime = ack.timestamp() != BASE_TIMESTAMP + i;
                    if (brokerTime != topic.equals(logAppend) && wrongTimestamp == null) {
                        wrongTimestamp = (topic + " record " + i + " acknowledged with timestamp "
                                + ack.timestamp() + " (producer's: " + (BASE_TIMESTAMP + i) + "), expected "
                                + (brokerTime ? "the producer's" : "the broker's append time (LogAppendTime)"));
                    }
                }
            }
            checkLogAppendTimeConfig(bootstrap, logAppend);
            if (wrongTimestamp != null) {
                throw new Scenarios.Failed(wrongTimestamp);
            }
        }
    }

    /** The precise reason first: did the broker keep the config CreateTopics asked for? */
    private static void checkLogAppendTimeConfig(String bootstrap, String topic) throws Exception {
        Properties adminProps = ClientConfig.forBootstrap(bootstrap);
        adminProps.put("client.id", "interop-java-headers");
        try (Admin admin = Admin.create(adminProps)) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            ConfigEntry type = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS)
                    .get(resource).get("message.timestamp.type");
            if (type == null || !"LogAppendTime".equals(type.value())) {
                throw new Scenarios.Failed("DescribeConfigs of " + topic + " gives message.timestamp.type="
                        + (type == null ? "(absent)" : type.value())
                        + " after CreateTopics asked for LogAppendTime: the topic config was not applied");
            }
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
