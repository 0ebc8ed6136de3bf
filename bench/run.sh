#!/usr/bin/env bash
# One-run consumer benchmark on real Kafka (issue #9): the same broker and the same preloaded data
# read, one consumer after another, by
#   raw-rskafka     a hand-written per-partition rskafka fetch loop + serde_json (no groups, no
#                   commits: rskafka has neither) — the ceiling of our data plane
#   kafka-listener  our #[kafka_listener], ack_mode MANUAL, default settings
#   rdkafka         a hand-written rust-rdkafka StreamConsumer, offsets stored per record, committed
#   rdkafka-base    a rust-rdkafka BaseConsumer poll loop, the same acknowledgement: librdkafka's pace
#   spring-kafka    Spring Boot 4.0 + Spring Kafka 4.1 @KafkaListener, AckMode.MANUAL, Jackson
# each from earliest in a fresh group, JSON-decoding every value into a struct and acknowledging it.
# Then a parallel scenario (a handler that awaits 1 ms per record: sequential vs parallelism 64,
# key ordering) and produce→handler latency at a fixed rate (our listener, and the raw-rskafka
# fetch loops as a reference).
#
#   bench/run.sh [--records N] [--size B] [--partitions P]     defaults 1000000, 100, 6
#                [--parallel-records M] [--latency-records L] [--latency-rate R]
#                                                         defaults 20000, 50000, 10000
#   bench/run.sh --quick        20000 records, 5000 parallel, 20000 latency: a few minutes
#   bench/run.sh --security S   S = plaintext (default), sasl_ssl (every consumer on SASL_SSL,
#                               SCRAM-SHA-512, from kafka.sh's client files), or both: plaintext
#                               then sasl_ssl in one invocation, each on its own fresh broker
#
# stdout, per security: `security=S`, a table (with whether each group committed the whole
# topic), then one line each of (X a decimal number):
#   ratio_vs_raw=X, ratio_vs_rdkafka=X, ratio_vs_rdkafka_base=X, ratio_vs_spring=X
#                                                           our records/s over theirs
#   cpu_ratio_vs_raw=X, cpu_ratio_vs_spring=X               our CPU µs per record over theirs
#   peak_rss_mib=X                                          our listener's peak RSS
#   connections_per_member=N                                broker connections carrying fetch data
#   parallel_speedup=X, latency_p50_ms=X, latency_p99_ms=X
#   latency_p99_ratio_vs_raw=X                              our p99 over the raw loops' p99
# and with --security both, last: tls_cost_pct=X (our CPU µs/record, sasl_ssl over plaintext,
# in % more) and tls_rate_cost_pct=X (our records/s, in % fewer).
# records/s counts from each consumer's first handled record to its N-th (process start-up,
# JVM warm-up before the first record and group joins are excluded); wall s is the whole process.
# CPU s (user+sys) and peak RSS are the whole consumer process, from /usr/bin/time.
#
# Kafka comes from deploy/local/kafka.sh in its own state dir ($KAFKA_STATE_DIR if set, else one
# under the work dir) and is always stopped on exit.
# Needs: cargo, Java 17+, Maven, python3, /usr/bin/time. Progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

RECORDS=1000000
SIZE=100
PARTITIONS=6
KEYS=10000
PARALLEL_RECORDS=20000
LATENCY_RECORDS=50000
LATENCY_RATE=10000
SECURITY=plaintext
CONSUMER_TIMEOUT_S=${BENCH_CONSUMER_TIMEOUT:-1800}

number() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive whole number, got '$2'"; }
while (($#)); do
    case $1 in
    --records | --size | --partitions | --parallel-records | --latency-records | --latency-rate)
        (($# >= 2)) || die "$1 needs a value"
        number "$1" "$2"
        case $1 in
        --records) RECORDS=$2 ;;
        --size) SIZE=$2 ;;
        --partitions) PARTITIONS=$2 ;;
        --parallel-records) PARALLEL_RECORDS=$2 ;;
        --latency-records) LATENCY_RECORDS=$2 ;;
        --latency-rate) LATENCY_RATE=$2 ;;
        esac
        shift 2
        ;;
    --security)
        (($# >= 2)) || die "$1 needs a value"
        case $2 in
        plaintext | sasl_ssl | both) SECURITY=$2 ;;
        *) die "--security must be plaintext, sasl_ssl or both, got '$2'" ;;
        esac
        shift 2
        ;;
    --quick)
        RECORDS=20000
        PARALLEL_RECORDS=5000
        LATENCY_RECORDS=20000
        shift
        ;;
    -h | --help) usage ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
for tool in cargo java mvn python3 /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed"
done

