//! [`CognitoLayer`]: a [`Guard`] as a tower layer.

use std::sync::Arc;

use cognito_core::{CognitoAuth, Guard, Requirement};
use tower_layer::Layer;

use crate::service::CognitoService;

/// A tower [`Layer`] that verifies each request's token once, before the inner service runs,
/// and leaves the [`Verified`](cognito_core::Verified) token in the request's extensions,
/// where the adapters' extractors (and tonic handlers, through `request.extensions()`) find
/// it without verifying again. What each path asks for is its [`Guard`]'s: built from a
/// `CognitoAuth` it is required authentication, any user of the default pool, everywhere.
///
/// A refused request never reaches the inner service: it gets the HTTP error response of the
/// contract (401 / 403 / 503 with `WWW-Authenticate`, `Retry-After` and the JSON body), or,
/// for a gRPC request (over HTTP/2, content type `application/grpc` or
/// `application/grpc+<subtype>`: see [`is_grpc`](crate::is_grpc)), the gRPC status
/// (`UNAUTHENTICATED`, `PERMISSION_DENIED`, `UNAVAILABLE` with `retry-after`). The response
/// carries the [`Rejection`](cognito_core::Rejection) as an extension, for logging.
///
/// With `resource:` in the settings, `GET` (and `HEAD`) of the protected-resource metadata
/// paths are answered by the layer itself, without authentication (see
/// [`metadata_response`](crate::metadata_response)).
#[derive(Debug, Clone)]
#[must_use]
pub struct CognitoLayer {
    guard: Arc<Guard>,
}

impl CognitoLayer {
    /// A layer running `guard` (or a `CognitoAuth`: required, default pool, every path).
    pub fn new(guard: impl Into<Guard>) -> Self {
        CognitoLayer {
            guard: Arc::new(guard.into()),
        }
    }

    /// Required authentication under `requirement` for every request it sees: the short
    /// spelling for a sub-router's requirement, attached where the router dispatches so no
    /// path is read twice.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use cognito_core::{CognitoAuth, CognitoSettings, Requirement};
    /// use cognito_tower::CognitoLayer;
    ///
    /// # fn main() -> Result<(), cognito_core::ConfigError> {
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let auth = CognitoAuth::new(&settings)?;
    /// let admin = Router::new()
    ///     .route("/admin", get(|| async { "hello admin" }))
    ///     .route("/admin/{*rest}", get(|| async { "more for admins" }))
    ///     .route_layer(CognitoLayer::require(&auth, Requirement::new().any_group(["admin"])));
    /// let app: Router = Router::new().route("/health", get(|| async { "ok" })).merge(admin);
    /// # let _ = app; Ok(()) }
    /// ```
    pub fn require(auth: &CognitoAuth, requirement: Requirement) -> Self {
        Self::new(Guard::new(auth.clone()).require(requirement))
    }

    /// Its guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }
}

impl<S> Layer<S> for CognitoLayer {
    type Service = CognitoService<S>;

    fn layer(&self, inner: S) -> CognitoService<S> {
        CognitoService::new(inner, Arc::clone(&self.guard))
    }
}
