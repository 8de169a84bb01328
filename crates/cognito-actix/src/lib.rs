//! # cognito-actix
//!
//! AWS Cognito authentication for actix-web 4: extractors over [`cognito_core`]. Every rule
//! (what is valid, which status, which `WWW-Authenticate`, which body) lives in `cognito-core`;
//! this crate only translates.
//!
//! This crate is the only dependency an actix-web service needs: it re-exports the settings,
//! the [`CognitoAuth`] state, the claims, the policies and the error model, and the whole of
//! [`cognito_core`] for the rest, so the core it uses is always the one its extractors were
//! built with.
//!
//! The [`CognitoAuth`] comes from the app data: `App::new().app_data(web::Data::new(auth))`.
//!
//! ## Required authentication
//!
//! An [`Auth`] argument: the handler runs only for a valid token of the default pool (the first
//! of the settings). It dereferences to the claims, [`CognitoToken`] by default.
//!
//! ```
//! use actix_web::{App, HttpResponse, get, web};
//! use cognito_actix::{Auth, CognitoAuth, CognitoSettings};
//!
//! #[get("/")]
//! async fn me(user: Auth) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello {}", user.username().unwrap_or("client")))
//! }
//!
//! # fn main() -> Result<(), cognito_actix::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//! "#)?;
//! let auth = web::Data::new(CognitoAuth::new(&settings)?);
//! let app = move || App::new().app_data(auth.clone()).service(me);
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## Optional authentication
//!
//! An [`OptionalAuth`] argument dereferences to `Option<claims>`: `None` when the request has
//! no token header (or an empty one). A present but invalid token is the same 401 as required
//! authentication, never an anonymous user. Do not use `Option<Auth>`: actix turns every
//! extractor error into `None`, so an expired or forged token would pass as an anonymous user.
//!
//! ```
//! use actix_web::{App, HttpResponse, get, web};
//! use cognito_actix::{CognitoAuth, CognitoSettings, OptionalAuth};
//!
//! #[get("/")]
//! async fn maybe(user: OptionalAuth) -> HttpResponse {
//!     HttpResponse::Ok().body(match user.as_ref() {
//!         Some(user) => format!("hello {}", user.username().unwrap_or("client")),
//!         None => "hello, whoever you are".to_owned(),
//!     })
//! }
//!
//! # fn main() -> Result<(), cognito_actix::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let auth = web::Data::new(CognitoAuth::new(&settings)?);
//! let app = move || App::new().app_data(auth.clone()).service(maybe);
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## A group policy
//!
//! The second type parameter is the route's [`Policy`]: a marker type naming the groups or
//! scopes it [`Require`]s (and its pool). A token without them is a 403.
//!
//! ```
//! use actix_web::{App, HttpResponse, get, web};
//! use cognito_actix::{Auth, CognitoAuth, CognitoSettings, CognitoToken, Policy, Require};
//!
//! /// Members of the `admin` group of the default pool.
//! struct Admins;
//! impl Policy for Admins {
//!     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
//! }
//!
//! #[get("/admin")]
//! async fn admin(user: Auth<CognitoToken, Admins>) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello admin {:?}", user.sub))
//! }
//!
//! # fn main() -> Result<(), cognito_actix::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let auth = web::Data::new(CognitoAuth::new(&settings)?);
//! let app = move || App::new().app_data(auth.clone()).service(admin);
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## A second pool
//!
//! A policy's `POOL` names the pool that verifies the route's tokens (fastapi-cognito's
//! `userpool_name`); one [`CognitoAuth`] holds every pool of the settings.
//!
//! ```
//! use actix_web::{App, HttpResponse, get, web};
//! use cognito_actix::{Auth, CognitoAuth, CognitoSettings, CognitoToken, Policy};
//!
//! /// Any user of the second pool, `us`.
//! struct UsPool;
//! impl Policy for UsPool {
//!     const POOL: Option<&'static str> = Some("us");
//! }
//!
//! #[get("/us")]
//! async fn us(user: Auth<CognitoToken, UsPool>) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello from the us pool, {:?}", user.sub))
//! }
//!
//! # fn main() -> Result<(), cognito_actix::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//!   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: client-b}
//! "#)?;
//! let auth = web::Data::new(CognitoAuth::new(&settings)?);
//! let app = move || App::new().app_data(auth.clone()).service(us);
//! # let _ = app; Ok(()) }
//! ```
//!
//! Your own claims type works the same way: `Auth<MyClaims>` or `Auth<MyClaims, Admins>`, for
//! any `serde::Deserialize` type (a signed token that does not fit it is a 401 `malformed`).
//!
//! ## A whole app or scope behind middleware
//!
//! [`CognitoMiddleware`] (`wrap`) verifies once per request, before any handler, with the
//! requirement its [`Guard`] names for the path; the extractors then read its [`Verified`]
//! token instead of verifying again (the route's own groups and scopes still apply). Use the
//! extractors alone when routes differ in what they ask; wrap a scope when all of it needs
//! the same, or to refuse before any other middleware or body parsing runs.
//!
//! ```
//! use actix_web::{App, web};
//! use cognito_actix::{Auth, CognitoAuth, CognitoMiddleware, CognitoSettings, Guard, Requirement};
//!
//! async fn me(user: Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! # fn main() -> Result<(), cognito_actix::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let auth = CognitoAuth::new(&settings)?;
//! let guard = Guard::new(auth.clone()).route("/api/admin/*", Requirement::new().any_group(["admin"]));
//! let app = App::new()
//!     .app_data(web::Data::new(auth))
//!     .service(web::scope("/api").wrap(CognitoMiddleware::new(guard)).route("/me", web::get().to(me)));
//! # let _ = app; Ok(()) }
//! ```
//!
//! ## Refusals
//!
//! [`AuthRejection`] is the extractors' error, a [`ResponseError`] with the 401 / 403 / 503
//! response of the error contract: status, `WWW-Authenticate`, `Retry-After` and the JSON body
//! `{"error": "<kind>", "message": "<sentence>"}`, all from [`Rejection`]. A middleware finds
//! it with `response.response().error().and_then(|e| e.as_error::<AuthRejection>())`, for
//! logging.
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

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use cognito_core::source::RequestView;
use serde::de::DeserializeOwned;

