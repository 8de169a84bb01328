//! The router-wide layer in front of an axum router, over real HTTP on 127.0.0.1 with real
//! tokens from a development issuer: it verifies once, the extractors read its result (a
//! counting check proves no second verification), its route requirements, its optional mode,
//! and its gRPC refusals.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use cognito_axum::{
    Auth, AuthError, CognitoAuth, CognitoLayer, CognitoSettings, CognitoToken, Guard, OptionalAuth, Policy, Require,
    Requirement, Verified,
};
use cognito_testkit::DevIssuer;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Admins;
impl Policy for Admins {
    const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
}

/// Serves `app` on 127.0.0.1; its base URL.
async fn serve(app: Router) -> Result<String, std::io::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// A development issuer, and its `CognitoAuth` with a check counting every verification.
async fn counted() -> Result<(DevIssuer, CognitoAuth, Arc<AtomicUsize>), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = CognitoSettings::from_yaml_str(&dev.settings_yaml())?;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let auth = CognitoAuth::new(&settings)?.with_check(move |_: &Verified| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok::<(), AuthError>(())
    });
    Ok((dev, auth, calls))
}

fn routes() -> Router<CognitoAuth> {
    Router::new()
        .route(
            "/me",
            get(|user: Auth| async move { user.username().unwrap_or("?").to_owned() }),
        )
        .route(
            "/admin",
            get(|user: Auth<CognitoToken, Admins>| async move { format!("admin {}", user.username().unwrap_or("?")) }),
        )
        .route(
            "/maybe",
            get(|user: OptionalAuth| async move { if user.is_some() { "signed in" } else { "anonymous" } }),
        )
        .route(
            "/raw",
            get(|request: axum::extract::Request| async move {
                let verified = request.extensions().get::<Verified>().cloned();
                verified.and_then(|v| v.sub().map(str::to_owned)).unwrap_or_default()
            }),
        )
}

#[tokio::test]
async fn the_extractor_reads_the_layers_result_without_a_second_verification() -> TestResult {
    let (dev, auth, calls) = counted().await?;
    let layered = routes().layer(CognitoLayer::new(auth.clone()));
    let plain = Router::new().route(
        "/plain",
        get(|user: Auth| async move { user.sub.clone().unwrap_or_default() }),
    );
    let base = serve(layered.merge(plain).with_state(auth.clone())).await?;
    let client = reqwest::Client::new();
    let token = dev.access_token(&["admin"], "")?;
    for round in 1..=3 {
        let response = client.get(format!("{base}/me")).bearer_auth(&token).send().await?;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await?, "alice");
        assert_eq!(calls.load(Ordering::SeqCst), round, "one verification per request");
    }
    // The policy extractor behind the layer: still one verification.
    let response = client.get(format!("{base}/admin")).bearer_auth(&token).send().await?;
    assert_eq!(response.text().await?, "admin alice");
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    // The control: the extractor alone verifies once too, so the counter does count it.
    let response = client.get(format!("{base}/plain")).bearer_auth(&token).send().await?;
    assert_eq!(response.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    // The hits: from the third sight on the token came from the verified-token cache, and the
    // keys were fetched once.
    assert_eq!(auth.default_pool().token_cache_stats().hits, 3);
    assert_eq!(dev.server().hits(), 1);
    // The raw extensions hold the same token for any handler.
    let response = client.get(format!("{base}/raw")).bearer_auth(&token).send().await?;
    assert_eq!(response.text().await?, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    Ok(())
}

#[tokio::test]
async fn the_layer_refuses_before_the_handler_with_the_http_or_the_grpc_answer() -> TestResult {
    let (dev, auth, calls) = counted().await?;
    let guard = Guard::new(auth.clone())
        .route("/admin", Requirement::new().any_group(["admin"]))
        .optional_route("/maybe", Requirement::new())
        .public("/raw");
    let base = serve(routes().layer(CognitoLayer::new(guard)).with_state(auth)).await?;
    let client = reqwest::Client::new();
    let response = client.get(format!("{base}/me")).send().await?;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = serde_json::from_str(&response.text().await?)?;
    assert_eq!(body["error"], "missing_token");
    // A group the layer requires: 403 before the handler runs.
    let user = dev.access_token(&[], "")?;
    let response = client.get(format!("{base}/admin")).bearer_auth(&user).send().await?;
    assert_eq!(response.status(), 403);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()?
            .contains("insufficient_scope")
    );
    // Optional: anonymous without a token, refused with a bad one.
    let response = client.get(format!("{base}/maybe")).send().await?;
    assert_eq!(response.text().await?, "anonymous");
    let response = client.get(format!("{base}/maybe")).bearer_auth(&user).send().await?;
    assert_eq!(response.text().await?, "signed in");
    let response = client
        .get(format!("{base}/maybe"))
        .bearer_auth("not.a.jwt")
        .send()
        .await?;
    assert_eq!(response.status(), 401);
    // A public path: no verification, nothing in the extensions.
    let response = client.get(format!("{base}/raw")).bearer_auth(&user).send().await?;
    assert_eq!(response.text().await?, "");
    // gRPC (HTTP/2 and its content type): trailers-only, HTTP 200.
    let h2_client = reqwest::Client::builder().http2_prior_knowledge().build()?;
    let response = h2_client
        .post(format!("{base}/me"))
        .header("content-type", "application/grpc")
        .bearer_auth("not.a.jwt")
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(
        response.headers()["grpc-message"],
        "malformed: A token part is not unpadded base64url."
    );
    assert!(response.bytes().await?.is_empty());
    // Not gRPC: the HTTP refusal, never a 200. gRPC over HTTP/1.1, a content type that only
    // starts like gRPC's, and gRPC-Web (whose clients read the HTTP status).
    for (h2, content_type) in [
        (false, "application/grpc"),
        (false, "application/grpc+proto"),
        (false, "application/grpcfoo"),
        (false, "application/grpc-web"),
        (true, "application/grpcfoo"),
        (true, "application/grpc-web"),
        (true, "application/grpc-web+proto"),
        (true, "application/grpc-web-text"),
    ] {
        let client = if h2 { &h2_client } else { &client };
        let response = client
            .get(format!("{base}/admin"))
            .header("content-type", content_type)
            .send()
            .await?;
        assert_eq!(response.status(), 401, "{content_type}, HTTP/2: {h2}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert!(response.headers().get("grpc-status").is_none());
        let body: serde_json::Value = serde_json::from_str(&response.text().await?)?;
        assert_eq!(body["error"], "missing_token");
    }
    // Checks run after the built-in ones: only the accepted optional request reached it.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    Ok(())
}

/// `GET <path>` written on the socket as given (an HTTP client would normalize it): the status.
async fn raw_status(base: &str, path: &str, token: &str) -> Result<u16, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response.split(' ').nth(1).unwrap_or_default().parse()?)
}

