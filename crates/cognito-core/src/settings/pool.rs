//! One user pool's settings, its own rules, and the serde forms of the `userpools` map and of
//! one-or-many string fields.

use std::fmt;

use reqwest::Url;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TokenUse;
use crate::error::ConfigError;
use crate::jose;

/// One Cognito user pool and the tokens accepted from it.
///
/// `region`, `userpool_id` and `app_client_id` are required: left out, they read as empty,
/// which [`CognitoSettings::validate`](super::CognitoSettings::validate) refuses, naming the pool and the field.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserPool {
    /// The name the pool is chosen by (its key under `userpools`).
    #[serde(skip)]
    pub name: String,
    /// AWS region, e.g. `eu-west-1` (required).
    pub region: String,
    /// User pool id, e.g. `eu-west-1_AbCdEf123` (required).
    pub userpool_id: String,
    /// Accepted app clients (required, non-empty). In settings: a string or a list.
    #[serde(deserialize_with = "one_or_many")]
    pub app_client_id: Vec<String>,
    /// Accepted token types (default `any`).
    pub token_use: TokenUse,
    /// Accepted audiences of access tokens (Cognito resource binding): when set, an access
    /// token's `aud` must be one of them, else `wrong_client`. It restricts access tokens
    /// only: ID tokens are unaffected (their `aud` is the app client), so a pool with
    /// `token_use: any` still accepts its app clients' ID tokens, which name no resource. A
    /// pool meant for resource-bound tokens alone also sets `token_use: access`. In settings:
    /// a string or a list (default: none, `aud` unread).
    #[serde(deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// Where the pool's keys are (`https://`, `http://` or `file://`); see [`UserPool::key_sources`]
    /// (default: none, the keys of the issuer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// The expected `iss`, for emulators (default: none, both AWS issuer forms are trusted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The JWKS itself, inline (no fetch ever); takes precedence over every URL (default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_inline: Option<serde_json::Value>,
}

/// As derived, but `jwks_url` without user info, query or fragment (credentials, presigned
/// signatures), so logging the settings publishes no secret.
impl std::fmt::Debug for UserPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPool")
            .field("name", &self.name)
            .field("region", &self.region)
            .field("userpool_id", &self.userpool_id)
            .field("app_client_id", &self.app_client_id)
            .field("token_use", &self.token_use)
            .field("audience", &self.audience)
            .field("jwks_url", &self.jwks_url.as_deref().map(crate::url_rules::redact))
            .field("issuer", &self.issuer)
            .field("jwks_inline", &self.jwks_inline)
            .finish()
    }
}

impl UserPool {
    /// A pool with the defaults: any token use, AWS issuer and JWKS URL.
    pub fn new(
        name: impl Into<String>,
        region: impl Into<String>,
        userpool_id: impl Into<String>,
        app_client_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            region: region.into(),
            userpool_id: userpool_id.into(),
            app_client_id: app_client_ids.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let pool = Some(self.name.as_str());
        if self.name.is_empty() {
            return Err(ConfigError::invalid(None, "userpools", "a pool name must not be empty"));
        }
        for (field, value) in [("region", &self.region), ("userpool_id", &self.userpool_id)] {
            if value.is_empty() {
                return Err(ConfigError::invalid(pool, field, "is required and must not be empty"));
            }
            if !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ConfigError::invalid(
                    pool,
                    field,
                    "may hold only letters, digits, '-' and '_'",
                ));
            }
        }
        if self.app_client_id.is_empty() {
            return Err(ConfigError::invalid(
                pool,
                "app_client_id",
                "must name at least one app client",
            ));
        }
        if self.app_client_id.iter().any(String::is_empty) {
            return Err(ConfigError::invalid(
                pool,
                "app_client_id",
                "an app client id must not be empty",
            ));
        }
        if self.audience.iter().any(String::is_empty) {
            return Err(ConfigError::invalid(pool, "audience", "an audience must not be empty"));
        }
        if let Some(issuer) = &self.issuer {
            match Url::parse(issuer) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
                _ => return Err(ConfigError::invalid(pool, "issuer", "must be an http(s) URL")),
            }
        }
        if let Some(jwks) = &self.jwks_inline {
            // The document's shape; each key is judged when the key set is loaded, and a bad
            // key is then `invalid_jwk` for the tokens that name it.
            jose::jwk_set_keys(jwks).map_err(|p| ConfigError::invalid(pool, "jwks_inline", p))?;
        }
        Ok(())
    }
}

/// `app_client_id`: one string or a list of strings. Strings as written: a YAML number
/// (`7`) is refused here as in JSON, not read as the text `"7"`.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_str<E: de::Error>(self, id: &str) -> Result<Vec<String>, E> {
            Ok(vec![id.to_owned()])
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut ids = Vec::new();
            while let Some(OneString(id)) = seq.next_element()? {
                ids.push(id);
            }
            Ok(ids)
        }
    }
    struct OneString(String);
    impl<'de> Deserialize<'de> for OneString {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct StringOnly;
            impl Visitor<'_> for StringOnly {
                type Value = OneString;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E: de::Error>(self, id: &str) -> Result<OneString, E> {
                    Ok(OneString(id.to_owned()))
                }
            }
            deserializer.deserialize_any(StringOnly)
        }
    }
    deserializer.deserialize_any(OneOrMany)
}

/// `USERPOOLS` of the environment: the `userpools` map alone.
pub(super) struct Pools(pub(super) Vec<UserPool>);

impl<'de> Deserialize<'de> for Pools {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        pools::deserialize(deserializer).map(Pools)
    }
}

/// The `userpools` map, kept in document order (serde maps would sort or hash it); each key
/// is its pool's `name`.
pub(super) mod pools {
    use super::*;

    pub(in crate::settings) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<UserPool>, D::Error> {
        struct PoolsVisitor;
        impl<'de> Visitor<'de> for PoolsVisitor {
            type Value = Vec<UserPool>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from pool name to pool settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<UserPool>, A::Error> {
                let mut pools: Vec<UserPool> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if pools.iter().any(|p| p.name == name) {
                        return Err(de::Error::custom(format_args!(
                            "userpools.{name}: the pool name appears twice"
                        )));
                    }
                    let pool = map.next_value::<UserPool>()?;
                    pools.push(UserPool { name, ..pool });
                }
                Ok(pools)
            }
        }
        deserializer.deserialize_map(PoolsVisitor)
    }

    pub(in crate::settings) fn serialize<S: Serializer>(pools: &[UserPool], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(pools.iter().map(|p| (&p.name, p)))
    }
}
