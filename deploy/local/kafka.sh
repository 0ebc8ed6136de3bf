#!/usr/bin/env bash
# Real Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1, from Maven Central jars.
# This is the one way anything in this project starts real Kafka: there is no Docker engine here.
#
#   deploy/local/kafka.sh start [--brokers 1|3] [--version V]   start a cluster, wait until every
#                                          broker is registered; LAST stdout line is
#                                          KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:p1[,127.0.0.1:p2,…]
#   deploy/local/kafka.sh stop             stop this state dir's brokers (pid files), remove its data
#   deploy/local/kafka.sh status           brokers, pids, ports; exit 0 only if all are running
#   deploy/local/kafka.sh bootstrap        print the KAFKA_BOOTSTRAP_SERVERS=… line again
#   deploy/local/kafka.sh kill-broker K    SIGKILL broker K (node id K, 1-based)
#   deploy/local/kafka.sh restart-broker K start broker K again: same id, ports and data
#   deploy/local/kafka.sh config [--brokers N]  print the server.properties `start` would write
#
# Every piece of state (configs, data, logs, pid files, chosen ports) lives under one state dir,
# $KAFKA_STATE_DIR (default ${TMPDIR:-/tmp}/kafka-listener-local), so several people can run
# their own clusters at once from the same checkout by giving each a different KAFKA_STATE_DIR.
# Jars are cached in ${XDG_CACHE_HOME:-~/.cache}/kafka-listener/kafka-V (override the root with
# KAFKA_LISTENER_CACHE). Progress goes to stderr; stdout carries only the bootstrap line.
#
# Tunables (env): KAFKA_HEAP_OPTS, KAFKA_JVM_OPTS, KAFKA_START_TIMEOUT (s, default 90),
# KAFKA_STOP_TIMEOUT (s, default 20).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_VERSION=4.4.0
STATE_DIR=${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/kafka-listener-local}
STATE_DIR=${STATE_DIR%/}
CACHE_ROOT=${KAFKA_LISTENER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-listener}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
# Small heaps and the serial collector: three brokers plus test clients share 2 cores.
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
JVM_OPTS=${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:MaxMetaspaceSize=256m -Djava.awt.headless=true}
MARKER=cluster.env

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

now_ms() { date +%s%3N; }

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed; kafka.sh needs it (Java 17+, Maven, python3, flock)"
    done
}

# ---------------------------------------------------------------------------------------------
# Jars: resolved once per version with Maven, published into the cache by an atomic rename under
# a lock, so concurrent first-time starts neither download twice nor see a half-filled dir.
# ---------------------------------------------------------------------------------------------
ensure_jars() {
    local version=$1
    local dir="$CACHE_ROOT/kafka-$version"
    if [[ -f "$dir/.complete" ]]; then
        LIBS="$dir/libs"
        return
    fi
    require_tools mvn
    mkdir -p "$CACHE_ROOT"
    local lock_fd
    exec {lock_fd}>"$CACHE_ROOT/kafka-$version.lock"
    flock -w 900 "$lock_fd" || die "timed out waiting for another kafka.sh to download Kafka $version"
    if [[ ! -f "$dir/.complete" ]]; then
        log "resolving org.apache.kafka:kafka_2.13:$version from Maven Central into $dir"
        local tmp
        tmp=$(mktemp -d "$CACHE_ROOT/.kafka-$version.XXXXXX")
        if ! mvn -B -q -f "$SCRIPT_DIR/pom.xml" -Dkafka.version="$version" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
            >"$tmp/mvn.log" 2>&1; then
            tail -n 40 "$tmp/mvn.log" >&2
            rm -rf "$tmp"
            die "Maven could not resolve Kafka $version (is the version published on Maven Central?)"
        fi
        [[ -f "$tmp/libs/kafka_2.13-$version.jar" ]] || {
            rm -rf "$tmp"
            die "Maven finished but kafka_2.13-$version.jar is missing"
        }
        touch "$tmp/.complete"
        rm -rf "$dir" # an interrupted older layout; we hold the lock, nobody else writes here
        mv -T "$tmp" "$dir"
    fi
    exec {lock_fd}>&-
    LIBS="$dir/libs"
}

# ---------------------------------------------------------------------------------------------
# Cluster layout
# ---------------------------------------------------------------------------------------------

