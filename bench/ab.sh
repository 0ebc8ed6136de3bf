#!/usr/bin/env bash
# A/B consumer benchmark: our #[kafka_listener] built from an earlier commit next to the working
# tree's, on one real Kafka broker and the same preloaded data, rounds alternating between the two
# so load on the machine falls on both alike; the raw rskafka fetch loop runs once as the ceiling.
#
#   bench/ab.sh BASE [--records N] [--partitions P] [--rounds R]   defaults 1000000, 6, 3
#
# BASE is any git revision (HEAD: the last commit against the uncommitted change). stdout: one
# line per run, then a table of the median of each side, then
#   ratio_after_vs_before=X   the working tree's records/s over BASE's (medians)
#   cpu_ratio_after_vs_before=X   CPU µs per record, likewise
#   ratio_after_vs_raw=X   the working tree's records/s over the raw rskafka loop's
# records/s counts from each consumer's first handled record to its N-th, as bench/run.sh does.
# Kafka comes from deploy/local/kafka.sh in its own state dir and is always stopped on exit.
# Needs: cargo, git, Java 17+, python3, /usr/bin/time. Progress goes to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'bench-ab: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

(($#)) || usage
case $1 in -h | --help) usage ;; esac
BASE=$1
shift
RECORDS=1000000
PARTITIONS=6
ROUNDS=3
KEYS=10000
SIZE=100
number() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive whole number, got '$2'"; }
while (($#)); do
    case $1 in
    --records | --partitions | --rounds)
        (($# >= 2)) || die "$1 needs a value"
        number "$1" "$2"
        case $1 in
        --records) RECORDS=$2 ;;
        --partitions) PARTITIONS=$2 ;;
        --rounds) ROUNDS=$2 ;;
        esac
        shift 2
        ;;
    -h | --help) usage ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
BASE_COMMIT=$(git -C "$ROOT" rev-parse --verify --quiet "$BASE^{commit}") ||
    die "'$BASE' is not a commit of this repository"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-listener-bench-ab.XXXXXX")
KAFKA_STATE="$WORK/kafka"
KAFKA_STARTED=0
cleanup() {
    local status=$?
    if ((KAFKA_STARTED)); then
        KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" stop >/dev/null 2>&1 ||
            log "could not stop the Kafka cluster in $KAFKA_STATE"
    fi
    git -C "$ROOT" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
    if ((status != 0)); then
        log "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both sides build into the working tree's target dir, so the registry crates compile once; each
# side's binaries are copied out before the other side's build overwrites them.
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
build_side() { # name source-dir
    log "building the bench examples of $1 (release)"
    (cd "$2" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet \
        --example bench_preload --example bench_raw_rskafka --example bench_listener) \
        >"$WORK/cargo-$1.log" 2>&1 || {
        tail -n 40 "$WORK/cargo-$1.log" >&2
        die "the bench examples of $1 did not build"
    }
    mkdir -p "$WORK/$1"
    cp "$TARGET_DIR"/release/examples/{bench_preload,bench_raw_rskafka,bench_listener} "$WORK/$1/"
}
git -C "$ROOT" worktree add --detach --quiet "$WORK/base" "$BASE_COMMIT"
build_side before "$WORK/base"
build_side after "$ROOT"

log "starting Kafka (state dir $KAFKA_STATE)"
KAFKA_STARTED=1
BOOTSTRAP_LINE=$(KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" start | tail -n 1) ||
    die "Kafka did not start"
BOOTSTRAP=${BOOTSTRAP_LINE#KAFKA_BOOTSTRAP_SERVERS=}
[[ -n "$BOOTSTRAP" && "$BOOTSTRAP" != "$BOOTSTRAP_LINE" ]] || die "kafka.sh printed no bootstrap line"

RUN=$(date +%s)-$$
TOPIC="bench-ab-$RUN"
log "preloading $RECORDS records of ~$SIZE B into $TOPIC ($PARTITIONS partitions)"
"$WORK/after/bench_preload" --bootstrap "$BOOTSTRAP" --topic "$TOPIC" --partitions "$PARTITIONS" \
    --records "$RECORDS" --size "$SIZE" --keys "$KEYS" >"$WORK/preload.out" 2>"$WORK/preload.err" || {
    tail -n 20 "$WORK/preload.err" >&2
    die "preloading failed"
}

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
run() { # side label command...
    local side=$1 label=$2
    shift 2
    log "running $label"
    /usr/bin/time -v -o "$WORK/$label.time" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || {
        tail -n 30 "$WORK/$label.err" >&2
        die "$label failed"
    }
    local line
    line=$(grep '^BENCH ' "$WORK/$label.out" | tail -n 1) || die "$label printed no BENCH line"
    python3 - "$side" "$label" "$line" "$WORK/$label.time" >>"$RESULTS" <<'PY'
import re, sys
side, label, line, time_file = sys.argv[1:5]
fields = dict(kv.split("=", 1) for kv in line.split()[1:])
text = open(time_file).read()
cpu = sum(float(re.search(re.escape(l) + r":\s*([0-9.]+)", text).group(1))
          for l in ("User time (seconds)", "System time (seconds)"))
records = int(fields["records"])
per_sec = records / ((int(fields["last_us"]) - int(fields["first_us"])) / 1e6)
print(f"{side}\t{label}\t{per_sec:.0f}\t{cpu * 1e6 / records:.3f}")
PY
    tail -n 1 "$RESULTS"
}

run raw raw-rskafka "$WORK/after/bench_raw_rskafka" --bootstrap "$BOOTSTRAP" --topic "$TOPIC" \
    --partitions "$PARTITIONS" --records "$RECORDS"
for round in $(seq 1 "$ROUNDS"); do
    for side in before after; do
        run "$side" "$side-$round" "$WORK/$side/bench_listener" throughput --bootstrap "$BOOTSTRAP" \
            --topic "$TOPIC" --group "bench-ab-$RUN-$side-$round" --records "$RECORDS"
    done
done

python3 - "$RESULTS" "$BASE" <<'PY'
import statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
def median(side, column):
    return statistics.median(float(r[column]) for r in rows if r[0] == side)
print(f"{'side':<8} {'records/s':>12} {'CPU us/rec':>11}   (medians; before = {sys.argv[2]})")
for side in ("raw", "before", "after"):
    print(f"{side:<8} {median(side, 2):>12.0f} {median(side, 3):>11.3f}")
print(f"ratio_after_vs_before={median('after', 2) / median('before', 2):.3f}")
print(f"cpu_ratio_after_vs_before={median('after', 3) / median('before', 3):.3f}")
print(f"ratio_after_vs_raw={median('after', 2) / median('raw', 2):.3f}")
PY
