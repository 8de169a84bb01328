//! The `tracing` events of the core, captured by a test subscriber: a cold fetch, a failed
//! refresh served stale, a rotation, a backoff, every kind of rejection, the spans that
//! name the pool, and the start-up warning about `AWS_COGNITO_KEYS_URL`. Real JWKS servers on
//! 127.0.0.1, real keys, real tokens; and no captured text holds any part of a token sent.

mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use cognito_core::settings::KEYS_URL_ENV;
use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, ErrorKind, Require, Verifier};
use cognito_testkit::{JwksServer, Reply, SigningKey, jwks};
use common::{BoxError, CLIENT_A, Fixture, POOL_ID, TestResult, settings_yaml};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// One captured event: its level, message, fields, and the fields of the spans around it.
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    message: String,
    fields: BTreeMap<String, String>,
    /// `name{field=value ...}` of each enclosing span, innermost first.
    spans: Vec<(String, BTreeMap<String, String>)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The value of `name` in the nearest enclosing span that has it.
    fn span_field(&self, name: &str) -> Option<&str> {
        self.spans.iter().find_map(|(_, f)| f.get(name)).map(String::as_str)
    }

    /// Everything a log line could print of this event.
    fn text(&self) -> String {
        format!("{self:?}")
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// A layer that keeps every event (and its spans' fields) in a shared list.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl Capture {
    fn events(&self) -> Vec<Captured> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }

    fn clear(&self) {
        if let Ok(mut events) = self.0.lock() {
            events.clear();
        }
    }

    /// The events with this message.
    fn with_message(&self, message: &str) -> Vec<Captured> {
        self.events().into_iter().filter(|e| e.message == message).collect()
    }

    /// Installs a subscriber holding this layer for the current thread, every level on.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        tracing::subscriber::set_default(subscriber)
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|span| {
                        let fields = span
                            .extensions()
                            .get::<Fields>()
                            .map(|f| f.0.clone())
                            .unwrap_or_default();
                        (span.name().to_owned(), fields)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(mut events) = self.0.lock() {
            events.push(Captured {
                level: *event.metadata().level(),
                message,
                fields: fields.0,
                spans,
            });
        }
    }
}

/// No captured text holds a token sent, any of its segments (16 characters or longer, so a
/// short segment cannot match by chance), or its signature.
fn assert_no_token_text(events: &[Captured], tokens: &[String]) {
    for event in events {
        let text = event.text();
        for token in tokens {
            assert!(!text.contains(token.as_str()), "a token in {text}");
            for segment in token.split(['.', ' ']).filter(|s| s.len() >= 16) {
                assert!(!text.contains(segment), "a token segment in {text}");
            }
        }
    }
}

