//! The one error model: every rejection is an [`AuthError`] whose [`ErrorKind`] fixes the
//! stable string, the HTTP status (401, 403 for the two authorization kinds, 503 for
//! `jwks_unavailable`), the `WWW-Authenticate` challenge (`Bearer`, with `invalid_token` or
//! `insufficient_scope`; none on a 503, which carries `Retry-After`) and the JSON body
//! `{"error": "<kind>", "message": "<sentence>"}`. Adapters only translate these into their
//! framework's response type.
//! Bad settings are a [`ConfigError`], reported at load time.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

mod config;
mod rejection;

pub use config::ConfigError;
pub use rejection::Rejection;

/// Why a request was not authenticated or not authorized.
///
/// The snake_case string of each kind ([`ErrorKind::as_str`]) is part of the public contract:
/// it is the `error` member of every JSON error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configured header is absent or empty.
    MissingToken,
    /// The header is present but not `<scheme> <token>` (wrong scheme, no token, extra parts).
    InvalidHeader,
    /// The token is longer than `max_token_bytes`.
    TooLarge,
    /// The token is not a well-formed JWS compact token with JSON claims of the right types.
    Malformed,
    /// The token's `alg` is not in the allow-list (RS256 by default).
    UnsupportedAlg,
    /// The token's `iss` is not the pool's issuer.
    WrongIssuer,
    /// The token's `token_use` is not `access` / `id`, or not allowed by the pool.
    WrongTokenUse,
    /// The token's client (`client_id` for access tokens, `aud` for ID tokens) is not configured.
    WrongClient,
    /// The token's `exp` has passed.
    Expired,
    /// The token's `nbf` (or `iat`) lies in the future.
    NotYetValid,
    /// No key in the pool's JWKS has the token's `kid` (or the token has no `kid`).
    UnknownKid,
    /// The JWK for the token's `kid` cannot be used to check an RS* signature.
    InvalidJwk,
    /// The signature does not verify.
    BadSignature,
    /// The token is valid but the application revoked it (its session, or every token its
    /// user held at some time).
    Revoked,
    /// The token is valid but its principal is not the kind the route serves (a user's token
    /// where only machines (client credentials) are served, or the other way round).
    ForbiddenPrincipal,
    /// The token is valid but carries none of the groups the route requires.
    ForbiddenGroup,
    /// The token is valid but lacks the scopes the route requires (none of the any-of
    /// scopes, or not every one of the all-of scopes).
    ForbiddenScope,
    /// The token is valid but its sign-in is too old for the route, or was made with an
    /// authentication context (`acr`) the route does not accept: the user must sign in again
    /// (a 401 whose challenge says what the route needs: `max_age`, `acr_values`).
    InsufficientUserAuthentication,
    /// The token passed every built-in check but one of the service's own checks refused it
    /// (a 401; the message is the check's own sentence).
    Rejected,
    /// The pool's signing keys cannot be obtained right now.
    JwksUnavailable,
}

impl ErrorKind {
    /// Every kind, in the order of verification (and of declaration): the header, the parse,
    /// the header policy, the claims checked without a key, the key, the signature, the
    /// revocations, the route's principal, groups, scopes and sign-in, the service's own
    /// checks, then the unavailable key set.
    pub const ALL: [ErrorKind; 20] = [
        ErrorKind::MissingToken,
        ErrorKind::InvalidHeader,
        ErrorKind::TooLarge,
        ErrorKind::Malformed,
        ErrorKind::UnsupportedAlg,
        ErrorKind::WrongIssuer,
        ErrorKind::WrongTokenUse,
        ErrorKind::WrongClient,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::UnknownKid,
        ErrorKind::InvalidJwk,
        ErrorKind::BadSignature,
        ErrorKind::Revoked,
        ErrorKind::ForbiddenPrincipal,
        ErrorKind::ForbiddenGroup,
        ErrorKind::ForbiddenScope,
        ErrorKind::InsufficientUserAuthentication,
        ErrorKind::Rejected,
        ErrorKind::JwksUnavailable,
    ];

