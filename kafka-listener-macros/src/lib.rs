//! The `#[kafka_listener]` attribute macro. It stays thin: it checks the handler's shape, emits one
//! `inventory::submit!` of a listener spec and an adapter, and calls into
//! `::kafka_listener::__private` for everything else.
//!
//! The work happens in three steps, each in its own module: [`args`] parses the attribute into a
//! typed [`args::ListenerArgs`] and checks it, [`signature`] checks the function and classifies
//! its parameters, [`codegen`] writes the expansion. Every error is a `syn::Error` spanned on the
//! offending token; all errors found are reported together.

use proc_macro::TokenStream;

mod args;
mod codegen;
mod signature;
mod suggest;

/// Declares an `async fn` as a Kafka listener (Spring's `@KafkaListener`).
///
/// ```
/// use kafka_listener::{kafka_listener, Acknowledgment, Json, Key};
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
///
/// #[kafka_listener(topics = ["orders"], group_id = "billing", ack_mode = "MANUAL")]
/// async fn on_order(order: Json<Order>, key: Key<String>, ack: Acknowledgment)
///     -> Result<(), std::io::Error>
/// {
///     println!("order {} for {}", order.id, *key);
///     ack.acknowledge();
///     Ok(())
/// }
/// ```
///
/// # Attributes
///
/// | attribute | value | Spring |
/// |---|---|---|
/// | `topics` | `"a"` or `["a", "b"]` | `topics` |
/// | `topic_pattern` | `"regex"` (not with `topics`) | `topicPattern` |
/// | `partitions` | `[0, 2]`: manual assignment of each listed topic, no group needed | `topicPartitions` |
/// | `id` | listener id (default: the fn name); also the group id when `group_id` is absent | `id`, `idIsGroup` |
/// | `group_id` | consumer group (overrides `spring.kafka.consumer.group-id`) | `groupId` |
/// | `concurrency` | `3` or `"${…}"` | `concurrency` |
/// | `auto_startup` | `true`/`false` or `"${…}"` | `autoStartup` |
/// | `batch` | `true`/`false` (or bare `batch`): one call per poll | `batch` |
/// | `client_id_prefix` | prefix of the consumers' `client.id` | `clientIdPrefix` |
/// | `ack_mode` | one of RECORD, BATCH, TIME, COUNT, COUNT_TIME, MANUAL, MANUAL_IMMEDIATE | container `ackMode` |
/// | `properties` | `("max.poll.records" = "10", …)` | `properties` |
/// | `parallelism` | `64` or `"${…}"`: records of one partition handled at once (default 1) | — (Confluent Parallel Consumer's `maxConcurrency`) |
/// | `ordering` | `"key"` (default), `"partition"` or `"unordered"`: which records may overtake which | — (Parallel Consumer's `ordering`) |
///
/// String values may hold `${placeholder}`s; the spec keeps them raw and the runtime resolves
/// them from the configuration at start.
///
/// # Parameters and return type
///
/// Each parameter's type must implement `kafka_listener::extract::FromRecord` (record
/// listeners) or `FromBatch` (batch listeners); `#[header("name")] v: Option<String>` reads one
/// header. The function returns `()` or `Result<T, E>` with `E` convertible into
/// `Box<dyn Error + Send + Sync>`; an `Err` goes to the error handler. The function stays
/// callable as written.
#[proc_macro_attribute]
pub fn kafka_listener(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr.into(), item.into()).into()
}

/// The whole expansion on `proc_macro2` tokens, so unit tests can run it.
fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[kafka_listener] goes on an `async fn`, not on this item",
            );
            let error = error.to_compile_error();
            return quote::quote!(#error #item);
        }
    };
    let args = args::parse(attr);
    let handler = signature::analyze(&mut function, args.as_ref().ok().map(|a| a.batch));
    let consistent = match (&args, &handler) {
        (Ok(args), Ok(handler)) => args::check_acknowledgment(args, handler.acknowledgment),
        _ => Ok(()),
    };
    match (args, handler, consistent) {
        (Ok(args), Ok(handler), Ok(())) => codegen::generate(&args, &handler, &function),
        (args, handler, consistent) => {
            let mut errors = Vec::new();
            errors.extend(args.err());
            errors.extend(handler.err());
            errors.extend(consistent.err());
            let error = errors
                .into_iter()
                .reduce(|mut all, e| {
                    all.combine(e);
                    all
                })
                .expect("at least one step failed");
            let compile_errors = error.to_compile_error();
            // Keep the function so that code calling it does not add errors of its own.
            quote::quote!(#compile_errors #function)
        }
    }
}

#[cfg(test)]
mod tests;
