//! The settings that come from the environment (`from_env`, `AWS_COGNITO_KEYS_URL`), tested
//! in child processes: each child gets its own environment, so no test races another over
//! process-global env vars (and no `unsafe` `set_var` is needed).
//!
//! The parent tests start the JWKS servers and mint the tokens; each re-runs this test binary
//! with one `#[ignore]`d child test selected and the variables set, and checks its exit status.

mod common;

use cognito_core::Require;
use std::process::Stdio;

use cognito_core::settings::{KEYS_URL_ENV, KeySource};
use cognito_core::{CognitoSettings, CognitoToken, Verifier};
use cognito_testkit::{JwksServer, SigningKey, access_claims, aws_issuer, jwks};
use common::TestResult;

const CHILD: &str = "COGNITO_TEST_CHILD";

/// Runs the child test `name` with these env vars; true if it passed.
async fn run_child(name: &str, vars: &[(&str, &str)]) -> Result<bool, Box<dyn std::error::Error>> {
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"])
        .env_remove(KEYS_URL_ENV)
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().await?;
    if !out.status.success() {
        eprintln!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"))
}

/// Child tests refuse to run by accident (they need the parent's servers and variables).
fn var(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(CHILD).map_err(|_| "run by the parent test only")?;
    Ok(std::env::var(name)?)
}

fn settings(pool_jwks_url: Option<&str>) -> Result<CognitoSettings, cognito_core::ConfigError> {
    let extra = pool_jwks_url
        .map(|u| format!("    jwks_url: {u}\n"))
        .unwrap_or_default();
    CognitoSettings::from_yaml_str(&format!(
        "userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_Env\n    app_client_id: c\n{extra}"
    ))
}

#[tokio::test]
async fn jwks_url_precedence_pool_then_env_then_aws_default() -> TestResult {
    let key = SigningKey::generate("k")?;
    let pool_server = JwksServer::start(jwks(&[&key])).await?;
    let env_server = JwksServer::start(jwks(&[&key])).await?;
    let token = key.sign(&access_claims(&aws_issuer("eu-west-1", "eu-west-1_Env"), "c"))?;
    let pool_url = pool_server.base_url() + "/pool.json";
    let env_url = env_server.base_url() + "/env.json";

    // Level 1: the pool's jwks_url wins over the env var.
    let vars = [
        ("TEST_TOKEN", token.as_str()),
        ("TEST_POOL_URL", pool_url.as_str()),
        (KEYS_URL_ENV, env_url.as_str()),
    ];
    assert!(run_child("child_verifies_with_the_pool_url", &vars).await?);
    assert_eq!((pool_server.hits(), env_server.hits()), (1, 0));

    // Level 2: without a pool jwks_url, the env var.
    assert!(
        run_child(
            "child_verifies_without_a_pool_url",
            &[("TEST_TOKEN", &token), (KEYS_URL_ENV, &env_url)]
        )
        .await?
    );
    assert_eq!((pool_server.hits(), env_server.hits()), (1, 1));

    // Level 3: neither: the AWS default of each issuer form (checked without fetching).
    assert!(run_child("child_resolves_the_aws_default", &[]).await?);
    // An empty env var counts as unset.
    assert!(run_child("child_resolves_the_aws_default", &[(KEYS_URL_ENV, "")]).await?);
    // And a bad env URL is a ConfigError naming the variable.
    assert!(run_child("child_rejects_a_bad_env_url", &[(KEYS_URL_ENV, "not a url")]).await?);
    // So is a plain-http env URL on a host that is not loopback.
    assert!(
        run_child(
            "child_rejects_a_bad_env_url",
            &[(KEYS_URL_ENV, "http://keys.example.com/jwks.json")]
        )
        .await?
    );
    Ok(())
}

#[tokio::test]
#[ignore = "child process of jwks_url_precedence_pool_then_env_then_aws_default"]
async fn child_verifies_with_the_pool_url() -> TestResult {
    let v = Verifier::new(&settings(Some(&var("TEST_POOL_URL")?))?)?;
    let _: CognitoToken = v.verify(&var("TEST_TOKEN")?, Require::NONE).await?;
    Ok(())
}

#[tokio::test]
#[ignore = "child process of jwks_url_precedence_pool_then_env_then_aws_default"]
async fn child_verifies_without_a_pool_url() -> TestResult {
    let v = Verifier::new(&settings(None)?)?;
    let _: CognitoToken = v.verify(&var("TEST_TOKEN")?, Require::NONE).await?;
    Ok(())
}

#[test]
#[ignore = "child process of jwks_url_precedence_pool_then_env_then_aws_default"]
fn child_resolves_the_aws_default() -> TestResult {
    std::env::var(CHILD)?;
    let sources = settings(None)?.default_pool()?.key_sources()?;
    let urls: Vec<String> = sources
        .iter()
        .map(|(_, s)| match s {
            KeySource::Url(u) => u.to_string(),
            KeySource::Inline(_) => String::new(),
        })
        .collect();
    assert_eq!(
        urls,
        [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Env/.well-known/jwks.json",
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Env/.well-known/jwks.json"
        ]
    );
    Ok(())
}

#[test]
#[ignore = "child process of jwks_url_precedence_pool_then_env_then_aws_default"]
fn child_rejects_a_bad_env_url() -> TestResult {
    std::env::var(CHILD)?;
    let err = settings(None).err().ok_or("accepted")?;
    assert_eq!(err.field(), Some(KEYS_URL_ENV));
    Ok(())
}

#[tokio::test]
async fn from_env_reads_the_four_variables() -> TestResult {
    let pools = r#"{"zz": {"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"},
                    "aa": {"region": "us-east-1", "userpool_id": "us-east-1_B", "app_client_id": ["d", "e"]}}"#;
    let vars = [
        ("CHECK_EXPIRATION", "false"),
        ("JWT_HEADER_NAME", "X-Token"),
        ("JWT_HEADER_PREFIX", "JWT"),
        ("USERPOOLS", pools),
    ];
    assert!(run_child("child_from_env", &vars).await?);
    assert!(run_child("child_from_env_without_userpools", &[]).await?);
    Ok(())
}

#[test]
#[ignore = "child process of from_env_reads_the_four_variables"]
fn child_from_env() -> TestResult {
    std::env::var(CHILD)?;
    let s = CognitoSettings::from_env()?;
    assert!(!s.check_expiration);
    assert_eq!(
        (s.jwt_header_name.as_str(), s.jwt_header_prefix.as_str()),
        ("X-Token", "JWT")
    );
    assert_eq!(s.pool_names().collect::<Vec<_>>(), ["zz", "aa"]);
    assert_eq!(s.pool("aa")?.app_client_id, ["d", "e"]);
    Ok(())
}

#[test]
#[ignore = "child process of from_env_reads_the_four_variables"]
fn child_from_env_without_userpools() -> TestResult {
    std::env::var(CHILD)?;
    let err = CognitoSettings::from_env().err().ok_or("accepted")?;
    assert_eq!(err.field(), Some("USERPOOLS"));
    Ok(())
}
