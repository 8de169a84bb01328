//! `OptionalAuth` answers like `Option<Auth>`: anonymous only without a token, never for a bad
//! one. Over real HTTP on 127.0.0.1.

use axum::Router;
use axum::routing::get;
use cognito_axum::OptionalAuth;
use cognito_core::{CognitoAuth, CognitoSettings};
use cognito_testkit::DevIssuer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn who(OptionalAuth(user, _): OptionalAuth) -> String {
    user.and_then(|u| u.username().map(str::to_owned))
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// A whole HTTP/1.1 exchange (the server closes the connection).
async fn get_root(addr: std::net::SocketAddr, authorization: Option<&str>) -> Result<String, std::io::Error> {
    let mut stream = TcpStream::connect(addr).await?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

#[tokio::test]
async fn optional_auth_is_anonymous_only_without_a_token() -> TestResult {
    let dev = DevIssuer::start().await?;
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&dev.settings_yaml())?)?;
    let app = Router::new().route("/", get(who)).with_state(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let anonymous = get_root(addr, None).await?;
    assert!(
        anonymous.starts_with("HTTP/1.1 200") && anonymous.ends_with("anonymous"),
        "{anonymous}"
    );
    let token = dev.access_token(&[], "openid")?;
    let alice = get_root(addr, Some(&format!("Bearer {token}"))).await?;
    assert!(alice.starts_with("HTTP/1.1 200") && alice.ends_with("alice"), "{alice}");
    let forged = get_root(addr, Some("Bearer a.b.c")).await?;
    assert!(
        forged.starts_with("HTTP/1.1 401") && forged.contains("\"malformed\""),
        "{forged}"
    );
    Ok(())
}
