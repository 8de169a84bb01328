//! Testing your own axum app with cognito-testkit: a two-pool app with an admin route, a
//! custom claim and optional authentication, built in the test and served on 127.0.0.1, with
//! reqwest as the client and real tokens from a development issuer. Copy it as a start.

use axum::Router;
use axum::routing::get;
use cognito_axum::{Auth, CognitoAuth, CognitoSettings, CognitoToken, OptionalAuth, Policy, Require};
use cognito_testkit::DevIssuer;

/// The admins of the default pool.
struct Admins;
impl Policy for Admins {
    const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
}

/// Any user of the second pool.
struct UsPool;
impl Policy for UsPool {
    const POOL: Option<&'static str> = Some("us");
}

/// The claims with a custom attribute.
#[derive(serde::Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    tenant: Option<String>,
}

fn app(auth: CognitoAuth) -> Router {
    Router::new()
        .route(
            "/admin",
            get(|user: Auth<CognitoToken, Admins>| async move { format!("admin {}", user.username().unwrap_or("?")) }),
        )
        .route(
            "/us",
            get(|user: Auth<CognitoToken, UsPool>| async move { format!("us {}", user.username().unwrap_or("?")) }),
        )
        .route(
            "/tenant",
            get(|claims: Auth<Tenant>| async move { claims.tenant.clone().unwrap_or_default() }),
        )
        .route(
            "/optional",
            get(|user: OptionalAuth| async move { if user.is_some() { "signed in" } else { "anonymous" } }),
        )
        .with_state(auth)
}

#[tokio::test]
async fn my_app_with_real_tokens() -> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = CognitoSettings::from_yaml_str(&dev.settings_yaml_for(&["eu", "us"]))?;
    let auth = CognitoAuth::new(&settings)?;
    auth.check_policy::<UsPool>()?; // a typo in a policy's pool fails here, not at request time
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app(auth)).await });
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let request = client.get(format!("{base}{path}"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };

    let admin = dev.access_token_for("eu", &["admin"], "")?;
    let user = dev.access_token_for("eu", &[], "")?;
    let us = dev.access_token_for("us", &[], "")?;
    let answer = get("/admin", Some(&admin)).await?;
    assert_eq!(
        (answer.status().as_u16(), answer.text().await?),
        (200, "admin alice".to_owned())
    );
    let answer = get("/admin", Some(&user)).await?;
    assert_eq!(answer.status().as_u16(), 403);
    assert!(answer.text().await?.contains("\"forbidden_group\""));
    assert_eq!(get("/us", Some(&us)).await?.text().await?, "us alice");
    assert_eq!(
        get("/us", Some(&user)).await?.status().as_u16(),
        401,
        "the eu pool's token"
    );
    assert_eq!(get("/tenant", Some(&user)).await?.text().await?, "dev");
    assert_eq!(get("/optional", None).await?.text().await?, "anonymous");
    assert_eq!(get("/optional", Some(&user)).await?.text().await?, "signed in");
    assert_eq!(get("/optional", Some("a.b.c")).await?.status().as_u16(), 401);
    Ok(())
}
