//! The file and text loaders (YAML, JSON, your own configuration) and the mapping of a
//! parser's error to a [`ConfigError`] naming the pool, the field and the line.

use std::fmt;
use std::path::Path;

use serde::de;
use serde::{Deserialize, Deserializer, Serialize};
use serde_path_to_error::Segment;

use super::CognitoSettings;
use crate::error::ConfigError;

impl CognitoSettings {
    /// Loads a YAML file.
    pub fn from_yaml(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_yaml_str(&read(path.as_ref())?)
    }

    /// Parses YAML text.
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        let read = serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text));
        let Unchecked(settings) = loaded("YAML", &[], read, |e: &serde_yaml::Error| {
            e.location().map(|l| (l.line(), l.column()))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads a JSON file.
    pub fn from_json(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_json_str(&read(path.as_ref())?)
    }

    /// Parses JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let Unchecked(settings) = json_text("JSON", &[], text)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Builds settings from any configuration struct of yours that serializes with the same
    /// field names; extra fields are ignored. Pools keep their order if your map type keeps it.
    pub fn from_global_settings(settings: &impl Serialize) -> Result<Self, ConfigError> {
        let text = serde_json::to_string(settings).map_err(|e| ConfigError::Parse {
            format: "JSON",
            message: e.to_string(),
            location: None,
            pool: None,
            field: None,
        })?;
        Self::from_json_str(&text)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Settings as read, before `validate`: what the loaders parse into (the `Deserialize` impl
/// of [`CognitoSettings`] validates, and its error could only be a string).
pub(super) struct Unchecked(pub(super) CognitoSettings);

impl<'de> Deserialize<'de> for Unchecked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CognitoSettings::deserialize(deserializer).map(Unchecked)
    }
}

pub(super) fn json_text<T: de::DeserializeOwned>(
    format: &'static str,
    outer: &[&str],
    text: &str,
) -> Result<T, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = loaded(
        format,
        outer,
        serde_path_to_error::deserialize(&mut deserializer),
        json_location,
    )?;
    deserializer.end().map_err(|e| ConfigError::Parse {
        format,
        message: e.to_string(),
        location: json_location(&e),
        pool: None,
        field: None,
    })?;
    Ok(value)
}

fn json_location(e: &serde_json::Error) -> Option<(usize, usize)> {
    // serde_json says line 0 when the error has no position (e.g. a custom message).
    (e.line() > 0).then(|| (e.line(), e.column()))
}

/// A loader's result as a [`ConfigError`]: the parser's message and location, and where the
/// parser stopped inside a field (a value of the wrong type), the pool and the field, as
/// `validate`'s errors name them. `outer` is the path of what was read within the whole
/// settings (`USERPOOLS` holds only `userpools`).
fn loaded<T, E: fmt::Display>(
    format: &'static str,
    outer: &[&str],
    read: Result<T, serde_path_to_error::Error<E>>,
    location: impl Fn(&E) -> Option<(usize, usize)>,
) -> Result<T, ConfigError> {
    let err = match read {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let mut names: Vec<String> = outer.iter().map(|&name| name.to_owned()).collect();
    names.extend(err.path().iter().filter_map(|segment| match segment {
        Segment::Map { key } => Some(key.clone()),
        Segment::Enum { variant } => Some(variant.clone()),
        Segment::Seq { .. } | Segment::Unknown => None,
    }));
    // The path within the text read, as the message shows it.
    let path = err.path().to_string();
    let inner = err.into_inner();
    let mut message = inner.to_string();
    // serde_yaml puts the path in front of its message, serde_json does not.
    if path != "." && !message.starts_with(&path) {
        message = format!("{path}: {message}");
    }
    let (pool, field) = match names.as_slice() {
        [top, pool, field @ ..] if top == "userpools" => (Some(pool.to_owned()), field),
        field => (None, field),
    };
    Err(ConfigError::Parse {
        format,
        message,
        location: location(&inner),
        pool,
        field: (!field.is_empty()).then(|| field.join(".").into()),
    })
}
