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


class ConfluentConsumer:
    def __init__(self, bootstrap, group):
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": "interop-confluent-kafka",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 1000,
            }
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
        self.admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "interop-confluent-kafka"})
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "interop-confluent-kafka",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                # librdkafka's default (consistent_random, CRC32) places keys differently from
                # Java; murmur2_random is its documented Java-compatible partitioner.
                "partitioner": "murmur2_random",
            }
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


if __name__ == "__main__":
    interop_common.main(ConfluentClient)
