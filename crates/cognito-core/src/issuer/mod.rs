//! Any OpenID Connect issuer beside the Cognito pools (Auth0, Entra ID, Okta, Keycloak, an
//! internal one): its settings under `issuers:`, their validation, where its keys are (its
//! `jwks_url`, else OpenID Connect discovery), and the claims rules of its tokens.
//!
//! ```
//! use cognito_core::issuer::{OidcIssuer, TokenType, JwsAlgorithm};
//! let issuers: Vec<OidcIssuer> = cognito_core::issuer::issuers_from_yaml_str(r#"
//! partners:
//!   issuer: https://login.partner.example
//!   audience: [https://api.example.com]
//!   algorithms: [RS256, ES256]
//!   token_type: at+jwt
//! "#)?;
//! assert_eq!(issuers[0].name, "partners");
//! assert_eq!(issuers[0].algorithms, [JwsAlgorithm::RS256, JwsAlgorithm::ES256]);
//! assert_eq!(issuers[0].token_type, TokenType::AtJwt);
//! assert_eq!(
//!     issuers[0].discovery_url().as_deref(),
//!     Some("https://login.partner.example/.well-known/openid-configuration")
//! );
//! # Ok::<(), cognito_core::ConfigError>(())
//! ```
//!
//! Their tokens skip Cognito's own rules (`token_use`, `client_id`): `iss` must equal
//! `issuer`; `aud`, a string or an array, must hold one of `audience` (else `wrong_client`);
//! with `token_type: at+jwt` the JOSE header's `typ` must say so (RFC 9068); scopes come from
//! `scope` (space-separated) or `scp` (an array of strings). Times follow the pools' rule.

use std::fmt;

use reqwest::Url;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{AuthError, ConfigError, ErrorKind};
pub use crate::jws::JwsAlgorithm;
use crate::settings::KeySource;
use crate::token::{self, ClaimsView, Skipped, Str};
use crate::url_rules::{insecure_key_url_problem, is_insecure_key_url};

/// The path OpenID Connect discovery appends to the issuer (OpenID Connect Discovery 1.0, 4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Which tokens of the issuer are accepted, by their JOSE `typ` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TokenType {
    /// Any token the other rules accept (the default).
    #[default]
    #[serde(rename = "any")]
    Any,
    /// JWT access tokens only: `typ` `at+jwt` or `application/at+jwt` (RFC 9068 2.1), so an
    /// ID token of the same issuer and audience cannot stand in for an access token.
    #[serde(rename = "at+jwt")]
    AtJwt,
}

/// One OpenID Connect issuer and the tokens accepted from it (an entry of `issuers:`).
///
/// `issuer` and `audience` are required: left out, they read as empty, which
/// [`validate_issuers`] refuses, naming the issuer and the field.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcIssuer {
    /// The name the issuer is chosen by, as a pool's is (its key under `issuers`).
    #[serde(skip)]
    pub name: String,
    /// The issuer identifier, an `https` URL (plain `http` only on loopback): the exact `iss`
    /// of its tokens, and where discovery starts (required).
    pub issuer: String,
    /// The accepted audiences: a token's `aud` must hold one of them (required, at least one).
    pub audience: Vec<String>,
    /// Where its keys are (default: none, found by discovery at
    /// `<issuer>/.well-known/openid-configuration`, its `jwks_uri`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// The `alg` allow-list (default `[RS256]`; also RS384, RS512, ES256, ES384, EdDSA).
    pub algorithms: Vec<JwsAlgorithm>,
    /// Which tokens are accepted by their `typ` header (default `any`).
    pub token_type: TokenType,
}

/// As derived, but `jwks_url` without user info, query or fragment, as for a pool's, so
/// logging the settings publishes no secret.
impl fmt::Debug for OidcIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcIssuer")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_url", &self.jwks_url.as_deref().map(crate::url_rules::redact))
            .field("algorithms", &self.algorithms)
            .field("token_type", &self.token_type)
            .finish()
    }
}

impl Default for OidcIssuer {
    fn default() -> Self {
        Self {
            name: String::new(),
            issuer: String::new(),
            audience: Vec::new(),
            jwks_url: None,
            algorithms: vec![JwsAlgorithm::RS256],
            token_type: TokenType::Any,
        }
    }
}

