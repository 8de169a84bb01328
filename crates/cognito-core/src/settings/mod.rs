//! Configuration: [`CognitoSettings`] (also at the crate root) and the types of its fields.
//!
//! Settings load from YAML, JSON, the environment or your own configuration, fill in a default
//! for every field left out, and are checked as a whole. Every problem names the pool and the
//! field ([`ConfigError::pool`], [`ConfigError::field`]), whichever format the settings came
//! from: a value that cannot work is a [`ConfigError::Invalid`]; a value of the wrong type is
//! a [`ConfigError::Parse`], with its line and column too.
//!
//! ```
//! use cognito_core::CognitoSettings;
//! use cognito_core::settings::TokenUse;
//!
//! let settings = CognitoSettings::from_yaml_str(r#"
//! jwks:
//!   refresh_secs: 600
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a, token_use: access}
//! "#)?;
//! assert_eq!(settings.jwks.refresh_secs, 600);
//! assert_eq!(settings.default_pool()?.token_use, TokenUse::Access);
//! # Ok::<(), cognito_core::ConfigError>(())
//! ```

// Each setting is written once: a field with its doc (which states the default) and its value
// in a `Default` impl; serde derives the rest. The loaders track the path of a field that has
// the wrong type, so those errors name the pool and the field as `validate`'s do.

mod alb;
mod env;
mod keys;
mod load;
mod pool;
mod tenants;
#[cfg(test)]
mod tests;
mod types;
mod validate;

use serde::de;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ConfigError;
pub use crate::jose::Algorithm;
pub use crate::resource::ResourceSettings;
pub use alb::AlbSettings;
pub use keys::{KEYS_URL_ENV, KeySource};
pub(crate) use keys::{is_loopback, keys_url_env};
pub use pool::UserPool;
pub(crate) use pool::pools;
pub use tenants::TenantSettings;
pub use types::{JwksSettings, TokenCacheSettings, TokenSource, TokenUse};

