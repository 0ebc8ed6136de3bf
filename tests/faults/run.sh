#!/usr/bin/env bash
# The fault suite on real Apache Kafka: a 3-broker KRaft cluster (deploy/local/kafka.sh),
# topics of 6 partitions with replication factor 3, MANUAL-ack listener processes
# (tests/faults/listener.rs, bin `fault-listener`) that log every record they handle, and one
# fault per scenario while they consume.
#
#   tests/faults/run.sh [--quick] [SCENARIO...]
#
# For each scenario it prints exactly one line
#   fault <name>: produced=N handled_unique=U lost=L duplicates=D committed_at_log_end=yes|no
# and, last, `N passed, M failed` (exit 1 if M > 0). Why a scenario failed goes to stderr, and
# its logs are kept (the path is printed). A scenario passes when nothing is lost (every key was
# handled or, for poison pills, dead-lettered), the group's committed offsets are at the log
# end of every partition, and the duplicates stay within what MANUAL ack allows: none where
# members only leave gracefully, a bounded number where a member dies or is fenced or a broker
# fails (records handled but whose commit had not reached the coordinator).
#
# --quick runs member-sigterm, member-sigkill, broker-kill-restart and poison-pills on fewer
# records (CI; < 5 minutes with the cluster start). Naming scenarios runs only those.
#
# Env: FAULT_RECORDS (records per scenario), FAULT_KEEP=1 (keep the work dir even on success),
# KAFKA_* as deploy/local/kafka.sh reads them (its state dir is always a fresh mktemp dir here).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAFKA_SH="$ROOT/deploy/local/kafka.sh"
ALL=(member-sigkill member-sigterm broker-kill-restart coordinator-broker-kill rebalance-storm
    poison-pills broker-stall slow-handler scale-out)
QUICK=(member-sigterm member-sigkill broker-kill-restart poison-pills)

quick=0
selected=()
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
        *) selected+=("$arg") ;;
    esac
