//! The classic consumer-group protocol on `kafka-protocol`.
