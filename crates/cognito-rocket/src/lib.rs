//! # cognito-rocket
//!
//! AWS Cognito authentication for rocket 0.5: request guards over [`cognito_core`]. Every rule
//! (what is valid, which status, which `WWW-Authenticate`, which body) lives in `cognito-core`;
//! this crate only translates.
//!
//! This crate is the only dependency a rocket service needs: it re-exports the settings, the
//! [`CognitoAuth`] state, the claims, the policies and the error model, and the whole of
//! [`cognito_core`] for the rest, so the core it uses is always the one its guards were built
//! with.
//!
//! [`fairing`] manages the [`CognitoAuth`] and registers the [`catchers`] that give the
//! refusals of this crate's guards the response of the error contract; an app with catchers of
//! its own combines [`manage`], [`catchers`] and [`rejection_for`] instead (see
//! [Your own catchers](#your-own-catchers)).
//!
//! ## Required authentication
//!
//! An [`Auth`] guard: the handler runs only for a valid token of the default pool (the first of
//! the settings). It dereferences to the claims, [`CognitoToken`] by default.
//!
//! ```
//! use cognito_rocket::{Auth, CognitoAuth, CognitoSettings};
//! use rocket::{get, routes};
//!
//! #[get("/")]
//! fn me(user: Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! # fn main() -> Result<(), cognito_rocket::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//! "#)?;
//! let rocket = rocket::build()
//!     .attach(cognito_rocket::fairing(CognitoAuth::new(&settings)?))
//!     .mount("/", routes![me]);
//! # let _ = rocket; Ok(()) }
//! ```
//!
//! ## Optional authentication
//!
//! An [`OptionalAuth`] guard dereferences to `Option<claims>`: `None` when the request has no
//! token header (or an empty one). A present but invalid token is the same 401 as required
//! authentication, never an anonymous user. Do not use `Option<Auth>`: rocket turns every guard
//! error into `None`, so an expired or forged token would pass as an anonymous user.
//!
//! ```
//! use cognito_rocket::{CognitoAuth, CognitoSettings, OptionalAuth};
//! use rocket::{get, routes};
//!
//! #[get("/")]
//! fn maybe(user: OptionalAuth) -> String {
//!     match user.as_ref() {
//!         Some(user) => format!("hello {}", user.username().unwrap_or("client")),
//!         None => "hello, whoever you are".to_owned(),
//!     }
//! }
//!
//! # fn main() -> Result<(), cognito_rocket::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let rocket = rocket::build()
//!     .attach(cognito_rocket::fairing(CognitoAuth::new(&settings)?))
//!     .mount("/", routes![maybe]);
//! # let _ = rocket; Ok(()) }
//! ```
//!
//! ## A group policy
//!
//! The second type parameter is the route's [`Policy`]: a marker type naming the groups or
//! scopes it [`Require`]s (and its pool). A token without them is a 403.
//!
//! ```
//! use cognito_rocket::{Auth, CognitoAuth, CognitoSettings, CognitoToken, Policy, Require};
//! use rocket::{get, routes};
//!
//! /// Members of the `admin` group of the default pool.
//! struct Admins;
//! impl Policy for Admins {
//!     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
//! }
//!
//! #[get("/admin")]
//! fn admin(user: Auth<CognitoToken, Admins>) -> String {
//!     format!("hello admin {:?}", user.sub)
//! }
//!
//! # fn main() -> Result<(), cognito_rocket::ConfigError> {
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let rocket = rocket::build()
//!     .attach(cognito_rocket::fairing(CognitoAuth::new(&settings)?))
//!     .mount("/", routes![admin]);
//! # let _ = rocket; Ok(()) }
//! ```
//!
//! ## A second pool
//!
//! A policy's `POOL` names the pool that verifies the route's tokens (fastapi-cognito's
//! `userpool_name`); one [`CognitoAuth`] holds every pool of the settings.
//!
//! ```
//! use cognito_rocket::{Auth, CognitoAuth, CognitoSettings, CognitoToken, Policy};
//! use rocket::{get, routes};
//!
//! /// Any user of the second pool, `us`.
//! struct UsPool;
//! impl Policy for UsPool {
//!     const POOL: Option<&'static str> = Some("us");
//! }
//!
//! #[get("/us")]
//! fn us(user: Auth<CognitoToken, UsPool>) -> String {
//!     format!("hello from the us pool, {:?}", user.sub)
//! }
//!
//! # fn main() -> Result<(), cognito_rocket::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//!   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: client-b}
//! "#)?;
//! let rocket = rocket::build()
//!     .attach(cognito_rocket::fairing(CognitoAuth::new(&settings)?))
//!     .mount("/", routes![us]);
//! # let _ = rocket; Ok(()) }
//! ```
//!
//! Your own claims type works the same way: `Auth<MyClaims>` or `Auth<MyClaims, Admins>`, for
//! any `serde::Deserialize` type (a signed token that does not fit it is a 401 `malformed`).
//!
//! ## Refusals
//!
//! A guard of this crate that refuses a request fails with its status (401, 403, 503, or 500
//! for a route whose authentication is not set up) and leaves its [`Rejection`] in the
//! request's local cache. Rocket then runs the catcher for that status, and the [`catchers`] of
//! this crate answer with the response of the error contract: `WWW-Authenticate`,
//! `Retry-After` and the JSON body `{"error": "<kind>", "message": "<sentence>"}`, all from
//! [`Rejection`]. For any other error with those codes they give rocket's default answer.
//! [`rejection`] shows a response fairing what this request was refused for, for logging.
//!
//! ## Your own catchers
//!
//! [`fairing`] registers the [`catchers`] at `/`, so it collides with an app's own catcher for
//! 401, 403, 500 or 503 at `/` (rocket refuses to launch). Catchers for other codes (a 404
//! page, a `default` catcher) never collide. An app with its own instead:
//!
//! - attaches [`manage`] (or calls `rocket.manage(auth)` itself), which only manages the
//!   [`CognitoAuth`];
//! - answers our refusals from its own catcher: [`rejection_for`] gives the [`AuthRejection`]
//!   to respond with when a guard of this crate refused the request with that status;
//! - registers the [`catchers`] it has no catcher of its own for, at `/` or at the base of its
//!   choice (rocket picks the catcher with the longest matching base).
//!
//! ```
//! use cognito_rocket::{Auth, AuthRejection, CognitoAuth, CognitoSettings};
//! use rocket::http::Status;
//! use rocket::{Request, catch, catchers, get, routes};
//!
//! #[get("/")]
//! fn me(user: Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! /// The app's own 404 page: no refusal of ours is a 404.
//! #[catch(404)]
//! fn not_found() -> &'static str {
//!     "no such page"
//! }
//!
//! /// The app's own 500 page, except for a route whose authentication is not set up.
//! #[catch(500)]
//! fn internal(status: Status, req: &Request<'_>) -> Result<AuthRejection, &'static str> {
//!     cognito_rocket::rejection_for(status, req).ok_or("something went wrong")
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//! "#)?;
//! // Ours for 401, 403 and 503; the app's `internal` answers 500.
//! let mut ours = cognito_rocket::catchers();
//! ours.retain(|catcher| catcher.code != Some(500));
//! let rocket = rocket::build()
//!     .attach(cognito_rocket::manage(CognitoAuth::new(&settings)?))
//!     .register("/", catchers![not_found, internal])
//!     .register("/", ours)
//!     .mount("/", routes![me]);
//! # let config = rocket::Config { log_level: rocket::config::LogLevel::Off, ..rocket::Config::debug_default() };
//! # let client = rocket::local::blocking::Client::tracked(rocket.configure(config))?;
//! # let response = client.get("/nowhere").dispatch();
//! # assert_eq!((response.status(), response.into_string().as_deref()), (Status::NotFound, Some("no such page")));
//! # let response = client.get("/").dispatch();
//! # assert_eq!(response.status(), Status::Unauthorized);
//! # assert_eq!(response.headers().get_one("www-authenticate"), Some("Bearer"));
//! # assert!(response.into_string().unwrap_or_default().contains(r#""error":"missing_token""#));
//! # Ok(()) }
//! ```
//!
//! ## Known limit: header values that are not UTF-8
//!
//! Rocket 0.5 (0.5.2 included: a test of this crate sends such values over a socket and
//! fails if that changes) drops every header value that is not UTF-8 while it turns hyper's
//! request into its own (logging a warning, "Rocket only supports UTF-8 header values.
//! Dropping header."), before any fairing or guard runs; it offers no hook that sees the raw
//! headers (its server, listener and hyper service are private). So where `cognito-axum` and
//! `cognito-actix` answer 401 `invalid_header`, the guards of this crate see only what is left:
//!
//! - a token header (`Authorization` by default) whose value is not UTF-8, alone: no header at
//!   all. [`OptionalAuth`] gives an anonymous user, [`Auth`] answers 401 `missing_token`;
//! - a valid token header plus a second one that is not UTF-8: one header, the valid one, so
//!   the request is authenticated instead of refused as a repeated header;
//! - with a cookie token source, a `Cookie` header that is not UTF-8: dropped with every
//!   cookie in it (rocket's own cookie jar skips it too), so a token cookie in another
//!   `Cookie` header is the only one, and is verified alone instead of refused as a repeated
//!   cookie.
//!
//! A dropped value is never verified, so no token passes that would fail on its own. If your
//! service must refuse such requests (for example, a proxy in front that may read a different
//! copy of a repeated header than rocket does), have that proxy reject header values that are
//! not UTF-8.
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

