//! Step 1: the attribute's arguments, parsed into a typed [`ListenerArgs`] and then checked as a
//! whole (conflicts, missing topics, ack modes) in [`check`].

mod check;
mod retry_topic;

pub(crate) use check::check_acknowledgment;

use crate::suggest::did_you_mean;
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token, UnOp};

/// The attribute names `#[kafka_listener]` accepts.
const ATTRIBUTES: &[&str] = &[
    "topics",
    "topic_pattern",
    "partitions",
    "id",
    "group_id",
    "concurrency",
    "auto_startup",
    "batch",
    "client_id_prefix",
    "ack_mode",
    "properties",
    "parallelism",
    "ordering",
    "retry_topic",
    "send_to",
];

/// A setting written as a literal or as a `${…}` placeholder resolved by the runtime.
pub(crate) enum Setting<T> {
    Literal(T),
    Placeholder(LitStr),
}

/// A value together with the attribute name it was given under, for spans on conflicts.
pub(crate) struct Named<T> {
    pub name: Ident,
    pub value: T,
}

/// `#[kafka_listener(...)]`'s arguments, typed.
#[derive(Default)]
pub(crate) struct ListenerArgs {
    pub id: Option<LitStr>,
    pub topics: Option<Named<Vec<LitStr>>>,
    pub topic_pattern: Option<Named<LitStr>>,
    pub partitions: Option<Named<Vec<(i32, Span)>>>,
    pub group_id: Option<LitStr>,
    /// The setting and the span of its value.
    pub concurrency: Option<(Setting<u32>, Span)>,
    pub auto_startup: Option<Setting<bool>>,
    pub batch: bool,
    pub client_id_prefix: Option<LitStr>,
    pub ack_mode: Option<LitStr>,
    pub properties: Vec<(String, String)>,
    /// Records of one partition handled at once, and the span of its value.
    pub parallelism: Option<(Setting<u32>, Span)>,
    /// `key`, `partition` or `unordered` (or a placeholder).
    pub ordering: Option<LitStr>,
    /// `send_to = "topic"`, or bare `send_to` (reply to the request's `kafka_replyTopic`).
    pub send_to: Option<Named<Option<LitStr>>>,
    /// Where `properties(...)` was written.
    pub properties_span: Option<Span>,
    /// `retry_topic(...)` or a bare `retry_topic` (all defaults).
    pub retry_topic: Option<retry_topic::RetryTopicArgs>,
    /// Where `retry_topic` was written, for errors.
    pub retry_topic_span: Option<proc_macro2::Span>,
    /// Which attribute names were given, to reject duplicates.
    seen: Vec<String>,
}

/// One `name = value`, `name(...)` or bare `name` as written.
struct RawArg {
    name: Ident,
    value: RawValue,
}

enum RawValue {
    Flag,
    Expr(Expr),
    List(TokenStream),
}

impl Parse for RawArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Expr(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            RawValue::List(content.parse()?)
        } else {
            RawValue::Flag
        };
        Ok(RawArg { name, value })
    }
}

/// Parses and checks the attribute's arguments; every problem found is in the error.
pub(crate) fn parse(attr: TokenStream) -> syn::Result<ListenerArgs> {
    let raw = Punctuated::<RawArg, Token![,]>::parse_terminated.parse2(attr)?;
    let mut args = ListenerArgs::default();
    let mut errors = Errors::default();
    for arg in raw {
        errors.check(args.assign(arg));
    }
    // Whole-attribute checks only make sense once every argument was understood: after a
    // misspelled `topic`, "needs topics" would only repeat the first error.
    if errors.0.is_none() {
        errors.check(check::check(&args));
    }
    errors.finish(args)
}

/// Collects errors so the user sees all of them at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn check(&mut self, result: syn::Result<()>) {
        if let Err(error) = result {
            self.push(error);
        }
    }

    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

