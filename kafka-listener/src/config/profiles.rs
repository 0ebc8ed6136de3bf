//! Profiles: which documents and `application-{profile}.yml` files are active.
//!
//! Spring Boot's rules: active profiles come from the builder, else `SPRING_PROFILES_ACTIVE`,
//! else `spring.profiles.active` in a document without an `on-profile` condition. A document
//! whose `spring.config.activate.on-profile` expression does not match is skipped. Later
//! documents override earlier ones, profile files override the base file, and a later active
//! profile overrides an earlier one.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::origin::{PropertySource, PropertyValue};
use super::relaxed::uniform_key;

/// The key that makes a document conditional on profiles.
pub(crate) const ON_PROFILE_KEY: &str = "spring.config.activate.on-profile";

/// Spring Boot 2.3's document condition, replaced by [`ON_PROFILE_KEY`].
const LEGACY_PROFILE_KEY: &str = "spring.profiles";

/// The key that activates profiles from inside the configuration.
pub(crate) const ACTIVE_PROFILES_KEY: &str = "spring.profiles.active";

/// Moves a document's `spring.config.activate.on-profile` out of its entries. A list
/// (`on-profile: [dev, prod]`, flattened to `…on-profile[0]`, `…[1]`) means any of them, like a
/// comma-separated value.
pub(crate) fn take_on_profile(source: &mut PropertySource) {
    let key = uniform_key(ON_PROFILE_KEY);
    let indexed = format!("{key}.");
    let mut parts: Vec<PropertyValue> = Vec::new();
    source.entries.retain(|(entry_key, value)| {
        let uniform = uniform_key(entry_key);
        let is_condition = uniform == key
            || uniform
                .strip_prefix(&indexed)
                .is_some_and(|index| index.chars().all(|c| c.is_ascii_digit()));
        if is_condition {
            parts.push(value.clone());
        }
        !is_condition
    });
    let Some(first) = parts.first() else { return };
    let origin = first.origin.clone();
    let value = parts
        .iter()
        .map(|p| p.value.as_str())
        .collect::<Vec<_>>()
        .join(",");
    source.on_profile = Some(PropertyValue { value, origin });
}

/// `spring.profiles: prod` was Spring Boot 2.3's document condition; Boot 2.4+ refuses it. Left
/// unchecked, that document would apply to every profile, so it is an error here too.
pub(crate) fn reject_legacy_profile_key(source: &PropertySource) -> Result<(), ConfigError> {
    let legacy = uniform_key(LEGACY_PROFILE_KEY);
    match source.entries.iter().find(|(key, _)| {
        let uniform = uniform_key(key);
        uniform == legacy
            || uniform
                .strip_prefix(&format!("{legacy}."))
                .is_some_and(|index| index.chars().all(|c| c.is_ascii_digit()))
    }) {
        Some((key, value)) => Err(ConfigError::ReplacedKey {
            key: key.clone(),
            origin: value.origin.clone(),
            replacement: ON_PROFILE_KEY.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Splits a comma-separated profile list, dropping blanks.
pub(crate) fn parse_profile_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Evaluates a Spring profile expression against the active profiles: a profile name, `!p`,
/// `a & b`, `a | b`, parentheses, and a comma-separated list meaning "any of".
///
/// Malformed expressions (unbalanced parentheses, a dangling operator) match nothing, so a
/// typo can only deactivate a document, never turn on one meant for another environment.
pub(crate) fn matches(expression: &str, active: &[String]) -> bool {
    expression.split(',').any(|alternative| {
        let tokens = tokenize(alternative);
        let mut parser = ExpressionParser {
            tokens: &tokens,
            position: 0,
            depth: 0,
            active,
        };
        match parser.or() {
            Some(value) if parser.position == tokens.len() => value,
            _ => false,
        }
    })
}

#[derive(Debug, PartialEq)]
enum Token {
    Name(String),
    Not,
    And,
    Or,
    Open,
    Close,
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut name = String::new();
    for c in text.chars() {
        let operator = match c {
            '!' => Some(Token::Not),
            '&' => Some(Token::And),
            '|' => Some(Token::Or),
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            c if c.is_whitespace() => None,
            c => {
                name.push(c);
                continue;
            }
        };
        if !name.is_empty() {
            tokens.push(Token::Name(std::mem::take(&mut name)));
        }
        tokens.extend(operator);
    }
    if !name.is_empty() {
        tokens.push(Token::Name(name));
    }
    tokens
}

struct ExpressionParser<'a> {
    tokens: &'a [Token],
    position: usize,
    depth: usize,
    active: &'a [String],
}

const MAX_PARENTHESES: usize = 32;

impl ExpressionParser<'_> {
    fn or(&mut self) -> Option<bool> {
        let mut value = self.and()?;
        while self.tokens.get(self.position) == Some(&Token::Or) {
            self.position += 1;
            value |= self.and()?;
        }
        Some(value)
    }

    fn and(&mut self) -> Option<bool> {
        let mut value = self.unary()?;
        while self.tokens.get(self.position) == Some(&Token::And) {
            self.position += 1;
            value &= self.unary()?;
        }
        Some(value)
    }

    fn unary(&mut self) -> Option<bool> {
        let token = self.tokens.get(self.position)?;
        self.position += 1;
        match token {
            Token::Not => {
                let mut negations = 1;
                while self.tokens.get(self.position) == Some(&Token::Not) {
                    self.position += 1;
                    negations += 1;
                }
                self.unary().map(|v| v ^ (negations % 2 == 1))
            }
            Token::Name(name) => Some(self.active.iter().any(|a| a == name)),
            Token::Open => {
                // Bounded so a hostile `((((…` cannot exhaust the stack.
                self.depth += 1;
                if self.depth > MAX_PARENTHESES {
                    return None;
                }
                let value = self.or()?;
                self.depth -= 1;
                (self.tokens.get(self.position) == Some(&Token::Close)).then(|| {
                    self.position += 1;
                    value
                })
            }
            Token::And | Token::Or | Token::Close => None,
        }
    }
}

/// `application-{profile}.{ext}` beside `base` (`config/application.yml` →
/// `config/application-prod.yml`).
pub(crate) fn profile_file(base: &Path, profile: &str) -> PathBuf {
    let stem = base
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("application");
    let name = match base.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}-{profile}.{ext}"),
        None => format!("{stem}-{profile}"),
    };
    base.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn profile_expressions_follow_spring() {
        let on = active(&["prod", "eu"]);
        assert!(matches("prod", &on));
        assert!(!matches("dev", &on));
        assert!(matches("!dev", &on));
        assert!(matches("prod & eu", &on));
        assert!(!matches("prod & us", &on));
        assert!(matches("dev | eu", &on));
        assert!(matches("dev, prod", &on));
        assert!(matches("(dev | prod) & !us", &on));
    }

    #[test]
    fn malformed_expressions_match_nothing() {
        let on = active(&["prod"]);
        assert!(!matches("prod &", &on));
        assert!(!matches("(prod", &on));
        assert!(!matches("", &on));
    }

    #[test]
    fn profile_files_sit_beside_the_base_file() {
        let path = profile_file(Path::new("conf/application.yml"), "prod");
        assert_eq!(path, Path::new("conf/application-prod.yml"));
    }
}
