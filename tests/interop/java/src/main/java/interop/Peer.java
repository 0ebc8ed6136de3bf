package interop;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry point of the Java interop peer.
 *
 * <pre>
 * Peer own   --bootstrap B --run R                 create-topic, produce-1000, consume-verify,
 *                                                  commit-resume, group-split, keyed-partitioning
 * Peer cross --bootstrap B --run R --from P [...]  consume-from-P for each producer P
 * Peer dlt-read --bootstrap B --run R             dlt-read: decode our DLT's kafka_dlt-* headers
 *                                                  as Spring does (DeadLetterReader)
 * Peer shared-keys --bootstrap B --run R         shared-keys-produce: keyed records for
 *                                                  our producer to match (SharedKeys)
 * Peer txn-produce --bootstrap B --run R          txn-produce: committed and aborted
 *                                                  transactions for our listener (Transactions)
 * Peer null-header-produce --bootstrap B --run R  null-header-produce: null header values,
 *                                                  duplicate names, tombstones, LogAppendTime
 *                                                  (NullHeaders)
 * Peer group-member --bootstrap B --topic T --group G --sync DIR
 *                                                  one member of a mixed group (MixedGroupMember)
 * </pre>
 * Prints one `PASS java &lt;scenario&gt;` / `FAIL java &lt;scenario&gt; &lt;reason&gt;` line per scenario.
 */
public final class Peer {
    private Peer() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            usage();
        }
        String mode = args[0];
        if (mode.equals("group-member")) {
            groupMember(args);
            return;
        }
        String bootstrap = null;
        String run = null;
        List<String> producers = new ArrayList<>();
        for (int a = 1; a < args.length; a += 2) {
            if (a + 1 >= args.length) {
                usage();
            }
            switch (args[a]) {
                case "--bootstrap" -> bootstrap = args[a + 1];
                case "--run" -> run = args[a + 1];
                case "--from" -> producers.add(args[a + 1]);
                default -> usage();
            }
        }
        if (bootstrap == null || run == null
                || !(mode.equals("own") || mode.equals("cross") || mode.equals("dlt-read")
                        || mode.equals("shared-keys") || mode.equals("txn-produce")
                        || mode.equals("null-header-produce"))) {
            usage();
        }
        final String runId = run;
        if (mode.equals("dlt-read")) {
            final String servers = bootstrap;
            Scenarios.report("dlt-read", () -> DeadLetterReader.read(servers, runId));
            System.exit(0);
        }
        if (mode.equals("txn-produce")) {
            final String servers = bootstrap;
            Scenarios.report("txn-produce", () -> Transactions.produce(servers, runId));
            System.exit(0);
        }
        if (mode.equals("null-header-produce")) {
            final String servers = bootstrap;
            Scenarios.report("null-header-produce", () -> NullHeaders.produce(servers, runId));
            System.exit(0);
        }
        try (Scenarios scenarios = new Scenarios(bootstrap, run)) {
            if (mode.equals("shared-keys")) {
                Scenarios.report("shared-keys-produce", scenarios::sharedKeys);
            } else if (mode.equals("own")) {
                Scenarios.report("create-topic", scenarios::createDataTopic);
                Scenarios.report("produce-1000", scenarios::produce);
                Scenarios.report("consume-verify",
                        () -> scenarios.consumeVerify(Scenarios.PEER, "interop-" + runId + "-java-verify"));
                Scenarios.report("commit-resume", scenarios::commitResume);
                Scenarios.report("group-split", scenarios::groupSplit);
                Scenarios.report("keyed-partitioning", scenarios::keyedPartitioning);
            } else {
                for (String producer : producers) {
                    Scenarios.report("consume-from-" + producer,
                            () -> scenarios.consumeVerify(producer, "interop-" + runId + "-java-from-" + producer));
                }
            }
        }
        System.exit(0);
    }

    private static void groupMember(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int a = 1; a + 1 < args.length; a += 2) {
            options.put(args[a], args[a + 1]);
        }
        for (String required : List.of("--bootstrap", "--topic", "--group", "--sync")) {
            if (!options.containsKey(required)) {
                usage();
            }
        }
        MixedGroupMember.run(options.get("--bootstrap"), options.get("--topic"), options.get("--group"),
                Path.of(options.get("--sync")));
        System.exit(0);
    }

    private static void usage() {
        System.err.println("usage: Peer own|cross|dlt-read|shared-keys|txn-produce|null-header-produce --bootstrap HOST:PORT --run ID [--from PRODUCER ...]");
        System.err.println("       Peer group-member --bootstrap HOST:PORT --topic T --group G --sync DIR");
        System.exit(2);
    }
}