/// Everything cognito-core needs to know, loadable from YAML, JSON, env, or embedded in your own
/// configuration as a field (it is `Deserialize` + `Serialize`).
///
/// ```
/// use cognito_core::CognitoSettings;
/// let settings = CognitoSettings::from_yaml_str(r#"
/// userpools:
///   eu:
///     region: eu-west-1
///     userpool_id: eu-west-1_AbCdEf123
///     app_client_id: [client-a, client-b]
///   us:
///     region: us-east-1
///     userpool_id: us-east-1_XyZ
///     app_client_id: client-c
///     token_use: access
/// "#)?;
/// assert_eq!(settings.default_pool()?.name, "eu");
/// assert_eq!(settings.pool("us")?.app_client_id, ["client-c"]);
/// assert_eq!(settings.jwt_header_prefix, "Bearer");
/// # Ok::<(), cognito_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// `remote = "Self"`: the derived code becomes inherent functions; the trait impls below wrap
// them, so a `CognitoSettings` embedded in your own config is validated as it is read.
#[serde(remote = "Self", default)]
pub struct CognitoSettings {
    /// `false` skips only the `exp` comparison; a missing `exp` is still rejected (default true).
    pub check_expiration: bool,
    /// The header holding the token, looked up case-insensitively (default `Authorization`).
    pub jwt_header_name: String,
    /// The auth scheme before the token, compared case-insensitively; `""` = the raw token
    /// (default `Bearer`).
    pub jwt_header_prefix: String,
    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (default 0; at most 3600).
    pub leeway_seconds: u64,
    /// The largest token accepted, after the scheme (default 16384; 1 to 1048576).
    pub max_token_bytes: usize,
    /// Where a request's token may come from, tried in order (default `[header]`); see
    /// [`TokenSource`].
    pub token_sources: Vec<TokenSource>,
    /// The `alg` allow-list (default `[RS256]`).
    pub algorithms: Vec<Algorithm>,
    /// JWKS fetch and cache tuning.
    pub jwks: JwksSettings,
    /// The verified-token cache (default on, 10000 tokens per pool).
    pub token_cache: TokenCacheSettings,
    /// The pools in settings order; the first is the default one (required: at least one). In
    /// settings: a map from pool name to pool, kept in document order.
    #[serde(with = "pool::pools")]
    pub userpools: Vec<UserPool>,
    /// OpenID Connect issuers beside the pools, each chosen by its name as a pool is (default:
    /// none). In settings: a map from name to issuer; see [`crate::issuer::OidcIssuer`].
    #[serde(with = "crate::issuer::map", skip_serializing_if = "Vec::is_empty")]
    pub issuers: Vec<crate::issuer::OidcIssuer>,
    /// Allows a plain `http://` JWKS URL on a host that is not loopback (default `false`).
    ///
    /// Keys fetched over plain HTTP can be replaced by anyone on the network path, who can then
    /// sign tokens of their own that this service accepts. So an `http://` JWKS URL (from
    /// `jwks_url`, `AWS_COGNITO_KEYS_URL` or derived from `issuer`) is refused at load time
    /// unless its host is loopback (`127.0.0.0/8`, `::1`, `localhost`: emulators, tests) or this
    /// is `true`. Set it only for a network you trust end to end.
    pub allow_insecure_jwks_url: bool,
    /// The Application Load Balancers whose user claims (`x-amzn-oidc-data`) are trusted
    /// (default: none); see [`AlbSettings`] and [`crate::alb::AlbVerifier`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbSettings>,
    /// The protected resource this service is (default: none): its identifier, which an
    /// access token of the default pool must carry as `aud`, and the metadata the service
    /// publishes for OAuth and MCP clients; see [`ResourceSettings`] and [`crate::resource`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceSettings>,
    /// The tenants, a pool each, found at run time from a token's issuer (default: none); see
    /// [`TenantSettings`] and [`crate::tenants`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenants: Option<TenantSettings>,
}

/// Every default, and no pools (which [`CognitoSettings::validate`] refuses): what a loader
/// starts from, field by field.
impl Default for CognitoSettings {
    fn default() -> Self {
        Self {
            check_expiration: true,
            jwt_header_name: "Authorization".to_owned(),
            jwt_header_prefix: "Bearer".to_owned(),
            leeway_seconds: 0,
            max_token_bytes: 16384,
            token_sources: vec![TokenSource::Header],
            algorithms: vec![Algorithm::RS256],
            jwks: JwksSettings::default(),
            token_cache: TokenCacheSettings::default(),
            userpools: Vec::new(),
            issuers: Vec::new(),
            allow_insecure_jwks_url: false,
            alb: None,
            resource: None,
            tenants: None,
        }
    }
}

impl<'de> Deserialize<'de> for CognitoSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let settings = CognitoSettings::deserialize(deserializer)?;
        settings.validate().map_err(de::Error::custom)?;
        Ok(settings)
    }
}

impl Serialize for CognitoSettings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CognitoSettings::serialize(self, serializer)
    }
}

impl CognitoSettings {
    /// Settings with these pools and every default.
    pub fn new(userpools: Vec<UserPool>) -> Self {
        Self {
            userpools,
            ..Self::default()
        }
    }

    /// The default pool: the first one (an error only for hand-built settings without pools).
    pub fn default_pool(&self) -> Result<&UserPool, ConfigError> {
        self.userpools.first().ok_or_else(ConfigError::no_pools)
    }

    /// The pool with this name.
    pub fn pool(&self, name: &str) -> Result<&UserPool, ConfigError> {
        self.userpools
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ConfigError::unknown_pool(name))
    }

    /// The names of the pools, in order.
    pub fn pool_names(&self) -> impl Iterator<Item = &str> {
        self.userpools.iter().map(|p| p.name.as_str())
    }
}
