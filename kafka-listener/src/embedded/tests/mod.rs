//! Tests of the broker as a whole: bad input on the wire, the request decoder under mutated
//! input, several brokers.

mod acks;
mod bad_input;
mod coordinator_timers;
mod decoder_mutations;
mod every_version_answers;
mod multi_broker;
mod request_seeds;
mod settings_and_helpers;
