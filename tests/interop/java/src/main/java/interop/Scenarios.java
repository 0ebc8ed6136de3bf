package interop;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The interop scenarios on Apache kafka-clients; each throws {@link Failed} with the reason. */
final class Scenarios implements AutoCloseable {
    static final String PEER = "java";
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final Map<Integer, Long> RESUME_AT = Map.of(0, 100L, 1, 150L, 2, 200L);
    private static final int SPLIT_RECORDS_PER_PARTITION = 100;

    /** A failed check; its message is printed after FAIL. */
    static final class Failed extends Exception {
        Failed(String reason) {
            super(reason);
        }
    }

    private final String bootstrap;
    private final String run;
    private final Admin admin;
    private final KafkaProducer<byte[], byte[]> producer;

    Scenarios(String bootstrap, String run) {
        this.bootstrap = bootstrap;
        this.run = run;
        Properties adminProps = ClientConfig.forBootstrap(bootstrap);
        adminProps.put(AdminClientConfig.CLIENT_ID_CONFIG, "interop-java");
        this.admin = Admin.create(adminProps);
        Properties producerProps = ClientConfig.forBootstrap(bootstrap);
        producerProps.put(ProducerConfig.CLIENT_ID_CONFIG, "interop-java");
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // One request in flight: the scenarios produce into partitions created a moment before,
        // and Kafka up to 4.4 (KAFKA-15591, also KAFKA-14312 / KAFKA-19880) lets an idempotent
        // producer's second request land while its first failed NOT_LEADER_OR_FOLLOWER because
        // the broker had not applied the new partition yet; every retry of the first then fails
        // OUT_OF_ORDER_SEQUENCE_NUMBER until delivery.timeout.ms drops its records. Seen in
        // keyed-partitioning over SASL_SSL on a 1-broker Kafka 4.4 (TLS widens the window).
        producerProps.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1);
        this.producer = new KafkaProducer<>(producerProps, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private KafkaConsumer<byte[], byte[]> consumer(String group) {
        Properties props = ClientConfig.forBootstrap(bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "interop-java");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000);
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1000);
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static long deadline() {
        return System.nanoTime() + TIMEOUT.toNanos();
    }

    private static boolean expired(long deadline) {
        return System.nanoTime() - deadline > 0;
    }

    // -- own scenarios -------------------------------------------------------------------------

