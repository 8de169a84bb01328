//! The demo binary as a user starts it: `COGNITO_SETTINGS` with a YAML or a JSON file, `BIND`,
//! and a clear failure for a settings file that cannot work.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cognito_testkit::DevIssuer;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Kills the demo when the test ends, whatever happens.
struct Demo(Child);
impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> Result<std::net::SocketAddr, std::io::Error> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

async fn get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let client = reqwest::Client::new();
    let mut request = client.get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.ok()?;
    Some((response.status().as_u16(), response.text().await.ok()?))
}

#[tokio::test]
async fn starts_from_a_yaml_or_json_settings_file() -> TestResult {
    let dev = DevIssuer::start().await?;
    let token = dev.access_token(&["admin"], "demo/read")?;
    let dir = std::env::temp_dir();
    let yaml = dir.join(format!("axum-demo-{}.yaml", std::process::id()));
    std::fs::write(&yaml, dev.settings_yaml())?;
    let settings = cognito_axum::CognitoSettings::from_yaml_str(&dev.settings_yaml())?;
    let json = dir.join(format!("axum-demo-{}.json", std::process::id()));
    std::fs::write(&json, serde_json::to_string(&settings)?)?;
    for file in [&yaml, &json] {
        let addr = free_addr()?;
        let _demo = Demo(
            Command::new(env!("CARGO_BIN_EXE_cognito-axum-demo"))
                .env("COGNITO_SETTINGS", file)
                .env("BIND", addr.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(addr, "/health", None).await.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, body) = get(addr, "/", Some(&token)).await.ok_or("no answer")?;
        assert_eq!(status, 200, "{}: {body}", file.display());
        let (status, body) = get(addr, "/", None).await.ok_or("no answer")?;
        assert_eq!(
            (status, body.contains("missing_token")),
            (401, true),
            "{}",
            file.display()
        );
    }
    std::fs::remove_file(yaml)?;
    std::fs::remove_file(json)?;
    Ok(())
}

#[test]
fn a_settings_file_that_cannot_work_is_a_clear_error() -> TestResult {
    let bad = std::env::temp_dir().join(format!("axum-demo-bad-{}.yaml", std::process::id()));
    std::fs::write(&bad, "userpools: {}\n")?;
    for (file, expected) in [
        (bad.display().to_string(), "userpools"),
        ("/nonexistent/cognito.yaml".to_owned(), "cannot read"),
        ("settings.toml".to_owned(), ".yaml, .yml or .json"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cognito-axum-demo"))
            .env("COGNITO_SETTINGS", &file)
            .env("BIND", free_addr()?.to_string())
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file}");
        assert!(stderr.contains(expected), "{file}: {stderr}");
    }
    std::fs::remove_file(bad)?;
    Ok(())
}
