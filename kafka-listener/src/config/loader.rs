//! [`ConfigLoader`]: which files, profiles and environment variables make up the configuration.

use std::path::{Path, PathBuf};

use super::environment::{EnvVars, Environment};
use super::error::ConfigError;
use super::kafka_properties::KafkaProperties;
use super::origin::PropertySource;
use super::profiles::{self, ACTIVE_PROFILES_KEY};
use super::{properties_format, yaml};

/// The two file syntaxes Spring Boot reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Properties,
}

impl Format {
    fn parse(self, text: &str, name: &str) -> Result<Vec<PropertySource>, ConfigError> {
        let documents = match self {
            Format::Yaml => yaml::parse_documents(text, name)?,
            Format::Properties => properties_format::parse_documents(text, name)?,
        };
        for document in &documents {
            profiles::reject_legacy_profile_key(document)?;
        }
        Ok(documents)
    }
}

/// Builds [`KafkaProperties`] from files or text, with chosen profiles and environment.
///
/// `SPRING_CONFIG_ADDITIONAL_LOCATION` / `spring.config.additional-location` names more files
/// whose keys win over the application's own (Spring Boot's rule).
///
/// Without [`profiles`](Self::profiles) the active profiles come from `SPRING_PROFILES_ACTIVE`,
/// else `spring.profiles.active` in the base file. Without [`env`](Self::env) the process
/// environment is used; tests pass their own so they never depend on the machine's.
///
/// ```
/// use kafka_listener::config::ConfigLoader;
///
/// let yaml = "
/// spring.kafka.consumer.group-id: base
/// ---
/// spring.config.activate.on-profile: prod
/// spring.kafka.consumer.group-id: prod-group
/// ";
/// let props = ConfigLoader::new().profiles(["prod"]).env(Vec::<(String, String)>::new()).load_yaml_str(yaml).unwrap();
/// assert_eq!(props.consumer.group_id.as_deref(), Some("prod-group"));
///
/// let props = ConfigLoader::new()
///     .env([("SPRING_KAFKA_CONSUMER_GROUP_ID", "from-env")])
///     .load_yaml_str(yaml)
///     .unwrap();
/// assert_eq!(props.consumer.group_id.as_deref(), Some("from-env"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigLoader {
    profiles: Option<Vec<String>>,
    env: Option<Vec<(String, String)>>,
}

impl ConfigLoader {
    /// A loader using the process environment and no explicit profiles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Activates these profiles (in order: a later one overrides an earlier one), instead of
    /// `SPRING_PROFILES_ACTIVE` / `spring.profiles.active`.
    pub fn profiles<I, S>(mut self, profiles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.profiles = Some(profiles.into_iter().map(Into::into).collect());
        self
    }

    /// Uses these variables instead of the process environment, for overrides
    /// (`SPRING_KAFKA_…`), `SPRING_PROFILES_ACTIVE` and `${…}` placeholders.
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Loads a YAML file and its active `application-{profile}.yml` siblings.
    pub fn load_yaml_file(&self, path: impl AsRef<Path>) -> Result<KafkaProperties, ConfigError> {
        self.load_file(path.as_ref(), Format::Yaml)
    }

    /// Loads YAML text (multi-document profiles apply; there are no sibling files).
    pub fn load_yaml_str(&self, text: &str) -> Result<KafkaProperties, ConfigError> {
        self.load(Format::Yaml.parse(text, "<string>")?, None)
    }

