//! Outage soak, `#[ignore]`d: about 1.5 minutes of steady load through one verifier while its
//! JWKS server goes down for 60 s (30 s of 500s, then 30 s of stalls) and comes back with a
//! rotated key set. Run it with
//! `cargo test -p cognito-core --test soak -- --ignored --nocapture` (.ci/run does).
//!
//! What it proves, on a real server on 127.0.0.1 with real keys and tokens:
//! - 0 failed verifications of tokens whose key was cached, through refreshes that fail;
//! - fetch attempts during the outage stay within what the backoff (1 s doubling to 60 s)
//!   allows, however many requests arrive (printed);
//! - a token of the rotated-in key is refused with an honest `jwks_unavailable` during the
//!   outage, and accepted once the server is back: as soon as the backoff in force at the
//!   recovery lets one fetch through, and at the latest one cool-down after that.

mod common;

use cognito_core::Require;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cognito_core::{CognitoToken, ErrorKind};
use cognito_testkit::{Reply, SigningKey, jwks};
use common::{Fixture, TestResult, kind_of};

const WARM_UP: Duration = Duration::from_secs(6);
const OUTAGE_500: Duration = Duration::from_secs(30);
const OUTAGE_STALL: Duration = Duration::from_secs(30);
const REFRESH_SECS: u64 = 5;
const COOL_DOWN_SECS: u64 = 5;
const TIMEOUT_MS: u64 = 500;
/// Concurrent clients, each verifying a cached-key token every `PACE`.
const CLIENTS: usize = 4;
const PACE: Duration = Duration::from_millis(5);

/// How many fetches a source that is down for `outage` may get: one attempt, then one after
/// each backoff (1 s, doubling, at most 60 s) that ends inside the outage; plus one refresh
/// that may already be in flight when the outage starts.
fn backoff_bound(outage: Duration) -> usize {
    let (mut at, mut wait, mut attempts) = (Duration::ZERO, Duration::from_secs(1), 1);
    while at + wait <= outage {
        at += wait;
        attempts += 1;
        wait = (wait * 2).min(Duration::from_secs(60));
    }
    attempts + 1
}

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    failed: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "outage soak, about 1.5 minutes: cargo test -p cognito-core --test soak -- --ignored --nocapture"]
async fn an_outage_and_a_rotation_under_load() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier(&format!(
        "jwks:\n  timeout_ms: {TIMEOUT_MS}\n  refresh_secs: {REFRESH_SECS}\n  cooldown_secs: {COOL_DOWN_SECS}\n"
    ))?;
    assert_eq!(v.prefetch().await?, 1);
    let rotated = SigningKey::generate("key-2")?;
    let rotated_token = rotated.sign(&f.access())?;
    let mut cached_tokens = Vec::new();
    for user in ["alice", "bob", "carol", "dave"] {
        let mut claims = f.access();
        claims["username"] = serde_json::json!(user);
        cached_tokens.push(f.sign(&claims)?);
    }

    // Steady load on the cached key for the whole test (bounded: the stop flag, or 5 min).
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut load = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (v, stop, tally) = (v.clone(), Arc::clone(&stop), Arc::clone(&tally));
        let token = cached_tokens[c % cached_tokens.len()].clone();
        load.spawn(async move {
            let give_up = Instant::now() + Duration::from_secs(300);
            let mut first_failure = None;
            while !stop.load(Ordering::Relaxed) && Instant::now() < give_up {
                match v.verify::<CognitoToken>(&token, Require::NONE).await {
                    Ok(_) => tally.ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        first_failure.get_or_insert(e);
                        tally.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                tokio::time::sleep(PACE).await;
            }
            first_failure
        });
    }

    tokio::time::sleep(WARM_UP).await;

    // The outage: 500s, then stalls past the fetch deadline.
    let hits_before = f.server.hits();
    let outage_started = Instant::now();
    f.server.set_reply(Reply::Status(500));
    let mut outage_kinds = std::collections::BTreeMap::<&'static str, usize>::new();
    let mut retry_after = None;
    let outage = OUTAGE_500 + OUTAGE_STALL;
    let mut stalled = false;
    while outage_started.elapsed() < outage {
        if !stalled && outage_started.elapsed() >= OUTAGE_500 {
            f.server.set_reply(Reply::Stall);
            stalled = true;
        }
        // A token of the not-yet-published key, once every 250 ms.
        let err = v.verify::<CognitoToken>(&rotated_token, Require::NONE).await.err();
        let kind = err.as_ref().map_or("verified", |e| e.kind().as_str());
        *outage_kinds.entry(kind).or_default() += 1;
        if let Some(secs) = err.as_ref().and_then(|e| e.retry_after_secs()) {
            retry_after = Some(secs);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let outage_fetches = f.server.hits() - hits_before;

    // Recovery with a rotated key set (the new key published beside the old one, as Cognito
    // does during a rotation).
    f.server.set_jwks(jwks(&[&rotated, &f.key]));
    f.server.set_reply(Reply::Keys);
    let recovered = Instant::now();
    let backoff_left = Duration::from_secs(retry_after.unwrap_or(60));
    let limit = backoff_left + Duration::from_secs(COOL_DOWN_SECS) + Duration::from_secs(2);
    while kind_of(&v, &rotated_token).await.is_some() && recovered.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let accepted_after = recovered.elapsed();
    let rotated_ok = kind_of(&v, &rotated_token).await.is_none();
    tokio::time::sleep(Duration::from_secs(1)).await;

    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    while let Some(result) = load.join_next().await {
        failures.extend(result?);
    }
    let (ok, failed) = (tally.ok.load(Ordering::Relaxed), tally.failed.load(Ordering::Relaxed));
    let bound = backoff_bound(outage);
    println!("outage soak: {ok} verifications of cached-key tokens, {failed} failed");
    println!(
        "outage soak: {outage_fetches} JWKS fetch attempts during the {}s outage (backoff bound {bound})",
        outage.as_secs()
    );
    println!("outage soak: rotated-key token during the outage: {outage_kinds:?}");
    println!(
        "outage soak: rotated key accepted {accepted_after:?} after recovery (backoff left at recovery: {}s, cool-down {COOL_DOWN_SECS}s)",
        backoff_left.as_secs()
    );

    assert_eq!(failed, 0, "cached-key tokens failed: {failures:?}");
    assert!(ok > 1000, "the load ran ({ok})");
    assert!(outage_fetches >= 2, "refreshes were tried during the outage");
    assert!(outage_fetches <= bound, "{outage_fetches} fetches > {bound}");
    assert_eq!(
        outage_kinds.keys().copied().collect::<Vec<_>>(),
        [ErrorKind::JwksUnavailable.as_str()],
        "{outage_kinds:?}"
    );
    assert!(rotated_ok, "the rotated key was not accepted within {limit:?}");
    Ok(())
}

#[test]
fn the_backoff_bound_follows_the_doubling() {
    // Attempts at 0, 1, 3, 7, 15, 31 s fit in 60 s; plus one refresh in flight.
    assert_eq!(backoff_bound(Duration::from_secs(60)), 7);
    assert_eq!(backoff_bound(Duration::from_secs(0)), 2);
}