# Prints COUNT distinct free TCP ports on 127.0.0.1, held open together while choosing so the
# kernel never hands out the same one twice.
free_ports() {
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
' "$1"
}

# Kafka's Uuid.randomUuid(): url-safe base64 of 16 random bytes, drawn again when it starts with
# `-` (kafka-storage would read such an id as an option; about 1 draw in 64).
random_cluster_id() {
    python3 -c '
import base64, uuid
while True:
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    if not cluster_id.startswith("-"):
        print(cluster_id)
        break
'
}

min() { if (($1 < $2)); then echo "$1"; else echo "$2"; fi; }

# Writes the server.properties of broker $1 to stdout. Needs BROKERS, BROKER_PORTS,
# CONTROLLER_PORTS (space-separated, index k-1 is node k) and STATE_DIR.
broker_config() {
    local k=$1
    local -a bports=($BROKER_PORTS) cports=($CONTROLLER_PORTS)
    local voters="" i
    for ((i = 1; i <= BROKERS; i++)); do
        voters+="${voters:+,}$i@127.0.0.1:${cports[i - 1]}"
    done
    local replication isr
    replication=$(min "$BROKERS" 3)
    isr=$(min "$BROKERS" 2)
    cat <<EOF
# Generated by deploy/local/kafka.sh for broker $k of $BROKERS; regenerated on every start.
# KRaft combined mode: every node is both broker and controller (no ZooKeeper in Kafka 4).
process.roles=broker,controller
node.id=$k
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${bports[k - 1]},CONTROLLER://127.0.0.1:${cports[k - 1]}
advertised.listeners=PLAINTEXT://127.0.0.1:${bports[k - 1]}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$STATE_DIR/broker-$k/data

# What listener tests need: topics appear on first use, groups form without the 3 s delay, and
# the internal topics fit the cluster size.
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$isr

# Small footprint: test clusters live for minutes on a shared 2-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=4
log.segment.bytes=67108864
EOF
}

write_log4j_config() {
    cat >"$STATE_DIR/log4j2.properties" <<'EOF'
# Broker logs go to stdout, which kafka.sh redirects to broker-K/broker.log.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRefs = out
rootLogger.appenderRef.out.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
}

load_state() {
    [[ -f "$STATE_DIR/$MARKER" ]] || return 1
    # shellcheck disable=SC1090
    source "$STATE_DIR/$MARKER"
}

save_state() {
    cat >"$STATE_DIR/$MARKER" <<EOF
BROKERS=$BROKERS
VERSION=$VERSION
LIBS=$LIBS
CLUSTER_ID=$CLUSTER_ID
BROKER_PORTS="$BROKER_PORTS"
CONTROLLER_PORTS="$CONTROLLER_PORTS"
EOF
}

bootstrap_line() {
    local port list=""
    for port in $BROKER_PORTS; do
        list+="${list:+,}127.0.0.1:$port"
    done
    echo "KAFKA_BOOTSTRAP_SERVERS=$list"
}

broker_port() {
    local -a bports=($BROKER_PORTS)
    echo "${bports[$1 - 1]}"
}

config_file() { echo "$STATE_DIR/broker-$1/server.properties"; }
pid_file() { echo "$STATE_DIR/broker-$1/broker.pid"; }
log_file() { echo "$STATE_DIR/broker-$1/broker.log"; }

