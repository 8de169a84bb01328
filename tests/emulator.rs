//! Real tokens from a real Cognito emulator: `cognito-local` (npm), started on 127.0.0.1 by
//! `.ci/run`, which sets `COGNITO_LOCAL_URL`. The test provisions two pools, an app client, a
//! group and a user through the emulator's HTTP API, signs in, and checks that the three demos
//! accept the emulator's ID and access tokens and reject a token of the other pool.
//!
//! cognito-local signs every pool's tokens with the SAME key, so only the issuer check tells
//! the pools apart: this is the check fastapi-cognito does not make. Its issuer is
//! `http://127.0.0.1:9229/<pool id>`, not AWS's form, hence the `issuer` setting.
//!
//! Run: `COGNITO_LOCAL_URL=http://127.0.0.1:9229 cargo test -p cognito-conformance --test emulator -- --ignored`

mod cognito_api;
mod support;

use cognito_api::CognitoApi;
use cognito_core::CognitoSettings;
use serde_json::{Value, json};
use support::{BoxError, FRAMEWORKS, spawn_demo, wait_until_up};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs cognito-local on 127.0.0.1 (COGNITO_LOCAL_URL); .ci/run starts it"]
async fn the_demos_accept_cognito_local_tokens_and_reject_another_pools() -> Result<(), BoxError> {
    let url = std::env::var("COGNITO_LOCAL_URL").map_err(|_| "COGNITO_LOCAL_URL is not set")?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let emulator = CognitoApi {
        url: url.trim_end_matches('/').to_owned() + "/",
        client: client.clone(),
        credential_scope: None,
    };
    let user = "alice@example.com";
    let mine = emulator.pool_with_user("cognito-rs", user).await?;
    let other = emulator.pool_with_user("another", user).await?;
    let (pool_id, client_id, id_token, access_token) = (mine.pool_id, mine.client_id, mine.id_token, mine.access_token);
    let (other_id_token, other_access_token) = (other.id_token, other.access_token);

    let base = url.trim_end_matches('/');
    let settings = CognitoSettings::from_yaml_str(&format!(
        "userpools:\n  local:\n    region: local\n    userpool_id: {pool_id}\n    app_client_id: {client_id}\n    issuer: {base}/{pool_id}\n    jwks_url: {base}/{pool_id}/.well-known/jwks.json\n"
    ))?;
    for framework in FRAMEWORKS {
        let addr = spawn_demo(framework, &settings)?;
        wait_until_up(&client, addr).await?;
        let get = |path: &str, token: &str| {
            client
                .get(format!("http://{addr}{path}"))
                .header("Authorization", format!("Bearer {token}"))
                .send()
        };
        for (what, token) in [("ID token", &id_token), ("access token", &access_token)] {
            let response = get("/", token).await?;
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            assert_eq!(status, 200, "{} {what}: {body}", framework.name());
            assert_eq!(body["client_id"], client_id.as_str(), "{} {what}", framework.name());
            assert_eq!(body["groups"], json!(["admin"]), "{} {what}", framework.name());
            let admin = get("/admin", token).await?.status().as_u16();
            assert_eq!(admin, 200, "{} {what} on /admin", framework.name());
        }
        for (what, token) in [("ID token", &other_id_token), ("access token", &other_access_token)] {
            let response = get("/", token).await?;
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("wrong_issuer")),
                "{} other pool's {what}",
                framework.name()
            );
        }
        println!(
            "{}: cognito-local ID and access tokens accepted; the other pool's rejected",
            framework.name()
        );
    }
    Ok(())
}