    /// The stable snake_case name, e.g. `"wrong_issuer"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MissingToken => "missing_token",
            ErrorKind::InvalidHeader => "invalid_header",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Malformed => "malformed",
            ErrorKind::UnsupportedAlg => "unsupported_alg",
            ErrorKind::WrongIssuer => "wrong_issuer",
            ErrorKind::WrongTokenUse => "wrong_token_use",
            ErrorKind::WrongClient => "wrong_client",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not_yet_valid",
            ErrorKind::UnknownKid => "unknown_kid",
            ErrorKind::InvalidJwk => "invalid_jwk",
            ErrorKind::BadSignature => "bad_signature",
            ErrorKind::Revoked => "revoked",
            ErrorKind::ForbiddenPrincipal => "forbidden_principal",
            ErrorKind::ForbiddenGroup => "forbidden_group",
            ErrorKind::ForbiddenScope => "forbidden_scope",
            ErrorKind::InsufficientUserAuthentication => "insufficient_user_authentication",
            ErrorKind::Rejected => "rejected",
            ErrorKind::JwksUnavailable => "jwks_unavailable",
        }
    }

    /// The HTTP status code: 401, 403 for the authorization kinds (`forbidden_principal`,
    /// `forbidden_group`, `forbidden_scope`), 503 for `jwks_unavailable`.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::ForbiddenPrincipal | ErrorKind::ForbiddenGroup | ErrorKind::ForbiddenScope => 403,
            ErrorKind::JwksUnavailable => 503,
            _ => 401,
        }
    }

    /// The default human sentence for this kind. It never contains client input.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorKind::MissingToken => "The request carries no bearer token.",
            ErrorKind::InvalidHeader => {
                "The authorization header is not of the form '<scheme> <token>' with the expected scheme."
            }
            ErrorKind::TooLarge => "The token is larger than this service accepts.",
            ErrorKind::Malformed => "The token is not a well-formed Cognito JWT.",
            ErrorKind::UnsupportedAlg => "The token's signing algorithm is not accepted.",
            ErrorKind::WrongIssuer => "The token was not issued by the expected user pool.",
            ErrorKind::WrongTokenUse => "The token's type (access or id) is not accepted here.",
            ErrorKind::WrongClient => "The token was issued to an app client that is not accepted.",
            ErrorKind::Expired => "The token has expired.",
            ErrorKind::NotYetValid => "The token is not valid yet.",
            ErrorKind::UnknownKid => "The token's signing key is not known to this user pool.",
            ErrorKind::InvalidJwk => "The user pool's key for this token cannot verify it.",
            ErrorKind::BadSignature => "The token's signature is not valid.",
            ErrorKind::Revoked => "The token has been revoked.",
            ErrorKind::ForbiddenPrincipal => {
                "The token's principal (a user or an app client) is not served by this resource."
            }
            ErrorKind::ForbiddenGroup => "The token carries none of the groups this resource requires.",
            ErrorKind::ForbiddenScope => "The token carries none of the scopes this resource requires.",
            ErrorKind::InsufficientUserAuthentication => {
                "The token's sign-in does not meet this resource's requirements; sign in again."
            }
            ErrorKind::Rejected => "The token is not accepted by this service.",
            ErrorKind::JwksUnavailable => "The user pool's signing keys cannot be fetched right now; try again later.",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected request: what went wrong and how to say so over HTTP.
///
/// ```
/// use cognito_core::{AuthError, ErrorKind};
/// let err = AuthError::new(ErrorKind::Expired);
/// assert_eq!(err.status(), 401);
/// assert_eq!(
///     err.www_authenticate().as_deref(),
///     Some(r#"Bearer error="invalid_token", error_description="The token has expired.""#)
/// );
/// assert_eq!(err.body(), r#"{"error":"expired","message":"The token has expired."}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct AuthError {
    kind: ErrorKind,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
    detail: Option<String>,
    /// What an `insufficient_user_authentication` challenge tells the client to sign in with.
    step_up: Option<Box<StepUp>>,
    /// The absolute URL of the protected-resource metadata, for the challenge.
    resource_metadata: Option<Arc<str>>,
    /// The scopes the route required (any of them), space-separated, for a `forbidden_scope`.
    required_scopes: Option<Box<str>>,
}

/// The parameters of an `insufficient_user_authentication` challenge: the route's maximum
/// sign-in age and accepted authentication contexts, from configuration (never client input).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StepUp {
    max_age: Option<u64>,
    acr_values: Option<String>,
}

