//! Real tokens from a certified OpenID Provider nobody here wrote: `oidc-provider` (npm),
//! started on 127.0.0.1 by `tests/oidc/run.sh`, which sets `OIDC_ISSUER`. The provider issues
//! JWT access tokens (`typ: at+jwt`) by client credentials for a resource indicator: one
//! resource's tokens are signed RS256, the other's ES256. The demos, configured with the
//! provider as a named issuer (keys found by OpenID Connect discovery), must accept both on
//! `/pools/{name}`, refuse them where another audience is expected (`wrong_client`), refuse a
//! changed signature, and report the issuer in `/ready`.
//!
//! Run: `bash tests/oidc/run.sh` (or, with a provider already up,
//! `OIDC_ISSUER=http://127.0.0.1:<port> cargo test -p cognito-conformance --test oidc_provider -- --ignored`)

mod support;

use cognito_core::CognitoSettings;
use serde_json::Value;
use support::{BoxError, FRAMEWORKS, spawn_demo, wait_until_up};

/// The provider's two resources: their tokens are signed with these algorithms.
const RS256_API: &str = "https://rs256.api.test";
const ES256_API: &str = "https://es256.api.test";

/// An access token for `resource` by the client-credentials grant.
async fn token_for(client: &reqwest::Client, issuer: &str, resource: &str) -> Result<String, BoxError> {
    // Form-encoded by hand: the workspace's reqwest has no `form` feature.
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body = format!(
        "grant_type=client_credentials&client_id=machine&client_secret=machine-secret&resource={}&scope=read",
        encode(resource)
    );
    let response = client
        .post(format!("{issuer}/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let body: Value = serde_json::from_str(&response.text().await?)?;
    if !status.is_success() {
        return Err(format!("token for {resource}: {status} {body}").into());
    }
    Ok(body["access_token"].as_str().ok_or("no access_token")?.to_owned())
}

/// The JOSE header of a token, decoded.
fn header_of(token: &str) -> Result<Value, BoxError> {
    use base64::Engine as _;
    let header = token.split('.').next().ok_or("no header")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header)?;
    Ok(serde_json::from_slice(&bytes)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs oidc-provider on 127.0.0.1 (OIDC_ISSUER); tests/oidc/run.sh starts it"]
async fn the_demos_accept_an_openid_providers_rs256_and_es256_tokens() -> Result<(), BoxError> {
    let issuer = std::env::var("OIDC_ISSUER").map_err(|_| "OIDC_ISSUER is not set")?;
    let issuer = issuer.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let rs256 = token_for(&client, issuer, RS256_API).await?;
    let es256 = token_for(&client, issuer, ES256_API).await?;
    assert_eq!(header_of(&rs256)?["alg"], "RS256");
    assert_eq!(header_of(&es256)?["alg"], "ES256");
    assert_eq!(header_of(&es256)?["typ"], "at+jwt");

    // A Cognito pool stays the default; the provider is a named issuer beside it, twice: once
    // for the two resources, once for an audience its tokens do not carry.
    let settings = CognitoSettings::from_yaml_str(&format!(
        r#"
userpools:
  dev:
    region: local
    userpool_id: local_pool
    app_client_id: app
    jwks_inline: {{keys: []}}
issuers:
  provider:
    issuer: {issuer}
    audience: [{RS256_API}, {ES256_API}]
    algorithms: [RS256, ES256]
    token_type: at+jwt
  elsewhere:
    issuer: {issuer}
    audience: [https://another.api.test]
    algorithms: [RS256, ES256]
"#
    ))?;
    let mut forged = es256.clone();
    forged.truncate(forged.len() - 4);
    // Still canonical base64url (the last character's two unused bits zero), so it reaches the signature.
    forged.push_str(if es256.ends_with("AAAA") { "EEEE" } else { "AAAA" });

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
        for (alg, token) in [("RS256", &rs256), ("ES256", &es256)] {
            let response = get("/pools/provider", token).await?;
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            assert_eq!(status, 200, "{name} {alg}: {body}");
            assert_eq!(body["sub"], "machine", "{name} {alg}: {body}");
            assert_eq!(body["client_id"], "machine", "{name} {alg}: {body}");

            let response = get("/pools/elsewhere", token).await?;
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("wrong_client")),
                "{name} {alg}"
            );

            // The Cognito pool does not take the provider's tokens: not its issuer, and ES256
            // is no algorithm of a pool's (the header policy answers first).
            let response = get("/", token).await?;
            let body: Value = serde_json::from_str(&response.text().await?)?;
            let expected = if alg == "RS256" {
                "wrong_issuer"
            } else {
                "unsupported_alg"
            };
            assert_eq!(body["error"], expected, "{name} {alg} on the default pool");
        }
        let response = get("/pools/provider", &forged).await?;
        let body: Value = serde_json::from_str(&response.text().await?)?;
        assert_eq!(body["error"], "bad_signature", "{name} changed signature");

        let ready: Value =
            serde_json::from_str(&client.get(format!("http://{addr}/ready")).send().await?.text().await?)?;
        assert!(ready.to_string().contains("\"provider\""), "{name} /ready: {ready}");
        println!(
            "{name}: oidc-provider RS256 and ES256 access tokens accepted; wrong audience and changed signature refused"
        );
    }
    Ok(())
}
