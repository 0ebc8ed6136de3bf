//! `retry_topic(attempts = 4, delay = "1s", multiplier = 2.0, max_delay = "10s", dlt = true)`:
//! parsed into [`RetryTopicArgs`]; the runtime fills its `RetryTopicSpec` from it and checks
//! the durations at start-up.

use crate::suggest::did_you_mean;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, Token};

const SETTINGS: &[&str] = &["attempts", "delay", "multiplier", "max_delay", "dlt"];

/// The `retry_topic(...)` settings as written; `None` takes `@RetryableTopic`'s default.
#[derive(Default)]
pub(crate) struct RetryTopicArgs {
    attempts: Option<u32>,
    delay: Option<syn::LitStr>,
    multiplier: Option<f64>,
    max_delay: Option<syn::LitStr>,
    dlt: Option<bool>,
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<RetryTopicArgs> {
    let settings = Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = RetryTopicArgs::default();
    let mut seen = Vec::new();
    for setting in settings {
        let name = setting
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let span = syn::spanned::Spanned::span(&setting.path);
        if !SETTINGS.contains(&name.as_str()) {
            return Err(syn::Error::new(
                span,
                format!(
                    "unknown retry_topic setting `{name}`{}; expected one of {}",
                    did_you_mean(&name, SETTINGS),
                    SETTINGS.join(", ")
                ),
            ));
        }
        if seen.contains(&name) {
            return Err(syn::Error::new(span, format!("`{name}` is given twice")));
        }
        seen.push(name.clone());
        let value = &setting.value;
        match (name.as_str(), literal(value)) {
            ("attempts", Some(Lit::Int(i))) => {
                let n: u32 = i.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new(
                        i.span(),
                        "`attempts` counts the first delivery: at least 1",
                    ));
                }
                args.attempts = Some(n);
            }
            ("delay", Some(Lit::Str(s))) => args.delay = Some(s.clone()),
            ("max_delay", Some(Lit::Str(s))) => args.max_delay = Some(s.clone()),
            ("multiplier", Some(Lit::Float(f))) => args.multiplier = Some(f.base10_parse()?),
            ("multiplier", Some(Lit::Int(i))) => {
                args.multiplier = Some(i.base10_parse::<u32>()? as f64)
            }
            ("dlt", Some(Lit::Bool(b))) => args.dlt = Some(b.value),
            (name, _) => {
                let expected = match name {
                    "attempts" => "a whole number (`attempts = 4`)",
                    "multiplier" => "a number (`multiplier = 2.0`)",
                    "dlt" => "`true` or `false`",
                    _ => "a duration string (`\"1s\"`, `\"500ms\"`, `\"PT2S\"`)",
                };
                return Err(syn::Error::new_spanned(
                    value,
                    format!("`{name}` expects {expected}"),
                ));
            }
        }
    }
    Ok(args)
}

fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(lit) => Some(&lit.lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

impl RetryTopicArgs {
    /// `::core::option::Option::Some(RetryTopicSpec { … })`.
    pub(crate) fn to_tokens(&self, private: &TokenStream) -> TokenStream {
        fn opt<T: quote::ToTokens>(value: &Option<T>) -> TokenStream {
            match value {
                Some(v) => quote!(::core::option::Option::Some(#v)),
                None => quote!(::core::option::Option::None),
            }
        }
        let attempts = opt(&self.attempts);
        let delay = opt(&self.delay);
        let multiplier = opt(&self
            .multiplier
            .map(|m| syn::LitFloat::new(&format!("{m:?}f64"), Span::call_site())));
        let max_delay = opt(&self.max_delay);
        let dlt = opt(&self.dlt);
        quote! {
            ::core::option::Option::Some(#private::RetryTopicSpec {
                attempts: #attempts,
                delay: #delay,
                multiplier: #multiplier,
                max_delay: #max_delay,
                dlt: #dlt,
            })
        }
    }
}
