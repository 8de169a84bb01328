//! # cognito-core
//!
//! Verifies AWS Cognito user-pool JWTs: the signature against the pool's JWKS, then issuer,
//! expiry, token use, app client, groups and scopes. No web framework here: the
//! `cognito-axum`, `cognito-actix` and `cognito-rocket` adapters translate [`AuthError`] into
//! responses, and everything they need ([`CognitoAuth::authenticate`], [`Rejection::status`],
//! [`Rejection::headers`], [`Rejection::body`]) lives in this crate.
//!
//! - [`CognitoSettings`]: YAML, JSON, env, or a field of your own config (serde).
//! - [`Verifier`]: one per pool, cheap to clone; JWKS fetched once per URL, cached,
//!   refreshed in the background, served stale while the source is down. A token that keeps
//!   coming back is recognised (the bounded verified-token cache, [`settings::TokenCacheSettings`]): no
//!   parse, no RSA, while its `exp` and its key last.
//! - [`CognitoAuth`]: every pool's verifier, for web-app state; [`Policy`] names a route's pool
//!   and its [`Require`]d groups / scopes; a [`Requirement`] is the same chosen at run time
//!   (from configuration), with custom checks ([`check::Check`], [`check::AsyncCheck`]) that run after
//!   every built-in check and see the [`Verified`] token.
//! - Beyond groups and scopes: a route may serve only users or only machines
//!   ([`PrincipalKind`]), require every one of some scopes, and ask for a recent sign-in or an
//!   authentication context (401 `insufficient_user_authentication`, RFC 9470).
//! - [`revocation`]: tokens the application revoked (a session, or a user's tokens up to a
//!   time) are refused as 401 `revoked`, from an in-memory store with no I/O per request
//!   ([`CognitoAuth::revocations`]) or an external one ([`revocation::RevocationBackend`]).
//! - [`Guard`]: router-wide protection, the requirement of each request by its path, for the
//!   tower layer (`cognito-tower`) and the actix-web middleware.
//! - [`source`]: where a request's token comes from, in the order `token_sources` gives:
//!   the header (default), a cookie, or on WebSocket upgrades a query parameter, read
//!   through [`source::RequestView`] (implemented for `http`'s request types).
//! - [`CognitoToken`] or any `Deserialize` type of yours for the claims.
//! - [`AuthError`] / [`ErrorKind`] / [`Rejection`]: one stable error model with its HTTP mapping.
//! - [`resource`] (`resource:` in the settings, [`CognitoAuth::resource`]): protected-resource
//!   metadata (RFC 9728) for OAuth and MCP clients, the `resource_metadata` challenge
//!   attribute, and access tokens bound to the resource by their `aud`.
//! - [`alb::AlbVerifier`] (`alb:` in the settings, [`CognitoAuth::alb`]): the user claims an
//!   Application Load Balancer forwards in `x-amzn-oidc-data` (ES256, a PEM key per kid).
//!
//! ```
//! use cognito_core::{CognitoSettings, CognitoToken, ErrorKind, Require, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu:
//!     region: eu-west-1
//!     userpool_id: eu-west-1_AbCdEf123
//!     app_client_id: [client-a, client-b]
//!     token_use: access
//! "#)?;
//! let verifier = Verifier::new(&settings)?;
//!
//! // A request without the header: 401 with a bare `Bearer` challenge. (A request is any
//! // `http::Request`, a framework's, or here header name-value pairs: see `source`.)
//! let request: [(&str, &str); 0] = [];
//! let err = verifier
//!     .authenticate::<CognitoToken>(&request, Require::NONE)
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::MissingToken);
//! assert_eq!((err.status(), err.www_authenticate().as_deref()), (401, Some("Bearer")));
//!
//! // Junk is rejected before any key is fetched: no I/O.
//! let err = verifier.verify::<CognitoToken>("not-a-jwt", Require::NONE).await.unwrap_err();
//! assert_eq!(err.body(), r#"{"error":"malformed","message":"The token does not have exactly three dot-separated parts."}"#);
//! # Ok(()) }
//! ```

//!
//! ## Feature flags
//!
//! - `openapi` (off by default): the `openapi` module, the OpenAPI security scheme (utoipa 6)
//!   that makes Swagger UI show its Authorize button for the configured header.
//! - `metrics` (off by default): counters, gauges and a histogram through the `metrics`
//!   facade, for whatever recorder the service installs (before its first request):
//!   `cognito_verifications_total{pool, result}` (every answer, `ok` or the error kind),
//!   `cognito_token_cache_hits_total{pool}`, `cognito_jwks_fetches_total{source, result}`,
//!   `cognito_jwks_keys{source}`, `cognito_jwks_age_seconds{source}` and
//!   `cognito_verification_duration_seconds{pool}`. No API changes with it; off, it costs
//!   nothing.
//!
//! ## Observability
//!
//! Without any feature the core emits `tracing` events (JWKS fetches at debug, a changed key
//! set at info, failed fetches and their backoff at warn, each rejection at debug with its pool
//! and kind; never a token, a signature or a token's `kid`) and reports its health:
//! [`CognitoAuth::health`] gives [`status::Health`], per pool the keys served, their age, the
//! last fetch error and the time until the next fetch, for a readiness probe or a log line.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
pub mod adapter;
pub mod alb;
pub mod check;
pub mod claims;
mod error;
mod fetch;
mod guard;
mod health;
pub mod issuer;
mod jose;
mod jwks;
mod jws;
mod key_report;
mod observe;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;
mod policy;
pub mod resource;
pub mod revocation;
pub mod route;
pub mod settings;
pub mod source;
pub mod tenants;
mod time;
mod token;
mod token_cache;
mod url_rules;
mod verified;
mod verify;

// The root holds what every user touches; configuration details live in `settings`, claims
// helpers in `claims`, the reports a running verifier gives in `status`.
pub use claims::CognitoToken;
pub use error::{AuthError, ConfigError, ErrorKind, Rejection};
pub use guard::{Guard, Mode};
pub use policy::{AnyUser, Policy, PrincipalKind, Require, Requirement, RequirementRef};
pub use settings::CognitoSettings;
pub use token::Principal;
pub use verified::Verified;
pub use verify::{ClaimsType, CognitoAuth, Verifier};

/// Verification with a trace, for people: [`Verifier::explain`] says how each check of the
/// verification order went, from the same pipeline that verifies; key sets judged key by key.
pub mod explain {
    pub use crate::key_report::{KeyReport, inspect_jwks};
    pub use crate::verify::explain::{
        Explanation, KeySetReport, Outcome, Step, StepReport, duration_words, explain_without_settings, fetch_key_set,
    };
}

/// What a running [`CognitoAuth`] or [`Verifier`] reports about itself.
pub mod status {
    pub use crate::health::{Health, PoolHealth, SourceHealth};
    pub use crate::token_cache::TokenCacheStats;
    pub use crate::verify::PoolStatus;
}
