#!/usr/bin/env bash
# Third-party clients against a broker: kafka-python, confluent-kafka (librdkafka), Apache
# kafka-clients (Java) and rskafka each run the same scenarios, then read each other's data;
# then our own listener reads Java's and librdkafka's data and shares a group with their consumers,
# and reads Java's transactions (read_committed / read_uncommitted) and null-header records.
#
#   tests/interop/run.sh --broker kafka [--brokers 1|3]   real Kafka: KAFKA_BOOTSTRAP_SERVERS if
#                                                         set, else a cluster from
#                                                         deploy/local/kafka.sh (default 3 brokers)
#   tests/interop/run.sh --broker embedded                our embedded broker (see README.md)
#   ... --security sasl_ssl                               every client over SASL_SSL (SCRAM-SHA-512
#                                                         as alice, TLS trusting the generated CA),
#                                                         configured from the client files of
#                                                         kafka.sh / embedded-broker (README.md);
#                                                         with --broker kafka and
#                                                         KAFKA_BOOTSTRAP_SERVERS set,
#                                                         SPRING_CONFIG_ADDITIONAL_LOCATION names
#                                                         that cluster's client-security.yml
#
# stdout: one line per scenario, `PASS <peer> <scenario>` or `FAIL <peer> <scenario> <reason>`,
# then as the LAST line `N passed, M failed`. Exit status 0 only if nothing failed. Setup
# progress and peer logs go to stderr / a log dir named on failure.
#
# Everything the peers need is installed here, outside the repository where possible: a venv in
# ${KAFKA_LISTENER_CACHE:-~/.cache/kafka-listener}/venv (pip wheels only), the Java peer built by
# Maven under tests/interop/java/target, the rskafka and listener peers built by cargo.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INTEROP="$ROOT/tests/interop"
CACHE_ROOT=${KAFKA_LISTENER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-listener}
VENV="$CACHE_ROOT/venv"
PIP_REQUIREMENTS=("kafka-python>=3.0,<4" "confluent-kafka>=2.16,<3")
PEER_TIMEOUT_S=${INTEROP_PEER_TIMEOUT:-900}
EMBEDDED_BIN=embedded-broker
EMBEDDED_PACKAGE=kafka-listener-suite

log() { printf 'interop: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

BROKER=""
BROKERS=3
SECURITY=plaintext
while (($#)); do
    case $1 in
    --broker)
        BROKER=${2:-}
        shift 2 || usage
        ;;
    --broker=*)
        BROKER=${1#*=}
        shift
        ;;
    --brokers)
        BROKERS=${2:-}
        shift 2 || usage
        ;;
    --security)
        SECURITY=${2:-}
        shift 2 || usage
        ;;
    --security=*)
        SECURITY=${1#*=}
        shift
        ;;
    -h | --help) usage ;;
    *) die "unknown option '$1' (expected --broker kafka|embedded [--brokers 1|3] [--security sasl_ssl])" ;;
    esac
done
[[ "$BROKER" == kafka || "$BROKER" == embedded ]] || die "--broker must be 'kafka' or 'embedded'"
SECURITY=${SECURITY,,}
[[ "$SECURITY" == plaintext || "$SECURITY" == sasl_ssl ]] ||
    die "--security must be 'plaintext' (the default) or 'sasl_ssl'"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-listener-interop.XXXXXX")
KAFKA_STATE=""
EMBEDDED_PID=""
MEMBER_PID="" # a peer's group member running alongside the group-mixed judge
KEEP_WORK=0

