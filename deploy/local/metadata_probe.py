#!/usr/bin/env python3
"""Asks one Kafka broker which brokers the cluster has registered (Metadata v1, no topics).

Used by kafka.sh to wait until a freshly started cluster is usable without starting another JVM
(a Kafka CLI tool costs seconds of CPU on a 2-core machine). Standard library only, so it works
before any virtualenv exists.

Usage: metadata_probe.py [--tls-ca CA.pem [--tls-cert CERT.pem --tls-key KEY.pem]]
                         [--sasl-plain USER:PASSWORD] HOST:PORT
Prints one line per registered broker, `<node_id> <host>:<port>`, and exits 0; exits 1 with the
reason on stderr when the broker does not answer (or TLS or SASL fails).

--tls-ca speaks TLS, trusting only that CA and checking the broker certificate against HOST
(an IP address must be in the certificate's SAN). --sasl-plain authenticates with SASL/PLAIN
(SaslHandshake v1, SaslAuthenticate v0) before asking for metadata.
"""

import socket
import ssl
import struct
import sys

METADATA_API_KEY = 3
METADATA_VERSION = 1
SASL_HANDSHAKE_API_KEY = 17
SASL_HANDSHAKE_VERSION = 1
SASL_AUTHENTICATE_API_KEY = 36
SASL_AUTHENTICATE_VERSION = 0
CLIENT_ID = b"kafka-listener-probe"


def encode_request(correlation_id, api_key=METADATA_API_KEY, version=METADATA_VERSION, body=None):
    # Request header v1: api_key, api_version, correlation_id, client_id (string).
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID))
    header += CLIENT_ID
    if body is None:
        # Metadata v1 body: topics array; an empty (not null) array asks for no topics at all.
        body = struct.pack(">i", 0)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def exchange(sock, correlation_id, api_key, version, body):
    """Sends one request and returns a Reader over its response body (after the header)."""
    sock.sendall(encode_request(correlation_id, api_key, version, body))
    (size,) = struct.unpack(">i", read_exactly(sock, 4))
    reader = Reader(read_exactly(sock, size))
    received = reader.take(">i")
    if received != correlation_id:
        raise ValueError(f"unexpected correlation id {received}")
    return reader


def sasl_plain(sock, username, password):
    mechanism = b"PLAIN"
    reader = exchange(sock, 101, SASL_HANDSHAKE_API_KEY, SASL_HANDSHAKE_VERSION,
                      struct.pack(">h", len(mechanism)) + mechanism)
    error = reader.take(">h")
    if error != 0:
        enabled = [reader.nullable_string() for _ in range(reader.take(">i"))]
        raise ValueError(f"SASL handshake error {error}; enabled mechanisms: {enabled}")
    token = b"\0" + username.encode() + b"\0" + password.encode()
    reader = exchange(sock, 102, SASL_AUTHENTICATE_API_KEY, SASL_AUTHENTICATE_VERSION,
                      struct.pack(">i", len(token)) + token)
    error = reader.take(">h")
    if error != 0:
        raise ValueError(f"SASL authentication failed (error {error}): {reader.nullable_string()}")


def read_exactly(sock, n):
    chunks = []
    while n > 0:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value[0]

    def nullable_string(self):
        length = self.take(">h")
        if length < 0:
            return None
        value = self.data[self.pos : self.pos + length].decode("utf-8")
        self.pos += length
        return value


def registered_brokers(address, timeout, tls=None, sasl=None):
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as plain_sock:
        plain_sock.settimeout(timeout)
        # wrap_socket detaches plain_sock; the TLS socket then owns (and closes) the connection.
        with tls.wrap_socket(plain_sock, server_hostname=host) if tls else plain_sock as sock:
            if sasl:
                sasl_plain(sock, *sasl)
            sock.sendall(encode_request(correlation_id=1))
            (size,) = struct.unpack(">i", read_exactly(sock, 4))
            reader = Reader(read_exactly(sock, size))
    correlation_id = reader.take(">i")
    if correlation_id != 1:
        raise ValueError(f"unexpected correlation id {correlation_id}")
    brokers = []
    for _ in range(reader.take(">i")):
        node_id = reader.take(">i")
        broker_host = reader.nullable_string()
        broker_port = reader.take(">i")
        reader.nullable_string()  # rack
        brokers.append((node_id, broker_host, broker_port))
    return sorted(brokers)


USAGE = ("usage: metadata_probe.py [--tls-ca CA.pem [--tls-cert CERT.pem --tls-key KEY.pem]] "
         "[--sasl-plain USER:PASSWORD] HOST:PORT")


def main():
    args = sys.argv[1:]
    options = {}
    while len(args) > 1 and args[0] in ("--tls-ca", "--tls-cert", "--tls-key", "--sasl-plain"):
        options[args[0]] = args[1]
        args = args[2:]
    if len(args) != 1 or ("--tls-cert" in options) != ("--tls-key" in options):
        print(USAGE, file=sys.stderr)
        return 2
    address = args[0]
    try:
        tls = None
        if "--tls-ca" in options:
            tls = ssl.create_default_context(cafile=options["--tls-ca"])
            if "--tls-cert" in options:
                tls.load_cert_chain(options["--tls-cert"], options["--tls-key"])
        elif "--tls-cert" in options:
            print("--tls-cert needs --tls-ca", file=sys.stderr)
            return 2
        sasl = None
        if "--sasl-plain" in options:
            username, _, password = options["--sasl-plain"].partition(":")
            sasl = (username, password)
        brokers = registered_brokers(address, timeout=5.0, tls=tls, sasl=sasl)
    except (OSError, ValueError, struct.error) as error:
        print(f"{address}: {error}", file=sys.stderr)
        return 1
    for node_id, host, port in brokers:
        print(f"{node_id} {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
