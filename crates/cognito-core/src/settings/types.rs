//! The kinds of values settings take: which tokens a pool accepts, where a request's token
//! comes from, and the JWKS fetch and token-cache tuning.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    pub(super) fn validate(&self) -> Result<(), String> {
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
pub(super) fn is_tchar(b: u8) -> bool {
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
