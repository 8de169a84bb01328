//! Keys seeded in advance (`CognitoAuth::seed_keys`): served without a fetch, refreshed from
//! the pool's URL as fetched keys are.

mod common;

use cognito_core::{CognitoAuth, CognitoToken, ErrorKind, Require};
use cognito_testkit::{SigningKey, jwks};
use common::{Fixture, TestResult};

#[tokio::test]
async fn seeded_keys_verify_without_a_fetch() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let seed = jwks(&[&f.key]).to_string();
    assert!(auth.seed_keys("main", seed.as_bytes())?);
    let pool = auth.pool("main").ok_or("no pool main")?;
    pool.verify::<CognitoToken>(&f.access_token()?, Require::NONE).await?;
    assert_eq!(f.server.hits(), 0, "no fetch for seeded keys");
    // Keys are loaded now: a second seed changes nothing, and the prefetch fetches nothing.
    assert!(!auth.seed_keys("main", seed.as_bytes())?);
    assert_eq!(pool.prefetch().await?, 1);
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn a_kid_the_seed_lacks_is_fetched() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let old = SigningKey::generate("an-old-key")?;
    assert!(auth.seed_keys("main", jwks(&[&old]).to_string().as_bytes())?);
    let pool = auth.pool("main").ok_or("no pool main")?;
    pool.verify::<CognitoToken>(&f.access_token()?, Require::NONE).await?;
    assert_eq!(f.server.hits(), 1, "the server's keys were fetched once");
    Ok(())
}

#[tokio::test]
async fn a_bad_seed_or_an_unknown_pool_is_refused() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let not_json = auth.seed_keys("main", b"not json").err().ok_or("not JSON was seeded")?;
    assert!(not_json.to_string().contains("seed_keys"), "{not_json}");
    assert!(auth.seed_keys("elsewhere", b"{\"keys\": []}").is_err());
    // Nothing was installed: a token still fetches.
    let pool = auth.pool("main").ok_or("no pool main")?;
    pool.verify::<CognitoToken>(&f.access_token()?, Require::NONE).await?;
    assert_eq!(f.server.hits(), 1);
    let kind = pool
        .verify::<CognitoToken>("not-a-jwt", Require::NONE)
        .await
        .err()
        .map(|e| e.kind());
    assert_eq!(kind, Some(ErrorKind::Malformed));
    Ok(())
}
