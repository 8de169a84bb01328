//! Hostile JWKS servers: every misbehaviour ends within the fetch deadline plus a margin, with
//! `jwks_unavailable` and an operator detail that says why, within the body cap, and without
//! touching keys that were cached before the server turned hostile. Plus a flood
//! of forged kids that must not turn into a flood of fetches.
//!
//! Everything runs against real servers on loopback addresses (127.0.0.1, and 127.0.0.2 as
//! "another host"), with real RSA keys and real tokens. The plain failures (500, non-JSON,
//! 20 MB bodies and a stall on a cold cache) are in tests/cache.rs; key problems (duplicate
//! kids, short keys, `oct` keys) in tests/verify.rs.

mod common;

use cognito_core::Require;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use cognito_core::{CognitoToken, ErrorKind};
use cognito_testkit::{JwksServer, Reply, SigningKey, b64, jwks};
use common::{Fixture, TestResult, eventually, kind_of};
use serde_json::json;

/// The fetch deadline every case runs with.
const DEADLINE: Duration = Duration::from_millis(1000);
/// How long past the deadline an answer may take on a loaded machine.
const MARGIN: Duration = Duration::from_millis(2000);
/// The body cap every case runs with.
const CAP: usize = 16 * 1024;

fn tuning(extra: &str) -> String {
    format!(
        "jwks:\n  timeout_ms: {}\n  max_bytes: {CAP}\n{extra}",
        DEADLINE.as_millis()
    )
}

/// One hostile behaviour and the words its operator detail must contain.
struct Case {
    /// The case's name, and the name of its test.
    name: &'static str,
    reply: Reply,
    detail: &'static str,
    /// Already covered on a cold cache by tests/cache.rs: run the warm-cache half only.
    warm_only: bool,
}

/// The cases that need nothing but the fixture's own server. Each has a test of its name
/// (see `one_test_per_case!`).
fn cases(jwks_text: &[u8]) -> Vec<Case> {
    let html = b"<!doctype html><html><head><title>Sign in</title></head><body>Wi-Fi login</body></html>".to_vec();
    vec![
        // Trickles the body at 1 byte/s.
        Case {
            name: "trickle",
            reply: Reply::Trickle {
                interval: Duration::from_secs(1),
            },
            detail: "took longer than",
            warm_only: false,
        },
        Case {
            name: "endless_body",
            reply: Reply::Endless,
            detail: "larger than",
            warm_only: false,
        },
        Case {
            name: "redirect_loop",
            reply: Reply::Redirect("/loop/.well-known/jwks.json".to_owned()),
            detail: "302",
            warm_only: false,
        },
        Case {
            name: "reset_mid_body",
            reply: Reply::ResetMidBody,
            detail: "reset",
            warm_only: false,
        },
        // A real JWKS under a wrong content type.
        Case {
            name: "wrong_content_type",
            reply: Reply::Body {
                content_type: "application/xml",
                body: jwks_text.to_vec(),
            },
            detail: "content type",
            warm_only: false,
        },
        // A captive portal's sign-in page.
        Case {
            name: "html_page_with_200",
            reply: Reply::Body {
                content_type: "text/html; charset=utf-8",
                body: html.clone(),
            },
            detail: "content type",
            warm_only: false,
        },
        // The same page, claiming to be JSON.
        Case {
            name: "html_page_labelled_json",
            reply: Reply::Body {
                content_type: "application/json",
                body: html,
            },
            detail: "not JSON",
            warm_only: false,
        },
        // Stalls before the headers.
        Case {
            name: "stall_with_cached_keys",
            reply: Reply::Stall,
            detail: "took longer than",
            warm_only: true,
        },
        // A 20 MB body, with and without its length.
        Case {
            name: "huge_declared_with_cached_keys",
            reply: Reply::Huge {
                bytes: 20 << 20,
                declare_length: true,
            },
            detail: "larger than",
            warm_only: true,
        },
        Case {
            name: "huge_undeclared_with_cached_keys",
            reply: Reply::Huge {
                bytes: 20 << 20,
                declare_length: false,
            },
            detail: "larger than",
            warm_only: true,
        },
    ]
}