impl ListenerArgs {
    fn assign(&mut self, arg: RawArg) -> syn::Result<()> {
        let name = arg.name.unraw().to_string();
        if !ATTRIBUTES.contains(&name.as_str()) {
            return Err(syn::Error::new(
                arg.name.span(),
                format!(
                    "unknown #[kafka_listener] attribute `{name}`{}",
                    did_you_mean(&name, ATTRIBUTES)
                ),
            ));
        }
        if self.seen.contains(&name) {
            return Err(syn::Error::new(
                arg.name.span(),
                format!("`{name}` is given twice: keep one"),
            ));
        }
        self.seen.push(name.clone());
        if name == "properties" {
            self.properties = match arg.value {
                RawValue::List(tokens) => {
                    self.properties_span = Some(arg.name.span());
                    parse_properties(tokens)?
                }
                _ => return Err(syn::Error::new(arg.name.span(), PROPERTIES_SYNTAX)),
            };
            return Ok(());
        }
        if name == "retry_topic" {
            self.retry_topic_span = Some(arg.name.span());
            self.retry_topic = Some(match arg.value {
                RawValue::List(tokens) => retry_topic::parse(tokens)?,
                RawValue::Flag => Default::default(),
                RawValue::Expr(_) => {
                    let hint =
                        "expected `retry_topic` or `retry_topic(attempts = 4, delay = \"1s\", …)`";
                    return Err(syn::Error::new(arg.name.span(), hint));
                }
            });
            return Ok(());
        }
        if name == "send_to" {
            let topic = match arg.value {
                RawValue::Flag => None,
                RawValue::Expr(expr) => Some(string(&expr)?),
                RawValue::List(_) => return Err(syn::Error::new(arg.name.span(), SEND_TO_SYNTAX)),
            };
            self.send_to = Some(Named {
                name: arg.name,
                value: topic,
            });
            return Ok(());
        }
        if name == "batch" {
            if let RawValue::Flag = arg.value {
                self.batch = true;
                return Ok(());
            }
        }
        let value = match arg.value {
            RawValue::Expr(expr) => expr,
            _ => {
                return Err(syn::Error::new(
                    arg.name.span(),
                    format!("expected `{name} = …`"),
                ))
            }
        };
        fn named<T>(name: &Ident, value: T) -> Named<T> {
            Named {
                name: name.clone(),
                value,
            }
        }
        let n = &arg.name;
        match name.as_str() {
            "topics" => self.topics = Some(named(n, string_list(&value)?)),
            "topic_pattern" => self.topic_pattern = Some(named(n, string(&value)?)),
            "partitions" => self.partitions = Some(named(n, int_list(&value)?)),
            "id" => self.id = Some(string(&value)?),
            "group_id" => self.group_id = Some(string(&value)?),
            "client_id_prefix" => self.client_id_prefix = Some(string(&value)?),
            "ack_mode" => self.ack_mode = Some(string(&value)?),
            "concurrency" => self.concurrency = Some((concurrency(&value)?, value.span())),
            "parallelism" => self.parallelism = Some((concurrency(&value)?, value.span())),
            "ordering" => self.ordering = Some(ordering(&value)?),
            "auto_startup" => self.auto_startup = Some(boolean(&value)?),
            "batch" => match literal(&value) {
                Some(Lit::Bool(b)) => self.batch = b.value,
                _ => return Err(syn::Error::new_spanned(
                    value,
                    "`batch` decides the handler's shape at compile time: write `batch = true` \
                         or `batch = false` (no placeholder)",
                )),
            },
            _ => unreachable!("every name in ATTRIBUTES is handled"),
        }
        Ok(())
    }
}

const SEND_TO_SYNTAX: &str = "expected `send_to = \"reply-topic\"`, or a bare `send_to` to reply \
     to the request's kafka_replyTopic header";

const PROPERTIES_SYNTAX: &str =
    "expected `properties(\"max.poll.records\" = \"100\", …)`: Kafka property names as strings";

fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

fn string(expr: &Expr) -> syn::Result<LitStr> {
    match literal(expr) {
        Some(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(expr, "expected a string literal")),
    }
}

fn string_list(expr: &Expr) -> syn::Result<Vec<LitStr>> {
    match expr {
        Expr::Array(array) => array.elems.iter().map(string).collect(),
        _ => match literal(expr) {
            Some(Lit::Str(s)) => Ok(vec![s.clone()]),
            _ => Err(syn::Error::new_spanned(
                expr,
                "expected a string or a list of strings: `\"orders\"` or `[\"orders\", \"refunds\"]`",
            )),
        },
    }
}

