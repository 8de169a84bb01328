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

mod support;

use cognito_core::CognitoSettings;
use serde_json::{Value, json};
use support::{BoxError, FRAMEWORKS, spawn_demo, wait_until_up};

struct Emulator {
    url: String,
    client: reqwest::Client,
}

impl Emulator {
    /// One call of the Cognito Identity Provider JSON API.
    async fn call(&self, action: &str, body: Value) -> Result<Value, BoxError> {
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("AWSCognitoIdentityProviderService.{action}"))
            .body(body.to_string())
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("{action}: {status} {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// A pool with an app client, an `admin` group and a signed-in member: (pool id, client id,
    /// ID token, access token).
    async fn pool_with_user(&self, name: &str) -> Result<(String, String, String, String), BoxError> {
        let pool = self.call("CreateUserPool", json!({"PoolName": name})).await?;
        let pool_id = pool["UserPool"]["Id"].as_str().ok_or("no pool id")?.to_owned();
        let client = self
            .call(
                "CreateUserPoolClient",
                json!({"UserPoolId": pool_id, "ClientName": "app"}),
            )
            .await?;
        let client_id = client["UserPoolClient"]["ClientId"]
            .as_str()
            .ok_or("no client id")?
            .to_owned();
        self.call("CreateGroup", json!({"UserPoolId": pool_id, "GroupName": "admin"}))
            .await?;
        let user = "alice@example.com";
        self.call(
            "AdminCreateUser",
            json!({"UserPoolId": pool_id, "Username": user, "TemporaryPassword": "Temp-Passw0rd!", "MessageAction": "SUPPRESS"}),
        )
        .await?;
        self.call(
            "AdminSetUserPassword",
            json!({"UserPoolId": pool_id, "Username": user, "Password": "Real-Passw0rd!", "Permanent": true}),
        )
        .await?;
        self.call(
            "AdminAddUserToGroup",
            json!({"UserPoolId": pool_id, "Username": user, "GroupName": "admin"}),
        )
        .await?;
        let auth = self
            .call(
                "InitiateAuth",
                json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                       "AuthParameters": {"USERNAME": user, "PASSWORD": "Real-Passw0rd!"}}),
            )
            .await?;
        let tokens = &auth["AuthenticationResult"];
        let id = tokens["IdToken"].as_str().ok_or("no ID token")?.to_owned();
        let access = tokens["AccessToken"].as_str().ok_or("no access token")?.to_owned();
        Ok((pool_id, client_id, id, access))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs cognito-local on 127.0.0.1 (COGNITO_LOCAL_URL); .ci/run starts it"]
async fn the_demos_accept_cognito_local_tokens_and_reject_another_pools() -> Result<(), BoxError> {
    let url = std::env::var("COGNITO_LOCAL_URL").map_err(|_| "COGNITO_LOCAL_URL is not set")?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let emulator = Emulator {
        url: url.trim_end_matches('/').to_owned() + "/",
        client: client.clone(),
    };
    let (pool_id, client_id, id_token, access_token) = emulator.pool_with_user("cognito-rs").await?;
    let (_, _, other_id_token, other_access_token) = emulator.pool_with_user("another").await?;

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
