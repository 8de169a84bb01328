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

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use reqwest::Url;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_path_to_error::Segment;

use crate::error::ConfigError;
use crate::jose;
pub use crate::jose::Algorithm;
pub use crate::resource::ResourceSettings;

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

/// A place a request's token may come from (`token_sources:` in the settings, tried in order;
/// default `[header]`). The first source that holds a token answers, with that token's verdict;
/// a request with none is `missing_token`.
///
/// ```
/// use cognito_core::CognitoSettings;
/// use cognito_core::settings::TokenSource;
/// let settings = CognitoSettings::from_yaml_str(r#"
/// token_sources: [header, {cookie: id_token}, {query: access_token}]
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
/// "#)?;
/// assert_eq!(settings.token_sources[1], TokenSource::Cookie("id_token".into()));
/// # Ok::<(), cognito_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The `jwt_header_name` header, with the `jwt_header_prefix` scheme (`header`).
    Header,
    /// The cookie of this name, whose value is the raw token (`{cookie: <name>}`).
    Cookie(String),
    /// The query parameter of this name, on WebSocket upgrade requests only (`{query: <name>}`):
    /// a browser cannot set a header on a WebSocket, and on any other request a token in the
    /// URL would end up in access logs, proxies and browser history. Its value is the raw
    /// token, as sent (a JWT needs no percent-encoding). Never logged by this crate; keep your
    /// own request logs from printing query strings.
    Query(String),
}

/// `header`, or a map of one entry `cookie: <name>` / `query: <name>`, in every format (serde
/// YAML would otherwise want `!cookie <name>`).
impl Serialize for TokenSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (kind, name) = match self {
            TokenSource::Header => return serializer.serialize_str("header"),
            TokenSource::Cookie(name) => ("cookie", name),
            TokenSource::Query(name) => ("query", name),
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(kind, name)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for TokenSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Source;
        const EXPECTED: &str = "header, {cookie: <name>} or {query: <name>}";
        impl<'de> Visitor<'de> for Source {
            type Value = TokenSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TokenSource, E> {
                match v {
                    "header" => Ok(TokenSource::Header),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &EXPECTED)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TokenSource, A::Error> {
                let source = match map.next_entry::<String, String>()? {
                    Some((kind, name)) if kind == "cookie" => TokenSource::Cookie(name),
                    Some((kind, name)) if kind == "query" => TokenSource::Query(name),
                    _ => return Err(de::Error::invalid_value(de::Unexpected::Map, &EXPECTED)),
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(2, &EXPECTED));
                }
                Ok(source)
            }
        }
        deserializer.deserialize_any(Source)
    }
}

impl TokenSource {
    /// The source's rule: a cookie or parameter name is a non-empty token of RFC 9110 without
    /// `&` (so no `=`, `;`, `&` or space), so it can never match part of another.
    fn validate(&self) -> Result<(), String> {
        let name = match self {
            TokenSource::Header => return Ok(()),
            TokenSource::Cookie(name) | TokenSource::Query(name) => name,
        };
        if name.is_empty() || !name.bytes().all(|b| is_tchar(b) && b != b'&') {
            return Err(format!("{name:?} is not a valid cookie or parameter name"));
        }
        Ok(())
    }
}