/// What a client may have pulled off a bulk answer: the cap, plus what the kernel buffers on
/// both ends of a loopback connection hold (a few MB), far below the 20 MB or endless body.
const BULK_BOUND: usize = 16 << 20;

fn body_cap_held(server: &JwksServer, name: &str) {
    assert_eq!(
        server.huge_bodies_completed(),
        0,
        "{name}: a 20 MB body was read to the end"
    );
    assert!(
        server.bulk_bytes_sent() < BULK_BOUND,
        "{name}: the server got {} bytes out",
        server.bulk_bytes_sent()
    );
}

/// Cold cache: the first verification fetches from the hostile server and fails cleanly.
async fn cold(case: &Case) -> TestResult {
    let f = Fixture::new().await?;
    f.server.set_reply(case.reply.clone());
    let v = f.verifier(&tuning(""))?;
    let started = Instant::now();
    let err = v
        .verify::<CognitoToken>(&f.access_token()?, Require::NONE)
        .await
        .err()
        .ok_or(case.name)?;
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable, "{}: {err:?}", case.name);
    assert!(took < DEADLINE + MARGIN, "{}: took {took:?}", case.name);
    let detail = err
        .detail()
        .ok_or_else(|| format!("{}: no operator detail", case.name))?;
    assert!(detail.contains(case.detail), "{}: detail {detail:?}", case.name);
    assert_eq!((err.status(), err.retry_after_secs()), (503, Some(1)), "{}", case.name);
    body_cap_held(&f.server, case.name);
    println!(
        "hostile, cold cache: {}: {} in {took:?} ({detail}); {} bulk bytes left the server",
        case.name,
        err.kind().as_str(),
        f.server.bulk_bytes_sent()
    );
    Ok(())
}

/// Warm cache: good keys were prefetched, then the server turns hostile while a refresh is
/// due. Known tokens keep verifying from the cache (without waiting for the fetch), a kid the
/// cache lacks gets an honest `jwks_unavailable`, and once the server behaves again a rotated
/// key is picked up (the failure was never cached as an empty set).
async fn warm(case: &Case) -> TestResult {
    let name = case.name;
    let f = Fixture::new().await?;
    let v = f.verifier(&tuning("  refresh_secs: 1\n"))?;
    assert_eq!(v.prefetch().await?, 1);
    let known = f.access_token()?;
    let rotated = SigningKey::generate("key-2")?;
    let rotated_token = rotated.sign(&f.access())?;
    f.server.set_reply(case.reply.clone());
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // Due for refresh: answered from the cache; the refresh runs in the background.
    let started = Instant::now();
    assert_eq!(kind_of(&v, &known).await, None, "{name}");
    assert!(
        started.elapsed() < DEADLINE,
        "{name}: a cached key waited for the fetch"
    );
    let hits_before = f.server.hits();

    // A kid the cache lacks: waits at most for the one fetch in flight, then 503.
    let started = Instant::now();
    let err = v
        .verify::<CognitoToken>(&rotated_token, Require::NONE)
        .await
        .err()
        .ok_or("a token of an unpublished key verified")?;
    let took = started.elapsed();
    assert!(took < DEADLINE + MARGIN, "{name}: took {took:?}");
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable, "{name}: {err:?}");
    let detail = err.detail().ok_or_else(|| format!("{name}: no operator detail"))?;
    assert!(detail.contains(case.detail), "{name}: detail {detail:?}");
    assert!(
        f.server.hits() > hits_before || hits_before >= 2,
        "{name}: the refresh was tried"
    );

    // The good keys are untouched.
    for _ in 0..20 {
        assert_eq!(
            kind_of(&v, &known).await,
            None,
            "{name}: a cached key stopped verifying"
        );
    }
    body_cap_held(&f.server, name);

    // Recovery with a rotated key set: picked up once the backoff allows a fetch.
    f.server.set_jwks(jwks(&[&f.key, &rotated]));
    f.server.set_reply(Reply::Keys);
    let recovered = async || kind_of(&v, &rotated_token).await.is_none();
    let (within, every) = (Duration::from_secs(10), Duration::from_millis(100));
    assert!(
        eventually(within, every, recovered).await,
        "{name}: no recovery in {within:?}"
    );
    assert_eq!(kind_of(&v, &rotated_token).await, None, "{name}: no recovery");
    assert_eq!(kind_of(&v, &known).await, None, "{name}");
    println!(
        "hostile, warm cache: {name}: cached key kept verifying; unknown kid {} in {took:?} ({detail}); recovered",
        err.kind().as_str()
    );
    Ok(())
}