impl AuthError {
    /// An error of `kind` with its default message.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            message: Cow::Borrowed(kind.message()),
            retry_after: None,
            detail: None,
            step_up: None,
            resource_metadata: None,
            required_scopes: None,
        }
    }

    /// `insufficient_user_authentication` with what the route asks of a sign-in: its maximum
    /// age in seconds and its accepted `acr` values (space-separated), each sent in the
    /// challenge when the route names it.
    pub(crate) fn step_up(message: &'static str, max_age: Option<u64>, acr_values: Option<String>) -> Self {
        Self {
            step_up: Some(Box::new(StepUp { max_age, acr_values })),
            ..Self::with_message(ErrorKind::InsufficientUserAuthentication, message)
        }
    }

    /// For `insufficient_user_authentication`: the maximum age in seconds of a sign-in the
    /// route accepts, when it sets one (the challenge's `max_age`).
    pub fn max_age(&self) -> Option<u64> {
        self.step_up.as_ref().and_then(|s| s.max_age)
    }

    /// For `insufficient_user_authentication`: the authentication contexts the route accepts,
    /// space-separated, when it names some (the challenge's `acr_values`).
    pub fn acr_values(&self) -> Option<&str> {
        self.step_up.as_ref().and_then(|s| s.acr_values.as_deref())
    }

    /// An error of `kind` with a more precise message. The message goes to the client: it must
    /// never contain client input.
    pub(crate) fn with_message(kind: ErrorKind, message: &'static str) -> Self {
        Self {
            message: Cow::Borrowed(message),
            ..Self::new(kind)
        }
    }

    /// `rejected` (401) with a custom check's own sentence: what a check answers when the
    /// token is valid but the service will not take it.
    ///
    /// The sentence goes to the client in the body and the `WWW-Authenticate` challenge: it
    /// must never contain client input (a claim value, say).
    ///
    /// ```
    /// use cognito_core::{AuthError, ErrorKind};
    /// let err = AuthError::rejected("This account is suspended.");
    /// assert_eq!((err.kind(), err.status()), (ErrorKind::Rejected, 401));
    /// assert_eq!(err.body(), r#"{"error":"rejected","message":"This account is suspended."}"#);
    /// ```
    pub fn rejected(sentence: impl Into<Cow<'static, str>>) -> Self {
        Self::because(ErrorKind::Rejected, sentence)
    }

    /// An error of `kind` with a sentence of the caller's (for a custom check that answers a
    /// 403 `forbidden_group`, say, with its own reason). As for [`AuthError::rejected`], the
    /// sentence must never contain client input.
    pub fn because(kind: ErrorKind, sentence: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: sentence.into(),
            ..Self::new(kind)
        }
    }

    /// `jwks_unavailable`, telling the client when the next fetch may happen.
    pub(crate) fn unavailable(retry_after: Duration, detail: Option<String>) -> Self {
        Self {
            retry_after: Some(retry_after),
            detail,
            ..Self::new(ErrorKind::JwksUnavailable)
        }
    }

    /// The same error with a more precise message (never client input).
    pub(crate) fn with_sentence(mut self, message: &'static str) -> Self {
        self.message = Cow::Borrowed(message);
        self
    }

    /// Adds the operator-only detail.
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human sentence sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For the operator, never sent to the client: the fetch error behind a `jwks_unavailable`,
    /// or what is wrong with the key behind an `invalid_jwk`.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The HTTP status code (see [`ErrorKind::status`]).
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The same error naming the protected-resource metadata (RFC 9728): its 401 or 403
    /// challenge then carries `resource_metadata="<url>"`, where a client finds which
    /// authorization server issues tokens for this service. Verifiers built from settings with
    /// `resource:` add it to every refusal themselves.
    #[must_use]
    pub fn with_resource_metadata(mut self, url: impl Into<Arc<str>>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// The same error naming the scopes the route requires (any of them): a `forbidden_scope`
    /// challenge then carries `scope="<the scopes, space-separated>"` (RFC 6750 3.1), which
    /// tells a client what to ask for. The built-in scope requirements add it themselves.
    #[must_use]
    pub fn with_required_scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        let joined = scopes
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.required_scopes = (!joined.is_empty()).then(|| joined.into());
        self
    }

    /// The absolute URL of the protected-resource metadata the challenge names, if any.
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// The required scopes a `forbidden_scope` challenge names, space-separated, if known.
    pub fn required_scopes(&self) -> Option<&str> {
        self.required_scopes.as_deref()
    }

    /// The `WWW-Authenticate` value, or `None` for `jwks_unavailable`: the one place every
    /// challenge is written.
    ///
    /// The scheme is always `Bearer` (RFC 6750), whatever header prefix is configured:
    /// - `missing_token`: `Bearer`, no error attribute;
    /// - the other 401 kinds: `Bearer error="invalid_token", error_description="<message>"`;
    /// - the 403 kinds: `Bearer error="insufficient_scope", error_description="<message>"`,
    ///   and for `forbidden_scope` `scope="<the required scopes>"` when known;
    /// - with the protected-resource metadata known ([`AuthError::with_resource_metadata`]),
    ///   every 401 and 403 challenge ends with `resource_metadata="<its URL>"`.
    ///
    /// ```
    /// use cognito_core::{AuthError, ErrorKind};
    /// let url = "https://api.example.com/.well-known/oauth-protected-resource/mcp";
    /// let err = AuthError::new(ErrorKind::MissingToken).with_resource_metadata(url);
    /// assert_eq!(err.www_authenticate().as_deref(), Some(&*format!(r#"Bearer resource_metadata="{url}""#)));
    /// let err = AuthError::new(ErrorKind::ForbiddenScope).with_required_scopes(["mcp/admin", "mcp/root"]);
    /// assert_eq!(
    ///     err.www_authenticate().as_deref(),
    ///     Some(r#"Bearer error="insufficient_scope", error_description="The token carries none of the scopes this resource requires.", scope="mcp/admin mcp/root""#)
    /// );
    /// ```
    pub fn www_authenticate(&self) -> Option<String> {
        let mut params: Vec<(&str, &str)> = Vec::new();
        match self.kind {
            ErrorKind::MissingToken => {}
            ErrorKind::JwksUnavailable => return None,
            ErrorKind::ForbiddenPrincipal | ErrorKind::ForbiddenGroup | ErrorKind::ForbiddenScope => {
                params.push(("error", "insufficient_scope"));
                params.push(("error_description", &self.message));
                if self.kind == ErrorKind::ForbiddenScope
                    && let Some(scopes) = &self.required_scopes
                {
                    params.push(("scope", scopes));
                }
            }
            ErrorKind::InsufficientUserAuthentication => {
                params.push(("error", "insufficient_user_authentication"));
                params.push(("error_description", &self.message));
            }
            _ => {
                params.push(("error", "invalid_token"));
                params.push(("error_description", &self.message));
            }
        }
        let mut value = "Bearer".to_owned();
        for (i, (name, text)) in params.into_iter().enumerate() {
            value.push_str(if i == 0 { " " } else { ", " });
            value.push_str(name);
            value.push_str("=\"");
            // A quoted-string (RFC 9110 5.6.4).
            push_quoted(&mut value, text);
            value.push('"');
        }
        // RFC 9470: what a new sign-in must satisfy (`max_age` is a token, unquoted).
        if self.kind == ErrorKind::InsufficientUserAuthentication {
            if let Some(max_age) = self.max_age() {
                value.push_str(&format!(", max_age={max_age}"));
            }
            if let Some(acr_values) = self.acr_values() {
                value.push_str(", acr_values=\"");
                push_quoted(&mut value, acr_values);
                value.push('"');
            }
        }
        if let Some(url) = &self.resource_metadata {
            value.push_str(if value.len() == "Bearer".len() { " " } else { ", " });
            value.push_str("resource_metadata=\"");
            push_quoted(&mut value, url);
            value.push('"');
        }
        Some(value)
    }

    /// Seconds for the `Retry-After` header of a 503, at least 1; `None` for other kinds.
    pub fn retry_after_secs(&self) -> Option<u64> {
        if self.kind != ErrorKind::JwksUnavailable {
            return None;
        }
        let secs = self.retry_after.map_or(1, |d| d.as_secs_f64().ceil() as u64);
        Some(secs.max(1))
    }

    /// Every header the response must carry, as (name, value) pairs with lowercase names
    /// (HTTP/2 requires them, and `http::HeaderName::from_static` accepts nothing else):
    /// `content-type: application/json` always, `www-authenticate` for 401 / 403,
    /// `retry-after` for 503. Adapters copy these verbatim and add none of their own.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![json_content_type()];
        if let Some(challenge) = self.www_authenticate() {
            headers.push(("www-authenticate", challenge));
        }
        if let Some(secs) = self.retry_after_secs() {
            headers.push(("retry-after", secs.to_string()));
        }
        headers
    }

    /// The JSON body: `{"error": "<kind>", "message": "<sentence>"}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.kind.as_str(), "message": self.message() }).to_string()
    }
}

