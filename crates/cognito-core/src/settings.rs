//! Configuration: [`CognitoSettings`] (also at the crate root) and the types of its fields.
//!
//! Settings load from YAML, JSON, the environment or your own configuration, fill in a default
//! for every field left out, and are checked as a whole: every problem is a
//! [`ConfigError::Invalid`] naming the pool and the field,
//! whichever format the settings came from.
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

// Deserialization goes through a loose mirror (`RawSettings`) so that semantic problems are
// reported by `validate` with the pool and the field, not as a parser's message.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use reqwest::Url;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ConfigError;
use crate::jose;
pub use crate::jose::Algorithm;

/// The env var that overrides the JWKS URL of every pool without its own `jwks_url`.
pub const KEYS_URL_ENV: &str = "AWS_COGNITO_KEYS_URL";

/// Which Cognito tokens a pool accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// Access tokens only (`token_use: access`).
    Access,
    /// ID tokens only (`token_use: id`).
    Id,
    /// Both (the default).
    #[default]
    Any,
}

impl TokenUse {
    /// Whether a token whose `token_use` claim is `claim` is accepted.
    pub fn allows(self, claim: &str) -> bool {
        matches!(
            (self, claim),
            (TokenUse::Any, "access" | "id") | (TokenUse::Access, "access") | (TokenUse::Id, "id")
        )
    }
}

impl FromStr for TokenUse {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "access" => Ok(TokenUse::Access),
            "id" => Ok(TokenUse::Id),
            "any" => Ok(TokenUse::Any),
            _ => Err("must be one of access, id, any".to_owned()),
        }
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
            TokenUse::Any => "any",
        })
    }
}

/// JWKS fetching and caching (`jwks:` in the settings). After a failed fetch the next attempt
/// waits 1 s, doubling to at most 60 s; a success resets the wait.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct JwksSettings {
    /// Total deadline of one fetch, connect to last byte (default 3000; 1 to 60000).
    pub timeout_ms: u64,
    /// Largest JWKS body accepted (default 65536; 1 to 16777216).
    pub max_bytes: usize,
    /// Keys older than this are refreshed in the background (default 3600; 1 to 604800).
    pub refresh_secs: u64,
    /// After a refetch for an unknown `kid` that did not find it, no refetch for this long
    /// (default 10; 0 to 86400).
    pub cooldown_secs: u64,
    /// While refreshes fail, the last good keys keep serving for this long (default 86400;
    /// 1 to 2592000).
    pub max_stale_secs: u64,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 3000,
            max_bytes: 65536,
            refresh_secs: 3600,
            cooldown_secs: 10,
            max_stale_secs: 86400,
        }
    }
}

/// The verified-token cache (`token_cache:`): a token that comes back is recognised and skips
/// the parse and the RSA signature check. A token is remembered at its second verification (a
/// fixed-size filter of recent tokens), so tokens seen only once cost no memory; a client that
/// reuses its token is served from the cache from its third request on.
///
/// An entry proves itself by the whole token (a hit compares every byte of it, never a hash
/// alone), belongs to one pool's verifier, and ends at the earliest of: the token's `exp`
/// (plus `leeway_seconds`, whatever `check_expiration` says: the cache never extends a token's
/// life), the replacement of the key set it was verified with (every successful JWKS refresh,
/// so a removed or re-keyed kid ends its entries), and eviction (oldest first) once
/// `max_entries` or `max_bytes` is reached. On a hit, `nbf` / `iat`, the route's groups and
/// scopes and the caller's claims type are still checked.
///
/// Memory: each entry holds the token and its claims parsed. A typical Cognito access token
/// weighs about 4 KB so; a token inflated with custom attributes up to `max_token_bytes` can
/// weigh some hundred KB parsed. `max_bytes` bounds the sum per pool, as the cache counts it
/// (generously: the count errs high), so a pool's cache stays under `max_bytes` (16 MiB by
/// default) whatever its tokens carry; [`crate::status::TokenCacheStats::bytes`] shows the count.
///
/// ```
/// use cognito_core::CognitoSettings;
/// let settings = CognitoSettings::from_yaml_str(r#"
/// token_cache:
///   max_entries: 1000
///   max_bytes: 4194304
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
/// "#)?;
/// assert!(settings.token_cache.enabled);
/// assert_eq!(settings.token_cache.max_entries, 1000);
/// assert_eq!(settings.token_cache.max_bytes, 4 << 20);
/// # Ok::<(), cognito_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenCacheSettings {
    /// Whether verified tokens are remembered at all (default true).
    pub enabled: bool,
    /// The most tokens remembered per pool (default 10000, at most 1000000); must be positive
    /// when enabled.
    pub max_entries: usize,
    /// The most bytes of entries remembered per pool, as the cache counts them (default
    /// 16777216, 16 MiB; at most 1073741824, 1 GiB); must be positive when enabled.
    pub max_bytes: usize,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_entries: 10_000,
            max_bytes: 16 << 20,
        }
    }
}