cleanup() {
    local status=$?
    if [[ -n "$MEMBER_PID" ]]; then
        kill "$MEMBER_PID" 2>/dev/null || true
        wait "$MEMBER_PID" 2>/dev/null || true
    fi
    if [[ -n "$EMBEDDED_PID" ]]; then
        kill "$EMBEDDED_PID" 2>/dev/null || true
        wait "$EMBEDDED_PID" 2>/dev/null || true
    fi
    if [[ -n "$KAFKA_STATE" ]]; then
        KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" stop >/dev/null 2>&1 ||
            log "could not stop the Kafka cluster in $KAFKA_STATE"
    fi
    if ((KEEP_WORK)); then
        log "peer logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------------------------
setup_python_peers() {
    mkdir -p "$CACHE_ROOT"
    local fd
    exec {fd}>"$CACHE_ROOT/venv.lock"
    flock -w 600 "$fd" || die "timed out waiting for another run to set up $VENV"
    if ! "$VENV/bin/python" -c 'import kafka, confluent_kafka' >/dev/null 2>&1; then
        log "installing kafka-python and confluent-kafka into $VENV"
        rm -rf "$VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
            --only-binary=:all: "${PIP_REQUIREMENTS[@]}" >"$WORK/pip.log" 2>&1 || {
            tail -n 30 "$WORK/pip.log" >&2
            die "pip could not install ${PIP_REQUIREMENTS[*]}"
        }
    fi
    exec {fd}>&-
    log "python peers: $("$VENV/bin/python" -c 'import kafka, confluent_kafka; from importlib.metadata import version; print("kafka-python", version("kafka-python") + ", confluent-kafka", version("confluent-kafka") + ", librdkafka", confluent_kafka.libversion()[0])')"
}

setup_java_peer() {
    command -v mvn >/dev/null || die "Maven (mvn) is needed to build the Java peer"
    local fd
    exec {fd}>"$CACHE_ROOT/java-peer.lock"
    flock -w 600 "$fd" || die "timed out waiting for another run to build the Java peer"
    log "building the Java peer (kafka-clients) with Maven"
    mvn -q -B -Dstyle.color=never -f "$INTEROP/java/pom.xml" package >"$WORK/mvn.log" 2>&1 || {
        tail -n 40 "$WORK/mvn.log" >&2
        die "the Java peer did not build"
    }
    exec {fd}>&-
}

RSKAFKA_PEER=""
LISTENER_PEER=""
PRODUCER_PEER=""
setup_rust_peers() {
    log "building the rskafka, listener and producer peers with cargo"
    (cd "$ROOT" && cargo build --quiet --bin interop-rskafka-peer --bin interop-listener-peer \
        --bin interop-producer-peer) >"$WORK/cargo.log" 2>&1 || {
        tail -n 40 "$WORK/cargo.log" >&2
        die "the rskafka, listener and producer peers did not build"
    }
    local target_dir
    target_dir=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    RSKAFKA_PEER="$target_dir/debug/interop-rskafka-peer"
    [[ -x "$RSKAFKA_PEER" ]] || die "cargo built no $RSKAFKA_PEER"
    LISTENER_PEER="$target_dir/debug/interop-listener-peer"
    [[ -x "$LISTENER_PEER" ]] || die "cargo built no $LISTENER_PEER"
    PRODUCER_PEER="$target_dir/debug/interop-producer-peer"
    [[ -x "$PRODUCER_PEER" ]] || die "cargo built no $PRODUCER_PEER"
}

# Sets PEER_CMD to the command that runs peer $1.
PEER_CMD=()
peer_command() {
    case $1 in
    kafka-python) PEER_CMD=("$VENV/bin/python" "$INTEROP/python/kafka_python_peer.py") ;;
    confluent-kafka) PEER_CMD=("$VENV/bin/python" "$INTEROP/python/confluent_kafka_peer.py") ;;
    java) PEER_CMD=(java -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
        -cp "$INTEROP/java/target/classes:$INTEROP/java/target/lib/*" interop.Peer) ;;
    rskafka) PEER_CMD=("$RSKAFKA_PEER") ;;
    # Our #[kafka_listener] run by App: `listener` scenarios read others' data, `group` ones
    # judge a group shared with another client's consumer.
    listener | group) PEER_CMD=("$LISTENER_PEER") ;;
    # Our KafkaTemplate: the keys Java's producer sent must land on the same partitions.
    template) PEER_CMD=("$PRODUCER_PEER") ;;
    *) die "internal: unknown peer $1" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Security: every peer reads its settings from the client files that deploy/local/kafka.sh
