//! The expansion's shape, checked on `proc_macro2` tokens. The user-facing compile errors are
//! pinned by the trybuild cases in `tests/ui/`.

use crate::suggest::closest;
use quote::quote;

fn expand(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> syn::File {
    let tokens = crate::expand(attr, item);
    syn::parse2(tokens).expect("the expansion is valid Rust items")
}

#[test]
fn the_expansion_is_the_function_plus_one_const_with_the_adapter_the_state_list_and_one_submission()
{
    let file = expand(
        quote!(topics = "orders", group_id = "billing"),
        quote!(
            async fn on_order(order: Json<Order>, #[header("trace")] trace: Option<String>) {}
        ),
    );
    let [syn::Item::Fn(function), syn::Item::Const(registration)] = file.items.as_slice() else {
        panic!("expected the fn and one const, got {:#?}", file.items.len());
    };
    assert_eq!(function.sig.ident, "on_order");
    // `#[header]` is consumed by the macro; the rest of the signature is kept.
    assert!(function.sig.inputs.iter().all(|input| match input {
        syn::FnArg::Typed(t) => t.attrs.is_empty(),
        syn::FnArg::Receiver(_) => false,
    }));
    let syn::Expr::Block(block) = &*registration.expr else {
        panic!("the const holds a block");
    };
    let stmts = &block.block.stmts;
    assert_eq!(
        stmts.len(),
        3,
        "one adapter fn, one fn naming the State<T> types, one submit!"
    );
    let syn::Stmt::Item(syn::Item::Fn(adapter)) = &stmts[0] else {
        panic!("first the adapter fn");
    };
    let syn::Stmt::Item(syn::Item::Fn(required_state)) = &stmts[1] else {
        panic!("then the fn naming the state the listener takes");
    };
    assert_eq!(required_state.sig.ident, "__kafka_listener_required_state");
    let syn::Stmt::Macro(submit) = &stmts[2] else {
        panic!("then the submission");
    };
    let path: Vec<String> = submit
        .mac
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    assert_eq!(path, ["kafka_listener", "__private", "inventory", "submit"]);
    let adapter = quote!(#adapter).to_string();
    assert!(
        adapter.contains("__private :: extract :: < Json < Order > >"),
        "{adapter}"
    );
    assert!(
        adapter.contains("__private :: header :: < Option < String > >"),
        "{adapter}"
    );
    assert!(adapter.contains("RecordContext"), "{adapter}");
}

#[test]
fn every_runtime_item_is_reached_by_absolute_path() {
    let tokens = crate::expand(
        quote!(
            topics = ["a", "b"],
            group_id = "g",
            batch = true,
            concurrency = 2
        ),
        quote!(
            async fn on_batch(items: Vec<String>) -> Result<(), String> {
                Ok(())
            }
        ),
    )
    .to_string();
    assert!(
        tokens.contains(":: kafka_listener :: __private :: extract_batch"),
        "{tokens}"
    );
    assert!(tokens.contains("ListenerHandler :: Batch"), "{tokens}");
    assert!(tokens.contains("SpecValue :: Literal (2u32)"), "{tokens}");
    for runtime_name in [
        "ListenerSpec",
        "BatchContext",
        "HandlerFuture",
        "into_result",
    ] {
        for occurrence in tokens.match_indices(runtime_name) {
            let before = &tokens[..occurrence.0];
            assert!(
                before.ends_with(":: kafka_listener :: __private :: "),
                "`{runtime_name}` must be reached through ::kafka_listener::__private: {tokens}"
            );
        }
    }
}

#[test]
fn errors_keep_the_function_so_callers_do_not_get_extra_errors() {
    let tokens = crate::expand(
        quote!(topics = "a", topic_pattern = "b", groupid = "g"),
        quote!(
            fn on_order(order: String) {}
        ),
    )
    .to_string();
    assert!(tokens.contains("fn on_order"), "{tokens}");
    // Both problems are reported: the unknown attribute and the missing async. (The
    // topics/pattern conflict waits until every attribute is understood.)
    assert_eq!(tokens.matches("compile_error").count(), 2, "{tokens}");
    assert!(!tokens.contains("inventory"), "{tokens}");
}

#[test]
fn did_you_mean_finds_snake_case_camel_case_and_typos() {
    let names = [
        "topics",
        "topic_pattern",
        "group_id",
        "concurrency",
        "ack_mode",
    ];
    assert_eq!(closest("groupId", &names), Some("group_id"));
    assert_eq!(closest("topic", &names), Some("topics"));
    assert_eq!(closest("topicPattern", &names), Some("topic_pattern"));
    assert_eq!(closest("concurency", &names), Some("concurrency"));
    assert_eq!(closest("ackMode", &names), Some("ack_mode"));
    assert_eq!(closest("zzz", &names), None);
    let modes = ["RECORD", "MANUAL", "MANUAL_IMMEDIATE", "COUNT_TIME"];
    assert_eq!(closest("MANUAL_IMEDIATE", &modes), Some("MANUAL_IMMEDIATE"));
    assert_eq!(closest("COUNTTIME", &modes), Some("COUNT_TIME"));
}

#[test]
fn retry_topic_fills_the_spec_and_leaves_unset_settings_to_the_runtime() {
    let tokens = crate::expand(
        quote!(
            topics = "orders",
            group_id = "g",
            retry_topic(attempts = 4, delay = "1s", multiplier = 2.0, dlt = false)
        ),
        quote!(
            async fn on_order(order: String) {}
        ),
    )
    .to_string();
    assert!(tokens.contains("retry_topic : :: core :: option :: Option :: Some (:: kafka_listener :: __private :: RetryTopicSpec"), "{tokens}");
    assert!(
        tokens.contains("attempts : :: core :: option :: Option :: Some (4u32)"),
        "{tokens}"
    );
    assert!(
        tokens.contains("multiplier : :: core :: option :: Option :: Some (2.0f64)"),
        "{tokens}"
    );
    assert!(
        tokens.contains("max_delay : :: core :: option :: Option :: None"),
        "{tokens}"
    );
    let bare = crate::expand(
        quote!(topics = "orders", group_id = "g", retry_topic),
        quote!(
            async fn on_order(order: String) {}
        ),
    )
    .to_string();
    assert!(
        bare.contains("RetryTopicSpec { attempts : :: core :: option :: Option :: None"),
        "{bare}"
    );
}

#[test]
fn retry_topic_settings_are_checked_with_a_suggestion() {
    for (attr, expected) in [
        (quote!(retry_topic(attemps = 3)), "did you mean `attempts`"),
        (quote!(retry_topic(attempts = 0)), "at least 1"),
        (quote!(retry_topic(delay = 5)), "expects a duration string"),
        (quote!(retry_topic(dlt = "yes")), "`true` or `false`"),
    ] {
        let tokens = crate::expand(
            quote!(topics = "orders", group_id = "g", #attr),
            quote!(
                async fn on_order(order: String) {}
            ),
        )
        .to_string();
        assert!(tokens.contains("compile_error"), "{tokens}");
        assert!(tokens.contains(expected), "{expected}: {tokens}");
    }
}

#[test]
fn send_to_sends_the_result_as_the_reply_instead_of_converting_it() {
    let adapter_of = |attr| {
        let file = expand(
            attr,
            quote!(
                async fn on_request(request: String) -> Result<String, String> {
                    Ok(request)
                }
            ),
        );
        let syn::Item::Const(registration) = &file.items[1] else {
            panic!("the const follows the fn");
        };
        quote!(#registration).to_string()
    };
    let explicit = adapter_of(quote!(
        topics = "requests",
        group_id = "g",
        send_to = "replies"
    ));
    assert!(
        explicit.contains(
            "__private :: reply (& __ctx , :: core :: option :: Option :: Some (\"replies\") , __returned) . await"
        ),
        "{explicit}"
    );
    assert!(!explicit.contains("into_result"), "{explicit}");
    let bare = adapter_of(quote!(topics = "requests", group_id = "g", send_to));
    assert!(
        bare.contains(
            "__private :: reply (& __ctx , :: core :: option :: Option :: None , __returned)"
        ),
        "{bare}"
    );
    let plain = adapter_of(quote!(topics = "requests", group_id = "g"));
    assert!(plain.contains("into_result (__returned)"), "{plain}");
}