/// One Cognito user pool and the tokens accepted from it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPool {
    /// The name the pool is chosen by (its key under `userpools`).
    pub name: String,
    /// AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// User pool id, e.g. `eu-west-1_AbCdEf123`.
    pub userpool_id: String,
    /// Accepted app clients (non-empty). In settings: a string or a list.
    pub app_client_id: Vec<String>,
    /// Accepted token types (default `any`).
    pub token_use: TokenUse,
    /// Where the pool's keys are (`https://`, `http://` or `file://`); see [`UserPool::key_sources`].
    pub jwks_url: Option<String>,
    /// The expected `iss`, for emulators; by default both AWS issuer forms are trusted.
    pub issuer: Option<String>,
    /// The JWKS itself, inline (no fetch ever). Takes precedence over every URL.
    pub jwks_inline: Option<serde_json::Value>,
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
            token_use: TokenUse::Any,
            jwks_url: None,
            issuer: None,
            jwks_inline: None,
        }
    }

    /// The trusted issuers and, for each, where its keys come from:
    /// - issuers: the `issuer` setting, else `https://cognito-idp.<region>.amazonaws.com/<id>`
    ///   and its multi-Region twin `https://issuer-cognito-idp.<region>.amazonaws.com/<id>`;
    /// - keys: `jwks_inline`, else `jwks_url`, else env `AWS_COGNITO_KEYS_URL` (read now),
    ///   else `<issuer>/.well-known/jwks.json`, which for AWS is the default URL.
    pub fn key_sources(&self) -> Result<Vec<(String, KeySource)>, ConfigError> {
        let env = std::env::var(KEYS_URL_ENV).ok().filter(|v| !v.is_empty());
        self.key_sources_with_env(env.as_deref())
    }

    fn key_sources_with_env(&self, env: Option<&str>) -> Result<Vec<(String, KeySource)>, ConfigError> {
        Ok(self
            .resolve_key_sources(env)?
            .into_iter()
            .map(|(issuer, source, _)| (issuer, source))
            .collect())
    }

    /// The precedence itself, the one place it is written: each trusted issuer, its key
    /// source, and the setting that chose that source (the field an error about it names).
    fn resolve_key_sources(&self, env: Option<&str>) -> Result<Vec<(String, KeySource, &'static str)>, ConfigError> {
        let issuers = match &self.issuer {
            Some(issuer) => vec![issuer.trim_end_matches('/').to_owned()],
            None => vec![
                format!("https://cognito-idp.{}.amazonaws.com/{}", self.region, self.userpool_id),
                format!(
                    "https://issuer-cognito-idp.{}.amazonaws.com/{}",
                    self.region, self.userpool_id
                ),
            ],
        };
        // Without an issuer setting the key URL is derived from region and pool id.
        let derived_from = if self.issuer.is_some() { "issuer" } else { "region" };
        let pool = Some(self.name.as_str());
        issuers
            .into_iter()
            .map(|issuer| {
                let (source, field) = if let Some(jwks) = &self.jwks_inline {
                    (Ok(KeySource::Inline(jwks.clone())), "jwks_inline")
                } else if let Some(url) = &self.jwks_url {
                    (KeySource::url(url), "jwks_url")
                } else if let Some(url) = env {
                    (KeySource::url(url), KEYS_URL_ENV)
                } else {
                    (KeySource::url(&format!("{issuer}/.well-known/jwks.json")), derived_from)
                };
                let source = source.map_err(|p| ConfigError::invalid(pool, field, p))?;
                Ok((issuer, source, field))
            })
            .collect()
    }

    /// Refuses a plain-HTTP JWKS URL on a non-loopback host, naming the setting it came from.
    fn check_transport(&self) -> Result<(), ConfigError> {
        let env = std::env::var(KEYS_URL_ENV).ok().filter(|v| !v.is_empty());
        for (_, source, field) in self.resolve_key_sources(env.as_deref())? {
            if let KeySource::Url(text) = source
                && let Ok(url) = Url::parse(&text)
                && url.scheme() == "http"
                && !is_loopback(&url)
            {
                return Err(ConfigError::invalid(
                    Some(&self.name),
                    field,
                    format!(
                        "the JWKS URL {url} is plain http on a host that is not loopback; use https \
                         (or set allow_insecure_jwks_url: true on a network you trust end to end)"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
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
        // Resolving checks jwks_url and the env override.
        self.key_sources().map(drop)
    }
}

/// Whether the URL's host is loopback: `127.0.0.0/8`, `::1` or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Where a pool's keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// Fetched over HTTP(S) (or read from a `file://` URL), cached, refreshed: the URL as
    /// validated and normalised at load.
    Url(String),
    /// Given inline; never fetched.
    Inline(serde_json::Value),
}

impl KeySource {
    fn url(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?;
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(KeySource::Url(url.into())),
            "file" if url.to_file_path().is_ok() => Ok(KeySource::Url(url.into())),
            _ => Err("must be an http://, https:// or file:// URL".to_owned()),
        }
    }
}

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
#[serde(try_from = "RawSettings", into = "RawSettings")]
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
    /// The `alg` allow-list (default `[RS256]`).
    pub algorithms: Vec<Algorithm>,
    /// JWKS fetch and cache tuning.
    pub jwks: JwksSettings,
    /// The verified-token cache (default on, 10000 tokens per pool).
    pub token_cache: TokenCacheSettings,
    /// The pools in settings order; the first is the default one.
    pub userpools: Vec<UserPool>,
    /// Allows a plain `http://` JWKS URL on a host that is not loopback (default `false`).
    ///
    /// Keys fetched over plain HTTP can be replaced by anyone on the network path, who can then
    /// sign tokens of their own that this service accepts. So an `http://` JWKS URL (from
    /// `jwks_url`, `AWS_COGNITO_KEYS_URL` or derived from `issuer`) is refused at load time
    /// unless its host is loopback (`127.0.0.0/8`, `::1`, `localhost`: emulators, tests) or this
    /// is `true`. Set it only for a network you trust end to end.
    pub allow_insecure_jwks_url: bool,
}

impl CognitoSettings {
    /// Settings with these pools and every default.
    pub fn new(userpools: Vec<UserPool>) -> Self {
        Self {
            check_expiration: true,
            jwt_header_name: "Authorization".to_owned(),
            jwt_header_prefix: "Bearer".to_owned(),
            leeway_seconds: 0,
            max_token_bytes: 16384,
            algorithms: vec![Algorithm::RS256],
            jwks: JwksSettings::default(),
            token_cache: TokenCacheSettings::default(),
            userpools,
            allow_insecure_jwks_url: false,
        }
    }

    /// Loads a YAML file.
    pub fn from_yaml(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_yaml_str(&read(path.as_ref())?)
    }

    /// Parses YAML text.
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        yaml::from_str::<RawSettings>(text)?.try_into()
    }

    /// Loads a JSON file.
    pub fn from_json(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_json_str(&read(path.as_ref())?)
    }

    /// Parses JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str::<RawSettings>(text)
            .map_err(|e| ConfigError::json("JSON", &e))?
            .try_into()
    }

    /// Reads `CHECK_EXPIRATION`, `JWT_HEADER_NAME`, `JWT_HEADER_PREFIX` (each optional) and
    /// `USERPOOLS` (a JSON object of pools, required) from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut doc = serde_json::Map::new();
        if let Some(value) = var("CHECK_EXPIRATION") {
            let flag = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(ConfigError::invalid(None, "CHECK_EXPIRATION", "must be true or false")),
            };
            doc.insert("check_expiration".into(), flag.into());
        }
        for (env, field) in [
            ("JWT_HEADER_NAME", "jwt_header_name"),
            ("JWT_HEADER_PREFIX", "jwt_header_prefix"),
        ] {
            if let Some(value) = var(env) {
                doc.insert(field.into(), value.into());
            }
        }
        let pools = var("USERPOOLS").ok_or_else(|| ConfigError::invalid(None, "USERPOOLS", "is not set"))?;
        let environment = |e: serde_json::Error| match ConfigError::json("environment", &e) {
            ConfigError::Parse { message, location, .. } => ConfigError::Parse {
                format: "environment",
                message: format!("USERPOOLS: {message}"),
                location,
            },
            other => other,
        };
        // USERPOOLS is parsed as its own text (its errors point into it), into the ordered map.
        let mut raw: RawSettings =
            serde_json::from_value(serde_json::Value::Object(doc)).map_err(|e| ConfigError::json("environment", &e))?;
        raw.userpools = serde_json::from_str(&pools).map_err(environment)?;
        raw.try_into()
    }

    /// Builds settings from any configuration struct of yours that serializes with the same
    /// field names; extra fields are ignored. Pools keep their order if your map type keeps it.
    pub fn from_global_settings(settings: &impl Serialize) -> Result<Self, ConfigError> {
        let text = serde_json::to_string(settings).map_err(|e| ConfigError::json("JSON", &e))?;
        Self::from_json_str(&text)
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
            .ok_or_else(|| ConfigError::invalid(Some(name), "userpools", "no pool has this name"))
    }

    /// The names of the pools, in order.
    pub fn pool_names(&self) -> impl Iterator<Item = &str> {
        self.userpools.iter().map(|p| p.name.as_str())
    }

    /// Checks every settings rule: at least one pool, unique pool names, each pool's required
    /// fields and URLs (https unless loopback or `allow_insecure_jwks_url`), a valid header
    /// name and prefix, a non-empty `algorithms` list, every tuning value within its range.
    /// The loaders call it; call it yourself on settings built in code (a verifier does).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.default_pool()?;
        for (i, pool) in self.userpools.iter().enumerate() {
            if self.userpools[..i].iter().any(|p| p.name == pool.name) {
                return Err(ConfigError::invalid(
                    Some(&pool.name),
                    "userpools",
                    "the pool name appears twice",
                ));
            }
            pool.validate()?;
            if !self.allow_insecure_jwks_url {
                pool.check_transport()?;
            }
        }
        let header_ok = !self.jwt_header_name.is_empty()
            && self
                .jwt_header_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !header_ok {
            return Err(ConfigError::invalid(
                None,
                "jwt_header_name",
                "must be a valid HTTP header name",
            ));
        }
        if !self.jwt_header_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::invalid(
                None,
                "jwt_header_prefix",
                "must be a single word of visible ASCII (or empty for a raw token)",
            ));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "algorithms",
                "must allow at least one algorithm",
            ));
        }
        self.check_tuning()
    }

    /// Every tuning value within its range, the one table of them: a value beyond its range
    /// is a mistake (a deadline of centuries, a cache larger than memory), and some would
    /// overflow a clock's arithmetic at request time.
    fn check_tuning(&self) -> Result<(), ConfigError> {
        let (j, t) = (&self.jwks, &self.token_cache);
        if t.enabled && t.max_entries == 0 {
            return Err(ConfigError::invalid(
                None,
                "token_cache.max_entries",
                "must be positive (set token_cache.enabled: false to switch the cache off)",
            ));
        }
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        // A switched-off cache leaves its sizes unused: 0 is fine there.
        let cache_least = u64::from(t.enabled);
        let table: [(&str, u64, u64, u64); 9] = [
            ("leeway_seconds", self.leeway_seconds, 0, 3_600),
            ("max_token_bytes", wide(self.max_token_bytes), 1, 1 << 20),
            ("jwks.timeout_ms", j.timeout_ms, 1, 60_000),
            ("jwks.max_bytes", wide(j.max_bytes), 1, 16 << 20),
            ("jwks.refresh_secs", j.refresh_secs, 1, 7 * 86_400),
            ("jwks.cooldown_secs", j.cooldown_secs, 0, 86_400),
            ("jwks.max_stale_secs", j.max_stale_secs, 1, 30 * 86_400),
            ("token_cache.max_entries", wide(t.max_entries), cache_least, 1_000_000),
            ("token_cache.max_bytes", wide(t.max_bytes), cache_least, 1 << 30),
        ];
        for (field, value, least, most) in table {
            if value < least || value > most {
                return Err(ConfigError::invalid(
                    None,
                    field,
                    format!("must be between {least} and {most} (got {value})"),
                ));
            }
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// YAML lives here alone, so the YAML crate can be swapped in one place.
mod yaml {
    use crate::error::ConfigError;

    pub(super) fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
        serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
            format: "YAML",
            message: e.to_string(),
            location: e.location().map(|l| (l.line(), l.column())),
        })
    }
}

