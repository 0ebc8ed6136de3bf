//! Step 3: the expansion. The function is kept as written; next to it, one anonymous const holds
//! the adapter (extract each argument, call the function, convert its return value) and the
//! `inventory::submit!` of the listener's spec. Everything else lives in the runtime crate.

use crate::args::{ListenerArgs, Setting};
use crate::signature::Handler;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr};

pub(crate) fn generate(args: &ListenerArgs, handler: &Handler, function: &ItemFn) -> TokenStream {
    let private = quote!(::kafka_listener::__private);
    let (context, extract, kind, required) = if args.batch {
        let required = quote!(batch_state);
        (
            quote!(BatchContext),
            quote!(extract_batch),
            quote!(Batch),
            required,
        )
    } else {
        let required = quote!(record_state);
        (
            quote!(RecordContext),
            quote!(extract),
            quote!(Record),
            required,
        )
    };
    let fn_name = &handler.name;
    let bindings: Vec<_> = (0..handler.params.len())
        .map(|i| format_ident!("__arg{}", i))
        .collect();
    // Each extraction is spanned on its parameter's type, so a type that is not an extractor
    // is reported on that parameter (as axum's `debug_handler` does).
    let extractions = handler
        .params
        .iter()
        .zip(&bindings)
        .map(|(param, binding)| {
            let (ty, name) = (&param.ty, &param.name);
            match &param.header {
                Some(header) => quote_spanned! {ty.span()=>
                    let #binding = #private::header::<#ty>(&__ctx, #header, #name)?;
                },
                None => quote_spanned! {ty.span()=>
                    let #binding = #private::#extract::<#ty>(&__ctx, #name)?;
                },
            }
        });
    // The `State<T>` each extractor parameter needs (headers need none), for the start-up check.
    let required_state = handler
        .params
        .iter()
        .filter(|param| param.header.is_none())
        .map(|param| {
            let ty = &param.ty;
            quote!((&#private::StateProbe::<#ty>::new()).#required())
        });
    let required_count = handler.params.iter().filter(|p| p.header.is_none()).count();
    // Spanned on the return type, so an unsupported error type is reported there.
    let into_result = match &args.send_to {
        Some(send_to) => {
            let topic = optional(send_to.value.as_ref());
            quote_spanned! {handler.output_span=>
                #private::reply(&__ctx, #topic, __returned).await
            }
        }
        None => quote_spanned! {handler.output_span=>
            #private::into_result(__returned)
        },
    };
    let line = quote_spanned!(fn_name.span()=> ::core::line!());
    let fn_name_str = syn::ext::IdentExt::unraw(fn_name).to_string();
    let id = optional(args.id.as_ref());
    let topics = args.topics.iter().flat_map(|t| &t.value);
    let topic_pattern = optional(args.topic_pattern.as_ref().map(|p| &p.value));
    let partitions = args
        .partitions
        .iter()
        .flat_map(|p| &p.value)
        .map(|(n, _)| n);
    let group_id = optional(args.group_id.as_ref());
    let concurrency = setting(args.concurrency.as_ref().map(|(s, _)| s), &private);
    let auto_startup = setting(args.auto_startup.as_ref(), &private);
    let client_id_prefix = optional(args.client_id_prefix.as_ref());
    let ack_mode = optional(args.ack_mode.as_ref());
    let properties = args.properties.iter().map(|(k, v)| quote!((#k, #v)));
    let takes_acknowledgment = handler.acknowledgment.is_some();
    let parallelism = setting(args.parallelism.as_ref().map(|(s, _)| s), &private);
    let ordering = optional(args.ordering.as_ref());
    let retry_topic = match &args.retry_topic {
        Some(retry) => retry.to_tokens(&private),
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #function

        const _: () = {
            fn __kafka_listener_adapter(__ctx: #private::#context) -> #private::HandlerFuture {
                ::std::boxed::Box::pin(async move {
                    #(#extractions)*
                    let __returned = #fn_name(#(#bindings),*).await;
                    #into_result
                })
            }
            fn __kafka_listener_required_state() -> ::std::vec::Vec<#private::RequiredState> {
                #[allow(unused_imports)]
                use #private::{ProbeBatchState as _, ProbeOtherState as _, ProbeRecordState as _};
                let __required: [::core::option::Option<#private::RequiredState>; #required_count] =
                    [#(#required_state),*];
                __required.into_iter().flatten().collect()
            }
            #private::inventory::submit! {
                #private::ListenerSpec {
                    id: #id,
                    fn_name: #fn_name_str,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: #line,
                    topics: &[#(#topics),*],
                    topic_pattern: #topic_pattern,
                    partitions: &[#(#partitions),*],
                    group_id: #group_id,
                    concurrency: #concurrency,
                    auto_startup: #auto_startup,
                    client_id_prefix: #client_id_prefix,
                    ack_mode: #ack_mode,
                    properties: &[#(#properties),*],
                    takes_acknowledgment: #takes_acknowledgment,
                    parallelism: #parallelism,
                    ordering: #ordering,
                    retry_topic: #retry_topic,
                    required_state: __kafka_listener_required_state,
                    handler: #private::ListenerHandler::#kind(__kafka_listener_adapter),
                }
            }
        };
    }
}

fn optional(value: Option<&LitStr>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

fn setting<T: ToTokens>(value: Option<&Setting<T>>, private: &TokenStream) -> TokenStream {
    match value {
        Some(Setting::Literal(v)) => {
            quote!(::core::option::Option::Some(#private::SpecValue::Literal(#v)))
        }
        Some(Setting::Placeholder(p)) => {
            quote!(::core::option::Option::Some(#private::SpecValue::Placeholder(#p)))
        }
        None => quote!(::core::option::Option::None),
    }
}
