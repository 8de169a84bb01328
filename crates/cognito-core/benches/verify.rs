//! Verification throughput, with the RSA floor measured in the same run.
//!
//! Run pinned to one core: `taskset -c 1 cargo bench -p cognito-core --bench verify`.
//! Every figure is "elements per second" (one element = one verification); the comparisons are
//! ratios between the groups of one run:
//! - `rsa_floor/aws_lc_verify_sig`: aws-lc-rs RSA-2048 PKCS#1 SHA-256 verify with the key
//!   parsed once (`ParsedPublicKey::verify_sig`) over the same 10,000 signing inputs;
//! - `valid/distinct_*`: 10,000 distinct valid RS256-2048 access tokens, round-robin (cache
//!   off, and on: every lookup a miss);
//! - `valid/repeated_*`: one token over and over (the verified-token cache's case);
//! - `reject/*`: tokens refused before any key lookup or RSA, among them the largest parses
//!   a client can ask for (`malformed_1700_header_names`, `malformed_16k_one_long_claim`).
//! - `tenants/*`: one token as a request through `CognitoAuth`, by a configured pool and by a
//!   live tenant (the tenant lookup's cost on a warm cache);
//! - `scaling/distinct_{1,2}_thread`: distinct tokens on one thread and on two sharing one
//!   verifier, by the wall clock (run unpinned: `benches/core.sh` does).
//!
//! Keys come from an inline JWKS (`jwks_inline`), so no I/O is ever measured.
//!
//! With `--features metrics` the bench installs the Prometheus recorder (as a service would)
//! and names the group `valid_metrics` instead of `valid`, so one run of each build puts the
//! rows side by side (`valid/repeated_cache_on` against `valid_metrics/repeated_cache_on`).
//!
//! For a load-independent comparison, `CALLGRIND_HITS=N` skips criterion and verifies one
//! token N times through the verified-token cache in `hit_loop`, for callgrind to count:
//!
//! ```text
//! CALLGRIND_HITS=100000 valgrind --tool=callgrind --toggle-collect='*hit_loop*' \
//!     target/release/deps/verify-<hash>      # built by cargo bench --no-run [--features metrics]
//! ```
//!
//! Time is the benchmark thread's CPU time (`/proc/thread-self/schedstat`, nanoseconds), not
//! wall time: on a machine shared with other work the figures stay "per CPU-second of one
//! core", like `openssl speed` (which divides by CPU user time unless given `-elapsed`).
//! Where that file is missing, wall time is used.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_core::settings::UserPool;
use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, Require, Requirement, Verified, Verifier};
use cognito_testkit::{SigningKey, access_claims, aws_issuer, jwks};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const POOL_ID: &str = "eu-west-1_Bench";
const CLIENT: &str = "bench-client";
/// How many distinct tokens the distinct-token benches cycle through (env `BENCH_TOKENS`
/// overrides it, e.g. for a quick run under `valgrind --tool=callgrind`).
const DISTINCT: usize = 10_000;

