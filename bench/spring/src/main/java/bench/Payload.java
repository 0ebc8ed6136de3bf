package bench;

/** The bench's record value (see bench/README.md), decoded by Jackson. */
public record Payload(long id, String key, long ts, String data) {
}
