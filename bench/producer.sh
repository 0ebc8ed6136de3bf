#!/usr/bin/env bash
# Producer throughput, our KafkaTemplate next to Apache kafka-clients' producer, in one run against
# the same real Kafka cluster: 100-byte values, null keys, acks=all, linger.ms=5, each side on its
# own fresh topic with the same partitions and replication.
#
#   bench/producer.sh [--records N] [--size BYTES] [--partitions P]
#
# Uses $KAFKA_BOOTSTRAP_SERVERS if set, else starts (and stops) a 3-broker cluster with
# deploy/local/kafka.sh. Builds the Java side with Maven (tests/interop/java) and ours with
# `cargo build --release --example producer_bench`. Prints both results and the ratio.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECORDS=300000
SIZE=100
PARTITIONS=6
while (($#)); do
    case $1 in
    --records) RECORDS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    *) echo "usage: bench/producer.sh [--records N] [--size BYTES] [--partitions P]" >&2; exit 2 ;;
    esac
done

log() { printf 'bench: %s\n' "$*" >&2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-listener-producer-bench.XXXXXX")
KAFKA_STATE=""
cleanup() {
    if [[ -n "$KAFKA_STATE" ]]; then
        KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" stop >/dev/null 2>&1 || log "could not stop Kafka in $KAFKA_STATE"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

log "building the Java producer (tests/interop/java) and ours (release)"
mvn -q -B -Dstyle.color=never -f "$ROOT/tests/interop/java/pom.xml" package >"$WORK/mvn.log" 2>&1 || {
    tail -n 30 "$WORK/mvn.log" >&2
    exit 1
}
(cd "$ROOT" && cargo build --quiet --release --example producer_bench) >"$WORK/cargo.log" 2>&1 || {
    tail -n 30 "$WORK/cargo.log" >&2
    exit 1
}
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
    BOOTSTRAP=$KAFKA_BOOTSTRAP_SERVERS
    BROKERS=$(python3 "$ROOT/deploy/local/metadata_probe.py" "${BOOTSTRAP%%,*}" | grep -c .)
else
    KAFKA_STATE="$WORK/kafka"
    line=$(KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" start --brokers 3 | tail -n 1)
    BOOTSTRAP=${line#KAFKA_BOOTSTRAP_SERVERS=}
    BROKERS=3
fi
REPLICATION=$((BROKERS < 3 ? BROKERS : 3))
RUN="bench-$(date +%s)-$$"
log "cluster $BOOTSTRAP ($BROKERS brokers); $RECORDS records of $SIZE bytes, $PARTITIONS partitions, replication $REPLICATION, acks=all, linger.ms=5"

JAVA=(java -Xmx1g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    -cp "$ROOT/tests/interop/java/target/classes:$ROOT/tests/interop/java/target/lib/*")

# Our topic is created by the same admin call as Java's, with 0 records, so both start equal.
"${JAVA[@]}" interop.ProducerPerf --bootstrap "$BOOTSTRAP" --topic "$RUN-rust" --records 0 --size "$SIZE" \
    --partitions "$PARTITIONS" --replication "$REPLICATION" >/dev/null
rust=$("$TARGET_DIR/release/examples/producer_bench" --bootstrap "$BOOTSTRAP" --topic "$RUN-rust" \
    --records "$RECORDS" --size "$SIZE")
java=$("${JAVA[@]}" interop.ProducerPerf --bootstrap "$BOOTSTRAP" --topic "$RUN-java" --records "$RECORDS" \
    --size "$SIZE" --partitions "$PARTITIONS" --replication "$REPLICATION")
echo "$java"
echo "$rust"
python3 - "$java" "$rust" <<'PY'
import sys
rate = lambda line: float(line.rsplit("records_per_sec=", 1)[1])
java, rust = rate(sys.argv[1]), rate(sys.argv[2])
print(f"ratio rust/java = {rust / java:.2f}")
PY
