//! The Cognito Identity Provider JSON API of an emulator on 127.0.0.1 (cognito-local, moto):
//! what the emulator tests provision pools and sign users in with.

use serde_json::{Value, json};

use crate::support::BoxError;

/// An emulator's API.
pub(crate) struct CognitoApi {
    /// The endpoint, ending in `/`.
    pub(crate) url: String,
    pub(crate) client: reqwest::Client,
    /// An `Authorization` header naming the service in its credential scope: moto's server
    /// picks the service from it (and checks no signature); cognito-local needs none.
    pub(crate) credential_scope: Option<&'static str>,
}

/// A pool's ids and one sign-in's tokens.
pub(crate) struct SignIn {
    pub(crate) pool_id: String,
    pub(crate) client_id: String,
    pub(crate) id_token: String,
    pub(crate) access_token: String,
}

impl CognitoApi {
    /// One call of the API.
    pub(crate) async fn call(&self, action: &str, body: Value) -> Result<Value, BoxError> {
        let mut request = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("AWSCognitoIdentityProviderService.{action}"));
        if let Some(scope) = self.credential_scope {
            request = request.header(
                "Authorization",
                format!("AWS4-HMAC-SHA256 Credential=test/20260101/{scope}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"),
            );
        }
        let response = request.body(body.to_string()).send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("{action}: {status} {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// A pool named `name` with an app client, an `admin` group and `user` signed in as a
    /// member of it.
    pub(crate) async fn pool_with_user(&self, name: &str, user: &str) -> Result<SignIn, BoxError> {
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
