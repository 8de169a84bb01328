//! # cognito-tower
//!
//! AWS Cognito authentication as a tower [`Layer`](tower_layer::Layer), over `http::Request`:
//! one layer protects a whole axum router, any hyper / tower HTTP service, a `lambda_http`
//! function, or a tonic gRPC server. Every rule (what is valid, which status, which
//! `WWW-Authenticate`) lives in [`cognito_core`]; this crate only translates, into an HTTP
//! response or, in [`grpc`], a gRPC status.
//!
//! The [`CognitoLayer`] verifies each request's token once and stores the
//! [`Verified`] token in the request's extensions. Handlers read it from there: axum's and
//! actix-web's `Auth` extractors (cognito-axum, cognito-actix) use it instead of verifying
//! again, and a tonic handler reads `request.extensions().get::<Verified>()`.
//!
//! ## Required authentication, with requirements per route
//!
//! ```
//! use cognito_tower::{CognitoLayer, Verified};
//! use cognito_core::{CognitoAuth, CognitoSettings, Guard, Requirement};
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, service_fn};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CognitoSettings::from_yaml_str(
//!     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}",
//! )?;
//! let guard = Guard::new(CognitoAuth::new(&settings)?)
//!     .route("/admin/*", Requirement::new().any_group(["admin"]))
//!     .public("/health");
//! guard.check()?; // every requirement's pool is configured
//! let layer = CognitoLayer::new(guard);
//! let service = ServiceBuilder::new().layer(layer).service(service_fn(|request: Request<String>| async move {
//!     let user = request.extensions().get::<Verified>().and_then(Verified::sub).unwrap_or("nobody");
//!     Ok::<_, std::convert::Infallible>(Response::new(format!("hello {user}")))
//! }));
//! # let _ = service; Ok(()) }
//! ```
//!
//! ## Optional authentication
//!
//! A [`Guard::optional`] (or [`Guard::optional_route`] for some paths): a request without a token reaches the service with no
//! [`Verified`] in its extensions; a present but invalid token is refused all the same (an
//! expired or forged token is never anonymous).
//!
//! ```
//! # use cognito_core::{CognitoAuth, CognitoSettings};
//! # let settings = CognitoSettings::from_yaml_str(
//! #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
//! let layer = cognito_tower::CognitoLayer::new(cognito_core::Guard::optional(CognitoAuth::new(&settings)?));
//! # let _ = layer; Ok::<(), cognito_core::ConfigError>(())
//! ```
//!
//! ## Protected-resource metadata (OAuth and MCP clients)
//!
//! With `resource:` in the settings (see [`cognito_core::resource`]), the layer answers
//! `GET /.well-known/oauth-protected-resource` and
//! `GET /.well-known/oauth-protected-resource<path of the resource uri>` itself, without
//! authentication, with the metadata document (RFC 9728; [`metadata_response`]), whatever the
//! guard's routes say; and every 401 / 403 it answers carries
//! `resource_metadata="<the document's URL>"` in its challenge, so an MCP client that gets a
//! 401 finds the authorization server from there. A layer placed on a sub-router only sees
//! that sub-router's paths: put it where the well-known paths reach it, or mount
//! [`metadata_response`] on them yourself.
//!
//! ## gRPC (tonic)
//!
//! The same layer on `tonic::transport::Server::builder().layer(layer)`; routes are gRPC
//! method paths (`/grpc.health.v1.Health/Watch`, `/grpc.reflection.v1.ServerReflection/*`).
//! A request over HTTP/2 whose content type is `application/grpc` or `application/grpc+<subtype>`
//! (see [`is_grpc`]) is refused with a gRPC status
//! (trailers-only: HTTP 200, `grpc-status`, `grpc-message` = `<kind>: <message>`,
//! percent-encoded, and `retry-after` for `UNAVAILABLE`; see [`grpc`]), so one layer can serve a port that
//! speaks both HTTP and gRPC. Every other request, HTTP/1.x and gRPC-Web included, gets the
//! HTTP refusal. The token comes from the `authorization` metadata (the configured header).
//!
//! ## Feature flags
//!
//! None: the crate depends on `http`, `http-body-util`, `bytes`, `tower-layer` and
//! `tower-service` only (not on tonic: the gRPC refusal is three headers).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod grpc;
mod layer;
mod response;
mod service;

pub use cognito_core;
pub use cognito_core::{Guard, Mode, Rejection, Requirement, Verified};
pub use layer::CognitoLayer;
pub use response::{RefusalBody, is_grpc, metadata_response, refusal};
pub use service::{CognitoBody, CognitoFuture, CognitoService};
