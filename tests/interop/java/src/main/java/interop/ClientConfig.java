package interop;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The settings every client of this peer starts from: the bootstrap servers and, when
 * {@code KAFKA_CLIENT_PROPERTIES} names a file, its contents — the {@code client.properties}
 * that {@code deploy/local/kafka.sh start --security …} and the secured {@code embedded-broker}
 * write (security.protocol, sasl.*, ssl.*). run.sh sets it only with {@code --security}.
 */
final class ClientConfig {
    static final String ENV = "KAFKA_CLIENT_PROPERTIES";

    private ClientConfig() {}

    static Properties forBootstrap(String bootstrap) {
        Properties props = new Properties();
        String file = System.getenv(ENV);
        if (file != null && !file.isEmpty()) {
            try (Reader reader = Files.newBufferedReader(Path.of(file))) {
                props.load(reader);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + ENV + "=" + file, e);
            }
        }
        props.put("bootstrap.servers", bootstrap);
        return props;
    }
}
