//! A pool's `audience`: an access token's `aud` must be one of them (Cognito resource
//! binding); ID tokens keep `aud` = the app client.

mod common;

use cognito_core::ErrorKind;
use cognito_core::Require;
use cognito_testkit::id_claims;
use common::{CLIENT_A, Fixture, TestResult, kind_of};
use serde_json::json;

#[tokio::test]
async fn an_access_tokens_aud_must_be_a_configured_audience() -> TestResult {
    let f = Fixture::new().await?;
    let mut pool = f.pool();
    pool["audience"] = json!(["https://api.example.com", "orders"]);
    let yaml = common::settings_yaml("", &[("main", pool)])?;
    let v = cognito_core::Verifier::new(&cognito_core::CognitoSettings::from_yaml_str(&yaml)?)?;
    let mut claims = f.access();
    claims["aud"] = json!("orders");
    assert_eq!(kind_of(&v, &f.sign(&claims)?).await, None);
    claims["aud"] = json!("elsewhere");
    assert_eq!(kind_of(&v, &f.sign(&claims)?).await, Some(ErrorKind::WrongClient));
    let err = v
        .verify::<cognito_core::CognitoToken>(&f.sign(&claims)?, Require::NONE)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.message(), "The token's audience is not accepted here.");
    claims.as_object_mut().ok_or("claims")?.remove("aud");
    assert_eq!(
        kind_of(&v, &f.sign(&claims)?).await,
        Some(ErrorKind::WrongClient),
        "no aud at all"
    );
    // An ID token's aud is its client, as before.
    assert_eq!(kind_of(&v, &f.sign(&id_claims(&f.issuer, CLIENT_A))?).await, None);
    // Without `audience`, an access token's aud is not read.
    let plain = f.verifier("")?;
    claims["aud"] = json!("anything");
    assert_eq!(kind_of(&plain, &f.sign(&claims)?).await, None);
    Ok(())
}

#[test]
fn audience_is_a_string_or_a_list_and_never_empty() -> TestResult {
    let pool = |audience: &str| {
        format!(
            "userpools:\n  eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a, audience: {audience}}}\n"
        )
    };
    let one = cognito_core::CognitoSettings::from_yaml_str(&pool("orders"))?;
    assert_eq!(one.pool("eu")?.audience, ["orders"]);
    let err = cognito_core::CognitoSettings::from_yaml_str(&pool("['']"))
        .and_then(|s| s.validate())
        .err()
        .ok_or("an empty audience loaded")?;
    assert_eq!((err.pool(), err.field()), (Some("eu"), Some("audience")));
    Ok(())
}
