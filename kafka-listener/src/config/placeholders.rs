//! `${NAME}` / `${NAME:default}` placeholders, resolved as Spring's `PropertyPlaceholderHelper`
//! does: the name is looked up first as an environment variable, then as a property (so
//! `${spring.kafka.bootstrap-servers}` refers to another key); names, defaults and looked-up
//! values may contain placeholders themselves; `\${` is a literal `${`.

/// Why a placeholder could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlaceholderError {
    /// No variable or property of this name, and no default.
    Unresolved(String),
    /// The placeholders refer to each other in a loop (or nest absurdly deep).
    Circular(Vec<String>),
}

/// Bound on nested resolution; a real configuration needs two or three levels.
const MAX_DEPTH: usize = 32;

/// Bound on lookups per resolved value, so `a: ${b}${b}`, `b: ${c}${c}`, … cannot blow up
/// exponentially.
const MAX_LOOKUPS: usize = 4096;

/// Resolves every placeholder in `text` with `lookup(name)`.
pub(crate) fn resolve(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, PlaceholderError> {
    Resolver {
        lookup,
        chain: Vec::new(),
        lookups: 0,
    }
    .resolve(text)
}

struct Resolver<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    chain: Vec<String>,
    lookups: usize,
}

impl Resolver<'_> {
    fn resolve(&mut self, text: &str) -> Result<String, PlaceholderError> {
        if !text.contains("${") {
            return Ok(text.to_owned());
        }
        if self.chain.len() > MAX_DEPTH || self.lookups > MAX_LOOKUPS {
            return Err(PlaceholderError::Circular(self.named_chain()));
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 && rest[..start].ends_with('\\') {
                out.push_str(&rest[..start - 1]);
                out.push_str("${");
                rest = &rest[start + 2..];
                continue;
            }
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = closing_brace(after) else {
                // Unclosed: keep it as written, as Spring does.
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let inner = &after[..end];
            out.push_str(&self.placeholder(inner)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn placeholder(&mut self, inner: &str) -> Result<String, PlaceholderError> {
        let (name_part, default) = match top_level_colon(inner) {
            Some(index) => (&inner[..index], Some(&inner[index + 1..])),
            None => (inner, None),
        };
        let name = self.nested(name_part)?;
        if self.chain.contains(&name) {
            let mut chain = self.named_chain();
            chain.push(name);
            return Err(PlaceholderError::Circular(chain));
        }
        self.lookups += 1;
        match (self.lookup)(&name) {
            Some(value) => {
                self.chain.push(name);
                let resolved = self.resolve(&value);
                self.chain.pop();
                resolved
            }
            None => match default {
                Some(default) => self.nested(default),
                None => Err(PlaceholderError::Unresolved(name)),
            },
        }
    }

    /// The names being resolved, outermost first (nested names and defaults leave blanks).
    fn named_chain(&self) -> Vec<String> {
        self.chain
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect()
    }

    fn nested(&mut self, text: &str) -> Result<String, PlaceholderError> {
        self.chain.push(String::new());
        let resolved = self.resolve(text);
        self.chain.pop();
        resolved
    }
}

/// The index of the `}` closing a placeholder whose `${` was just consumed.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The first `:` outside nested placeholders: `HOST:localhost:9092` splits at the first.
fn top_level_colon(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("kafka:9092".into()),
            "a" => Some("${b}".into()),
            "b" => Some("${a}".into()),
            "NAME" => Some("HOST".into()),
            _ => None,
        }
    }

    #[test]
    fn variables_defaults_and_nesting() {
        assert_eq!(resolve("${HOST}", &lookup).unwrap(), "kafka:9092");
        assert_eq!(
            resolve("x-${MISSING:localhost:9092}", &lookup).unwrap(),
            "x-localhost:9092"
        );
        assert_eq!(
            resolve("${MISSING:${HOST}}", &lookup).unwrap(),
            "kafka:9092"
        );
        assert_eq!(resolve("${${NAME}}", &lookup).unwrap(), "kafka:9092");
        assert_eq!(resolve("${MISSING:}", &lookup).unwrap(), "");
        assert_eq!(resolve("\\${HOST}", &lookup).unwrap(), "${HOST}");
        assert_eq!(resolve("${unclosed", &lookup).unwrap(), "${unclosed");
    }

    #[test]
    fn unresolved_and_circular_are_errors() {
        assert_eq!(
            resolve("${MISSING}", &lookup),
            Err(PlaceholderError::Unresolved("MISSING".into()))
        );
        assert_eq!(
            resolve("${a}", &lookup),
            Err(PlaceholderError::Circular(vec![
                "a".into(),
                "b".into(),
                "a".into()
            ]))
        );
    }
}