# (`start --security P`) and embedded-broker (`--security P --client-files DIR`) write into one
# directory, so both brokers configure each client the same way:
#   SPRING_CONFIG_ADDITIONAL_LOCATION=DIR/client-security.yml  our App, template, rskafka peers
#   KAFKA_CLIENT_PROPERTIES=DIR/client.properties              the Java peer (kafka-clients)
#   KAFKA_LIBRDKAFKA_PROPERTIES=DIR/client-librdkafka.properties  confluent-kafka
#   KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* from DIR/client.env  kafka-python
# ---------------------------------------------------------------------------------------------
PEER_SECURITY_VARS=(SPRING_CONFIG_ADDITIONAL_LOCATION KAFKA_CLIENT_PROPERTIES KAFKA_LIBRDKAFKA_PROPERTIES
    KAFKA_SECURITY_PROTOCOL KAFKA_SASL_MECHANISM KAFKA_SASL_USERNAME KAFKA_SASL_PASSWORD
    KAFKA_SSL_CAFILE KAFKA_SSL_CERTFILE KAFKA_SSL_KEYFILE KAFKA_SSL_STORE_PASSWORD)
CLIENT_FILES="" # the directory of the client files, when secured

# Plaintext runs give the peers none of the variables above, whatever the caller's environment
# holds, so a leftover SPRING_CONFIG_ADDITIONAL_LOCATION cannot secure half of the clients.
clear_peer_security() {
    local var
    for var in "${PEER_SECURITY_VARS[@]}"; do
        if [[ -n "${!var:-}" ]]; then
            log "plaintext run: not passing $var to the peers"
            unset "$var"
        fi
    done
}

# export_peer_security DIR: hands the client files in DIR to every peer (see above).
export_peer_security() {
    local dir=$1 file line name
    for file in client-security.yml client.properties client-librdkafka.properties client.env; do
        [[ -r "$dir/$file" ]] || die "no client file $dir/$file (written by kafka.sh / embedded-broker with --security)"
    done
    CLIENT_FILES=$dir
    export SPRING_CONFIG_ADDITIONAL_LOCATION="$dir/client-security.yml"
    export KAFKA_CLIENT_PROPERTIES="$dir/client.properties"
    export KAFKA_LIBRDKAFKA_PROPERTIES="$dir/client-librdkafka.properties"
    # client.env is shell-sourceable, but only its KAFKA_SECURITY/SASL/SSL variables go to the
    # peers: the bootstrap servers stay the --bootstrap argument.
    while IFS= read -r line; do
        name=${line%%=*}
        case $name in
        KAFKA_SECURITY_PROTOCOL | KAFKA_SASL_* | KAFKA_SSL_*) export "$name=${line#*=}" ;;
        esac
    done <"$dir/client.env"
    local protocol
    protocol=$(sed -n 's/^security\.protocol=//p' "$dir/client.properties")
    [[ "${protocol,,}" == "$SECURITY" ]] ||
        die "the client files in $dir are for $protocol, not --security $SECURITY"
    log "peers use the $protocol client files in $dir"
}

# The probe's arguments for a secured broker: TLS trusting the CA, SASL/PLAIN as the user of the
# client files (both brokers accept PLAIN next to the SCRAM mechanism the clients use).
probe_security_args() {
    PROBE_ARGS=()
    [[ -n "${KAFKA_SSL_CAFILE:-}" ]] && PROBE_ARGS+=(--tls-ca "$KAFKA_SSL_CAFILE")
    [[ -n "${KAFKA_SSL_CERTFILE:-}" ]] && PROBE_ARGS+=(--tls-cert "$KAFKA_SSL_CERTFILE" --tls-key "$KAFKA_SSL_KEYFILE")
    [[ -n "${KAFKA_SASL_USERNAME:-}" ]] && PROBE_ARGS+=(--sasl-plain "$KAFKA_SASL_USERNAME:$KAFKA_SASL_PASSWORD")
    return 0
}

# ---------------------------------------------------------------------------------------------
# Broker
# ---------------------------------------------------------------------------------------------
BOOTSTRAP=""
CLUSTER_BROKERS=1 # how many brokers the data should be spread over

