//! # cognito-axum
//!
//! AWS Cognito authentication for axum 0.8: extractors over [`cognito_core`]. Every rule (what
//! is valid, which status, which `WWW-Authenticate`, which body) lives in `cognito-core`; this
//! crate only translates.
//!
//! - [`Auth<T, P>`]: required authentication. `T` is the claims type ([`CognitoToken`] by
//!   default, or any `Deserialize` type of yours); `P` is the route's [`Policy`]: which pool, and
//!   which groups / scopes it requires ([`AnyUser`] by default).
//! - `Option<Auth<T, P>>` or [`OptionalAuth<T, P>`]: optional authentication. No header (or an
//!   empty one) is anonymous; a present but invalid token is the same 401 as required auth.
//! - [`AuthRejection`]: the rejection, an [`IntoResponse`] with the 401 / 403 / 503 response of
//!   the error contract: status, `WWW-Authenticate`, `Retry-After` and the JSON body
//!   `{"error": "<kind>", "message": "<sentence>"}`, all from [`Rejection`]. The response
//!   carries the [`Rejection`] as an extension, for logging.
//!
//! The [`CognitoAuth`] comes from the router state through [`FromRef`], so it can be the state
//! itself or a field of yours. Works on WebSocket upgrade routes too (the extractor only reads
//! headers).
//!
//! ```
//! use axum::{Router, routing::get};
//! use cognito_axum::{Auth, OptionalAuth};
//! use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, Policy, Require};
//!
//! /// Members of the `admin` group of the default pool.
//! struct Admins;
//! impl Policy for Admins {
//!     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
//! }
//!
//! /// Any user of the second pool, `us` (fastapi-cognito's `cognito_us`).
//! struct UsPool;
//! impl Policy for UsPool {
//!     const POOL: Option<&'static str> = Some("us");
//! }
//!
//! async fn me(Auth(user, _): Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! async fn admin(Auth(user, _): Auth<CognitoToken, Admins>) -> String {
//!     format!("hello admin {:?}", user.sub)
//! }
//!
//! async fn us(Auth(user, _): Auth<CognitoToken, UsPool>) -> String {
//!     format!("hello from the us pool, {:?}", user.sub)
//! }
//!
//! async fn maybe(user: Option<Auth>) -> &'static str {
//!     if user.is_some() { "signed in" } else { "anonymous" }
//! }
//!
//! async fn maybe_too(OptionalAuth(user, _): OptionalAuth) -> &'static str {
//!     if user.is_some() { "signed in" } else { "anonymous" }
//! }
//!
//! # fn main() -> Result<(), cognito_core::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//!   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: client-b}
//! "#)?;
//! let app: Router = Router::new()
//!     .route("/", get(me))
//!     .route("/admin", get(admin))
//!     .route("/us", get(us))
//!     .route("/optional", get(maybe))
//!     .route("/optional-too", get(maybe_too))
//!     .with_state(CognitoAuth::new(&settings)?);
//! # let _ = app; Ok(()) }
//! ```

#![forbid(unsafe_code)]

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cognito_core::{AnyUser, CognitoAuth, CognitoToken, Policy, Rejection};
use serde::de::DeserializeOwned;

/// Required authentication: the verified claims, under route policy `P`.
#[derive(Debug, Clone)]
pub struct Auth<T = CognitoToken, P = AnyUser>(pub T, pub PhantomData<P>);

/// Optional authentication: `None` when the request carries no token at all.
#[derive(Debug, Clone)]
pub struct OptionalAuth<T = CognitoToken, P = AnyUser>(pub Option<T>, pub PhantomData<P>);

impl<T, P> Auth<T, P> {
    /// The claims.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, P> std::ops::Deref for Auth<T, P> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The rejection of [`Auth`] and [`OptionalAuth`]: the 401 / 403 / 503 response of the error
/// contract (status, `WWW-Authenticate`, `Retry-After` and the JSON body, all from
/// [`Rejection`]), or a 500 whose body reveals nothing when the route is not set up.
#[derive(Debug, Clone)]
pub struct AuthRejection(pub Rejection);

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

fn header_values<'a>(parts: &'a Parts, auth: &CognitoAuth) -> impl Iterator<Item = &'a [u8]> + Send + 'a {
    parts
        .headers
        .get_all(auth.header_name())
        .iter()
        .map(HeaderValue::as_bytes)
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
        let claims = auth.authenticate::<T, P>(header_values(parts, &auth)).await;
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
        let claims = auth.authenticate_optional::<T, P>(header_values(parts, &auth)).await;
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
