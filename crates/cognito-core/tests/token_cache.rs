//! The verified-token cache (`token_cache:`), against a real JWKS server on 127.0.0.1 with real
//! RSA keys and real tokens. No test here measures speed; they pin down what a hit may serve.
//! A token is remembered at its second verification, so it is a hit from its third on.

mod common;

use std::time::Duration;

use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, ErrorKind, Require, Verifier};
use cognito_testkit::{SigningKey, jwks, now};
use common::{CLIENT_A, CLIENT_B, Fixture, TestResult, kind_of, kind_with, settings_yaml, wait_for_hits};
use serde_json::json;

fn cache_hits(v: &Verifier) -> u64 {
    v.token_cache_stats().hits
}

#[tokio::test]
async fn a_repeated_token_is_served_from_the_cache_without_a_refetch() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let token = f.access_token()?;
    let stats = v.token_cache_stats();
    assert!(stats.enabled, "on by default");
    assert_eq!((stats.entries, stats.hits), (0, 0));
    let first: CognitoToken = v.verify(&token, Require::NONE).await?;
    assert_eq!(
        (v.token_cache_stats().entries, cache_hits(&v)),
        (0, 0),
        "seen once: not remembered"
    );
    let second: CognitoToken = v.verify(&token, Require::NONE).await?;
    assert_eq!(second, first);
    assert_eq!(
        (v.token_cache_stats().entries, cache_hits(&v)),
        (1, 0),
        "seen twice: remembered"
    );
    for n in 1..=3 {
        let again: CognitoToken = v.verify(&token, Require::NONE).await?;
        assert_eq!(again, first, "a hit yields the same claims");
        assert_eq!(cache_hits(&v), n);
    }
    // The no-I/O entry point and the header entry point share the cache.
    let _: CognitoToken = v.verify_cached(&token, Require::NONE)?;
    let header = format!("Bearer {token}");
    let _: CognitoToken = v
        .authenticate(&[("authorization", header.as_bytes())], Require::NONE)
        .await?;
    assert_eq!(cache_hits(&v), 5);
    assert_eq!(v.token_cache_stats().entries, 1);
    assert_eq!(f.server.hits(), 1, "one JWKS fetch in all");
    Ok(())
}

#[tokio::test]
async fn an_entry_ends_at_the_tokens_exp() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut claims = f.access();
    claims["exp"] = json!(now() + 2);
    let token = f.sign(&claims)?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &token).await, None);
    }
    assert_eq!(cache_hits(&v), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::Expired));
    assert_eq!(cache_hits(&v), 1, "the expired entry did not serve");
    Ok(())
}

#[tokio::test]
async fn leeway_extends_an_entry_as_it_extends_the_token() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("leeway_seconds: 30")?;
    let mut claims = f.access();
    claims["exp"] = json!(now() - 5);
    let token = f.sign(&claims)?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &token).await, None);
    }
    assert_eq!(cache_hits(&v), 1);
    Ok(())
}

#[tokio::test]
async fn without_check_expiration_a_token_past_exp_is_verified_in_full_every_time() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("check_expiration: false")?;
    let mut claims = f.access();
    claims["exp"] = json!(now() - 60);
    let old = f.sign(&claims)?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &old).await, None, "accepted, as configured");
    }
    assert_eq!(v.token_cache_stats().entries, 0, "but never remembered");
    assert_eq!(cache_hits(&v), 0);
    // A token still within its exp is cached as usual.
    let fresh = f.access_token()?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &fresh).await, None);
    }
    assert_eq!(cache_hits(&v), 1);
    Ok(())
}

#[tokio::test]
async fn a_key_removed_at_a_refresh_ends_its_entries() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  refresh_secs: 1")?;
    let token = f.access_token()?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &token).await, None);
    }
    assert_eq!(cache_hits(&v), 1);
    // Rotate: key-1 leaves the JWKS.
    let next = SigningKey::generate("key-2")?;
    f.server.set_jwks(jwks(&[&next]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The keys are due: this verification starts the background refresh (and may still be
    // served by the old key set, exactly as the full path would be while the refresh runs).
    let _ = kind_of(&v, &token).await;
    assert!(wait_for_hits(&f.server, 2).await, "the refresh happened");
    let hits_before = cache_hits(&v);
    assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::UnknownKid));
    assert_eq!(cache_hits(&v), hits_before, "the entry died with its key set");
    // The new key's tokens verify and are cached in turn.
    let fresh = next.sign(&f.access())?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &fresh).await, None);
    }
    assert_eq!(cache_hits(&v), hits_before + 1);
    Ok(())
}

