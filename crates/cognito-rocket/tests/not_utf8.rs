//! What rocket does with header values that are not UTF-8, over a real socket on 127.0.0.1
//! (rocket's local client cannot send such a value): it drops them while it turns the
//! connection's request into its own, before any fairing or guard runs, so the guards of this
//! crate see only the values that are left. The documented limit of this crate rests on this
//! test: if a rocket release starts keeping such values, it fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use cognito_rocket::{Auth, CognitoAuth, CognitoSettings};
use cognito_testkit::DevIssuer;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, routes};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The values of `Authorization` and `Cookie` rocket kept, one per line.
struct Seen(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Seen {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let mut seen = String::new();
        for name in ["authorization", "cookie"] {
            for value in req.headers().get(name) {
                seen.push_str(&format!("{name}: {value}\n"));
            }
        }
        Outcome::Success(Seen(seen))
    }
}

#[get("/seen")]
fn seen(seen: Seen) -> String {
    seen.0
}

#[get("/me")]
fn me(user: Auth) -> String {
    user.username().unwrap_or("?").to_owned()
}

/// Launches a rocket with header and cookie token sources on 127.0.0.1; its address.
async fn launch(dev: &DevIssuer) -> Result<SocketAddr, Box<dyn std::error::Error + Send + Sync>> {
    let yaml = format!("token_sources: [header, {{cookie: id_token}}]\n{}", dev.settings_yaml());
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&yaml)?)?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let config = rocket::Config {
        address: addr.ip(),
        port: addr.port(),
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        ..rocket::Config::default()
    };
    let rocket = rocket::custom(config)
        .attach(cognito_rocket::fairing(auth))
        .mount("/", routes![seen, me]);
    tokio::spawn(rocket.launch());
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return Err("rocket did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(addr)
}

/// Sends a GET of `path` with these raw header lines over HTTP/1.1; the status and body.
async fn get(addr: SocketAddr, path: &str, headers: &[&[u8]]) -> Result<(u16, String), std::io::Error> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    for header in headers {
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(&request)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status line: {response:?}")))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rocket_drops_header_values_that_are_not_utf8_before_any_guard() -> TestResult {
    let dev = DevIssuer::start().await?;
    let addr = launch(&dev).await?;
    let token = dev.access_token(&[], "")?;

    // A token header that is not UTF-8, alone: rocket keeps no header at all, so the guard
    // sees no token (axum and actix-web answer `invalid_header`).
    let (status, body) = get(addr, "/seen", &[b"Authorization: Bearer \xff\xfe"]).await?;
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, body) = get(addr, "/me", &[b"Authorization: Bearer \xff\xfe"]).await?;
    assert_eq!(status, 401);
    assert!(body.contains(r#""error":"missing_token""#), "{body}");

    // A valid token header beside one that is not UTF-8: one header is left, and it passes.
    let valid = format!("Authorization: Bearer {token}");
    let twice: [&[u8]; 2] = [valid.as_bytes(), b"Authorization: Bearer \xff\xfe"];
    let (status, body) = get(addr, "/seen", &twice).await?;
    assert_eq!((status, body), (200, format!("authorization: Bearer {token}\n")));
    let (status, body) = get(addr, "/me", &twice).await?;
    assert_eq!((status, body.as_str()), (200, "alice"));

    // The same for cookies: a `Cookie` header that is not UTF-8 is dropped with the token
    // cookie in it, so a second token cookie in another header is the only one rocket (and its
    // own cookie jar) has.
    let cookie = format!("Cookie: id_token={token}");
    let hidden: [&[u8]; 2] = [b"Cookie: x=\xff; id_token=a.b.c", cookie.as_bytes()];
    let (status, body) = get(addr, "/seen", &hidden).await?;
    assert_eq!((status, body), (200, format!("cookie: id_token={token}\n")));
    let (status, body) = get(addr, "/me", &hidden).await?;
    assert_eq!((status, body.as_str()), (200, "alice"));
    Ok(())
}
