//! Real tokens from moto (PyPI), the AWS mock library, whose server `.ci/run` starts on
//! 127.0.0.1 and names in `MOTO_URL`. Unlike cognito-local, moto issues tokens in AWS's own
//! issuer form (`https://cognito-idp.<region>.amazonaws.com/<pool id>`) with `auth_time` and
//! `origin_jti`, so the settings are those of a real pool, with only the key set's address moved
//! to loopback. The test provisions two pools through moto's Cognito API, signs a user in, and
//! checks through the three demos: both token kinds are accepted; the other pool's are
//! `wrong_issuer` (moto signs every pool with one key); a fresh sign-in passes `/recent`; a user
//! is not a machine (`/machine`); and `POST /revoke` of the sign-in's `origin_jti` revokes both
//! of its tokens at once.
//!
//! A second test runs the demos with a tenants file and signs two tenants up (two more moto
//! pools) while they run: once the file names them, their tokens are served on `/tenant`.
//!
//! moto has no `/oauth2/token` endpoint, so it issues no client-credentials (machine) tokens;
//! the conformance suite's machine rows use the testkit's.
//!
//! Run: `MOTO_URL=http://127.0.0.1:5000 cargo test -p cognito-conformance --test moto -- --ignored`

mod cognito_api;
mod support;

use cognito_api::{CognitoApi, SignIn};
use cognito_core::CognitoSettings;
use serde_json::{Value, json};
use support::{BoxError, FRAMEWORKS, spawn_demo, wait_until_up};

const REGION: &str = "us-east-1";

/// A claim of a token's payload, read without verifying (the test needs the session's id).
fn claim(token: &str, name: &str) -> Result<String, BoxError> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    let claims: Value = serde_json::from_slice(&bytes)?;
    Ok(claims[name].as_str().ok_or_else(|| format!("no {name}"))?.to_owned())
}

/// moto's server from `MOTO_URL`: its base URL, an HTTP client, and its Cognito API.
fn moto() -> Result<(String, reqwest::Client, CognitoApi), BoxError> {
    let url = std::env::var("MOTO_URL").map_err(|_| "MOTO_URL is not set")?;
    let base = url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let api = CognitoApi {
        url: format!("{base}/"),
        client: client.clone(),
        credential_scope: Some(REGION),
    };
    Ok((base, client, api))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server on 127.0.0.1 (MOTO_URL); .ci/run starts it"]
async fn the_demos_accept_moto_tokens_and_revoke_a_sign_in() -> Result<(), BoxError> {
    let (base, client, moto) = moto()?;
    let mine = moto.pool_with_user("cognito-rs", "alice").await?;
    let other = moto.pool_with_user("another", "alice").await?;
    let session = claim(&mine.access_token, "origin_jti")?;
    assert_eq!(
        claim(&mine.id_token, "origin_jti")?,
        session,
        "one sign-in, one session"
    );

    let settings = CognitoSettings::from_yaml_str(&format!(
        "userpools:\n  moto:\n    region: {REGION}\n    userpool_id: {pool}\n    app_client_id: {client}\n    jwks_url: {base}/{pool}/.well-known/jwks.json\n",
        pool = mine.pool_id,
        client = mine.client_id,
    ))?;
    for framework in FRAMEWORKS {
        let name = framework.name();
        let addr = spawn_demo(framework, &settings)?;
        wait_until_up(&client, addr).await?;
        let get = |path: &str, token: &str| {
            client
                .get(format!("http://{addr}{path}"))
                .header("Authorization", format!("Bearer {token}"))
                .send()
        };
        let answer = |response: reqwest::Response| async move {
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            Ok::<_, BoxError>((status, body))
        };
        for (what, token) in [("ID token", &mine.id_token), ("access token", &mine.access_token)] {
            let (status, body) = answer(get("/", token).await?).await?;
            assert_eq!(status, 200, "{name} {what}: {body}");
            assert_eq!(body["client_id"], mine.client_id.as_str(), "{name} {what}");
            assert_eq!(body["groups"], json!(["admin"]), "{name} {what}");
            assert_eq!(
                get("/admin", token).await?.status().as_u16(),
                200,
                "{name} {what} on /admin"
            );
            let (status, body) = answer(get("/machine", token).await?).await?;
            assert_eq!(
                (status, body["error"].as_str()),
                (403, Some("forbidden_principal")),
                "{name} {what}"
            );
        }
        let (status, body) = answer(get("/recent", &mine.access_token).await?).await?;
        assert_eq!(status, 200, "{name}: a sign-in of a moment ago is recent: {body}");
        for (what, token) in [("ID token", &other.id_token), ("access token", &other.access_token)] {
            let (status, body) = answer(get("/", token).await?).await?;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("wrong_issuer")),
                "{name} other pool's {what}"
            );
        }

        let revoked = client
            .post(format!("http://{addr}/revoke"))
            .header("Authorization", format!("Bearer {}", mine.access_token))
            .header("Content-Type", "application/json")
            .body(json!({ "origin_jti": session }).to_string())
            .send()
            .await?;
        let (status, body) = answer(revoked).await?;
        assert_eq!((status, &body), (200, &json!({"revoked": true})), "{name} POST /revoke");
        for (what, token) in [("ID token", &mine.id_token), ("access token", &mine.access_token)] {
            let (status, body) = answer(get("/", token).await?).await?;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("revoked")),
                "{name} revoked {what}"
            );
        }
        println!("{name}: moto's ID and access tokens accepted, the other pool's refused, the sign-in revoked");
    }
    Ok(())
}