#[tokio::test]
async fn cold_fetch_failed_refresh_rotation_and_backoff() -> TestResult {
    let capture = Capture::default();
    let _guard = capture.install();
    let fx = Fixture::new().await?;
    let url = fx.server.jwks_url(POOL_ID);
    let auth = CognitoAuth::new(&fx.settings("")?)?;
    let verifier = auth.default_pool();
    let token = fx.access_token()?;
    let mut sent = vec![token.clone()];

    // The cold fetch: debug, with the URL, the status, the key count and the time taken, in
    // the span of the verification that needed it (which names the pool).
    let _: CognitoToken = verifier.verify(&token, Require::NONE).await?;
    let fetched = capture.with_message("JWKS fetched");
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    let cold = &fetched[0];
    assert_eq!(cold.level, Level::DEBUG);
    assert_eq!(cold.field("url"), Some(url.as_str()));
    assert_eq!((cold.field("status"), cold.field("keys")), (Some("200"), Some("1")));
    assert!(cold.field("ms").is_some_and(|ms| ms.parse::<u64>().is_ok()), "{cold:?}");
    assert_eq!(cold.span_field("pool"), Some("main"));
    assert_eq!(
        cold.spans.first().map(|(name, _)| name.as_str()),
        Some("cognito_verify")
    );
    // The first key set is no change.
    assert!(capture.with_message("JWKS key set changed").is_empty());

    // A failed refresh while good keys are cached: warn with URL, error and age, then the
    // backoff, also warn; the old keys keep verifying. Run through CognitoAuth, whose span
    // names the pool.
    capture.clear();
    fx.server.set_reply(Reply::Status(500));
    let report = auth.refresh_keys().await;
    assert!(report[0].result.is_err());
    let failed = capture.with_message("JWKS fetch failed; serving the last good keys");
    assert_eq!(failed.len(), 1, "{:?}", capture.events());
    let failed = &failed[0];
    assert_eq!(failed.level, Level::WARN);
    assert_eq!(failed.field("url"), Some(url.as_str()));
    assert_eq!(
        failed.field("error"),
        Some("the JWKS server answered 500 Internal Server Error")
    );
    assert_eq!(failed.field("status"), Some("500"));
    assert_eq!(failed.field("age_secs"), Some("0"));
    assert_eq!(failed.span_field("pool"), Some("main"));
    assert_eq!(
        failed.spans.first().map(|(name, _)| name.as_str()),
        Some("cognito_pool")
    );
    let backoff = capture.with_message("JWKS fetches back off");
    assert_eq!(backoff.len(), 1);
    assert_eq!(backoff[0].level, Level::WARN);
    assert_eq!(
        (
            backoff[0].field("url"),
            backoff[0].field("retry_in_secs"),
            backoff[0].field("failures")
        ),
        (Some(url.as_str()), Some("1"), Some("1"))
    );
    let _: CognitoToken = verifier.verify(&token, Require::NONE).await?;
    // A second failure doubles the wait.
    capture.clear();
    assert!(auth.refresh_keys().await[0].result.is_err());
    let backoff = capture.with_message("JWKS fetches back off");
    assert_eq!(backoff.first().and_then(|e| e.field("retry_in_secs")), Some("2"));
    assert_eq!(backoff.first().and_then(|e| e.field("failures")), Some("2"));

    // A rotation: key-1 leaves, key-2 and key-3 arrive; info with the kids added and removed.
    capture.clear();
    let (two, three) = (SigningKey::generate("key-2")?, SigningKey::generate("key-3")?);
    fx.server.set_jwks(jwks(&[&three, &two]));
    fx.server.set_reply(Reply::Keys);
    assert_eq!(verifier.refresh_keys().await?, 2);
    let changed = capture.with_message("JWKS key set changed");
    assert_eq!(changed.len(), 1, "{:?}", capture.events());
    assert_eq!(changed[0].level, Level::INFO);
    assert_eq!(changed[0].field("url"), Some(url.as_str()));
    assert_eq!(changed[0].field("added"), Some(r#"["key-2", "key-3"]"#));
    assert_eq!(changed[0].field("removed"), Some(r#"["key-1"]"#));
    // The same set again is no change.
    capture.clear();
    assert_eq!(verifier.refresh_keys().await?, 2);
    assert!(capture.with_message("JWKS key set changed").is_empty());
    assert_eq!(capture.with_message("JWKS fetched").len(), 1);

    let rotated = two.sign(&fx.access())?;
    let _: CognitoToken = verifier.verify(&rotated, Require::NONE).await?;
    sent.push(rotated);
    assert_no_token_text(&capture.events(), &sent);
    Ok(())
}

#[tokio::test]
async fn a_cold_fetch_that_fails_has_no_keys_to_serve() -> TestResult {
    let capture = Capture::default();
    let _guard = capture.install();
    let fx = Fixture::new().await?;
    fx.server.set_reply(Reply::Status(503));
    let verifier = fx.verifier("")?;
    let token = fx.access_token()?;
    assert_eq!(
        common::kind_of(&verifier, &token).await,
        Some(ErrorKind::JwksUnavailable)
    );
    let failed = capture.with_message("JWKS fetch failed; no keys to serve");
    assert_eq!(failed.len(), 1, "{:?}", capture.events());
    assert_eq!(failed[0].level, Level::WARN);
    assert_eq!(failed[0].field("age_secs"), None);
    assert_eq!(failed[0].field("status"), Some("503"));
    assert_eq!(failed[0].span_field("pool"), Some("main"));
    // The request that found no keys is itself a rejection event.
    let rejected = capture.with_message("token rejected");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].field("kind"), Some("jwks_unavailable"));
    assert_eq!(
        rejected[0].field("detail"),
        Some("the JWKS server answered 503 Service Unavailable")
    );
    assert_no_token_text(&capture.events(), &[token]);
    Ok(())
}

/// Sends one request per kind; each gets one debug rejection event with the pool and kind.
#[tokio::test]
async fn every_kind_of_rejection_is_one_debug_event() -> TestResult {
    let capture = Capture::default();
    let _guard = capture.install();
    let key = SigningKey::generate("key-1")?;
    let unusable = key.with_kid("ec-key")?;
    let mut doc = jwks(&[&key]);
    if let Some(keys) = doc["keys"].as_array_mut() {
        keys.push(json!({"kty": "EC", "kid": "ec-key", "crv": "P-256", "x": "AA", "y": "AA"}));
    }
    let server = JwksServer::start(doc).await?;
    let issuer = server.issuer(POOL_ID);
    let down = JwksServer::start(jwks(&[&key])).await?;
    down.set_reply(Reply::Status(500));
    let pool = |server: &JwksServer| {
        json!({"region": "eu-west-1", "userpool_id": POOL_ID, "app_client_id": [CLIENT_A],
               "issuer": server.issuer(POOL_ID), "jwks_url": server.jwks_url(POOL_ID)})
    };
    let settings =
        CognitoSettings::from_yaml_str(&settings_yaml("", &[("main", pool(&server)), ("down", pool(&down))])?)?;
    let auth = CognitoAuth::new(&settings)?;
    let main = auth.default_pool();
    let down_pool = auth.pool("down").ok_or("no pool down")?;

    let claims = || cognito_testkit::access_claims(&issuer, CLIENT_A);
    let with = |name: &str, value: serde_json::Value| -> Result<String, BoxError> {
        let mut c = claims();
        c[name] = value;
        Ok(key.sign(&c)?)
    };
    let now = cognito_testkit::now();
    let valid = key.sign(&claims())?;
    let impostor = SigningKey::generate("key-1")?;
    let stranger = SigningKey::generate("stranger")?;
    let too_large = format!("{}.{}.{}", "a".repeat(9000), "b".repeat(9000), "c".repeat(100));
    let tokens: Vec<(ErrorKind, Verifier, Option<String>, Require<'static>)> = vec![
        (ErrorKind::MissingToken, main.clone(), None, Require::NONE),
        (
            ErrorKind::InvalidHeader,
            main.clone(),
            Some(format!("Basic {valid}")),
            Require::NONE,
        ),
        (
            ErrorKind::TooLarge,
            main.clone(),
            Some(format!("Bearer {too_large}")),
            Require::NONE,
        ),
        (
            ErrorKind::Malformed,
            main.clone(),
            Some("Bearer abcdefghijklmnopqrstu.vwxyz0123456789abcdef".into()),
            Require::NONE,
        ),
        (
            ErrorKind::UnsupportedAlg,
            main.clone(),
            Some(format!(
                "Bearer {}",
                key.sign_with_header(&json!({"alg": "HS256", "kid": "key-1"}), &claims())?
            )),
            Require::NONE,
        ),
        (
            ErrorKind::WrongIssuer,
            main.clone(),
            Some(format!("Bearer {}", with("iss", json!("https://elsewhere.test/pool"))?)),
            Require::NONE,
        ),
        (
            ErrorKind::WrongTokenUse,
            main.clone(),
            Some(format!("Bearer {}", with("token_use", json!("refresh"))?)),
            Require::NONE,
        ),
        (
            ErrorKind::WrongClient,
            main.clone(),
            Some(format!("Bearer {}", with("client_id", json!("someone-else"))?)),
            Require::NONE,
        ),
        (
            ErrorKind::Expired,
            main.clone(),
            Some(format!("Bearer {}", with("exp", json!(now - 60))?)),
            Require::NONE,
        ),
        (
            ErrorKind::NotYetValid,
            main.clone(),
            Some(format!("Bearer {}", with("nbf", json!(now + 600))?)),
            Require::NONE,
        ),
        (
            ErrorKind::UnknownKid,
            main.clone(),
            Some(format!("Bearer {}", stranger.sign(&claims())?)),
            Require::NONE,
        ),
        (
            ErrorKind::InvalidJwk,
            main.clone(),
            Some(format!("Bearer {}", unusable.sign(&claims())?)),
            Require::NONE,
        ),
        (
            ErrorKind::BadSignature,
            main.clone(),
            Some(format!("Bearer {}", impostor.sign(&claims())?)),
            Require::NONE,
        ),
        (
            ErrorKind::Revoked,
            main.clone(),
            Some(format!("Bearer {}", with("origin_jti", json!("a-revoked-session"))?)),
            Require::NONE,
        ),
        (
            ErrorKind::ForbiddenPrincipal,
            main.clone(),
            Some(format!("Bearer {valid}")),
            Require::NONE.principal(cognito_core::PrincipalKind::Machine),
        ),
        (
            ErrorKind::ForbiddenGroup,
            main.clone(),
            Some(format!("Bearer {valid}")),
            Require::NONE.any_group(&["admin"]),
        ),
        (
            ErrorKind::ForbiddenScope,
            main.clone(),
            Some(format!("Bearer {valid}")),
            Require::NONE.any_scope(&["demo/write"]),
        ),
        (
            ErrorKind::InsufficientUserAuthentication,
            main.clone(),
            Some(format!("Bearer {}", with("auth_time", json!(now - 600))?)),
            Require::NONE.max_auth_age_secs(60),
        ),
        (
            ErrorKind::JwksUnavailable,
            down_pool.clone(),
            Some(format!(
                "Bearer {}",
                key.sign(&cognito_testkit::access_claims(&down.issuer(POOL_ID), CLIENT_A))?
            )),
            Require::NONE,
        ),
        (
            ErrorKind::Rejected,
            main.clone().with_check(|_: &cognito_core::Verified| {
                Err(cognito_core::AuthError::rejected("This service refuses every token."))
            }),
            Some(format!("Bearer {valid}")),
            Require::NONE,
        ),
    ];
    assert_eq!(tokens.len(), ErrorKind::ALL.len());
    main.revocations()
        .memory()
        .ok_or("the built-in store")?
        .revoke_session("a-revoked-session");
    let mut sent = Vec::new();
    for (kind, verifier, header, require) in &tokens {
        capture.clear();
        let values: Vec<(&str, &[u8])> = header.iter().map(|h| ("authorization", h.as_bytes())).collect();
        let err = verifier
            .authenticate::<CognitoToken>(values.as_slice(), *require)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), *kind);
        let rejected = capture.with_message("token rejected");
        assert_eq!(rejected.len(), 1, "{kind}: {:?}", capture.events());
        let event = &rejected[0];
        assert_eq!(event.level, Level::DEBUG, "{kind}");
        assert_eq!(event.field("pool"), Some(verifier.pool()), "{kind}");
        assert_eq!(event.field("kind"), Some(kind.as_str()));
        assert_eq!(event.field("status"), Some(kind.status().to_string().as_str()));
        // Nothing else about the token: no kid, no claim.
        let names: Vec<&str> = event.fields.keys().map(String::as_str).collect();
        assert!(
            names.iter().all(|n| ["pool", "kind", "status", "detail"].contains(n)),
            "{names:?}"
        );
        sent.extend(header.iter().cloned());
        assert_no_token_text(&capture.events(), &sent);
    }
    // Every answer of the run, the fetches included, is free of token text, and no event
    // names the kid a token chose.
    for event in capture.events() {
        assert!(!event.text().contains("stranger"), "{event:?}");
    }
    // A success is no event at all (the path stays quiet).
    capture.clear();
    let _: CognitoToken = main.verify(&valid, Require::NONE).await?;
    assert!(capture.with_message("token rejected").is_empty());
    Ok(())
}