impl OidcIssuer {
    /// An issuer with these name, identifier and audiences, and every default.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            name: name.into(),
            issuer: issuer.into(),
            audience: audience.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The discovery document's URL when no `jwks_url` is set: `<issuer>` with
    /// `/.well-known/openid-configuration` appended to its path.
    pub fn discovery_url(&self) -> Option<String> {
        match self.jwks_url {
            Some(_) => None,
            None => Some(format!("{}{DISCOVERY_PATH}", self.issuer.trim_end_matches('/'))),
        }
    }

    /// Where the keys are when `jwks_url` is set (validated).
    pub(crate) fn key_source(&self) -> Option<KeySource> {
        self.jwks_url.as_deref().map(|url| KeySource::Url(url.to_owned()))
    }

    fn validate(&self, insecure_ok: bool) -> Result<(), ConfigError> {
        let at = Some(self.name.as_str());
        if self.name.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "issuers",
                "an issuer name must not be empty",
            ));
        }
        if self.issuer.is_empty() {
            return Err(ConfigError::invalid(at, "issuer", "is required and must not be empty"));
        }
        // The issuer is where discovery fetches from, so it obeys the key URL rule too.
        let issuer = web_url(&self.issuer, insecure_ok, "issuer").map_err(|p| ConfigError::invalid(at, "issuer", p))?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(ConfigError::invalid(
                at,
                "issuer",
                "must have no query or fragment (OpenID Connect issuer identifiers have none)",
            ));
        }
        if self.audience.is_empty() {
            return Err(ConfigError::invalid(at, "audience", "must name at least one audience"));
        }
        if self.audience.iter().any(String::is_empty) {
            return Err(ConfigError::invalid(at, "audience", "an audience must not be empty"));
        }
        if let Some(url) = &self.jwks_url {
            web_url(url, insecure_ok, "JWKS URL").map_err(|p| ConfigError::invalid(at, "jwks_url", p))?;
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                at,
                "algorithms",
                "must allow at least one algorithm",
            ));
        }
        for (i, alg) in self.algorithms.iter().enumerate() {
            if self.algorithms[..i].contains(alg) {
                return Err(ConfigError::invalid(at, "algorithms", format!("lists {alg} twice")));
            }
        }
        Ok(())
    }

    /// The claims rules of this issuer.
    pub(crate) fn rules(&self) -> OidcRules {
        OidcRules {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            algorithms: self.algorithms.clone(),
            token_type: self.token_type,
        }
    }
}

/// `text` as an `http(s)` URL with a host, plain `http` only on loopback unless `insecure_ok`.
fn web_url(text: &str, insecure_ok: bool, what: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an https:// URL (http:// on loopback)".to_owned());
    }
    if !insecure_ok && is_insecure_key_url(&url) {
        return Err(insecure_key_url_problem(what, &url));
    }
    Ok(url)
}

/// Checks the issuers of one settings value: each one's fields, no name twice, and no name
/// that a pool has (a named issuer is chosen the way a pool is, so the names share one space).
pub fn validate_issuers<'a>(
    issuers: &[OidcIssuer],
    pool_names: impl IntoIterator<Item = &'a str>,
    allow_insecure_jwks_url: bool,
) -> Result<(), ConfigError> {
    let pools: Vec<&str> = pool_names.into_iter().collect();
    for (i, issuer) in issuers.iter().enumerate() {
        if issuers[..i].iter().any(|other| other.name == issuer.name) {
            return Err(ConfigError::invalid(
                Some(&issuer.name),
                "issuers",
                "the issuer name appears twice",
            ));
        }
        if pools.contains(&issuer.name.as_str()) {
            return Err(ConfigError::invalid(
                Some(&issuer.name),
                "issuers",
                "a user pool has this name already; pools and issuers are chosen by one name",
            ));
        }
        issuer.validate(allow_insecure_jwks_url)?;
    }
    Ok(())
}

