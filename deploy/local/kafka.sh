#!/usr/bin/env bash
# Real Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1, from Maven Central jars.
# This is the one way anything in this project starts real Kafka: there is no Docker engine here.
#
#   deploy/local/kafka.sh start [--brokers 1|3] [--version V] [--security P [--oauthbearer]]
#                                          start a cluster, wait until every broker is registered;
#                                          LAST stdout line is
#                                          KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:p1[,127.0.0.1:p2,…]
#   deploy/local/kafka.sh stop             stop this state dir's brokers (pid files), remove its data
#   deploy/local/kafka.sh status           brokers, pids, ports; exit 0 only if all are running
#   deploy/local/kafka.sh bootstrap        print the KAFKA_BOOTSTRAP_SERVERS=… line again (secured:
#                                          the SPRING_CONFIG_ADDITIONAL_LOCATION=… line first)
#   deploy/local/kafka.sh kill-broker K    SIGKILL broker K (node id K, 1-based)
#   deploy/local/kafka.sh restart-broker K start broker K again: same id, ports and data
#   deploy/local/kafka.sh config [--brokers N] [--security P [--oauthbearer]]
#                                          print the server.properties `start` would write
#
# Every piece of state (configs, data, logs, pid files, chosen ports) lives under one state dir,
# $KAFKA_STATE_DIR (default ${TMPDIR:-/tmp}/kafka-listener-local), so several people can run
# their own clusters at once from the same checkout by giving each a different KAFKA_STATE_DIR.
# Jars are cached in ${XDG_CACHE_HOME:-~/.cache}/kafka-listener/kafka-V (override the root with
# KAFKA_LISTENER_CACHE). Progress goes to stderr; stdout carries only the bootstrap line (and,
# for a secured cluster, the SPRING_CONFIG_ADDITIONAL_LOCATION line before it).
#
# Security (--security; without it, or with `plaintext`, clients get one PLAINTEXT listener):
#   --security sasl_ssl        SASL over TLS, ssl.client.auth=none (SASL is the identity)
#   --security ssl             TLS only, ssl.client.auth=requested: one-way TLS and mutual TLS
#                              (client certificate, principal User:CN=alice,O=kafka-listener)
#                              both work
#   --security sasl_plaintext  SASL without TLS
#   --oauthbearer              (sasl_* only) also enable OAUTHBEARER with Kafka's built-in
#                              UNSECURED validator: any unsigned JWT is accepted, so it is off
#                              unless asked for
# Each broker then has three listeners: CLIENT (the requested protocol, advertised as
# 127.0.0.1:port, the only ports in KAFKA_BOOTSTRAP_SERVERS), BROKER (PLAINTEXT, inter-broker
# only) and CONTROLLER (PLAINTEXT). SASL mechanisms on CLIENT: PLAIN, SCRAM-SHA-256,
# SCRAM-SHA-512 (+ OAUTHBEARER). Users, the same for PLAIN and both SCRAMs (SCRAM credentials are
# written at storage-format time): alice / alice-secret (the client files use her), bob /
# bob-secret. No authorizer: any authenticated user may do anything. Env
# KAFKA_CONNECTIONS_MAX_REAUTH_MS sets connections.max.reauth.ms (re-authentication tests).
# A secured start prints, before the last line, exactly one line
#   SPRING_CONFIG_ADDITIONAL_LOCATION=<state dir>/client-security.yml
# Files of a secured cluster, in the state dir (all throw-away, regenerated on every start):
#   client-security.yml        Spring Boot YAML: spring.kafka.security.protocol, spring.kafka.ssl.*
#                              (PKCS12 trust store; ssl mode: also the client key store),
#                              spring.kafka.properties sasl.mechanism/sasl.jaas.config (SCRAM-SHA-512)
#   client.properties          the same for Java kafka-clients (security.protocol, sasl.*, ssl.*)
#   client-librdkafka.properties  librdkafka/confluent-kafka keys (security.protocol,
#                              sasl.mechanisms, sasl.username, sasl.password, ssl.ca.location,
#                              ssl mode: ssl.certificate.location, ssl.key.location)
#   client.env                 shell-sourceable KAFKA_* variables for other clients (kafka-python):
#                              KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
#                              KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE,
#                              KAFKA_SSL_CERTFILE, KAFKA_SSL_KEYFILE, KAFKA_SSL_STORE_PASSWORD
#   tls/ (ssl and sasl_ssl only; EC P-256 keys, PEM keys unencrypted PKCS#8; every PKCS12 store
#        uses the one random password in tls/store-password)
#     ca.pem, ca.key           the throw-away CA that signs every certificate below
#     broker-K.pem, broker-K.key  broker K's certificate (CN=broker-K, SAN DNS:localhost,
#                              IP:127.0.0.1) and key
#     broker-K.keystore.p12    broker K's key store (key, certificate, CA)
#     broker-truststore.p12    the CA, for the brokers to check client certificates
#     client.pem, client.key   a client certificate (CN=alice) signed by the same CA, and its key
#     client.keystore.p12      the same as a PKCS12 key store (alias client)
#     client-truststore.p12    the CA as a PKCS12 trust store (alias ca)
#     client-truststore.pem    the CA as PEM (a copy of ca.pem)
#     other-ca.pem, other-ca.key  an unrelated CA, for negative tests (nothing trusts it)
#     store-password, openssl.cnf, generate.log  the store password, the openssl extensions used,
#                              the generation log
#
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_VERSION=4.4.0
STATE_DIR=${KAFKA_STATE_DIR:-${TMPDIR:-/tmp}/kafka-listener-local}
STATE_DIR=${STATE_DIR%/}
# Absolute, because the client files written into it are read from other directories.
[[ "$STATE_DIR" == /* ]] || STATE_DIR=$PWD/$STATE_DIR
CACHE_ROOT=${KAFKA_LISTENER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kafka-listener}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
# Small heaps and the serial collector: three brokers plus test clients share 2 cores.
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
JVM_OPTS=${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:MaxMetaspaceSize=256m -Djava.awt.headless=true}
MARKER=cluster.env
REAUTH_MS=${KAFKA_CONNECTIONS_MAX_REAUTH_MS:-}
# Client users: PLAIN (server JAAS) and SCRAM-SHA-256/512 (credentials formatted into the metadata).
CLIENT_USER=alice
CLIENT_PASSWORD=alice-secret
SECOND_USER=bob
SECOND_PASSWORD=bob-secret

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
EOF
    if [[ "$SECURITY" == plaintext ]]; then
        cat <<EOF
listeners=PLAINTEXT://127.0.0.1:${bports[k - 1]},CONTROLLER://127.0.0.1:${cports[k - 1]}
advertised.listeners=PLAINTEXT://127.0.0.1:${bports[k - 1]}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
    else
        broker_security_config "$k"
    fi
    cat <<EOF
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

secured() { [[ "$SECURITY" != plaintext ]]; }
uses_tls() { [[ "$SECURITY" == ssl || "$SECURITY" == sasl_ssl ]]; }
uses_sasl() { [[ "$SECURITY" == sasl_ssl || "$SECURITY" == sasl_plaintext ]]; }
protocol_name() { tr '[:lower:]' '[:upper:]' <<<"$SECURITY"; }
sasl_mechanisms() {
    local mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
    ((OAUTHBEARER)) && mechanisms+=,OAUTHBEARER
    echo "$mechanisms"
}
tls_dir() { echo "$STATE_DIR/tls"; }
client_yml() { echo "$STATE_DIR/client-security.yml"; }

# The listener part of broker $1's server.properties for a secured cluster: the requested
# protocol on CLIENT, PLAINTEXT for inter-broker (BROKER) and controller traffic.
broker_security_config() {
    local k=$1 tls
    local -a bports cports clports
    read -r -a bports <<<"$BROKER_PORTS"
    read -r -a cports <<<"$CONTROLLER_PORTS"
    read -r -a clports <<<"$CLIENT_PORTS"
    tls=$(tls_dir)
    cat <<EOF
# Clients use CLIENT ($(protocol_name)); brokers reach each other on BROKER and the controllers on
# CONTROLLER, both PLAINTEXT on 127.0.0.1: the client side is what is under test.
listeners=CLIENT://127.0.0.1:${clports[k - 1]},BROKER://127.0.0.1:${bports[k - 1]},CONTROLLER://127.0.0.1:${cports[k - 1]}
advertised.listeners=CLIENT://127.0.0.1:${clports[k - 1]},BROKER://127.0.0.1:${bports[k - 1]}
inter.broker.listener.name=BROKER
listener.security.protocol.map=CLIENT:$(protocol_name),BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT
EOF
    if uses_tls; then
        local client_auth=none
        # ssl: a client certificate is asked for but not required, so one-way TLS and mTLS both
        # work. sasl_ssl: SASL is the identity; a certificate would only be a second one.
        [[ "$SECURITY" == ssl ]] && client_auth=requested
        cat <<EOF
listener.name.client.ssl.keystore.location=$tls/broker-$k.keystore.p12
listener.name.client.ssl.keystore.password=$TLS_PASSWORD
listener.name.client.ssl.keystore.type=PKCS12
listener.name.client.ssl.truststore.location=$tls/broker-truststore.p12
listener.name.client.ssl.truststore.password=$TLS_PASSWORD
listener.name.client.ssl.truststore.type=PKCS12
listener.name.client.ssl.client.auth=$client_auth
EOF
    fi
    if uses_sasl; then
        cat <<EOF
# Users $CLIENT_USER and $SECOND_USER: PLAIN checks the JAAS entries below, SCRAM the credentials that
# kafka-storage format wrote into the cluster metadata.
sasl.enabled.mechanisms=$(sasl_mechanisms)
listener.name.client.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$CLIENT_USER="$CLIENT_PASSWORD" user_$SECOND_USER="$SECOND_PASSWORD";
listener.name.client.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
EOF
        if ((OAUTHBEARER)); then
            cat <<EOF
# No server callback handler: Kafka's unsecured validator, which accepts unsigned JWTs.
listener.name.client.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";
EOF
        fi
    fi
    if [[ -n "$REAUTH_MS" ]]; then
        echo "connections.max.reauth.ms=$REAUTH_MS"
    fi
}

# Throw-away CA, per-broker and client certificates and PKCS12 stores in tls/ (see the header).
# Sets TLS_PASSWORD. Output goes to tls/generate.log; returns 1 on the first failure.
generate_tls() {
    local tls log k
    tls=$(tls_dir)
    mkdir -p "$tls"
    log=$tls/generate.log
    : >"$log"
    TLS_PASSWORD=$(openssl rand -hex 16) || return 1
    (umask 077 && printf '%s\n' "$TLS_PASSWORD" >"$tls/store-password") || return 1
    cat >"$tls/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    new_key() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/$1.key") >>"$log" 2>&1; }
    new_ca() {
        new_key "$1" &&
            openssl req -x509 -new -config "$tls/openssl.cnf" -extensions ca_ext -key "$tls/$1.key" \
                -subj "/O=kafka-listener/CN=$2" -days 30 -out "$tls/$1.pem" >>"$log" 2>&1
    }
    # new_cert NAME CN EXTENSIONS: NAME.key, NAME.pem signed by the CA, NAME.keystore.p12.
    new_cert() {
        new_key "$1" &&
            openssl req -new -config "$tls/openssl.cnf" -key "$tls/$1.key" \
                -subj "/O=kafka-listener/CN=$2" -out "$tls/$1.csr" >>"$log" 2>&1 &&
            openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
                -set_serial "0x$(openssl rand -hex 12)" -days 30 \
                -extfile "$tls/openssl.cnf" -extensions "$3" -out "$tls/$1.pem" >>"$log" 2>&1 &&
            rm -f "$tls/$1.csr" &&
            openssl pkcs12 -export -name "$4" -inkey "$tls/$1.key" -in "$tls/$1.pem" \
                -certfile "$tls/ca.pem" -passout "pass:$TLS_PASSWORD" \
                -out "$tls/$1.keystore.p12" >>"$log" 2>&1
    }
    new_ca ca "kafka-listener local test CA" || return 1
    new_ca other-ca "kafka-listener unrelated test CA" || return 1
    for k in $(all_brokers); do
        new_cert "broker-$k" "broker-$k" server_ext "broker-$k" || return 1
    done
    new_cert client "$CLIENT_USER" client_ext client || return 1
    cp "$tls/ca.pem" "$tls/client-truststore.pem" || return 1
    # keytool, not openssl: Java only trusts PKCS12 certificates that carry its trusted-cert
    # attribute, which OpenSSL 3.0 cannot write.
    keytool -J-Xmx64m -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -importcert -noprompt \
        -alias ca -file "$tls/ca.pem" -keystore "$tls/client-truststore.p12" -storetype PKCS12 \
        -storepass "$TLS_PASSWORD" >>"$log" 2>&1 || return 1
    cp "$tls/client-truststore.p12" "$tls/broker-truststore.p12" || return 1
}

# Client settings for user alice (SCRAM-SHA-512; in ssl mode the client certificate instead) in
# the four formats described in the header.
write_client_files() {
    local protocol tls jaas mechanism=SCRAM-SHA-512
    protocol=$(protocol_name)
    tls=$(tls_dir)
    jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$CLIENT_USER\" password=\"$CLIENT_PASSWORD\";"
    {
        echo "# Written by deploy/local/kafka.sh for the $protocol cluster in $STATE_DIR."
        echo "# Spring Boot style: SPRING_CONFIG_ADDITIONAL_LOCATION=$(client_yml)"
        echo "spring:"
        echo "  kafka:"
        echo "    security:"
        echo "      protocol: $protocol"
        if uses_tls; then
            echo "    ssl:"
            echo "      trust-store-location: 'file:$tls/client-truststore.p12'"
            echo "      trust-store-password: '$TLS_PASSWORD'"
            echo "      trust-store-type: PKCS12"
            if [[ "$SECURITY" == ssl ]]; then
                echo "      key-store-location: 'file:$tls/client.keystore.p12'"
                echo "      key-store-password: '$TLS_PASSWORD'"
                echo "      key-store-type: PKCS12"
            fi
        fi
        if [[ "$SECURITY" != ssl ]]; then
            echo "    properties:"
            echo "      sasl.mechanism: $mechanism"
            echo "      sasl.jaas.config: '$jaas'"
        fi
        if uses_tls; then
            [[ "$SECURITY" == ssl ]] && echo "    properties:"
            echo "      # The broker certificates carry SAN IP:127.0.0.1, so host name checks stay on."
            echo "      ssl.endpoint.identification.algorithm: https"
        fi
    } >"$(client_yml)"
    {
        echo "# Java kafka-clients settings for the $protocol cluster in $STATE_DIR."
        echo "security.protocol=$protocol"
        if uses_sasl; then
            echo "sasl.mechanism=$mechanism"
            echo "sasl.jaas.config=$jaas"
        fi
        if uses_tls; then
            echo "ssl.truststore.location=$tls/client-truststore.p12"
            echo "ssl.truststore.password=$TLS_PASSWORD"
            echo "ssl.truststore.type=PKCS12"
            echo "ssl.endpoint.identification.algorithm=https"
        fi
        if [[ "$SECURITY" == ssl ]]; then
            echo "ssl.keystore.location=$tls/client.keystore.p12"
            echo "ssl.keystore.password=$TLS_PASSWORD"
            echo "ssl.keystore.type=PKCS12"
        fi
    } >"$STATE_DIR/client.properties"
    {
        echo "# librdkafka (confluent-kafka) settings for the $protocol cluster in $STATE_DIR."
        echo "security.protocol=$protocol"
        if uses_sasl; then
            echo "sasl.mechanisms=$mechanism"
            echo "sasl.username=$CLIENT_USER"
            echo "sasl.password=$CLIENT_PASSWORD"
        fi
        if uses_tls; then
            echo "ssl.ca.location=$tls/ca.pem"
            echo "ssl.endpoint.identification.algorithm=https"
        fi
        if [[ "$SECURITY" == ssl ]]; then
            echo "ssl.certificate.location=$tls/client.pem"
            echo "ssl.key.location=$tls/client.key"
        fi
    } >"$STATE_DIR/client-librdkafka.properties"
    {
        echo "# Shell-sourceable settings for the $protocol cluster in $STATE_DIR (kafka-python etc.)."
        echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap_servers)"
        echo "KAFKA_SECURITY_PROTOCOL=$protocol"
        if uses_sasl; then
            echo "KAFKA_SASL_MECHANISM=$mechanism"
            echo "KAFKA_SASL_USERNAME=$CLIENT_USER"
            echo "KAFKA_SASL_PASSWORD=$CLIENT_PASSWORD"
        fi
        if uses_tls; then
            echo "KAFKA_SSL_CAFILE=$tls/ca.pem"
            echo "KAFKA_SSL_STORE_PASSWORD=$TLS_PASSWORD"
        fi
        if [[ "$SECURITY" == ssl ]]; then
            echo "KAFKA_SSL_CERTFILE=$tls/client.pem"
            echo "KAFKA_SSL_KEYFILE=$tls/client.key"
        fi
    } >"$STATE_DIR/client.env"
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
    # Defaults for what an older kafka.sh did not record.
    SECURITY=plaintext OAUTHBEARER=0 CLIENT_PORTS="" TLS_PASSWORD=""
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
SECURITY=$SECURITY
OAUTHBEARER=$OAUTHBEARER
CLIENT_PORTS="$CLIENT_PORTS"
TLS_PASSWORD=$TLS_PASSWORD
EOF
}

# The client-facing listeners: PLAINTEXT ones, or CLIENT ones of a secured cluster.
client_ports() { if secured; then echo "$CLIENT_PORTS"; else echo "$BROKER_PORTS"; fi; }

bootstrap_servers() {
    local port list=""
    for port in $(client_ports); do
        list+="${list:+,}127.0.0.1:$port"
    done
    echo "$list"
}

bootstrap_line() { echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap_servers)"; }

# What start, bootstrap and restart-broker print: the bootstrap line last, for a secured cluster
# the client settings line before it.
client_lines() {
    if secured; then
        echo "SPRING_CONFIG_ADDITIONAL_LOCATION=$(client_yml)"
    fi
    bootstrap_line
}

# Broker $1's PLAINTEXT listener (a secured cluster's inter-broker BROKER listener).
broker_port() {
    local -a bports=($BROKER_PORTS)
    echo "${bports[$1 - 1]}"
}

client_port() {
    local -a ports
    read -r -a ports <<<"$(client_ports)"
    echo "${ports[$1 - 1]}"
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
    local k pids=() failed=0 scram=() mechanism user
    if uses_sasl; then
        for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
            for user in "$CLIENT_USER=$CLIENT_PASSWORD" "$SECOND_USER=$SECOND_PASSWORD"; do
                scram+=(--add-scram "$mechanism=[name=${user%%=*},password=${user#*=}]")
            done
        done
    fi
    for ((k = 1; k <= BROKERS; k++)); do
        mkdir -p "$STATE_DIR/broker-$k/data"
        java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
            -Dlog4j2.configurationFile="$STATE_DIR/log4j2.properties" \
            -cp "$LIBS/*" kafka.tools.StorageTool format \
            -t "$CLUSTER_ID" -c "$(config_file "$k")" "${scram[@]}" \
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
# Asks the client listener, so on a secured cluster it also proves TLS (trusting the CA, checking
# the SAN) and SASL (PLAIN as alice) work there.
registered_count() {
    local probe=()
    uses_tls && probe+=(--tls-ca "$(tls_dir)/ca.pem")
    uses_sasl && probe+=(--sasl-plain "$CLIENT_USER:$CLIENT_PASSWORD")
    python3 "$SCRIPT_DIR/metadata_probe.py" "${probe[@]}" "127.0.0.1:$(client_port "$1")" 2>/dev/null | wc -l
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
    local k port ports deadline=$(($(date +%s) + 10))
    for k in "$@"; do
        ports=("$(broker_port "$k")" "${cports[k - 1]}")
        secured && ports+=("$(client_port "$k")")
        for port in "${ports[@]}"; do
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
    SECURITY=plaintext
    OAUTHBEARER=0
    while (($#)); do
        case $1 in
        --security)
            SECURITY=${2:-}
            shift 2 || die "--security needs a value (sasl_ssl, ssl, sasl_plaintext)"
            ;;
        --security=*)
            SECURITY=${1#*=}
            shift
            ;;
        --oauthbearer)
            OAUTHBEARER=1
            shift
            ;;
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
        *) die "unknown option '$1' (expected --brokers N, --version V, --security P, --oauthbearer)" ;;
        esac
    done
    SECURITY=$(tr '[:upper:]' '[:lower:]' <<<"$SECURITY")
    case $SECURITY in
    plaintext | ssl | sasl_ssl | sasl_plaintext) ;;
    *) die "--security must be sasl_ssl, ssl or sasl_plaintext, got '$SECURITY'" ;;
    esac
    if ((OAUTHBEARER)) && ! uses_sasl; then
        die "--oauthbearer needs --security sasl_ssl or sasl_plaintext"
    fi
    if [[ -n "$REAUTH_MS" && ! "$REAUTH_MS" =~ ^[0-9]+$ ]]; then
        die "KAFKA_CONNECTIONS_MAX_REAUTH_MS must be a number of milliseconds, got '$REAUTH_MS'"
    fi
    [[ "$BROKERS" == 1 || "$BROKERS" == 3 ]] ||
        die "--brokers must be 1 or 3 (a KRaft quorum of combined nodes), got '$BROKERS'"
    [[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must look like 4.4.0, got '$VERSION'"
}

# Picks BROKER_PORTS, CONTROLLER_PORTS and, for a secured cluster, CLIENT_PORTS.
choose_ports() {
    local listeners=2 ports
    secured && listeners=3
    ports=$(free_ports $((listeners * BROKERS)))
    local -a all
    read -r -a all <<<"$ports"
    BROKER_PORTS="${all[*]:0:BROKERS}"
    CONTROLLER_PORTS="${all[*]:BROKERS:BROKERS}"
    CLIENT_PORTS="${all[*]:2*BROKERS}"
}

cmd_config() {
    parse_cluster_options "$@"
    require_tools python3
    choose_ports
    TLS_PASSWORD='<generated-by-start>'
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
        choose_ports
        CLUSTER_ID=$(random_cluster_id)
        TLS_PASSWORD=""
        if uses_tls && ! generate_tls; then
            log "generating certificates failed:"
            tail -n 30 "$(tls_dir)/generate.log" >&2
            rm -rf "$STATE_DIR"
            die "could not generate the TLS material"
        fi
        save_state
        secured && write_client_files
        write_log4j_config
        local k
        for k in $(all_brokers); do
            mkdir -p "$STATE_DIR/broker-$k"
            broker_config "$k" >"$(config_file "$k")"
        done
        log "starting Kafka $VERSION with $BROKERS broker(s), clients on $(protocol_name), in $STATE_DIR"
        if ! format_storage; then
            remove_state_dir
            die "could not format KRaft storage"
        fi
        for k in $(all_brokers); do
            launch_broker "$k"
        done
        if wait_registered $(all_brokers); then
            log "cluster ready in $(($(now_ms) - started)) ms"
            client_lines
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
    local clients=""
    secured && clients=", clients on $(protocol_name)"
    echo "cluster in $STATE_DIR: Kafka $VERSION, $BROKERS broker(s), cluster id $CLUSTER_ID$clients"
    for k in $(all_brokers); do
        local listeners
        listeners="listener 127.0.0.1:$(broker_port "$k")"
        if secured; then
            listeners="listener 127.0.0.1:$(client_port "$k") ($(protocol_name)), inter-broker 127.0.0.1:$(broker_port "$k")"
        fi
        if pid=$(broker_pid "$k"); then
            echo "broker $k: running pid $pid, $listeners, controller 127.0.0.1:${cports[k - 1]}, registered brokers seen: $(registered_count "$k")"
        else
            echo "broker $k: stopped, $listeners, controller 127.0.0.1:${cports[k - 1]}"
            down=1
        fi
    done
    client_lines
    ((down == 0)) || return 3
}

cmd_bootstrap() {
    (($# == 0)) || die "bootstrap takes no arguments"
    load_state || die "no cluster in $STATE_DIR; run 'kafka.sh start' first"
    client_lines
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
    log "killed broker $k (127.0.0.1:$(client_port "$k"))"
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
    log "broker $k is back on 127.0.0.1:$(client_port "$k") after $(($(now_ms) - started)) ms"
    client_lines
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
