//! The stdin verifier, run as a process against a JWKS server on 127.0.0.1.

use cognito_testkit::{DevIssuer, b64};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

#[tokio::test]
async fn verifies_each_line_and_reports_each_verdict() -> Result<(), Box<dyn std::error::Error>> {
    let dev = DevIssuer::start().await?;
    let settings = std::env::temp_dir().join(format!("cognito-verify-stdin-{}.yaml", std::process::id()));
    std::fs::write(&settings, dev.settings_yaml())?;
    let mut expired = cognito_testkit::access_claims(&dev.issuer(), DevIssuer::CLIENT_ID);
    expired["exp"] = json!(1);
    let input = format!(
        "{}\n\n{}\nnot-a-token\n{}.{}.\n",
        dev.access_token(&[], "openid")?,
        dev.sign(&expired)?,
        b64(r#"{"alg":"none"}"#),
        b64("{}")
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_cognito-verify-stdin"))
        .env("COGNITO_SETTINGS", &settings)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    stdin.write_all(input.as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    std::fs::remove_file(&settings)?;
    assert!(output.status.success());
    let verdicts: Vec<Value> = String::from_utf8(output.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let summary: Vec<(bool, Value)> = verdicts.iter().map(|v| (v["ok"] == true, v["error"].clone())).collect();
    assert_eq!(
        summary,
        [
            (true, Value::Null),
            (false, json!("expired")),
            (false, json!("malformed")),
            (false, json!("malformed"))
        ]
    );
    assert_eq!(verdicts[0]["username"], "alice");
    Ok(())
}