/// A character of an HTTP token (RFC 9110 5.6.2): what header, cookie and parameter names
/// are made of here.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
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
///
/// `region`, `userpool_id` and `app_client_id` are required: left out, they read as empty,
/// which [`CognitoSettings::validate`] refuses, naming the pool and the field.
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

    /// The trusted issuers and, for each, where its keys come from:
    /// - issuers: the `issuer` setting, else `https://cognito-idp.<region>.amazonaws.com/<id>`
    ///   and its multi-Region twin `https://issuer-cognito-idp.<region>.amazonaws.com/<id>`;
    /// - keys: `jwks_inline`, else `jwks_url`, else env `AWS_COGNITO_KEYS_URL` (read now),
    ///   else `<issuer>/.well-known/jwks.json`, which for AWS is the default URL.
    pub fn key_sources(&self) -> Result<Vec<(String, KeySource)>, ConfigError> {
        self.key_sources_with_env(keys_url_env().as_deref())
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

    /// The key sources, resolved with `env` as the env override, each checked: a plain-HTTP
    /// JWKS URL on a host that is not loopback is refused unless `insecure_ok`, naming the
    /// setting it came from.
    fn checked_key_sources(
        &self,
        env: Option<&str>,
        insecure_ok: bool,
    ) -> Result<Vec<(String, KeySource)>, ConfigError> {
        let resolved = self.resolve_key_sources(env)?;
        for (_, source, field) in &resolved {
            if let KeySource::Url(text) = source
                && !insecure_ok
                && let Ok(url) = Url::parse(text)
                && url.scheme() == "http"
                && !is_loopback(&url)
            {
                return Err(ConfigError::invalid(
                    Some(&self.name),
                    field,
                    format!(
                        "the JWKS URL {} is plain http on a host that is not loopback; use https \
                         (or set allow_insecure_jwks_url: true on a network you trust end to end)",
                        crate::url_rules::redact(url.as_str())
                    ),
                ));
            }
        }
        Ok(resolved
            .into_iter()
            .map(|(issuer, source, _)| (issuer, source))
            .collect())
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

/// A pool's trusted issuers, each with where its keys come from.
pub(crate) type KeySources = Vec<(String, KeySource)>;

/// The env override of JWKS URLs, if set and not empty.
fn keys_url_env() -> Option<String> {
    std::env::var(KEYS_URL_ENV).ok().filter(|v| !v.is_empty())
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
    #[serde(with = "pools")]
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

    fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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

    /// Checks every settings rule: at least one pool, unique pool names, each pool's required
    /// fields and URLs (https unless loopback or `allow_insecure_jwks_url`), a valid header
    /// name and prefix, a non-empty `algorithms` list, every tuning value within its range.
    /// The loaders call it; call it yourself on settings built in code (a verifier does).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(drop)
    }

    /// [`CognitoSettings::validate`], giving each pool's trusted issuers and key sources in
    /// settings order: the one pass a verifier is built from (the env override read once).
    pub(crate) fn resolve(&self) -> Result<Vec<(&UserPool, KeySources)>, ConfigError> {
        self.default_pool()?;
        let env = keys_url_env();
        let mut resolved = Vec::with_capacity(self.userpools.len());
        for (i, pool) in self.userpools.iter().enumerate() {
            if self.userpools[..i].iter().any(|p| p.name == pool.name) {
                return Err(ConfigError::invalid(
                    Some(&pool.name),
                    "userpools",
                    "the pool name appears twice",
                ));
            }
            pool.validate()?;
            resolved.push((
                pool,
                pool.checked_key_sources(env.as_deref(), self.allow_insecure_jwks_url)?,
            ));
        }
        crate::issuer::validate_issuers(&self.issuers, self.pool_names(), self.allow_insecure_jwks_url)?;
        let header_ok = !self.jwt_header_name.is_empty() && self.jwt_header_name.bytes().all(is_tchar);
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
        if self.token_sources.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "token_sources",
                "must list at least one source",
            ));
        }
        for (i, source) in self.token_sources.iter().enumerate() {
            source
                .validate()
                .map_err(|problem| ConfigError::invalid(None, "token_sources", problem))?;
            if self.token_sources[..i].contains(source) {
                return Err(ConfigError::invalid(None, "token_sources", "lists a source twice"));
            }
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "algorithms",
                "must allow at least one algorithm",
            ));
        }
        self.check_tuning()?;
        if let Some(alb) = &self.alb {
            alb.validate(self.allow_insecure_jwks_url)?;
        }
        if let Some(resource) = &self.resource {
            resource.validate()?;
            // A resource server takes access tokens only: its default pool cannot be for ID tokens.
            if let Some(pool) = self.userpools.first()
                && pool.token_use == TokenUse::Id
            {
                return Err(ConfigError::invalid(
                    Some(&pool.name),
                    "token_use",
                    "is id, but with resource: set the default pool takes access tokens only (use access or any)",
                ));
            }
        }
        Ok(resolved)
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