// ---- the loose serde mirror -------------------------------------------------------------

fn yes() -> bool {
    true
}
fn authorization() -> String {
    "Authorization".to_owned()
}
fn bearer() -> String {
    "Bearer".to_owned()
}
fn token_cap() -> usize {
    16384
}
fn rs256() -> Vec<String> {
    vec!["RS256".to_owned()]
}

#[derive(Serialize, Deserialize)]
struct RawSettings {
    #[serde(default = "yes")]
    check_expiration: bool,
    #[serde(default = "authorization")]
    jwt_header_name: String,
    #[serde(default = "bearer")]
    jwt_header_prefix: String,
    #[serde(default)]
    leeway_seconds: u64,
    #[serde(default = "token_cap")]
    max_token_bytes: usize,
    #[serde(default = "rs256")]
    algorithms: Vec<String>,
    #[serde(default)]
    jwks: JwksSettings,
    #[serde(default)]
    token_cache: TokenCacheSettings,
    #[serde(default)]
    userpools: RawPools,
    #[serde(default)]
    allow_insecure_jwks_url: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct RawPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    userpool_id: Option<String>,
    /// A string or a list of strings; checked by hand so the error names the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app_client_id: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks_inline: Option<serde_json::Value>,
}

/// The `userpools` map, kept in document order (serde maps would sort or hash it).
#[derive(Default)]
struct RawPools(Vec<(String, RawPool)>);