done
if ((${#selected[@]} == 0)); then
    if ((quick)); then selected=("${QUICK[@]}"); else selected=("${ALL[@]}"); fi
fi
for s in "${selected[@]}"; do
    [[ " ${ALL[*]} " == *" $s "* ]] || { echo "run.sh: unknown scenario $s (${ALL[*]})" >&2; exit 2; }
done

# Records per scenario and the handler's work per record: enough that every fault lands while
# the members are consuming. One member handles ~1 record per (handle-ms + ~1) ms per partition.
if ((quick)); then
    RECORDS=${FAULT_RECORDS:-6000}
    HANDLE_MS=2
else
    RECORDS=${FAULT_RECORDS:-30000}
    HANDLE_MS=3
fi
PARTITIONS=6
# The members' max-poll-records. MANUAL ack commits the acknowledged offsets after each poll's
# records, and this runtime counts a poll per partition, so a member that dies or is fenced
# redelivers at most this many records per partition it held (plus the one in flight).
MAX_POLL_RECORDS=100
CRASH_DUPLICATES=$((PARTITIONS * (MAX_POLL_RECORDS + 1)))

# Progress and reasons go to fd 3 (the caller's stderr), so a wait can silence bash's own
# "Killed" job notices on stderr without hiding them.
exec 3>&2
log() { echo "run.sh: $*" >&3; }
die() { log "$*"; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-faults.XXXXXX")
# FAULT_REUSE_CLUSTER=1 (development only): use the running cluster of the caller's
# KAFKA_STATE_DIR and leave it running.
reuse=${FAULT_REUSE_CLUSTER:-0}
if ((reuse)); then
    [[ -n "${KAFKA_STATE_DIR:-}" ]] || die "FAULT_REUSE_CLUSTER=1 needs KAFKA_STATE_DIR"
else
    export KAFKA_STATE_DIR="$WORK/kafka"
fi
MEMBERS_DIR="$WORK/pids"
mkdir -p "$MEMBERS_DIR"
keep=${FAULT_KEEP:-0}

cleanup() {
    local rc=$? pidfile pid
    set +e
    # Members first (SIGKILL: the scenario is over or aborted), then brokers a scenario may
    # have left stopped (SIGSTOP) must run again to be stopped.
    for pidfile in "$MEMBERS_DIR"/*.pid; do
        [[ -f "$pidfile" ]] || continue
        pid=$(<"$pidfile")
        kill -KILL "$pid" 2>/dev/null
    done
    for pidfile in "$KAFKA_STATE_DIR"/broker-*/broker.pid; do
        [[ -f "$pidfile" ]] && kill -CONT "$(<"$pidfile")" 2>/dev/null
    done
    if ((reuse == 0)); then
        "$KAFKA_SH" stop >/dev/null 2>&1 || log "kafka.sh stop failed (state dir $KAFKA_STATE_DIR)"
    fi
    if ((rc == 0 && keep == 0)); then
        rm -rf "$WORK"
    else
        log "logs kept in $WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
log "building fault-listener (debug profile)"
cargo build --quiet --bin fault-listener
BIN="$ROOT/target/debug/fault-listener"
[[ -n "${CARGO_TARGET_DIR:-}" ]] && BIN="$CARGO_TARGET_DIR/debug/fault-listener"

started=$(date +%s)
log "starting a 3-broker cluster (state $KAFKA_STATE_DIR)"
if ((reuse)); then
    line=$("$KAFKA_SH" bootstrap | tail -n 1)
else
    line=$("$KAFKA_SH" start --brokers 3 2>"$WORK/kafka-start.log" | tail -n 1)
fi ||
    { cat "$WORK/kafka-start.log" >&2; die "the cluster did not start"; }
BOOTSTRAP=${line#KAFKA_BOOTSTRAP_SERVERS=}
log "cluster up in $(($(date +%s) - started)) s: $BOOTSTRAP"

# ---------------------------------------------------------------------------------------------
# Helpers. Every wait polls a condition every 0.2 s up to a deadline.

# wait_until SECONDS DESCRIPTION COMMAND... : 0 once COMMAND succeeds, 1 at the deadline.
wait_until() {
    local timeout=$1 what=$2 deadline
    shift 2
    deadline=$(($(date +%s) + timeout))
    until "$@"; do
        if (($(date +%s) >= deadline)); then
            log "$scenario: timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# start_member NAME [listen options...]
start_member() {
    local name=$1
    shift
    "$BIN" listen --bootstrap "$BOOTSTRAP" --topic "$topic" --group "$group" --member "$name" \
        --log "$dir/$name.log" --handle-ms "$handle_ms" --max-poll-records "$MAX_POLL_RECORDS" "$@" 2>>"$dir/$name.err" &
    echo $! >"$MEMBERS_DIR/$name.pid"
}

member_pid() { cat "$MEMBERS_DIR/$1.pid"; }
alive() { kill -0 "$(member_pid "$1")" 2>/dev/null; }
not_alive() { ! alive "$1"; }

# stop_member NAME SIGNAL: signal it and wait for the process to end (a graceful stop must end
# within the shutdown bound; after 60 s it is killed and the scenario fails).
stop_member() {
    local name=$1 signal=$2 pid
    pid=$(member_pid "$name")
    kill "-$signal" "$pid" 2>/dev/null || true
    if ! wait_until 60 "$name to exit after SIG$signal" not_alive "$name" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        notes+=("$name did not exit within 60 s of SIG$signal")
    fi
    wait "$pid" 2>/dev/null || true
    if [[ "$signal" == TERM ]] && ! grep -q "^E $name " "$dir/$name.log" 2>/dev/null; then
        notes+=("$name did not finish a graceful shutdown after SIGTERM (see $dir/$name.err)")
    fi
    rm -f "$MEMBERS_DIR/$name.pid"
}

# Unique keys handled so far (H and S lines) plus, with poison, unique keys failed (F lines).
handled_unique() {
    cat "$dir"/*.log 2>/dev/null | awk '$1=="H"||$1=="S"||$1=="F"{k[$5]=1} END{print length(k)}'
}
handled_at_least() { (($(handled_unique) >= $1)); }
# Handling goes on: N more unique keys than when it was called with `mark`.
progress_mark() { mark=$(handled_unique); }
progressed() { (($(handled_unique) >= mark + $1)); }

# The member's assignment as its last A line says: "-" or "0,1,…".
assignment_of() { awk -v m="$1" '$1=="A"&&$2==m{a=$4} END{print a}' "$dir/$1.log" 2>/dev/null; }
assigned() { local a; a=$(assignment_of "$1"); [[ -n "$a" && "$a" != "-" ]]; }
assigned_count() { local a; a=$(assignment_of "$1"); [[ -z "$a" || "$a" == "-" ]] && echo 0 || awk -F, '{print NF}' <<<"$a"; }

offsets_at_end() {
    "$BIN" offsets --bootstrap "$BOOTSTRAP" --topic "$topic" --group "$group" \
        >"$dir/offsets.txt" 2>>"$dir/probe.err" && grep -q '^at_log_end=yes' "$dir/offsets.txt"
}
# Everything handled (or failed, for poison) and committed.
all_done() { handled_at_least "$RECORDS" && offsets_at_end; }

# wait_all_done SECONDS: until all_done, at most SECONDS, and giving up early when no new record
# has been handled for STALL_SECONDS (a stuck partition would otherwise cost the whole bound).
STALL_SECONDS=60
wait_all_done() {
    committed_while_running=no
    local deadline=$(($(date +%s) + $1)) last=-1 since now count
    since=$(date +%s)
    until all_done; do
        now=$(date +%s)
        count=$(handled_unique)
        if ((count != last)); then
            last=$count
            since=$now
        elif ((now - since >= STALL_SECONDS)); then
            offsets_at_end || true
            log "$scenario: no progress for ${STALL_SECONDS}s: $count of $RECORDS handled, offsets $(tr '\n' ' ' <"$dir/offsets.txt")"
            notes+=("no progress for ${STALL_SECONDS}s with $count of $RECORDS records handled")
            return 1
        fi
        if ((now >= deadline)); then
            log "$scenario: timed out after ${1}s waiting for everything handled and committed"
            notes+=("not everything handled and committed within ${1}s")
            return 1
        fi
        sleep 0.5
    done
    committed_while_running=yes
}

coordinator_node() {
    "$BIN" coordinator --bootstrap "$BOOTSTRAP" --group "$group" 2>>"$dir/probe.err"
}
broker_pid() { cat "$KAFKA_STATE_DIR/broker-$1/broker.pid"; }
cluster_healthy() { "$KAFKA_SH" status >/dev/null 2>&1; }

# The group's members at the end: every running member, stopped gracefully.
stop_all_members() {
    local pidfile
    for pidfile in "$MEMBERS_DIR"/*.pid; do
        [[ -f "$pidfile" ]] || continue
        stop_member "$(basename "$pidfile" .pid)" TERM
    done
}

# ---------------------------------------------------------------------------------------------
# Scenarios. Each runs with $topic, $group, $dir set, on $RECORDS records already produced, and
# sets max_dups (and other account.py options in acct_opts). A failed wait adds to notes.

scenario_member_sigterm() {
    max_dups=0
    start_member m1
    start_member m2
    wait_until 60 "a third of the records" handled_at_least $((RECORDS / 3)) || notes+=("stalled before the fault")
    stop_member m1 TERM
    wait_all_done 180 || true
}

scenario_member_sigkill() {
    # The killed member's handled-but-uncommitted records come again.
    max_dups=$CRASH_DUPLICATES
    start_member m1
    start_member m2
    wait_until 60 "a third of the records" handled_at_least $((RECORDS / 3)) || notes+=("stalled before the fault")
    stop_member m1 KILL
    wait_all_done 180 || true
}

# kill_and_restart_broker K: SIGKILL broker K while the members consume, check that consumption
# goes on without it, start it again.
kill_and_restart_broker() {
    local k=$1
    log "$scenario: killing broker $k"
    "$KAFKA_SH" kill-broker "$k" >/dev/null 2>>"$dir/kafka.err"
    progress_mark
    wait_until 90 "progress with broker $k down" progressed $((RECORDS / 20)) ||
        notes+=("no progress while broker $k was down")
    log "$scenario: restarting broker $k"
    "$KAFKA_SH" restart-broker "$k" >/dev/null 2>>"$dir/kafka.err" || notes+=("broker $k did not restart")
    wait_until 90 "all brokers running" cluster_healthy || notes+=("cluster not healthy after restart")
}

scenario_broker_kill_restart() {
    max_dups=$CRASH_DUPLICATES
    start_member m1
    start_member m2
    wait_until 60 "a fifth of the records" handled_at_least $((RECORDS / 5)) || notes+=("stalled before the fault")
    local coordinator victim
    coordinator=$(coordinator_node) || coordinator=0
    # A broker that leads partitions but is not the group coordinator (that is the next one).
    victim=$((coordinator % 3 + 1))
    kill_and_restart_broker "$victim"
    wait_all_done 240 || true
}

scenario_coordinator_broker_kill() {
    max_dups=$CRASH_DUPLICATES
    start_member m1
    start_member m2
    wait_until 60 "a fifth of the records" handled_at_least $((RECORDS / 5)) || notes+=("stalled before the fault")
    local coordinator
    if ! coordinator=$(coordinator_node); then
        notes+=("FindCoordinator failed")
        return
    fi
    log "$scenario: group $group's coordinator is broker $coordinator"
    kill_and_restart_broker "$coordinator"
    wait_all_done 240 || true
}

scenario_broker_stall() {
    max_dups=$CRASH_DUPLICATES
    start_member m1
    start_member m2
    wait_until 60 "a fifth of the records" handled_at_least $((RECORDS / 5)) || notes+=("stalled before the fault")
    local coordinator victim pid
    coordinator=$(coordinator_node) || coordinator=0
    victim=$((coordinator % 3 + 1))
    pid=$(broker_pid "$victim")
    # The members' request.timeout.ms is 5 s; the stall lasts 8 s.
    log "$scenario: SIGSTOP broker $victim (pid $pid) for 8 s"
    kill -STOP "$pid"
    progress_mark
    local stall_end=$(($(date +%s) + 8))
    while (($(date +%s) < stall_end)); do sleep 0.2; done
    kill -CONT "$pid"
    log "$scenario: SIGCONT broker $victim; $(($(handled_unique) - mark)) records handled during the stall"
    wait_all_done 240 || true
}

scenario_rebalance_storm() {
    # Joins and graceful leaves only: a revoked partition is drained and committed first, so no
    # record may come twice. Slower handling, so that consumption outlasts 20 rebalances.
    max_dups=0
    handle_ms=$((HANDLE_MS * 5))
    start_member m1
    start_member m2
    wait_until 60 "both members assigned" assigned m2 || notes+=("m2 never assigned")
    local i
    for i in $(seq 1 20); do
        start_member "s$i"
        wait_until 60 "s$i assigned" assigned "s$i" || notes+=("s$i never got partitions")
        stop_member "s$i" TERM
    done
    if handled_at_least "$RECORDS"; then
        notes+=("consumption ended before the storm did (raise FAULT_RECORDS)")
    fi
    log "$scenario: 20 joins and leaves done, $(handled_unique) of $RECORDS handled"
    wait_all_done 240 || true
}

scenario_poison_pills() {
    max_dups=0
    acct_opts+=(--poison-every 1000)
    start_member m1 --poison-every 1000
    start_member m2 --poison-every 1000
    wait_all_done 180 || true
}

scenario_slow_handler() {
    # The slow member's 200th record takes 25 s with max.poll.interval.ms 10 s: the member must
    # give up its partitions and stop handling them before another member takes them, so no
    # record is ever in two members' handlers at once (account.py --no-overlap; a handler the
    # container stops early logs a C line with the time it stopped). Records in flight at that
    # moment may come twice. (25 s, not just over 10 s: today's runtime stops polling only once
    # a handler has run for max.poll.interval.ms, and the heartbeat leaves the group another
    # max.poll.interval.ms after that last poll.)
    max_dups=$CRASH_DUPLICATES
    acct_opts+=(--no-overlap)
    start_member fast
    start_member slow --slow-after 200 --slow-ms 25000
    slow_started() { grep -qs '^s ' "$dir/slow.log"; }
    wait_until 60 "the slow record to start" slow_started || notes+=("the slow record never started")
    slow_over() { grep -qs '^[SC] ' "$dir/slow.log"; }
    wait_until 60 "the slow handler to return or be stopped" slow_over || notes+=("the slow handler neither returned nor was stopped within 60 s")
    # Not a pass criterion, but worth knowing: did the slow member give up its partitions?
    if awk '$1=="s"{s=1} s&&$1=="A"&&$4=="-"{f=1} END{exit !f}' "$dir/slow.log"; then
        log "$scenario: the slow member gave up its partitions while its handler was stuck"
    else
        log "$scenario: the slow member kept its partitions while its handler was stuck"
    fi
    wait_all_done 240 || true
}

scenario_scale_out() {
    # 1 → 3 members while consuming; graceful joins only, so nothing comes twice, and handling
    # never pauses longer than one rebalance (bounded by max.poll.interval.ms, 10 s).
    max_dups=0
    acct_opts+=(--split 2,2,2 --assignments "$dir/assignments.txt" --max-gap-ms 10000)
    start_member m1
    wait_until 60 "a tenth of the records" handled_at_least $((RECORDS / 10)) || notes+=("stalled before the fault")
    start_member m2
    wait_until 60 "m2 assigned" assigned m2 || notes+=("m2 never assigned")
    start_member m3
    wait_until 60 "m3 assigned" assigned m3 || notes+=("m3 never assigned")
    split_222() { [[ "$(assigned_count m1) $(assigned_count m2) $(assigned_count m3)" == "2 2 2" ]]; }
    wait_until 60 "a 2/2/2 split" split_222 || true
    if handled_at_least "$RECORDS"; then
        notes+=("consumption ended before the third member joined (raise FAULT_RECORDS)")
    fi
    wait_all_done 240 || true
    local m
    for m in m1 m2 m3; do echo "$m $(assignment_of $m)"; done >"$dir/assignments.txt"
}

# ---------------------------------------------------------------------------------------------

passed=0
failed=0
for scenario in "${selected[@]}"; do
    topic="fault-$scenario"
    group="fault-$scenario-group"
    dir="$WORK/$scenario"
    mkdir -p "$dir"
    notes=()
    acct_opts=()
    max_dups=0
    handle_ms=$HANDLE_MS
    committed_while_running=no
    t0=$(date +%s)
    if ! "$BIN" produce --bootstrap "$BOOTSTRAP" --topic "$topic" --count "$RECORDS" \
        --partitions "$PARTITIONS" 2>"$dir/produce.err"; then
        tail -n 5 "$dir/produce.err" >&2
        notes+=("producing $RECORDS records failed")
    else
        "scenario_${scenario//-/_}"
    fi
    stop_all_members
    wait_until 60 "all brokers running" cluster_healthy || notes+=("cluster not healthy at the end")
    # The final word: offsets after every member left, and the dead-letter topic.
    offsets_at_end || true
    "$BIN" dump --bootstrap "$BOOTSTRAP" --topic "$topic-dlt" --partitions "$PARTITIONS" \
        >"$dir/dlt.txt" 2>>"$dir/probe.err" || notes+=("could not read $topic-dlt")
    note_args=()
    for note in ${notes[@]+"${notes[@]}"}; do note_args+=(--note "$note"); done
    if python3 "$ROOT/tests/faults/account.py" --name "$scenario" --produced "$RECORDS" \
        --logs "$dir" --offsets "$dir/offsets.txt" --dlt "$dir/dlt.txt" \
        --max-duplicates "$max_dups" --committed-while-running "$committed_while_running" ${acct_opts[@]+"${acct_opts[@]}"} ${note_args[@]+"${note_args[@]}"}; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        keep=1
    fi
    log "$scenario took $(($(date +%s) - t0)) s"
done

log "total $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
((failed == 0))
