//! The MCP demo server: an MCP server on `rmcp` (streamable HTTP at `POST`/`GET /mcp`) behind
//! the Cognito tower layer, as a library so its tests can serve it.
//!
//! - `GET /health`: `{"status":"ok"}`, no authentication.
//! - `GET /.well-known/oauth-protected-resource` and
//!   `GET /.well-known/oauth-protected-resource/mcp`: the protected-resource metadata, no
//!   authentication (answered by the layer).
//! - `/mcp`: any access token of the default pool whose `aud` is the resource URI. Tools:
//!   `whoami` (any such token) and `admin_echo` (scope `mcp/admin`, else a JSON-RPC error whose
//!   message starts `forbidden_scope:`).
//!
//! Without `resource:` in its settings the demo adds one: `http://<BIND>/mcp`, scopes
//! `mcp/read` and `mcp/admin`.

#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use cognito_axum::cognito_core::resource::ResourceSettings;
use cognito_axum::{
    CognitoAuth, CognitoLayer, CognitoSettings, ConfigError, Guard, Policy, Rejection, Requirement, RequirementRef,
    Verified,
};
use cognito_demo_support as demo;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ErrorCode, Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::json;

/// The scope every client of the demo is expected to have.
pub const READ_SCOPE: &str = "mcp/read";
/// The scope `admin_echo` requires, unless the settings' `resource.scopes_supported` name
/// another that ends in `/admin` (see [`admin_scope`]).
pub const ADMIN_SCOPE: &str = "mcp/admin";
/// The name the admin requirement is registered under (see [`McpAdmin`]).
pub const ADMIN_REQUIREMENT: &str = "mcp-admin";
/// The JSON-RPC error code of a tool call the token's scopes do not allow (an
/// implementation-defined server error of JSON-RPC 2.0).
pub const FORBIDDEN_CODE: i32 = -32003;

/// The policy of `admin_echo`: the requirement registered as [`ADMIN_REQUIREMENT`] by [`app`],
/// the [`admin_scope`] on the default pool.
pub struct McpAdmin;
impl Policy for McpAdmin {
    const REQUIREMENT: Option<&'static str> = Some(ADMIN_REQUIREMENT);
}

/// The scope `admin_echo` requires: `mcp/admin` if the resource lists it or lists no scope
/// ending in `/admin`, else the first that does. A Cognito resource server names its scopes
/// `<identifier>/<name>`, so with the identifier `https://api.example.com/mcp` and a scope
/// `admin` the tokens carry `https://api.example.com/mcp/admin`.
pub fn admin_scope(settings: &CognitoSettings) -> String {
    let listed = settings.resource.iter().flat_map(|r| &r.scopes_supported);
    let mut admin = listed.filter(|s| s.ends_with("/admin"));
    match admin.clone().find(|s| *s == ADMIN_SCOPE).or_else(|| admin.next()) {
        Some(scope) => scope.clone(),
        None => ADMIN_SCOPE.to_owned(),
    }
}

/// The resource URI the demo uses when its settings name none: `http://<BIND>/mcp`, with an
/// unspecified address (`0.0.0.0`, `::`) read as loopback.
pub fn default_resource_uri(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/mcp", SocketAddr::new(ip, bind.port()))
}

/// `settings` with the demo's resource added when they have none (see
/// [`default_resource_uri`]), validated.
pub fn with_resource(mut settings: CognitoSettings, bind: SocketAddr) -> Result<CognitoSettings, ConfigError> {
    if settings.resource.is_none() {
        settings.resource = Some(ResourceSettings {
            uri: default_resource_uri(bind),
            scopes_supported: vec![READ_SCOPE.to_owned(), ADMIN_SCOPE.to_owned()],
            name: Some("cognito-rs MCP demo".to_owned()),
            ..ResourceSettings::default()
        });
    }
    settings.validate()?;
    Ok(settings)
}

/// The arguments of `admin_echo`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct EchoArgs {
    /// The text to echo back.
    pub text: String,
}

/// The MCP server: its tools read the token the layer verified.
#[derive(Clone)]
pub struct DemoServer {
    auth: CognitoAuth,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for DemoServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoServer").finish_non_exhaustive()
    }
}

/// The token the layer verified for this call's HTTP request.
fn verified(parts: &http::request::Parts) -> Result<&Verified, ErrorData> {
    parts
        .extensions
        .get::<Verified>()
        .ok_or_else(|| ErrorData::internal_error("the request reached the tool without a verified token", None))
}

/// A claim as a string, if it is one.
fn text<'v>(verified: &'v Verified, name: &str) -> Option<&'v str> {
    verified.claim(name).and_then(|v| v.as_str())
}

