//! The JWKS cache (single flight, refresh, rotation, cool-down, backoff, stale-while-error,
//! max staleness, `refresh_keys`) against a real server on 127.0.0.1 that counts requests.

mod common;

use cognito_core::Require;
use std::time::{Duration, Instant};

use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, ErrorKind, Verifier};
use cognito_testkit::{JwksServer, Reply, SigningKey, jwks};
use common::{Fixture, TestResult, eventually, kind_of, settings_yaml, wait_for_hits};
use serde_json::json;

/// How long a background refresh may take to show, and how often to look.
const FIVE_SECONDS: Duration = Duration::from_secs(5);
const TEN_MS: Duration = Duration::from_millis(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_verifications_on_a_cold_cache_fetch_once() -> TestResult {
    let f = Fixture::new().await?;
    // A slow server widens the window in which requests pile up behind the one fetch.
    f.server.set_reply(Reply::Delay(Duration::from_millis(200)));
    let v = f.verifier("")?;
    let token = f.access_token()?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (v, token) = (v.clone(), token.clone());
        tasks.spawn(async move { v.verify::<CognitoToken>(&token, Require::NONE).await.map(|_| ()) });
    }
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        result??;
        ok += 1;
    }
    assert_eq!(ok, 1000);
    assert_eq!(f.server.hits(), 1, "exactly one JWKS fetch");
    Ok(())
}

#[tokio::test]
async fn unknown_kids_inside_the_cool_down_refetch_once() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    assert_eq!(v.prefetch().await?, 1);
    assert_eq!(f.server.hits(), 1);
    let first = SigningKey::generate("forged-1")?.sign(&f.access())?;
    let second = SigningKey::generate("forged-2")?.sign(&f.access())?;
    assert_eq!(kind_of(&v, &first).await, Some(ErrorKind::UnknownKid));
    assert_eq!(f.server.hits(), 2, "the first unknown kid refetched");
    for token in [&second, &first, &second] {
        assert_eq!(kind_of(&v, token).await, Some(ErrorKind::UnknownKid));
    }
    assert_eq!(f.server.hits(), 2, "no refetch inside the cool-down");
    // Known kids keep verifying meanwhile.
    assert_eq!(kind_of(&v, &f.access_token()?).await, None);
    Ok(())
}

#[tokio::test]
async fn the_cool_down_ends() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  cooldown_secs: 1")?;
    let rotated = SigningKey::generate("key-2")?;
    let token = rotated.sign(&f.access())?;
    assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::UnknownKid));
    f.server.set_jwks(jwks(&[&f.key, &rotated]));
    assert_eq!(
        kind_of(&v, &token).await,
        Some(ErrorKind::UnknownKid),
        "still cooling down"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(kind_of(&v, &token).await, None);
    assert_eq!(f.server.hits(), 2);
    Ok(())
}

#[tokio::test]
async fn a_rotated_in_kid_is_accepted_after_one_refetch() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    v.prefetch().await?;
    let rotated = SigningKey::generate("key-2")?;
    f.server.set_jwks(jwks(&[&f.key, &rotated]));
    assert_eq!(kind_of(&v, &rotated.sign(&f.access())?).await, None);
    assert_eq!(f.server.hits(), 2);
    assert_eq!(kind_of(&v, &f.access_token()?).await, None);
    assert_eq!(f.server.hits(), 2);
    Ok(())
}

