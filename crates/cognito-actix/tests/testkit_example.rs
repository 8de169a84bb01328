//! Testing your own actix-web app with cognito-testkit: a two-pool app with an admin route, a
//! custom claim and optional authentication, driven through actix-web's own test service with
//! real tokens from a development issuer. Copy it as a start.

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, get, test, web};
use cognito_actix::{Auth, CognitoAuth, CognitoSettings, CognitoToken, OptionalAuth, Policy, Require};
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

#[get("/admin")]
async fn admin(user: Auth<CognitoToken, Admins>) -> HttpResponse {
    HttpResponse::Ok().body(format!("admin {}", user.username().unwrap_or("?")))
}

#[get("/us")]
async fn us(user: Auth<CognitoToken, UsPool>) -> HttpResponse {
    HttpResponse::Ok().body(format!("us {}", user.username().unwrap_or("?")))
}

#[get("/tenant")]
async fn tenant(claims: Auth<Tenant>) -> HttpResponse {
    HttpResponse::Ok().body(claims.tenant.clone().unwrap_or_default())
}

#[get("/optional")]
async fn optional(user: OptionalAuth) -> HttpResponse {
    HttpResponse::Ok().body(if user.is_some() { "signed in" } else { "anonymous" })
}

#[actix_web::test]
async fn my_app_with_real_tokens() -> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = CognitoSettings::from_yaml_str(&dev.settings_yaml_for(&["eu", "us"]))?;
    let auth = CognitoAuth::new(&settings)?;
    auth.check_policy::<UsPool>()?; // a typo in a policy's pool fails here, not at request time
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(auth))
            .service(admin)
            .service(us)
            .service(tenant)
            .service(optional),
    )
    .await;
    let request = |path: &str, token: Option<&str>| {
        let mut request = test::TestRequest::get().uri(path);
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        request.to_request()
    };

    let admin_token = dev.access_token_for("eu", &["admin"], "")?;
    let user = dev.access_token_for("eu", &[], "")?;
    let us_token = dev.access_token_for("us", &[], "")?;
    let text = |bytes: actix_web::web::Bytes| String::from_utf8_lossy(&bytes).into_owned();
    assert_eq!(
        text(test::call_and_read_body(&app, request("/admin", Some(&admin_token))).await),
        "admin alice"
    );
    let refused = test::call_service(&app, request("/admin", Some(&user))).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(text(test::read_body(refused).await).contains("\"forbidden_group\""));
    assert_eq!(
        text(test::call_and_read_body(&app, request("/us", Some(&us_token))).await),
        "us alice"
    );
    let wrong_pool = test::call_service(&app, request("/us", Some(&user))).await;
    assert_eq!(wrong_pool.status(), StatusCode::UNAUTHORIZED, "the eu pool's token");
    assert_eq!(
        text(test::call_and_read_body(&app, request("/tenant", Some(&user))).await),
        "dev"
    );
    assert_eq!(
        text(test::call_and_read_body(&app, request("/optional", None)).await),
        "anonymous"
    );
    assert_eq!(
        text(test::call_and_read_body(&app, request("/optional", Some(&user))).await),
        "signed in"
    );
    let forged = test::call_service(&app, request("/optional", Some("a.b.c"))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}
