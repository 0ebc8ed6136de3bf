#!/usr/bin/env python3
"""Interop peer on confluent-kafka (librdkafka): adapts it to interop_common's scenarios."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

import interop_common  # noqa: E402
from interop_common import Received, ScenarioFailed  # noqa: E402

TIMEOUT_S = 30.0


def security_settings():
    """librdkafka's security keys from the file KAFKA_LIBRDKAFKA_PROPERTIES names: the
    client-librdkafka.properties that deploy/local/kafka.sh and the secured embedded-broker write
    (run.sh sets it with --security); none when it is unset, i.e. PLAINTEXT."""
    path = os.environ.get("KAFKA_LIBRDKAFKA_PROPERTIES")
    if not path:
        return {}
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                key, _, value = line.partition("=")
                settings[key.strip()] = value.strip()
    return settings


SECURITY = security_settings()


def config(settings):
    """`settings` with the security keys added."""
    return {**settings, **SECURITY}


class ConfluentConsumer:
    def __init__(self, bootstrap, group):
        self.consumer = Consumer(
            config({
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": "interop-confluent-kafka",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 1000,
            })
        )

    def subscribe(self, topic):
        self.consumer.subscribe([topic])

    def poll(self, timeout_s):
        received = []
        for message in self.consumer.consume(num_messages=500, timeout=timeout_s):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(error)
            received.append(
                Received(
                    message.partition(),
                    message.offset(),
                    message.key(),
                    message.value(),
                    list(message.headers() or []),
                )
            )
        return received

    def assignment(self):
        return {tp.partition for tp in self.consumer.assignment()}

    def commit(self, topic, offsets):
        self.consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False
        )

    def committed(self, topic, partitions):
        result = self.consumer.committed(
            [TopicPartition(topic, p) for p in partitions], timeout=TIMEOUT_S
        )
        # librdkafka reports "no committed offset" as OFFSET_INVALID (-1001).
        return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in result}

    def close(self):
        self.consumer.close()


class ConfluentClient:
    name = "confluent-kafka"

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.admin = AdminClient(config({"bootstrap.servers": bootstrap, "client.id": "interop-confluent-kafka"}))
        self.producer = Producer(
            config({
                "bootstrap.servers": bootstrap,
                "client.id": "interop-confluent-kafka",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                # librdkafka's default (consistent_random, CRC32) places keys differently from
                # Java; murmur2_random is its documented Java-compatible partitioner.
                "partitioner": "murmur2_random",
            })
        )

    def create_topic(self, topic, partitions):
        futures = self.admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
            operation_timeout=TIMEOUT_S,
        )
        futures[topic].result(timeout=TIMEOUT_S)

    def partition_count(self, topic):
        metadata = self.admin.list_topics(topic=topic, timeout=TIMEOUT_S)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            return 0
        return len(described.partitions)

    def partition_leaders(self, topic):
        metadata = self.admin.list_topics(topic=topic, timeout=TIMEOUT_S)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            return {}
        return {p: info.leader for p, info in described.partitions.items()}

    def produce(self, topic, records):
        acks = [None] * len(records)
        errors = []

        def delivered(index):
            def callback(error, message):
                if error is not None:
                    errors.append(f"record {index}: {error}")
                else:
                    acks[index] = (message.partition(), message.offset())

            return callback

        for index, r in enumerate(records):
            while True:
                try:
                    placement = {} if r.partition is None else {"partition": r.partition}
                    self.producer.produce(
                        topic, value=r.value, key=r.key, headers=r.headers,
                        on_delivery=delivered(index), **placement,
                    )
                    break
                except BufferError:  # local queue full: let deliveries drain, then retry
                    self.producer.poll(0.1)
            self.producer.poll(0)
        remaining = self.producer.flush(TIMEOUT_S)
        if remaining:
            raise ScenarioFailed(f"{remaining} records still undelivered after {TIMEOUT_S}s")
        if errors:
            raise ScenarioFailed(errors[0])
        return acks

    def consumer(self, group):
        return ConfluentConsumer(self.bootstrap, group)

    def close(self):
        self.producer.flush(TIMEOUT_S)


def group_member(argv):
    """`group-member --bootstrap B --topic T --group G --sync DIR`: one confluent-kafka member of
    the mixed group judged by interop-listener-peer (its group_mixed.rs documents the files)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="confluent-kafka member of a mixed group")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--sync", required=True)
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args(argv)
    sync = args.sync
    deadline = time.monotonic() + args.timeout

    def path(name):
        return os.path.join(sync, name)

    def write_assignment(partitions):
        with open(path("peer.assignment.tmp"), "w") as f:
            f.write(" ".join(str(p) for p in sorted(partitions)))
        os.replace(path("peer.assignment.tmp"), path("peer.assignment"))

    try:
        while not os.path.exists(path("join")):
            if time.monotonic() > deadline:
                raise ScenarioFailed("the judge never wrote `join`")
            time.sleep(0.05)
        consumer = Consumer(
            config({
                "bootstrap.servers": args.bootstrap,
                "group.id": args.group,
                "client.id": "interop-confluent-kafka-member",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 1000,
                "partition.assignment.strategy": "range",
            })
        )
        consumer.subscribe([args.topic])
        owned = None
        with open(path("peer.consumed"), "a") as consumed:
            while not os.path.exists(path("leave")):
                if time.monotonic() > deadline:
                    raise ScenarioFailed(f"no `leave` within {args.timeout}s")
                messages = consumer.consume(num_messages=500, timeout=0.2)
                now_owned = {tp.partition for tp in consumer.assignment()}
                if now_owned != owned:
                    owned = now_owned
                    write_assignment(owned)
                positions = {}
                for message in messages:
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise KafkaException(error)
                    value = message.value().decode()
                    consumed.write(f"{message.partition()} {message.offset()} {value}\n")
                    positions[message.partition()] = message.offset() + 1
                consumed.flush()
                if positions:
                    consumer.commit(
                        offsets=[TopicPartition(args.topic, p, o) for p, o in positions.items()],
                        asynchronous=False,
                    )
        consumer.close()  # LeaveGroup
        write_assignment(set())
        open(path("peer.left"), "w").close()
    except Exception as e:  # the judge reports it
        with open(path("peer.error"), "w") as f:
            f.write(f"confluent-kafka member: {type(e).__name__}: {e}")
        raise


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "group-member":
        group_member(sys.argv[2:])
    else:
        interop_common.main(ConfluentClient)