    /// Loads a properties file and its active `application-{profile}.properties` siblings.
    pub fn load_properties_file(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<KafkaProperties, ConfigError> {
        self.load_file(path.as_ref(), Format::Properties)
    }

    /// Loads Java properties text.
    pub fn load_properties_str(&self, text: &str) -> Result<KafkaProperties, ConfigError> {
        self.load(Format::Properties.parse(text, "<string>")?, None)
    }

    fn load_file(&self, path: &Path, format: Format) -> Result<KafkaProperties, ConfigError> {
        let text = read(path)?;
        let sources = format.parse(&text, &path.display().to_string())?;
        self.load(sources, Some((path, format)))
    }

    fn env_vars(&self) -> EnvVars {
        match &self.env {
            Some(vars) => EnvVars::new(vars.iter().cloned()),
            None => EnvVars::new(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            ),
        }
    }

    fn load(
        &self,
        base: Vec<PropertySource>,
        file: Option<(&Path, Format)>,
    ) -> Result<KafkaProperties, ConfigError> {
        let env = self.env_vars();
        let active = self.active_profiles(&base, &env);
        let mut sources: Vec<PropertySource> = base
            .into_iter()
            .filter(|source| is_active(source, &active))
            .collect();
        if let Some((path, format)) = file {
            for profile in &active {
                let profile_path = profiles::profile_file(path, profile);
                let Some(text) = read_if_exists(&profile_path)? else {
                    continue;
                };
                let documents = format.parse(&text, &profile_path.display().to_string())?;
                sources.extend(
                    documents
                        .into_iter()
                        .filter(|source| is_active(source, &active)),
                );
            }
        }
        sources.extend(self.additional_sources(&sources, &env, &active)?);
        tracing::debug!(profiles = ?active, sources = sources.len(), "configuration sources loaded");
        KafkaProperties::bind(Environment::new(sources, env))
    }

    /// `SPRING_CONFIG_ADDITIONAL_LOCATION` (or `spring.config.additional-location` in the
    /// application's files): more files, comma-separated, whose keys win over the application's
    /// own, as in Spring Boot. `optional:` skips a missing file; `file:` is stripped; the format
    /// follows the extension (`.properties`, else YAML).
    fn additional_sources(
        &self,
        sources: &[PropertySource],
        env: &EnvVars,
        active: &[String],
    ) -> Result<Vec<PropertySource>, ConfigError> {
        const KEY: &str = "spring.config.additional-location";
        let locations = match env.for_key(KEY) {
            Some((_, value)) => value.to_owned(),
            None => match Environment::new(sources.to_vec(), EnvVars::default()).get(KEY) {
                Some(value) => value.value,
                None => return Ok(Vec::new()),
            },
        };
        let mut out = Vec::new();
        for location in locations
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (optional, location) = match location.strip_prefix("optional:") {
                Some(rest) => (true, rest),
                None => (false, location),
            };
            let path = Path::new(location.strip_prefix("file:").unwrap_or(location));
            let text =
                match read_if_exists(path)? {
                    Some(text) => text,
                    None if optional => continue,
                    None => return Err(ConfigError::Io {
                        path: path.to_owned(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "spring.config.additional-location names a file that does not exist",
                        ),
                    }),
                };
            let format = if path.extension().is_some_and(|e| e == "properties") {
                Format::Properties
            } else {
                Format::Yaml
            };
            let documents = format.parse(&text, &path.display().to_string())?;
            out.extend(documents.into_iter().filter(|s| is_active(s, active)));
        }
        Ok(out)
    }

    fn active_profiles(&self, base: &[PropertySource], env: &EnvVars) -> Vec<String> {
        if let Some(profiles) = &self.profiles {
            return profiles.clone();
        }
        if let Some((_, value)) = env.for_key(ACTIVE_PROFILES_KEY) {
            return profiles::parse_profile_list(value);
        }
        // From the unconditional documents; a later one wins.
        let from_files = Environment::new(
            base.iter()
                .filter(|s| s.on_profile.is_none())
                .cloned()
                .collect(),
            EnvVars::default(),
        );
        from_files
            .list(ACTIVE_PROFILES_KEY)
            .map(|values| {
                values
                    .iter()
                    .flat_map(|v| profiles::parse_profile_list(&v.value))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn is_active(source: &PropertySource, active: &[String]) -> bool {
    source
        .on_profile
        .as_ref()
        .is_none_or(|expression| profiles::matches(&expression.value, active))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: PathBuf::from(path),
        source,
    })
}

fn read_if_exists(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            path: PathBuf::from(path),
            source,
        }),
    }
}