#[tokio::test]
async fn a_removed_key_is_rejected_after_the_background_refresh() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  refresh_secs: 1")?;
    let old_token = f.access_token()?;
    assert_eq!(kind_of(&v, &old_token).await, None);
    let new_key = SigningKey::generate("key-2")?;
    f.server.set_jwks(jwks(&[&new_key]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Due for refresh: this request is still served from the cache and starts the refresh.
    assert_eq!(kind_of(&v, &old_token).await, None);
    assert!(wait_for_hits(&f.server, 2).await, "a background refresh ran");
    let refused = async || kind_of(&v, &old_token).await.is_some();
    assert!(
        eventually(FIVE_SECONDS, TEN_MS, refused).await,
        "the old key was dropped"
    );
    assert_eq!(kind_of(&v, &old_token).await, Some(ErrorKind::UnknownKid));
    assert_eq!(kind_of(&v, &new_key.sign(&f.access())?).await, None);
    Ok(())
}

/// An emergency key removal: `refresh_keys` refetches now, and a token of the removed key is
/// refused at once (from the verified-token cache too), without waiting for `refresh_secs`.
#[tokio::test]
async fn refresh_keys_stops_trusting_a_removed_key_now() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let v = auth.default_pool();
    let old_token = f.access_token()?;
    for _ in 0..3 {
        assert_eq!(kind_of(v, &old_token).await, None);
    }
    assert_eq!(v.token_cache_stats().hits, 1, "served from the verified-token cache");
    let new_key = SigningKey::generate("key-2")?;
    f.server.set_jwks(jwks(&[&new_key]));
    // Within refresh_secs nothing refetches by itself: the removed key still verifies.
    assert_eq!(kind_of(v, &old_token).await, None);
    assert_eq!(f.server.hits(), 1);
    let report = auth.refresh_keys().await;
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].result.as_ref().ok(), Some(&1));
    assert_eq!(f.server.hits(), 2);
    assert_eq!(kind_of(v, &old_token).await, Some(ErrorKind::UnknownKid));
    assert_eq!(
        v.verify_cached::<CognitoToken>(&old_token, cognito_core::Require::NONE)
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::UnknownKid),
        "verify_cached users too"
    );
    assert_eq!(kind_of(v, &new_key.sign(&f.access())?).await, None);
    // A failed refresh says why and keeps serving the keys it had.
    f.server.set_reply(Reply::Status(500));
    let err = v.refresh_keys().await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::JwksUnavailable));
    assert_eq!(kind_of(v, &new_key.sign(&f.access())?).await, None);
    Ok(())
}

#[tokio::test]
async fn new_key_material_under_an_old_kid_is_picked_up() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  refresh_secs: 1")?;
    assert_eq!(kind_of(&v, &f.access_token()?).await, None);
    let replacement = SigningKey::generate("key-1")?; // same kid, new material
    f.server.set_jwks(jwks(&[&replacement]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = kind_of(&v, &f.access_token()?).await; // triggers the refresh
    assert!(wait_for_hits(&f.server, 2).await);
    let replacement_token = replacement.sign(&f.access())?;
    let accepted = async || kind_of(&v, &replacement_token).await.is_none();
    assert!(
        eventually(FIVE_SECONDS, TEN_MS, accepted).await,
        "the new material was picked up"
    );
    assert_eq!(kind_of(&v, &replacement.sign(&f.access())?).await, None);
    assert_eq!(kind_of(&v, &f.access_token()?).await, Some(ErrorKind::BadSignature));
    Ok(())
}

/// Each broken server answer: `jwks_unavailable` within deadline + margin, the failure not
/// cached (the next attempt after the backoff succeeds), the body cap enforced.
#[tokio::test]
async fn broken_servers_give_jwks_unavailable_and_are_not_cached() -> TestResult {
    let cases = [
        ("500", Reply::Status(500)),
        ("404 JSON without keys", Reply::Status(404)),
        (
            "not JSON",
            Reply::Body {
                content_type: "text/html",
                body: b"<html>oops</html>".to_vec(),
            },
        ),
        (
            "JSON but not a JWKS",
            Reply::Body {
                content_type: "application/json",
                body: br#"{"message":"hi"}"#.to_vec(),
            },
        ),
        (
            "20 MB, declared",
            Reply::Huge {
                bytes: 20 << 20,
                declare_length: true,
            },
        ),
        (
            "20 MB, undeclared",
            Reply::Huge {
                bytes: 20 << 20,
                declare_length: false,
            },
        ),
        ("stalls past the deadline", Reply::Stall),
    ];
    for (name, reply) in cases {
        let f = Fixture::new().await?;
        f.server.set_reply(reply);
        let v = f.verifier("jwks:\n  timeout_ms: 500")?;
        let token = f.access_token()?;
        let started = Instant::now();
        let err = v
            .verify::<CognitoToken>(&token, Require::NONE)
            .await
            .err()
            .ok_or(name)?;
        assert_eq!(err.kind(), ErrorKind::JwksUnavailable, "{name}");
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "{name}: took {:?}",
            started.elapsed()
        );
        assert_eq!(err.retry_after_secs(), Some(1), "{name}");
        assert_eq!(
            f.server.huge_bodies_completed(),
            0,
            "{name}: the client read past its cap"
        );
        // Backoff: requests right after the failure do not fetch again.
        for _ in 0..5 {
            assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::JwksUnavailable), "{name}");
        }
        assert_eq!(f.server.hits(), 1, "{name}: one fetch, then backoff");
        // Not cached as an empty set: once the server is fixed and the backoff over, it works.
        f.server.set_reply(Reply::Keys);
        tokio::time::sleep(Duration::from_millis(1050)).await;
        assert_eq!(kind_of(&v, &token).await, None, "{name}: recovered");
        assert_eq!(f.server.hits(), 2, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn backoff_doubles_while_the_source_stays_down() -> TestResult {
    let f = Fixture::new().await?;
    f.server.set_reply(Reply::Status(503));
    let v = f.verifier("")?;
    let token = f.access_token()?;
    let retry = |e: Option<cognito_core::AuthError>| e.and_then(|e| e.retry_after_secs());
    assert_eq!(
        retry(v.verify::<CognitoToken>(&token, Require::NONE).await.err()),
        Some(1)
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(
        retry(v.verify::<CognitoToken>(&token, Require::NONE).await.err()),
        Some(2)
    );
    tokio::time::sleep(Duration::from_millis(2050)).await;
    assert_eq!(
        retry(v.verify::<CognitoToken>(&token, Require::NONE).await.err()),
        Some(4)
    );
    assert_eq!(f.server.hits(), 3);
    Ok(())
}

#[tokio::test]
async fn an_outage_after_keys_were_cached_changes_nothing_for_known_kids() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  refresh_secs: 1")?;
    let token = f.access_token()?;
    assert_eq!(kind_of(&v, &token).await, None);
    f.server.set_reply(Reply::Status(500));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Due for refresh, and the refresh fails: the last good keys keep serving.
    for _ in 0..20 {
        assert_eq!(kind_of(&v, &token).await, None);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(wait_for_hits(&f.server, 2).await, "the refresh was tried");
    assert_eq!(f.server.hits(), 2, "one failed refresh, then backoff");
    // An unknown kid while the source is failing might be a fresh rotation: 503, not 401.
    let rotated = SigningKey::generate("key-2")?.sign(&f.access())?;
    assert_eq!(kind_of(&v, &rotated).await, Some(ErrorKind::JwksUnavailable));
    Ok(())
}

#[tokio::test]
async fn keys_older_than_max_stale_are_not_served() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  refresh_secs: 1\n  max_stale_secs: 1")?;
    let token = f.access_token()?;
    assert_eq!(kind_of(&v, &token).await, None);
    f.server.set_reply(Reply::Status(500));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::JwksUnavailable));
    Ok(())
}