use std::fmt;
use std::io::Cursor;
use std::marker::PhantomData;

use cognito_core::source::RequestView;
use rocket::catcher::{BoxFuture, Catcher};
use rocket::fairing::AdHoc;
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use serde::de::DeserializeOwned;

pub use cognito_core;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub use cognito_core::openapi;
pub use cognito_core::{
    AnyUser, AuthError, CognitoAuth, CognitoSettings, CognitoToken, ConfigError, ErrorKind, Policy, Rejection, Require,
    RequirementRef,
};

cognito_core::adapter_types! {
    krate: cognito_rocket,
    optional: "Use it rather than `Option<Auth<T, P>>`: rocket turns every guard error into `None`, so an expired or forged token would pass as anonymous.",
    rejection: "A refusal as a [`Responder`]: the 401 / 403 / 503 response of the error contract (status, `WWW-Authenticate`, `Retry-After` and the JSON body, all from [`Rejection`]), or a 500 whose body reveals nothing when the route is not set up. What the catchers answer for the guards of this crate ([`rejection_for`]), and a return type for handlers that call `cognito-core` themselves.",
}

impl<'r> Responder<'r, 'static> for AuthRejection {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        req.local_cache(|| Failed(Some(self.0.clone())));
        let body = self.0.body();
        let mut response = Response::build();
        response
            .status(Status::new(self.0.status()))
            .sized_body(body.len(), Cursor::new(body));
        for (name, value) in self.0.headers() {
            response.header(Header::new(name, value));
        }
        Ok(response.finalize())
    }
}