impl<'de> Deserialize<'de> for RawPools {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PoolsVisitor;
        impl<'de> Visitor<'de> for PoolsVisitor {
            type Value = RawPools;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from pool name to pool settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPools, A::Error> {
                let mut pools: Vec<(String, RawPool)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if pools.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format_args!(
                            "userpools.{name}: the pool name appears twice"
                        )));
                    }
                    pools.push((name, map.next_value()?));
                }
                Ok(RawPools(pools))
            }
        }
        d.deserialize_map(PoolsVisitor)
    }
}

impl Serialize for RawPools {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl TryFrom<RawSettings> for CognitoSettings {
    type Error = ConfigError;

    fn try_from(raw: RawSettings) -> Result<Self, ConfigError> {
        let algorithms = raw
            .algorithms
            .iter()
            .map(|a| {
                Algorithm::from_jose(a).ok_or_else(|| {
                    ConfigError::invalid(None, "algorithms", "only RS256, RS384 and RS512 can be allowed")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let userpools = raw
            .userpools
            .0
            .into_iter()
            .map(|(name, p)| pool_from_raw(name, p))
            .collect::<Result<Vec<_>, _>>()?;
        let settings = CognitoSettings {
            check_expiration: raw.check_expiration,
            jwt_header_name: raw.jwt_header_name,
            jwt_header_prefix: raw.jwt_header_prefix,
            leeway_seconds: raw.leeway_seconds,
            max_token_bytes: raw.max_token_bytes,
            algorithms,
            jwks: raw.jwks,
            token_cache: raw.token_cache,
            userpools,
            allow_insecure_jwks_url: raw.allow_insecure_jwks_url,
        };
        settings.validate()?;
        Ok(settings)
    }
}

fn pool_from_raw(name: String, raw: RawPool) -> Result<UserPool, ConfigError> {
    let pool = Some(name.as_str());
    let required = |value: Option<String>, field: &'static str| {
        value.ok_or_else(|| ConfigError::invalid(pool, field, "is required"))
    };
    let app_client_id = match raw.app_client_id {
        Some(serde_json::Value::String(id)) => vec![id],
        Some(serde_json::Value::Array(ids)) => ids
            .into_iter()
            .map(|id| match id {
                serde_json::Value::String(id) => Ok(id),
                _ => Err(ConfigError::invalid(
                    pool,
                    "app_client_id",
                    "every app client id must be a string",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ConfigError::invalid(
                pool,
                "app_client_id",
                "must be a string or a list of strings",
            ));
        }
        None => return Err(ConfigError::invalid(pool, "app_client_id", "is required")),
    };
    let token_use = match raw.token_use.as_deref() {
        None => TokenUse::Any,
        Some(value) => value
            .parse()
            .map_err(|p: String| ConfigError::invalid(pool, "token_use", p))?,
    };
    Ok(UserPool {
        region: required(raw.region, "region")?,
        userpool_id: required(raw.userpool_id, "userpool_id")?,
        app_client_id,
        token_use,
        jwks_url: raw.jwks_url,
        issuer: raw.issuer,
        jwks_inline: raw.jwks_inline,
        name,
    })
}

impl From<CognitoSettings> for RawSettings {
    fn from(s: CognitoSettings) -> Self {
        RawSettings {
            check_expiration: s.check_expiration,
            jwt_header_name: s.jwt_header_name,
            jwt_header_prefix: s.jwt_header_prefix,
            leeway_seconds: s.leeway_seconds,
            max_token_bytes: s.max_token_bytes,
            algorithms: s.algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
            jwks: s.jwks,
            allow_insecure_jwks_url: s.allow_insecure_jwks_url,
            token_cache: s.token_cache,
            userpools: RawPools(
                s.userpools
                    .into_iter()
                    .map(|p| {
                        let raw = RawPool {
                            region: Some(p.region),
                            userpool_id: Some(p.userpool_id),
                            app_client_id: Some(p.app_client_id.into()),
                            token_use: Some(p.token_use.to_string()),
                            jwks_url: p.jwks_url,
                            issuer: p.issuer,
                            jwks_inline: p.jwks_inline,
                        };
                        (p.name, raw)
                    })
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = r#"{"eu": {"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"}}"#;

    #[test]
    fn env_loader_reads_the_four_variables_in_order() -> Result<(), ConfigError> {
        let pools = r#"{"zz": {"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"},
                        "aa": {"region": "us-east-1", "userpool_id": "us-east-1_B", "app_client_id": ["d", "e"]}}"#;
        let s = CognitoSettings::from_env_with(|k| match k {
            "CHECK_EXPIRATION" => Some("False".into()),
            "JWT_HEADER_NAME" => Some("X-Token".into()),
            "JWT_HEADER_PREFIX" => Some("".into()),
            "USERPOOLS" => Some(pools.into()),
            _ => None,
        })?;
        assert!(!s.check_expiration);
        assert_eq!(s.jwt_header_name, "X-Token");
        assert_eq!(s.jwt_header_prefix, "");
        assert_eq!(s.pool_names().collect::<Vec<_>>(), ["zz", "aa"]);
        assert_eq!(s.pool("aa")?.app_client_id, ["d", "e"]);
        Ok(())
    }

    #[test]
    fn env_loader_errors_name_the_variable() {
        let err = CognitoSettings::from_env_with(|_| None).err();
        assert_eq!(err.as_ref().and_then(ConfigError::field), Some("USERPOOLS"));
        let err = CognitoSettings::from_env_with(|k| match k {
            "CHECK_EXPIRATION" => Some("maybe".into()),
            "USERPOOLS" => Some(POOL.into()),
            _ => None,
        })
        .err();
        assert_eq!(err.as_ref().and_then(ConfigError::field), Some("CHECK_EXPIRATION"));
        let err = CognitoSettings::from_env_with(|k| (k == "USERPOOLS").then(|| "[1]".to_owned())).err();
        assert!(
            matches!(
                err,
                Some(ConfigError::Parse {
                    format: "environment",
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn jwks_url_precedence_pool_then_env_then_issuer() -> Result<(), ConfigError> {
        let mut pool = UserPool::new("eu", "eu-west-1", "eu-west-1_A", ["c"]);
        let urls = |pool: &UserPool, env: Option<&str>| -> Result<Vec<String>, ConfigError> {
            Ok(pool
                .key_sources_with_env(env)?
                .into_iter()
                .map(|(_, s)| match s {
                    KeySource::Url(u) => u.to_string(),
                    KeySource::Inline(_) => "inline".to_owned(),
                })
                .collect())
        };
        assert_eq!(
            urls(&pool, None)?,
            [
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json",
                "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json"
            ]
        );
        assert_eq!(
            urls(&pool, Some("http://127.0.0.1:1/env.json"))?,
            ["http://127.0.0.1:1/env.json"; 2]
        );
        pool.jwks_url = Some("http://127.0.0.1:1/pool.json".into());
        assert_eq!(
            urls(&pool, Some("http://127.0.0.1:1/env.json"))?,
            ["http://127.0.0.1:1/pool.json"; 2]
        );
        pool.jwks_url = None;
        pool.issuer = Some("http://127.0.0.1:9229/local_1".into());
        assert_eq!(
            urls(&pool, None)?,
            ["http://127.0.0.1:9229/local_1/.well-known/jwks.json"]
        );
        let err = pool.key_sources_with_env(Some("not a url")).err();
        assert_eq!(err.as_ref().and_then(ConfigError::field), Some(KEYS_URL_ENV));
        Ok(())
    }

    #[test]
    fn parse_errors_say_where() {
        let err = CognitoSettings::from_yaml_str("userpools:\n  eu:\n    region: [\n").err();
        assert!(err.as_ref().and_then(ConfigError::location).is_some(), "{err:?}");
        let err = CognitoSettings::from_json_str("{\"userpools\": {\"eu\": 7}}").err();
        let (line, column) = err.as_ref().and_then(ConfigError::location).unwrap();
        assert_eq!(line, 1);
        assert!(column > 10, "{err:?}");
        let err = CognitoSettings::from_env_with(|k| (k == "USERPOOLS").then(|| "{\n  \"eu\": [".to_owned())).err();
        assert_eq!(
            err.as_ref().and_then(ConfigError::location).map(|l| l.0),
            Some(2),
            "{err:?}"
        );
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.starts_with("settings are not valid environment: USERPOOLS: "),
            "{text}"
        );
    }
}
