//! The gRPC table: a tonic client against the tonic demo over real cleartext HTTP/2 on
//! 127.0.0.1, real RSA keys and a real JWKS server. Every 401 kind is `UNAUTHENTICATED` with
//! the message `<kind>: <sentence>`, a missing group `PERMISSION_DENIED`, a JWKS outage met
//! with a fresh kid `UNAVAILABLE` with `retry-after`; the optional mode; reflection is open;
//! and a tonic handler reads the layer's claims from its request's extensions.

use std::net::SocketAddr;

use cognito_core::{CognitoAuth, CognitoSettings, Guard, Verified};
use cognito_testkit::{JwksServer, Reply, SigningKey, access_claims, b64, id_claims, now};
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_check_response::ServingStatus};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type TestResult = Result<(), BoxError>;

const CLIENT: &str = "client-a";
const POOL_ID: &str = "pool_main";

/// A pool with a working JWKS server (and a too-small key under `small-key`).
struct Pool {
    key: SigningKey,
    server: JwksServer,
    issuer: String,
}

impl Pool {
    async fn start() -> Result<Self, BoxError> {
        let key = SigningKey::generate("main-key")?;
        let mut small = key.jwk();
        small["kid"] = json!("small-key");
        small["n"] = json!(b64([0xC3u8; 128])); // a 1024-bit modulus
        let server = JwksServer::start(json!({ "keys": [key.jwk(), small] })).await?;
        let issuer = server.issuer(POOL_ID);
        Ok(Pool { key, server, issuer })
    }

    fn auth(&self) -> Result<CognitoAuth, BoxError> {
        let yaml = format!(
            "userpools:\n  main:\n    region: eu-west-1\n    userpool_id: {POOL_ID}\n    app_client_id: [{CLIENT}]\n    issuer: {}\n    jwks_url: {}\n",
            self.issuer,
            self.server.jwks_url(POOL_ID)
        );
        Ok(CognitoAuth::new(&CognitoSettings::from_yaml_str(&yaml)?)?)
    }

    fn claims(&self) -> Value {
        access_claims(&self.issuer, CLIENT)
    }

    fn with(&self, changes: Value) -> Result<String, BoxError> {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().into_iter().flatten() {
            claims[name] = value.clone();
        }
        Ok(self.key.sign(&claims)?)
    }
}

/// The demo on an ephemeral port, and a client connected to it.
async fn demo(guard: Guard) -> Result<HealthClient<Channel>, BoxError> {
    let addr = spawn(guard).await?;
    Ok(HealthClient::new(connect(addr).await?))
}

async fn spawn(guard: Guard) -> Result<SocketAddr, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(cognito_tonic_demo::serve_with(listener, guard));
    Ok(addr)
}

async fn connect(addr: SocketAddr) -> Result<Channel, BoxError> {
    Ok(Channel::from_shared(format!("http://{addr}"))?.connect().await?)
}

fn check_request(authorization: Option<&str>) -> Result<Request<HealthCheckRequest>, BoxError> {
    let mut request = Request::new(HealthCheckRequest { service: String::new() });
    if let Some(value) = authorization {
        request.metadata_mut().insert("authorization", value.parse()?);
    }
    Ok(request)
}

async fn check(
    client: &mut HealthClient<Channel>,
    authorization: Option<&str>,
) -> Result<Result<i32, Status>, BoxError> {
    Ok(client
        .check(check_request(authorization)?)
        .await
        .map(|r| r.into_inner().status))
}

/// The status must be `code` with a message `<kind>: <the kind's sentence or more>`.
fn expect(status: &Status, code: Code, kind: &str) -> TestResult {
    let message = status.message();
    if status.code() != code || !message.starts_with(&format!("{kind}: ")) || message.len() <= kind.len() + 2 {
        return Err(format!("expected {code:?} '{kind}: ...', got {:?} {message:?}", status.code()).into());
    }
    Ok(())
}

/// A row: a name, the `authorization` value (from the pool), the kind expected.
type Row = (
    &'static str,
    fn(&Pool) -> Result<Option<String>, BoxError>,
    &'static str,
);