#[tool_router]
impl DemoServer {
    /// A server whose tools check their requirements with `auth`.
    pub fn new(auth: CognitoAuth) -> Self {
        Self {
            auth,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Who the access token says you are: sub, username, client_id and scopes, as JSON.")]
    async fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> Result<CallToolResult, ErrorData> {
        let token = verified(&parts)?;
        let body = json!({
            "sub": token.sub(),
            "username": text(token, "username").or_else(|| text(token, "cognito:username")),
            "client_id": text(token, "client_id").or_else(|| text(token, "aud")),
            "scopes": token.scopes().collect::<Vec<_>>(),
        });
        Ok(CallToolResult::success(vec![ContentBlock::text(body.to_string())]))
    }

    #[tool(description = "Echoes {\"text\"} back; needs the scope mcp/admin.")]
    async fn admin_echo(
        &self,
        Extension(parts): Extension<http::request::Parts>,
        Parameters(EchoArgs { text }): Parameters<EchoArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let token = verified(&parts)?;
        let answer = self
            .auth
            .authorize_layered::<Verified>(Some(token), RequirementRef::of::<McpAdmin>())
            .await;
        match answer
            .ok_or_else(|| ErrorData::internal_error("the token was verified by another pool than the tool's", None))?
        {
            Ok(_) => Ok(CallToolResult::success(vec![ContentBlock::text(text)])),
            // A refusal: `<kind>: <message>`, e.g. `forbidden_scope: The token carries none of ...`.
            Err(rejection) => Err(forbidden(&rejection)),
        }
    }
}

/// A tool call refused by the token's scopes, as a JSON-RPC error: the message is
/// `<kind>: <message>`, the data names the kind and the required scopes.
fn forbidden(rejection: &Rejection) -> ErrorData {
    let required = match rejection {
        Rejection::Auth(e) => e.required_scopes(),
        _ => None,
    };
    ErrorData::new(
        ErrorCode(FORBIDDEN_CODE),
        cognito_axum::cognito_tower::grpc::message(rejection),
        Some(json!({ "error": rejection.error_code(), "scope": required })),
    )
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for DemoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("cognito-mcp-demo", env!("CARGO_PKG_VERSION")))
            .with_instructions("whoami shows your token; admin_echo needs the scope mcp/admin.")
    }
}

/// The demo's routes over `auth` (whose settings must have `resource:`, see [`with_resource`]);
/// `admin_echo` requires `admin_scope` (see [`admin_scope`]).
pub fn app(auth: CognitoAuth, admin_scope: &str) -> Router {
    let auth = auth.with_requirement(ADMIN_REQUIREMENT, Requirement::new().any_scope([admin_scope]));
    // The Host header must name the resource's host (DNS rebinding protection), or loopback.
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if let Some(host) = auth
        .resource()
        .and_then(|r| host_of(r.uri()))
        .filter(|h| !hosts.contains(h))
    {
        hosts.push(host);
    }
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts);
    let server = DemoServer::new(auth.clone());
    let mcp = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route("/health", get(|| async { Json(demo::health_body()) }))
        .route_service("/mcp", mcp)
        .layer(CognitoLayer::new(Guard::new(auth).public("/health")))
        .layer(middleware::from_fn(log_rejections))
}

/// The host of an absolute URL, without its port (`[::1]` as `::1`).
fn host_of(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// One log line per request the layer refused (the kind, never the token).
async fn log_rejections(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    if let Some(rejection) = response.extensions().get::<Rejection>() {
        demo::log_rejection(method.as_str(), &path, rejection);
    }
    response
}

/// Serves the demo on `listener` until the process ends, prefetching keys in the background.
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth, admin_scope: String) -> std::io::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(demo::prefetch(auth.clone()));
            axum::serve(listener, app(auth, &admin_scope)).await
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_resource_is_on_loopback() {
        let uri = |bind: &str| bind.parse().map(default_resource_uri).unwrap_or_default();
        assert_eq!(uri("127.0.0.1:3000"), "http://127.0.0.1:3000/mcp");
        assert_eq!(uri("0.0.0.0:8080"), "http://127.0.0.1:8080/mcp");
        assert_eq!(uri("[::]:8080"), "http://[::1]:8080/mcp");
    }

    #[test]
    fn the_admin_scope_follows_the_resource() {
        let with = |scopes: &str| {
            CognitoSettings::from_yaml_str(&format!(
                "resource: {{uri: 'https://api.example.com/mcp', scopes_supported: {scopes}}}\nuserpools:\n  eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: c}}"
            ))
            .map(|s| admin_scope(&s))
            .unwrap_or_default()
        };
        assert_eq!(with("[]"), "mcp/admin");
        assert_eq!(with("[mcp/read, mcp/admin]"), "mcp/admin");
        assert_eq!(
            with("['https://api.example.com/mcp/read', 'https://api.example.com/mcp/admin']"),
            "https://api.example.com/mcp/admin"
        );
    }

    #[test]
    fn hosts_are_read_without_port_or_brackets() {
        assert_eq!(
            host_of("https://API.example.com:8443/mcp").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(host_of("http://[::1]:3000/mcp").as_deref(), Some("::1"));
        assert_eq!(host_of("mcp"), None);
    }
}
