//! `GET /metrics`, `GET /ready` and the log lines of the three demo binaries, as an operator
//! sees them: each demo runs as its own process (its own recorder) against a development
//! issuer that this test starts on 127.0.0.1; after some requests, `/metrics` must pass
//! `promtool check metrics` (Debian's `prometheus` package) and show the counters moved by
//! exactly those requests; `/ready` must answer 200 with each pool's keys; stderr must hold one
//! line per rejected request and no token text. With cookie and query token sources and every
//! event on, no token text reaches stdout or stderr either.
//!
//! `#[ignore]`d: it needs the demo binaries built (`cargo build -p cognito-axum-demo
//! -p cognito-actix-demo -p cognito-rocket-demo`; `DEMO_BIN_DIR` overrides `target/debug`) and
//! `promtool` (`PROMTOOL` overrides the one on `PATH`). `.ci/run` runs it.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cognito_testkit::{DevIssuer, Reply};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error>;

/// Kills the demo when the test ends, whatever happens.
struct Demo(Child);
impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin_dir() -> Result<PathBuf, BoxError> {
    if let Ok(dir) = std::env::var("DEMO_BIN_DIR") {
        return Ok(dir.into());
    }
    // target/debug/deps/scrape-<hash> -> target/debug
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("no target directory")?
        .to_owned())
}

fn promtool() -> String {
    std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned())
}

/// `promtool check metrics` over `text`: its complaints, if any.
fn promtool_check(text: &str) -> Result<(), BoxError> {
    use std::io::Write as _;
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {} ({e}); install Debian's prometheus package", promtool()))?;
    child.stdin.take().ok_or("no stdin")?.write_all(text.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!(
            "promtool check metrics failed:\n{}{}\n--- the scrape:\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (series_name == name && all).then(|| value.parse().ok())?
    })
}

struct Response {
    status: u16,
    content_type: String,
    body: String,
}

async fn get(client: &reqwest::Client, base: &str, path: &str, token: Option<&str>) -> Result<Response, BoxError> {
    let mut request = client.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok(Response {
        status,
        content_type,
        body: response.text().await?,
    })
}

