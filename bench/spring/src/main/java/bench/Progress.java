package bench;

import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/** Counts handled records; the listener container calls {@link #handled} from its one thread. */
@Component
public class Progress {
    private final long expected;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile long handled;
    private volatile long idSum;
    private volatile long firstMicros;
    private volatile long lastMicros;

    public Progress(@Value("${bench.records}") long expected) {
        this.expected = expected;
    }

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    void handled(long id) {
        if (handled == 0) {
            firstMicros = nowMicros();
        }
        idSum += id;
        handled++;
        if (handled == expected) {
            lastMicros = nowMicros();
            done.countDown();
        }
    }

    boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return done.await(timeout, unit);
    }

    String resultLine() {
        return "BENCH records=" + handled + " first_us=" + firstMicros + " last_us=" + lastMicros
                + " id_sum=" + idSum;
    }
}