/// The short spelling on a sub-router (`route_layer`, where the router dispatches), with
/// handlers taking plain `Auth`; and a guard in front of the whole router refusing the paths
/// another reading would send to its admin routes.
#[tokio::test]
async fn requirements_where_the_router_dispatches_and_no_guessing_elsewhere() -> TestResult {
    let (dev, auth, _) = counted().await?;
    let me = || get(|user: Auth| async move { user.username().unwrap_or("?").to_owned() });
    let admin = Router::new()
        .route("/admin", me())
        .route("/admin/{*rest}", me())
        .route_layer(CognitoLayer::require(&auth, Requirement::new().any_group(["admin"])));
    let guarded = Router::new()
        .route("/g/admin", me())
        .route("/g/admin/{*rest}", me())
        .route("/g/health", get(|| async { "ok" }))
        .layer(CognitoLayer::new(
            Guard::new(auth.clone())
                .route("/g/admin/*", Requirement::new().any_group(["admin"]))
                .public("/g/health"),
        ));
    let app = Router::new()
        .route("/me", me())
        .merge(admin)
        .merge(guarded)
        .with_state(auth);
    let base = serve(app).await?;
    let (user, boss) = (dev.access_token(&[], "")?, dev.access_token(&["admin"], "")?);
    assert_eq!(raw_status(&base, "/admin", &boss).await?, 200);
    assert_eq!(raw_status(&base, "/admin/x", &boss).await?, 200);
    assert_eq!(raw_status(&base, "/admin", &user).await?, 403);
    assert_eq!(raw_status(&base, "/me", &user).await?, 200);
    assert_eq!(raw_status(&base, "/g/admin", &user).await?, 403);
    assert_eq!(raw_status(&base, "/g/admin", &boss).await?, 200);
    for path in [
        "/g//admin",
        "/g/./admin",
        "/g/%61dmin",
        "/g/Admin",
        "/g/admin;x",
        "/g/admin.",
        "/g/x/../admin",
        "/g/admin%2Fx",
    ] {
        assert_eq!(raw_status(&base, path, &user).await?, 400, "{path}");
    }
    assert_eq!(raw_status(&base, "/g/admin/.", &user).await?, 403);
    assert_eq!(raw_status(&base, "/g/healthz", "x").await?, 401);
    Ok(())
}
