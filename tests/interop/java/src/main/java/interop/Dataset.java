package interop;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The data set every interop peer produces and checks (see tests/interop/README.md): record i lands
 * in partition i % 3 at offset i / 3 with a fixed key, a value with non-UTF-8 bytes and three
 * headers in name order.
 */
final class Dataset {
    static final int RECORDS = 1000;
    static final int PARTITIONS = 3;

    private Dataset() {}

    static String topic(String run, String producer) {
        return "interop-" + run + "-" + producer;
    }

    static int partition(int i) {
        return i % PARTITIONS;
    }

    static byte[] key(int i) {
        return String.format("key-%04d", i).getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] value(int i) {
        byte[] prefix = ("value-" + i + "-").getBytes(StandardCharsets.US_ASCII);
        byte[] value = Arrays.copyOf(prefix, prefix.length + i % 50);
        for (int j = 0; j < i % 50; j++) {
            value[prefix.length + j] = (byte) ((i * 7 + j) % 256);
        }
        return value;
    }

    static List<Header> headers(String producer, int i) {
        List<Header> headers = new ArrayList<>();
        headers.add(new RecordHeader("bin", new byte[] {(byte) (i % 256), 0, (byte) 255}));
        headers.add(new RecordHeader("producer", producer.getBytes(StandardCharsets.UTF_8)));
        headers.add(new RecordHeader("seq", ByteBuffer.allocate(4).putInt(i).array()));
        return headers;
    }

    /** Records per partition of a full data set. */
    static Map<Integer, Long> partitionSizes() {
        Map<Integer, Long> sizes = new TreeMap<>();
        for (int i = 0; i < RECORDS; i++) {
            sizes.merge(partition(i), 1L, Long::sum);
        }
        return sizes;
    }
}