/// Appends `text` as the inside of a quoted-string (RFC 9110 5.6.4): escapes the two
/// characters that need it and drops anything that is not visible ASCII or space.
fn push_quoted(value: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                value.push('\\');
                value.push(c);
            }
            ' '..='~' => value.push(c),
            _ => {}
        }
    }
}

/// The content type of every error body.
pub(super) fn json_content_type() -> (&'static str, String) {
    ("content-type", "application/json".to_owned())
}

impl From<ErrorKind> for AuthError {
    fn from(kind: ErrorKind) -> Self {
        AuthError::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adapters copy these names as they are, into header types that accept only lowercase.
    #[test]
    fn every_header_name_is_lowercase_and_the_body_is_json() {
        let mut errors: Vec<Rejection> = ErrorKind::ALL
            .iter()
            .map(|k| Rejection::Auth(AuthError::new(*k)))
            .collect();
        errors.push(Rejection::Auth(AuthError::unavailable(Duration::from_secs(3), None)));
        errors.push(Rejection::Misconfigured("no state".into()));
        for rejection in errors {
            let headers = rejection.headers();
            assert_eq!(headers.first(), Some(&("content-type", "application/json".to_owned())));
            for (name, _) in &headers {
                assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{name}");
            }
            let body: serde_json::Value = serde_json::from_str(&rejection.body()).unwrap();
            assert_eq!(body["error"], rejection.error_code());
        }
    }
}