    void createTopic(String topic) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, Dataset.PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
        long deadline = deadline();
        while (true) {
            try {
                int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                        .get(topic).partitions().size();
                if (partitions == Dataset.PARTITIONS) {
                    return;
                }
            } catch (java.util.concurrent.ExecutionException notYetVisible) {
                // metadata may lag the creation by a moment
            }
            if (expired(deadline)) {
                throw new Failed(topic + " never showed " + Dataset.PARTITIONS + " partitions");
            }
            Thread.sleep(200);
        }
    }

    void createDataTopic() throws Exception {
        createTopic(Dataset.topic(run, PEER));
    }

    void produce() throws Exception {
        String topic = Dataset.topic(run, PEER);
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < Dataset.RECORDS; i++) {
            acks.add(producer.send(new ProducerRecord<>(topic, Dataset.partition(i), Dataset.key(i), Dataset.value(i),
                    Dataset.headers(PEER, i))));
        }
        producer.flush();
        for (int i = 0; i < acks.size(); i++) {
            RecordMetadata metadata = acks.get(i).get(30, TimeUnit.SECONDS);
            if (metadata.partition() != Dataset.partition(i) || metadata.offset() != i / Dataset.PARTITIONS) {
                throw new Failed("record " + i + " acknowledged at partition " + metadata.partition() + " offset "
                        + metadata.offset() + ", expected " + Dataset.partition(i) + "/" + (i / Dataset.PARTITIONS));
            }
        }
    }

    /** Records with a key and no partition land where Kafka's own murmur2 says. */
    void keyedPartitioning() throws Exception {
        String topic = "interop-" + run + "-" + PEER + "-keyed";
        createTopic(topic);
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            acks.add(producer.send(new ProducerRecord<>(topic, Dataset.key(i), "v".getBytes())));
        }
        producer.flush();
        for (int i = 0; i < acks.size(); i++) {
            int partition = acks.get(i).get(30, TimeUnit.SECONDS).partition();
            int want = org.apache.kafka.common.utils.Utils.toPositive(
                    org.apache.kafka.common.utils.Utils.murmur2(Dataset.key(i))) % Dataset.PARTITIONS;
            if (partition != want) {
                throw new Failed("key " + new String(Dataset.key(i)) + " went to partition " + partition
                        + ", murmur2 picks " + want);
            }
        }
    }

    /** Keyed records for our producer's same-partition check (see SharedKeys). */
    void sharedKeys() throws Exception {
        SharedKeys.produce(admin, producer, run);
    }

    /** Compares one record with the data set byte for byte; returns its sequence number. */
    static int check(String producerName, ConsumerRecord<byte[], byte[]> record) throws Failed {
        Header seqHeader = record.headers().lastHeader("seq");
        if (seqHeader == null || seqHeader.value() == null || seqHeader.value().length != 4) {
            throw new Failed("record at partition " + record.partition() + " offset " + record.offset()
                    + " has no 4-byte seq header");
        }
        int i = ByteBuffer.wrap(seqHeader.value()).getInt();
        String where = "record " + i + " (partition " + record.partition() + " offset " + record.offset() + ")";
        if (i < 0 || i >= Dataset.RECORDS) {
            throw new Failed("seq " + i + " out of range");
        }
        if (record.partition() != Dataset.partition(i) || record.offset() != i / Dataset.PARTITIONS) {
            throw new Failed(where + ": expected partition " + Dataset.partition(i) + " offset " + (i / Dataset.PARTITIONS));
        }
        if (!Arrays.equals(record.key(), Dataset.key(i))) {
            throw new Failed(where + ": key differs");
        }
        if (!Arrays.equals(record.value(), Dataset.value(i))) {
            throw new Failed(where + ": value differs");
        }
        List<Header> want = Dataset.headers(producerName, i);
        Header[] got = record.headers().toArray();
        if (got.length != want.size()) {
            throw new Failed(where + ": " + got.length + " headers, expected " + want.size());
        }
        for (int h = 0; h < got.length; h++) {
            if (!got[h].key().equals(want.get(h).key()) || !Arrays.equals(got[h].value(), want.get(h).value())) {
                throw new Failed(where + ": header " + h + " (" + got[h].key() + ") differs");
            }
        }
        return i;
    }

    private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(String topic,
            Iterable<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
            offsets.merge(new TopicPartition(topic, r.partition()), new OffsetAndMetadata(r.offset() + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        return offsets;
    }

    private static List<ConsumerRecord<byte[], byte[]>> consumeUntil(KafkaConsumer<byte[], byte[]> consumer,
            int want, String topic, boolean commitEachPoll) throws Failed {
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        long deadline = deadline();
        while (received.size() < want) {
            if (expired(deadline)) {
                throw new Failed("timed out with " + received.size() + " of " + want + " records");
            }
            var batch = consumer.poll(Duration.ofMillis(500));
            batch.forEach(received::add);
            if (commitEachPoll && !batch.isEmpty()) {
                consumer.commitSync(nextOffsets(topic, batch));
            }
        }
        return received;
    }

    private static Map<Integer, Long> committed(KafkaConsumer<byte[], byte[]> consumer, String topic) {
        Set<TopicPartition> partitions = new HashSet<>();
        for (int p = 0; p < Dataset.PARTITIONS; p++) {
            partitions.add(new TopicPartition(topic, p));
        }
        Map<Integer, Long> result = new TreeMap<>();
        consumer.committed(partitions).forEach((tp, om) -> result.put(tp.partition(), om == null ? null : om.offset()));
        return result;
    }

    /** A fresh group reads all records of `producerName`'s topic, committing after every poll. */
    void consumeVerify(String producerName, String group) throws Exception {
        String topic = Dataset.topic(run, producerName);
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(group)) {
            consumer.subscribe(List.of(topic));
            Set<Integer> seen = new HashSet<>();
            for (ConsumerRecord<byte[], byte[]> r : consumeUntil(consumer, Dataset.RECORDS, topic, true)) {
                int i = check(producerName, r);
                if (!seen.add(i)) {
                    throw new Failed("record " + i + " delivered twice");
                }
            }
            Map<Integer, Long> committed = committed(consumer, topic);
            if (!committed.equals(Dataset.partitionSizes())) {
                throw new Failed("committed " + committed + ", expected " + Dataset.partitionSizes());
            }
        }
    }

    void commitResume() throws Exception {
        String topic = Dataset.topic(run, PEER);
        String group = "interop-" + run + "-" + PEER + "-resume";
        try (KafkaConsumer<byte[], byte[]> first = consumer(group)) {
            first.subscribe(List.of(topic));
            Map<Integer, Long> progress = new HashMap<>(Map.of(0, 0L, 1, 0L, 2, 0L));
            long deadline = deadline();
            while (RESUME_AT.entrySet().stream().anyMatch(e -> progress.get(e.getKey()) < e.getValue())) {
                if (expired(deadline)) {
                    throw new Failed("first consumer stuck at " + progress);
                }
                for (ConsumerRecord<byte[], byte[]> r : first.poll(Duration.ofMillis(500))) {
                    progress.merge(r.partition(), r.offset() + 1, Math::max);
                }
            }
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            RESUME_AT.forEach((p, o) -> commit.put(new TopicPartition(topic, p), new OffsetAndMetadata(o)));
            first.commitSync(commit);
            Map<Integer, Long> committed = committed(first, topic);
            if (!committed.equals(new TreeMap<>(RESUME_AT))) {
                throw new Failed("committed " + committed + ", expected " + RESUME_AT);
            }
        }
        Map<Integer, Long> sizes = Dataset.partitionSizes();
        int remaining = 0;
        for (int p = 0; p < Dataset.PARTITIONS; p++) {
            remaining += (int) (sizes.get(p) - RESUME_AT.get(p));
        }
        List<ConsumerRecord<byte[], byte[]>> received;
        try (KafkaConsumer<byte[], byte[]> second = consumer(group)) {
            second.subscribe(List.of(topic));
            received = consumeUntil(second, remaining, topic, false);
        }
        Map<Integer, Long> firstSeen = new TreeMap<>();
        Set<String> distinct = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : received) {
            check(PEER, r);
            firstSeen.putIfAbsent(r.partition(), r.offset());
            distinct.add(r.partition() + "/" + r.offset());
        }
        if (!firstSeen.equals(new TreeMap<>(RESUME_AT))) {
            throw new Failed("restarted consumer began at " + firstSeen + ", expected " + RESUME_AT);
        }
        if (distinct.size() != remaining) {
            throw new Failed("restarted consumer saw duplicates");
        }
    }

    /** One group member polling on its own thread; KafkaConsumer is single-threaded. */
    private final class SplitMember extends Thread {
        private final String group;
        private final String topic;
        volatile boolean stopping;
        final AtomicReference<Set<Integer>> assigned = new AtomicReference<>(Set.of());
        final List<String> positions = Collections.synchronizedList(new ArrayList<>());
        /** Partitions this member got records from while they were not in its assignment. */
        final Set<Integer> foreign = Collections.synchronizedSet(new HashSet<>());
        volatile Exception error;

        SplitMember(String group, String topic, int number) {
            super("member-" + number);
            this.group = group;
            this.topic = topic;
            setDaemon(true);
        }

        @Override
        public void run() {
            try (KafkaConsumer<byte[], byte[]> consumer = consumer(group)) {
                consumer.subscribe(List.of(topic));
                while (!stopping) {
                    var batch = consumer.poll(Duration.ofMillis(200));
                    Set<Integer> now = consumer.assignment().stream().map(TopicPartition::partition)
                            .collect(Collectors.toSet());
                    assigned.set(now);
                    // A poll hands out records only of partitions assigned once it returns.
                    batch.forEach(r -> {
                        positions.add(r.partition() + "/" + r.offset());
                        if (!now.contains(r.partition())) {
                            foreign.add(r.partition());
                        }
                    });
                    if (!batch.isEmpty()) {
                        consumer.commitSync(nextOffsets(topic, batch));
                    }
                }
            } catch (Exception e) {
                e.printStackTrace();
                error = e;
            }
        }
    }

    void groupSplit() throws Exception {
        String topic = "interop-" + run + "-" + PEER + "-split";
        String group = topic;
        createTopic(topic);
        List<SplitMember> members = List.of(new SplitMember(group, topic, 1), new SplitMember(group, topic, 2));
        members.forEach(Thread::start);
        int total = SPLIT_RECORDS_PER_PARTITION * Dataset.PARTITIONS;
        try {
            long deadline = deadline();
            while (true) {
                for (SplitMember m : members) {
                    if (m.error != null) {
                        throw new Failed("member failed: " + m.error);
                    }
                }
                Set<Integer> a = members.get(0).assigned.get();
                Set<Integer> b = members.get(1).assigned.get();
                Set<Integer> union = new HashSet<>(a);
                union.addAll(b);
                if (!a.isEmpty() && !b.isEmpty() && Collections.disjoint(a, b) && union.size() == Dataset.PARTITIONS) {
                    break;
                }
                if (expired(deadline)) {
                    throw new Failed("assignment never split: " + a + " / " + b);
                }
                Thread.sleep(100);
            }
            for (int n = 0; n < SPLIT_RECORDS_PER_PARTITION; n++) {
                for (int p = 0; p < Dataset.PARTITIONS; p++) {
                    producer.send(new ProducerRecord<>(topic, p, ("split-" + p + "-" + n).getBytes(), "v".getBytes()));
                }
            }
            producer.flush();
            while (members.get(0).positions.size() + members.get(1).positions.size() < total) {
                for (SplitMember m : members) {
                    if (m.error != null) {
                        throw new Failed("member failed: " + m.error);
                    }
                }
                if (expired(deadline)) {
                    throw new Failed("members saw " + members.get(0).positions.size() + " + "
                            + members.get(1).positions.size() + " of " + total + " records");
                }
                Thread.sleep(100);
            }
        } finally {
            for (SplitMember m : members) {
                m.stopping = true;
                m.join(30_000);
            }
        }
        Set<String> a = new HashSet<>(members.get(0).positions);
        Set<String> b = new HashSet<>(members.get(1).positions);
        Set<String> overlap = new HashSet<>(a);
        overlap.retainAll(b);
        if (!overlap.isEmpty()) {
            throw new Failed("both members read " + overlap.stream().limit(5).collect(Collectors.toList()));
        }
        if (a.size() + b.size() != total) {
            throw new Failed((a.size() + b.size()) + " distinct records, expected " + total);
        }
        for (SplitMember m : members) {
            if (!m.foreign.isEmpty()) {
                throw new Failed(m.getName() + " read partitions " + m.foreign + " it did not own");
            }
        }
    }

    /** Runs `body` and prints its PASS/FAIL line. */
    static void report(String scenario, Scenario body) {
        try {
            body.run();
            System.out.println("PASS " + PEER + " " + scenario);
        } catch (Failed failed) {
            System.out.println("FAIL " + PEER + " " + scenario + " " + failed.getMessage());
        } catch (Exception e) {
            e.printStackTrace();
            System.out.println("FAIL " + PEER + " " + scenario + " " + (e.getClass().getSimpleName() + ": " + e.getMessage()).replace('\n', ' '));
        }
        System.out.flush();
    }

    /** A scenario body. */
    interface Scenario {
        void run() throws Exception;
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
        admin.close(Duration.ofSeconds(10));
    }
}
