//! Testing your own rocket app with cognito-testkit: a two-pool app with an admin route, a
//! custom claim and optional authentication, driven through rocket's own local client with
//! real tokens from a development issuer. Copy it as a start.

use cognito_rocket::{Auth, CognitoAuth, CognitoSettings, CognitoToken, OptionalAuth, Policy, Require};
use cognito_testkit::DevIssuer;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};

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

#[get("/admin")]
fn admin(user: Auth<CognitoToken, Admins>) -> String {
    format!("admin {}", user.username().unwrap_or("?"))
}

#[get("/us")]
fn us(user: Auth<CognitoToken, UsPool>) -> String {
    format!("us {}", user.username().unwrap_or("?"))
}

#[get("/tenant")]
fn tenant(claims: Auth<Tenant>) -> String {
    claims.tenant.clone().unwrap_or_default()
}

#[get("/optional")]
fn optional(user: OptionalAuth) -> &'static str {
    if user.is_some() { "signed in" } else { "anonymous" }
}

#[rocket::async_test]
async fn my_app_with_real_tokens() -> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = CognitoSettings::from_yaml_str(&dev.settings_yaml_for(&["eu", "us"]))?;
    let auth = CognitoAuth::new(&settings)?;
    auth.check_policy::<UsPool>()?; // a typo in a policy's pool fails here, not at request time
    let rocket = rocket::build()
        .configure(rocket::Config {
            log_level: rocket::config::LogLevel::Off,
            ..rocket::Config::debug_default()
        })
        .attach(cognito_rocket::fairing(auth))
        .mount("/", routes![admin, us, tenant, optional]);
    let client = Client::tracked(rocket).await?;
    let call = |path: &'static str, token: Option<&str>| {
        let mut request = client.get(path);
        if let Some(token) = token {
            request = request.header(Header::new("Authorization", format!("Bearer {token}")));
        }
        request.dispatch()
    };

    let admin_token = dev.access_token_for("eu", &["admin"], "")?;
    let user = dev.access_token_for("eu", &[], "")?;
    let us_token = dev.access_token_for("us", &[], "")?;
    assert_eq!(
        call("/admin", Some(&admin_token)).await.into_string().await.as_deref(),
        Some("admin alice")
    );
    let refused = call("/admin", Some(&user)).await;
    assert_eq!(refused.status(), Status::Forbidden);
    assert!(
        refused
            .into_string()
            .await
            .unwrap_or_default()
            .contains("\"forbidden_group\"")
    );
    assert_eq!(
        call("/us", Some(&us_token)).await.into_string().await.as_deref(),
        Some("us alice")
    );
    assert_eq!(
        call("/us", Some(&user)).await.status(),
        Status::Unauthorized,
        "the eu pool's token"
    );
    assert_eq!(
        call("/tenant", Some(&user)).await.into_string().await.as_deref(),
        Some("dev")
    );
    assert_eq!(
        call("/optional", None).await.into_string().await.as_deref(),
        Some("anonymous")
    );
    assert_eq!(
        call("/optional", Some(&user)).await.into_string().await.as_deref(),
        Some("signed in")
    );
    assert_eq!(call("/optional", Some("a.b.c")).await.status(), Status::Unauthorized);
    Ok(())
}