case $SECURITY in
both) SUITES=(plaintext sasl_ssl) ;;
*) SUITES=("$SECURITY") ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-listener-bench.XXXXXX")
KAFKA_STATE=${KAFKA_STATE_DIR:-$WORK/kafka}
KAFKA_STARTED=0
CHILD_PID=""
cleanup() {
    local status=$?
    if [[ -n "$CHILD_PID" ]]; then
        kill "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    if ((KAFKA_STARTED)); then
        KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" stop >/dev/null 2>&1 ||
            log "could not stop the Kafka cluster in $KAFKA_STATE"
    fi
    if ((status != 0)); then
        log "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Build everything before the broker starts, so no compile competes with a measurement.
# ---------------------------------------------------------------------------------------------
log "building the Rust bench binaries (release)"
(cd "$ROOT" && cargo build --release --quiet --example bench_preload --example bench_raw_rskafka \
    --example bench_listener --example bench_committed) >"$WORK/cargo.log" 2>&1 || {
    tail -n 40 "$WORK/cargo.log" >&2
    die "the workspace bench examples did not build"
}
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
EXAMPLES="$TARGET_DIR/release/examples"

log "building the rust-rdkafka consumer (bench/rdkafka, its own target dir)"
cargo build --release --quiet --manifest-path "$BENCH/rdkafka/Cargo.toml" >"$WORK/rdkafka-build.log" 2>&1 || {
    tail -n 40 "$WORK/rdkafka-build.log" >&2
    die "bench/rdkafka did not build"
}
RDKAFKA_BIN="$BENCH/rdkafka/target/release/bench-rdkafka"

log "building the Spring Kafka consumer (bench/spring) with Maven"
mvn -q -B -Dstyle.color=never -f "$BENCH/spring/pom.xml" package >"$WORK/mvn.log" 2>&1 || {
    tail -n 40 "$WORK/mvn.log" >&2
    die "bench/spring did not build"
}

# ---------------------------------------------------------------------------------------------
# Broker and data (per security: a fresh broker each)
# ---------------------------------------------------------------------------------------------
# start_kafka SECURITY: starts the broker, sets BOOTSTRAP; for a secured broker exports what
# each consumer reads its security from (see bench/README.md) and sets RDKAFKA_SECURITY.
SECURITY_VARS=()
RDKAFKA_SECURITY=()
start_kafka() {
    local args=(start)
    [[ $1 == plaintext ]] || args+=(--security "$1")
    log "starting Kafka ($1, state dir $KAFKA_STATE)"
    KAFKA_STARTED=1
    KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" "${args[@]}" >"$OUT/kafka-start.out" ||
        die "Kafka did not start"
    local line
    line=$(tail -n 1 "$OUT/kafka-start.out")
    BOOTSTRAP=${line#KAFKA_BOOTSTRAP_SERVERS=}
    [[ -n "$BOOTSTRAP" && "$BOOTSTRAP" != "$line" ]] || die "kafka.sh printed no bootstrap line"
    if [[ $1 != plaintext ]]; then
        # Our App (and Spring Boot) read the cluster's client-security.yml through this variable.
        line=$(grep '^SPRING_CONFIG_ADDITIONAL_LOCATION=' "$OUT/kafka-start.out") ||
            die "kafka.sh printed no SPRING_CONFIG_ADDITIONAL_LOCATION line"
        export SPRING_CONFIG_ADDITIONAL_LOCATION=${line#*=}
        # The bench's own rskafka clients read client.env's KAFKA_* variables.
        mapfile -t SECURITY_VARS < <(sed -n 's/^\(KAFKA_[A-Z_]*\)=.*/\1/p' "$KAFKA_STATE/client.env")
        set -a
        # shellcheck disable=SC1091 # written by kafka.sh at start
        . "$KAFKA_STATE/client.env"
        set +a
        RDKAFKA_SECURITY=(--properties "$KAFKA_STATE/client-librdkafka.properties")
    fi
    log "Kafka at $BOOTSTRAP"
}
stop_kafka() {
    KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" stop >/dev/null 2>&1 ||
        log "could not stop the Kafka cluster in $KAFKA_STATE"
    KAFKA_STARTED=0
    if ((${#SECURITY_VARS[@]})); then
        unset SPRING_CONFIG_ADDITIONAL_LOCATION "${SECURITY_VARS[@]}"
    fi
    SECURITY_VARS=()
    RDKAFKA_SECURITY=()
}

preload() { # topic records
    log "preloading $2 records of ~$SIZE B with $KEYS keys into $1 ($PARTITIONS partitions)"
    "$EXAMPLES/bench_preload" --bootstrap "$BOOTSTRAP" --topic "$1" --partitions "$PARTITIONS" \
        --records "$2" --size "$SIZE" --keys "$KEYS" >"$OUT/preload-$1.out" 2>"$OUT/preload-$1.err" || {
        tail -n 20 "$OUT/preload-$1.err" >&2
        die "preloading $1 failed"
    }
    log "$(cat "$OUT/preload-$1.out")"
}

# ---------------------------------------------------------------------------------------------
# Consumers: each a separate process under /usr/bin/time -v.
# ---------------------------------------------------------------------------------------------
# measure NAME COMMAND...: runs the consumer, appends
# NAME records first_us last_us wall_ms user_s sys_s rss_kb to $RESULTS.
measure() {
    local name=$1
    shift
    log "running $name"
    local started ended
    started=$(date +%s%3N)
    /usr/bin/time -v -o "$OUT/$name.time" timeout "$CONSUMER_TIMEOUT_S" "$@" \
        >"$OUT/$name.out" 2>"$OUT/$name.err" &
    CHILD_PID=$!
    if ! wait "$CHILD_PID"; then
        CHILD_PID=""
        tail -n 30 "$OUT/$name.err" >&2
        die "$name failed (log: $OUT/$name.err)"
    fi
    CHILD_PID=""
    ended=$(date +%s%3N)
    local line
    line=$(grep '^BENCH ' "$OUT/$name.out" | tail -n 1) || die "$name printed no BENCH line"
    python3 - "$name" "$line" "$((ended - started))" "$OUT/$name.time" >>"$RESULTS" <<'PY'
import re, sys
name, line, wall_ms, time_file = sys.argv[1:5]
fields = dict(kv.split("=", 1) for kv in line.split()[1:])
text = open(time_file).read()
def stat(label):
    m = re.search(re.escape(label) + r":\s*([0-9.]+)", text)
    if not m:
        sys.exit(f"{name}: no '{label}' in /usr/bin/time output")
    return m.group(1)
print("\t".join([name, fields["records"], fields["first_us"], fields["last_us"], wall_ms,
                 stat("User time (seconds)"), stat("System time (seconds)"),
                 stat("Maximum resident set size (kbytes)")]))
PY
    log "$name: $(tail -n 1 "$RESULTS")"
    if line=$(grep '^CONNECTIONS ' "$OUT/$name.out"); then
        log "$name: $line"
    fi
}

# commits NAME GROUP: records in $OUT/NAME.commits whether GROUP committed the whole topic.
commits() {
    local out
    if out=$("$EXAMPLES/bench_committed" --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --group "$2" \
        --partitions "$PARTITIONS" 2>"$OUT/$1.commits.err"); then
        echo all >"$OUT/$1.commits"
    else
        out=$(grep '^COMMITTED ' <<<"$out" || true)
        [[ -n "$out" ]] || out="unknown: $(tail -n 1 "$OUT/$1.commits.err")"
        log "$1 did not commit every offset: $out"
        local committed log_end
        committed=$(sed -n 's/.* committed=\([0-9]*\).*/\1/p' <<<"$out")
        log_end=$(sed -n 's/.* log_end=\([0-9]*\).*/\1/p' <<<"$out")
        echo "${committed:-?}/${log_end:-?}" >"$OUT/$1.commits"
    fi
}

# suite SECURITY: the whole benchmark on a fresh broker with that security; results in
# $WORK/SECURITY/.
suite() {
    OUT="$WORK/$1"
    mkdir -p "$OUT"
    start_kafka "$1"
    RUN=$(date +%s)-$$-${1//_/-}
    TOPIC="bench-$RUN"
    preload "$TOPIC" "$RECORDS"

    RESULTS="$OUT/results.tsv"
    : >"$RESULTS"
    echo none >"$OUT/raw-rskafka.commits"
    measure raw-rskafka "$EXAMPLES/bench_raw_rskafka" --bootstrap "$BOOTSTRAP" --topic "$TOPIC" \
        --partitions "$PARTITIONS" --records "$RECORDS"
    measure kafka-listener "$EXAMPLES/bench_listener" throughput --bootstrap "$BOOTSTRAP" \
        --topic "$TOPIC" --group "bench-$RUN-kafka-listener" --records "$RECORDS"
    commits kafka-listener "bench-$RUN-kafka-listener"
    measure rdkafka "$RDKAFKA_BIN" --consumer stream --bootstrap "$BOOTSTRAP" --topic "$TOPIC" \
        --group "bench-$RUN-rdkafka" --records "$RECORDS" "${RDKAFKA_SECURITY[@]}"
    commits rdkafka "bench-$RUN-rdkafka"
    measure rdkafka-base "$RDKAFKA_BIN" --consumer base --bootstrap "$BOOTSTRAP" --topic "$TOPIC" \
        --group "bench-$RUN-rdkafka-base" --records "$RECORDS" "${RDKAFKA_SECURITY[@]}"
    commits rdkafka-base "bench-$RUN-rdkafka-base"
    # Spring Boot reads the secured cluster's client-security.yml from
    # SPRING_CONFIG_ADDITIONAL_LOCATION, exported by start_kafka.
    # shellcheck disable=SC2086 # SPRING_BENCH_JAVA_OPTS is a list of JVM options
    measure spring-kafka java ${SPRING_BENCH_JAVA_OPTS:-} \
        -cp "$BENCH/spring/target/classes:$BENCH/spring/target/lib/*" bench.BenchApplication \
        "--spring.kafka.bootstrap-servers=$BOOTSTRAP" "--bench.topic=$TOPIC" \
        "--bench.group=bench-$RUN-spring" "--bench.records=$RECORDS"
    commits spring-kafka "bench-$RUN-spring"
    mv "$RESULTS" "$OUT/throughput.tsv"

    # Parallel scenario: a 1 ms handler, sequential vs parallelism 64 (key order).
    local parallel_topic="bench-$RUN-slow"
    preload "$parallel_topic" "$PARALLEL_RECORDS"
    RESULTS="$OUT/parallel.tsv"
    : >"$RESULTS"
    measure slow-sequential "$EXAMPLES/bench_listener" parallel --bootstrap "$BOOTSTRAP" \
        --topic "$parallel_topic" --group "bench-$RUN-slow-seq" --records "$PARALLEL_RECORDS"
    measure slow-parallel-64 "$EXAMPLES/bench_listener" parallel --bootstrap "$BOOTSTRAP" \
        --topic "$parallel_topic" --group "bench-$RUN-slow-par" --records "$PARALLEL_RECORDS" \
        --parallelism 64

    # Latency: produce → handler at a fixed rate.
    log "measuring produce→handler latency: $LATENCY_RECORDS records at $LATENCY_RATE/s"
    "$EXAMPLES/bench_listener" latency --bootstrap "$BOOTSTRAP" --topic "bench-$RUN-latency" \
        --group "bench-$RUN-latency" --partitions "$PARTITIONS" --records "$LATENCY_RECORDS" \
        --rate "$LATENCY_RATE" >"$OUT/latency.out" 2>"$OUT/latency.err" || {
        tail -n 30 "$OUT/latency.err" >&2
        die "the latency scenario failed"
    }
    grep -q '^LATENCY ' "$OUT/latency.out" || die "no LATENCY line"
    log "$(grep 'sent and acknowledged' "$OUT/latency.err" || true)"
    log "the same with the raw-rskafka fetch loops as consumer (reference)"
    "$EXAMPLES/bench_raw_rskafka" latency --bootstrap "$BOOTSTRAP" --topic "bench-$RUN-latency-raw" \
        --partitions "$PARTITIONS" --records "$LATENCY_RECORDS" --rate "$LATENCY_RATE" \
        >"$OUT/latency-raw.out" 2>"$OUT/latency-raw.err" || {
        tail -n 30 "$OUT/latency-raw.err" >&2
        die "the raw-rskafka latency reference failed"
    }
    grep -q '^LATENCY ' "$OUT/latency-raw.out" || die "no raw LATENCY line"
    stop_kafka
}

for security in "${SUITES[@]}"; do
    suite "$security"
done

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
python3 - "$WORK" "$RECORDS" "$SIZE" "$PARTITIONS" "$PARALLEL_RECORDS" "$LATENCY_RATE" \
    "${SUITES[@]}" <<'PY'
import re, sys
work, records, size, partitions, parallel_records, rate = sys.argv[1:7]
suites = sys.argv[7:]
PROTOCOL = {"plaintext": "", "sasl_ssl": ", SASL_SSL SCRAM-SHA-512"}

def rows(path):
    out = {}
    for line in open(path):
        name, n, first, last, wall_ms, user, sys_, rss = line.rstrip("\n").split("\t")
        n = int(n)
        span = max(int(last) - int(first), 1) / 1e6
        cpu = float(user) + float(sys_)
        out[name] = {
            "records": n, "span": span, "rate": n / span, "wall": int(wall_ms) / 1e3,
            "wall_rate": n / (int(wall_ms) / 1e3), "cpu": cpu, "cpu_us": cpu * 1e6 / n,
            "rss": int(rss) / 1024,
        }
    return out

def tagged(path, tag):
    for line in open(path):
        if line.startswith(tag + " "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    sys.exit(f"no {tag} line in {path}")

ours_by_suite = {}
for security in suites:
    out = f"{work}/{security}"
    t = rows(f"{out}/throughput.tsv")
    print(f"security={security}")
    print(f"{records} records of ~{size} B, {partitions} partitions, 10000 keys, "
          f"real Kafka (1 broker{PROTOCOL[security]})")
    print(f"{'consumer':<16}{'records/s':>12}{'wall s':>9}{'wall rec/s':>12}{'CPU s':>9}"
          f"{'CPU us/rec':>12}{'peak RSS MiB':>14}  committed")
    for name in ["raw-rskafka", "kafka-listener", "rdkafka", "rdkafka-base", "spring-kafka"]:
        r = t[name]
        committed = open(f"{out}/{name}.commits").read().strip()
        print(f"{name:<16}{r['rate']:>12.0f}{r['wall']:>9.2f}{r['wall_rate']:>12.0f}{r['cpu']:>9.2f}"
              f"{r['cpu_us']:>12.2f}{r['rss']:>14.1f}  {committed}")
    ours = ours_by_suite[security] = t["kafka-listener"]
    print(f"ratio_vs_raw={ours['rate'] / t['raw-rskafka']['rate']:.3f}")
    print(f"ratio_vs_rdkafka={ours['rate'] / t['rdkafka']['rate']:.3f}")
    print(f"ratio_vs_rdkafka_base={ours['rate'] / t['rdkafka-base']['rate']:.3f}")
    print(f"ratio_vs_spring={ours['rate'] / t['spring-kafka']['rate']:.3f}")
    print(f"cpu_ratio_vs_raw={ours['cpu_us'] / t['raw-rskafka']['cpu_us']:.3f}")
    print(f"cpu_ratio_vs_spring={ours['cpu_us'] / t['spring-kafka']['cpu_us']:.3f}")
    print(f"peak_rss_mib={ours['rss']:.1f}")

    conn = tagged(f"{out}/kafka-listener.out", "CONNECTIONS")
    raw_conn = tagged(f"{out}/raw-rskafka.out", "CONNECTIONS")
    opened, data = int(conn["open"]), int(conn["data"])
    print(f"broker connections when the last record was handled: kafka-listener (1 member) "
          f"{opened} open, {data} carrying fetch data, {opened - data} other (group coordinator, "
          f"heartbeat, metadata and offset look-ups); "
          f"raw-rskafka {raw_conn['open']} open, {raw_conn['data']} carrying fetch data")
    print(f"connections_per_member={data}")

    p = rows(f"{out}/parallel.tsv")
    seq, par = p["slow-sequential"], p["slow-parallel-64"]
    print(f"1 ms handler, {parallel_records} records: sequential {seq['rate']:.0f} rec/s, "
          f"parallelism 64 (key order) {par['rate']:.0f} rec/s")
    print(f"parallel_speedup={par['rate'] / seq['rate']:.2f}")

    lat = tagged(f"{out}/latency.out", "LATENCY")
    raw = tagged(f"{out}/latency-raw.out", "LATENCY")
    ms = lambda us: int(us) / 1e3
    print(f"latency at {rate} records/s over {lat['records']} records, produce -> handler: "
          f"kafka-listener p50 {ms(lat['p50_us']):.2f} ms, p99 {ms(lat['p99_us']):.2f} ms, "
          f"max {ms(lat['max_us']):.2f} ms; raw-rskafka reference p50 {ms(raw['p50_us']):.2f} ms, "
          f"p99 {ms(raw['p99_us']):.2f} ms, max {ms(raw['max_us']):.2f} ms")
    print(f"latency_p50_ms={ms(lat['p50_us']):.2f}")
    print(f"latency_p99_ms={ms(lat['p99_us']):.2f}")
    print(f"latency_p99_ratio_vs_raw={int(lat['p99_us']) / max(int(raw['p99_us']), 1):.3f}")

if len(suites) == 2:
    plain, tls = ours_by_suite["plaintext"], ours_by_suite["sasl_ssl"]
    print(f"kafka-listener, plaintext -> sasl_ssl: {plain['rate']:.0f} -> {tls['rate']:.0f} "
          f"records/s, {plain['cpu_us']:.2f} -> {tls['cpu_us']:.2f} CPU us/rec")
    print(f"tls_cost_pct={(tls['cpu_us'] / plain['cpu_us'] - 1) * 100:.1f}")
    print(f"tls_rate_cost_pct={(1 - tls['rate'] / plain['rate']) * 100:.1f}")
PY