/// Where a failing guard (or a rendered [`AuthRejection`]) leaves its rejection: for the
/// catchers, [`rejection_for`] and [`rejection`].
struct Failed(Option<Rejection>);

/// The rejection this request got from a guard of this crate or an [`AuthRejection`], if any:
/// for a response fairing that logs refusals.
pub fn rejection<'r>(req: &'r Request<'_>) -> Option<&'r Rejection> {
    req.local_cache(|| Failed(None)).0.as_ref()
}

/// For a catcher of `status`: the response to give when a guard of this crate refused `req`
/// with that status, `None` when the error is not ours (then answer as you would anyway). What
/// the [`catchers`] of this crate do, for an app's own catcher (see
/// [Your own catchers](crate#your-own-catchers)).
///
/// ```
/// use cognito_rocket::AuthRejection;
/// use rocket::http::Status;
/// use rocket::{Request, catch};
///
/// #[catch(401)]
/// fn unauthorized(status: Status, req: &Request<'_>) -> Result<AuthRejection, &'static str> {
///     cognito_rocket::rejection_for(status, req).ok_or("please sign in")
/// }
/// ```
pub fn rejection_for(status: Status, req: &Request<'_>) -> Option<AuthRejection> {
    rejection(req)
        .filter(|rejection| rejection.status() == status.code)
        .cloned()
        .map(AuthRejection)
}

