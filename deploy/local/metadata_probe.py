#!/usr/bin/env python3
"""Asks one Kafka broker which brokers the cluster has registered (Metadata v1, no topics).

Used by kafka.sh to wait until a freshly started cluster is usable without starting another JVM
(a Kafka CLI tool costs seconds of CPU on a 2-core machine). Standard library only, so it works
before any virtualenv exists.

Usage: metadata_probe.py HOST:PORT
Prints one line per registered broker, `<node_id> <host>:<port>`, and exits 0; exits 1 with the
reason on stderr when the broker does not answer.
"""

import socket
import struct
import sys

METADATA_API_KEY = 3
METADATA_VERSION = 1
CLIENT_ID = b"kafka-listener-probe"


def encode_request(correlation_id):
    # Request header v1: api_key, api_version, correlation_id, client_id (string).
    header = struct.pack(">hhih", METADATA_API_KEY, METADATA_VERSION, correlation_id, len(CLIENT_ID))
    header += CLIENT_ID
    # Metadata v1 body: topics array; an empty (not null) array asks for no topics at all.
    body = struct.pack(">i", 0)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


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


def registered_brokers(address, timeout):
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
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


def main():
    if len(sys.argv) != 2:
        print("usage: metadata_probe.py HOST:PORT", file=sys.stderr)
        return 2
    try:
        brokers = registered_brokers(sys.argv[1], timeout=5.0)
    except (OSError, ValueError, struct.error) as error:
        print(f"{sys.argv[1]}: {error}", file=sys.stderr)
        return 1
    for node_id, host, port in brokers:
        print(f"{node_id} {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
