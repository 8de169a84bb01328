//! The rocket demo server (`/health`, `/ready`, `/metrics`, `/`, `/optional`, `/admin`,
//! `/scoped`, `/machine`, `/recent`, `/all-scopes`, `POST /revoke`, `/custom`, `/pools/{name}`, `/alb`, `/tenant`, `/openapi.json`, `/docs`), as a library so
//! the conformance suite can serve it.

#![forbid(unsafe_code)]

use cognito_demo_support::{self as demo, Admins, Machines, PoolRefusal, ReadWriters, Readers, Recent, TenantClaims};
use cognito_rocket::{Auth, AuthRejection, CognitoAuth, CognitoToken, OptionalAuth, RocketRequest};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, HeaderMap, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::{Build, Rocket, State, get, post, routes};
use std::path::PathBuf;
use std::sync::Arc;

use rocket::http::uri::Origin;
use rocket::response::Redirect;
use serde_json::Value;
use utoipa_swagger_ui as swagger_ui;

type JsonBody = (ContentType, String);

fn json(body: impl rocket::serde::Serialize) -> JsonBody {
    (ContentType::JSON, serde_json::to_string(&body).unwrap_or_default())
}

/// The demo's rocket over `auth`.
pub fn rocket(auth: CognitoAuth, config: rocket::Config) -> Rocket<Build> {
    demo::prometheus();
    let openapi = OpenApiJson(demo::openapi(&auth).to_json().unwrap_or_default());
    let metadata = cognito_rocket::resource_metadata(&auth);
    rocket::custom(config)
        .mount("/", metadata)
        .manage(openapi)
        .manage(Arc::new(swagger_ui::Config::from("/openapi.json")))
        .attach(cognito_rocket::fairing(auth.clone()))
        .attach(AdHoc::on_response("log rejections", |req, _| {
            Box::pin(async move {
                if let Some(rejection) = cognito_rocket::rejection(req) {
                    demo::log_rejection(req.method().as_str(), req.uri().path().as_str(), rejection);
                }
            })
        }))
        .attach(AdHoc::on_liftoff("prefetch", move |_| {
            Box::pin(async move {
                tokio::spawn(demo::prefetch(auth));
            })
        }))
        .mount(
            "/",
            routes![
                health,
                ready,
                metrics,
                me,
                optional,
                admin,
                scoped,
                machine,
                recent,
                all_scopes,
                revoke,
                custom,
                pool,
                alb,
                tenant,
                openapi_json,
                docs
            ],
        )
}

/// Serves the demo on `listener`'s address until the process ends (its own runtime). Rocket 0.5
/// binds its own socket, so the listener is closed just before launch.
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    drop(listener);
    let config = rocket::Config {
        address: addr.ip(),
        port: addr.port(),
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        ..rocket::Config::default()
    };
    rocket::execute(rocket(auth, config).launch())
        .map(drop)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

#[get("/health")]
fn health() -> JsonBody {
    json(demo::health_body())
}

#[get("/ready")]
fn ready(auth: &State<CognitoAuth>) -> (Status, JsonBody) {
    let (status, body) = demo::ready(auth);
    (Status::new(status), json(body))
}

#[get("/metrics")]
fn metrics(auth: &State<CognitoAuth>) -> (ContentType, String) {
    let content_type = ContentType::parse_flexible(demo::METRICS_CONTENT_TYPE).unwrap_or(ContentType::Plain);
    (content_type, demo::metrics_text(auth))
}

#[get("/")]
fn me(user: Auth) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/optional")]
fn optional(user: OptionalAuth) -> JsonBody {
    json(demo::optional_body(user.as_ref()))
}

#[get("/admin")]
fn admin(user: Auth<CognitoToken, Admins>) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/scoped")]
fn scoped(user: Auth<CognitoToken, Readers>) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/machine")]
fn machine(token: Auth<CognitoToken, Machines>) -> JsonBody {
    json(demo::machine_body(&token))
}

