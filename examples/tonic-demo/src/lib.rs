//! The tonic demo server: the standard `grpc.health.v1.Health` service (tonic-health) behind
//! the cognito-tower layer, `Check` open to any user of the default pool, `Watch` to the
//! group `admin`; `grpc.reflection.v1.ServerReflection` (tonic-reflection) without
//! authentication. gRPC over cleartext HTTP/2. As a library so its tests can serve it.

#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use cognito_core::{CognitoAuth, Guard, Rejection, Requirement};
use cognito_tower::CognitoLayer;
use tokio_stream::wrappers::TcpListenerStream;
use tower_service::Service;

/// The health service's `Check` method.
pub const CHECK: &str = "/grpc.health.v1.Health/Check";
/// The health service's `Watch` method.
pub const WATCH: &str = "/grpc.health.v1.Health/Watch";
/// Every method of the reflection service.
pub const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/*";

/// The largest HTTP/2 header list the demo accepts.
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// The demo's protection: `Check` any user of the default pool, `Watch` the group `admin`,
/// reflection open, any other method any user of the default pool.
pub fn guard(auth: &CognitoAuth) -> Guard {
    Guard::new(auth.clone())
        .route(CHECK, Requirement::new())
        .route(WATCH, Requirement::new().any_group(["admin"]))
        .public(REFLECTION)
}

/// Serves the demo on `listener` until the process ends (its own runtime).
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    let guard = guard(&auth);
    serve_guarded(listener, auth, guard)
}

/// Serves the demo's services on `listener` behind `guard` until the process ends (its own
/// runtime), prefetching `auth`'s keys.
pub fn serve_guarded(listener: std::net::TcpListener, auth: CognitoAuth, guard: Guard) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(cognito_demo_support::prefetch(auth));
            serve_with(listener, guard).await
        })
}

/// Serves the health and reflection services on `listener` behind `guard`.
pub async fn serve_with(listener: tokio::net::TcpListener, guard: Guard) -> std::io::Result<()> {
    // The reporter answers SERVING for the server as a whole ("") from the start.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(std::io::Error::other)?;
    tonic::transport::Server::builder()
        // hyper's default header-list limit (16 KiB) is below a token of `max_token_bytes`
        // (16 KiB by default) plus its scheme: the server would answer 431 before the layer
        // could say `too_large`. 64 KiB leaves the layer to judge.
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        // Outermost, so it sees the layer's refusals.
        .layer(tower_layer::layer_fn(LogRejections))
        .layer(CognitoLayer::new(guard))
        .add_service(health)
        .add_service(reflection)
        .serve_with_incoming(TcpListenerStream::new(listener))
        .await
        .map_err(std::io::Error::other)
}

/// Logs one line per call the layer refused: the method and the kind, never the token.
#[derive(Debug, Clone)]
pub struct LogRejections<S>(pub S);

impl<S, B, R> Service<http::Request<B>> for LogRejections<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let answer = self.0.call(request);
        Box::pin(async move {
            let response = answer.await?;
            if let Some(rejection) = response.extensions().get::<Rejection>() {
                cognito_demo_support::log_rejection(method.as_str(), &path, rejection);
            }
            Ok(response)
        })
    }
}