#[tokio::test]
async fn tokens_failing_the_prechecks_cause_no_fetch() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut wrong_issuer = f.access();
    wrong_issuer["iss"] = json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other");
    let mut expired = f.access();
    expired["exp"] = json!(1);
    let mut wrong_client = f.access();
    wrong_client["client_id"] = json!("someone-else");
    let stranger = SigningKey::generate("forged")?;
    for claims in [wrong_issuer, expired, wrong_client] {
        for _ in 0..100 {
            assert!(kind_of(&v, &stranger.sign(&claims)?).await.is_some());
        }
    }
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn one_cache_per_url_across_pools_and_verifiers() -> TestResult {
    let f = Fixture::new().await?;
    let twin = json!({
        "region": "eu-west-1",
        "userpool_id": "eu-west-1_Twin",
        "app_client_id": "x",
        "issuer": f.issuer,
        "jwks_url": f.server.jwks_url(common::POOL_ID),
    });
    let yaml = settings_yaml("", &[("main", f.pool()), ("twin", twin)])?;
    let settings = CognitoSettings::from_yaml_str(&yaml)?;
    let (a, b, c) = (
        Verifier::new(&settings)?,
        Verifier::for_pool(&settings, "twin")?,
        Verifier::new(&settings)?,
    );
    a.prefetch().await?;
    b.prefetch().await?;
    assert_eq!(kind_of(&c, &f.access_token()?).await, None);
    assert_eq!(f.server.hits(), 1);
    Ok(())
}

