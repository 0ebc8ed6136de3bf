//! `sasl.jaas.config` as users paste it from Kafka's documentation:
//! `<LoginModule class> <flag> key="value" …;`.

use std::collections::BTreeMap;
use std::fmt;

use super::secret::Secret;

/// Why a `sasl.jaas.config` value cannot be read. Messages describe the position, never the
/// value (it holds a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    /// The text is not `<LoginModule> <flag> key=value …;`.
    #[error("sasl.jaas.config is malformed at character {position}: {problem}; expected `org.apache.kafka.common.security.plain.PlainLoginModule required username=\"…\" password=\"…\";`")]
    Syntax {
        /// 0-based character offset.
        position: usize,
        /// What was found instead.
        problem: String,
    },
}

/// One parsed JAAS login module entry.
///
/// ```
/// use kafka_listener::client::JaasConfig;
///
/// let jaas = JaasConfig::parse(
///     r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a \"quoted\" secret";"#,
/// ).unwrap();
/// assert_eq!(jaas.login_module(), "org.apache.kafka.common.security.scram.ScramLoginModule");
/// assert_eq!(jaas.option("username"), Some("alice"));
/// assert_eq!(jaas.option("password"), Some(r#"a "quoted" secret"#));
/// assert!(!format!("{jaas:?}").contains("secret\""));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct JaasConfig {
    login_module: String,
    control_flag: String,
    options: BTreeMap<String, Secret>,
}

const FLAGS: &[&str] = &["required", "requisite", "sufficient", "optional"];

impl JaasConfig {
    /// Parses one login module entry, with Kafka's rules: a class name, a control flag, then
    /// `key=value` options (values quoted with `"` and `\` escapes, or bare words), ending in
    /// an optional `;`.
    pub fn parse(text: &str) -> Result<Self, JaasError> {
        let mut tokens = Tokenizer::new(text);
        let login_module = match tokens.next()? {
            Some(Token::Word(word)) => word,
            other => {
                return Err(tokens.error(format!(
                    "expected a login module class, found {}",
                    describe(&other)
                )))
            }
        };
        let control_flag = match tokens.next()? {
            Some(Token::Word(word)) if FLAGS.contains(&word.to_ascii_lowercase().as_str()) => {
                word.to_ascii_lowercase()
            }
            other => {
                return Err(tokens.error(format!(
                    "expected a control flag (required, requisite, sufficient, optional), found {}",
                    describe(&other)
                )))
            }
        };
        let mut options = BTreeMap::new();
        loop {
            match tokens.next()? {
                None => break,
                Some(Token::Semicolon) => {
                    match tokens.next()? {
                        None => break,
                        _ => return Err(tokens.error(
                            "sasl.jaas.config takes exactly one login module; found text after `;`"
                                .to_owned(),
                        )),
                    }
                }
                Some(Token::Word(key)) => {
                    match tokens.next()? {
                        Some(Token::Equals) => {}
                        other => {
                            return Err(tokens.error(format!(
                                "expected `=` after option `{key}`, found {}",
                                describe(&other)
                            )))
                        }
                    }
                    let value = match tokens.next()? {
                        Some(Token::Word(value)) | Some(Token::Quoted(value)) => value,
                        other => {
                            return Err(tokens.error(format!(
                                "expected a value for option `{key}`, found {}",
                                describe(&other)
                            )))
                        }
                    };
                    options.insert(key, Secret::new(value));
                }
                other => {
                    return Err(tokens.error(format!(
                        "expected an option name or `;`, found {}",
                        describe(&other)
                    )))
                }
            }
        }
        Ok(Self {
            login_module,
            control_flag,
            options,
        })
    }

    /// The login module class, e.g. `org.apache.kafka.common.security.plain.PlainLoginModule`.
    pub fn login_module(&self) -> &str {
        &self.login_module
    }

    /// The login module's simple class name, e.g. `PlainLoginModule`.
    pub fn login_module_simple_name(&self) -> &str {
        self.login_module.rsplit('.').next().unwrap_or_default()
    }

    /// The control flag, lower case (`required`, …).
    pub fn control_flag(&self) -> &str {
        &self.control_flag
    }

    /// One option's value.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(Secret::expose)
    }

    /// `username`.
    pub fn username(&self) -> Option<&str> {
        self.option("username")
    }

    /// `password`, still wrapped.
    pub fn password(&self) -> Option<&Secret> {
        self.options.get("password")
    }
}

