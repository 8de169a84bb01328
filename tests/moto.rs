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
//! moto has no `/oauth2/token` endpoint, so it issues no client-credentials (machine) tokens;
//! the conformance suite's machine rows use the testkit's.
//!
//! Run: `MOTO_URL=http://127.0.0.1:5000 cargo test -p cognito-conformance --test moto -- --ignored`

mod support;

use cognito_core::CognitoSettings;
use serde_json::{Value, json};
use support::{BoxError, FRAMEWORKS, spawn_demo, wait_until_up};

const REGION: &str = "us-east-1";

struct Moto {
    url: String,
    client: reqwest::Client,
}

/// A pool's ids and one sign-in's tokens.
struct SignIn {
    pool_id: String,
    client_id: String,
    id_token: String,
    access_token: String,
}

impl Moto {
    /// One call of the Cognito Identity Provider JSON API. moto's server picks the service from
    /// the credential scope of the `Authorization` header (it checks no signature).
    async fn call(&self, action: &str, body: Value) -> Result<Value, BoxError> {
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("AWSCognitoIdentityProviderService.{action}"))
            .header(
                "Authorization",
                format!("AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"),
            )
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

    /// A pool with an app client, an `admin` group and a signed-in member.
    async fn pool_with_user(&self, name: &str) -> Result<SignIn, BoxError> {
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
        let user = "alice";
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
        Ok(SignIn {
            pool_id,
            client_id,
            id_token: tokens["IdToken"].as_str().ok_or("no ID token")?.to_owned(),
            access_token: tokens["AccessToken"].as_str().ok_or("no access token")?.to_owned(),
        })
    }
}

/// A claim of a token's payload, read without verifying (the test needs the session's id).
fn claim(token: &str, name: &str) -> Result<String, BoxError> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?;
    let claims: Value = serde_json::from_slice(&bytes)?;
    Ok(claims[name].as_str().ok_or_else(|| format!("no {name}"))?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server on 127.0.0.1 (MOTO_URL); .ci/run starts it"]
async fn the_demos_accept_moto_tokens_and_revoke_a_sign_in() -> Result<(), BoxError> {
    let url = std::env::var("MOTO_URL").map_err(|_| "MOTO_URL is not set")?;
    let base = url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let moto = Moto {
        url: format!("{base}/"),
        client: client.clone(),
    };
    let mine = moto.pool_with_user("cognito-rs").await?;
    let other = moto.pool_with_user("another").await?;
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
