// Produces a few records with Kafka's own Java client and reads them back, using a kafka-clients
// properties file such as the client.properties a secured `kafka.sh start` writes. It proves a
// cluster's client settings work end to end without a Python virtualenv or Kafka's CLI tools
// (kafka-tools is not among the broker jars kafka.sh downloads). Run it with Java's source
// launcher against those jars:
//
//   java -cp "$LIBS/*" deploy/local/ClientRoundTrip.java CLIENT.PROPERTIES BOOTSTRAP TOPIC
//
// Prints `roundtrip ok: N/N records on TOPIC over PROTOCOL` and exits 0, or names what failed and
// exits 1. No consumer group (the partition is assigned), so no group coordinator is involved.
import java.io.FileReader;
import java.io.Reader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class ClientRoundTrip {
    private static final int RECORDS = 3;

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ClientRoundTrip CLIENT.PROPERTIES BOOTSTRAP TOPIC");
            System.exit(2);
        }
        Properties client = new Properties();
        try (Reader reader = new FileReader(args[0])) {
            client.load(reader);
        }
        client.put("bootstrap.servers", args[1]);
        String topic = args[2];
        String protocol = client.getProperty("security.protocol", "PLAINTEXT");

        List<String> sent = new ArrayList<>();
        Properties producerProps = new Properties();
        producerProps.putAll(client);
        producerProps.put("acks", "all");
        producerProps.put("max.block.ms", "30000");
        producerProps.put("request.timeout.ms", "20000");
        producerProps.put("delivery.timeout.ms", "30000");
        try (KafkaProducer<String, String> producer =
                new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < RECORDS; i++) {
                String value = topic + "-" + i;
                producer.send(new ProducerRecord<>(topic, 0, null, value)).get(30, TimeUnit.SECONDS);
                sent.add(value);
            }
        } catch (Exception e) {
            fail("producing to " + topic + " over " + protocol + " failed: " + causes(e));
        }

        List<String> received = new ArrayList<>();
        Properties consumerProps = new Properties();
        consumerProps.putAll(client);
        consumerProps.put("enable.auto.commit", "false");
        consumerProps.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<String, String> consumer =
                new KafkaConsumer<>(consumerProps, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (received.size() < RECORDS && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    received.add(record.value());
                }
            }
        } catch (Exception e) {
            fail("consuming " + topic + " over " + protocol + " failed: " + causes(e));
        }
        if (!received.equals(sent)) {
            fail("sent " + sent + " but read back " + received);
        }
        System.out.println("roundtrip ok: " + received.size() + "/" + RECORDS + " records on " + topic
                + " over " + protocol);
    }

    private static String causes(Throwable e) {
        StringBuilder chain = new StringBuilder(e.toString());
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            chain.append(" <- caused by ").append(cause);
        }
        return chain.toString();
    }

    private static void fail(String message) {
        System.out.println("roundtrip FAILED: " + message);
        System.exit(1);
    }
}
