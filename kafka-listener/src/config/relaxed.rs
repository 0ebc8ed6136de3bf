//! Spring Boot's relaxed binding: `group-id`, `groupId`, `group_id` and `GROUP_ID` name the same
//! key, and so do the environment variables `SPRING_KAFKA_CONSUMER_GROUP_ID` and
//! `SPRING_KAFKA_CONSUMER_GROUPID`.
//!
//! Every key is split into elements (`a.b[0].[x.y]` → `a`, `b`, `0`, `x.y`); plain elements
//! compare by their *uniform* form (lower case, `-` and `_` removed), bracketed elements (map
//! keys that contain dots, list indexes) compare as written.

/// One element of a dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// The element as written, brackets removed.
    pub text: String,
    /// Written in brackets (`[0]`, `[session.timeout.ms]`): compared verbatim.
    pub bracketed: bool,
}

impl Element {
    /// The form used to compare elements.
    pub fn uniform(&self) -> String {
        if self.bracketed {
            self.text.clone()
        } else {
            uniform(&self.text)
        }
    }
}

/// Lower case with `-` and `_` removed: `groupId`, `group-id` and `group_id` → `groupid`.
pub(crate) fn uniform(element: &str) -> String {
    element
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits `a.b[0].[x.y]c` into its elements. Never fails: an unclosed `[` takes the rest.
pub(crate) fn elements(key: &str) -> Vec<Element> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !current.is_empty() {
                    out.push(Element {
                        text: std::mem::take(&mut current),
                        bracketed: false,
                    });
                }
            }
            '[' => {
                if !current.is_empty() {
                    out.push(Element {
                        text: std::mem::take(&mut current),
                        bracketed: false,
                    });
                }
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                out.push(Element {
                    text: inner,
                    bracketed: true,
                });
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(Element {
            text: current,
            bracketed: false,
        });
    }
    out
}

/// The uniform form of a whole key, elements joined by `.`: the lookup key for relaxed matching.
///
/// The same result as uniforming each of [`elements`] and joining them, in one pass: binding
/// computes this for every key it looks up.
pub(crate) fn uniform_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut first = true;
    let mut in_plain = false;
    let mut start_element = |out: &mut String| {
        if !std::mem::replace(&mut first, false) {
            out.push('.');
        }
    };
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => in_plain = false,
            '[' => {
                in_plain = false;
                start_element(&mut out);
                for inner in chars.by_ref() {
                    if inner == ']' {
                        break;
                    }
                    out.push(inner);
                }
            }
            c => {
                if !in_plain {
                    start_element(&mut out);
                    in_plain = true;
                }
                if c.is_ascii() {
                    if c != '-' && c != '_' {
                        out.push(c.to_ascii_lowercase());
                    }
                } else {
                    out.extend(c.to_lowercase());
                }
            }
        }
    }
    out
}

/// The environment-variable form of a uniform key: what Spring Boot's
/// `SystemEnvironmentPropertySource` compares. Both `SPRING_KAFKA_CONSUMER_GROUP_ID` and
/// `SPRING_KAFKA_CONSUMER_GROUPID` reduce to `springkafkaconsumergroupid`, as does the key
/// `spring.kafka.consumer.group-id`.
pub(crate) fn env_form(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The closest candidate within a distance that scales with the word's length, if any.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&uniform(word), &uniform(c)), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_camel_and_snake_case_share_a_uniform_key() {
        let expected = "spring.kafka.consumer.groupid";
        assert_eq!(uniform_key("spring.kafka.consumer.group-id"), expected);
        assert_eq!(uniform_key("spring.kafka.consumer.groupId"), expected);
        assert_eq!(uniform_key("spring.kafka.consumer.group_id"), expected);
        assert_eq!(uniform_key("SPRING.KAFKA.CONSUMER.GROUP-ID"), expected);
    }

    #[test]
    fn bracketed_elements_keep_their_dots_and_case() {
        let parts = elements("a.props[session.timeout.ms].x[0]");
        let texts: Vec<&str> = parts.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["a", "props", "session.timeout.ms", "x", "0"]);
        assert_eq!(uniform_key("a.B[Mixed.Case]"), "a.b.Mixed.Case");
    }

    #[test]
    fn the_one_pass_uniform_key_equals_the_element_wise_one() {
        for key in [
            "",
            ".",
            "a..b",
            "a.b[0].[x.y]c",
            "[",
            "a[",
            "a]b",
            "-",
            "a.-.b",
            "Ä-b_C",
            "x[a][b]",
            "[]",
            ".[a].",
        ] {
            let element_wise: Vec<String> = elements(key).iter().map(Element::uniform).collect();
            assert_eq!(uniform_key(key), element_wise.join("."), "{key:?}");
        }
    }

    #[test]
    fn env_names_with_and_without_underscores_match_the_key() {
        let key = env_form(&uniform_key("spring.kafka.consumer.group-id"));
        assert_eq!(env_form("SPRING_KAFKA_CONSUMER_GROUP_ID"), key);
        assert_eq!(env_form("SPRING_KAFKA_CONSUMER_GROUPID"), key);
    }

    #[test]
    fn closest_suggests_small_typos_only() {
        let keys = ["ack-mode", "ack-count", "poll-timeout"];
        assert_eq!(closest("ack-mod", keys), Some("ack-mode"));
        assert_eq!(closest("pol-timeout", keys), Some("poll-timeout"));
        assert_eq!(closest("completely-different", keys), None);
    }
}