#[tokio::test]
async fn new_key_material_under_the_same_kid_ends_its_entries() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("jwks:\n  refresh_secs: 1")?;
    let token = f.access_token()?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &token).await, None);
    }
    assert_eq!(cache_hits(&v), 1);
    let impostor = SigningKey::generate("key-1")?;
    f.server.set_jwks(jwks(&[&impostor]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = kind_of(&v, &token).await;
    assert!(wait_for_hits(&f.server, 2).await, "the refresh happened");
    assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::BadSignature));
    Ok(())
}

/// The token with the character at `at` (counted from the end) swapped for another letter.
fn tamper(token: &str, from_end: usize) -> Result<String, std::string::FromUtf8Error> {
    let at = token.len() - from_end;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes)
}

#[tokio::test]
async fn a_different_token_never_hits() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let token = f.access_token()?;
    assert_eq!(kind_of(&v, &token).await, None);
    assert_eq!(kind_of(&v, &token).await, None);
    assert_eq!(v.token_cache_stats().entries, 1);
    let dot = token.rfind('.').ok_or("no signature")?;
    // Signature only: in its middle, and inside the tail that locates the entry.
    let in_middle = tamper(&token, (token.len() - dot) / 2)?;
    let in_tail = tamper(&token, 10)?;
    // Claims only, same signature.
    let other_claims = {
        let first_dot = token.find('.').ok_or("no payload")?;
        tamper(&token, token.len() - first_dot - 20)?
    };
    for forged in [&in_middle, &in_tail, &other_claims] {
        assert_ne!(forged, &token);
        assert!(kind_of(&v, forged).await.is_some(), "{forged}");
    }
    assert_eq!(kind_of(&v, &in_middle).await, Some(ErrorKind::BadSignature));
    assert_eq!(kind_of(&v, &in_tail).await, Some(ErrorKind::BadSignature));
    assert_eq!(cache_hits(&v), 0);
    assert_eq!(v.token_cache_stats().entries, 1);
    // The genuine token still hits.
    assert_eq!(kind_of(&v, &token).await, None);
    assert_eq!(cache_hits(&v), 1);
    Ok(())
}

#[tokio::test]
async fn pools_never_share_entries() -> TestResult {
    let f = Fixture::new().await?;
    // Two pools with the same issuer and JWKS; only their app clients differ.
    let for_client = |client: &str| {
        let mut pool = f.pool();
        pool["app_client_id"] = json!(client);
        pool
    };
    let yaml = settings_yaml("", &[("a", for_client(CLIENT_A)), ("b", for_client(CLIENT_B))])?;
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&yaml)?)?;
    let (a, b) = (auth.pool("a").ok_or("a")?, auth.pool("b").ok_or("b")?);
    let token = f.access_token()?; // for client-a
    for _ in 0..3 {
        assert_eq!(kind_of(a, &token).await, None);
    }
    assert_eq!(cache_hits(a), 1);
    for _ in 0..2 {
        assert_eq!(kind_of(b, &token).await, Some(ErrorKind::WrongClient));
    }
    assert_eq!((b.token_cache_stats().entries, cache_hits(b)), (0, 0));
    Ok(())
}

#[derive(Debug, serde::Deserialize)]
struct Tenant {
    #[serde(rename = "custom:tenant")]
    #[allow(dead_code)]
    tenant: String,
}

#[tokio::test]
async fn requirements_and_the_claims_type_still_apply_on_a_hit() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut claims = f.access();
    claims["cognito:groups"] = json!(["users"]);
    claims["scope"] = json!("demo/read openid");
    let token = f.sign(&claims)?;
    assert_eq!(kind_of(&v, &token).await, None);
    assert_eq!(kind_of(&v, &token).await, None);
    assert_eq!(v.token_cache_stats().entries, 1);
    let cases = [
        (Require::NONE.any_group(&["admin"]), Some(ErrorKind::ForbiddenGroup)),
        (Require::NONE.any_group(&["admin", "users"]), None),
        (
            Require::NONE.any_scope(&["demo/write"]),
            Some(ErrorKind::ForbiddenScope),
        ),
        (Require::NONE.any_scope(&["demo/read"]), None),
        (
            Require::NONE.any_group(&["users"]).any_scope(&["demo/write"]),
            Some(ErrorKind::ForbiddenScope),
        ),
    ];
    for (n, (require, expected)) in cases.into_iter().enumerate() {
        assert_eq!(kind_with(&v, &token, require).await, expected, "case {n}");
        assert_eq!(cache_hits(&v), n as u64 + 1, "case {n} was a hit");
    }
    // A claims type the token does not fit: the same error as on the full path.
    let err = v
        .verify::<Tenant>(&token, Require::NONE)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert_eq!(
        err.message(),
        "The token's claims do not fit the claims type this service expects."
    );
    Ok(())
}