fn int(expr: &Expr) -> syn::Result<(i32, Span)> {
    let (negative, inner) = match expr {
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => (true, &*unary.expr),
        _ => (false, expr),
    };
    match literal(inner) {
        Some(Lit::Int(i)) => {
            let value: i32 = i.base10_parse()?;
            Ok((if negative { -value } else { value }, i.span()))
        }
        _ => Err(syn::Error::new_spanned(expr, "expected a partition number")),
    }
}

fn int_list(expr: &Expr) -> syn::Result<Vec<(i32, Span)>> {
    match expr {
        Expr::Array(array) => array.elems.iter().map(int).collect(),
        _ => Ok(vec![int(expr)?]),
    }
}

fn placeholder(s: &LitStr, expected: &str) -> syn::Result<LitStr> {
    if s.value().contains("${") {
        Ok(s.clone())
    } else {
        Err(syn::Error::new(
            s.span(),
            format!("expected {expected} or a `\"${{…}}\"` placeholder"),
        ))
    }
}

fn concurrency(expr: &Expr) -> syn::Result<Setting<u32>> {
    match literal(expr) {
        Some(Lit::Int(i)) => Ok(Setting::Literal(i.base10_parse()?)),
        Some(Lit::Str(s)) => match s.value().trim().parse() {
            Ok(n) => Ok(Setting::Literal(n)),
            Err(_) => Ok(Setting::Placeholder(placeholder(s, "a number")?)),
        },
        _ => Err(syn::Error::new_spanned(
            expr,
            "expected a number or a `\"${…}\"` placeholder",
        )),
    }
}

/// The orderings `ordering = "…"` accepts (checked again at run time for placeholders).
const ORDERINGS: &[&str] = &["key", "partition", "unordered"];

fn ordering(expr: &Expr) -> syn::Result<LitStr> {
    let written = string(expr)?;
    let value = written.value();
    if value.contains("${") || ORDERINGS.contains(&value.trim().to_ascii_lowercase().as_str()) {
        return Ok(written);
    }
    Err(syn::Error::new(
        written.span(),
        format!(
            "unknown ordering `{value}`: expected one of {}{}",
            ORDERINGS.join(", "),
            did_you_mean(&value, ORDERINGS)
        ),
    ))
}

fn boolean(expr: &Expr) -> syn::Result<Setting<bool>> {
    match literal(expr) {
        Some(Lit::Bool(b)) => Ok(Setting::Literal(b.value)),
        Some(Lit::Str(s)) => match s.value().trim() {
            "true" => Ok(Setting::Literal(true)),
            "false" => Ok(Setting::Literal(false)),
            _ => Ok(Setting::Placeholder(placeholder(s, "`true`, `false`")?)),
        },
        _ => Err(syn::Error::new_spanned(
            expr,
            "expected `true`, `false` or a `\"${…}\"` placeholder",
        )),
    }
}

/// `properties("max.poll.records" = "100", "fetch.min.bytes" = 1)`.
fn parse_properties(tokens: TokenStream) -> syn::Result<Vec<(String, String)>> {
    struct Property(String, String);
    impl Parse for Property {
        fn parse(input: ParseStream) -> syn::Result<Self> {
            let key: LitStr = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), PROPERTIES_SYNTAX))?;
            if key.value().trim().is_empty() {
                return Err(syn::Error::new(
                    key.span(),
                    "a property name cannot be empty",
                ));
            }
            input.parse::<Token![=]>()?;
            let value: Lit = input.parse()?;
            let value = match value {
                Lit::Str(s) => s.value(),
                Lit::Int(i) => i.base10_digits().to_owned(),
                Lit::Bool(b) => b.value.to_string(),
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "expected a string, number or boolean property value",
                    ))
                }
            };
            Ok(Property(key.value(), value))
        }
    }
    let properties = Punctuated::<Property, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(properties.into_iter().map(|p| (p.0, p.1)).collect())
}