fn bearer(token: String) -> Result<Option<String>, BoxError> {
    Ok(Some(format!("Bearer {token}")))
}

/// The session the test revokes before it sends the rows.
const REVOKED_SESSION: &str = "a-revoked-session";

#[rustfmt::skip]
fn unauthenticated_rows() -> Vec<Row> {
    vec![
        ("missing", |_| Ok(None), "missing_token"),
        ("empty", |_| Ok(Some(String::new())), "missing_token"),
        ("basic_scheme", |p| Ok(Some(format!("Basic {}", p.with(json!({}))?))), "invalid_header"),
        ("bearer_alone", |_| Ok(Some("Bearer".into())), "invalid_header"),
        ("too_large", |p| bearer(p.with(json!({"padding": "x".repeat(17_000)}))?), "too_large"),
        ("malformed", |_| bearer("not.a.jwt".into()), "malformed"),
        ("unsupported_alg", |p| bearer(p.key.sign_with_header(&json!({"alg": "HS256", "kid": "main-key"}), &p.claims())?), "unsupported_alg"),
        ("wrong_issuer", |p| bearer(p.with(json!({"iss": "https://elsewhere.example/pool"}))?), "wrong_issuer"),
        ("wrong_token_use", |p| bearer(p.with(json!({"token_use": "refresh"}))?), "wrong_token_use"),
        ("wrong_client", |p| bearer(p.with(json!({"client_id": "someone-else"}))?), "wrong_client"),
        ("expired", |p| bearer(p.with(json!({"exp": now() - 60}))?), "expired"),
        ("not_yet_valid", |p| bearer(p.with(json!({"nbf": now() + 3600}))?), "not_yet_valid"),
        ("unknown_kid", |p| bearer(SigningKey::generate("nobody-knows")?.sign(&p.claims())?), "unknown_kid"),
        ("invalid_jwk", |p| bearer(p.key.sign_with_header(&json!({"alg": "RS256", "kid": "small-key"}), &p.claims())?), "invalid_jwk"),
        ("bad_signature", |p| bearer(SigningKey::generate("main-key")?.sign(&p.claims())?), "bad_signature"),
        ("revoked", |p| bearer(p.with(json!({"origin_jti": REVOKED_SESSION}))?), "revoked"),
    ]
}

#[tokio::test]
async fn every_401_kind_is_unauthenticated_with_kind_and_sentence() -> TestResult {
    let pool = Pool::start().await?;
    let auth = pool.auth()?;
    auth.revocations().revoke_session(REVOKED_SESSION).await?;
    let mut client = demo(cognito_tonic_demo::guard(&auth)).await?;
    let rows = unauthenticated_rows();
    for (name, authorization, kind) in &rows {
        let authorization = authorization(&pool)?;
        let status = check(&mut client, authorization.as_deref())
            .await?
            .err()
            .ok_or(format!("{name}: accepted"))?;
        expect(&status, Code::Unauthenticated, kind).map_err(|e| format!("{name}: {e}"))?;
        if let Some(value) = &authorization {
            let token = value.rsplit(' ').next().unwrap_or_default();
            assert!(
                token.len() < 8 || !status.message().contains(token),
                "{name}: the token is echoed"
            );
        }
        assert!(status.metadata().get("retry-after").is_none(), "{name}");
    }
    // Every 401 kind but `rejected` (a custom check's) and `insufficient_user_authentication`
    // (a route's sign-in requirement; the demo's methods set none), both covered by the
    // core's tests, has a row.
    let kinds: std::collections::HashSet<&str> = rows.iter().map(|(_, _, kind)| *kind).collect();
    let expected = cognito_core::ErrorKind::ALL
        .iter()
        .filter(|k| {
            k.status() == 401
                && !matches!(
                    k,
                    cognito_core::ErrorKind::Rejected | cognito_core::ErrorKind::InsufficientUserAuthentication
                )
        })
        .count();
    assert_eq!(kinds.len(), expected);
    Ok(())
}

