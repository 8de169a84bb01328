//! The rocket demo of SPEC section 6, as a library so the conformance suite can serve it.

#![forbid(unsafe_code)]

use cognito_core::{CognitoAuth, CognitoToken};
use cognito_demo_support::{self as demo, Admins, PoolRefusal, Readers, TenantClaims};
use cognito_rocket::{Auth, AuthRejection, OptionalAuth};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, HeaderMap, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder};
use rocket::{Build, Rocket, State, get, routes};
use serde_json::Value;
use utoipa_swagger_ui::SwaggerUi;

type JsonBody = (ContentType, String);

fn json(body: Value) -> JsonBody {
    (ContentType::JSON, body.to_string())
}

/// The demo's rocket over `auth`.
pub fn rocket(auth: CognitoAuth, config: rocket::Config) -> Rocket<Build> {
    let docs = SwaggerUi::new("/docs/<_..>").url("/openapi.json", demo::openapi(&auth));
    rocket::custom(config)
        .mount("/", docs)
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
        .mount("/", routes![health, me, optional, admin, scoped, custom, pool])
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

#[get("/")]
fn me(user: Auth) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/optional")]
fn optional(user: OptionalAuth) -> JsonBody {
    json(demo::optional_body(user.0.as_ref()))
}

#[get("/admin")]
fn admin(user: Auth<CognitoToken, Admins>) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/scoped")]
fn scoped(user: Auth<CognitoToken, Readers>) -> JsonBody {
    json(demo::user_body(&user))
}

#[get("/custom")]
fn custom(claims: Auth<TenantClaims>) -> JsonBody {
    json(demo::custom_body(&claims))
}

/// Every header of the request (for `/pools/<name>`, which picks its pool at run time).
struct Headers<'r>(&'r HeaderMap<'r>);

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
async fn pool(name: &str, auth: &State<CognitoAuth>, headers: Headers<'_>) -> Result<JsonBody, Refused> {
    let values = headers.0.get(auth.header_name()).map(str::as_bytes);
    match demo::named_pool(auth, name, values).await {
        Ok(body) => Ok(json(body)),
        Err(PoolRefusal::NotFound) => Err(Refused::NotFound),
        Err(PoolRefusal::Rejected(rejection)) => Err(Refused::Rejected(AuthRejection(rejection))),
    }
}