/// The protected-resource metadata routes (RFC 9728), when the settings have `resource:`:
/// `GET /.well-known/oauth-protected-resource` and
/// `GET /.well-known/oauth-protected-resource<path of the resource uri>`, without
/// authentication, answering the metadata document as JSON. Mount them at `/`; with no
/// `resource:` the list is empty.
///
/// ```
/// use cognito_rocket::{CognitoAuth, CognitoSettings};
///
/// # fn main() -> Result<(), cognito_rocket::ConfigError> {
/// let settings = CognitoSettings::from_yaml_str(r#"
/// resource: {uri: "https://api.example.com/mcp", scopes_supported: [mcp/read]}
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
/// "#)?;
/// let auth = CognitoAuth::new(&settings)?;
/// let rocket = rocket::build()
///     .mount("/", cognito_rocket::resource_metadata(&auth))
///     .attach(cognito_rocket::fairing(auth));
/// # let _ = rocket; Ok(()) }
/// ```
pub fn resource_metadata(auth: &CognitoAuth) -> Vec<rocket::Route> {
    let Some(resource) = auth.resource() else {
        return Vec::new();
    };
    resource
        .paths()
        .iter()
        // A path rocket cannot route is left out rather than failing the launch.
        .filter(|path| rocket::http::uri::Origin::parse(path).is_ok())
        .map(|path| {
            let mut route = rocket::Route::new(rocket::http::Method::Get, path, Metadata(resource.document().into()));
            route.name = Some("cognito resource metadata".into());
            route
        })
        .collect()
}

/// The handler of [`resource_metadata`]: the document, as JSON, readable from any origin.
#[derive(Clone)]
struct Metadata(std::sync::Arc<str>);

#[rocket::async_trait]
impl rocket::route::Handler for Metadata {
    async fn handle<'r>(&self, _: &'r Request<'_>, _: rocket::Data<'r>) -> rocket::route::Outcome<'r> {
        let body = self.0.as_bytes().to_vec();
        let response = Response::build()
            .header(rocket::http::ContentType::JSON)
            .header(Header::new("access-control-allow-origin", "*"))
            .sized_body(body.len(), Cursor::new(body))
            .finalize();
        rocket::route::Outcome::Success(response)
    }
}

/// The status codes a guard of this crate fails with.
const CODES: [u16; 4] = [401, 403, 500, 503];

/// Manages `auth` and registers the [`catchers`] at `/`: everything, for an app without its own
/// catcher for 401, 403, 500 or 503 at `/` (else see [`manage`]).
pub fn fairing(auth: CognitoAuth) -> AdHoc {
    AdHoc::on_ignite("cognito", move |rocket| async move {
        rocket.manage(auth).register("/", catchers())
    })
}

/// Manages `auth` and nothing else (the same as `rocket.manage(auth)`), for an app that
/// registers the [`catchers`] itself, or answers with [`rejection_for`] from its own (see
/// [Your own catchers](crate#your-own-catchers)). Attach it or [`fairing`], not both: rocket
/// manages one `CognitoAuth`.
pub fn manage(auth: CognitoAuth) -> AdHoc {
    AdHoc::on_ignite("cognito state", move |rocket| async move { rocket.manage(auth) })
}