fn distinct() -> usize {
    std::env::var("BENCH_TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 2)
        .unwrap_or(DISTINCT)
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The calling thread's CPU time so far, in nanoseconds, if the kernel tells.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// criterion measurement: thread CPU time (falls back to wall time).
struct CpuTime;

static WALL: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = (Option<u64>, std::time::Instant);
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        (thread_cpu_ns(), std::time::Instant::now())
    }
    fn end(&self, (cpu, wall): Self::Intermediate) -> Duration {
        match (cpu, thread_cpu_ns()) {
            (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
            _ => wall.elapsed(),
        }
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

type Crit = Criterion<CpuTime>;

struct Setup {
    key: SigningKey,
    /// Distinct valid tokens (each its own `jti`, `sub`, `origin_jti` and `event_id`).
    tokens: Vec<String>,
    issuer: String,
}

fn distinct_claims(issuer: &str, i: usize) -> Value {
    let mut claims = access_claims(issuer, CLIENT);
    let id = format!("{i:08x}-0000-4000-8000-{i:012x}");
    claims["sub"] = json!(id);
    claims["jti"] = json!(format!("{i:08x}-1111-4111-8111-{i:012x}"));
    claims["origin_jti"] = json!(format!("{i:08x}-2222-4222-8222-{i:012x}"));
    claims["event_id"] = json!(format!("{i:08x}-3333-4333-8333-{i:012x}"));
    claims["username"] = json!(format!("user-{i}"));
    // Cognito access tokens of users in groups carry them; a realistic size (~1.2 KB).
    claims["cognito:groups"] = json!(["users", "beta-testers"]);
    claims["exp"] = json!(cognito_testkit::now() + 24 * 3600);
    claims
}

fn setup() -> BoxResult<Setup> {
    let key = SigningKey::generate("bench-key-1")?;
    let issuer = aws_issuer(REGION, POOL_ID);
    let tokens = (0..distinct())
        .map(|i| key.sign(&distinct_claims(&issuer, i)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Setup { key, tokens, issuer })
}

/// A verifier for the bench pool with an inline JWKS; `token_cache` is YAML for that section.
fn verifier(key: &SigningKey, token_cache: &str) -> BoxResult<Verifier> {
    let mut pool = UserPool::new("bench", REGION, POOL_ID, [CLIENT]);
    pool.token_use = cognito_core::settings::TokenUse::Access;
    pool.jwks_inline = Some(jwks(&[key]));
    let mut settings = CognitoSettings::new(vec![pool]);
    if !token_cache.is_empty() {
        settings.token_cache = serde_yaml_like(token_cache)?;
    }
    Ok(Verifier::new(&settings)?)
}

/// `enabled: false` / `max_entries: N` as a `TokenCacheSettings` (JSON keeps the bench free of YAML).
fn serde_yaml_like(spec: &str) -> BoxResult<cognito_core::settings::TokenCacheSettings> {
    Ok(serde_json::from_str(spec)?)
}

fn rsa_floor(c: &mut Crit, s: &Setup) -> BoxResult<()> {
    let jwk = s.key.jwk();
    let component =
        |name: &str| -> BoxResult<Vec<u8>> { Ok(URL_SAFE_NO_PAD.decode(jwk[name].as_str().ok_or("no n / e")?)?) };
    let (n, e) = (component("n")?, component("e")?);
    let parsed: ParsedPublicKey = RsaPublicKeyComponents { n: &n[..], e: &e[..] }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| "bad key")?;
    let pairs = s
        .tokens
        .iter()
        .map(|t| -> BoxResult<(String, Vec<u8>)> {
            let (input, sig) = t.rsplit_once('.').ok_or("no signature")?;
            Ok((input.to_owned(), URL_SAFE_NO_PAD.decode(sig)?))
        })
        .collect::<BoxResult<Vec<_>>>()?;
    let mut group = c.benchmark_group("rsa_floor");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("aws_lc_verify_sig", |b| {
        b.iter(|| {
            let (input, sig) = &pairs[i % pairs.len()];
            i += 1;
            black_box(parsed.verify_sig(black_box(input.as_bytes()), black_box(sig))).is_ok()
        })
    });
    group.finish();
    Ok(())
}

fn valid(c: &mut Crit, s: &Setup) -> BoxResult<()> {
    let no_cache = verifier(&s.key, r#"{"enabled": false}"#)?;
    // The cache on, with a thousandth as many entries as tokens, cycled in order: the tokens
    // that pass the second-sight filter (~9% of a 10,000-token cycle) are inserted and evicted
    // (FIFO) long before they come back, so every lookup misses (the hit count is printed).
    let small_cache = verifier(
        &s.key,
        &format!(r#"{{"max_entries": {}}}"#, (s.tokens.len() / 1000).max(1)),
    )?;
    let default = verifier(&s.key, "")?;
    for v in [&no_cache, &small_cache, &default] {
        // Every token must verify, or the figures mean nothing.
        for t in s.tokens.iter().take(100) {
            v.verify_cached::<CognitoToken>(t, Require::NONE)?;
        }
    }
    let mut group = c.benchmark_group(if cfg!(feature = "metrics") {
        "valid_metrics"
    } else {
        "valid"
    });
    group.throughput(Throughput::Elements(1));
    for (name, v) in [("distinct_cache_off", &no_cache), ("distinct_cache_on", &small_cache)] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let t = &s.tokens[i % s.tokens.len()];
                i += 1;
                v.verify_cached::<CognitoToken>(black_box(t), Require::NONE).is_ok()
            })
        });
    }
    let stats = small_cache.token_cache_stats();
    eprintln!(
        "distinct_cache_on: {} hits, {} entries (every lookup should miss)",
        stats.hits, stats.entries
    );
    let one = &s.tokens[0];
    group.bench_function("repeated_cache_off", |b| {
        b.iter(|| {
            no_cache
                .verify_cached::<CognitoToken>(black_box(one), Require::NONE)
                .is_ok()
        })
    });
    group.bench_function("repeated_cache_on", |b| {
        b.iter(|| {
            default
                .verify_cached::<CognitoToken>(black_box(one), Require::NONE)
                .is_ok()
        })
    });
    group.bench_function("repeated_cache_on_with_group_requirement", |b| {
        let require = Require::NONE.any_group(&["admin", "users"]);
        b.iter(|| default.verify_cached::<CognitoToken>(black_box(one), require).is_ok())
    });
    group.bench_function("repeated_cache_on_claims_ignored", |b| {
        b.iter(|| {
            default
                .verify_cached::<serde::de::IgnoredAny>(black_box(one), Require::NONE)
                .is_ok()
        })
    });
    group.finish();
    Ok(())
}

