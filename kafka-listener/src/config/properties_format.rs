//! `application.properties` (java.util.Properties syntax) → flattened [`PropertySource`]s.
//!
//! Supported as Java reads it: `key=value`, `key: value`, `key value`; `#` and `!` comment lines;
//! a line ending in an odd number of `\` continues on the next (its leading blanks dropped);
//! escapes `\t \n \r \f \uXXXX`, and `\` before any other character keeps that character (so
//! `\=`, `\:`, `\ ` put separators into keys). A `#---` or `!---` line separates documents, as in
//! Spring Boot 2.4+.

use std::sync::Arc;

use super::error::ConfigError;
use super::origin::{Origin, PropertySource, PropertyValue};
use super::profiles::take_on_profile;

/// Parses every document of a properties text. `file` names the source in positions and errors.
pub(crate) fn parse_documents(text: &str, file: &str) -> Result<Vec<PropertySource>, ConfigError> {
    let file: Arc<str> = Arc::from(file);
    let lines: Vec<&str> = split_natural_lines(text);
    let mut documents = vec![PropertySource::named(format!("{file} (document 1)"))];
    let mut index = 0;
    while index < lines.len() {
        let line_number = index + 1;
        let line = lines[index];
        index += 1;
        let trimmed = line.trim_start_matches([' ', '\t', '\u{c}']);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with('!') {
            if trimmed[1..].trim_end() == "---" {
                let number = documents.len() + 1;
                documents.push(PropertySource::named(format!("{file} (document {number})")));
            }
            continue;
        }
        // Assemble the logical line: continuation lines lose their leading blanks.
        let indent = line.chars().count() - trimmed.chars().count();
        let mut logical = strip_continuation(trimmed).0.to_owned();
        let mut continues = strip_continuation(trimmed).1;
        while continues && index < lines.len() {
            let next = lines[index].trim_start_matches([' ', '\t', '\u{c}']);
            index += 1;
            let (body, more) = strip_continuation(next);
            logical.push_str(body);
            continues = more;
        }
        let (key, value, value_column) = split_key_value(&logical, &file, line_number, indent + 1)?;
        let origin = Origin::file(file.clone(), line_number, indent + 1 + value_column);
        let document = documents.last_mut().expect("documents starts non-empty");
        document.push(key, PropertyValue { value, origin });
    }
    documents.iter_mut().for_each(take_on_profile);
    Ok(documents)
}

/// Splits on `\n`, `\r\n` and lone `\r`, as `java.util.Properties` does.
fn split_natural_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// A line ending in an odd number of backslashes continues; returns the line without that
/// final backslash and whether it continues.
fn strip_continuation(line: &str) -> (&str, bool) {
    let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
    if trailing % 2 == 1 {
        (&line[..line.len() - 1], true)
    } else {
        (line, false)
    }
}

/// Splits a logical line (leading blanks removed) into its unescaped key and value; returns
/// the 0-based column where the value starts, for positions.
fn split_key_value(
    logical: &str,
    file: &Arc<str>,
    line: usize,
    column: usize,
) -> Result<(String, String, usize), ConfigError> {
    let chars: Vec<char> = logical.chars().collect();
    let mut key_end = chars.len();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' | '\u{c}' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let mut value_start = key_end.min(chars.len());
    while value_start < chars.len() && matches!(chars[value_start], ' ' | '\t' | '\u{c}') {
        value_start += 1;
    }
    if value_start < chars.len() && matches!(chars[value_start], '=' | ':') {
        value_start += 1;
        while value_start < chars.len() && matches!(chars[value_start], ' ' | '\t' | '\u{c}') {
            value_start += 1;
        }
    }
    let key_raw: String = chars[..key_end.min(chars.len())].iter().collect();
    let value_raw: String = chars[value_start.min(chars.len())..].iter().collect();
    let key = unescape(&key_raw).map_err(|message| ConfigError::Properties {
        origin: Origin::file(file.clone(), line, column),
        message,
    })?;
    let value = unescape(&value_raw).map_err(|message| ConfigError::Properties {
        origin: Origin::file(file.clone(), line, column + value_start),
        message,
    })?;
    Ok((key, value, value_start))
}

/// Resolves Java properties escapes. `\\uXXXX` escapes are UTF-16 code units, as in Java: a
/// surrogate pair (`\\uD83D\\uDE00`) becomes one character; a lone half becomes U+FFFD.
fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut units = Utf16Units::default();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            units.flush(&mut out);
            out.push(c);
            continue;
        }
        let decoded = match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = (hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                    .then(|| u16::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| {
                        format!(
                            "malformed \\uXXXX escape `\\u{hex}`: write four hex digits, e.g. \\u00e9"
                        )
                    })?;
                units.push(unit, &mut out);
                continue;
            }
            Some('t') => '\t',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('f') => '\u{c}',
            Some(other) => other,
            None => continue,
        };
        units.flush(&mut out);
        out.push(decoded);
    }
    units.flush(&mut out);
    Ok(out)
}

/// Pairs UTF-16 surrogates from consecutive `\\u` escapes.
#[derive(Default)]
struct Utf16Units {
    high: Option<u16>,
}

impl Utf16Units {
    fn push(&mut self, unit: u16, out: &mut String) {
        if let Some(high) = self.high.take() {
            match char::decode_utf16([high, unit]).next() {
                Some(Ok(c)) if (0xDC00..=0xDFFF).contains(&unit) => {
                    out.push(c);
                    return;
                }
                _ => out.push(char::REPLACEMENT_CHARACTER),
            }
        }
        if (0xD800..=0xDBFF).contains(&unit) {
            self.high = Some(unit);
        } else {
            out.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
    }

    fn flush(&mut self, out: &mut String) {
        if self.high.take().is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(String, String)> {
        parse_documents(text, "a.properties").unwrap()[0]
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }

    #[test]
    fn all_three_separators_are_accepted() {
        let got = entries("a=1\nb: 2\nc 3\nd   =   4\n");
        let values: Vec<&str> = got.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["1", "2", "3", "4"]);
    }

    #[test]
    fn continuations_comments_and_escapes() {
        let got = entries("# c\n! c\nlist=a,\\\n    b\nkey\\=x=\\u00e9\\tz\n");
        assert_eq!(got[0], ("list".into(), "a,b".into()));
        assert_eq!(got[1], ("key=x".into(), "é\tz".into()));
    }

    #[test]
    fn surrogate_pairs_join_and_lone_halves_are_replaced() {
        let got = entries("a=\\uD83D\\uDE00\nb=\\uD83Dx\nc=\\uDE00\n");
        assert_eq!(got[0].1, "\u{1F600}");
        assert_eq!(got[1].1, "\u{FFFD}x");
        assert_eq!(got[2].1, "\u{FFFD}");
    }

    #[test]
    fn malformed_unicode_escape_is_an_error_with_position() {
        let err = parse_documents("a=\\u12G4\n", "a.properties").unwrap_err();
        assert!(err.to_string().contains("a.properties:1:"), "{err}");
    }

    #[test]
    fn dash_comment_lines_separate_documents() {
        let docs = parse_documents(
            "a=1\n#---\nspring.config.activate.on-profile=dev\na=2\n",
            "p",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].on_profile.as_ref().unwrap().value, "dev");
    }
}