#[tokio::test]
async fn check_takes_any_user_and_watch_needs_admin() -> TestResult {
    let pool = Pool::start().await?;
    let mut client = demo(cognito_tonic_demo::guard(&pool.auth()?)).await?;
    let user = format!("Bearer {}", pool.with(json!({}))?);
    let id_token = format!("Bearer {}", pool.key.sign(&id_claims(&pool.issuer, CLIENT))?);
    assert_eq!(check(&mut client, Some(&user)).await??, ServingStatus::Serving as i32);
    assert_eq!(
        check(&mut client, Some(&id_token)).await??,
        ServingStatus::Serving as i32
    );
    // Lowercase scheme and repeated spaces, as over HTTP.
    let relaxed = format!("bearer    {}", pool.with(json!({}))?);
    assert_eq!(
        check(&mut client, Some(&relaxed)).await??,
        ServingStatus::Serving as i32
    );

    let status = client
        .watch(check_request(Some(&user))?)
        .await
        .err()
        .ok_or("a user watched")?;
    expect(&status, Code::PermissionDenied, "forbidden_group")?;
    assert_eq!(
        status.message(),
        "forbidden_group: The token carries none of the groups this resource requires."
    );
    let admin = format!("Bearer {}", pool.with(json!({"cognito:groups": ["admin"]}))?);
    let mut stream = client.watch(check_request(Some(&admin))?).await?.into_inner();
    let first = stream.message().await?.ok_or("no first message")?;
    assert_eq!(first.status, ServingStatus::Serving as i32);
    let status = client
        .watch(check_request(None)?)
        .await
        .err()
        .ok_or("anonymous watch")?;
    expect(&status, Code::Unauthenticated, "missing_token")?;
    Ok(())
}

#[tokio::test]
async fn a_jwks_outage_with_a_fresh_kid_is_unavailable_with_retry_after() -> TestResult {
    let pool = Pool::start().await?;
    let mut client = demo(cognito_tonic_demo::guard(&pool.auth()?)).await?;
    let user = format!("Bearer {}", pool.with(json!({}))?);
    assert_eq!(check(&mut client, Some(&user)).await??, ServingStatus::Serving as i32);
    pool.server.set_reply(Reply::Status(500));
    // A key rotated in that the server cannot deliver: the honest answer is UNAVAILABLE.
    let fresh = SigningKey::generate("fresh-key")?;
    let token = format!("Bearer {}", fresh.sign(&pool.claims())?);
    let status = check(&mut client, Some(&token)).await?.err().ok_or("accepted")?;
    expect(&status, Code::Unavailable, "jwks_unavailable")?;
    let retry_after: u64 = status
        .metadata()
        .get("retry-after")
        .ok_or("no retry-after")?
        .to_str()?
        .parse()?;
    assert!(retry_after >= 1);
    // The keys cached before keep serving the tokens they sign.
    assert_eq!(check(&mut client, Some(&user)).await??, ServingStatus::Serving as i32);
    Ok(())
}

#[tokio::test]
async fn optional_mode_lets_anonymous_calls_through_but_not_bad_tokens() -> TestResult {
    let pool = Pool::start().await?;
    let mut client = demo(Guard::optional(pool.auth()?)).await?;
    assert_eq!(check(&mut client, None).await??, ServingStatus::Serving as i32);
    let user = format!("Bearer {}", pool.with(json!({}))?);
    assert_eq!(check(&mut client, Some(&user)).await??, ServingStatus::Serving as i32);
    let expired = format!("Bearer {}", pool.with(json!({"exp": now() - 60}))?);
    let status = check(&mut client, Some(&expired))
        .await?
        .err()
        .ok_or("expired accepted")?;
    assert_eq!(status.message(), "expired: The token has expired.");
    assert_eq!(status.code(), Code::Unauthenticated);
    Ok(())
}