mod middleware;

pub use cognito_core;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub use cognito_core::openapi;
pub use cognito_core::{
    AnyUser, AuthError, CognitoAuth, CognitoSettings, CognitoToken, ConfigError, ErrorKind, Guard, Mode, Policy,
    Rejection, Require, Requirement, RequirementRef, Verified,
};
pub use middleware::{CognitoMiddleware, CognitoMiddlewareFuture, CognitoMiddlewareService};

cognito_core::adapter_types! {
    krate: cognito_actix,
    optional: "Use it rather than `Option<Auth<T, P>>`: actix turns every extractor error into `None`, so an expired or forged token would pass as anonymous.",
    rejection: "The error of [`Auth`] and [`OptionalAuth`], a [`ResponseError`]: the 401 / 403 / 503 response of the error contract (status, `WWW-Authenticate`, `Retry-After` and the JSON body, all from [`Rejection`]), or a 500 whose body reveals nothing when the route is not set up.",
}

/// The protected-resource metadata routes (RFC 9728), when the settings have `resource:`:
/// `GET /.well-known/oauth-protected-resource` and
/// `GET /.well-known/oauth-protected-resource<path of the resource uri>`, without
/// authentication, answering the metadata document as JSON. Pass it to `App::configure`;
/// with no `resource:` it registers nothing. (The [`CognitoMiddleware`] also answers these
/// paths itself, for the requests it sees.)
///
/// ```
/// use actix_web::App;
/// use cognito_actix::{CognitoAuth, CognitoSettings};
///
/// # fn main() -> Result<(), cognito_actix::ConfigError> {
/// let settings = CognitoSettings::from_yaml_str(r#"
/// resource: {uri: "https://api.example.com/mcp", scopes_supported: [mcp/read]}
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
/// "#)?;
/// let auth = CognitoAuth::new(&settings)?;
/// let app = App::new().configure(cognito_actix::resource_metadata(&auth));
/// # let _ = app; Ok(()) }
/// ```
pub fn resource_metadata(auth: &CognitoAuth) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let resource = auth.resource().cloned();
    move |config| {
        let Some(resource) = resource else {
            return;
        };
        for path in resource.paths() {
            let document = resource.document().to_owned();
            config.route(
                path,
                web::get().to(move || {
                    let response = metadata_response(&document);
                    async move { response }
                }),
            );
        }
    }
}

/// The metadata document's response: 200, JSON, readable from any origin.
pub(crate) fn metadata_response(document: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("access-control-allow-origin", "*"))
        .body(document.to_owned())
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

/// An actix-web request as the verifier reads it (its headers and query string): what to
/// hand a [`CognitoAuth`] or [`cognito_core::Verifier`] from a handler of your own.
#[derive(Debug, Clone, Copy)]
pub struct ActixRequest<'a>(pub &'a HttpRequest);

impl RequestView for ActixRequest<'_> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.0.headers().get_all(name).map(HeaderValue::as_bytes)
    }

    fn query(&self) -> Option<&str> {
        Some(self.0.query_string()).filter(|q| !q.is_empty())
    }
}

/// The app's `CognitoAuth`, the request (a cheap, shared handle) and the middleware's
/// verified token (if it ran), owned so the future is `'static`.
type Inputs = (CognitoAuth, HttpRequest, Option<Verified>);

fn inputs(req: &HttpRequest) -> Result<Inputs, AuthRejection> {
    let auth = req
        .app_data::<web::Data<CognitoAuth>>()
        .map(|data| data.get_ref().clone())
        .or_else(|| req.app_data::<CognitoAuth>().cloned())
        .ok_or_else(|| {
            AuthRejection(Rejection::Misconfigured(
                "no CognitoAuth in the app data (App::app_data(web::Data::new(auth)))".to_owned(),
            ))
        })?;
    let verified = actix_web::HttpMessage::extensions(req).get::<Verified>().cloned();
    Ok((auth, req.clone(), verified))
}

impl<T: DeserializeOwned + 'static, P: Policy> FromRequest for Auth<T, P> {
    type Error = AuthRejection;
    type Future = Verification<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let inputs = inputs(req);
        Box::pin(async move {
            let (auth, req, verified) = inputs?;
            if let Some(answer) = auth
                .authorize_layered(verified.as_ref(), RequirementRef::of::<P>())
                .await
            {
                return answer.map(|c| Auth(c, PhantomData)).map_err(AuthRejection);
            }
            let claims = auth
                .authenticate::<T>(&ActixRequest(&req), RequirementRef::of::<P>())
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
            let (auth, req, verified) = inputs?;
            if let Some(answer) = auth
                .authorize_layered(verified.as_ref(), RequirementRef::of::<P>())
                .await
            {
                return answer
                    .map(|c| OptionalAuth(Some(c), PhantomData))
                    .map_err(AuthRejection);
            }
            let claims = auth
                .authenticate_optional::<T>(&ActixRequest(&req), RequirementRef::of::<P>())
                .await;
            claims.map(|c| OptionalAuth(c, PhantomData)).map_err(AuthRejection)
        })
    }
}
