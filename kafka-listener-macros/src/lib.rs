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

/// Declares an `async fn` as a Kafka listener. See the `kafka_listener` crate's documentation
/// for the attributes and the parameter types a listener can take.
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
                "#[kafka_listener] goes on an `async fn` declared at module level",
            );
            let error = error.to_compile_error();
            return quote::quote!(#error #item);
        }
    };
    let args = args::parse(attr);
    let handler = signature::analyze(&mut function, args.as_ref().ok().map(|a| a.batch));
    match (args, handler) {
        (Ok(args), Ok(handler)) => codegen::generate(&args, &handler, &function),
        (args, handler) => {
            let mut errors = Vec::new();
            errors.extend(args.err());
            errors.extend(handler.err());
            let error = errors
                .into_iter()
                .reduce(|mut all, e| {
                    all.combine(e);
                    all
                })
                .expect("at least one of the two failed");
            let compile_errors = error.to_compile_error();
            // Keep the function so that code calling it does not add errors of its own.
            quote::quote!(#compile_errors #function)
        }
    }
}
