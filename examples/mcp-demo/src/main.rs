//! The MCP demo server: `cargo run -p cognito-mcp-demo` (settings from `COGNITO_SETTINGS`, or
//! a development issuer; listens on `BIND`, default 127.0.0.1:3000; MCP at `/mcp`).

use std::net::SocketAddr;
use std::process::ExitCode;

use cognito_axum::{CognitoAuth, CognitoSettings};
use cognito_mcp_demo::{ADMIN_SCOPE, READ_SCOPE, admin_scope, default_resource_uri, serve, with_resource};
use cognito_testkit::{DevIssuer, access_claims};
use serde_json::json;

const NAME: &str = "mcp demo";

fn main() -> ExitCode {
    cognito_demo_support::init_logging();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()
        .map_err(|e| format!("BIND must be host:port ({e})"))?;
    let settings = match std::env::var("COGNITO_SETTINGS") {
        Ok(path) if path.ends_with(".json") => with_resource(CognitoSettings::from_json(&path)?, bind)?,
        Ok(path) if path.ends_with(".yaml") || path.ends_with(".yml") => {
            with_resource(CognitoSettings::from_yaml(&path)?, bind)?
        }
        Ok(path) => return Err(format!("COGNITO_SETTINGS must name a .yaml, .yml or .json file, not {path:?}").into()),
        Err(_) => development(bind)?,
    };
    let auth = CognitoAuth::new(&settings)?;
    let resource = auth.resource().map(|r| r.uri().to_owned()).unwrap_or_default();
    let admin = admin_scope(&settings);
    println!("{NAME} listening on http://{bind} (MCP endpoint: {resource}; admin_echo needs the scope {admin})");
    let listener = std::net::TcpListener::bind(bind)?;
    Ok(serve(listener, auth, admin)?)
}

/// Starts a development issuer on 127.0.0.1 (on a thread of its own, for the life of the
/// process), prints tokens bound to the demo's resource and what to paste into an MCP client,
/// and gives the settings.
fn development(bind: SocketAddr) -> Result<CognitoSettings, Box<dyn std::error::Error>> {
    let uri = default_resource_uri(bind);
    let (tx, rx) = std::sync::mpsc::channel();
    let audience = uri.clone();
    std::thread::Builder::new().name("dev-issuer".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return drop(tx.send(Err(e.to_string()))),
        };
        runtime.block_on(async move {
            let dev = match DevIssuer::start().await {
                Ok(dev) => dev,
                Err(e) => return drop(tx.send(Err(e.to_string()))),
            };
            let mint = |scope: &str| {
                let mut claims = access_claims(&dev.issuer(), DevIssuer::CLIENT_ID);
                claims["aud"] = json!(audience);
                claims["scope"] = json!(scope);
                dev.sign(&claims).map_err(|_| "signing failed".to_owned())
            };
            let tokens = mint(&format!("{READ_SCOPE} {ADMIN_SCOPE}")).and_then(|admin| Ok((admin, mint(READ_SCOPE)?)));
            let _ = tx.send(tokens.map(|(admin, reader)| (dev.settings_yaml(), admin, reader)));
            std::future::pending::<()>().await; // keep serving
            drop(dev);
        });
    })?;
    let (yaml, admin, reader) = rx.recv()??;
    let settings = with_resource(CognitoSettings::from_yaml_str(&yaml)?, bind)?;
    println!("{NAME}: no COGNITO_SETTINGS, so a development issuer runs on 127.0.0.1 (no AWS needed).");
    println!("Access tokens for alice, bound to {uri} (aud), valid for an hour:\n");
    println!("TOKEN='{admin}'   # scopes: {READ_SCOPE} {ADMIN_SCOPE}");
    println!("READ_TOKEN='{reader}'   # scope: {READ_SCOPE} (admin_echo refuses it)\n");
    println!("Without a token the server answers 401 and points to its metadata:");
    println!("curl -i -X POST {uri}");
    println!("curl http://{bind}/.well-known/oauth-protected-resource/mcp\n");
    let config = json!({
        "mcpServers": {
            "cognito-demo": {
                "type": "http",
                "url": uri,
                "headers": { "Authorization": format!("Bearer {admin}") },
            }
        }
    });
    println!("In an MCP client: streamable HTTP at {uri}, header \"Authorization: Bearer $TOKEN\";");
    println!("for example, as an mcpServers entry:\n{config:#}\n");
    Ok(settings)
}
