#!/usr/bin/env python3
"""Interop peer on kafka-python (pure-Python client): adapts it to interop_common's scenarios."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

import interop_common  # noqa: E402
from interop_common import Received  # noqa: E402

REQUEST_TIMEOUT_MS = 30000


def security_settings():
    """kafka-python's security arguments from the KAFKA_* variables of the client.env that
    deploy/local/kafka.sh and the secured embedded-broker write (run.sh exports them with
    --security); none when KAFKA_SECURITY_PROTOCOL is unset, i.e. PLAINTEXT."""
    env = os.environ
    protocol = env.get("KAFKA_SECURITY_PROTOCOL")
    if not protocol:
        return {}
    settings = {"security_protocol": protocol}
    if "SASL" in protocol:
        settings.update(
            sasl_mechanism=env["KAFKA_SASL_MECHANISM"],
            sasl_plain_username=env["KAFKA_SASL_USERNAME"],
            sasl_plain_password=env["KAFKA_SASL_PASSWORD"],
        )
    if "SSL" in protocol:
        settings.update(ssl_cafile=env["KAFKA_SSL_CAFILE"], ssl_check_hostname=True)
        if env.get("KAFKA_SSL_CERTFILE"):
            settings.update(ssl_certfile=env["KAFKA_SSL_CERTFILE"], ssl_keyfile=env["KAFKA_SSL_KEYFILE"])
    return settings


SECURITY = security_settings()


class KafkaPythonConsumer:
    def __init__(self, bootstrap, group):
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id="interop-kafka-python",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
            **SECURITY,
        )

    def subscribe(self, topic):
        # Fetch the topic's metadata before joining. Without it the leader's first assignment
        # has no partitions to give, and the rejoin that follows once metadata arrives is where
        # kafka-python 3.0.12's leader sometimes hangs after sending SyncGroup: it stops
        # heartbeating, is evicted, and the other member ends up with every partition (seen in
        # group-split on 3-broker Kafka 4.4, 2 runs of 2; never when metadata came first).
        self.consumer.partitions_for_topic(topic)
        self.consumer.subscribe([topic])

    def poll(self, timeout_s):
        batches = self.consumer.poll(timeout_ms=int(timeout_s * 1000))
        return [
            Received(r.partition, r.offset, r.key, r.value, [(k, v) for k, v in r.headers])
            for tp in sorted(batches, key=lambda tp: tp.partition)
            for r in batches[tp]
        ]

    def assignment(self):
        return {tp.partition for tp in self.consumer.assignment()}

    def commit(self, topic, offsets):
        self.consumer.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
        )

    def committed(self, topic, partitions):
        return {p: self.consumer.committed(TopicPartition(topic, p)) for p in partitions}

    def close(self):
        self.consumer.close()


class KafkaPythonClient:
    name = "kafka-python"

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, client_id="interop-kafka-python", **SECURITY
        )
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="interop-kafka-python",
            acks="all",
            linger_ms=5,
            request_timeout_ms=REQUEST_TIMEOUT_MS,
            **SECURITY,
        )

    def create_topic(self, topic, partitions):
        self.admin.create_topics(
            [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)],
            timeout_ms=REQUEST_TIMEOUT_MS,
        )

    def partition_count(self, topic):
        described = self.admin.describe_topics([topic])
        return len(described[0]["partitions"]) if described else 0

    def partition_leaders(self, topic):
        described = self.admin.describe_topics([topic])
        return {p["partition_index"]: p["leader_id"] for p in described[0]["partitions"]} if described else {}

    def produce(self, topic, records):
        futures = [
            self.producer.send(topic, value=r.value, key=r.key, headers=r.headers, partition=r.partition)
            for r in records
        ]
        self.producer.flush()
        acks = []
        for future in futures:
            metadata = future.get(timeout=REQUEST_TIMEOUT_MS / 1000)
            acks.append((metadata.partition, metadata.offset))
        return acks

    def consumer(self, group):
        return KafkaPythonConsumer(self.bootstrap, group)

    def close(self):
        self.producer.close()
        self.admin.close()


if __name__ == "__main__":
    interop_common.main(KafkaPythonClient)
