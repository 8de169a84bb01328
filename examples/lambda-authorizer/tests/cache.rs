//! The demo's authorizer under API Gateway's cache: the answer for one route, reused for
//! another (API Gateway keys it by the `Authorization` header), decides as a fresh invocation
//! does, for a user without groups, an admin and a scope-holder. The simulation is
//! `cognito-lambda`'s (`tests/support/sim.rs`); tokens are real, served from 127.0.0.1.

#[path = "../../../crates/cognito-lambda/tests/support/sim.rs"]
mod sim;

use cognito_core::{CognitoAuth, CognitoSettings};
use cognito_lambda::HttpApiResponse;
use cognito_lambda_authorizer_demo::{authorizer, http_api_response};
use cognito_testkit::DevIssuer;
use sim::{Kind, check_reuse, event};

type BoxError = Box<dyn std::error::Error>;

const REQUESTS: [(&str, &str); 14] = [
    ("GET", "/"),
    ("GET", "/admin"),
    ("POST", "/admin"),
    ("HEAD", "/admin"),
    ("DELETE", "/admin/users/7"),
    ("GET", "/administrators"),
    ("GET", "/scoped"),
    ("HEAD", "/scoped"),
    ("POST", "/scoped"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/x/../admin"),
    ("GET", "/%61dmin"),
    ("GET", "//admin"),
    ("GET", "/admin."),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_answers_hold_for_every_route_they_are_reused_for() -> Result<(), BoxError> {
    let dev = DevIssuer::start().await?;
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&dev.settings_yaml())?)?;
    let demo = authorizer(auth.clone(), http_api_response(None)?)?;
    demo.prefetch().await;
    let bearer = |groups: &[&str], scope: &str| dev.access_token(groups, scope).map(|t| format!("Bearer {t}"));
    let (user, admin, reader) = (bearer(&[], "")?, bearer(&["admin"], "")?, bearer(&[], "demo/read")?);
    let users = [
        ("no groups", user.as_str()),
        ("admin", &admin),
        ("scope-holder", &reader),
    ];
    check_reuse(&demo, &[Kind::Token, Kind::Request, Kind::HttpApi], &users, &REQUESTS).await?;

    // The whole-table answer stays small (API Gateway documents an 8 KB authorizer answer limit).
    let answer = demo.handle(event(Kind::Token, "GET", "/", &admin)?).await?;
    assert!(answer.to_string().len() < 4096, "{} bytes", answer.to_string().len());

    // The demo's routes differ in what they require: a simple response needs the route in the
    // cache key.
    assert!(authorizer(auth.clone(), HttpApiResponse::Simple).is_err());
    assert!(authorizer(auth, HttpApiResponse::SimpleCacheKeyIncludesRoute).is_ok());
    Ok(())
}
