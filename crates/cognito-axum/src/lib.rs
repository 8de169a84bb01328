//! # cognito-axum
//!
//! AWS Cognito authentication for axum 0.8: extractors over [`cognito_core`]. Every rule (what
//! is valid, which status, which `WWW-Authenticate`, which body) lives in `cognito-core`; this
//! crate only translates.
//!
//! This crate is the only dependency an axum service needs: it re-exports the settings, the
//! [`CognitoAuth`] state, the claims, the policies and the error model, and the whole of
//! [`cognito_core`] for the rest, so the core it uses is always the one its extractors were
//! built with.
//!
//! ## Required authentication
//!
//! An [`Auth`] argument: the handler runs only for a valid token of the default pool (the first
//! of the settings). It dereferences to the claims, [`CognitoToken`] by default.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_axum::{Auth, CognitoAuth, CognitoSettings};
//!
//! async fn me(user: Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! # fn main() -> Result<(), cognito_axum::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//! "#)?;
//! let app: Router = Router::new()
//!     .route("/", get(me))
//!     .with_state(CognitoAuth::new(&settings)?); // or a field of your state, through FromRef
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## Optional authentication
//!
//! An [`OptionalAuth`] argument dereferences to `Option<claims>`: `None` when the request has
//! no token header (or an empty one). A present but invalid token is the same 401 as required
//! authentication, never an anonymous user. `Option<Auth>` answers the same.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_axum::{CognitoAuth, CognitoSettings, OptionalAuth};
//!
//! async fn maybe(user: OptionalAuth) -> String {
//!     match user.as_ref() {
//!         Some(user) => format!("hello {}", user.username().unwrap_or("client")),
//!         None => "hello, whoever you are".to_owned(),
//!     }
//! }
//!
//! # fn main() -> Result<(), cognito_axum::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let app: Router = Router::new().route("/", get(maybe)).with_state(CognitoAuth::new(&settings)?);
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## A group policy
//!
//! The second type parameter is the route's [`Policy`]: a marker type naming the groups or
//! scopes it [`Require`]s (and its pool). A token without them is a 403.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_axum::{Auth, CognitoAuth, CognitoSettings, CognitoToken, Policy, Require};
//!
//! /// Members of the `admin` group of the default pool.
//! struct Admins;
//! impl Policy for Admins {
//!     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
//! }
//!
//! async fn admin(user: Auth<CognitoToken, Admins>) -> String {
//!     format!("hello admin {:?}", user.sub)
//! }
//!
//! # fn main() -> Result<(), cognito_axum::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let app: Router = Router::new().route("/admin", get(admin)).with_state(CognitoAuth::new(&settings)?);
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## A second pool
//!
//! A policy's `POOL` names the pool that verifies the route's tokens (fastapi-cognito's
//! `userpool_name`); one [`CognitoAuth`] holds every pool of the settings.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_axum::{Auth, CognitoAuth, CognitoSettings, CognitoToken, Policy};
//!
//! /// Any user of the second pool, `us`.
//! struct UsPool;
//! impl Policy for UsPool {
//!     const POOL: Option<&'static str> = Some("us");
//! }
//!
//! async fn us(user: Auth<CognitoToken, UsPool>) -> String {
//!     format!("hello from the us pool, {:?}", user.sub)
//! }
//!
//! # fn main() -> Result<(), cognito_axum::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//!   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: client-b}
//! "#)?;
//! let app: Router = Router::new().route("/us", get(us)).with_state(CognitoAuth::new(&settings)?);
//! # let _ = app; Ok(()) }
//! ```
//!
//! Your own claims type works the same way: `Auth<MyClaims>` or `Auth<MyClaims, Admins>`, for
//! any `serde::Deserialize` type (a signed token that does not fit it is a 401 `malformed`).
//!
//! ## The whole router behind a layer
//!
//! [`CognitoLayer`] (from `cognito-tower`) verifies once per request, before any handler; the
//! extractors then read its [`Verified`] token instead of verifying again (the route's own
//! groups and scopes still apply). Use the extractors alone when routes differ in what they
//! ask; put the layer in front when a whole sub-router needs the same, or to refuse before
//! any other middleware or body parsing runs.
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_axum::{Auth, CognitoAuth, CognitoLayer, CognitoSettings, Guard, Requirement};
//!
//! async fn me(user: Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! # fn main() -> Result<(), cognito_axum::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let auth = CognitoAuth::new(&settings)?;
//! let guarded = Router::new()
//!     .route("/me", get(me))
//!     .layer(CognitoLayer::new(Guard::new(auth.clone()).route("/admin/*", Requirement::new().any_group(["admin"]))));
//! let app: Router = Router::new().nest("/api", guarded).with_state(auth);
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## Refusals
//!
//! [`AuthRejection`] is the extractors' rejection, an [`IntoResponse`] with the 401 / 403 / 503
//! response of the error contract: status, `WWW-Authenticate`, `Retry-After` and the JSON body
//! `{"error": "<kind>", "message": "<sentence>"}`, all from [`Rejection`]. The response carries
//! the [`Rejection`] as an extension, for logging.
//!
//! The [`CognitoAuth`] comes from the router state through [`FromRef`], so it can be the state
//! itself or a field of yours. Works on WebSocket upgrade routes too (the extractors only read
//! headers).
//!
//! ## Feature flags
//!
//! - `openapi` (off by default): the module `openapi`, a re-export of `cognito_core::openapi`
//!   (turning on the feature of the same name there): the utoipa 6 security scheme that gives
//!   Swagger UI its Authorize button.
//! - `metrics` (off by default): turns on `cognito-core`'s feature of the same name, so every
//!   verification, token-cache hit and JWKS fetch is counted through the `metrics` facade
//!   (`cognito_verifications_total`, ...); install a recorder (e.g.
//!   `metrics-exporter-prometheus`) in your service. The adapter's code does not change.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub use cognito_core;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub use cognito_core::openapi;
pub use cognito_core::{
    AnyUser, AuthError, CognitoAuth, CognitoSettings, CognitoToken, ConfigError, ErrorKind, Guard, Mode, Policy,
    Rejection, Require, Requirement, RequirementRef, Verified,
};
pub use cognito_tower::{self, CognitoLayer};

