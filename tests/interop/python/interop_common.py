"""Scenarios every Python interop peer runs, written once against a small client adapter.

The data set and the checks are the contract all peers share (Java and Rust implement the same
one, see tests/interop/README.md): record i of a producer's topic lands in partition i % 3 at
offset i // 3, with

    key     = b"key-%04d" % i
    value   = b"value-%d-" % i + bytes((i * 7 + j) % 256 for j in range(i % 50))
    headers = [("bin", bytes([i % 256, 0, 255])), ("producer", <producer name>),
               ("seq", i as 4-byte big-endian)]           # in this order (sorted by name)

Each scenario prints one line, `PASS <peer> <scenario>` or `FAIL <peer> <scenario> <reason>`.
"""

import argparse
import logging
import struct
import sys
import threading
import time
import traceback
from collections import namedtuple

RECORDS = 1000
PARTITIONS = 3
SCENARIO_TIMEOUT_S = 90.0
# Committed positions for commit-resume, per partition: somewhere inside each partition.
RESUME_AT = {0: 100, 1: 150, 2: 200}
SPLIT_RECORDS_PER_PARTITION = 100

Received = namedtuple("Received", ["partition", "offset", "key", "value", "headers"])
Outgoing = namedtuple("Outgoing", ["partition", "key", "value", "headers"])


class ScenarioFailed(Exception):
    """A check failed; the message is the reason printed after FAIL."""


def expected_record(producer, i):
    value = b"value-%d-" % i + bytes((i * 7 + j) % 256 for j in range(i % 50))
    headers = [
        ("bin", bytes([i % 256, 0, 255])),
        ("producer", producer.encode("utf-8")),
        ("seq", struct.pack(">i", i)),
    ]
    return Outgoing(i % PARTITIONS, b"key-%04d" % i, value, headers)


KEYED_RECORDS = 300
# Utils.murmur2 of these keys as Apache kafka-clients 4.4.0 computes them (measured with the Java
# peer's classpath); they pin our Python murmur2 to the reference before it judges a client.
JAVA_MURMUR2 = {
    b"key-0000": 2087814464,
    b"key-0001": -61522296,
    b"key-0042": 615153197,
    b"key-0299": -882197792,
    b"": 275646681,
    b"kafka-listener": -212827543,
}