#[tokio::test]
async fn reflection_is_served_without_a_token() -> TestResult {
    let pool = Pool::start().await?;
    let addr = spawn(cognito_tonic_demo::guard(&pool.auth()?)).await?;
    let mut client = ServerReflectionClient::new(connect(addr).await?);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let answer = stream.message().await?.ok_or("no answer")?;
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        return Err(format!("not a service list: {answer:?}").into());
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.iter().any(|n| n == "grpc.health.v1.Health"), "{names:?}");
    assert_eq!(pool.server.hits(), 0, "no verification, so no key fetch");
    Ok(())
}

/// A health service of our own, whose `Check` answers from the layer's claims.
struct ClaimsHealth;

#[tonic::async_trait]
impl Health for ClaimsHealth {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let verified = request
            .extensions()
            .get::<Verified>()
            .ok_or_else(|| Status::internal("no claims"))?;
        let status = match verified.sub() {
            Some(_) if verified.pool() == "main" => ServingStatus::Serving,
            _ => ServingStatus::NotServing,
        };
        Ok(Response::new(HealthCheckResponse { status: status as i32 }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(&self, _: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

#[tokio::test]
async fn a_tonic_handler_reads_the_layers_claims_from_its_extensions() -> TestResult {
    let pool = Pool::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let layer = cognito_tower::CognitoLayer::new(pool.auth()?);
    tokio::spawn(
        tonic::transport::Server::builder()
            .http2_max_header_list_size(cognito_tonic_demo::MAX_HEADER_LIST_BYTES)
            .layer(layer)
            .add_service(HealthServer::new(ClaimsHealth))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut client = HealthClient::new(connect(addr).await?);
    let user = format!("Bearer {}", pool.with(json!({}))?);
    assert_eq!(check(&mut client, Some(&user)).await??, ServingStatus::Serving as i32);
    Ok(())
}

/// A channel that sends every call to `path` instead of the method's own: how a client
/// reaches the server with a path other readings could take for `Watch`.
#[derive(Clone)]
struct Rewrite {
    inner: Channel,
    path: &'static str,
}

impl tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::Body>> for Rewrite {
    type Response = <Channel as tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::Body>>>::Response;
    type Error = <Channel as tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::Body>>>::Error;
    type Future = <Channel as tonic::codegen::Service<tonic::codegen::http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: tonic::codegen::http::Request<tonic::body::Body>) -> Self::Future {
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = tonic::codegen::http::uri::PathAndQuery::from_maybe_shared(self.path).ok();
        if let Ok(uri) = tonic::codegen::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
        self.inner.call(request)
    }
}

#[tokio::test]
async fn paths_that_could_be_read_as_watch_never_let_a_user_watch() -> TestResult {
    let pool = Pool::start().await?;
    let addr = spawn(cognito_tonic_demo::guard(&pool.auth()?)).await?;
    let channel = connect(addr).await?;
    let user = format!("Bearer {}", pool.with(json!({}))?);
    for path in [
        "//grpc.health.v1.Health/Watch",
        "/./grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health/Watch/",
        "/grpc.health.v1.Health/Watch/.",
        "/grpc.health.v1.Health/%57atch",
        "/grpc.health.v1.Health/watch",
        "/grpc.health.v1.Health/Watch;x",
        "/grpc.health.v1.Health/Watch.",
        "/x/../grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health%2FWatch",
    ] {
        let mut client = HealthClient::new(Rewrite {
            inner: channel.clone(),
            path,
        });
        let status = match client.watch(check_request(Some(&user))?).await {
            Ok(response) => match response.into_inner().message().await {
                Ok(message) => return Err(format!("{path}: a user watched: {message:?}").into()),
                Err(status) => status,
            },
            Err(status) => status,
        };
        let refused = [Code::InvalidArgument, Code::PermissionDenied, Code::Unimplemented];
        assert!(refused.contains(&status.code()), "{path}: {status:?}");
    }
    // The path itself, for contrast: a user may not watch, an admin may.
    let mut client = HealthClient::new(channel);
    let status = client
        .watch(check_request(Some(&user))?)
        .await
        .err()
        .ok_or("a user watched")?;
    expect(&status, Code::PermissionDenied, "forbidden_group")?;
    Ok(())
}
