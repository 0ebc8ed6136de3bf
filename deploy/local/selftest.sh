#!/usr/bin/env bash
# Checks deploy/local/kafka.sh end to end with real brokers, in a state dir of its own:
#   - start --brokers 1 and 3 print 127.0.0.1 bootstrap lines with 1 and 3 distinct ports
#   - status reports every broker running; a second start on the same state dir is refused
#   - kill-broker 2 leaves broker 2 stopped (status exits 3) and its port closed;
#     restart-broker 2 brings it back on the same port, registered again
#   - stop leaves no process, no listening port and no state dir behind
#   - start --brokers 1 --security sasl_ssl prints SPRING_CONFIG_ADDITIONAL_LOCATION=… then the
#     bootstrap line, writes the client files and TLS material; the listener speaks TLS with the
#     generated CA (not with other-ca.pem) and SASL/PLAIN as alice (not with a wrong password);
#     Kafka's Java client round-trips records with client.properties (SCRAM-SHA-512 over
#     SASL_SSL); stop cleans up as above
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

# Stops the cluster; no process, port ($1: the client ports) or state dir may be left. $2 names
# the case in the ok line.
check_stopped() {
    local ports=$1 pids port started elapsed
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
    ok "stop $2: no process, port or data left (${elapsed} ms)"
    mkdir -p "$KAFKA_STATE_DIR"
}

check_cluster() {
    local brokers=$1 line ports port
    local started=$(date +%s%3N)
    line=$("$KAFKA_SH" start --brokers "$brokers")
    local elapsed=$(($(date +%s%3N) - started))
    [[ $(grep -c . <<<"$line") == 1 ]] || fail "start --brokers $brokers printed more than one line: $line"
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

    check_stopped "$ports" "--brokers $brokers"
}

check_secured() {
    local out started elapsed spring line port state=$KAFKA_STATE_DIR file
    started=$(date +%s%3N)
    out=$("$KAFKA_SH" start --brokers 1 --security sasl_ssl)
    elapsed=$(($(date +%s%3N) - started))
    [[ $(grep -c . <<<"$out") == 2 ]] || fail "start --security sasl_ssl printed: $out"
    spring=$(sed -n 1p <<<"$out")
    line=$(sed -n 2p <<<"$out")
    [[ "$spring" == "SPRING_CONFIG_ADDITIONAL_LOCATION=$state/client-security.yml" ]] ||
        fail "first line of a secured start is '$spring'"
    [[ "$line" =~ ^KAFKA_BOOTSTRAP_SERVERS=127\.0\.0\.1:[0-9]+$ ]] || fail "last line of a secured start is '$line'"
    [[ "$("$KAFKA_SH" bootstrap)" == "$out" ]] || fail "bootstrap does not repeat the two lines of start"
    ok "start --brokers 1 --security sasl_ssl -> $spring, $line (${elapsed} ms)"

    for file in client-security.yml client.properties client-librdkafka.properties client.env \
        tls/ca.pem tls/other-ca.pem tls/broker-1.pem tls/broker-1.key tls/broker-1.keystore.p12 \
        tls/broker-truststore.p12 tls/client.pem tls/client.key tls/client.keystore.p12 \
        tls/client-truststore.p12 tls/client-truststore.pem; do
        [[ -s "$state/$file" ]] || fail "secured start did not write $file"
    done
    grep -qx '      protocol: SASL_SSL' "$state/client-security.yml" || fail "client-security.yml lacks protocol: SASL_SSL"
    grep -qx 'sasl.mechanism=SCRAM-SHA-512' "$state/client.properties" || fail "client.properties lacks SCRAM-SHA-512"
    ok "client files and TLS material written"

    port=${line##*:}
    [[ $(python3 "$PROBE" --tls-ca "$state/tls/ca.pem" --sasl-plain alice:alice-secret "127.0.0.1:$port" | wc -l) == 1 ]] ||
        fail "TLS + SASL/PLAIN as alice does not work on $port"
    python3 "$PROBE" --tls-ca "$state/tls/ca.pem" --sasl-plain alice:wrong "127.0.0.1:$port" >/dev/null 2>&1 &&
        fail "a wrong SASL password was accepted"
    python3 "$PROBE" --tls-ca "$state/tls/other-ca.pem" --sasl-plain alice:alice-secret "127.0.0.1:$port" >/dev/null 2>&1 &&
        fail "a client trusting only other-ca.pem accepted the broker certificate"
    python3 "$PROBE" "127.0.0.1:$port" >/dev/null 2>&1 && fail "the SASL_SSL port answered PLAINTEXT"
    ok "SASL_SSL listener: alice accepted; wrong password, other CA and plaintext refused"

    local libs result
    libs=$(sed -n 's/^LIBS=//p' "$state/cluster.env")
    started=$(date +%s%3N)
    if ! result=$(java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$libs/*" \
        "$(dirname "$KAFKA_SH")/ClientRoundTrip.java" "$state/client.properties" "${line#*=}" selftest-secured 2>&1); then
        fail "Java round trip with client.properties: $(tail -n 20 <<<"$result")"
    fi
    elapsed=$(($(date +%s%3N) - started))
    ok "Java client round trip with client.properties: $(grep '^roundtrip ok' <<<"$result") (${elapsed} ms)"

    check_stopped "$port" "--security sasl_ssl"
}

check_cluster 1
check_cluster 3
check_secured
echo "kafka.sh selftest passed"