/// Shows the module, the flag, the option names and `username`; every other value is `***`.
impl fmt::Debug for JaasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Options<'a>(&'a BTreeMap<String, Secret>);
        impl fmt::Debug for Options<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut map = f.debug_map();
                for (key, value) in self.0 {
                    if key == "username" {
                        map.entry(key, &value.expose());
                    } else {
                        map.entry(key, value);
                    }
                }
                map.finish()
            }
        }
        f.debug_struct("JaasConfig")
            .field("login_module", &self.login_module)
            .field("control_flag", &self.control_flag)
            .field("options", &Options(&self.options))
            .finish()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn describe(token: &Option<Token>) -> String {
    match token {
        None => "the end of the text".to_owned(),
        Some(Token::Word(_)) => "a word".to_owned(),
        Some(Token::Quoted(_)) => "a quoted value".to_owned(),
        Some(Token::Equals) => "`=`".to_owned(),
        Some(Token::Semicolon) => "`;`".to_owned(),
    }
}

struct Tokenizer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    position: usize,
}

impl<'a> Tokenizer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.char_indices().peekable(),
            position: 0,
        }
    }

    fn error(&self, problem: String) -> JaasError {
        JaasError::Syntax {
            position: self.position,
            problem,
        }
    }

    fn next(&mut self) -> Result<Option<Token>, JaasError> {
        while self.chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            self.chars.next();
        }
        let Some((start, c)) = self.chars.next() else {
            return Ok(None);
        };
        self.position = start;
        match c {
            '=' => Ok(Some(Token::Equals)),
            ';' => Ok(Some(Token::Semicolon)),
            '"' | '\'' => {
                let quote = c;
                let mut value = String::new();
                loop {
                    match self.chars.next() {
                        None => return Err(self.error("a quoted value is not closed".to_owned())),
                        Some((_, ch)) if ch == quote => return Ok(Some(Token::Quoted(value))),
                        Some((_, '\\')) => match self.chars.next() {
                            None => {
                                return Err(self.error("a quoted value ends in `\\`".to_owned()))
                            }
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, escaped)) => value.push(escaped),
                        },
                        Some((_, ch)) => value.push(ch),
                    }
                }
            }
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some((_, ch)) = self.chars.peek().copied() {
                    if !is_word_char(ch) {
                        break;
                    }
                    word.push(ch);
                    self.chars.next();
                }
                Ok(Some(Token::Word(word)))
            }
            other => Err(self.error(format!("unexpected character `{other}`"))),
        }
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '=' | ';' | '"' | '\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-secret";"#;

    #[test]
    fn the_plain_login_module_line_from_kafkas_docs_parses() {
        let jaas = JaasConfig::parse(PLAIN).unwrap();
        assert_eq!(jaas.login_module_simple_name(), "PlainLoginModule");
        assert_eq!(jaas.control_flag(), "required");
        assert_eq!(jaas.username(), Some("alice"));
        assert_eq!(jaas.password().unwrap().expose(), "alice-secret");
    }

    #[test]
    fn the_trailing_semicolon_is_optional_and_newlines_are_whitespace() {
        let jaas = JaasConfig::parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule required\n  username=bob\n  password=\"bob-secret\"",
        )
        .unwrap();
        assert_eq!(jaas.username(), Some("bob"));
        assert_eq!(jaas.option("password"), Some("bob-secret"));
    }

    #[test]
    fn escaped_quotes_and_backslashes_inside_values_are_unescaped() {
        let jaas = JaasConfig::parse(
            r#"x.PlainLoginModule required username="a\"b" password="c\\d;e=f";"#,
        )
        .unwrap();
        assert_eq!(jaas.username(), Some("a\"b"));
        assert_eq!(jaas.option("password"), Some("c\\d;e=f"));
    }

    #[test]
    fn debug_output_names_the_user_but_never_the_password() {
        let text = format!("{:?}", JaasConfig::parse(PLAIN).unwrap());
        assert!(text.contains("alice"), "{text}");
        assert!(!text.contains("alice-secret"), "{text}");
    }

    #[test]
    fn malformed_lines_are_errors_that_do_not_echo_the_value() {
        for bad in [
            "",
            "org.Foo",
            "org.Foo mandatory username=\"a\";",
            "org.Foo required username",
            "org.Foo required password=\"unterminated",
            "org.Foo required a=b; org.Bar required c=d;",
        ] {
            let err = JaasConfig::parse(bad).unwrap_err().to_string();
            assert!(err.contains("sasl.jaas.config"), "{err}");
            assert!(!err.contains("unterminated"), "{err}");
        }
    }
}
