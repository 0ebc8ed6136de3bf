package dev.kafkalistener.interop;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupAssignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Prints, as JSON, the assignments kafka-clients' RangeAssignor and RoundRobinAssignor compute for
 * a fixed set of scenarios (hand-picked edge cases plus seeded random ones). The Rust assignors
 * must produce exactly these results; the output is checked in as
 * kafka-listener/src/group/assignor/java_vectors.json.
 */
public final class AssignorVectors {

    private record Member(String memberId, String groupInstanceId, List<String> topics) {}

    private record Scenario(String name, Map<String, Integer> topics, List<Member> members) {}

    public static void main(String[] args) {
        List<Scenario> scenarios = new ArrayList<>();
        scenarios.addAll(handPicked());
        scenarios.addAll(seededRandom(new Random(20261125L), 40));

        Map<String, ConsumerPartitionAssignor> assignors = new LinkedHashMap<>();
        assignors.put("range", new RangeAssignor());
        assignors.put("roundrobin", new RoundRobinAssignor());

        StringBuilder out = new StringBuilder();
        out.append("{\n  \"generator\": \"tests/interop/assignors-java (kafka-clients ")
            .append(kafkaClientsVersion())
            .append(")\",\n  \"vectors\": [\n");
        boolean first = true;
        for (Map.Entry<String, ConsumerPartitionAssignor> assignor : assignors.entrySet()) {
            for (Scenario scenario : scenarios) {
                if (!first) {
                    out.append(",\n");
                }
                first = false;
                out.append(vector(assignor.getKey(), assignor.getValue(), scenario));
            }
        }
        out.append("\n  ]\n}\n");
        System.out.print(out);
    }

    private static List<Scenario> handPicked() {
        List<Scenario> list = new ArrayList<>();
        list.add(new Scenario("one member one topic", topics("orders", 3),
            List.of(new Member("consumer-1-a", null, List.of("orders")))));
        list.add(new Scenario("more members than partitions", topics("orders", 2),
            List.of(new Member("c-3", null, List.of("orders")), new Member("c-1", null, List.of("orders")),
                new Member("c-2", null, List.of("orders")))));
        list.add(new Scenario("uneven split two topics", topics("a", 5, "b", 7),
            List.of(new Member("m-b", null, List.of("a", "b")), new Member("m-a", null, List.of("a", "b")),
                new Member("m-c", null, List.of("a", "b")))));
        list.add(new Scenario("different subscriptions", topics("t0", 3, "t1", 4, "t2", 2),
            List.of(new Member("x1", null, List.of("t0")), new Member("x2", null, List.of("t0", "t1")),
                new Member("x3", null, List.of("t0", "t1", "t2")))));
        list.add(new Scenario("static members sort by instance id", topics("s", 6),
            List.of(new Member("aaa", "zeta", List.of("s")), new Member("zzz", "alpha", List.of("s")),
                new Member("mmm", null, List.of("s")))));
        list.add(new Scenario("subscribed topic missing from metadata", topics("present", 4),
            List.of(new Member("p1", null, List.of("present", "absent")),
                new Member("p2", null, List.of("absent")))));
        return list;
    }

    private static List<Scenario> seededRandom(Random random, int count) {
        List<Scenario> list = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            int topicCount = 1 + random.nextInt(4);
            Map<String, Integer> topics = new TreeMap<>();
            List<String> names = new ArrayList<>();
            for (int t = 0; t < topicCount; t++) {
                String name = "topic-" + (char) ('a' + random.nextInt(26)) + t;
                topics.put(name, 1 + random.nextInt(12));
                names.add(name);
            }
            int memberCount = 1 + random.nextInt(7);
            List<Member> members = new ArrayList<>();
            for (int m = 0; m < memberCount; m++) {
                List<String> subscribed = new ArrayList<>();
                for (String name : names) {
                    if (random.nextInt(3) != 0) {
                        subscribed.add(name);
                    }
                }
                if (subscribed.isEmpty()) {
                    subscribed.add(names.get(random.nextInt(names.size())));
                }
                String memberId = "consumer-" + Integer.toHexString(random.nextInt(0x10000)) + "-" + m;
                String instanceId = random.nextInt(4) == 0 ? "instance-" + random.nextInt(100) + "-" + m : null;
                members.add(new Member(memberId, instanceId, subscribed));
            }
            list.add(new Scenario("random " + n, topics, members));
        }
        return list;
    }

    private static Map<String, Integer> topics(Object... nameThenCount) {
        Map<String, Integer> topics = new TreeMap<>();
        for (int i = 0; i < nameThenCount.length; i += 2) {
            topics.put((String) nameThenCount[i], (Integer) nameThenCount[i + 1]);
        }
        return topics;
    }

    private static String vector(String assignorName, ConsumerPartitionAssignor assignor, Scenario scenario) {
        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> partitions = new ArrayList<>();
        scenario.topics().forEach((topic, count) -> {
            for (int p = 0; p < count; p++) {
                partitions.add(new PartitionInfo(topic, p, node, new Node[] {node}, new Node[] {node}));
            }
        });
        Cluster cluster = new Cluster("vectors", List.of(node), partitions, Collections.emptySet(),
            Collections.emptySet());
        Map<String, Subscription> subscriptions = new HashMap<>();
        for (Member member : scenario.members()) {
            Subscription subscription = new Subscription(member.topics());
            subscription.setGroupInstanceId(Optional.ofNullable(member.groupInstanceId()));
            subscriptions.put(member.memberId(), subscription);
        }
        GroupAssignment result = assignor.assign(cluster, new GroupSubscription(subscriptions));

        StringBuilder json = new StringBuilder("    {\"assignor\": ").append(quote(assignorName))
            .append(", \"scenario\": ").append(quote(scenario.name())).append(", \"topics\": {");
        String sep = "";
        for (Map.Entry<String, Integer> topic : scenario.topics().entrySet()) {
            json.append(sep).append(quote(topic.getKey())).append(": ").append(topic.getValue());
            sep = ", ";
        }
        json.append("},\n     \"members\": [");
        sep = "";
        for (Member member : scenario.members()) {
            json.append(sep).append("{\"member_id\": ").append(quote(member.memberId()))
                .append(", \"group_instance_id\": ")
                .append(member.groupInstanceId() == null ? "null" : quote(member.groupInstanceId()))
                .append(", \"topics\": [");
            String tsep = "";
            for (String topic : member.topics()) {
                json.append(tsep).append(quote(topic));
                tsep = ", ";
            }
            json.append("]}");
            sep = ", ";
        }
        json.append("],\n     \"assignment\": {");
        sep = "";
        for (Member member : scenario.members()) {
            json.append(sep).append(quote(member.memberId())).append(": [");
            String psep = "";
            for (TopicPartition tp : result.groupAssignment().get(member.memberId()).partitions()) {
                json.append(psep).append("[").append(quote(tp.topic())).append(", ").append(tp.partition())
                    .append("]");
                psep = ", ";
            }
            json.append("]");
            sep = ", ";
        }
        return json.append("}}").toString();
    }

    private static String kafkaClientsVersion() {
        java.util.Properties props = new java.util.Properties();
        try (java.io.InputStream in = RangeAssignor.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            props.load(in);
        } catch (java.io.IOException | NullPointerException e) {
            return "unknown";
        }
        return props.getProperty("version", "unknown");
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
