//! The environment loader: one `COGNITO_<NAME>` variable per top-level setting, derived from
//! the settings' own fields.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

use super::CognitoSettings;
use super::load::{Unchecked, json_text};
use super::pool::Pools;
use crate::error::ConfigError;

impl CognitoSettings {
    /// Reads the settings from the environment: every setting has a variable, its name
    /// upper-cased after `COGNITO_` (`COGNITO_LEEWAY_SECONDS=30`, `COGNITO_JWKS='{"timeout_ms":
    /// 1000}'`, `COGNITO_TOKEN_SOURCES='["header"]'`); `CHECK_EXPIRATION`, `JWT_HEADER_NAME`,
    /// `JWT_HEADER_PREFIX` and `USERPOOLS` also go by their bare names, as in fastapi-cognito.
    /// A text setting takes the value as it is, a true / false one `true`, `1`, `yes`, `on` (or
    /// `false`, `0`, `no`, `off`), any other a JSON value. Only the pools are required
    /// (`USERPOOLS`: a JSON object of pools, in order). The variables are derived from the
    /// settings' own fields, so a new setting is readable here without a change.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    pub(super) fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        /// Read by their bare names too.
        const BARE: [&str; 4] = ["check_expiration", "jwt_header_name", "jwt_header_prefix", "userpools"];
        let defaults = serde_json::to_value(Self::default()).unwrap_or_default();
        let mut object = serde_json::Map::new();
        let mut pools = None;
        for field in env_fields() {
            let bare = field.to_ascii_uppercase();
            let prefixed = format!("COGNITO_{bare}");
            let found = match (BARE.contains(field).then(|| var(&bare)).flatten(), var(&prefixed)) {
                (Some(_), Some(_)) => {
                    let problem = format!("is set twice: as {bare} and as {prefixed}; keep one");
                    return Err(ConfigError::Invalid {
                        pool: None,
                        field: Cow::Owned(bare),
                        problem,
                    });
                }
                (Some(text), None) => Some((bare, text)),
                (None, Some(text)) => Some((prefixed, text)),
                (None, None) => None,
            };
            let Some((name, text)) = found else { continue };
            // The pools keep their order (a JSON value's map would sort them) and their errors
            // point into the variable's own text.
            if *field == "userpools" {
                pools = Some(env_json::<Pools>(&name, &["userpools"], &text)?.0);
                continue;
            }
            let value = match defaults.get(*field) {
                Some(serde_json::Value::String(_)) => serde_json::Value::String(text),
                Some(serde_json::Value::Bool(_)) => match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => serde_json::Value::Bool(true),
                    "false" | "0" | "no" | "off" => serde_json::Value::Bool(false),
                    _ => {
                        return Err(ConfigError::Invalid {
                            pool: None,
                            field: Cow::Owned(name),
                            problem: "must be true or false".to_owned(),
                        });
                    }
                },
                // JSON, parsed as the variable's own text so an error points into it.
                _ => env_json::<serde_json::Value>(&name, &[], &text)?,
            };
            object.insert((*field).to_owned(), value);
        }
        let pools = pools.ok_or_else(|| ConfigError::invalid(None, "USERPOOLS", "is not set"))?;
        let text = serde_json::Value::Object(object).to_string();
        let Unchecked(mut settings) = json_text("environment", &[], &text)?;
        settings.userpools = pools;
        settings.validate()?;
        Ok(settings)
    }
}

/// The JSON text of the environment variable `name`, its parse errors prefixed with the name.
fn env_json<T: de::DeserializeOwned>(name: &str, outer: &[&str], text: &str) -> Result<T, ConfigError> {
    json_text("environment", outer, text).map_err(|e| match e {
        ConfigError::Parse {
            format,
            message,
            location,
            pool,
            field,
        } => ConfigError::Parse {
            format,
            message: format!("{name}: {message}"),
            location,
            pool,
            field,
        },
        other => other,
    })
}

/// The settings' top-level field names, as serde reads them: asked of the derived
/// `Deserialize` itself, so the list cannot miss a field.
pub(super) fn env_fields() -> &'static [&'static str] {
    /// A deserializer that only learns the fields it is asked for.
    struct Fields;
    /// Carries the field names out of the derived code.
    #[derive(Debug)]
    struct Found(&'static [&'static str]);
    impl fmt::Display for Found {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("field names")
        }
    }
    impl std::error::Error for Found {}
    impl de::Error for Found {
        fn custom<T: fmt::Display>(_: T) -> Self {
            Found(&[])
        }
    }
    impl<'de> Deserializer<'de> for Fields {
        type Error = Found;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
            Err(Found(&[]))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Found> {
            Err(Found(fields))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    match CognitoSettings::deserialize(Fields) {
        Err(Found(fields)) => fields,
        Ok(_) => &[],
    }
}