# The pid of broker $1 if that process is alive AND is the JVM started with this state dir's
# config: a recycled pid belonging to something else is never signalled.
broker_pid() {
    local pidfile pid
    pidfile=$(pid_file "$1")
    [[ -f "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    # The process may exit between the checks; reading its cmdline then fails, which means "gone".
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$(config_file "$1")" || return 1
    echo "$pid"
}

launch_broker() {
    local k=$1
    local cfg log pidfile
    cfg=$(config_file "$k")
    log=$(log_file "$k")
    pidfile=$(pid_file "$k")
    # setsid: the broker must outlive this script and not get the caller's terminal signals;
    # `exec` keeps the pid we record. stdin/stdout are detached so `$(kafka.sh start)` returns.
    [[ -n "$STATE_LOCK_FD" ]] || die "internal: launch_broker without the state dir lock"
    # shellcheck disable=SC2086
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" \
        java $HEAP_OPTS $JVM_OPTS \
        -Dlog4j2.configurationFile="$STATE_DIR/log4j2.properties" \
        -cp "$LIBS/*" kafka.Kafka "$cfg" \
        </dev/null >>"$log" 2>&1 {STATE_LOCK_FD}>&- &
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$pidfile" ]] && return 0
        sleep 0.05
    done
    die "broker $k did not record its pid in $pidfile"
}

format_storage() {
    local k pids=() failed=0
    for ((k = 1; k <= BROKERS; k++)); do
        mkdir -p "$STATE_DIR/broker-$k/data"
        java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
            -Dlog4j2.configurationFile="$STATE_DIR/log4j2.properties" \
            -cp "$LIBS/*" kafka.tools.StorageTool format \
            -t "$CLUSTER_ID" -c "$(config_file "$k")" \
            </dev/null >"$STATE_DIR/broker-$k/format.log" 2>&1 {STATE_LOCK_FD}>&- &
        pids+=($!)
    done
    for k in "${!pids[@]}"; do
        if ! wait "${pids[k]}"; then
            log "formatting storage of broker $((k + 1)) failed:"
            tail -n 30 "$STATE_DIR/broker-$((k + 1))/format.log" >&2
            failed=1
        fi
    done
    return "$failed"
}

# Prints how many brokers broker $1 reports as registered, or nothing if it does not answer.
registered_count() {
    python3 "$SCRIPT_DIR/metadata_probe.py" "127.0.0.1:$(broker_port "$1")" 2>/dev/null | wc -l
}

# Waits until every broker in "$@" is running and reports all BROKERS registered.
wait_registered() {
    local deadline=$(($(date +%s) + START_TIMEOUT)) k count ready
    while true; do
        ready=1
        for k in "$@"; do
            if ! broker_pid "$k" >/dev/null; then
                log "broker $k exited during start-up"
                return 1
            fi
            count=$(registered_count "$k")
            if [[ "$count" != "$BROKERS" ]]; then
                ready=0
                break
            fi
        done
        ((ready)) && return 0
        if (($(date +%s) >= deadline)); then
            log "timed out after ${START_TIMEOUT}s waiting for $BROKERS registered broker(s)"
            return 1
        fi
        sleep 0.3
    done
}

print_log_tails() {
    local k
    for k in "$@"; do
        if [[ -f "$(log_file "$k")" ]]; then
            log "---- last lines of broker $k log ($(log_file "$k")):"
            tail -n 40 "$(log_file "$k")" >&2
        fi
    done
}

# True while process $1 has not finished exiting. Neither a missing /proc/PID/cmdline (the
# kernel drops a dying process's memory before its files) nor a zombie leader thread (the JVM's
# other threads may still be tearing down, holding the sockets) means "ports free"; only a
# vanished process or a zombie without other threads does.
process_running() {
    local stat
    stat=$({ cat "/proc/$1/stat"; } 2>/dev/null) || return 1
    stat=${stat##*) }
    if [[ ${stat:0:1} == Z ]]; then
        local tasks=("/proc/$1/task/"*)
        ((${#tasks[@]} > 1))
        return
    fi
    return 0
}

# True if something accepts connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits up to 10 s until the listener and controller ports of brokers "$@" are closed.
wait_ports_closed() {
    local -a cports=($CONTROLLER_PORTS)
    local k port deadline=$(($(date +%s) + 10))
    for k in "$@"; do
        for port in "$(broker_port "$k")" "${cports[k - 1]}"; do
            while port_open "$port"; do
                if (($(date +%s) >= deadline)); then
                    log "warning: 127.0.0.1:$port of broker $k still accepts connections"
                    break
                fi
                sleep 0.1
            done
        done
    done
}

# Signals the listed brokers with $1 and waits up to $2 seconds for those processes to exit;
# returns 1 if any is still alive.
signal_and_wait() {
    local signal=$1 timeout=$2
    shift 2
    local k pid pids=() alive deadline=$(($(date +%s) + timeout))
    for k in "$@"; do
        if pid=$(broker_pid "$k"); then
            pids+=("$pid")
            kill "-$signal" "$pid" 2>/dev/null || true
        fi
    done
    while true; do
        alive=0
        for pid in "${pids[@]}"; do
            process_running "$pid" && alive=1
        done
        ((alive)) || return 0
        (($(date +%s) >= deadline)) && return 1
        sleep 0.1
    done
}

stop_brokers() {
    if ! signal_and_wait TERM "$STOP_TIMEOUT" "$@"; then
        log "brokers still running after ${STOP_TIMEOUT}s; sending SIGKILL"
        signal_and_wait KILL 10 "$@" || die "could not stop brokers of $STATE_DIR"
    fi
    wait_ports_closed "$@"
    local k
    for k in "$@"; do
        rm -f "$(pid_file "$k")"
    done
}

all_brokers() { seq 1 "$BROKERS"; }

running_brokers() {
    local k
    for k in $(all_brokers); do
        broker_pid "$k" >/dev/null && echo "$k"
    done
    return 0
}

# Serialises kafka.sh commands on one state dir. The lock lives beside the state dir (which
# `stop` deletes) and is held through an fd that launch_broker closes for the JVM, so a broker
# never inherits it.
STATE_LOCK_FD=
lock_state_dir() {
    mkdir -p "$(dirname "$STATE_DIR")"
    exec {STATE_LOCK_FD}>"$STATE_DIR.lock"
    flock -w 300 "$STATE_LOCK_FD" || die "another kafka.sh is working on $STATE_DIR"
}

remove_state_dir() {
    [[ -f "$STATE_DIR/$MARKER" ]] || die "refusing to delete $STATE_DIR: it has no $MARKER"
    rm -rf "$STATE_DIR"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
parse_cluster_options() {
    BROKERS=1
    VERSION=$DEFAULT_VERSION
    while (($#)); do
        case $1 in
        --brokers)
            BROKERS=${2:-}
            shift 2 || die "--brokers needs a value (1 or 3)"
            ;;
        --brokers=*)
            BROKERS=${1#*=}
            shift
            ;;
        --version)
            VERSION=${2:-}
            shift 2 || die "--version needs a value, e.g. 4.4.0"
            ;;
        --version=*)
            VERSION=${1#*=}
            shift
            ;;
        *) die "unknown option '$1' (expected --brokers N, --version V)" ;;
        esac
    done
    [[ "$BROKERS" == 1 || "$BROKERS" == 3 ]] ||
        die "--brokers must be 1 or 3 (a KRaft quorum of combined nodes), got '$BROKERS'"
    [[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must look like 4.4.0, got '$VERSION'"
}

cmd_config() {
    parse_cluster_options "$@"
    require_tools python3
    local ports
    ports=$(free_ports $((2 * BROKERS)))
    read -r -a all <<<"$ports"
    BROKER_PORTS="${all[*]:0:BROKERS}"
    CONTROLLER_PORTS="${all[*]:BROKERS}"
    local k
    for ((k = 1; k <= BROKERS; k++)); do
        echo "### broker $k: $(config_file "$k")"
        broker_config "$k"
    done
}

require_java_17() {
    local version
    version=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
    [[ -n "$version" && "$version" -ge 17 ]] ||
        die "Kafka 4 needs Java 17 or newer; 'java -version' reports '${version:-nothing}'"
}

cmd_start() {
    parse_cluster_options "$@"
    require_tools java python3 flock setsid
    require_java_17
    local started
    started=$(now_ms)
    lock_state_dir
    if load_state; then
        if [[ -n "$(running_brokers)" ]]; then
            die "a cluster is already running in $STATE_DIR ($(bootstrap_line)); run 'kafka.sh stop' or set KAFKA_STATE_DIR"
        fi
        log "removing stale state of a cluster that is no longer running in $STATE_DIR"
        remove_state_dir
    elif [[ -d "$STATE_DIR" && -n "$(ls -A "$STATE_DIR")" ]]; then
        die "$STATE_DIR exists and is not a kafka.sh state dir; point KAFKA_STATE_DIR elsewhere"
    fi
    parse_cluster_options "$@" # load_state overwrote BROKERS/VERSION with the stale values
    ensure_jars "$VERSION"

    local attempt
    for attempt in 1 2 3; do
        mkdir -p "$STATE_DIR"
        local ports
        ports=$(free_ports $((2 * BROKERS)))
        read -r -a all <<<"$ports"
        BROKER_PORTS="${all[*]:0:BROKERS}"
        CONTROLLER_PORTS="${all[*]:BROKERS}"
        CLUSTER_ID=$(random_cluster_id)
        save_state
        write_log4j_config
        local k
        for k in $(all_brokers); do
            mkdir -p "$STATE_DIR/broker-$k"
            broker_config "$k" >"$(config_file "$k")"
        done
        log "starting Kafka $VERSION with $BROKERS broker(s) in $STATE_DIR"
        if ! format_storage; then
            remove_state_dir
            die "could not format KRaft storage"
        fi
        for k in $(all_brokers); do
            launch_broker "$k"
        done
        if wait_registered $(all_brokers); then
            log "cluster ready in $(($(now_ms) - started)) ms"
            bootstrap_line
            return 0
        fi
        # Ports are chosen free but only bound later by the JVM; another process may take one in
        # between. That is worth a retry with new ports; anything else is a real failure.
        if grep -qs "Address already in use" "$STATE_DIR"/broker-*/broker.log && ((attempt < 3)); then
            log "a chosen port was taken meanwhile; retrying with new ports"
            stop_brokers $(all_brokers)
            remove_state_dir
            continue
        fi
        print_log_tails $(all_brokers)
        stop_brokers $(all_brokers)
        remove_state_dir
        die "Kafka did not start (logs above)"
    done
}

cmd_stop() {
    (($# == 0)) || die "stop takes no arguments"
    lock_state_dir
    if ! load_state; then
        log "no cluster in $STATE_DIR; nothing to stop"
        return 0
    fi
    local started
    started=$(now_ms)
    stop_brokers $(all_brokers)
    remove_state_dir
    log "stopped $BROKERS broker(s) of $STATE_DIR in $(($(now_ms) - started)) ms"
}

cmd_status() {
    (($# == 0)) || die "status takes no arguments"
    if ! load_state; then
        echo "no cluster in $STATE_DIR"
        return 3
    fi
    local -a cports=($CONTROLLER_PORTS)
    local k pid down=0
    echo "cluster in $STATE_DIR: Kafka $VERSION, $BROKERS broker(s), cluster id $CLUSTER_ID"
    for k in $(all_brokers); do
        if pid=$(broker_pid "$k"); then
            echo "broker $k: running pid $pid, listener 127.0.0.1:$(broker_port "$k"), controller 127.0.0.1:${cports[k - 1]}, registered brokers seen: $(registered_count "$k")"
        else
            echo "broker $k: stopped, listener 127.0.0.1:$(broker_port "$k"), controller 127.0.0.1:${cports[k - 1]}"
            down=1
        fi
    done
    bootstrap_line
    ((down == 0)) || return 3
}

cmd_bootstrap() {
    (($# == 0)) || die "bootstrap takes no arguments"
    load_state || die "no cluster in $STATE_DIR; run 'kafka.sh start' first"
    bootstrap_line
}

parse_broker_id() {
    (($# == 1)) || die "expected exactly one broker id"
    load_state || die "no cluster in $STATE_DIR; run 'kafka.sh start' first"
    [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= BROKERS)) ||
        die "broker id must be between 1 and $BROKERS, got '$1'"
}

cmd_kill_broker() {
    lock_state_dir
    parse_broker_id "$@"
    local k=$1
    broker_pid "$k" >/dev/null || die "broker $k is not running"
    signal_and_wait KILL 10 "$k" || die "broker $k survived SIGKILL"
    wait_ports_closed "$k"
    rm -f "$(pid_file "$k")"
    log "killed broker $k (127.0.0.1:$(broker_port "$k"))"
}

cmd_restart_broker() {
    lock_state_dir
    parse_broker_id "$@"
    local k=$1 started
    started=$(now_ms)
    if broker_pid "$k" >/dev/null; then
        stop_brokers "$k"
    fi
    launch_broker "$k"
    if ! wait_registered "$k"; then
        print_log_tails "$k"
        die "broker $k did not come back"
    fi
    log "broker $k is back on 127.0.0.1:$(broker_port "$k") after $(($(now_ms) - started)) ms"
    bootstrap_line
}

main() {
    (($#)) || usage
    local command=$1
    shift
    case $command in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    bootstrap) cmd_bootstrap "$@" ;;
    config) cmd_config "$@" ;;
    kill-broker) cmd_kill_broker "$@" ;;
    restart-broker) cmd_restart_broker "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$command' (start, stop, status, bootstrap, config, kill-broker, restart-broker)" ;;
    esac
}

main "$@"
