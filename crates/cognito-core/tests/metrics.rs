//! The `metrics` feature: a test recorder (installed once for this binary) sees each counter,
//! gauge and the histogram move as they should, against real JWKS servers on 127.0.0.1 with
//! real tokens. Every test uses its own pool name and JWKS server, so its series are its own.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cognito_core::{CognitoAuth, CognitoToken, ErrorKind, Require};
use cognito_testkit::{Reply, SigningKey, jwks};
use common::{Fixture, POOL_ID, TestResult, settings_yaml};
use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::json;

/// Samples of one histogram.
#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        if let Ok(mut samples) = self.0.lock() {
            samples.push(value);
        }
    }
}

/// Every series by name and sorted labels; values are read without resetting them.
#[derive(Default)]
struct TestRecorder {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<HashMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<String, Arc<Samples>>>,
}

/// `name{a="x",b="y"}`, labels sorted: the series' identity.
fn series(key: &Key) -> String {
    let mut labels: Vec<String> = key.labels().map(|l| format!("{}={:?}", l.key(), l.value())).collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut map = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        Counter::from_arc(Arc::clone(map.entry(series(key)).or_default()))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut map = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        Gauge::from_arc(Arc::clone(map.entry(series(key)).or_default()))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut map = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        Histogram::from_arc(Arc::clone(map.entry(series(key)).or_default()))
    }
}

/// The recorder of this test binary, installed at first use.
fn recorder() -> Result<&'static TestRecorder, &'static str> {
    static RECORDER: OnceLock<Option<&'static TestRecorder>> = OnceLock::new();
    let installed = RECORDER.get_or_init(|| {
        let recorder: &'static TestRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(Proxy(recorder)).ok().map(|()| recorder)
    });
    installed.ok_or("another recorder is installed")
}

