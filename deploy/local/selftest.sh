#!/usr/bin/env bash
# Checks deploy/local/kafka.sh end to end with real brokers, in a state dir of its own:
#   - start --brokers 1 and 3 print 127.0.0.1 bootstrap lines with 1 and 3 distinct ports
#   - status reports every broker running; a second start on the same state dir is refused
#   - kill-broker 2 leaves broker 2 stopped (status exits 3) and its port closed;
#     restart-broker 2 brings it back on the same port, registered again
#   - stop leaves no process, no listening port and no state dir behind
# Prints `ok <check>` per check and exits non-zero at the first failure. Used by .ci/run.
set -euo pipefail

KAFKA_SH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka.sh"
PROBE="$(dirname "$KAFKA_SH")/metadata_probe.py"
KAFKA_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kafka-listener-selftest.XXXXXX")
export KAFKA_STATE_DIR
trap '"$KAFKA_SH" stop >/dev/null 2>&1 || true; rm -rf "$KAFKA_STATE_DIR" "$KAFKA_STATE_DIR.lock"' EXIT

fail() {
    echo "FAILED: $*" >&2
    exit 1
}
ok() { echo "ok $*"; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ports_of() { sed 's/^KAFKA_BOOTSTRAP_SERVERS=//; s/127\.0\.0\.1://g; s/,/ /g' <<<"$1"; }

pids_of_state_dir() { pgrep -f -- "$KAFKA_STATE_DIR/broker-" || true; }

check_cluster() {
    local brokers=$1 line ports port
    local started=$(date +%s%3N)
    line=$("$KAFKA_SH" start --brokers "$brokers" | tail -n 1)
    local elapsed=$(($(date +%s%3N) - started))
    [[ "$line" =~ ^KAFKA_BOOTSTRAP_SERVERS=127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]] ||
        fail "start --brokers $brokers printed '$line'"
    ports=$(ports_of "$line")
    [[ $(tr ' ' '\n' <<<"$ports" | sort -u | grep -c .) == "$brokers" ]] ||
        fail "expected $brokers distinct ports in '$line'"
    ok "start --brokers $brokers -> $line (${elapsed} ms)"

    "$KAFKA_SH" status >/dev/null || fail "status after start"
    for port in $ports; do
        [[ $(python3 "$PROBE" "127.0.0.1:$port" | wc -l) == "$brokers" ]] ||
            fail "broker on $port does not see $brokers brokers"
    done
    ok "status: all $brokers broker(s) running and registered"

    if "$KAFKA_SH" start --brokers "$brokers" >/dev/null 2>&1; then
        fail "a second start on a running state dir was accepted"
    fi
    ok "second start on the same state dir refused"

    if ((brokers == 3)); then
        local second
        second=$(cut -d' ' -f2 <<<"$ports")
        "$KAFKA_SH" kill-broker 2 2>/dev/null
        listening "$second" && fail "broker 2's port $second still open after kill-broker"
        local status=0
        "$KAFKA_SH" status >/dev/null || status=$?
        ((status == 3)) || fail "status after kill-broker exited $status, expected 3"
        ok "kill-broker 2: port $second closed, status reports it"
        line=$("$KAFKA_SH" restart-broker 2 2>/dev/null | tail -n 1)
        [[ "$(ports_of "$line")" == "$ports" ]] || fail "restart changed the ports: $line"
        [[ $(python3 "$PROBE" "127.0.0.1:$second" | wc -l) == 3 ]] || fail "restarted broker not registered"
        "$KAFKA_SH" status >/dev/null || fail "status after restart-broker"
        ok "restart-broker 2: back on port $second"
    fi

    local pids
    pids=$(pids_of_state_dir)
    [[ -n "$pids" ]] || fail "no broker processes found for $KAFKA_STATE_DIR"
    started=$(date +%s%3N)
    "$KAFKA_SH" stop 2>/dev/null
    elapsed=$(($(date +%s%3N) - started))
    [[ -z "$(pids_of_state_dir)" ]] || fail "processes left after stop: $(pids_of_state_dir)"
    for port in $ports; do
        listening "$port" && fail "port $port still listening after stop"
    done
    [[ ! -e "$KAFKA_STATE_DIR" ]] || fail "state dir $KAFKA_STATE_DIR left after stop"
    ok "stop --brokers $brokers: no process, port or data left (${elapsed} ms)"
    mkdir -p "$KAFKA_STATE_DIR"
}

check_cluster 1
check_cluster 3
echo "kafka.sh selftest passed"