#[tokio::test]
async fn an_anonymous_request_is_no_rejection() -> TestResult {
    let capture = Capture::default();
    let _guard = capture.install();
    let fx = Fixture::new().await?;
    let verifier = fx.verifier("")?;
    let anonymous: Option<CognitoToken> = verifier
        .authenticate_optional(&http::HeaderMap::new(), Require::NONE)
        .await?;
    assert!(anonymous.is_none());
    assert!(capture.with_message("token rejected").is_empty());
    let err = verifier
        .authenticate_optional::<CognitoToken>(&[("authorization", &b"Bearer x.y"[..])], Require::NONE)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert_eq!(capture.with_message("token rejected").len(), 1);
    Ok(())
}

const CHILD: &str = "COGNITO_TEST_CHILD";

#[tokio::test]
async fn the_keys_url_env_override_is_a_start_up_warning() -> TestResult {
    let server = JwksServer::start(jwks(&[])).await?;
    let url = server.base_url() + "/shared.json";
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "child_warns_about_the_keys_url_override",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KEYS_URL_ENV, &url)
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
#[ignore = "child process of the_keys_url_env_override_is_a_start_up_warning"]
fn child_warns_about_the_keys_url_override() -> TestResult {
    std::env::var(CHILD)?;
    let url = std::env::var(KEYS_URL_ENV)?;
    let capture = Capture::default();
    let _guard = capture.install();
    let settings = CognitoSettings::from_yaml_str(
        "userpools:
  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
  emulator: {region: eu-west-1, userpool_id: eu-west-1_B, app_client_id: b, issuer: 'http://127.0.0.1:9229/eu-west-1_B'}
  own: {region: eu-west-1, userpool_id: eu-west-1_C, app_client_id: c, jwks_url: 'http://127.0.0.1:9/c.json'}
  us: {region: us-east-1, userpool_id: us-east-1_D, app_client_id: d}
",
    )?;
    let _auth = CognitoAuth::new(&settings)?;
    let warnings = capture.with_message(&format!(
        "{KEYS_URL_ENV} replaces the AWS keys of pools eu, us: whoever can publish keys at {url} can mint \
         tokens for each of them; give those pools their own jwks_url (or an issuer) unless that is intended"
    ));
    assert_eq!(warnings.len(), 1, "{:?}", capture.events());
    assert_eq!(warnings[0].level, Level::WARN);
    assert_eq!(warnings[0].field("pools"), Some(r#"["eu", "us"]"#));
    assert_eq!(warnings[0].field("url"), Some(url.as_str()));
    // A verifier of one such pool warns for that pool; one with its own URL does not.
    capture.clear();
    let _ = Verifier::for_pool(&settings, "us")?;
    assert_eq!(
        capture.events().iter().map(|e| e.field("pools")).collect::<Vec<_>>(),
        [Some(r#"["us"]"#)]
    );
    capture.clear();
    let _ = Verifier::for_pool(&settings, "own")?;
    let _ = Verifier::for_pool(&settings, "emulator")?;
    assert!(capture.events().is_empty(), "{:?}", capture.events());
    Ok(())
}

#[tokio::test]
async fn the_health_report_follows_the_key_caches() -> TestResult {
    let fx = Fixture::new().await?;
    let down = JwksServer::start(jwks(&[&fx.key])).await?;
    down.set_reply(Reply::Status(500));
    let down_pool = json!({"region": "eu-west-1", "userpool_id": POOL_ID, "app_client_id": [CLIENT_A],
                           "issuer": down.issuer(POOL_ID), "jwks_url": down.jwks_url(POOL_ID)});
    let settings = CognitoSettings::from_yaml_str(&settings_yaml(
        "jwks: {refresh_secs: 600}",
        &[("main", fx.pool()), ("down", down_pool)],
    )?)?;
    let auth = CognitoAuth::new(&settings)?;

    // Nothing fetched yet: no keys, no age, no error, a fetch may happen now.
    let before = auth.health();
    assert!(!before.is_ready());
    let main = &before.pools[0];
    assert_eq!(
        (main.pool.as_str(), main.keys(), main.age(), main.last_error()),
        ("main", 0, None, None)
    );
    assert_eq!(main.next_attempt_in(), Some(std::time::Duration::ZERO));
    assert_eq!(main.sources[0].source, fx.server.jwks_url(POOL_ID));
    assert_eq!(main.to_string(), "main: no keys (not fetched yet)");

    auth.prefetch().await;
    let after = auth.health();
    assert!(!after.is_ready(), "the pool down has no keys");
    let (main, down_health) = (&after.pools[0], &after.pools[1]);
    assert!(main.is_ready());
    assert_eq!((main.keys(), main.last_error()), (1, None));
    assert!(main.age().is_some_and(|a| a.as_secs() < 5));
    // Next: the refresh, due 600 s after the fetch.
    assert!(
        main.next_attempt_in()
            .is_some_and(|n| n.as_secs() > 590 && n.as_secs() <= 600)
    );
    assert!(!down_health.is_ready());
    assert_eq!(
        down_health.last_error(),
        Some("the JWKS server answered 500 Internal Server Error")
    );
    // The backoff after the first failure is 1 s.
    assert!(
        down_health
            .next_attempt_in()
            .is_some_and(|n| n <= std::time::Duration::from_secs(1))
    );
    assert_eq!(down_health.age(), None);
    let line = after.to_string();
    assert!(
        line.starts_with("not ready: main: 1 key, 0 s old; down: no keys (the JWKS server answered 500"),
        "{line}"
    );

    // A failed refresh of main: still ready (stale keys serve), with the error and the backoff.
    fx.server.set_reply(Reply::Status(502));
    assert!(auth.default_pool().refresh_keys().await.is_err());
    let main = auth.default_pool().health();
    assert!(main.is_ready());
    assert_eq!(main.last_error(), Some("the JWKS server answered 502 Bad Gateway"));
    assert!(
        main.next_attempt_in()
            .is_some_and(|n| n <= std::time::Duration::from_secs(1))
    );
    assert!(
        main.to_string()
            .contains("refresh failing: the JWKS server answered 502 Bad Gateway")
    );

    // Recovery clears the error.
    fx.server.set_reply(Reply::Keys);
    assert_eq!(auth.default_pool().refresh_keys().await?, 1);
    assert_eq!(auth.default_pool().health().last_error(), None);
    Ok(())
}

/// The secrets a key URL may carry: a user name and password, a presigned query, a fragment.
const SECRETS: [&str; 5] = ["svc:", "hunter2", "X-Amz-Signature", "s3cr3tsig", "#frag"];

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret:?} in the {what}: {text}");
    }
}

/// A port of 127.0.0.1 nobody listens on (bound, then let go).
fn refused_port() -> Result<u16, BoxError> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// `http://127.0.0.1:<port>/<path>` with a user and password before the host and a signed
/// query and a fragment after the path.
fn with_secrets(url: &str) -> String {
    format!(
        "{}?X-Amz-Signature=s3cr3tsig&X-Amz-Credential=AKIA#frag",
        url.replacen("http://", "http://svc:hunter2@", 1)
    )
}

/// Key URLs holding credentials and a presigned query, their fetches failing (a JWKS server
/// answering 500, a refused port for the JWKS and the load balancer's keys): the health
/// report, the prefetch report, the errors and every event show the URLs without them.
#[tokio::test]
async fn secrets_in_key_urls_are_never_shown() -> TestResult {
    let capture = Capture::default();
    let _guard = capture.install();
    let fx = Fixture::new().await?;
    fx.server.set_reply(Reply::Status(500));
    let failing_url = fx.server.jwks_url(POOL_ID);
    let refused = format!("http://127.0.0.1:{}/jwks.json", refused_port()?);
    let alb_refused = format!("http://127.0.0.1:{}/{{kid}}", refused_port()?);
    let pool = |url: &str| {
        json!({"region": "eu-west-1", "userpool_id": POOL_ID, "app_client_id": [CLIENT_A],
               "issuer": fx.issuer, "jwks_url": with_secrets(url)})
    };
    let alb = format!(
        "alb:\n  region: eu-west-1\n  arns: [{}]\n  key_url: \"{}\"\n",
        cognito_testkit::alb::ALB_ARN,
        with_secrets(&alb_refused)
    );
    let settings = CognitoSettings::from_yaml_str(&settings_yaml(
        &alb,
        &[("failing", pool(&failing_url)), ("refused", pool(&refused))],
    )?)?;
    let auth = CognitoAuth::new(&settings)?;
    let token = fx.access_token()?;

    let mut shown = Vec::new();
    for verifier in [auth.default_pool(), auth.pool("refused").ok_or("no pool")?] {
        let err = verifier
            .verify::<CognitoToken>(&token, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
        shown.push(format!("{err} / {err:?} / {:?}", err.detail()));
    }
    // The refused fetch's error names the failure, not the URL.
    assert!(shown[1].contains("the JWKS request failed"), "{}", shown[1]);
    let alb_key = cognito_testkit::alb::AlbKey::generate()?;
    let alb_token = alb_key.sign(
        cognito_testkit::alb::ALB_ARN,
        "client",
        &cognito_testkit::alb::alb_claims("https://idp.example"),
    )?;
    let alb_err = auth
        .alb()
        .ok_or("no alb")?
        .verify::<cognito_core::alb::AlbClaims>(&alb_token)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(alb_err.kind(), ErrorKind::JwksUnavailable);
    shown.push(format!("{alb_err} / {alb_err:?} / {:?}", alb_err.detail()));

    let health = auth.health();
    let sources: Vec<&str> = health
        .pools
        .iter()
        .flat_map(|p| p.sources.iter().map(|s| s.source.as_str()))
        .collect();
    assert_eq!(sources, [failing_url.as_str(), refused.as_str(), alb_refused.as_str()]);
    assert_eq!(health.pools[2].pool, "alb");
    assert!(!health.pools[2].is_ready(), "its fetch failed and it holds no key");
    shown.push(format!("{health} / {health:?}"));
    for status in auth.prefetch().await {
        shown.push(format!("{status} / {status:?}"));
    }
    for text in &shown {
        assert_no_secret("report", text);
    }
    let events = capture.events();
    let failures: Vec<&Captured> = events
        .iter()
        .filter(|e| e.message.starts_with("JWKS fetch failed"))
        .collect();
    assert!(failures.len() >= 3, "{events:?}");
    let urls: Vec<&str> = failures.iter().filter_map(|e| e.field("url")).collect();
    for expected in [&failing_url, &refused, &alb_refused] {
        assert!(urls.contains(&expected.as_str()), "{expected} not in {urls:?}");
    }
    for event in &events {
        assert_no_secret("event", &event.text());
    }
    Ok(())
}