/// The catchers for 401, 403, 500 and 503 that [`fairing`] registers at `/`, to register at a
/// base of your choice with `rocket.register(base, cognito_rocket::catchers())`. Each answers a
/// refusal of this crate's guards with its [`AuthRejection`] (see [`rejection_for`]), and any
/// other error with rocket's default answer. Leave out (`retain`) the codes your app has its own
/// catcher for at the same base.
pub fn catchers() -> Vec<Catcher> {
    CODES
        .into_iter()
        .map(|code| {
            let mut catcher = Catcher::new(code, catch);
            catcher.name = Some("cognito".into());
            catcher
        })
        .collect()
}

fn catch<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    Box::pin(async move {
        match rejection_for(status, req) {
            Some(rejection) => rejection.respond_to(req),
            // Not ours: rocket's own answer.
            None => Catcher::default().handler.handle(status, req).await,
        }
    })
}

fn fail<S>(req: &Request<'_>, rejection: Rejection) -> Outcome<S, Rejection> {
    let status = Status::new(rejection.status());
    req.local_cache(|| Failed(Some(rejection.clone())));
    Outcome::Error((status, rejection))
}

fn state<'r>(req: &'r Request<'_>) -> Result<&'r CognitoAuth, Rejection> {
    req.rocket().state::<CognitoAuth>().ok_or_else(|| {
        Rejection::Misconfigured(
            "no CognitoAuth managed (attach cognito_rocket::fairing(auth) or cognito_rocket::manage(auth))".to_owned(),
        )
    })
}

/// A rocket request as the verifier reads it (its headers and query string): what to hand a
/// [`CognitoAuth`] or [`cognito_core::Verifier`] from a handler or guard of your own.
///
/// Rocket's own request log (`log_level: normal` and above) prints each request's URI,
/// query string included: with a `query` token source, run at `critical` or `off`.
#[derive(Clone, Copy)]
pub struct RocketRequest<'a> {
    headers: &'a rocket::http::HeaderMap<'a>,
    query: Option<&'a str>,
}

impl<'a> RocketRequest<'a> {
    /// The parts of `request` a token may come from.
    pub fn new(request: &'a Request<'_>) -> Self {
        RocketRequest {
            headers: request.headers(),
            query: request.uri().query().map(|q| q.as_str()),
        }
    }
}

impl fmt::Debug for RocketRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the values: they hold tokens.
        f.debug_struct("RocketRequest").finish_non_exhaustive()
    }
}

impl RequestView for RocketRequest<'_> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.headers.get(name).map(str::as_bytes)
    }

    fn query(&self) -> Option<&str> {
        self.query
    }
}

#[rocket::async_trait]
impl<'r, T, P> FromRequest<'r> for Auth<T, P>
where
    T: DeserializeOwned + Send + 'static,
    P: Policy,
{
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        let auth = match state(req) {
            Ok(auth) => auth,
            Err(rejection) => return fail(req, rejection),
        };
        match auth
            .authenticate::<T>(&RocketRequest::new(req), RequirementRef::of::<P>())
            .await
        {
            Ok(claims) => Outcome::Success(Auth(claims, PhantomData)),
            Err(rejection) => fail(req, rejection),
        }
    }
}

#[rocket::async_trait]
impl<'r, T, P> FromRequest<'r> for OptionalAuth<T, P>
where
    T: DeserializeOwned + Send + 'static,
    P: Policy,
{
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        let auth = match state(req) {
            Ok(auth) => auth,
            Err(rejection) => return fail(req, rejection),
        };
        match auth
            .authenticate_optional::<T>(&RocketRequest::new(req), RequirementRef::of::<P>())
            .await
        {
            Ok(claims) => Outcome::Success(OptionalAuth(claims, PhantomData)),
            Err(rejection) => fail(req, rejection),
        }
    }
}