/// Runs the case of this name: cold cache (unless it is warm-only), then warm.
async fn run(name: &str) -> TestResult {
    let key = SigningKey::generate("probe")?;
    let text = jwks(&[&key]).to_string().into_bytes();
    let case = cases(&text)
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no case named {name}"))?;
    if !case.warm_only {
        cold(&case).await?;
    }
    warm(&case).await
}

/// A test per case, named after it, and a check that every case has one.
macro_rules! one_test_per_case {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() -> TestResult {
                run(stringify!($name)).await
            }
        )*

        #[test]
        fn every_case_has_a_test() {
            let mut cases: Vec<&str> = cases(b"{}").iter().map(|c| c.name).collect();
            let mut tests = vec![$(stringify!($name)),*];
            cases.sort_unstable();
            tests.sort_unstable();
            assert_eq!(cases, tests, "cases and tests");
        }
    };
}

one_test_per_case!(
    trickle,
    endless_body,
    redirect_loop,
    reset_mid_body,
    wrong_content_type,
    html_page_with_200,
    html_page_labelled_json,
    stall_with_cached_keys,
    huge_declared_with_cached_keys,
    huge_undeclared_with_cached_keys,
);

#[tokio::test]
async fn a_redirect_loop_costs_four_requests_per_fetch() -> TestResult {
    let f = Fixture::new().await?;
    f.server.set_reply(Reply::Redirect("/again".to_owned()));
    let v = f.verifier(&tuning(""))?;
    assert_eq!(kind_of(&v, &f.access_token()?).await, Some(ErrorKind::JwksUnavailable));
    assert_eq!(f.server.hits(), 4, "the first request and at most 3 redirects");
    Ok(())
}

/// A redirect to another host (127.0.0.2, or another port of 127.0.0.1) is never followed,
/// even when that host serves a perfectly good JWKS: the keys must come from where the
/// settings say. Cold and warm.
#[tokio::test]
async fn a_redirect_to_another_host_is_never_followed() -> TestResult {
    let f = Fixture::new().await?;
    let attacker = SigningKey::generate("key-1")?; // the victim's kid, the attacker's material
    let elsewhere = [
        JwksServer::start_on(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), jwks(&[&attacker])).await?,
        JwksServer::start(jwks(&[&attacker])).await?,
    ];
    for other in &elsewhere {
        let location = other.jwks_url(common::POOL_ID);
        let case = Case {
            name: "redirect_to_another_host",
            reply: Reply::Redirect(location.clone()),
            detail: "302",
            warm_only: false,
        };
        cold(&case).await?;
        warm(&case).await?;
        assert_eq!(other.hits(), 0, "{location} was asked for keys");
        // And the attacker's token under the victim's kid never verifies on the way.
        let v = f.verifier(&tuning(""))?;
        f.server.set_reply(case.reply.clone());
        let forged = attacker.sign(&f.access())?;
        assert_eq!(kind_of(&v, &forged).await, Some(ErrorKind::JwksUnavailable));
        assert_eq!(other.hits(), 0);
        f.server.set_reply(Reply::Keys);
    }
    Ok(())
}

