//! Step 2: the function's shape (async, not generic, no `self`, a supported return type) and its
//! parameters, classified so the obvious mistakes get a precise error before type checking.
//! Whether a parameter type really is an extractor is left to the trait bounds the generated
//! code puts on it, spanned on that parameter.

use crate::args::Errors;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, LitStr, Pat, PathArguments, ReturnType, Type};

/// One parameter of the listener function.
pub(crate) struct Param {
    /// The name used in error values: the binding's name, or `#n` for a pattern.
    pub name: String,
    pub ty: Type,
    /// `#[header("name")]`: read this header instead of extracting the type from the record.
    pub header: Option<LitStr>,
}

/// The function as the code generator needs it.
pub(crate) struct Handler {
    pub name: Ident,
    pub params: Vec<Param>,
    /// Span of the return type, for the error when it is not `()` or `Result`.
    pub output_span: Span,
    /// Span of the `Acknowledgment` / `BatchAcknowledgment` parameter's type, if any.
    pub acknowledgment: Option<Span>,
}

/// Checks `function` and removes the `#[header]` attributes from its parameters (the function is
/// emitted as written otherwise). `batch` is `None` when the attribute itself did not parse.
pub(crate) fn analyze(function: &mut ItemFn, batch: Option<bool>) -> syn::Result<Handler> {
    let mut errors = Errors::default();
    let sig = &mut function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            "#[kafka_listener] functions must be `async fn`: add `async` before `fn`",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "#[kafka_listener] functions cannot be generic: the generated adapter must name each \
             parameter's concrete type",
        ));
    }
    let output_span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => {
            if !is_supported_return(ty) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "a listener returns `()` or `Result<T, E>`; an `Err` goes to the error handler",
                ));
            }
            ty.span()
        }
    };
    let mut params = Vec::new();
    let mut acknowledgment: Option<(String, Span)> = None;
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                errors.push(syn::Error::new_spanned(
                    receiver,
                    "#[kafka_listener] goes on free functions: there is no `self` to call it on; \
                     move the function out of the `impl` block",
                ));
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        let name = match &*typed.pat {
            Pat::Ident(ident) => ident.ident.unraw_name(),
            _ => format!("#{index}"),
        };
        let header = match take_header_attribute(&mut typed.attrs) {
            Ok(header) => header,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let ty = (*typed.ty).clone();
        if let Type::ImplTrait(_) = ty {
            errors.push(syn::Error::new_spanned(
                &ty,
                "`impl Trait` makes the listener generic: name the parameter's concrete type",
            ));
        }
        if is_acknowledgment(&ty) {
            if let Some((first, _)) = &acknowledgment {
                errors.push(syn::Error::new_spanned(
                    &ty,
                    format!(
                        "this listener already takes an acknowledgment (`{first}`): a listener \
                         takes at most one"
                    ),
                ));
            }
            acknowledgment.get_or_insert((name.clone(), ty.span()));
        }
        if let Some(batch) = batch {
            if let Err(e) = check_shape(&ty, header.as_ref(), batch) {
                errors.push(e);
            }
        }
        params.push(Param { name, ty, header });
    }
    errors.finish(Handler {
        name: sig.ident.clone(),
        params,
        output_span,
        acknowledgment: acknowledgment.map(|(_, span)| span),
    })
}

trait UnrawName {
    fn unraw_name(&self) -> String;
}

impl UnrawName for Ident {
    fn unraw_name(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}

/// Removes `#[header("name")]` from a parameter's attributes and returns the name.
fn take_header_attribute(attrs: &mut Vec<syn::Attribute>) -> syn::Result<Option<LitStr>> {
    let mut header = None;
    let mut result = Ok(());
    attrs.retain(|attr| {
        if !attr.path().is_ident("header") {
            return true;
        }
        match attr.parse_args::<LitStr>() {
            Ok(name) if !name.value().is_empty() && header.is_none() => header = Some(name),
            Ok(name) if header.is_some() => {
                result = Err(syn::Error::new(name.span(), "a parameter reads one header"));
            }
            _ => {
                result = Err(syn::Error::new_spanned(
                    attr,
                    "expected `#[header(\"header-name\")]`",
                ))
            }
        }
        false
    });
    result.map(|()| header)
}

/// The last path segment of a type: `Json` for `kafka_listener::Json<Order>`.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        Type::Paren(inner) => last_segment(&inner.elem),
        Type::Group(inner) => last_segment(&inner.elem),
        _ => None,
    }
}

fn segment_is(ty: &Type, names: &[&str]) -> bool {
    last_segment(ty).is_some_and(|s| names.iter().any(|n| s.ident == n))
}

fn first_type_argument(ty: &Type) -> Option<&Type> {
    match &last_segment(ty)?.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

fn is_supported_return(ty: &Type) -> bool {
    match ty {
        Type::Tuple(tuple) => tuple.elems.is_empty(),
        Type::Paren(inner) => is_supported_return(&inner.elem),
        _ => segment_is(ty, &["Result"]),
    }
}

fn is_acknowledgment(ty: &Type) -> bool {
    segment_is(ty, &["Acknowledgment", "BatchAcknowledgment"])
}

/// `Vec<u8>` is one record's bytes; any other `Vec<T>` is a batch.
fn is_byte_vec(ty: &Type) -> bool {
    segment_is(ty, &["Vec"]) && first_type_argument(ty).is_some_and(|t| segment_is(t, &["u8"]))
}

/// Types that only make sense for one record or only for a batch, caught by name so the error
/// says what to write instead. Other types are checked by the extractor trait bounds.
fn check_shape(ty: &Type, header: Option<&LitStr>, batch: bool) -> syn::Result<()> {
    let shown = quote::ToTokens::to_token_stream(ty)
        .to_string()
        .replace(' ', "");
    if batch {
        if let Some(header) = header {
            return Err(syn::Error::new(
                header.span(),
                "`#[header]` reads one record's header; a batch listener takes \
                 `Vec<ConsumerRecord<K, V>>` to see each record's headers",
            ));
        }
        if segment_is(ty, &["Acknowledgment"]) {
            return Err(syn::Error::new_spanned(
                ty,
                "a batch listener acknowledges with `BatchAcknowledgment`",
            ));
        }
        let single = [
            "Json",
            "Key",
            "String",
            "Bytes",
            "ConsumerRecord",
            "RecordMeta",
            "Headers",
            "Option",
        ];
        if segment_is(ty, &single) || is_byte_vec(ty) {
            return Err(syn::Error::new_spanned(
                ty,
                format!(
                    "`{shown}` is one record's payload, but this is a batch listener \
                     (`batch = true`): take `Vec<{shown}>` or `Batch<{shown}>`"
                ),
            ));
        }
    } else if segment_is(ty, &["Batch", "BatchAcknowledgment"])
        || (segment_is(ty, &["Vec"]) && !is_byte_vec(ty))
    {
        return Err(syn::Error::new_spanned(
            ty,
            format!(
                "`{shown}` is a batch parameter, but this listener receives one record at a time: \
                 add `batch = true` to #[kafka_listener]"
            ),
        ));
    }
    Ok(())
}
