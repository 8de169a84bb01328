//! The axum demo server (`/health`, `/ready`, `/metrics`, `/`, `/optional`, `/admin`,
//! `/scoped`, `/machine`, `/recent`, `/all-scopes`, `POST /revoke`, `/custom`, `/pools/{name}`, `/alb`, `/tenant`, `/openapi.json`, `/docs`, and
//! `/guarded/{rest}` behind the router-wide layer), as a library so the conformance suite can
//! serve it. The same routes are served again under `/layer`, behind the layer, for the suite.

#![forbid(unsafe_code)]

use axum::body::Bytes;
use axum::extract::{Extension, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cognito_axum::{Auth, AuthRejection, CognitoAuth, CognitoLayer, CognitoToken, Rejection, Verified};
use cognito_demo_support::{self as demo, Admins, Machines, PoolRefusal, ReadWriters, Readers, Recent, TenantClaims};
use serde_json::Value;
use std::sync::Arc;
use utoipa_swagger_ui::SwaggerUi;

/// The demo's routes over `auth`.
pub fn app(auth: CognitoAuth) -> Router {
    let openapi = demo::openapi(&auth);
    let docs = SwaggerUi::new("/docs").url("/openapi.json", openapi.clone());
    let guarded = Router::new()
        .route("/guarded/{rest}", get(guarded))
        .layer(CognitoLayer::new(demo::guarded(&auth)));
    // Shared, not owned: axum clones every route's handler for each connection it accepts, and
    // a document held by value would be deep-copied each time (about 200 KB a connection).
    let openapi = Arc::new(openapi);
    let layered = routes(Router::new(), demo::LAYER_PREFIX)
        .route(
            &format!("{}/openapi.json", demo::LAYER_PREFIX),
            get(move || {
                let openapi = Arc::clone(&openapi);
                async move { Json(&*openapi).into_response() }
            }),
        )
        .layer(CognitoLayer::new(demo::layer_guard(&auth)));
    routes(Router::new().merge(docs), "")
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .merge(guarded)
        .merge(layered)
        .merge(cognito_axum::resource_metadata(&auth))
        .layer(middleware::from_fn(log_rejections))
        .with_state(auth)
}

/// The demo routes under `prefix`.
fn routes(router: Router<CognitoAuth>, prefix: &str) -> Router<CognitoAuth> {
    let path = |route: &str| match (prefix, route) {
        ("", route) => route.to_owned(),
        (prefix, "/") => format!("{prefix}/"),
        (prefix, route) => format!("{prefix}{route}"),
    };
    router
        .route(&path("/health"), get(|| async { Json(demo::health_body()) }))
        .route(&path("/"), get(me))
        .route(&path("/optional"), get(optional))
        .route(&path("/admin"), get(admin))
        .route(&path("/scoped"), get(scoped))
        .route(&path("/machine"), get(machine))
        .route(&path("/recent"), get(recent))
        .route(&path("/all-scopes"), get(all_scopes))
        .route(&path("/revoke"), post(revoke))
        .route(&path("/custom"), get(custom))
        .route(&path("/pools/{name}"), get(pool))
        .route(&path("/alb"), get(alb))
        .route(&path("/tenant"), get(tenant))
}

/// `/guarded/{rest}`: the layer's verified token, read straight from the request.
async fn guarded(Extension(verified): Extension<Verified>) -> Response {
    match demo::guarded_body(&verified) {
        Ok(body) => Json(body).into_response(),
        Err(rejection) => AuthRejection(rejection).into_response(),
    }
}

/// Serves the demo on `listener` until the process ends (its own runtime).
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            demo::prometheus();
            tokio::spawn(demo::prefetch(auth.clone()));
            axum::serve(listener, app(auth)).await
        })
}

async fn ready(State(auth): State<CognitoAuth>) -> Response {
    let (status, body) = demo::ready(&auth);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        Json(body),
    )
        .into_response()
}

async fn metrics(State(auth): State<CognitoAuth>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, demo::METRICS_CONTENT_TYPE)],
        demo::metrics_text(&auth),
    )
        .into_response()
}

async fn me(user: Auth) -> Response {
    Json(demo::user_body(&user)).into_response()
}

async fn optional(user: Option<Auth>) -> Json<Value> {
    Json(demo::optional_body(user.as_deref()))
}

async fn admin(user: Auth<CognitoToken, Admins>) -> Response {
    Json(demo::user_body(&user)).into_response()
}

async fn scoped(user: Auth<CognitoToken, Readers>) -> Response {
    Json(demo::user_body(&user)).into_response()
}

async fn machine(token: Auth<CognitoToken, Machines>) -> Json<Value> {
    Json(demo::machine_body(&token))
}

async fn recent(user: Auth<CognitoToken, Recent>) -> Response {
    Json(demo::user_body(&user)).into_response()
}

async fn all_scopes(user: Auth<CognitoToken, ReadWriters>) -> Response {
    Json(demo::user_body(&user)).into_response()
}

/// Authenticated (an admin) before the body is read.
async fn revoke(_admin: Auth<CognitoToken, Admins>, State(auth): State<CognitoAuth>, body: Bytes) -> Response {
    let (status, body) = demo::revoke(&auth, &body).await;
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(body),
    )
        .into_response()
}

async fn custom(claims: Auth<TenantClaims>) -> Json<Value> {
    Json(demo::custom_body(&claims))
}

async fn pool(
    State(auth): State<CognitoAuth>,
    Path(name): Path<String>,
    verified: Option<Extension<Verified>>,
    request: Parts,
) -> Response {
    let layered = demo::named_pool_verified(&name, verified.as_ref().map(|v| &v.0));
    if let Some(answer) = layered {
        return refusal_or(answer);
    }
    refusal_or(demo::named_pool(&auth, &name, &request).await)
}

async fn tenant(State(auth): State<CognitoAuth>, verified: Option<Extension<Verified>>, request: Parts) -> Response {
    match demo::tenant_verified(verified.as_ref().map(|v| &v.0)) {
        Some(answer) => refusal_or(answer),
        None => refusal_or(demo::tenant_user(&auth, &request).await),
    }
}

async fn alb(State(auth): State<CognitoAuth>, headers: HeaderMap) -> Response {
    let values = headers.get_all(demo::ALB_HEADER).iter().map(HeaderValue::as_bytes);
    refusal_or(demo::alb_user(&auth, values).await)
}

fn refusal_or(result: Result<Value, PoolRefusal>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(PoolRefusal::NotFound) => (StatusCode::NOT_FOUND, Json(demo::not_found_body())).into_response(),
        Err(PoolRefusal::Rejected(rejection)) => AuthRejection(rejection).into_response(),
    }
}

async fn log_rejections(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    if let Some(rejection) = response.extensions().get::<Rejection>() {
        demo::log_rejection(method.as_str(), &path, rejection);
    }
    response
}