/// The protected-resource metadata routes (RFC 9728), when the settings have `resource:`:
/// `GET /.well-known/oauth-protected-resource` and
/// `GET /.well-known/oauth-protected-resource<path of the resource uri>`, without
/// authentication, answering the metadata document as JSON. Merge it into your router; with
/// no `resource:` it is an empty router. (A [`CognitoLayer`] in front of the whole router
/// answers these paths itself.)
///
/// ```
/// use axum::{Router, routing::get};
/// use cognito_axum::{CognitoAuth, CognitoSettings};
///
/// # fn main() -> Result<(), cognito_axum::ConfigError> {
/// let settings = CognitoSettings::from_yaml_str(r#"
/// resource: {uri: "https://api.example.com/mcp", scopes_supported: [mcp/read]}
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
/// "#)?;
/// let auth = CognitoAuth::new(&settings)?;
/// let app: Router = Router::new()
///     .route("/health", get(|| async { "ok" }))
///     .merge(cognito_axum::resource_metadata(&auth))
///     .with_state(auth);
/// # let _ = app; Ok(()) }
/// ```
pub fn resource_metadata<S: Clone + Send + Sync + 'static>(auth: &CognitoAuth) -> axum::Router<S> {
    let mut router = axum::Router::new();
    if let Some(resource) = auth.resource() {
        for path in resource.paths() {
            let resource = resource.clone();
            let answer = move || {
                let response = cognito_tower::metadata_response(&resource);
                async move { response }
            };
            router = router.route(path, axum::routing::get(answer));
        }
    }
    router
}

cognito_core::adapter_types! {
    krate: cognito_axum,
    optional: "The same as `Option<Auth<T, P>>`, for code that reads the same in every adapter.",
    rejection: "The rejection of [`Auth`] and [`OptionalAuth`]: the 401 / 403 / 503 response of the error contract (status, `WWW-Authenticate`, `Retry-After` and the JSON body, all from [`Rejection`]), or a 500 whose body reveals nothing when the route is not set up.",
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let rejection = self.0;
        let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        for (name, value) in rejection.headers() {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
                headers.insert(name, value);
            }
        }
        let mut response = (status, headers, rejection.body()).into_response();
        response.extensions_mut().insert(rejection);
        response
    }
}

impl<S, T, P> FromRequestParts<S> for Auth<T, P>
where
    CognitoAuth: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Send,
    P: Policy,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let auth = CognitoAuth::from_ref(state);
        if let Some(answer) = auth
            .authorize_layered(parts.extensions.get::<Verified>(), RequirementRef::of::<P>())
            .await
        {
            return answer.map(|c| Auth(c, PhantomData)).map_err(AuthRejection);
        }
        let claims = auth.authenticate::<T>(&*parts, RequirementRef::of::<P>()).await;
        claims.map(|c| Auth(c, PhantomData)).map_err(AuthRejection)
    }
}

impl<S, T, P> OptionalFromRequestParts<S> for Auth<T, P>
where
    CognitoAuth: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Send,
    P: Policy,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, AuthRejection> {
        let auth = CognitoAuth::from_ref(state);
        if let Some(answer) = auth
            .authorize_layered(parts.extensions.get::<Verified>(), RequirementRef::of::<P>())
            .await
        {
            return answer.map(|c| Some(Auth(c, PhantomData))).map_err(AuthRejection);
        }
        let claims = auth
            .authenticate_optional::<T>(&*parts, RequirementRef::of::<P>())
            .await;
        claims.map(|c| c.map(|c| Auth(c, PhantomData))).map_err(AuthRejection)
    }
}

impl<S, T, P> FromRequestParts<S> for OptionalAuth<T, P>
where
    CognitoAuth: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned + Send,
    P: Policy,
{
    type Rejection = AuthRejection;

    /// The same as `Option<Auth<T, P>>`, for code that reads the same in every adapter.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let auth = <Auth<T, P> as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(OptionalAuth(auth.map(Auth::into_inner), PhantomData))
    }
}