fn reject(c: &mut Crit, s: &Setup) -> BoxResult<()> {
    let v = verifier(&s.key, "")?;
    let now = cognito_testkit::now();
    let with = |field: &str, value: Value| -> BoxResult<String> {
        let mut claims = distinct_claims(&s.issuer, 1);
        claims[field] = value;
        Ok(s.key.sign(&claims)?)
    };
    let valid = &s.tokens[0];
    // The payload segment with one character that is not base64url.
    let bad_base64 = {
        let dot = valid.find('.').ok_or("no dot")?;
        let mut t = valid.clone();
        t.replace_range(dot + 40..dot + 41, "!");
        t
    };
    // The costliest parses an unauthenticated client can ask for, each about 16 KB (under
    // max_token_bytes): a header of 1,700 distinct two-letter member names (refused at its
    // member cap), claims of 1,700 distinct names (no cap: each name is checked against the
    // others, in linear time, then refused for the missing exp), and one long claim.
    let letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let names: Vec<String> = (0..1_700)
        .map(|i| {
            let (a, b) = (letters[i / letters.len()], letters[i % letters.len()]);
            format!("\"{}{}\":0", a as char, b as char)
        })
        .collect();
    let many_names = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"RS256\",\"kid\":\"k\",{}}}", names.join(","))),
        URL_SAFE_NO_PAD.encode("{}")
    );
    let one_long_claim = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#),
        URL_SAFE_NO_PAD.encode(format!("{{\"x\":\"{}\"}}", "a".repeat(12_000)))
    );
    let many_claims = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#),
        URL_SAFE_NO_PAD.encode(format!("{{{}}}", names.join(",")))
    );
    for t in [&many_names, &many_claims, &one_long_claim] {
        assert!(t.len() <= 16_384, "{}", t.len());
    }
    let cases = [
        ("malformed_not_three_parts", "not-a-jwt".to_owned()),
        ("malformed_bad_base64", bad_base64),
        ("malformed_1700_header_names", many_names),
        ("malformed_1700_claim_names", many_claims),
        ("malformed_16k_one_long_claim", one_long_claim),
        ("expired", with("exp", json!(now - 10))?),
        (
            "wrong_issuer",
            with("iss", json!(aws_issuer(REGION, "eu-west-1_Other")))?,
        ),
        ("wrong_client", with("client_id", json!("someone-else"))?),
    ];
    let mut group = c.benchmark_group("reject");
    group.throughput(Throughput::Elements(1));
    for (name, token) in &cases {
        // Make sure each case fails with its kind.
        let kind = v
            .verify_cached::<CognitoToken>(token, Require::NONE)
            .err()
            .map(|e| e.kind().as_str());
        let expected = name.split("_").take(if name.starts_with("malformed") { 1 } else { 2 });
        let expected = expected.collect::<Vec<_>>().join("_");
        assert_eq!(kind, Some(expected.as_str()), "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| {
                v.verify_cached::<CognitoToken>(black_box(token), Require::NONE)
                    .is_err()
            })
        });
    }
    group.finish();
    Ok(())
}

fn benches(c: &mut Crit) {
    let mut run = || -> BoxResult<()> {
        let s = setup()?;
        rsa_floor(c, &s)?;
        valid(c, &s)?;
        reject(c, &s)?;
        tenants(c, &s)?;
        scaling(c, &s)?;
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("bench setup failed: {e}");
        std::process::exit(1);
    }
}