/// Installs the leaked recorder by reference.
struct Proxy(&'static TestRecorder);

impl Recorder for Proxy {
    fn describe_counter(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_counter(k, u, d)
    }
    fn describe_gauge(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_gauge(k, u, d)
    }
    fn describe_histogram(&self, k: KeyName, u: Option<Unit>, d: SharedString) {
        self.0.describe_histogram(k, u, d)
    }
    fn register_counter(&self, key: &Key, m: &Metadata<'_>) -> Counter {
        self.0.register_counter(key, m)
    }
    fn register_gauge(&self, key: &Key, m: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(key, m)
    }
    fn register_histogram(&self, key: &Key, m: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(key, m)
    }
}

impl TestRecorder {
    /// A counter's value; `None` if never registered.
    fn counter(&self, series: &str) -> Option<u64> {
        let map = self.counters.lock().ok()?;
        map.get(series).map(|c| c.load(Ordering::Relaxed))
    }

    fn gauge(&self, series: &str) -> Option<f64> {
        let map = self.gauges.lock().ok()?;
        map.get(series).map(|g| f64::from_bits(g.load(Ordering::Relaxed)))
    }

    fn histogram(&self, series: &str) -> Vec<f64> {
        let map = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        map.get(series)
            .and_then(|h| h.0.lock().ok().map(|s| s.clone()))
            .unwrap_or_default()
    }
}

fn verifications(pool: &str, result: &str) -> String {
    format!(r#"cognito_verifications_total{{pool="{pool}",result="{result}"}}"#)
}

/// An auth of one pool named `name`, from the fixture's server.
fn auth(fx: &Fixture, name: &str, extra: &str) -> Result<CognitoAuth, common::BoxError> {
    Ok(CognitoAuth::new(&cognito_core::CognitoSettings::from_yaml_str(
        &settings_yaml(extra, &[(name, fx.pool())])?,
    )?)?)
}

#[tokio::test]
async fn verification_counters_and_duration() -> TestResult {
    let rec = recorder()?;
    let fx = Fixture::new().await?;
    let auth = auth(&fx, "counted", "")?;
    let v = auth.default_pool();
    let expired: Vec<String> = (0..5)
        .map(|i| {
            let mut claims = fx.access();
            claims["exp"] = json!(cognito_testkit::now() - 10 - i);
            fx.sign(&claims)
        })
        .collect::<Result<_, _>>()?;
    for token in &expired {
        assert_eq!(common::kind_of(v, token).await, Some(ErrorKind::Expired));
    }
    // Every kind has its series from the first answer on, at zero until it happens.
    assert_eq!(rec.counter(&verifications("counted", "expired")), Some(5));
    for kind in ErrorKind::ALL.iter().filter(|k| **k != ErrorKind::Expired) {
        assert_eq!(rec.counter(&verifications("counted", kind.as_str())), Some(0), "{kind}");
    }
    assert_eq!(rec.counter(&verifications("counted", "ok")), Some(0));

    // One token four times: verified twice in full (the second remembers it), then two cache
    // hits; every answer counted as ok, the hits also as hits.
    let token = fx.access_token()?;
    for _ in 0..4 {
        let _: CognitoToken = v.verify(&token, Require::NONE).await?;
    }
    assert_eq!(rec.counter(&verifications("counted", "ok")), Some(4));
    assert_eq!(
        rec.counter(r#"cognito_token_cache_hits_total{pool="counted"}"#),
        Some(2)
    );
    assert_eq!(v.token_cache_stats().hits, 2);
    // A cache hit refused by the route's requirement is counted with its kind.
    let err = v
        .verify::<CognitoToken>(&token, cognito_core::Require::NONE.any_group(&["admin"]))
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::ForbiddenGroup);
    assert_eq!(rec.counter(&verifications("counted", "forbidden_group")), Some(1));
    assert_eq!(
        rec.counter(r#"cognito_token_cache_hits_total{pool="counted"}"#),
        Some(3)
    );
    // The header path counts too (missing_token), and each answer is one duration sample.
    let err = v
        .authenticate::<CognitoToken>(&http::HeaderMap::new(), cognito_core::Require::NONE)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::MissingToken);
    assert_eq!(rec.counter(&verifications("counted", "missing_token")), Some(1));
    // The verifications past the token cache are timed: the 5 expired tokens and the 2 full
    // verifications of the good one; neither cache hits nor the header's refusal are.
    let durations = rec.histogram(r#"cognito_verification_duration_seconds{pool="counted"}"#);
    assert_eq!(durations.len(), 5 + 2);
    assert!(durations.iter().all(|d| *d >= 0.0 && *d < 30.0), "{durations:?}");
    Ok(())
}

#[tokio::test]
async fn jwks_fetch_counters_and_gauges() -> TestResult {
    let rec = recorder()?;
    let fx = Fixture::new().await?;
    let source = fx.server.jwks_url(POOL_ID);
    let fetches = |result: &str| format!(r#"cognito_jwks_fetches_total{{result="{result}",source="{source}"}}"#);
    let keys = format!(r#"cognito_jwks_keys{{source="{source}"}}"#);
    let age = format!(r#"cognito_jwks_age_seconds{{source="{source}"}}"#);
    let auth = auth(&fx, "fetching", "")?;
    let v = auth.default_pool();
    assert_eq!(
        rec.counter(&fetches("ok")),
        None,
        "nothing registered before the first fetch"
    );

    let token = fx.access_token()?;
    let _: CognitoToken = v.verify(&token, Require::NONE).await?;
    assert_eq!(rec.counter(&fetches("ok")), Some(1));
    assert_eq!(rec.counter(&fetches("error")), Some(0));
    assert_eq!(rec.gauge(&keys), Some(1.0));
    let fresh = rec.gauge(&age).ok_or("no age gauge")?;
    assert!((0.0..1.0).contains(&fresh), "{fresh}");

    // The age moves with time: the health report (what a scrape asks first) sets it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let health = auth.health();
    assert!(health.is_ready());
    let older = rec.gauge(&age).ok_or("no age gauge")?;
    assert!((1.0..10.0).contains(&older), "{older}");
    assert_eq!(health.pools[0].age().map(|a| a.as_secs_f64()), Some(older));

    // A failed refresh: counted as an error; the old keys still serve, so the gauges stay.
    fx.server.set_reply(Reply::Status(500));
    assert!(v.refresh_keys().await.is_err());
    assert_eq!(rec.counter(&fetches("error")), Some(1));
    assert_eq!(rec.counter(&fetches("ok")), Some(1));
    assert_eq!(rec.gauge(&keys), Some(1.0));
    assert!(rec.gauge(&age).is_some_and(|a| a >= 1.0));

    // A rotation to two keys: the keys gauge follows, the age starts again.
    let (two, three) = (SigningKey::generate("key-2")?, SigningKey::generate("key-3")?);
    fx.server.set_jwks(jwks(&[&two, &three]));
    fx.server.set_reply(Reply::Keys);
    assert_eq!(v.refresh_keys().await?, 2);
    assert_eq!(rec.counter(&fetches("ok")), Some(2));
    assert_eq!(rec.gauge(&keys), Some(2.0));
    assert!(rec.gauge(&age).is_some_and(|a| a < 1.0));
    Ok(())
}

#[tokio::test]
async fn keys_past_max_stale_are_zero_keys_served() -> TestResult {
    let rec = recorder()?;
    let fx = Fixture::new().await?;
    let source = fx.server.jwks_url(POOL_ID);
    let keys = format!(r#"cognito_jwks_keys{{source="{source}"}}"#);
    let age = format!(r#"cognito_jwks_age_seconds{{source="{source}"}}"#);
    let auth = auth(&fx, "stale", "jwks: {refresh_secs: 1, max_stale_secs: 1}")?;
    let v = auth.default_pool();
    let token = fx.access_token()?;
    let _: CognitoToken = v.verify(&token, Require::NONE).await?;
    assert_eq!(rec.gauge(&keys), Some(1.0));
    fx.server.set_reply(Reply::Status(500));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Past max_stale_secs nothing is served: keys 0, the age keeps growing, not ready.
    let health = auth.health();
    assert!(!health.is_ready());
    assert_eq!(rec.gauge(&keys), Some(0.0));
    assert!(rec.gauge(&age).is_some_and(|a| a >= 1.0));
    assert_eq!(common::kind_of(v, &token).await, Some(ErrorKind::JwksUnavailable));
    assert_eq!(
        rec.counter(&format!(
            r#"cognito_jwks_fetches_total{{result="error",source="{source}"}}"#
        )),
        Some(1)
    );
    Ok(())
}

impl TestRecorder {
    /// Every series registered so far, of every type.
    fn all_series(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        if let Ok(map) = self.counters.lock() {
            all.extend(map.keys().cloned());
        }
        if let Ok(map) = self.gauges.lock() {
            all.extend(map.keys().cloned());
        }
        if let Ok(map) = self.histograms.lock() {
            all.extend(map.keys().cloned());
        }
        all
    }
}

/// A JWKS URL with a user, a password and a presigned query: the `source` label is the URL
/// without them.
#[tokio::test]
async fn the_source_label_holds_no_secret_of_the_url() -> TestResult {
    let rec = recorder()?;
    let fx = Fixture::new().await?;
    let plain = fx.server.jwks_url(POOL_ID);
    let secret = format!(
        "{}?X-Amz-Signature=s3cr3tsig#frag",
        plain.replacen("http://", "http://svc:hunter2@", 1)
    );
    let mut pool = fx.pool();
    pool["jwks_url"] = json!(secret);
    let auth = CognitoAuth::new(&cognito_core::CognitoSettings::from_yaml_str(&settings_yaml(
        "",
        &[("secretive", pool)],
    )?)?)?;
    fx.server.set_reply(Reply::Status(500));
    assert_eq!(
        common::kind_of(auth.default_pool(), &fx.access_token()?).await,
        Some(ErrorKind::JwksUnavailable)
    );
    let _ = auth.health();
    assert_eq!(
        rec.counter(&format!(
            r#"cognito_jwks_fetches_total{{result="error",source="{plain}"}}"#
        )),
        Some(1)
    );
    for series in rec.all_series() {
        for leak in ["hunter2", "svc:", "s3cr3tsig", "X-Amz-Signature", "#frag"] {
            assert!(!series.contains(leak), "{leak:?} in {series}");
        }
    }
    Ok(())
}

/// The load balancers' key fetches are counted under the key URL template, one series
/// whatever the kid, and their cache is the `alb` entry of the health report.
#[tokio::test]
async fn alb_key_fetches_are_counted_under_the_template() -> TestResult {
    use cognito_testkit::alb::{ALB_ARN, AlbKey, AlbKeyServer, alb_claims};
    let rec = recorder()?;
    let key = AlbKey::generate()?;
    let server = AlbKeyServer::start(&[&key]).await?;
    let template = server.key_url();
    let fx = Fixture::new().await?;
    let auth = CognitoAuth::new(&cognito_core::CognitoSettings::from_yaml_str(&settings_yaml(
        &format!("alb:\n  region: eu-west-1\n  arns: [{ALB_ARN}]\n  key_url: \"{template}\"\n"),
        &[("with-alb", fx.pool())],
    )?)?)?;
    let alb = auth.alb().ok_or("no alb")?;
    let fetches = |result: &str| format!(r#"cognito_jwks_fetches_total{{result="{result}",source="{template}"}}"#);
    // Before any token: ready (keys come per kid), none held.
    let before = auth.health();
    let entry = before.pools.iter().find(|p| p.pool == "alb").ok_or("no alb entry")?;
    assert!(entry.is_ready());
    assert_eq!((entry.keys(), entry.sources[0].source.as_str()), (0, template.as_str()));

    let token = key.sign(ALB_ARN, "client", &alb_claims("https://idp.example"))?;
    alb.verify::<cognito_core::alb::AlbClaims>(&token).await?;
    let stranger = AlbKey::generate()?.sign(ALB_ARN, "client", &alb_claims("https://idp.example"))?;
    assert_eq!(
        alb.verify::<cognito_core::alb::AlbClaims>(&stranger)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::UnknownKid)
    );
    // Two answers (a key, a 404): two fetches, counted as ok; one key held.
    assert_eq!(rec.counter(&fetches("ok")), Some(2));
    assert_eq!(rec.counter(&fetches("error")), Some(0));
    assert_eq!(
        rec.gauge(&format!(r#"cognito_jwks_keys{{source="{template}"}}"#)),
        Some(1.0)
    );
    assert!(
        rec.all_series().iter().all(|s| !s.contains(key.kid())),
        "a series per kid"
    );
    let after = auth.health();
    let entry = after.pools.iter().find(|p| p.pool == "alb").ok_or("no alb entry")?;
    assert!(entry.is_ready());
    assert_eq!((entry.keys(), entry.last_error()), (1, None));
    assert!(entry.age().is_some());
    // Every answer is counted under the pool name `alb`, a missing header too.
    let missing = alb
        .authenticate::<cognito_core::alb::AlbClaims>(std::iter::empty())
        .await;
    assert_eq!(missing.err().map(|e| e.kind()), Some(ErrorKind::MissingToken));
    let answers = |result: &str| format!(r#"cognito_verifications_total{{pool="alb",result="{result}"}}"#);
    assert_eq!(rec.counter(&answers("ok")), Some(1));
    assert_eq!(rec.counter(&answers("unknown_kid")), Some(1));
    assert_eq!(rec.counter(&answers("missing_token")), Some(1));
    // Another kid not held, within the cool-down the 404 started: refused without a fetch.
    let another = AlbKey::generate()?.sign(ALB_ARN, "client", &alb_claims("https://idp.example"))?;
    assert_eq!(
        alb.verify::<cognito_core::alb::AlbClaims>(&another)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::UnknownKid)
    );
    assert_eq!(rec.counter(&fetches("ok")), Some(2));
    assert_eq!(rec.counter(&answers("unknown_kid")), Some(2));
    Ok(())
}
