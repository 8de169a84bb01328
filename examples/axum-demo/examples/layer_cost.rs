//! What the router-wide layer costs by itself, for the HTTP benchmark's instruction counts
//! (`benches/http/run.sh`; see BENCHMARKS.md): one handler (the demo's `/`: the `Auth`
//! extractor and the user body), served at three paths of the same length so that only the
//! protection differs:
//!
//! - `/e/`: the extractor verifies the token;
//! - `/n/`: the same, behind a layer that does nothing (tower's `Identity`): what axum's
//!   wrapping of a route in any layer costs;
//! - `/l/`: behind the [`CognitoLayer`] (required, any user of the default pool), whose
//!   verified token the extractor then takes instead of verifying again.
//!
//! Settings and `BIND` as for the demo; `/health` as the demo's.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cognito_axum::{Auth, CognitoAuth, CognitoLayer};
use cognito_demo_support as demo;

async fn me(user: Auth) -> Response {
    Json(demo::user_body(&user)).into_response()
}

fn app(auth: CognitoAuth) -> Router {
    let noop = Router::new().route("/n/", get(me)).layer(tower_layer::Identity::new());
    let layered = Router::new()
        .route("/l/", get(me))
        .layer(CognitoLayer::new(auth.clone()));
    Router::new()
        .route("/health", get(|| async { Json(demo::health_body()) }))
        .route("/e/", get(me))
        .merge(noop)
        .merge(layered)
        .with_state(auth)
}

fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, app(auth)).await
        })
}

fn main() -> std::process::ExitCode {
    demo::run("axum layer cost", serve)
}
