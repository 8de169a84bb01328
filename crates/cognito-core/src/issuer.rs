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
mod tests {
    use super::*;

    fn settings(yaml: &str) -> Result<Vec<OidcIssuer>, ConfigError> {
        issuers_from_yaml_str(yaml)
    }

    fn field_of(e: &ConfigError) -> String {
        match e {
            ConfigError::Invalid { field, .. } => field.to_string(),
            other => format!("{other}"),
        }
    }

    #[test]
    fn defaults_and_discovery() -> Result<(), ConfigError> {
        let issuers = settings("auth0:\n  issuer: https://tenant.eu.auth0.com/\n  audience: [https://api]\n")?;
        let auth0 = &issuers[0];
        assert_eq!(auth0.algorithms, [JwsAlgorithm::RS256]);
        assert_eq!(auth0.token_type, TokenType::Any);
        assert_eq!(
            auth0.discovery_url().as_deref(),
            Some("https://tenant.eu.auth0.com/.well-known/openid-configuration")
        );
        assert_eq!(auth0.key_source(), None);
        // A path is kept: discovery appends to it (Keycloak's realms, Entra's tenants).
        let kc = OidcIssuer::new("kc", "https://sso.example/realms/main", ["api"]);
        assert_eq!(
            kc.discovery_url().as_deref(),
            Some("https://sso.example/realms/main/.well-known/openid-configuration")
        );
        Ok(())
    }

    #[test]
    fn out_of_range_fails_at_load_naming_the_field() {
        for (yaml, field) in [
            ("x:\n  audience: [a]\n", "issuer"),
            ("x:\n  issuer: not a url\n  audience: [a]\n", "issuer"),
            ("x:\n  issuer: ftp://host\n  audience: [a]\n", "issuer"),
            ("x:\n  issuer: http://idp.example\n  audience: [a]\n", "issuer"),
            ("x:\n  issuer: https://idp.example?x=1\n  audience: [a]\n", "issuer"),
            ("x:\n  issuer: https://idp.example\n", "audience"),
            ("x:\n  issuer: https://idp.example\n  audience: []\n", "audience"),
            ("x:\n  issuer: https://idp.example\n  audience: ['']\n", "audience"),
            (
                "x:\n  issuer: https://idp.example\n  audience: [a]\n  jwks_url: http://keys.example/jwks\n",
                "jwks_url",
            ),
            (
                "x:\n  issuer: https://idp.example\n  audience: [a]\n  algorithms: []\n",
                "algorithms",
            ),
            (
                "x:\n  issuer: https://idp.example\n  audience: [a]\n  algorithms: [ES256, ES256]\n",
                "algorithms",
            ),
        ] {
            match settings(yaml) {
                Ok(_) => panic!("accepted: {yaml}"),
                Err(e) => assert_eq!(field_of(&e), field, "{yaml}: {e}"),
            }
        }
        // Names outside the list do not even parse.
        for bad in ["HS256", "none", "PS256", "ES512", "es256"] {
            let yaml = format!("x:\n  issuer: https://idp.example\n  audience: [a]\n  algorithms: [{bad}]\n");
            assert!(settings(&yaml).is_err(), "{bad}");
        }
        let yaml = "x:\n  issuer: https://idp.example\n  audience: [a]\n  token_type: id\n";
        assert!(settings(yaml).is_err());
    }

    #[test]
    fn plain_http_only_on_loopback() -> Result<(), ConfigError> {
        let local = settings(
            "local:\n  issuer: http://127.0.0.1:9000\n  audience: [a]\n  jwks_url: http://localhost:9000/jwks\n  algorithms: [ES256, EdDSA, RS512]\n  token_type: at+jwt\n",
        )?;
        assert_eq!(local[0].token_type, TokenType::AtJwt);
        let remote = OidcIssuer::new("r", "http://idp.example", ["a"]);
        assert!(validate_issuers(std::slice::from_ref(&remote), [], false).is_err());
        validate_issuers(&[remote], [], true)?;
        Ok(())
    }

