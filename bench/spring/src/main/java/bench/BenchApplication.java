package bench;

import java.util.concurrent.TimeUnit;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts the listener, waits until it has handled {@code bench.records} records, prints
 * {@code BENCH records=N first_us=F last_us=L id_sum=S} and closes the context, which stops the
 * listener container (final commit, leave group) before the JVM exits.
 */
@SpringBootApplication
public class BenchApplication {
    public static void main(String[] args) throws InterruptedException {
        ConfigurableApplicationContext context = SpringApplication.run(BenchApplication.class, args);
        Progress progress = context.getBean(Progress.class);
        long timeoutSeconds = context.getEnvironment().getProperty("bench.timeout-seconds", Long.class, 1800L);
        boolean done = progress.await(timeoutSeconds, TimeUnit.SECONDS);
        String line = progress.resultLine();
        context.close();
        if (!done) {
            System.err.println("spring-bench: timed out after " + timeoutSeconds + " s: " + line);
            System.exit(1);
        }
        System.out.println(line);
        System.exit(0);
    }
}
