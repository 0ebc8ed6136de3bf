//! Handler arguments: the `FromRecord` extractor trait and its implementations.