/// The issuers of a YAML text holding just the `issuers:` map (name -> issuer), validated on
/// their own (no pool names to clash with, plain `http` only on loopback).
pub fn issuers_from_yaml_str(text: &str) -> Result<Vec<OidcIssuer>, ConfigError> {
    let issuers = serde_yaml::from_str::<IssuerMap>(text)
        .map_err(|e| ConfigError::invalid(None, "issuers", e.to_string()))?
        .0;
    validate_issuers(&issuers, [], false)?;
    Ok(issuers)
}

/// The `issuers:` map, kept in document order, each issuer named by its key.
#[derive(Debug, Clone, Default, PartialEq)]
struct IssuerMap(Vec<OidcIssuer>);

impl<'de> Deserialize<'de> for IssuerMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        map::deserialize(deserializer).map(IssuerMap)
    }
}

/// Serde of `issuers:` as a map from name to issuer, in document order; for a settings
/// field `#[serde(with = "cognito_core::issuer::map")]`.
pub mod map {
    use super::*;

    /// The map as a list of named issuers; a name twice is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<OidcIssuer>, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = Vec<OidcIssuer>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from issuer name to issuer settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<OidcIssuer>, A::Error> {
                let mut issuers: Vec<OidcIssuer> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if issuers.iter().any(|i| i.name == name) {
                        return Err(de::Error::custom(format_args!(
                            "issuers.{name}: the issuer name appears twice"
                        )));
                    }
                    let issuer = map.next_value::<OidcIssuer>()?;
                    issuers.push(OidcIssuer { name, ..issuer });
                }
                Ok(issuers)
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }

    /// The list back as a map from name to issuer.
    pub fn serialize<S: Serializer>(issuers: &[OidcIssuer], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(issuers.iter().map(|i| (&i.name, i)))
    }
}

/// The `jwks_uri` of an OpenID Connect discovery document fetched for `issuer`, checked: the
/// document's `issuer` must be exactly the configured one (OpenID Connect Discovery 1.0, 4.3:
/// else another issuer's keys could be served under this name), and the URI obeys the key URL
/// rule (`https`, plain `http` only on loopback unless `insecure_ok`).
pub(crate) fn jwks_uri_of_discovery(doc: &[u8], issuer: &str, insecure_ok: bool) -> Result<String, String> {
    let doc: Value = serde_json::from_slice(doc).map_err(|e| format!("the discovery document is not JSON ({e})"))?;
    let stated = doc.get("issuer").and_then(Value::as_str);
    if stated != Some(issuer) {
        return Err("the discovery document names another issuer".to_owned());
    }
    let uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("the discovery document has no jwks_uri")?;
    web_url(uri, insecure_ok, "jwks_uri").map(|url| url.into())
}

/// The claims rules of one OpenID Connect issuer, as a verifier applies them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OidcRules {
    issuer: String,
    audience: Vec<String>,
    algorithms: Vec<JwsAlgorithm>,
    token_type: TokenType,
}

impl OidcRules {
    /// The header policy: `alg` one of the allowed ones (an absent `alg` is in no list) ->
    /// else `unsupported_alg`; with `token_type: at+jwt`, `typ` says so -> else
    /// `wrong_token_use`.
    pub(crate) fn check_header(&self, alg: Option<&str>, typ: Option<&str>) -> Result<JwsAlgorithm, AuthError> {
        let alg = alg
            .and_then(JwsAlgorithm::from_jose)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(ErrorKind::UnsupportedAlg)?;
        if self.token_type == TokenType::AtJwt && !typ.is_some_and(is_at_jwt) {
            return Err(AuthError::with_message(
                ErrorKind::WrongTokenUse,
                "The token is not a JWT access token (its typ is not at+jwt).",
            ));
        }
        Ok(alg)
    }

    /// The claims that need no key, issuer first: `iss` equal to `issuer` -> else
    /// `wrong_issuer`; some `aud` one of `audience` -> else `wrong_client`.
    pub(crate) fn check_claims<'a>(
        &self,
        iss: Option<&str>,
        aud: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), AuthError> {
        if iss != Some(self.issuer.as_str()) {
            return Err(ErrorKind::WrongIssuer.into());
        }
        if !aud.into_iter().any(|a| self.audience.iter().any(|ours| ours == a)) {
            return Err(AuthError::with_message(
                ErrorKind::WrongClient,
                "The token's audience is not accepted here.",
            ));
        }
        Ok(())
    }
}

