//! `CognitoMiddleware` on a scope, with real tokens from a development issuer: it verifies
//! once and the extractors read its result (a counting check proves no second verification),
//! its route requirements and its optional mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use cognito_actix::{
    Auth, AuthError, CognitoAuth, CognitoMiddleware, CognitoSettings, CognitoToken, Guard, OptionalAuth, Policy,
    Require, Requirement, Verified,
};
use cognito_testkit::DevIssuer;

struct Admins;
impl Policy for Admins {
    const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
}

async fn me(user: Auth) -> HttpResponse {
    HttpResponse::Ok().body(user.username().unwrap_or("?").to_owned())
}

async fn admin(user: Auth<CognitoToken, Admins>) -> HttpResponse {
    HttpResponse::Ok().body(format!("admin {}", user.username().unwrap_or("?")))
}

async fn maybe(user: OptionalAuth) -> HttpResponse {
    HttpResponse::Ok().body(if user.is_some() { "signed in" } else { "anonymous" })
}

#[actix_web::test]
async fn the_extractors_read_the_middlewares_result_without_a_second_verification()
-> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = CognitoSettings::from_yaml_str(&dev.settings_yaml())?;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let auth = CognitoAuth::new(&settings)?.with_check(move |_: &Verified| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<(), AuthError>(())
    });
    let guard = Guard::new(auth.clone())
        .route("/api/staff/*", Requirement::new().any_group(["staff"]))
        .optional_route("/api/maybe", Requirement::new());
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(auth.clone()))
            .route("/plain", web::get().to(me))
            .service(
                web::scope("/api")
                    .wrap(CognitoMiddleware::new(guard))
                    .route("/me", web::get().to(me))
                    .route("/admin", web::get().to(admin))
                    .route("/maybe", web::get().to(maybe))
                    .route("/staff/list", web::get().to(me)),
            ),
    )
    .await;
    let request = |path: &str, token: Option<&str>| {
        let mut request = test::TestRequest::get().uri(path);
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        request.to_request()
    };
    let text = |bytes: web::Bytes| String::from_utf8_lossy(&bytes).into_owned();
    let admin_token = dev.access_token(&["admin"], "")?;
    for round in 1..=3 {
        let body = test::call_and_read_body(&app, request("/api/me", Some(&admin_token))).await;
        assert_eq!(text(body), "alice");
        assert_eq!(calls.load(Ordering::SeqCst), round, "one verification per request");
    }
    let body = test::call_and_read_body(&app, request("/api/admin", Some(&admin_token))).await;
    assert_eq!(text(body), "admin alice");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    // The control: the extractor alone verifies, and the counter sees it.
    let body = test::call_and_read_body(&app, request("/plain", Some(&admin_token))).await;
    assert_eq!(text(body), "alice");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(auth.default_pool().token_cache_stats().hits, 3);
    assert_eq!(dev.server().hits(), 1);

    // Refusals come from the middleware, before the handler.
    let refused = test::call_service(&app, request("/api/me", None)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers().get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    let refused = test::call_service(&app, request("/api/staff/list", Some(&admin_token))).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(text(test::read_body(refused).await).contains("\"forbidden_group\""));
    // Optional mode: anonymous without a token, refused with a bad one.
    assert_eq!(
        text(test::call_and_read_body(&app, request("/api/maybe", None)).await),
        "anonymous"
    );
    let signed_in = test::call_and_read_body(&app, request("/api/maybe", Some(&admin_token))).await;
    assert_eq!(text(signed_in), "signed in");
    let forged = test::call_service(&app, request("/api/maybe", Some("a.b.c"))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

/// The guard judges the path actix dispatches: `/api/%61dmin` is routed to `/api/admin` by
/// actix, so it must not get the default requirement there (it is refused instead), and a
/// `/api/admin/*` route covers `/api/admin` itself. The handlers take plain `Auth`, as the
/// README's example does: only the middleware stands between a user and the admin page.
#[actix_web::test]
async fn the_middleware_judges_the_path_actix_routes() -> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = CognitoSettings::from_yaml_str(&dev.settings_yaml())?;
    let auth = CognitoAuth::new(&settings)?;
    let guard = Guard::new(auth.clone())
        .route("/api/admin/*", Requirement::new().any_group(["admin"]))
        .public("/api/health");
    let app = test::init_service(
        App::new().app_data(web::Data::new(auth.clone())).service(
            web::scope("/api")
                .wrap(CognitoMiddleware::new(guard))
                .route("/admin", web::get().to(me))
                .route("/admin/{rest}", web::get().to(me))
                .route("/health", web::get().to(|| async { HttpResponse::Ok().body("ok") })),
        ),
    )
    .await;
    let user = dev.access_token(&[], "")?;
    let admin = dev.access_token(&["admin"], "")?;
    let status = |path: &'static str, token: String| {
        let request = test::TestRequest::get()
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request();
        let app = &app;
        async move { test::call_service(app, request).await.status() }
    };
    assert_eq!(status("/api/admin", admin.clone()).await, StatusCode::OK);
    assert_eq!(status("/api/admin", user.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(status("/api/admin/users", user.clone()).await, StatusCode::FORBIDDEN);
    for path in [
        "/api/%61dmin",
        "/api/Admin",
        "/api//admin",
        "/api/x/../admin",
        "/api/admin;x",
        "/api/admin.",
    ] {
        let got = status(path, user.clone()).await;
        assert!(
            got == StatusCode::BAD_REQUEST || got == StatusCode::FORBIDDEN || got == StatusCode::NOT_FOUND,
            "{path}: {got}"
        );
    }
    // A public path is exactly that path.
    let anonymous = test::call_service(&app, test::TestRequest::get().uri("/api/healthz").to_request()).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let health = test::call_service(&app, test::TestRequest::get().uri("/api/health").to_request()).await;
    assert_eq!(health.status(), StatusCode::OK);
    Ok(())
}

#[actix_web::test]
async fn the_middleware_answers_the_resource_metadata_and_names_it_in_challenges()
-> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let yaml = format!(
        "resource: {{uri: 'http://127.0.0.1:9/api', scopes_supported: [demo/read]}}\n{}",
        dev.settings_yaml()
    );
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&yaml)?)?;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(auth.clone()))
            .wrap(CognitoMiddleware::new(auth))
            .route("/api", web::get().to(me)),
    )
    .await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/api",
    ] {
        let response = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: serde_json::Value = serde_json::from_slice(&test::read_body(response).await)?;
        assert_eq!(body["resource"], "http://127.0.0.1:9/api");
        assert_eq!(body["authorization_servers"][0], dev.issuer().as_str());
    }
    let response = test::call_service(&app, test::TestRequest::get().uri("/api").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str())
            .transpose()?,
        Some("Bearer resource_metadata=\"http://127.0.0.1:9/.well-known/oauth-protected-resource/api\"")
    );
    Ok(())
}
