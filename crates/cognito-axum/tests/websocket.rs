//! The extractor guards a WebSocket upgrade route like any other: 101 with a valid token,
//! the 401 `missing_token` response (bare `Bearer` challenge, JSON body) without one, over a
//! real handshake on 127.0.0.1; with a `query` token source, a browser's `?access_token=`
//! opens the socket, while the same parameter on a plain GET is no token at all.

use axum::Router;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::response::Response;
use axum::routing::get;
use cognito_axum::Auth;
use cognito_core::{CognitoAuth, CognitoSettings};
use cognito_testkit::DevIssuer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn ws(Auth(_user, _): Auth, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(|socket| async move { drop(socket) })
}

/// Sends a WebSocket handshake; returns the status line and headers.
async fn handshake(addr: std::net::SocketAddr, authorization: Option<&str>) -> Result<String, std::io::Error> {
    exchange(addr, "/ws", authorization, true).await
}

/// Sends a GET of `target` (a WebSocket handshake if `upgrade`); returns the status line and
/// headers.
async fn exchange(
    addr: std::net::SocketAddr,
    target: &str,
    authorization: Option<&str>,
    upgrade: bool,
) -> Result<String, std::io::Error> {
    let mut stream = TcpStream::connect(addr).await?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let handshake = if upgrade {
        "Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    } else {
        "Connection: close\r\n"
    };
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{handshake}{auth}\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[tokio::test]
async fn a_websocket_upgrade_route_requires_a_valid_token() -> TestResult {
    let dev = DevIssuer::start().await?;
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&dev.settings_yaml())?)?;
    let app = Router::new().route("/ws", get(ws)).with_state(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let token = dev.access_token(&[], "openid")?;
    let accepted = handshake(addr, Some(&format!("Bearer {token}"))).await?;
    assert!(accepted.starts_with("HTTP/1.1 101"), "{accepted}");

    let refused = handshake(addr, None).await?.to_ascii_lowercase();
    assert!(refused.starts_with("http/1.1 401"), "{refused}");
    assert!(refused.contains("www-authenticate: bearer\r\n"), "{refused}");
    assert!(refused.contains("missing_token"), "{refused}");

    let forged = dev.sign(&serde_json::json!({"iss": dev.issuer(), "exp": 1}))?;
    let expired = handshake(addr, Some(&format!("Bearer {forged}"))).await?;
    assert!(expired.starts_with("HTTP/1.1 401"), "{expired}");
    Ok(())
}

async fn open(_user: Auth, upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade.on_upgrade(|socket| async move { drop(socket) }),
        Err(_) => axum::response::IntoResponse::into_response("authenticated, not a WebSocket"),
    }
}

#[tokio::test]
async fn a_query_token_opens_a_websocket_and_nothing_else() -> TestResult {
    let dev = DevIssuer::start().await?;
    let settings = format!(
        "token_sources: [header, {{query: access_token}}]\n{}",
        dev.settings_yaml()
    );
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&settings)?)?;
    let app = Router::new().route("/ws", get(open)).with_state(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let token = dev.access_token(&[], "openid")?;
    let target = format!("/ws?v=1&access_token={token}");
    let opened = exchange(addr, &target, None, true).await?;
    assert!(opened.starts_with("HTTP/1.1 101"), "{opened}");

    let plain = exchange(addr, &target, None, false).await?.to_ascii_lowercase();
    assert!(plain.starts_with("http/1.1 401"), "{plain}");
    assert!(plain.contains("missing_token"), "{plain}");
    assert!(!plain.contains(&token.to_ascii_lowercase()), "{plain}");

    let expired = dev.sign(&serde_json::json!({"iss": dev.issuer(), "exp": 1}))?;
    let refused = exchange(addr, &format!("/ws?access_token={expired}"), None, true).await?;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    // The header still comes first.
    let header = exchange(addr, &target, Some(&format!("Bearer {expired}")), true).await?;
    assert!(header.starts_with("HTTP/1.1 401"), "{header}");
    Ok(())
}