start_kafka() {
    if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
        BOOTSTRAP=$KAFKA_BOOTSTRAP_SERVERS
        if [[ $SECURITY != plaintext ]]; then
            local location=${SPRING_CONFIG_ADDITIONAL_LOCATION:-}
            location=${location#optional:}
            location=${location#file:}
            [[ -n "$location" ]] || die "--security $SECURITY with KAFKA_BOOTSTRAP_SERVERS set needs SPRING_CONFIG_ADDITIONAL_LOCATION=<state dir>/client-security.yml (both printed by deploy/local/kafka.sh start --security $SECURITY)"
            export_peer_security "$(dirname "$location")"
        fi
        probe_security_args
        # Ask the cluster, not the bootstrap list: one address may front three brokers.
        local registered
        registered=$(python3 "$ROOT/deploy/local/metadata_probe.py" "${PROBE_ARGS[@]}" "${BOOTSTRAP%%,*}") ||
            die "no Kafka broker answers at ${BOOTSTRAP%%,*} (from KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP)"
        CLUSTER_BROKERS=$(grep -c . <<<"$registered")
        log "using the running cluster KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
        return
    fi
    KAFKA_STATE="$WORK/kafka"
    local out
    out=$(KAFKA_STATE_DIR="$KAFKA_STATE" "$ROOT/deploy/local/kafka.sh" start --brokers "$BROKERS" \
        --security "$SECURITY") || die "deploy/local/kafka.sh could not start Kafka"
    BOOTSTRAP=$(tail -n 1 <<<"$out")
    BOOTSTRAP=${BOOTSTRAP#KAFKA_BOOTSTRAP_SERVERS=}
    CLUSTER_BROKERS=$BROKERS
    if [[ $SECURITY != plaintext ]]; then
        local location
        location=$(sed -n 's/^SPRING_CONFIG_ADDITIONAL_LOCATION=//p' <<<"$out")
        [[ -n "$location" ]] || die "deploy/local/kafka.sh printed no SPRING_CONFIG_ADDITIONAL_LOCATION= line"
        export_peer_security "$(dirname "$location")"
    fi
    log "started Kafka with $BROKERS broker(s), $SECURITY: $BOOTSTRAP"
}

# The embedded broker's contract (documented in tests/interop/README.md): the binary
# `embedded-broker` of the kafka-listener-suite package prints `KAFKA_BOOTSTRAP_SERVERS=<addr>` on
# stdout once it accepts connections and serves until SIGTERM.
require_embedded_binary() {
    local has_bin
    has_bin=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
meta = json.load(sys.stdin)
print(any(p["name"] == sys.argv[1] and any(t["name"] == sys.argv[2] and "bin" in t["kind"]
          for t in p["targets"]) for p in meta["packages"]))' "$EMBEDDED_PACKAGE" "$EMBEDDED_BIN")
    if [[ "$has_bin" != True ]]; then
        die "the embedded broker is not available yet: package $EMBEDDED_PACKAGE has no binary '$EMBEDDED_BIN' (the embedded broker issue adds it; see tests/interop/README.md for the contract)"
    fi
}

start_embedded() {
    log "building and starting the embedded broker ($EMBEDDED_BIN)"
    (cd "$ROOT" && cargo build --quiet -p "$EMBEDDED_PACKAGE" --bin "$EMBEDDED_BIN") >"$WORK/embedded-build.log" 2>&1 || {
        tail -n 40 "$WORK/embedded-build.log" >&2
        die "the embedded broker did not build"
    }
    local -a options=()
    if [[ $SECURITY != plaintext ]]; then
        options=(--security "$SECURITY" --client-files "$WORK/embedded-client")
    fi
    (cd "$ROOT" && exec cargo run --quiet -p "$EMBEDDED_PACKAGE" --bin "$EMBEDDED_BIN" -- "${options[@]}") \
        </dev/null >"$WORK/embedded.out" 2>"$WORK/embedded.log" &
    EMBEDDED_PID=$!
    local deadline=$(($(date +%s) + 60))
    while ! grep -q '^KAFKA_BOOTSTRAP_SERVERS=' "$WORK/embedded.out"; do
        if ! kill -0 "$EMBEDDED_PID" 2>/dev/null; then
            tail -n 40 "$WORK/embedded.log" >&2
            EMBEDDED_PID=""
            die "the embedded broker exited before printing KAFKA_BOOTSTRAP_SERVERS="
        fi
        (($(date +%s) < deadline)) || die "the embedded broker printed no KAFKA_BOOTSTRAP_SERVERS= line within 60 s"
        sleep 0.2
    done
    BOOTSTRAP=$(grep -m1 '^KAFKA_BOOTSTRAP_SERVERS=' "$WORK/embedded.out" | sed 's/^KAFKA_BOOTSTRAP_SERVERS=//')
    if [[ $SECURITY != plaintext ]]; then
        local location
        location=$(sed -n 's/^SPRING_CONFIG_ADDITIONAL_LOCATION=//p' "$WORK/embedded.out")
        [[ -n "$location" ]] || die "the embedded broker printed no SPRING_CONFIG_ADDITIONAL_LOCATION= line"
        export_peer_security "$(dirname "$location")"
    fi
    log "embedded broker ($SECURITY) at $BOOTSTRAP"
}

# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------
PASSED=0
FAILED=0
declare -A PRODUCED # peer -> 1 when its produce-1000 passed

emit() {
    local line=$1
    echo "$line"
    case $line in
    PASS*) PASSED=$((PASSED + 1)) ;;
    FAIL*)
        FAILED=$((FAILED + 1))
        KEEP_WORK=1
        ;;
    esac
}

# collect_peer PEER MODE SCENARIO... -- ARGS...: runs one peer invocation and stores exactly one
# line per expected scenario in RESULTS[scenario]; a scenario the peer never reported is a failure.
declare -A RESULTS
collect_peer() {
    local peer=$1 mode=$2
    shift 2
    local -a scenarios=()
    while [[ $1 != -- ]]; do
        scenarios+=("$1")
        shift
    done
    shift
    local out="$WORK/$peer-$mode.out" err="$WORK/$peer-$mode.log" status=0
    peer_command "$peer"
    timeout "$PEER_TIMEOUT_S" "${PEER_CMD[@]}" "$mode" --bootstrap "$BOOTSTRAP" --run "$RUN" "$@" \
        >"$out" 2>"$err" </dev/null || status=$?
    RESULTS=()
    local scenario line
    for scenario in "${scenarios[@]}"; do
        line=$(grep -m1 -E "^(PASS|FAIL) $peer $scenario( |$)" "$out" || true)
        if [[ -z "$line" ]]; then
            line="FAIL $peer $scenario peer exited with status $status before reporting (log: $err)"
        fi
        RESULTS[$scenario]=$line
    done
}

# run_peer PEER MODE SCENARIO... -- ARGS...: collect_peer, then emit the lines in scenario order.
run_peer() {
    local peer=$1
    collect_peer "$@"
    shift 2
    local scenario
    while [[ $1 != -- ]]; do
        scenario=$1
        shift
        [[ ${RESULTS[$scenario]} == "PASS $peer produce-1000" ]] && PRODUCED[$peer]=1
        emit "${RESULTS[$scenario]}"
    done
}

# run_cross CONSUMER PRODUCER...: CONSUMER reads each producer's data set; a producer whose
# produce-1000 failed is reported at once instead of waiting for records that never came.
run_cross() {
    local consumer=$1
    shift
    local -a scenarios=() args=()
    local producer
    for producer in "$@"; do
        if [[ -n "${PRODUCED[$producer]:-}" ]]; then
            scenarios+=("consume-from-$producer")
            args+=(--from "$producer")
        fi
    done
    RESULTS=()
    if ((${#scenarios[@]})); then
        collect_peer "$consumer" cross "${scenarios[@]}" -- "${args[@]}"
    fi
    local skipped
    for producer in "$@"; do
        skipped="FAIL $consumer consume-from-$producer skipped: produce-1000 of $producer did not pass"
        emit "${RESULTS[consume-from-$producer]:-$skipped}"
    done
}

# run_group_mixed PEER: scenario group-mixed-PEER. Our listener (the judge, which reports the
# line) and PEER's `group-member` mode share one group; they coordinate through files in a sync
# directory (protocol in tests/interop/listener_peer/group_mixed.rs). The member is bounded by
# its own timeout and killed if it outlives the judge by more than 30 s.
GROUP_MIXED_TIMEOUT_S=300
run_group_mixed() {
    local peer=$1 scenario="group-mixed-$1"
    local sync="$WORK/mixed-$peer"
    local topic="interop-$RUN-mixed-$peer"
    mkdir -p "$sync"
    peer_command "$peer"
    timeout "$GROUP_MIXED_TIMEOUT_S" "${PEER_CMD[@]}" group-member --bootstrap "$BOOTSTRAP" \
        --topic "$topic" --group "$topic" --sync "$sync" >"$WORK/$peer-group-member.log" 2>&1 </dev/null &
    MEMBER_PID=$!
    local saved_timeout=$PEER_TIMEOUT_S
    PEER_TIMEOUT_S=$GROUP_MIXED_TIMEOUT_S
    collect_peer group group-mixed "$scenario" -- --with "$peer" --sync "$sync"
    PEER_TIMEOUT_S=$saved_timeout
    : >"$sync/leave" # the judge writes it too; make sure the member goes whatever happened
    local deadline=$((SECONDS + 30))
    while kill -0 "$MEMBER_PID" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.2
    done
    kill "$MEMBER_PID" 2>/dev/null || true
    wait "$MEMBER_PID" 2>/dev/null || true
    MEMBER_PID=""
    emit "${RESULTS[$scenario]}"
}

main() {
    command -v python3 >/dev/null || die "python3 is needed"
    command -v flock >/dev/null || die "flock (util-linux) is needed"
    command -v java >/dev/null || die "Java 17+ is needed"
    if [[ $BROKER == embedded ]]; then require_embedded_binary; fi
    setup_python_peers
    setup_java_peer
    setup_rust_peers
    if [[ $SECURITY == plaintext ]]; then clear_peer_security; fi
    if [[ $BROKER == kafka ]]; then start_kafka; else start_embedded; fi

    RUN="r$(date +%s)-$$"
    local own=(create-topic produce-1000 consume-verify commit-resume group-split keyed-partitioning)
    local peer
    for peer in kafka-python confluent-kafka java; do
        log "running $peer's scenarios"
        run_peer "$peer" own "${own[@]}" --
    done
    log "java and our KafkaTemplate send the same keys; each must land on one partition"
    run_peer java shared-keys shared-keys-produce --
    if [[ ${RESULTS[shared-keys-produce]} == PASS* ]]; then
        run_peer template same-partition same-partition-as-java --
    else
        emit "FAIL template same-partition-as-java skipped: shared-keys-produce of java did not pass"
    fi
    log "running rskafka's scenarios"
    run_peer rskafka produce create-topic produce-1000 --

    local all=(kafka-python confluent-kafka java rskafka) consumer others
    local -a spread_args=(--brokers "$CLUSTER_BROKERS")
    for peer in "${all[@]}"; do
        spread_args+=(--from "$peer")
    done
    log "checking that the data is spread over all $CLUSTER_BROKERS broker(s)"
    run_peer kafka-python spread data-on-all-brokers -- "${spread_args[@]}"

    for consumer in "${all[@]}"; do
        log "$consumer reads what the others produced"
        others=()
        for peer in "${all[@]}"; do
            [[ $peer == "$consumer" ]] || others+=("$peer")
        done
        run_cross "$consumer" "${others[@]}"
    done

    log "our #[kafka_listener] reads what java and confluent-kafka produced"
    run_cross listener java confluent-kafka
    for peer in java confluent-kafka; do
        log "our listener and $peer's consumer share one group"
        run_group_mixed "$peer"
    done

    log "our dead-letter topic read by Java, headers decoded as Spring encodes them"
    run_peer listener dlt-publish dlt-publish --
    if [[ ${RESULTS[dlt-publish]} == "PASS listener dlt-publish" ]]; then
        run_peer java dlt-read dlt-read --
    else
        emit "FAIL java dlt-read skipped: dlt-publish did not pass"
    fi

    log "java's transactional producer commits and aborts; our listener reads read_committed and read_uncommitted"
    run_peer java txn-produce txn-produce --
    if [[ ${RESULTS[txn-produce]} == "PASS java txn-produce" ]]; then
        run_peer listener txn-read txn-read-committed-from-java --
    else
        emit "FAIL listener txn-read-committed-from-java skipped: txn-produce of java did not pass"
    fi

    log "java writes null header values, duplicate names, tombstones, LogAppendTime; our listener reads them"
    run_peer java null-header-produce null-header-produce --
    if [[ ${RESULTS[null-header-produce]} == "PASS java null-header-produce" ]]; then
        run_peer listener null-header null-header-from-java --
    else
        emit "FAIL listener null-header-from-java skipped: null-header-produce of java did not pass"
    fi

    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

main