/// Settings as read, before `validate`: what the loaders parse into (the `Deserialize` impl
/// of [`CognitoSettings`] validates, and its error could only be a string).
struct Unchecked(CognitoSettings);

impl<'de> Deserialize<'de> for Unchecked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CognitoSettings::deserialize(deserializer).map(Unchecked)
    }
}

/// JSON text read by `loaded`, with nothing but whitespace after the value.
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
fn env_fields() -> &'static [&'static str] {
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

fn json_text<T: de::DeserializeOwned>(format: &'static str, outer: &[&str], text: &str) -> Result<T, ConfigError> {
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

/// `app_client_id`: one string or a list of strings. Strings as written: a YAML number
/// (`7`) is refused here as in JSON, not read as the text `"7"`.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
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
struct Pools(Vec<UserPool>);

impl<'de> Deserialize<'de> for Pools {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        pools::deserialize(deserializer).map(Pools)
    }
}

/// The `userpools` map, kept in document order (serde maps would sort or hash it); each key
/// is its pool's `name`.
mod pools {
    use super::*;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<UserPool>, D::Error> {
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

    pub(super) fn serialize<S: Serializer>(pools: &[UserPool], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(pools.iter().map(|p| (&p.name, p)))
    }
}

/// Where AWS publishes a region's load-balancer keys, one PEM per kid.
const AWS_KEY_URL: &str = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}";

/// The settings of `alb:`: which load balancers' user claims are trusted.
///
/// ```
/// use cognito_core::alb::AlbSettings;
/// let alb: AlbSettings = serde_yaml::from_str(r#"
/// region: eu-west-1
/// arns: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188
/// client_ids: [my-app-client]
/// "#).unwrap();
/// assert_eq!(alb.arns.len(), 1);
/// assert_eq!(
///     alb.key_url_for("11111111-2222-3333-4444-555555555555").ok(),
///     Some("https://public-keys.auth.elb.eu-west-1.amazonaws.com/11111111-2222-3333-4444-555555555555".to_owned())
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbSettings {
    /// The load balancers' AWS region, e.g. `eu-west-1` (it names the key URL).
    pub region: String,
    /// The ARNs of the trusted load balancers (one or more; a string or a list in settings):
    /// a token whose `signer` is none of them is `wrong_issuer`.
    #[serde(deserialize_with = "one_or_many")]
    pub arns: Vec<String>,
    /// The accepted app clients (the token header's `client`); empty (the default) accepts any.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// The expected `iss` (the identity provider); `None` (the default) accepts any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Where the keys are, a URL template with `{kid}` (for tests and emulators); by default
    /// `https://public-keys.auth.elb.<region>.amazonaws.com/{kid}`. Plain `http` only on
    /// loopback, unless `allow_insecure_jwks_url` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_url: Option<String>,
    /// The most keys kept (default 64; 1 to 4096): keys a signature has verified with, the
    /// least recently used out first.
    #[serde(default = "default_max_keys")]
    pub max_keys: usize,
}

fn default_max_keys() -> usize {
    64
}

impl AlbSettings {
    /// Settings that trust these load balancers of `region`, any client and issuer, AWS's keys.
    pub fn new(region: impl Into<String>, arns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            region: region.into(),
            arns: arns.into_iter().map(Into::into).collect(),
            client_ids: Vec::new(),
            issuer: None,
            key_url: None,
            max_keys: default_max_keys(),
        }
    }

    pub(crate) fn template(&self) -> String {
        match &self.key_url {
            Some(url) => url.clone(),
            None => AWS_KEY_URL.replace("{region}", &self.region),
        }
    }

    /// Every rule of `alb:`; `allow_insecure` is the top-level `allow_insecure_jwks_url`.
    pub(crate) fn validate(&self, allow_insecure: bool) -> Result<(), ConfigError> {
        let invalid = |field, problem: &str| ConfigError::invalid(None, field, problem.to_owned());
        if self.region.is_empty() || !self.region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid("alb.region", "must be an AWS region (letters, digits and '-')"));
        }
        if self.arns.is_empty() || self.arns.iter().any(String::is_empty) {
            return Err(invalid(
                "alb.arns",
                "must name at least one load balancer ARN, none empty",
            ));
        }
        if self.client_ids.iter().any(String::is_empty) {
            return Err(invalid("alb.client_ids", "an app client id must not be empty"));
        }
        if let Some(issuer) = &self.issuer
            && issuer.is_empty()
        {
            return Err(invalid("alb.issuer", "must not be empty (leave it out to accept any)"));
        }
        if !(1..=4096).contains(&self.max_keys) {
            return Err(invalid(
                "alb.max_keys",
                &format!("must be between 1 and 4096 (got {})", self.max_keys),
            ));
        }
        let template = self.template();
        if template.matches("{kid}").count() != 1 {
            return Err(invalid("alb.key_url", "must hold {kid} exactly once"));
        }
        // A kid is a UUID: check the URL with one in place of {kid}.
        let sample = template.replace("{kid}", "00000000-0000-0000-0000-000000000000");
        let url = Url::parse(&sample).map_err(|e| invalid("alb.key_url", &format!("is not a valid URL ({e})")))?;
        match url.scheme() {
            "https" if url.host().is_some() => Ok(()),
            "http" if url.host().is_some() && (allow_insecure || is_loopback(&url)) => Ok(()),
            "http" if url.host().is_some() => Err(invalid(
                "alb.key_url",
                "is plain http on a host that is not loopback; use https (or set \
                 allow_insecure_jwks_url: true on a network you trust end to end)",
            )),
            _ => Err(invalid("alb.key_url", "must be an http(s) URL")),
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
    fn token_sources_load_in_order_and_bad_ones_fail_at_load() -> Result<(), ConfigError> {
        let yaml = |sources: &str| {
            CognitoSettings::from_yaml_str(&format!(
                "token_sources: {sources}\nuserpools:\n  eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: c}}"
            ))
        };
        let s = yaml("[{query: access_token}, header, {cookie: id_token}]")?;
        let expected = [
            TokenSource::Query("access_token".into()),
            TokenSource::Header,
            TokenSource::Cookie("id_token".into()),
        ];
        assert_eq!(s.token_sources, expected);
        assert_eq!(
            CognitoSettings::from_yaml_str(&format!("userpools: {POOL}"))?.token_sources,
            [TokenSource::Header]
        );
        // The same list in JSON, and a round trip through serialization.
        let json = format!(r#"{{"token_sources": ["header", {{"cookie": "id_token"}}], "userpools": {POOL}}}"#);
        let s = CognitoSettings::from_json_str(&json)?;
        assert_eq!(s.token_sources[1], TokenSource::Cookie("id_token".into()));
        let text = serde_json::to_string(&s).map_err(|e| ConfigError::invalid(None, "test", e.to_string()))?;
        assert_eq!(CognitoSettings::from_json_str(&text)?, s);
        for (bad, problem) in [
            ("[]", "at least one source"),
            ("[header, header]", "twice"),
            ("[{cookie: ''}]", "not a valid cookie or parameter name"),
            ("[{query: 'a&b'}]", "not a valid cookie or parameter name"),
            ("[{cookie: 'a b'}]", "not a valid cookie or parameter name"),
        ] {
            let err = yaml(bad).err();
            assert_eq!(
                err.as_ref().and_then(ConfigError::field),
                Some("token_sources"),
                "{bad}"
            );
            assert!(err.is_some_and(|e| e.to_string().contains(problem)), "{bad}");
        }
        for bad in ["[bearer]", "[{cookie: a, query: b}]", "[{header: a}]", "header"] {
            let err = yaml(bad).err();
            assert!(matches!(err, Some(ConfigError::Parse { .. })), "{bad}: {err:?}");
        }
        Ok(())
    }

    #[test]
    fn every_setting_has_an_environment_variable() -> Result<(), ConfigError> {
        let fields = env_fields();
        for field in [
            "leeway_seconds",
            "jwks",
            "token_sources",
            "algorithms",
            "alb",
            "userpools",
        ] {
            assert!(fields.contains(&field), "{field} missing from {fields:?}");
        }
        let s = CognitoSettings::from_env_with(|k| match k {
            "COGNITO_LEEWAY_SECONDS" => Some("30".into()),
            "COGNITO_JWKS" => Some(r#"{"timeout_ms": 1000}"#.into()),
            "COGNITO_TOKEN_SOURCES" => Some(r#"["header", {"cookie": "id_token"}]"#.into()),
            "COGNITO_JWT_HEADER_NAME" => Some("X-Token".into()),
            "COGNITO_ALLOW_INSECURE_JWKS_URL" => Some("yes".into()),
            "USERPOOLS" => Some(POOL.into()),
            _ => None,
        })?;
        assert_eq!(s.leeway_seconds, 30);
        assert_eq!(s.jwks.timeout_ms, 1000);
        assert_eq!(s.jwks.max_bytes, JwksSettings::default().max_bytes);
        assert_eq!(s.token_sources.len(), 2);
        assert_eq!(s.jwt_header_name, "X-Token");
        assert!(s.allow_insecure_jwks_url);
        // The same setting twice is refused, not guessed at.
        let err = CognitoSettings::from_env_with(|k| match k {
            "JWT_HEADER_NAME" | "COGNITO_JWT_HEADER_NAME" => Some("X".into()),
            "USERPOOLS" => Some(POOL.into()),
            _ => None,
        })
        .err();
        assert_eq!(err.as_ref().and_then(ConfigError::field), Some("JWT_HEADER_NAME"));
        // Out of range fails at load, naming the field.
        let err = CognitoSettings::from_env_with(|k| match k {
            "COGNITO_JWKS" => Some(r#"{"timeout_ms": 0}"#.into()),
            "USERPOOLS" => Some(POOL.into()),
            _ => None,
        })
        .err();
        assert!(err.is_some(), "timeout_ms 0 accepted");
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

    #[test]
    fn a_value_of_the_wrong_type_names_its_pool_field_and_line() {
        let yaml = "userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: c\n    token_use: refresh\n";
        let err = CognitoSettings::from_yaml_str(yaml).err();
        let named = err.as_ref().map(|e| (e.pool(), e.field(), e.location().map(|l| l.0)));
        assert_eq!(named, Some((Some("eu"), Some("token_use"), Some(6))), "{err:?}");
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("userpools.eu.token_use: unknown variant `refresh`"),
            "{text}"
        );

        let json = r#"{"jwks": {"timeout_ms": -1}, "userpools": {"eu": {}}}"#;
        let err = CognitoSettings::from_json_str(json).err();
        let named = err.as_ref().map(|e| (e.pool(), e.field(), e.location()));
        assert_eq!(named, Some((None, Some("jwks.timeout_ms"), Some((1, 26)))), "{err:?}");

        let err = CognitoSettings::from_env_with(|k| {
            (k == "USERPOOLS").then(|| r#"{"eu": {"app_client_id": [7]}}"#.to_owned())
        })
        .err();
        let named = err.as_ref().map(|e| (e.pool(), e.field()));
        assert_eq!(named, Some((Some("eu"), Some("app_client_id"))), "{err:?}");
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("USERPOOLS: eu.app_client_id[0]: invalid type: integer `7`"),
            "{text}"
        );
    }
}