/// Whether a `typ` header names a JWT access token: `at+jwt`, or the full media type
/// `application/at+jwt` (RFC 7515 4.1.9: the `application/` prefix may be left out), ASCII
/// case-insensitively as media types compare.
fn is_at_jwt(typ: &str) -> bool {
    let short = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or_default(),
        _ => typ,
    };
    short.eq_ignore_ascii_case("at+jwt")
}

/// The JOSE header's `typ`, if it is a string (read only for issuers that need it).
pub(crate) fn header_typ(header_json: &[u8]) -> Result<Option<Str<'_>>, AuthError> {
    #[derive(Deserialize)]
    struct Typ<'a> {
        #[serde(borrow, default)]
        typ: Option<Str<'a>>,
    }
    token::parse_json::<Typ<'_>>(header_json)
        .map(|h| h.typ)
        .map_err(|_| AuthError::with_message(ErrorKind::Malformed, "The token header is not a valid JOSE header."))
}

/// The claims of an OpenID Connect issuer's token that its rules read, strictly typed: a
/// member present with another type makes the token `malformed`, as for the pools' claims.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OidcClaims<'a> {
    #[serde(borrow)]
    pub iss: Option<Str<'a>>,
    #[serde(borrow)]
    pub aud: Audience<'a>,
    #[serde(borrow)]
    pub scope: Option<Str<'a>>,
    #[serde(borrow)]
    pub scp: Option<Vec<Str<'a>>>,
    #[serde(borrow)]
    pub sub: Option<Str<'a>>,
    #[serde(borrow)]
    pub client_id: Option<Str<'a>>,
    #[serde(borrow)]
    pub jti: Option<Str<'a>>,
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub auth_time: Option<f64>,
}

impl<'a> OidcClaims<'a> {
    /// The parse step for an issuer's token: a JSON object with no member twice at any depth,
    /// the claims above of their types, and an `exp`.
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Self, AuthError> {
        let malformed = || AuthError::with_message(ErrorKind::Malformed, "The token claims are not valid.");
        token::parse_json::<Skipped>(payload).map_err(|_| malformed())?;
        let claims: Self = token::parse_json(payload).map_err(|_| malformed())?;
        if claims.exp.is_none() {
            return Err(AuthError::with_message(
                ErrorKind::Malformed,
                "The token has no exp claim.",
            ));
        }
        Ok(claims)
    }

    /// What the rest of verification reads (authorization, revocation, the token cache): the
    /// pools' claims view, with the scopes as one space-separated `scope` and no Cognito claims.
    pub(crate) fn into_view(self) -> ClaimsView<'a> {
        let scope = match (self.scope, &self.scp) {
            (Some(scope), _) => Some(scope),
            (None, Some(scp)) => owned_str(scp.iter().map(|s| &**s).collect::<Vec<_>>().join(" ")),
            (None, None) => None,
        };
        ClaimsView {
            iss: self.iss,
            scope,
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            sub: self.sub,
            client_id: self.client_id,
            jti: self.jti,
            auth_time: self.auth_time,
            ..ClaimsView::default()
        }
    }
}

/// An owned text as the parse's string type (built through its own deserializer, so the type
/// keeps one constructor).
fn owned_str<'a>(text: String) -> Option<Str<'a>> {
    use serde::de::IntoDeserializer as _;
    let text: de::value::StringDeserializer<de::value::Error> = text.into_deserializer();
    Str::deserialize(text).ok()
}

/// `aud`: one audience or several (RFC 7519 4.1.3).
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience<'a> {
    /// No `aud` claim.
    #[default]
    None,
    /// A single string.
    One(#[serde(borrow)] Str<'a>),
    /// An array of strings.
    Many(#[serde(borrow)] Vec<Str<'a>>),
}

impl Audience<'_> {
    /// Every audience named.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&Str<'_>>, &[Str<'_>]) = match self {
            Audience::None => (None, &[]),
            Audience::One(a) => (Some(a), &[]),
            Audience::Many(all) => (None, all),
        };
        one.into_iter().chain(many).map(|s| &**s)
    }
}

#[cfg(test)]
mod tests;