/// A tenants file entry for a moto pool: its AWS issuer form, with the keys on loopback.
fn tenant_yaml(name: &str, base: &str, sign_in: &SignIn) -> String {
    format!(
        "{name}:\n  region: {REGION}\n  userpool_id: {pool}\n  app_client_id: {client}\n  jwks_url: {base}/{pool}/.well-known/jwks.json\n",
        pool = sign_in.pool_id,
        client = sign_in.client_id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server on 127.0.0.1 (MOTO_URL); .ci/run starts it"]
async fn tenants_signed_up_while_the_demos_run_are_served_without_a_restart() -> Result<(), BoxError> {
    let (base, client, moto) = moto()?;
    let main = moto.pool_with_user("main", "alice").await?;
    let first = moto.pool_with_user("tenant-one", "alice").await?;
    let file = std::env::temp_dir().join(format!("cognito-moto-tenants-{}.yaml", std::process::id()));
    std::fs::write(&file, tenant_yaml("one", &base, &first))?;
    let settings = CognitoSettings::from_yaml_str(&format!(
        "tenants: {{file: '{}'}}\nuserpools:\n  main:\n    region: {REGION}\n    userpool_id: {pool}\n    app_client_id: {client}\n    jwks_url: {base}/{pool}/.well-known/jwks.json\n",
        file.display(),
        pool = main.pool_id,
        client = main.client_id,
    ))?;
    let mut demos = Vec::new();
    for framework in FRAMEWORKS {
        let addr = spawn_demo(framework, &settings)?;
        wait_until_up(&client, addr).await?;
        demos.push((framework.name(), addr));
    }
    let tenant = |addr: std::net::SocketAddr, token: String| {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("http://{addr}/tenant"))
                .header("Authorization", format!("Bearer {token}"))
                .send()
                .await?;
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            Ok::<_, BoxError>((status, body))
        }
    };

    // Two tenants sign up while the demos run: each gets a pool, and the file learns them.
    let second = moto.pool_with_user("tenant-two", "alice").await?;
    let third = moto.pool_with_user("tenant-three", "alice").await?;
    for (name, addr) in &demos {
        let (status, body) = tenant(*addr, first.access_token.clone()).await?;
        assert_eq!((status, &body["tenant"]), (200, &json!("one")), "{name}: {body}");
        let (status, body) = tenant(*addr, second.access_token.clone()).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("wrong_issuer")),
            "{name}: not signed up yet"
        );
    }
    let mut yaml = tenant_yaml("one", &base, &first);
    yaml.push_str(&tenant_yaml("two", &base, &second));
    yaml.push_str(&tenant_yaml("three", &base, &third));
    std::fs::write(&file, yaml)?;
    // An unknown issuer makes the file be read again at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for (name, addr) in &demos {
        for (tenant_name, sign_in) in [("two", &second), ("three", &third), ("one", &first)] {
            for token in [&sign_in.access_token, &sign_in.id_token] {
                let (status, body) = tenant(*addr, token.clone()).await?;
                assert_eq!((status, &body["tenant"]), (200, &json!(tenant_name)), "{name}: {body}");
            }
        }
        // The configured pool is not a tenant.
        let (status, body) = tenant(*addr, main.access_token.clone()).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("wrong_issuer")),
            "{name}: {body}"
        );
        println!("{name}: tenants two and three, signed up while it ran, served without a restart");
    }
    let _ = std::fs::remove_file(&file);
    Ok(())
}
