//! The axum demo server (`/health`, `/`, `/optional`, `/admin`, `/scoped`, `/custom`,
//! `/pools/{name}`, `/alb`, `/openapi.json`, `/docs`), as a library so the conformance suite can
//! serve it.

#![forbid(unsafe_code)]

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cognito_axum::{Auth, AuthRejection, CognitoAuth, CognitoToken, Rejection};
use cognito_demo_support::{self as demo, Admins, PoolRefusal, Readers, TenantClaims};
use serde_json::Value;
use utoipa_swagger_ui::SwaggerUi;

/// The demo's routes over `auth`.
pub fn app(auth: CognitoAuth) -> Router {
    let docs = SwaggerUi::new("/docs").url("/openapi.json", demo::openapi(&auth));
    Router::new()
        .merge(docs)
        .route("/health", get(|| async { Json(demo::health_body()) }))
        .route("/", get(me))
        .route("/optional", get(optional))
        .route("/admin", get(admin))
        .route("/scoped", get(scoped))
        .route("/custom", get(custom))
        .route("/pools/{name}", get(pool))
        .route("/alb", get(alb))
        .layer(middleware::from_fn(log_rejections))
        .with_state(auth)
}

/// Serves the demo on `listener` until the process ends (its own runtime).
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(demo::prefetch(auth.clone()));
            axum::serve(listener, app(auth)).await
        })
}

async fn me(user: Auth) -> Json<Value> {
    Json(demo::user_body(&user))
}

async fn optional(user: Option<Auth>) -> Json<Value> {
    Json(demo::optional_body(user.as_deref()))
}

async fn admin(user: Auth<CognitoToken, Admins>) -> Json<Value> {
    Json(demo::user_body(&user))
}

async fn scoped(user: Auth<CognitoToken, Readers>) -> Json<Value> {
    Json(demo::user_body(&user))
}

async fn custom(claims: Auth<TenantClaims>) -> Json<Value> {
    Json(demo::custom_body(&claims))
}

async fn pool(State(auth): State<CognitoAuth>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let values = headers.get_all(auth.header_name()).iter().map(HeaderValue::as_bytes);
    refusal_or(demo::named_pool(&auth, &name, values).await)
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