async fn check_demo(name: &str) -> Result<(), BoxError> {
    let dev = DevIssuer::start().await?;
    let settings = std::env::temp_dir().join(format!("scrape-{name}-{}.yaml", std::process::id()));
    // A refresh is due a second after each fetch, so the test can see a failing one.
    std::fs::write(&settings, format!("jwks: {{refresh_secs: 1}}\n{}", dev.settings_yaml()))?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let base = format!("http://{addr}");
    let mut child = Command::new(bin_dir()?.join(format!("cognito-{name}-demo")))
        .env("COGNITO_SETTINGS", &settings)
        .env("BIND", addr.to_string())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the {name} demo ({e}); build it first"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let demo = Demo(child);
    let lines = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Ready once the start-up prefetch has loaded the keys.
    loop {
        match get(&client, &base, "/ready", None).await {
            Ok(r) if r.status == 200 => break,
            _ if Instant::now() > deadline => return Err(format!("{name}: never ready").into()),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let ready = get(&client, &base, "/ready", None).await?;
    let body: Value = serde_json::from_str(&ready.body)?;
    assert_eq!(body["ready"], json!(true), "{name}: {body}");
    assert_eq!(body["pools"][0]["pool"], json!("dev"), "{name}: {body}");
    assert_eq!(body["pools"][0]["keys"], json!(1), "{name}: {body}");
    assert_eq!(body["pools"][0]["last_error"], Value::Null, "{name}: {body}");

    // 3 good requests (full, full and remembered, cache hit), 2 without a token, 4 expired.
    let token = dev.access_token(&["admin"], "demo/read")?;
    for _ in 0..3 {
        assert_eq!(get(&client, &base, "/", Some(&token)).await?.status, 200, "{name}");
    }
    for _ in 0..2 {
        assert_eq!(get(&client, &base, "/", None).await?.status, 401, "{name}");
    }
    let mut expired = Vec::new();
    for i in 0..4 {
        let mut claims = cognito_testkit::access_claims(&dev.issuer(), DevIssuer::CLIENT_ID);
        claims["exp"] = json!(cognito_testkit::now() - 100 - i);
        expired.push(dev.sign(&claims)?);
    }
    for t in &expired {
        let r = get(&client, &base, "/", Some(t)).await?;
        assert!(r.status == 401 && r.body.contains("expired"), "{name}: {}", r.body);
    }

    let scrape = get(&client, &base, "/metrics", None).await?;
    assert_eq!(scrape.status, 200, "{name}");
    assert!(
        scrape.content_type.starts_with("text/plain"),
        "{name}: {}",
        scrape.content_type
    );
    promtool_check(&scrape.body)?;
    let text = &scrape.body;
    let pool = ("pool", "dev");
    let count = |result: &str| sample(text, "cognito_verifications_total", &[pool, ("result", result)]);
    assert_eq!(count("ok"), Some(3.0), "{name}:\n{text}");
    assert_eq!(count("missing_token"), Some(2.0), "{name}:\n{text}");
    assert_eq!(count("expired"), Some(4.0), "{name}:\n{text}");
    assert_eq!(count("bad_signature"), Some(0.0), "{name}:\n{text}");
    assert_eq!(
        sample(text, "cognito_token_cache_hits_total", &[pool]),
        Some(1.0),
        "{name}:\n{text}"
    );
    let source = ("source", dev.jwks_url());
    let source = (source.0, source.1.as_str());
    // The start-up prefetch, and perhaps the refresh due a second later.
    assert!(
        sample(text, "cognito_jwks_fetches_total", &[source, ("result", "ok")]).is_some_and(|n| n >= 1.0),
        "{name}:\n{text}"
    );
    assert_eq!(
        sample(text, "cognito_jwks_keys", &[source]),
        Some(1.0),
        "{name}:\n{text}"
    );
    assert!(
        sample(text, "cognito_jwks_age_seconds", &[source]).is_some_and(|a| a >= 0.0),
        "{name}:\n{text}"
    );
    assert!(
        text.contains("# TYPE cognito_verification_duration_seconds histogram"),
        "{name}:\n{text}"
    );
    assert_eq!(
        sample(text, "cognito_verification_duration_seconds_count", &[pool]),
        Some(6.0),
        "{name}:\n{text}"
    );

    // The JWKS fails; the next request after the refresh is due starts one, which fails: an
    // error fetch, the old keys still serve, the pool still ready, its error reported.
    dev.server().set_reply(Reply::Status(500));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&client, &base, "/", Some(&token)).await?.status, 200, "{name}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = get(&client, &base, "/metrics", None).await?.body;
        if sample(&text, "cognito_jwks_fetches_total", &[source, ("result", "error")]) == Some(1.0) {
            break text;
        }
        if Instant::now() > deadline {
            return Err(format!("{name}: no failed fetch counted:\n{text}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    promtool_check(&text)?;
    assert!(
        sample(&text, "cognito_jwks_age_seconds", &[source]).is_some_and(|a| a >= 1.0),
        "{name}:\n{text}"
    );
    assert_eq!(
        count("ok").map(|n| n + 1.0),
        sample(&text, "cognito_verifications_total", &[pool, ("result", "ok")])
    );
    let ready = get(&client, &base, "/ready", None).await?;
    let body: Value = serde_json::from_str(&ready.body)?;
    assert_eq!(ready.status, 200, "{name}: stale keys still serve: {body}");
    assert_eq!(
        body["pools"][0]["last_error"],
        json!("the JWKS server answered 500 Internal Server Error"),
        "{name}: {body}"
    );

    drop(demo);
    let log = lines.join().map_err(|_| "the stderr reader panicked")?;
    let rejected: Vec<&String> = log.iter().filter(|l| l.contains("rejected GET")).collect();
    assert_eq!(
        rejected.len(),
        6,
        "{name}: one line per rejected request:\n{}",
        log.join("\n")
    );
    assert_eq!(
        rejected
            .iter()
            .filter(|l| l.ends_with(r#"rejected GET "/": 401 missing_token"#))
            .count(),
        2,
        "{name}: {rejected:?}"
    );
    assert_eq!(
        rejected
            .iter()
            .filter(|l| l.ends_with(r#"rejected GET "/": 401 expired"#))
            .count(),
        4,
        "{name}: {rejected:?}"
    );
    assert!(rejected.iter().all(|l| l.contains("INFO")), "{name}: {rejected:?}");
    // The default filter is info: the core's per-rejection debug events stay out.
    assert!(
        !log.iter().any(|l| l.contains("token rejected")),
        "{name}:\n{}",
        log.join("\n")
    );
    // The failing refresh is a warning with the URL.
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("JWKS fetch failed") && l.contains(&dev.jwks_url())),
        "{name}:\n{}",
        log.join("\n")
    );
    for line in &log {
        for t in expired.iter().chain([&token]) {
            for part in t.split('.') {
                assert!(!line.contains(part), "{name}: token text in {line}");
            }
        }
    }
    std::fs::remove_file(settings)?;
    Ok(())
}

/// Tokens from a cookie and, on a WebSocket upgrade, from the query: accepted and refused as
/// from the header, and never in a log line, even with every event on (`RUST_LOG=trace`);
/// a refusal's line names the path without its query.
async fn check_token_sources(name: &str) -> Result<(), BoxError> {
    let dev = DevIssuer::start().await?;
    let settings = std::env::temp_dir().join(format!("sources-{name}-{}.yaml", std::process::id()));
    std::fs::write(
        &settings,
        format!(
            "token_sources: [header, {{cookie: id_token}}, {{query: access_token}}]\n{}",
            dev.settings_yaml()
        ),
    )?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let base = format!("http://{addr}");
    let mut child = Command::new(bin_dir()?.join(format!("cognito-{name}-demo")))
        .env("COGNITO_SETTINGS", &settings)
        .env("BIND", addr.to_string())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the {name} demo ({e}); build it first"))?;
    let read_all = |stream: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || BufReader::new(stream).lines().map_while(Result::ok).collect::<Vec<_>>())
    };
    let stdout = read_all(Box::new(child.stdout.take().ok_or("no stdout")?));
    let stderr = read_all(Box::new(child.stderr.take().ok_or("no stderr")?));
    let demo = Demo(child);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get(&client, &base, "/ready", None).await.is_ok_and(|r| r.status == 200) {
        if Instant::now() > deadline {
            return Err(format!("{name}: never ready").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let good = dev.access_token(&[], "openid")?;
    let mut claims = cognito_testkit::access_claims(&dev.issuer(), DevIssuer::CLIENT_ID);
    claims["exp"] = json!(cognito_testkit::now() - 100);
    let expired = dev.sign(&claims)?;
    let send = |query: Option<&str>, cookie: Option<&str>, upgrade: bool| {
        let url = match query {
            Some(token) => format!("{base}/?access_token={token}"),
            None => format!("{base}/"),
        };
        let mut request = client.get(url);
        if let Some(token) = cookie {
            request = request.header("Cookie", format!("theme=dark; id_token={token}"));
        }
        if upgrade {
            request = request.header("Upgrade", "websocket").header("Connection", "Upgrade");
        }
        async move {
            let response = request.send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        }
    };
    let cases = [
        (None, Some(&good), false, 200, "alice"),
        (None, Some(&expired), false, 401, "expired"),
        (Some(&good), None, true, 200, "alice"),
        (Some(&expired), None, true, 401, "expired"),
        (Some(&good), None, false, 401, "missing_token"),
    ];
    for (query, cookie, upgrade, status, body) in cases {
        let (got, text) = send(query.map(String::as_str), cookie.map(String::as_str), upgrade).await?;
        assert!(got == status && text.contains(body), "{name}: {got} {text}");
    }
    drop(demo);
    let mut log = stdout.join().map_err(|_| "the stdout reader panicked")?;
    log.extend(stderr.join().map_err(|_| "the stderr reader panicked")?);
    assert!(
        log.iter()
            .any(|l| l.ends_with(r#"rejected GET "/": 401 missing_token"#)),
        "{name}: the refusal of the plain GET, without its query:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter().any(|l| l.contains("token rejected")),
        "{name}: trace is on:\n{}",
        log.join("\n")
    );
    for line in &log {
        for t in [&good, &expired] {
            for part in t.split('.') {
                assert!(!line.contains(part), "{name}: token text in {line}");
            }
        }
    }
    std::fs::remove_file(settings)?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the demo binaries; .ci/run runs it"]
async fn axum_demo_token_sources_never_logged() -> Result<(), BoxError> {
    check_token_sources("axum").await
}

#[tokio::test]
#[ignore = "needs the demo binaries; .ci/run runs it"]
async fn actix_demo_token_sources_never_logged() -> Result<(), BoxError> {
    check_token_sources("actix").await
}

#[tokio::test]
#[ignore = "needs the demo binaries; .ci/run runs it"]
async fn rocket_demo_token_sources_never_logged() -> Result<(), BoxError> {
    check_token_sources("rocket").await
}

#[tokio::test]
#[ignore = "needs the demo binaries and promtool; .ci/run runs it"]
async fn axum_demo_metrics_ready_and_logs() -> Result<(), BoxError> {
    check_demo("axum").await
}

#[tokio::test]
#[ignore = "needs the demo binaries and promtool; .ci/run runs it"]
async fn actix_demo_metrics_ready_and_logs() -> Result<(), BoxError> {
    check_demo("actix").await
}

#[tokio::test]
#[ignore = "needs the demo binaries and promtool; .ci/run runs it"]
async fn rocket_demo_metrics_ready_and_logs() -> Result<(), BoxError> {
    check_demo("rocket").await
}
