//! An in-process, wire-level Kafka broker for tests.