def murmur2(data):
    """Kafka's 32-bit MurmurHash2 (seed 0x9747b28c) as a signed int, like Utils.murmur2."""
    m = 0x5BD1E995
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[whole:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h = ((h ^ tail[0]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h >= 1 << 31 else h


def java_partition(key, partitions):
    """The partition Java's default partitioner picks for a keyed record."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def data_topic(run, producer):
    return f"interop-{run}-{producer}"


def partition_sizes():
    sizes = {p: 0 for p in range(PARTITIONS)}
    for i in range(RECORDS):
        sizes[i % PARTITIONS] += 1
    return sizes


def seq_of(record):
    for name, value in record.headers:
        if name == "seq" and value is not None and len(value) == 4:
            return struct.unpack(">i", value)[0]
    raise ScenarioFailed(
        f"record at partition {record.partition} offset {record.offset} has no 4-byte seq header"
    )


def check_record(producer, record):
    """Compares one received record with the data set, byte for byte."""
    i = seq_of(record)
    if not 0 <= i < RECORDS:
        raise ScenarioFailed(f"seq {i} out of range")
    want = expected_record(producer, i)
    where = f"record {i} (partition {record.partition} offset {record.offset})"
    if record.partition != want.partition or record.offset != i // PARTITIONS:
        raise ScenarioFailed(
            f"{where}: expected partition {want.partition} offset {i // PARTITIONS}"
        )
    if record.key != want.key:
        raise ScenarioFailed(f"{where}: key {record.key!r} != {want.key!r}")
    if record.value != want.value:
        raise ScenarioFailed(f"{where}: value differs ({len(record.value or b'')} bytes)")
    if list(record.headers) != want.headers:
        raise ScenarioFailed(f"{where}: headers {record.headers!r} != {want.headers!r}")
    return i


def deadline_after(seconds=SCENARIO_TIMEOUT_S):
    return time.monotonic() + seconds


def consume_until(consumer, want_count, deadline, on_batch=None):
    """Polls until `want_count` records have arrived; returns them in arrival order."""
    received = []
    while len(received) < want_count:
        if time.monotonic() > deadline:
            raise ScenarioFailed(f"timed out with {len(received)} of {want_count} records")
        batch = consumer.poll(0.5)
        received.extend(batch)
        if batch and on_batch:
            on_batch(batch)
    return received


def next_offsets(batch):
    """Per partition, the offset after the last record of `batch`: what a manual commit stores."""
    offsets = {}
    for record in batch:
        offsets[record.partition] = max(offsets.get(record.partition, 0), record.offset + 1)
    return offsets


class Scenarios:
    def __init__(self, client, run):
        self.client = client
        self.peer = client.name
        self.run = run

    def report(self, scenario, body):
        try:
            body()
        except ScenarioFailed as failure:
            print(f"FAIL {self.peer} {scenario} {failure}", flush=True)
            return False
        except Exception as error:  # a client error is a failed scenario, not a crash
            traceback.print_exc(file=sys.stderr)
            reason = f"{type(error).__name__}: {error}".replace("\n", " ")
            print(f"FAIL {self.peer} {scenario} {reason}", flush=True)
            return False
        print(f"PASS {self.peer} {scenario}", flush=True)
        return True

    # -- own scenarios -----------------------------------------------------------------------

    def create_topic(self):
        self.create_and_await(data_topic(self.run, self.peer))

    def create_and_await(self, topic):
        """Creates `topic` and waits until metadata shows all its partitions."""
        self.client.create_topic(topic, PARTITIONS)
        deadline = deadline_after(30)
        while self.client.partition_count(topic) != PARTITIONS:
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"{topic} never showed {PARTITIONS} partitions")
            time.sleep(0.2)

    def produce(self):
        topic = data_topic(self.run, self.peer)
        records = [expected_record(self.peer, i) for i in range(RECORDS)]
        acks = self.client.produce(topic, records)
        if len(acks) != RECORDS:
            raise ScenarioFailed(f"{len(acks)} acknowledgements for {RECORDS} records")
        for i, (partition, offset) in enumerate(acks):
            if (partition, offset) != (i % PARTITIONS, i // PARTITIONS):
                raise ScenarioFailed(
                    f"record {i} acknowledged at partition {partition} offset {offset}, "
                    f"expected {i % PARTITIONS}/{i // PARTITIONS}"
                )

    def keyed_partitioning(self):
        """Records with a key and no partition land where a Java producer would put them."""
        for key, want in JAVA_MURMUR2.items():
            if murmur2(key) != want:
                raise ScenarioFailed(f"our murmur2({key!r}) = {murmur2(key)}, Java says {want}")
        topic = f"interop-{self.run}-{self.peer}-keyed"
        self.client.create_topic(topic, PARTITIONS)
        records = [
            Outgoing(None, b"key-%04d" % i, b"v", []) for i in range(KEYED_RECORDS)
        ]
        acks = self.client.produce(topic, records)
        for record, (partition, _offset) in zip(records, acks):
            want = java_partition(record.key, PARTITIONS)
            if partition != want:
                raise ScenarioFailed(
                    f"key {record.key!r} went to partition {partition}, Java's partitioner picks {want}"
                )

    def consume_verify(self, producer, group):
        """A fresh group reads all records, committing manually after every poll."""
        topic = data_topic(self.run, producer)
        consumer = self.client.consumer(group)
        try:
            consumer.subscribe(topic)
            received = consume_until(
                consumer,
                RECORDS,
                deadline_after(),
                on_batch=lambda batch: consumer.commit(topic, next_offsets(batch)),
            )
            seen = set()
            for record in received:
                i = check_record(producer, record)
                if i in seen:
                    raise ScenarioFailed(f"record {i} delivered twice")
                seen.add(i)
            committed = consumer.committed(topic, range(PARTITIONS))
            if committed != partition_sizes():
                raise ScenarioFailed(f"committed {committed}, expected {partition_sizes()}")
        finally:
            consumer.close()

    def commit_resume(self):
        """Commit a position inside each partition, restart, and resume exactly there."""
        topic = data_topic(self.run, self.peer)
        group = f"interop-{self.run}-{self.peer}-resume"
        first = self.client.consumer(group)
        try:
            first.subscribe(topic)
            progress = {p: 0 for p in range(PARTITIONS)}
            deadline = deadline_after()
            while any(progress[p] < RESUME_AT[p] for p in range(PARTITIONS)):
                if time.monotonic() > deadline:
                    raise ScenarioFailed(f"first consumer stuck at {progress}")
                for record in first.poll(0.5):
                    progress[record.partition] = max(progress[record.partition], record.offset + 1)
            first.commit(topic, RESUME_AT)
            committed = first.committed(topic, range(PARTITIONS))
            if committed != RESUME_AT:
                raise ScenarioFailed(f"committed {committed}, expected {RESUME_AT}")
        finally:
            first.close()

        sizes = partition_sizes()
        remaining = sum(sizes[p] - RESUME_AT[p] for p in range(PARTITIONS))
        second = self.client.consumer(group)
        try:
            second.subscribe(topic)
            received = consume_until(second, remaining, deadline_after())
        finally:
            second.close()
        first_seen = {}
        for record in received:
            check_record(self.peer, record)
            first_seen.setdefault(record.partition, record.offset)
        if first_seen != RESUME_AT:
            raise ScenarioFailed(f"restarted consumer began at {first_seen}, expected {RESUME_AT}")
        if len({(r.partition, r.offset) for r in received}) != remaining:
            raise ScenarioFailed("restarted consumer saw duplicates")

    def data_on_all_brokers(self, producers, brokers):
        """Every data topic's partitions are led by min(brokers, 3) distinct brokers, so each
        peer's consumer had to fetch from all of them."""
        want = min(brokers, PARTITIONS)
        for producer in producers:
            topic = data_topic(self.run, producer)
            leaders = self.client.partition_leaders(topic)
            if sorted(leaders) != list(range(PARTITIONS)):
                raise ScenarioFailed(f"{topic} has partitions {sorted(leaders)}")
            if len(set(leaders.values())) != want:
                raise ScenarioFailed(f"{topic} partitions are led by {leaders}, want {want} brokers")

    def group_split(self):
        """Two members of one group divide the partitions between them with no overlap."""
        topic = f"interop-{self.run}-{self.peer}-split"
        group = f"interop-{self.run}-{self.peer}-split"
        # Members that join before the topic's metadata reaches them first get nothing assigned
        # and must rejoin; kafka-python 3.0.12 once stayed stuck in that state. This scenario is
        # about the steady-state split, so the topic exists before anyone joins.
        self.create_and_await(topic)
        members = [SplitMember(self.client, group, topic, n) for n in (1, 2)]
        for member in members:
            member.start()
        try:
            deadline = deadline_after()
            while True:
                assignments = [m.assignment_snapshot() for m in members]
                errors = [m.error for m in members if m.error]
                if errors:
                    raise ScenarioFailed(f"member failed: {errors[0]}")
                if (
                    all(assignments)
                    and not (assignments[0] & assignments[1])
                    and assignments[0] | assignments[1] == set(range(PARTITIONS))
                ):
                    break
                if time.monotonic() > deadline:
                    raise ScenarioFailed(f"assignment never split: {assignments}")
                time.sleep(0.1)
            records = [
                Outgoing(p, b"split-%d-%d" % (p, n), b"v", [("n", struct.pack(">i", n))])
                for n in range(SPLIT_RECORDS_PER_PARTITION)
                for p in range(PARTITIONS)
            ]
            self.client.produce(topic, records)
            total = SPLIT_RECORDS_PER_PARTITION * PARTITIONS
            while sum(m.count() for m in members) < total:
                errors = [m.error for m in members if m.error]
                if errors:
                    raise ScenarioFailed(f"member failed: {errors[0]}")
                if time.monotonic() > deadline:
                    raise ScenarioFailed(
                        f"members saw {[m.count() for m in members]} of {total} records"
                    )
                time.sleep(0.1)
        finally:
            for member in members:
                member.stop()
        seen = [set(m.positions) for m in members]
        if seen[0] & seen[1]:
            raise ScenarioFailed(f"both members read {sorted(seen[0] & seen[1])[:5]}")
        if len(seen[0]) + len(seen[1]) != total:
            raise ScenarioFailed(f"{len(seen[0]) + len(seen[1])} distinct records, expected {total}")
        for n, member in enumerate(members):
            if member.foreign:
                raise ScenarioFailed(
                    f"member {n + 1} read partitions {sorted(member.foreign)} it did not own"
                )


class SplitMember(threading.Thread):
    """One group member polling on its own thread (clients are not shared across threads)."""

    def __init__(self, client, group, topic, number):
        super().__init__(name=f"member-{number}", daemon=True)
        self.client = client
        self.group = group
        self.topic = topic
        self.lock = threading.Lock()
        self.assigned = set()
        # Partitions this member got records from while they were not in its assignment.
        self.foreign = set()
        self.positions = []
        self.error = None
        self.stopping = threading.Event()

    def assignment_snapshot(self):
        with self.lock:
            return set(self.assigned)

    def count(self):
        with self.lock:
            return len(self.positions)

    def run(self):
        consumer = None
        try:
            consumer = self.client.consumer(self.group)
            consumer.subscribe(self.topic)
            while not self.stopping.is_set():
                batch = consumer.poll(0.2)
                assigned = consumer.assignment()
                with self.lock:
                    self.assigned = assigned
                    self.positions.extend((r.partition, r.offset) for r in batch)
                    # A poll hands out records only of partitions assigned once it returns.
                    self.foreign.update(r.partition for r in batch if r.partition not in assigned)
                if batch:
                    consumer.commit(self.topic, next_offsets(batch))
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.error = f"{type(error).__name__}: {error}"
        finally:
            if consumer is not None:
                consumer.close()

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


def main(client_factory):
    parser = argparse.ArgumentParser(description="interop peer")
    parser.add_argument("mode", choices=["own", "cross", "spread"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--run", required=True, help="run id: makes topic and group names unique")
    parser.add_argument(
        "--from", dest="producers", action="append", default=[],
        help="cross/spread mode: a producer whose topic to read or inspect (repeatable)",
    )
    parser.add_argument(
        "--brokers", type=int, default=1,
        help="spread mode: how many brokers the cluster has",
    )
    args = parser.parse_args()
    # Peer logs go to stderr, which run.sh keeps per peer; group membership at INFO explains a
    # failed group scenario after the fact.
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("kafka.coordinator").setLevel(logging.INFO)
    client = client_factory(args.bootstrap)
    scenarios = Scenarios(client, args.run)
    if args.mode == "own":
        scenarios.report("create-topic", scenarios.create_topic)
        scenarios.report("produce-1000", scenarios.produce)
        scenarios.report(
            "consume-verify",
            lambda: scenarios.consume_verify(client.name, f"interop-{args.run}-{client.name}-verify"),
        )
        scenarios.report("commit-resume", scenarios.commit_resume)
        scenarios.report("group-split", scenarios.group_split)
        scenarios.report("keyed-partitioning", scenarios.keyed_partitioning)
    elif args.mode == "spread":
        scenarios.report(
            "data-on-all-brokers", lambda: scenarios.data_on_all_brokers(args.producers, args.brokers)
        )
    else:
        for producer in args.producers:
            scenarios.report(
                f"consume-from-{producer}",
                lambda p=producer: scenarios.consume_verify(
                    p, f"interop-{args.run}-{client.name}-from-{p}"
                ),
            )
    client.close()
