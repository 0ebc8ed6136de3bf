//! Every `#[kafka_listener]` function in the binary, collected at link time with `inventory`:
//! listing ([`all`]), lookup by id ([`find`]) and start-up validation ([`validate`]).
//!
//! ```
//! use kafka_listener::{kafka_listener, registry};
//!
//! #[kafka_listener(id = "doc-orders", topics = "orders", group_id = "billing")]
//! async fn on_order(order: String) {
//!     println!("{order}");
//! }
//!
//! let spec = registry::find("doc-orders").expect("registered by the macro");
//! assert_eq!(spec.fn_name, "on_order");
//! assert_eq!(spec.topics, ["orders"]);
//! assert!(registry::validate(&registry::all(), &Default::default()).is_ok());
//! ```

mod handler;
mod spec;
mod validate;

#[cfg(test)]
pub(crate) mod tests;

pub use handler::{
    BatchHandler, HandlerError, HandlerFuture, IntoHandlerResult, ListenerHandler, RecordHandler,
};
pub use spec::{ListenerLocation, ListenerSpec, SpecValue};
pub use validate::{
    canonical_ack_mode, validate, ListenerDefaults, ListenerSpecError, ValidationErrors,
};

inventory::collect!(ListenerSpec);

/// Every registered listener, ordered by id (then source location) so start-up is deterministic.
pub fn all() -> Vec<&'static ListenerSpec> {
    let mut specs: Vec<&'static ListenerSpec> =
        inventory::iter::<ListenerSpec>.into_iter().collect();
    specs.sort_by_key(|s| (s.id(), s.file, s.line));
    specs
}

/// The registered listener with this id (its `id` attribute, or its function's name).
pub fn find(id: &str) -> Option<&'static ListenerSpec> {
    inventory::iter::<ListenerSpec>
        .into_iter()
        .find(|spec| spec.id() == id)
}