#[get("/recent")]
fn recent(user: Auth<CognitoToken, Recent>) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/all-scopes")]
fn all_scopes(user: Auth<CognitoToken, ReadWriters>) -> JsonBody {
    json(demo::user_body(&user))
}

/// Authenticated (an admin, a request guard) before the body is read (the data guard).
#[post("/revoke", data = "<body>")]
async fn revoke(_admin: Auth<CognitoToken, Admins>, auth: &State<CognitoAuth>, body: Vec<u8>) -> (Status, JsonBody) {
    let (status, body) = demo::revoke(auth, &body).await;
    (Status::new(status), json(body))
}

#[get("/custom")]
fn custom(claims: Auth<TenantClaims>) -> JsonBody {
    json(demo::custom_body(&claims))
}

/// Every header of the request (for `/pools/<name>`, which picks its pool at run time, and `/alb`).
struct Headers<'r>(&'r HeaderMap<'r>);

/// The whole request, for the verifier (its headers and query).
struct Whole<'r>(RocketRequest<'r>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Whole<'r> {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Whole(RocketRequest::new(req)))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Headers<'r> {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Headers(req.headers()))
    }
}

/// Why `/pools/<name>` refused, as a response.
enum Refused {
    NotFound,
    Rejected(AuthRejection),
}

impl<'r> Responder<'r, 'static> for Refused {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Refused::NotFound => (Status::NotFound, json(demo::not_found_body())).respond_to(req),
            Refused::Rejected(rejection) => rejection.respond_to(req),
        }
    }
}

#[get("/pools/<name>")]
async fn pool(name: &str, auth: &State<CognitoAuth>, request: Whole<'_>) -> Result<JsonBody, Refused> {
    refusal_or(demo::named_pool(auth, name, &request.0).await)
}

#[get("/tenant")]
async fn tenant(auth: &State<CognitoAuth>, request: Whole<'_>) -> Result<JsonBody, Refused> {
    refusal_or(demo::tenant_user(auth, &request.0).await)
}

#[get("/alb")]
async fn alb(auth: &State<CognitoAuth>, headers: Headers<'_>) -> Result<JsonBody, Refused> {
    let values = headers.0.get(demo::ALB_HEADER).map(str::as_bytes);
    refusal_or(demo::alb_user(auth, values).await)
}

fn refusal_or(result: Result<Value, PoolRefusal>) -> Result<JsonBody, Refused> {
    match result {
        Ok(body) => Ok(json(body)),
        Err(PoolRefusal::NotFound) => Err(Refused::NotFound),
        Err(PoolRefusal::Rejected(rejection)) => Err(Refused::Rejected(AuthRejection(rejection))),
    }
}

/// The OpenAPI document, serialized once.
struct OpenApiJson(String);

#[get("/openapi.json")]
fn openapi_json(doc: &State<OpenApiJson>) -> JsonBody {
    (ContentType::JSON, doc.0.clone())
}

/// Swagger UI's files. Served by hand rather than through utoipa-swagger-ui's `rocket` feature,
/// which turns on rocket's `http2` and with it an h2 0.3 that has an open advisory.
/// `/docs` itself redirects to `/docs/` (rocket routes both here), so Swagger UI's relative
/// asset paths resolve.
#[get("/docs/<file..>")]
fn docs(file: PathBuf, uri: &Origin<'_>, config: &State<Arc<swagger_ui::Config<'static>>>) -> Docs {
    if !uri.path().ends_with('/') && file.as_os_str().is_empty() {
        return Docs::Moved(Redirect::to("/docs/"));
    }
    Docs::File(swagger_file(file, config))
}

#[derive(Responder)]
enum Docs {
    Moved(Redirect),
    File(Option<(ContentType, Vec<u8>)>),
}

fn swagger_file(file: PathBuf, config: &Arc<swagger_ui::Config<'static>>) -> Option<(ContentType, Vec<u8>)> {
    let file = swagger_ui::serve(file.to_str()?, Arc::clone(config)).ok()??;
    let content_type = ContentType::parse_flexible(&file.content_type)?;
    Some((content_type, file.bytes.into_owned()))
}