#[tokio::test]
async fn the_cache_can_be_switched_off() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("token_cache:\n  enabled: false")?;
    let token = f.access_token()?;
    for _ in 0..3 {
        assert_eq!(kind_of(&v, &token).await, None);
    }
    let stats = v.token_cache_stats();
    assert_eq!((stats.enabled, stats.entries, stats.hits), (false, 0, 0));
    Ok(())
}

#[tokio::test]
async fn the_bound_holds() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("token_cache:\n  max_entries: 3")?;
    let mut tokens = Vec::new();
    for i in 0..10 {
        let mut claims = f.access();
        claims["jti"] = json!(format!("token-{i}"));
        let token = f.sign(&claims)?;
        assert_eq!(kind_of(&v, &token).await, None);
        assert_eq!(kind_of(&v, &token).await, None);
        assert!(v.token_cache_stats().entries <= 3, "after {i} tokens");
        tokens.push(token);
    }
    assert_eq!(v.token_cache_stats().entries, 3);
    // The newest are kept, the oldest evicted.
    assert_eq!(kind_of(&v, &tokens[9]).await, None);
    assert_eq!(cache_hits(&v), 1);
    assert_eq!(kind_of(&v, &tokens[0]).await, None, "evicted, verified in full again");
    assert_eq!(cache_hits(&v), 1);
    Ok(())
}

/// A user who can write custom attributes can inflate their own tokens up to
/// `max_token_bytes`: the cache stays within `max_bytes` whatever the tokens weigh.
#[tokio::test]
async fn the_byte_bound_holds_for_inflated_tokens() -> TestResult {
    let f = Fixture::new().await?;
    let max_bytes = 1 << 20;
    let v = f.verifier(&format!("token_cache:\n  max_bytes: {max_bytes}"))?;
    for i in 0..40 {
        let mut claims = f.access();
        claims["jti"] = json!(format!("token-{i}"));
        // About 7 KB of small custom attributes: the parsed form weighs many times that.
        for a in 0..500 {
            claims[format!("custom:a{a}")] = json!(a);
        }
        let token = f.sign(&claims)?;
        assert!(token.len() < 16_384, "{}", token.len());
        assert_eq!(kind_of(&v, &token).await, None);
        assert_eq!(kind_of(&v, &token).await, None);
        let stats = v.token_cache_stats();
        assert!(
            stats.bytes <= max_bytes,
            "{} bytes in {} entries",
            stats.bytes,
            stats.entries
        );
    }
    let stats = v.token_cache_stats();
    assert!((1..40).contains(&stats.entries), "{} entries", stats.entries);
    assert!(
        stats.bytes > 100_000 * stats.entries / 2,
        "each entry is counted at its weight: {stats:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_token_seen_once_is_not_remembered() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    for i in 0..5 {
        let mut claims = f.access();
        claims["jti"] = json!(format!("once-{i}"));
        assert_eq!(kind_of(&v, &f.sign(&claims)?).await, None);
    }
    assert_eq!((v.token_cache_stats().entries, cache_hits(&v)), (0, 0));
    Ok(())
}

#[test]
fn settings_defaults_and_validation() -> TestResult {
    let pool = "userpools:\n  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}\n";
    let s = CognitoSettings::from_yaml_str(pool)?;
    assert!(s.token_cache.enabled);
    assert_eq!(s.token_cache.max_entries, 10_000);
    let err = CognitoSettings::from_yaml_str(&format!("token_cache:\n  max_entries: 0\n{pool}"))
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.field(), Some("token_cache.max_entries"));
    let off = CognitoSettings::from_yaml_str(&format!("token_cache: {{enabled: false, max_entries: 0}}\n{pool}"))?;
    assert!(!off.token_cache.enabled);
    let json = CognitoSettings::from_json_str(&serde_json::to_string(&off)?)?;
    assert_eq!(json.token_cache, off.token_cache, "round-trips");
    Ok(())
}
