//! The extractor guards a WebSocket upgrade route like any other: 101 with a valid token,
//! the 401 `missing_token` response (bare `Bearer` challenge, JSON body) without one, over a
//! real handshake on 127.0.0.1.

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
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
    let mut stream = TcpStream::connect(addr).await?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
    );
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