/// A tenant's token on a warm cache (the tenant's verifier live, the token a verified-token
/// cache hit) against the same token through a configured pool, both as a request through
/// `CognitoAuth` on a current-thread runtime: the difference is the tenant lookup (reading the
/// token's `iss`, one map lookup).
fn tenants(c: &mut Crit, s: &Setup) -> BoxResult<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut pool = UserPool::new("bench", REGION, POOL_ID, [CLIENT]);
    pool.jwks_inline = Some(jwks(&[&s.key]));
    let fixed = CognitoAuth::new(&CognitoSettings::new(vec![pool.clone()]))?;
    // A tenant trusting the same issuer: the same token, served the tenant's way.
    let tenant = UserPool {
        name: "acme".to_owned(),
        ..pool
    };
    let with_tenants = fixed.clone().with_tenant_resolver(move |_: String| {
        let tenant = tenant.clone();
        async move { Ok::<_, String>(Some(tenant)) }
    });
    let request = [("authorization", format!("Bearer {}", s.tokens[0]))];
    let (default, any_tenant) = (Requirement::new(), Requirement::any_tenant());
    for (auth, requirement) in [(&fixed, &default), (&with_tenants, &any_tenant)] {
        let verified = runtime.block_on(auth.authenticate::<Verified>(request.as_slice(), requirement));
        verified.map_err(|e| format!("tenants bench setup: {}", e.summary()))?;
    }
    let mut group = c.benchmark_group("tenants");
    group.throughput(Throughput::Elements(1));
    for (name, auth, requirement) in [
        ("fixed_pool_request", &fixed, &default),
        ("tenant_request_warm", &with_tenants, &any_tenant),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime
                    .block_on(auth.authenticate::<Verified>(black_box(request.as_slice()), requirement))
                    .is_ok()
            })
        });
    }
    group.finish();
    Ok(())
}

/// `n` verifications of one token, every one a verified-token cache hit (the callgrind mode).
#[inline(never)]
fn hit_loop(v: &Verifier, token: &str, n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        ok += usize::from(v.verify_cached::<CognitoToken>(black_box(token), Require::NONE).is_ok());
    }
    ok
}

fn callgrind(n: usize) -> BoxResult<()> {
    let s = setup()?;
    let v = verifier(&s.key, "")?;
    let token = &s.tokens[0];
    // Two full verifications put the token in the cache; the loop is hits only.
    hit_loop(&v, token, 2);
    let hits_before = v.token_cache_stats().hits;
    let ok = hit_loop(&v, token, n);
    let hits = v.token_cache_stats().hits - hits_before;
    if ok != n || hits != n as u64 {
        return Err(format!("{ok} of {n} verified, {hits} hits: not the hit path").into());
    }
    eprintln!(
        "hit_loop: {n} verifications, all cache hits (metrics feature: {})",
        cfg!(feature = "metrics")
    );
    Ok(())
}

/// `threads` threads verifying `iters` distinct tokens between them (cache off: every one a
/// full verification), each thread its own slice of the tokens; the wall time.
fn verify_on_threads(v: &Verifier, tokens: &[String], threads: usize, iters: u64) -> Duration {
    let per_thread = iters.div_ceil(threads as u64) as usize;
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let v = v.clone();
            scope.spawn(move || {
                let offset = t * tokens.len() / threads;
                for i in 0..per_thread {
                    let token = &tokens[(offset + i) % tokens.len()];
                    black_box(v.verify_cached::<CognitoToken>(black_box(token), Require::NONE).is_ok());
                }
            });
        }
    });
    started.elapsed()
}

/// One thread against two, both timed by the wall clock over the same shared verifier (one
/// key cache, one parsed key), so a lock or a contended cache line on the hot path shows as
/// two threads doing less than twice the work. Run it unpinned, on an otherwise idle machine
/// with at least two cores.
fn scaling(c: &mut Crit, s: &Setup) -> BoxResult<()> {
    let v = verifier(&s.key, r#"{"enabled": false}"#)?;
    let mut group = c.benchmark_group("scaling");
    group.throughput(Throughput::Elements(1));
    for threads in [1, 2] {
        group.bench_function(format!("distinct_{threads}_thread"), |b| {
            b.iter_custom(|iters| verify_on_threads(&v, &s.tokens, threads, iters))
        });
    }
    group.finish();
    Ok(())
}

/// With the `metrics` feature, the Prometheus recorder a service would install; its handle
/// renders once at the end so the recording is not optimised away.
#[cfg(feature = "metrics")]
fn install_recorder() -> BoxResult<Option<metrics_exporter_prometheus::PrometheusHandle>> {
    Ok(Some(
        metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?,
    ))
}

#[cfg(not(feature = "metrics"))]
fn install_recorder() -> BoxResult<Option<()>> {
    Ok(None)
}

criterion_group! {
    name = verify;
    config = Criterion::default()
        .with_measurement(CpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = benches
}

fn main() {
    let recorder = match install_recorder() {
        Ok(recorder) => recorder,
        Err(e) => {
            eprintln!("cannot install the metrics recorder: {e}");
            std::process::exit(1);
        }
    };
    if let Some(n) = std::env::var("CALLGRIND_HITS").ok().and_then(|n| n.parse().ok()) {
        if let Err(e) = callgrind(n) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    } else {
        verify();
        Criterion::default().configure_from_args().final_summary();
    }
    #[cfg(feature = "metrics")]
    if let Some(handle) = recorder {
        let scrape = handle.render();
        eprintln!("metrics: {} lines rendered", scrape.lines().count());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = recorder;
}
