//! # cognito-actix
//!
//! AWS Cognito authentication for actix-web 4: extractors over [`cognito_core`]. Every rule
//! (what is valid, which status, which `WWW-Authenticate`, which body) lives in `cognito-core`;
//! this crate only translates.
//!
//! - [`Auth<T, P>`]: required authentication. `T` is the claims type ([`CognitoToken`] by
//!   default, or any `Deserialize` type of yours); `P` is the route's [`Policy`]: which pool, and
//!   which groups / scopes it requires ([`AnyUser`] by default).
//! - [`OptionalAuth<T, P>`]: optional authentication. No header (or an empty one) is anonymous;
//!   a present but invalid token is the same 401 as required auth. Do not use `Option<Auth>`:
//!   actix turns every extractor error into `None`, so an expired or forged token would pass as
//!   an anonymous user.
//! - [`AuthRejection`]: the error, a [`ResponseError`] with the 401 / 403 / 503 response of the
//!   error contract: status, `WWW-Authenticate`, `Retry-After` and the JSON body
//!   `{"error": "<kind>", "message": "<sentence>"}`, all from [`Rejection`].
//!
//! The [`CognitoAuth`] comes from the app data: `App::new().app_data(web::Data::new(auth))`.
//!
//! ```
//! use actix_web::{App, HttpResponse, get, web};
//! use cognito_actix::{Auth, OptionalAuth};
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
//! #[get("/")]
//! async fn me(Auth(user, _): Auth) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello {}", user.username().unwrap_or("client")))
//! }
//!
//! #[get("/admin")]
//! async fn admin(Auth(user, _): Auth<CognitoToken, Admins>) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello admin {:?}", user.sub))
//! }
//!
//! #[get("/us")]
//! async fn us(Auth(user, _): Auth<CognitoToken, UsPool>) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello from the us pool, {:?}", user.sub))
//! }
//!
//! #[get("/optional")]
//! async fn maybe(OptionalAuth(user, _): OptionalAuth) -> HttpResponse {
//!     HttpResponse::Ok().body(if user.is_some() { "signed in" } else { "anonymous" })
//! }
//!
//! # fn main() -> Result<(), cognito_core::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//!   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: client-b}
//! "#)?;
//! let auth = web::Data::new(CognitoAuth::new(&settings)?);
//! let app = move || App::new().app_data(auth.clone()).service(me).service(admin).service(us).service(maybe);
//! # let _ = app; Ok(()) }
//! ```

#![forbid(unsafe_code)]

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
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

/// The error of [`Auth`] and [`OptionalAuth`]: the 401 / 403 / 503 response of the error
/// contract (status, `WWW-Authenticate`, `Retry-After` and the JSON body, all from
/// [`Rejection`]), or a 500 whose body reveals nothing when the route is not set up.
#[derive(Debug, Clone)]
pub struct AuthRejection(pub Rejection);

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        for header in self.0.headers() {
            response.insert_header(header);
        }
        response.body(self.0.body())
    }
}

type Verification<T> = Pin<Box<dyn Future<Output = Result<T, AuthRejection>>>>;

/// The app's `CognitoAuth` and this request's header values, owned so the future is `'static`.
fn inputs(req: &HttpRequest) -> Result<(CognitoAuth, Vec<HeaderValue>), AuthRejection> {
    let auth = req
        .app_data::<web::Data<CognitoAuth>>()
        .map(|data| data.get_ref().clone())
        .or_else(|| req.app_data::<CognitoAuth>().cloned())
        .ok_or_else(|| {
            AuthRejection(Rejection::Misconfigured(
                "no CognitoAuth in the app data (App::app_data(web::Data::new(auth)))".to_owned(),
            ))
        })?;
    let values = req.headers().get_all(auth.header_name()).cloned().collect();
    Ok((auth, values))
}

impl<T: DeserializeOwned + 'static, P: Policy> FromRequest for Auth<T, P> {
    type Error = AuthRejection;
    type Future = Verification<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let inputs = inputs(req);
        Box::pin(async move {
            let (auth, values) = inputs?;
            let claims = auth
                .authenticate::<T, P>(values.iter().map(HeaderValue::as_bytes))
                .await;
            claims.map(|c| Auth(c, PhantomData)).map_err(AuthRejection)
        })
    }
}

impl<T: DeserializeOwned + 'static, P: Policy> FromRequest for OptionalAuth<T, P> {
    type Error = AuthRejection;
    type Future = Verification<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let inputs = inputs(req);
        Box::pin(async move {
            let (auth, values) = inputs?;
            let claims = auth
                .authenticate_optional::<T, P>(values.iter().map(HeaderValue::as_bytes))
                .await;
            claims.map(|c| OptionalAuth(c, PhantomData)).map_err(AuthRejection)
        })
    }
}