#[tokio::test]
async fn prefetch_reports_per_pool() -> TestResult {
    let f = Fixture::new().await?;
    let down = JwksServer::start(json!({})).await?;
    down.set_reply(Reply::Status(500));
    let down_pool = json!({
        "region": "us-east-1",
        "userpool_id": "us-east-1_Down",
        "app_client_id": "x",
        "jwks_url": down.base_url(),
    });
    let yaml = settings_yaml("", &[("main", f.pool()), ("down", down_pool)])?;
    let report = CognitoAuth::new(&CognitoSettings::from_yaml_str(&yaml)?)?
        .prefetch()
        .await;
    assert_eq!(report.len(), 2);
    assert_eq!(
        (report[0].pool.as_str(), report[0].result.as_ref().ok()),
        ("main", Some(&1))
    );
    assert_eq!(report[1].pool, "down");
    assert_eq!(
        report[1].result.as_ref().err().map(|e| e.kind()),
        Some(ErrorKind::JwksUnavailable)
    );
    assert_eq!(down.hits(), 1, "both AWS issuer forms share the one URL: one fetch");
    Ok(())
}

#[tokio::test]
async fn a_file_url_and_an_inline_jwks_need_no_network() -> TestResult {
    let key = SigningKey::generate("file-key")?;
    let issuer = "http://127.0.0.1:9/pool_1";
    let path = std::env::temp_dir().join(format!("cognito-core-jwks-{}.json", std::process::id()));
    std::fs::write(&path, jwks(&[&key]).to_string())?;
    let file_url = format!("file://{}", path.display());
    let token = key.sign(&cognito_testkit::access_claims(issuer, "c"))?;
    let from_file = CognitoSettings::from_yaml_str(&format!(
        "userpools:\n  p:\n    region: eu-west-1\n    userpool_id: pool_1\n    app_client_id: c\n    issuer: {issuer}\n    jwks_url: {file_url}\n"
    ))?;
    assert_eq!(kind_of(&Verifier::new(&from_file)?, &token).await, None);
    let inline = CognitoSettings::from_json_str(
        &json!({"userpools": {"p": {"region": "eu-west-1", "userpool_id": "pool_1", "app_client_id": "c",
            "issuer": issuer, "jwks_inline": jwks(&[&key])}}})
        .to_string(),
    )?;
    let v = Verifier::new(&inline)?;
    assert_eq!(kind_of(&v, &token).await, None);
    let stranger = SigningKey::generate("other")?.sign(&cognito_testkit::access_claims(issuer, "c"))?;
    assert_eq!(kind_of(&v, &stranger).await, Some(ErrorKind::UnknownKid));
    std::fs::remove_file(&path)?;

    // Without an issuer override both AWS issuer forms are trusted; an inline set is one key
    // set for both (loaded once, counted once), and verifies tokens of either form.
    let aws = CognitoSettings::from_json_str(
        &json!({"userpools": {"p": {"region": "eu-west-1", "userpool_id": "eu-west-1_P", "app_client_id": "c",
            "jwks_inline": jwks(&[&key])}}})
        .to_string(),
    )?;
    let v = Verifier::new(&aws)?;
    assert_eq!(v.prefetch().await?, 1);
    for issuer in [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_P",
        "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_P",
    ] {
        let token = key.sign(&cognito_testkit::access_claims(issuer, "c"))?;
        assert_eq!(kind_of(&v, &token).await, None, "{issuer}");
    }
    Ok(())
}

#[tokio::test]
async fn the_callers_http_client_fetches_the_keys() -> TestResult {
    let key = SigningKey::generate("own-client-key")?;
    let server = JwksServer::start(jwks(&[&key])).await?;
    // A host name only the caller's client can reach: its resolver override points it at the
    // server on 127.0.0.1 (`.invalid` never resolves anywhere else).
    let host = "keys.invalid";
    let issuer = server.issuer("pool_1");
    let url = server.jwks_url("pool_1").replace("127.0.0.1", host);
    let settings = CognitoSettings::from_yaml_str(&format!(
        "allow_insecure_jwks_url: true\nuserpools:\n  p:\n    region: eu-west-1\n    userpool_id: pool_1\n    app_client_id: c\n    issuer: {issuer}\n    jwks_url: {url}\n"
    ))?;
    let client = reqwest::Client::builder().resolve(host, server.addr()).build()?;
    let auth = CognitoAuth::with_http_client(&settings, client)?;
    let token = key.sign(&cognito_testkit::access_claims(&issuer, "c"))?;
    assert_eq!(kind_of(auth.default_pool(), &token).await, None);
    assert_eq!(server.hits(), 1);
    // A cache of its own: a verifier without the client does not reuse those keys.
    let plain = CognitoAuth::new(&settings)?;
    assert_eq!(plain.default_pool().health().sources[0].keys, 0);
    Ok(())
}