/// A JWKS under a generic file type (what S3 or a static file server may send) or a JSON
/// subtype is fine: only types that say "this is not a key set" are refused.
#[tokio::test]
async fn generic_and_json_content_types_are_accepted() -> TestResult {
    for content_type in [
        "application/json; charset=utf-8",
        "application/jwk-set+json",
        "text/plain",
        "application/octet-stream",
        "binary/octet-stream",
    ] {
        let f = Fixture::new().await?;
        f.server.set_reply(Reply::Body {
            content_type,
            body: jwks(&[&f.key]).to_string().into_bytes(),
        });
        let v = f.verifier(&tuning(""))?;
        assert_eq!(kind_of(&v, &f.access_token()?).await, None, "{content_type}");
    }
    Ok(())
}

/// 10,000 tokens with random kids, a valid issuer and valid claims (so they pass every check
/// that needs no key and reach the key lookup), sent over about 8 s by 8 concurrent clients:
/// at most one JWKS fetch per cool-down, every one answered `unknown_kid`, and the real
/// users' tokens keep verifying throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_kid_flood_fetches_at_most_once_per_cool_down() -> TestResult {
    const TOKENS: usize = 10_000;
    const CLIENTS: usize = 8;
    const COOL_DOWN_SECS: u64 = 3;
    const SPREAD: Duration = Duration::from_secs(7);

    let f = Fixture::new().await?;
    let v = f.verifier(&format!("jwks:\n  cooldown_secs: {COOL_DOWN_SECS}\n"))?;
    assert_eq!(v.prefetch().await?, 1);
    let known = f.access_token()?;
    // The attacker has no key: one made-up signature serves every forged token.
    let claims = b64(f.access().to_string());
    let signature = b64([0x5au8; 256]);
    // Random-looking kids, new on every run: std's randomly keyed hasher over the index.
    let keyed = RandomState::new();
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            let kid = format!("{:016x}{:016x}", keyed.hash_one((i, 0)), keyed.hash_one((i, 1)));
            let header = json!({"alg": "RS256", "kid": kid});
            format!("{}.{claims}.{signature}", b64(header.to_string()))
        })
        .collect();

    let before = f.server.hits();
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for (c, chunk) in tokens.chunks(TOKENS / CLIENTS).enumerate() {
        let (v, chunk, known) = (v.clone(), chunk.to_vec(), known.clone());
        clients.spawn(async move {
            let pace = SPREAD / chunk.len() as u32;
            let mut kinds = std::collections::BTreeMap::<&'static str, usize>::new();
            for (i, token) in chunk.iter().enumerate() {
                let kind = v
                    .verify::<CognitoToken>(token, Require::NONE)
                    .await
                    .err()
                    .map(|e| e.kind().as_str());
                *kinds.entry(kind.unwrap_or("verified")).or_default() += 1;
                if i % 100 == c {
                    // A real user among the attackers.
                    let ok = v.verify::<CognitoToken>(&known, Require::NONE).await.is_ok();
                    *kinds.entry(if ok { "known ok" } else { "known failed" }).or_default() += 1;
                }
                tokio::time::sleep(pace).await;
            }
            kinds
        });
    }
    let mut kinds = std::collections::BTreeMap::<&'static str, usize>::new();
    while let Some(result) = clients.join_next().await {
        for (kind, n) in result? {
            *kinds.entry(kind).or_default() += n;
        }
    }
    let elapsed = started.elapsed();
    let fetches = f.server.hits() - before;
    let allowed = (elapsed.as_secs() / COOL_DOWN_SECS + 1) as usize;
    println!(
        "forged-kid flood: {TOKENS} tokens in {elapsed:?}, {fetches} JWKS fetches (at most {allowed} allowed, cool-down {COOL_DOWN_SECS} s), outcomes {kinds:?}"
    );
    assert!(elapsed < Duration::from_secs(30), "the flood ran {elapsed:?}");
    assert_eq!(kinds.get("unknown_kid"), Some(&TOKENS), "{kinds:?}");
    assert_eq!(kinds.get("known failed"), None, "{kinds:?}");
    assert!(kinds.get("known ok").is_some_and(|n| *n > 0), "{kinds:?}");
    assert!(fetches >= 1, "the first unknown kid refetched");
    assert!(fetches <= allowed, "{fetches} fetches in {elapsed:?}");
    // Still healthy afterwards.
    assert_eq!(kind_of(&v, &known).await, None);
    Ok(())
}
