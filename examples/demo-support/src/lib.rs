//! What the demo servers of `examples/` share, so each demo is framework glue only: start-up
//! (settings from `COGNITO_SETTINGS` or an embedded development issuer, `BIND`, logging through
//! `tracing-subscriber`), the route policies, the claims type of `/custom`, the response
//! bodies (`/alb`'s included), the log line, `/metrics` ([`metrics_text`], the Prometheus
//! recorder) and `/ready` ([`ready`]), and the OpenAPI document ([`openapi`]) that
//! `/openapi.json` and `/docs` serve.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use cognito_core::alb::AlbToken;
use cognito_core::source::RequestView;
use cognito_core::{
    CognitoAuth, CognitoSettings, CognitoToken, Guard, Policy, PrincipalKind, Rejection, Require, Requirement, Verified,
};
use cognito_testkit::DevIssuer;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /admin`: members of the `admin` group of the default pool.
pub struct Admins;
impl Policy for Admins {
    const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
}

/// `GET /scoped`: tokens with the `demo/read` scope, default pool.
pub struct Readers;
impl Policy for Readers {
    const REQUIRE: Require<'static> = Require::NONE.any_scope(&["demo/read"]);
}

/// `GET /machine`: machines only (client-credentials tokens), default pool.
pub struct Machines;
impl Policy for Machines {
    const REQUIRE: Require<'static> = Require::NONE.principal(PrincipalKind::Machine);
}

/// `GET /recent`: a sign-in at most 5 minutes old, default pool.
pub struct Recent;
impl Policy for Recent {
    const REQUIRE: Require<'static> = Require::NONE.max_auth_age_secs(300);
}

/// `GET /all-scopes`: both `demo/read` and `demo/write`, default pool.
pub struct ReadWriters;
impl Policy for ReadWriters {
    const REQUIRE: Require<'static> = Require::NONE.all_scopes(&["demo/read", "demo/write"]);
}

/// `GET /custom`: the default claims plus a Cognito custom attribute.
#[derive(Debug, Deserialize)]
pub struct TenantClaims {
    /// Every standard claim.
    #[serde(flatten)]
    pub base: CognitoToken,
    /// `custom:tenant`, if the user has one.
    #[serde(rename = "custom:tenant")]
    pub tenant: Option<String>,
}

/// The body of `/`, `/admin`, `/scoped`, `/recent`, `/all-scopes` and `/pools/{name}`.
pub fn user_body(token: &CognitoToken) -> UserBody<'_> {
    UserBody {
        client_id: token.client(),
        groups: &token.groups,
        sub: token.sub.as_deref(),
        token_use: &token.token_use,
        username: token.username(),
    }
}

/// The user body, serialized straight from the token: no JSON value built per request.
/// Its members in the order a `serde_json::Value` would print them (sorted), so the bytes on
/// the wire are those of a value.
#[derive(Debug, serde::Serialize)]
pub struct UserBody<'t> {
    client_id: Option<&'t str>,
    groups: &'t [String],
    sub: Option<&'t str>,
    token_use: &'t cognito_core::claims::TokenKind,
    username: Option<&'t str>,
}

impl UserBody<'_> {
    /// As a JSON value, for answers that outlive the token.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The body of `/machine`: the app client and its scopes.
pub fn machine_body(token: &CognitoToken) -> Value {
    json!({ "client_id": token.client(), "scopes": token.scopes().collect::<Vec<_>>() })
}

/// The JSON body of `POST /revoke`: exactly one of `sub` (every token of the user issued
/// until now) and `origin_jti` (every token of that sign-in session).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    sub: Option<String>,
    origin_jti: Option<String>,
}

/// `POST /revoke` (for admins): revokes what the JSON body names. The status and the JSON
/// body: 200 `{"revoked": true}`; 400 `{"error": "invalid_body", ...}` for a body that is not
/// `{"sub": "<id>"}` or `{"origin_jti": "<id>"}`; 503 when the revocation store fails.
pub async fn revoke(auth: &CognitoAuth, body: &[u8]) -> (u16, Value) {
    let invalid = || {
        (
            400,
            json!({
                "error": "invalid_body",
                "message": "The body must be a JSON object with one non-empty string member, sub or origin_jti.",
            }),
        )
    };
    let Ok(parsed) = serde_json::from_slice::<RevokeBody>(body) else {
        return invalid();
    };
    let revocations = auth.revocations();
    let done = match (parsed.sub, parsed.origin_jti) {
        (Some(sub), None) if !sub.is_empty() => revocations.revoke_user_now(&sub).await,
        (None, Some(session)) if !session.is_empty() => revocations.revoke_session(&session).await,
        _ => return invalid(),
    };
    match done {
        Ok(()) => (200, json!({ "revoked": true })),
        Err(e) => {
            tracing::warn!("revocation not recorded: {e}");
            (
                503,
                json!({ "error": "revocation_unavailable", "message": "The revocation could not be recorded; try again later." }),
            )
        }
    }
}

/// The body of `/optional`.
pub fn optional_body(token: Option<&CognitoToken>) -> Value {
    match token {
        Some(token) => json!({ "authenticated": true, "sub": token.sub }),
        None => json!({ "authenticated": false }),
    }
}

/// The body of `/custom`.
pub fn custom_body(claims: &TenantClaims) -> Value {
    json!({ "sub": claims.base.sub, "tenant": claims.tenant })
}

/// The body of `/health`.
pub fn health_body() -> Value {
    json!({ "status": "ok" })
}

/// The body of a 404 (an unknown pool name in `/pools/{name}`).
pub fn not_found_body() -> Value {
    json!({ "error": "not_found", "message": "There is no such resource." })
}

/// Why `/pools/{name}` (or `/alb`) refused.
pub enum PoolRefusal {
    /// No pool has this name (or no `alb:` is configured): 404, decided before any authentication.
    NotFound,
    /// The pool exists; its verification refused.
    Rejected(Rejection),
}

/// `GET /pools/{name}`: the named pool verifies the request.
pub async fn named_pool(
    auth: &CognitoAuth,
    name: &str,
    request: &(impl RequestView + ?Sized),
) -> Result<Value, PoolRefusal> {
    auth.pool(name).ok_or(PoolRefusal::NotFound)?;
    let requirement = Requirement::new().in_pool(name);
    let verified = auth
        .authenticate::<Verified>(request, &requirement)
        .await
        .map_err(PoolRefusal::Rejected)?;
    guarded_body(&verified).map_err(PoolRefusal::Rejected)
}

/// The body of `/tenant`: the tenant that issued the token, and its subject.
pub fn tenant_body(verified: &Verified) -> Result<Value, Rejection> {
    let token = verified.deserialize::<CognitoToken>()?;
    Ok(json!({ "tenant": verified.pool(), "sub": token.sub }))
}

/// `GET /tenant`: the tenant whose pool trusts the request's token verifies it; 404
/// ([`PoolRefusal::NotFound`]) when the settings have no tenants.
pub async fn tenant_user(auth: &CognitoAuth, request: &(impl RequestView + ?Sized)) -> Result<Value, PoolRefusal> {
    if !auth.serves_tenants() {
        return Err(PoolRefusal::NotFound);
    }
    let verified = auth
        .authenticate::<Verified>(request, &Requirement::any_tenant())
        .await
        .map_err(PoolRefusal::Rejected)?;
    tenant_body(&verified).map_err(PoolRefusal::Rejected)
}

/// `/tenant` behind the layer: the tenant's token it verified already. `None` when the
/// layer verified none (no tenants: the handler's 404).
pub fn tenant_verified(verified: Option<&Verified>) -> Option<Result<Value, PoolRefusal>> {
    verified.map(|v| tenant_body(v).map_err(PoolRefusal::Rejected))
}

/// The prefix under which the HTTP demos serve their whole route set a second time, behind
/// the router-wide layer / middleware instead of the extractors alone (`/layer/admin`, ...):
/// the conformance suite runs every case through both.
pub const LAYER_PREFIX: &str = "/layer";

/// The protection of `/guarded/{rest}`: required, any user of the default pool.
pub fn guarded(auth: &CognitoAuth) -> Guard {
    Guard::new(auth.clone())
}

/// The protection of the routes under [`LAYER_PREFIX`]: each demo route's own requirement
/// (groups, scopes, optional mode, the named pools), as values.
pub fn layer_guard(auth: &CognitoAuth) -> Guard {
    let path = |route: &str| format!("{LAYER_PREFIX}{route}");
    let mut guard = Guard::new(auth.clone())
        .public(&path("/health"))
        .public(&path("/openapi.json"))
        // The load balancer's claims come in their own header, checked by the handler.
        .public(&path("/alb"))
        .optional_route(&path("/optional"), Requirement::new())
        .route(&path("/admin/*"), Requirement::from(Admins::REQUIRE))
        .route(&path("/scoped"), Requirement::from(Readers::REQUIRE))
        .route(&path("/machine"), Requirement::from(Machines::REQUIRE))
        .route(&path("/recent"), Requirement::from(Recent::REQUIRE))
        .route(&path("/all-scopes"), Requirement::from(ReadWriters::REQUIRE))
        .route(&path("/revoke"), Requirement::from(Admins::REQUIRE));
    for verifier in auth.pools() {
        let pool = verifier.pool();
        guard = guard.route(&path(&format!("/pools/{pool}")), Requirement::new().in_pool(pool));
    }
    guard = match auth.serves_tenants() {
        true => guard.route(&path("/tenant"), Requirement::any_tenant()),
        // No tenants: the handler's 404, before any authentication.
        false => guard.public(&path("/tenant")),
    };
    // Any other pool name: the handler's 404, before any authentication.
    guard.public(&path("/pools/*"))
}

/// The body of `/guarded/{rest}` from the layer's verified token: as `/`.
pub fn guarded_body(verified: &Verified) -> Result<Value, Rejection> {
    if verified.claim("token_use").is_none() {
        return Ok(issuer_body(verified));
    }
    Ok(user_body(&verified.deserialize::<CognitoToken>()?).to_value())
}

/// The user body of an OpenID Connect issuer's token (no `token_use`: not Cognito's):
/// `client_id` is `client_id`, else `azp`, else the first `aud`; no groups, no user name.
fn issuer_body(verified: &Verified) -> Value {
    let text = |name| verified.claim(name).and_then(Value::as_str);
    let first_aud = match verified.claim("aud") {
        Some(Value::Array(all)) => all.first().and_then(Value::as_str),
        Some(aud) => aud.as_str(),
        None => None,
    };
    json!({
        "client_id": text("client_id").or_else(|| text("azp")).or(first_aud),
        "groups": [],
        "sub": verified.sub(),
        "token_use": null,
        "username": text("username"),
    })
}

/// `/pools/{name}` behind the layer: the layer verified the token for that pool already.
/// `None` when the layer verified no token of that pool (the handler then verifies itself).
pub fn named_pool_verified(name: &str, verified: Option<&Verified>) -> Option<Result<Value, PoolRefusal>> {
    let verified = verified.filter(|v| v.pool() == name)?;
    Some(guarded_body(verified).map_err(PoolRefusal::Rejected))
}

/// The header `/alb` reads: the load balancer's user claims.
pub use cognito_core::alb::ALB_HEADER;

/// The body of `/alb`.
pub fn alb_body(user: &AlbToken) -> Value {
    json!({ "sub": user.sub, "email": user.email, "signer": user.signer })
}

/// `GET /alb`: the load balancer's user claims from the request's `x-amzn-oidc-data` values;
/// 404 ([`PoolRefusal::NotFound`]) when the settings have no `alb:` section.
pub async fn alb_user<'h>(
    auth: &CognitoAuth,
    header_values: impl IntoIterator<Item = &'h [u8]>,
) -> Result<Value, PoolRefusal> {
    let alb = auth.alb().ok_or(PoolRefusal::NotFound)?;
    let user: AlbToken = alb
        .authenticate(header_values)
        .await
        .map_err(|e| PoolRefusal::Rejected(e.into()))?;
    Ok(alb_body(&user))
}

/// One log line per rejected request (info): the kind, never the token.
pub fn log_rejection(method: &str, path: &str, rejection: &Rejection) {
    tracing::info!(
        "rejected {method} {path:?}: {} {}",
        rejection.status(),
        rejection.error_code()
    );
}

/// The log filter when `RUST_LOG` is unset: info and up, so one line per rejected request and
/// the key set's warnings, without the core's per-rejection debug events.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Logs through `tracing-subscriber` to stderr, filtered by `RUST_LOG` (default
/// [`DEFAULT_LOG_FILTER`]). A second call (or another subscriber already set) changes nothing.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The content type of `/metrics`: the Prometheus text format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The buckets of `cognito_verification_duration_seconds`, from 10 µs (a token-cache hit)
/// to 5 s (a verification that waited for a slow JWKS fetch).
const DURATION_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// The process's Prometheus recorder, installed at the first call (`None` if another recorder
/// was installed first, or with `DEMO_METRICS=off`, which the HTTP benchmark uses to measure
/// what recording costs). The duration is a real histogram (buckets), not a summary; a thread
/// runs the recorder's upkeep, so histogram samples do not pile up between scrapes.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            if std::env::var("DEMO_METRICS").is_ok_and(|v| v == "off") {
                return None;
            }
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("cognito_verification_duration_seconds".to_owned()),
                    DURATION_BUCKETS,
                )
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    let upkeep = handle.clone();
                    let _ = std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(Duration::from_secs(5));
                                upkeep.run_upkeep();
                            }
                        });
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!("no Prometheus recorder, /metrics stays empty: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// The body of `GET /metrics`: the Prometheus text format. The health report is taken first,
/// so the key-set age and key-count gauges are current even when no request came lately.
pub fn metrics_text(auth: &CognitoAuth) -> String {
    let _ = auth.health();
    prometheus().map(PrometheusHandle::render).unwrap_or_default()
}

/// `GET /ready`: 200 when every pool has usable keys, else 503; the body, per pool: keys,
/// their age, the last fetch error and the seconds until the next fetch may happen.
pub fn ready(auth: &CognitoAuth) -> (u16, Value) {
    let health = auth.health();
    let pools: Vec<Value> = health
        .pools
        .iter()
        .map(|pool| {
            json!({
                "pool": pool.pool,
                "ready": pool.is_ready(),
                "keys": pool.keys(),
                "age_seconds": pool.age().map(|a| a.as_secs()),
                "last_error": pool.last_error(),
                "next_attempt_seconds": pool.next_attempt_in().map(|d| d.as_secs()),
            })
        })
        .collect();
    let status = if health.is_ready() { 200 } else { 503 };
    (status, json!({ "ready": health.is_ready(), "pools": pools }))
}

/// The demo's configuration, ready to serve.
pub struct Demo {
    /// Every pool's verifier.
    pub auth: CognitoAuth,
    /// Where to listen (`BIND`, default `127.0.0.1:3000`).
    pub bind: SocketAddr,
}

/// A demo's `main`: [`start`], bind, `serve`; a start-up failure is one readable line on stderr
/// and a non-zero exit.
pub fn run(name: &str, serve: fn(std::net::TcpListener, CognitoAuth) -> std::io::Result<()>) -> std::process::ExitCode {
    init_logging();
    let result = start(name).and_then(|demo| {
        let listener = std::net::TcpListener::bind(demo.bind)?;
        Ok(serve(listener, demo.auth)?)
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Reads `BIND` and `COGNITO_SETTINGS` (a `.yaml`, `.yml` or `.json` file). Without
/// `COGNITO_SETTINGS`, starts a development issuer on 127.0.0.1 (on a thread of its own, so any
/// framework's runtime can serve the demo) and prints a token and a `curl` line.
pub fn start(name: &str) -> Result<Demo, Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()
        .map_err(|e| format!("BIND must be host:port ({e})"))?;
    let settings = settings(name, |token| {
        println!("TOKEN='{token}'");
        println!("curl -H \"Authorization: Bearer $TOKEN\" http://{bind}/\n");
    })?;
    let auth = CognitoAuth::new(&settings)?;
    println!(
        "{name} listening on http://{bind} (pools: {})",
        settings.pool_names().collect::<Vec<_>>().join(", ")
    );
    Ok(Demo { auth, bind })
}

/// The settings of `COGNITO_SETTINGS` (a `.yaml`, `.yml` or `.json` file); without it, those
/// of a development issuer started on 127.0.0.1 for the life of the process, after which
/// `hint` is called with a token of alice (groups `admin`, scope `demo/read`) to print.
pub fn settings(name: &str, hint: impl FnOnce(&str)) -> Result<CognitoSettings, Box<dyn std::error::Error>> {
    Ok(match std::env::var("COGNITO_SETTINGS") {
        Ok(path) if path.ends_with(".json") => CognitoSettings::from_json(&path)?,
        Ok(path) if path.ends_with(".yaml") || path.ends_with(".yml") => CognitoSettings::from_yaml(&path)?,
        Ok(path) => return Err(format!("COGNITO_SETTINGS must name a .yaml, .yml or .json file, not {path:?}").into()),
        Err(_) => {
            let (settings, token) = dev_issuer()?;
            println!("{name}: no COGNITO_SETTINGS, so a development issuer runs on 127.0.0.1 (no AWS needed).");
            println!("A token for alice (groups: admin; scope: demo/read; custom:tenant: dev), valid for an hour:\n");
            hint(&token);
            settings
        }
    })
}

/// Runs a [`DevIssuer`] on a thread with its own runtime for the life of the process; returns
/// its settings and a token.
fn dev_issuer() -> Result<(CognitoSettings, String), Box<dyn std::error::Error>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("dev-issuer".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return drop(tx.send(Err(e.to_string()))),
        };
        runtime.block_on(async move {
            let started = match DevIssuer::start().await {
                Ok(dev) => dev,
                Err(e) => return drop(tx.send(Err(e.to_string()))),
            };
            let token = started
                .access_token(&["admin"], "demo/read")
                .map_err(|_| "signing failed".to_owned());
            let _ = tx.send(token.map(|t| (started.settings_yaml(), t)));
            std::future::pending::<()>().await; // keep serving
            drop(started);
        });
    })?;
    let (yaml, token) = rx.recv()??;
    Ok((CognitoSettings::from_yaml_str(&yaml)?, token))
}

/// Loads every pool's keys and logs the outcome per pool; for start-up, in the background, so
/// the demo starts even when a JWKS is down.
pub async fn prefetch(auth: CognitoAuth) {
    for status in auth.prefetch().await {
        match status.result {
            Ok(keys) => tracing::info!("pool {}: {keys} signing key(s) loaded", status.pool),
            Err(e) => tracing::warn!(
                "pool {}: keys not loaded yet, will retry on demand ({})",
                status.pool,
                e.detail().unwrap_or(e.message())
            ),
        }
    }
}

/// The OpenAPI document of the demo routes, with the security scheme that matches `auth`'s
/// header (Swagger UI's Authorize button).
pub fn openapi(auth: &CognitoAuth) -> utoipa::openapi::OpenApi {
    use utoipa::{Modify as _, OpenApi as _};
    let mut doc = docs::DemoApi::openapi();
    cognito_core::openapi::CognitoSecurity::new(auth).modify(&mut doc);
    doc
}

/// The routes, described for OpenAPI only: each framework's demo implements them.
pub mod docs {
    #![allow(missing_docs)] // the generated items

    use utoipa::OpenApi;

    /// The demo's OpenAPI document (see [`crate::openapi`]).
    #[derive(OpenApi)]
    #[openapi(
        info(
            title = "cognito-rs demo",
            description = "AWS Cognito authentication, the same in axum, actix-web and rocket."
        ),
        paths(
            health, ready, metrics, me, optional, admin, scoped, machine, recent, all_scopes, revoke, custom, pool,
            alb, tenant
        )
    )]
    pub struct DemoApi;

    /// Liveness; no authentication.
    #[utoipa::path(get, path = "/health", responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
    pub fn health() {}

    /// Readiness: whether every pool has usable signing keys; no authentication.
    #[utoipa::path(get, path = "/ready", responses(
        (status = 200, description = "`{\"ready\": true, \"pools\": [...]}`: every pool has keys"),
        (status = 503, description = "`{\"ready\": false, \"pools\": [...]}`: some pool has none"),
    ))]
    pub fn ready() {}

    /// Metrics in the Prometheus text format; no authentication.
    #[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
    pub fn metrics() {}

    /// The caller, from a valid token of the default pool.
    #[utoipa::path(get, path = "/", security(("cognito" = [])), responses(
        (status = 200, description = "`sub`, `username`, `token_use`, `client_id`, `groups`"),
        (status = 401, description = "No valid token"),
        (status = 503, description = "The pool's keys cannot be fetched"),
    ))]
    pub fn me() {}

    /// The caller if a token is sent; anonymous if none is (an invalid token is still a 401).
    #[utoipa::path(get, path = "/optional", security((), ("cognito" = [])), responses(
        (status = 200, description = "`{\"authenticated\": false}` or `{\"authenticated\": true, \"sub\": ...}`"),
        (status = 401, description = "An invalid token"),
    ))]
    pub fn optional() {}

    /// Members of the `admin` group only.
    #[utoipa::path(get, path = "/admin", security(("cognito" = [])), responses(
        (status = 200, description = "As `/`"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not in the `admin` group"),
    ))]
    pub fn admin() {}

    /// Tokens with the `demo/read` scope only.
    #[utoipa::path(get, path = "/scoped", security(("cognito" = [])), responses(
        (status = 200, description = "As `/`"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "No `demo/read` scope"),
    ))]
    pub fn scoped() {}

    /// Machines only: client-credentials access tokens.
    #[utoipa::path(get, path = "/machine", security(("cognito" = [])), responses(
        (status = 200, description = "`client_id`, `scopes`"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "A user's token (`forbidden_principal`)"),
    ))]
    pub fn machine() {}

    /// A sign-in at most 5 minutes old.
    #[utoipa::path(get, path = "/recent", security(("cognito" = [])), responses(
        (status = 200, description = "As `/`"),
        (status = 401, description = "No valid token, or an older sign-in (`insufficient_user_authentication`, `max_age=300`)"),
    ))]
    pub fn recent() {}

    /// Tokens with both the `demo/read` and `demo/write` scopes.
    #[utoipa::path(get, path = "/all-scopes", security(("cognito" = [])), responses(
        (status = 200, description = "As `/`"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "A scope missing"),
    ))]
    pub fn all_scopes() {}

    /// Admins revoke a user's tokens (`{"sub": "..."}`) or a session's (`{"origin_jti": "..."}`).
    #[utoipa::path(post, path = "/revoke", security(("cognito" = [])), responses(
        (status = 200, description = "`{\"revoked\": true}`"),
        (status = 400, description = "Not one of the two bodies (`invalid_body`)"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not in the `admin` group"),
    ))]
    pub fn revoke() {}

    /// A custom claims type with the Cognito attribute `custom:tenant`.
    #[utoipa::path(get, path = "/custom", security(("cognito" = [])), responses(
        (status = 200, description = "`sub`, `tenant` (null when absent)"),
        (status = 401, description = "No valid token"),
    ))]
    pub fn custom() {}

    /// The caller, from a valid token of the named pool.
    #[utoipa::path(get, path = "/pools/{name}", security(("cognito" = [])),
        params(("name" = String, Path, description = "A pool name from the settings")),
        responses(
            (status = 200, description = "As `/`"),
            (status = 401, description = "No valid token of that pool"),
            (status = 404, description = "No pool has that name"),
        ))]
    pub fn pool() {}

    /// The user claims an Application Load Balancer forwards (`x-amzn-oidc-data`), verified.
    #[utoipa::path(get, path = "/alb",
        params(("x-amzn-oidc-data" = String, Header, description = "The load balancer's user claims token")),
        responses(
            (status = 200, description = "`sub`, `email`, `signer`"),
            (status = 401, description = "No valid load-balancer token"),
            (status = 404, description = "No `alb:` in the settings"),
            (status = 503, description = "The load balancer's key cannot be fetched"),
        ))]
    pub fn alb() {}

    /// The caller's tenant, from a valid token of any tenant's pool (the token's issuer picks it).
    #[utoipa::path(get, path = "/tenant", security(("cognito" = [])), responses(
        (status = 200, description = "`tenant`, `sub`"),
        (status = 401, description = "No valid token of a tenant (`wrong_issuer` when no tenant has its issuer)"),
        (status = 404, description = "No `tenants:` in the settings"),
    ))]
    pub fn tenant() {}
}
