//! # cognito-rocket
//!
//! AWS Cognito authentication for rocket 0.5: request guards over [`cognito_core`]. Every rule
//! (what is valid, which status, which `WWW-Authenticate`, which body) lives in `cognito-core`;
//! this crate only translates.
//!
//! - [`Auth<T, P>`]: required authentication. `T` is the claims type ([`CognitoToken`] by
//!   default, or any `Deserialize` type of yours); `P` is the route's [`Policy`]: which pool, and
//!   which groups / scopes it requires ([`AnyUser`] by default).
//! - [`OptionalAuth<T, P>`]: optional authentication. No header (or an empty one) is anonymous;
//!   a present but invalid token is the same 401 as required auth. Do not use `Option<Auth>`:
//!   rocket turns every guard error into `None`, so an expired or forged token would pass as an
//!   anonymous user.
//! - [`fairing`]: manages the [`CognitoAuth`] and registers the catchers that give the 401 /
//!   403 / 503 refusals of this crate's guards (and the 500 of a misconfigured route) the
//!   response of the error contract: `WWW-Authenticate`, `Retry-After` and the JSON body
//!   `{"error": "<kind>", "message": "<sentence>"}`, all from [`Rejection`]. Other errors with
//!   those codes keep rocket's default answer.
//! - [`AuthRejection`]: a [`Responder`], for handlers that call `cognito-core` themselves.
//!
//! ```
//! use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, Policy, Require};
//! use cognito_rocket::{Auth, OptionalAuth};
//! use rocket::{get, routes};
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
//! fn me(user: Auth) -> String {
//!     format!("hello {}", user.username().unwrap_or("client"))
//! }
//!
//! #[get("/admin")]
//! fn admin(user: Auth<CognitoToken, Admins>) -> String {
//!     format!("hello admin {:?}", user.sub)
//! }
//!
//! #[get("/us")]
//! fn us(user: Auth<CognitoToken, UsPool>) -> String {
//!     format!("hello from the us pool, {:?}", user.sub)
//! }
//!
//! #[get("/optional")]
//! fn maybe(user: OptionalAuth) -> &'static str {
//!     if user.0.is_some() { "signed in" } else { "anonymous" }
//! }
//!
//! # fn main() -> Result<(), cognito_core::ConfigError> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}
//!   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: client-b}
//! "#)?;
//! let rocket = rocket::build()
//!     .attach(cognito_rocket::fairing(CognitoAuth::new(&settings)?))
//!     .mount("/", routes![me, admin, us, maybe]);
//! # let _ = rocket; Ok(()) }
//! ```
//!
//! ## Known limit: header values that are not UTF-8
//!
//! Rocket 0.5 drops every header value that is not UTF-8 while it turns hyper's request into its
//! own (logging a warning, "Rocket only supports UTF-8 header values. Dropping header."), before
//! any fairing or guard runs; it offers no hook that sees the raw headers (its server, listener
//! and hyper service are private). So where `cognito-axum` and `cognito-actix` answer 401
//! `invalid_header`, the guards of this crate see only what is left:
//!
//! - a token header (`Authorization` by default) whose value is not UTF-8, alone: no header at
//!   all. [`OptionalAuth`] gives an anonymous user, [`Auth`] answers 401 `missing_token`;
//! - a valid token header plus a second one that is not UTF-8: one header, the valid one, so
//!   the request is authenticated instead of refused as a repeated header.
//!
//! A dropped value is never verified, so no token passes that would fail on its own. If your
//! service must refuse such requests (for example, a proxy in front that may read a different
//! copy of a repeated header than rocket does), have that proxy reject header values that are
//! not UTF-8.

#![forbid(unsafe_code)]

use std::io::Cursor;
use std::marker::PhantomData;

use cognito_core::{AnyUser, CognitoAuth, CognitoToken, Policy, Rejection};
use rocket::catcher::{BoxFuture, Catcher};
use rocket::fairing::AdHoc;
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
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

/// A refusal as a response: the status, `WWW-Authenticate`, `Retry-After` and JSON body of the
/// error contract, all from [`Rejection`].
#[derive(Debug, Clone)]
pub struct AuthRejection(pub Rejection);

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

/// Where a failing guard (or a rendered [`AuthRejection`]) leaves its rejection: for the catcher,
/// and for [`rejection`].
struct Failed(Option<Rejection>);

/// The rejection this request got from a guard of this crate or an [`AuthRejection`], if any:
/// for a response fairing that logs refusals.
pub fn rejection<'r>(req: &'r Request<'_>) -> Option<&'r Rejection> {
    req.local_cache(|| Failed(None)).0.as_ref()
}

/// Manages `auth` and registers the catchers that render refusals (see the crate docs).
pub fn fairing(auth: CognitoAuth) -> AdHoc {
    AdHoc::on_ignite("cognito", move |rocket| async move {
        let catchers: Vec<Catcher> = [401, 403, 500, 503]
            .into_iter()
            .map(|code| Catcher::new(code, catch))
            .collect();
        rocket.manage(auth).register("/", catchers)
    })
}

fn catch<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    Box::pin(async move {
        match &req.local_cache(|| Failed(None)).0 {
            Some(rejection) if rejection.status() == status.code => AuthRejection(rejection.clone()).respond_to(req),
            // Not ours: rocket's own answer.
            _ => Catcher::default().handler.handle(status, req).await,
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
        Rejection::Misconfigured("no CognitoAuth managed (attach cognito_rocket::fairing(auth))".to_owned())
    })
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
        let values = req.headers().get(auth.header_name()).map(str::as_bytes);
        match auth.authenticate::<T, P>(values).await {
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
        let values = req.headers().get(auth.header_name()).map(str::as_bytes);
        match auth.authenticate_optional::<T, P>(values).await {
            Ok(claims) => Outcome::Success(OptionalAuth(claims, PhantomData)),
            Err(rejection) => fail(req, rejection),
        }
    }
}
