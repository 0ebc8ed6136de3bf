package interop;

import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of the Java interop peer.
 *
 * <pre>
 * Peer own   --bootstrap B --run R                 create-topic, produce-1000, consume-verify,
 *                                                  commit-resume, group-split, keyed-partitioning
 * Peer cross --bootstrap B --run R --from P [...]  consume-from-P for each producer P
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
        if (bootstrap == null || run == null || !(mode.equals("own") || mode.equals("cross"))) {
            usage();
        }
        final String runId = run;
        try (Scenarios scenarios = new Scenarios(bootstrap, run)) {
            if (mode.equals("own")) {
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

    private static void usage() {
        System.err.println("usage: Peer own|cross --bootstrap HOST:PORT --run ID [--from PRODUCER ...]");
        System.exit(2);
    }
}