    #[test]
    fn debug_hides_key_url_credentials() {
        let mut issuer = OidcIssuer::new("x", "https://idp.example", ["a"]);
        issuer.jwks_url = Some("https://user:hunter2@keys.example/jwks?sig=secret".to_owned());
        let shown = format!("{issuer:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("secret"), "{shown}");
        assert!(shown.contains("https://keys.example/jwks"), "{shown}");
    }

    #[test]
    fn names_are_unique_among_pools_and_issuers() {
        let one = OidcIssuer::new("eu", "https://idp.example", ["a"]);
        let e = validate_issuers(std::slice::from_ref(&one), ["eu", "us"], false);
        assert!(
            matches!(e, Err(ConfigError::Invalid { ref field, .. }) if field == "issuers"),
            "{e:?}"
        );
        let e = validate_issuers(&[one.clone(), one.clone()], [], false);
        assert!(e.is_err());
        assert!(
            settings("a:\n  issuer: https://x\n  audience: [a]\na:\n  issuer: https://y\n  audience: [a]\n").is_err()
        );
        assert!(validate_issuers(&[OidcIssuer::new("", "https://x", ["a"])], [], false).is_err());
    }

    fn rules(token_type: TokenType) -> OidcRules {
        OidcIssuer {
            token_type,
            algorithms: vec![JwsAlgorithm::RS256, JwsAlgorithm::ES256],
            ..OidcIssuer::new("x", "https://idp.example", ["api-1", "api-2"])
        }
        .rules()
    }

    #[test]
    fn header_policy() {
        let any = rules(TokenType::Any);
        assert_eq!(any.check_header(Some("ES256"), None).ok(), Some(JwsAlgorithm::ES256));
        for alg in [None, Some("ES384"), Some("HS256"), Some("none"), Some("rs256")] {
            let e = any.check_header(alg, None).err().map(|e| e.kind());
            assert_eq!(e, Some(ErrorKind::UnsupportedAlg), "{alg:?}");
        }
        let at = rules(TokenType::AtJwt);
        for typ in ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"] {
            assert!(at.check_header(Some("RS256"), Some(typ)).is_ok(), "{typ}");
        }
        for typ in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("application/jwt"),
            Some("at+jwt2"),
            Some("x/at+jwt"),
        ] {
            let e = at.check_header(Some("RS256"), typ).err().map(|e| e.kind());
            assert_eq!(e, Some(ErrorKind::WrongTokenUse), "{typ:?}");
        }
    }

    #[test]
    fn issuer_then_audience() {
        let r = rules(TokenType::Any);
        let claims = |json: &'static str| serde_json::from_str::<OidcClaims<'static>>(json).unwrap_or_default();
        let ok = claims(r#"{"iss":"https://idp.example","aud":["other","api-2"]}"#);
        assert!(r.check_claims(ok.iss.as_deref(), ok.aud.iter()).is_ok());
        let one = claims(r#"{"iss":"https://idp.example","aud":"api-1"}"#);
        assert!(r.check_claims(one.iss.as_deref(), one.aud.iter()).is_ok());
        for (json, kind) in [
            (
                r#"{"iss":"https://idp.example/","aud":"api-1"}"#,
                ErrorKind::WrongIssuer,
            ),
            (r#"{"aud":"api-1"}"#, ErrorKind::WrongIssuer),
            (r#"{"iss":"https://idp.example","aud":"api-3"}"#, ErrorKind::WrongClient),
            (r#"{"iss":"https://idp.example","aud":[]}"#, ErrorKind::WrongClient),
            (r#"{"iss":"https://idp.example"}"#, ErrorKind::WrongClient),
            // The wrong issuer is named first, even with the wrong audience too.
            (r#"{"iss":"https://evil.example","aud":"nope"}"#, ErrorKind::WrongIssuer),
        ] {
            let c = claims(json);
            let e = r.check_claims(c.iss.as_deref(), c.aud.iter()).err().map(|e| e.kind());
            assert_eq!(e, Some(kind), "{json}");
        }
    }

    #[test]
    fn claim_types_are_strict() {
        for json in [
            r#"{"aud":5}"#,
            r#"{"aud":["a",5]}"#,
            r#"{"iss":1}"#,
            r#"{"scp":"read"}"#,
            r#"{"scope":["read"]}"#,
            r#"{"exp":"1"}"#,
        ] {
            assert!(serde_json::from_str::<OidcClaims<'_>>(json).is_err(), "{json}");
        }
        for bad in [
            r#"{"aud":"a"}"#,
            r#"{"exp":1,"aud":"a","aud":"b"}"#,
            r#"{"exp":1,"x":{"y":1,"y":2}}"#,
        ] {
            let kind = OidcClaims::parse(bad.as_bytes()).err().map(|e| e.kind());
            assert_eq!(kind, Some(ErrorKind::Malformed), "{bad}");
        }
    }

    #[test]
    fn scopes_from_scope_or_scp() -> Result<(), AuthError> {
        let c = OidcClaims::parse(br#"{"exp":1,"scope":"read  write"}"#)?;
        assert_eq!(c.into_view().scope.as_deref(), Some("read  write"));
        let c = OidcClaims::parse(br#"{"exp":1,"scp":["read","write"],"sub":"s"}"#)?;
        let view = c.into_view();
        assert_eq!(view.scope.as_deref(), Some("read write"));
        assert_eq!(view.sub.as_deref(), Some("s"));
        assert!(OidcClaims::parse(br#"{"exp":1}"#)?.into_view().scope.is_none());
        Ok(())
    }

    #[test]
    fn the_typ_header() -> Result<(), AuthError> {
        assert_eq!(
            header_typ(br#"{"alg":"RS256","typ":"at+jwt"}"#)?.as_deref(),
            Some("at+jwt")
        );
        assert_eq!(header_typ(br#"{"alg":"RS256"}"#)?.as_deref(), None);
        assert!(header_typ(br#"{"typ":5}"#).is_err());
        Ok(())
    }

    #[test]
    fn discovery_document() {
        let issuer = "https://idp.example";
        let doc = |v: serde_json::Value| v.to_string().into_bytes();
        let good = doc(serde_json::json!({"issuer": issuer, "jwks_uri": "https://idp.example/keys"}));
        assert_eq!(
            jwks_uri_of_discovery(&good, issuer, false).ok().as_deref(),
            Some("https://idp.example/keys")
        );
        for bad in [
            doc(serde_json::json!({"issuer": "https://other.example", "jwks_uri": "https://idp.example/keys"})),
            doc(serde_json::json!({"issuer": issuer})),
            doc(serde_json::json!({"issuer": issuer, "jwks_uri": "http://idp.example/keys"})),
            doc(serde_json::json!({"issuer": issuer, "jwks_uri": 5})),
            b"not json".to_vec(),
        ] {
            assert!(jwks_uri_of_discovery(&bad, issuer, false).is_err());
        }
        let local =
            doc(serde_json::json!({"issuer": "http://127.0.0.1:4000", "jwks_uri": "http://127.0.0.1:4000/jwks"}));
        assert!(jwks_uri_of_discovery(&local, "http://127.0.0.1:4000", false).is_ok());
    }
}
