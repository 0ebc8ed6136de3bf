package bench;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.support.Acknowledgment;
import org.springframework.stereotype.Component;

import tools.jackson.databind.json.JsonMapper;

/** The listener under test: decode with Jackson, acknowledge (AckMode.MANUAL), count. */
@Component
public class BenchListener {
    private final JsonMapper mapper;
    private final Progress progress;

    public BenchListener(JsonMapper mapper, Progress progress) {
        this.mapper = mapper;
        this.progress = progress;
    }

    @KafkaListener(id = "spring-bench", topics = "${bench.topic}", groupId = "${bench.group}")
    public void onRecord(ConsumerRecord<String, byte[]> record, Acknowledgment ack) {
        Payload payload = mapper.readValue(record.value(), Payload.class);
        ack.acknowledge();
        progress.handled(payload.id());
    }
}
