//! Property tests (proptest): hostile input never panics and never verifies.
//!
//! The verifier under test trusts one real RSA key given inline, so no case does any I/O and
//! every rejection is a 401 decided by the token alone. Case counts are fixed per property
//! (see `CASES_*`) so the whole file runs in seconds in a debug build; failures shrink and
//! are persisted by proptest as usual.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_core::{AuthError, CognitoSettings, CognitoToken, Require, Verifier};
use cognito_testkit::{SigningKey, access_claims, id_claims, jwks};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Cases per cheap property (parsing, header handling, mutations of one token).
const CASES_CHEAP: u32 = 4000;
/// Cases per property that signs a fresh RSA token in each case.
const CASES_SIGNING: u32 = 400;

const ISSUER: &str = "http://127.0.0.1:9/eu-west-1_Props";
const CLIENT: &str = "client-a";

struct World {
    key: SigningKey,
    /// Same kid as `key`, other key material: an attacker who knows the kid.
    impostor: SigningKey,
    verifier: Verifier,
    /// A valid access token and a valid ID token of `key`.
    valid: [String; 2],
    runtime: tokio::runtime::Runtime,
}

fn build_world() -> Result<World, Box<dyn std::error::Error>> {
    let key = SigningKey::generate("props-key")?;
    let impostor = SigningKey::generate("props-key")?;
    let settings = CognitoSettings::from_json_str(
        &json!({"userpools": {"p": {"region": "eu-west-1", "userpool_id": "eu-west-1_Props",
            "app_client_id": CLIENT, "issuer": ISSUER, "jwks_inline": jwks(&[&key])}}})
        .to_string(),
    )?;
    let verifier = Verifier::new(&settings)?;
    let valid = [
        key.sign(&access_claims(ISSUER, CLIENT))?,
        key.sign(&id_claims(ISSUER, CLIENT))?,
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(World {
        key,
        impostor,
        verifier,
        valid,
        runtime,
    })
}

static WORLD: LazyLock<Result<World, String>> = LazyLock::new(|| build_world().map_err(|e| e.to_string()));

fn world() -> Result<&'static World, TestCaseError> {
    WORLD.as_ref().map_err(|e| TestCaseError::fail(e.clone()))
}

/// What every rejection of client input must look like: a 401 (no key problem, no outage
/// can happen with an inline key set) whose body is JSON with the stable kind.
fn check_rejection(err: &AuthError) -> Result<(), TestCaseError> {
    prop_assert_eq!(err.status(), 401, "{:?}", err);
    let body: Value = serde_json::from_str(&err.body()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(body["error"].as_str(), Some(err.kind().as_str()));
    Ok(())
}

/// Verifies `token` bare and (unless it only differs by surrounding blanks) through the
/// header; both must reject.
fn assert_rejected(w: &World, token: &str) -> Result<(), TestCaseError> {
    let cached = w.verifier.verify_cached::<CognitoToken>(token, Require::NONE);
    prop_assert!(cached.is_err(), "verified: {token:?}");
    if let Err(e) = &cached {
        check_rejection(e)?;
    }
    // In a header, spaces and tabs around the token are fine (RFC 7235 allows several between
    // scheme and token; the value is trimmed), so " <valid token>" rightly authenticates there.
    if token.trim_matches([' ', '\t']) != token {
        return Ok(());
    }
    let header = format!("Bearer {token}");
    let via_header = w.runtime.block_on(
        w.verifier
            .authenticate::<CognitoToken>(&[("authorization", header.as_bytes())], Require::NONE),
    );
    prop_assert!(via_header.is_err(), "verified through the header: {token:?}");
    if let Err(e) = &via_header {
        check_rejection(e)?;
    }
    Ok(())
}

#[test]
fn the_fixture_tokens_verify() -> Result<(), Box<dyn std::error::Error>> {
    let w = WORLD.as_ref().map_err(Clone::clone)?;
    for token in &w.valid {
        w.verifier.verify_cached::<CognitoToken>(token, Require::NONE)?;
    }
    Ok(())
}

/// One edit of a valid token's text.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the byte at this index (mod len) with this one (made to differ).
    Replace(usize, u8),
    /// Remove the char at this index.
    Drop(usize),
    /// Insert this byte at this index.
    Insert(usize, u8),
    /// Swap two chars.
    Swap(usize, usize),
    /// Cut the token at this index.
    Truncate(usize),
    /// Swap segments i and j (of the three).
    SwapSegments(usize, usize),
    /// Repeat segment i in place of segment j.
    DuplicateSegment(usize, usize),
    /// Append a fourth segment.
    ExtraSegment(String),
    /// Pad a segment with `=` (padding is not allowed).
    Pad(usize),
}

/// The bytes an attacker would try: the base64url alphabet, the separators, padding, the
/// standard-base64 characters, whitespace, and a few others.
fn token_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()),
        prop::sample::select(b".=+/ \t%~!\"{}".to_vec()),
        0x21u8..0x7f,
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = any::<usize>();
    prop_oneof![
        4 => (i, token_byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        2 => i.prop_map(Edit::Drop),
        2 => (i, token_byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (i, any::<usize>()).prop_map(|(i, j)| Edit::Swap(i, j)),
        1 => i.prop_map(Edit::Truncate),
        1 => (0..3usize, 0..3usize).prop_map(|(i, j)| Edit::SwapSegments(i, j)),
        1 => (0..3usize, 0..3usize).prop_map(|(i, j)| Edit::DuplicateSegment(i, j)),
        1 => "[A-Za-z0-9_-]{0,8}".prop_map(Edit::ExtraSegment),
        1 => (0..3usize).prop_map(Edit::Pad),
    ]
}

fn apply(token: &str, edit: &Edit) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let len = bytes.len().max(1);
    match edit {
        Edit::Replace(i, b) => {
            let i = i % len;
            if let Some(slot) = bytes.get_mut(i) {
                *slot = if *slot == *b { b'A' ^ b'B' ^ *b } else { *b };
            }
        }
        Edit::Drop(i) => {
            if !bytes.is_empty() {
                bytes.remove(i % len);
            }
        }
        Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), *b),
        Edit::Swap(i, j) => {
            if !bytes.is_empty() {
                bytes.swap(i % len, j % len);
            }
        }
        Edit::Truncate(i) => bytes.truncate(i % len),
        Edit::SwapSegments(i, j) | Edit::DuplicateSegment(i, j) => {
            let mut parts: Vec<&str> = token.split('.').collect();
            if let (Some(a), Some(_)) = (parts.get(*i).copied(), parts.get(*j)) {
                if matches!(edit, Edit::SwapSegments(..)) {
                    parts.swap(*i, *j);
                } else {
                    parts[*j] = a;
                }
            }
            return parts.join(".");
        }
        Edit::ExtraSegment(s) => return format!("{token}.{s}"),
        Edit::Pad(i) => {
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            if let Some(p) = parts.get_mut(*i) {
                p.push('=');
            }
            return parts.join(".");
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A claim value an attacker might put in a claim we check.
fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        Just(json!(CLIENT)),
        Just(json!(ISSUER)),
        Just(json!([CLIENT])),
        Just(json!({"x": 1})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES_CHEAP, failure_persistence: None, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// Arbitrary bytes as the header value: never a panic, never a pass.
    #[test]
    fn arbitrary_header_bytes_never_verify(value in prop::collection::vec(any::<u8>(), 0..600)) {
        let w = world()?;
        let result = w.runtime.block_on(w.verifier.authenticate::<CognitoToken>(&[("authorization", value.as_slice())], Require::NONE));
        prop_assert!(result.is_err());
        if let Err(e) = &result { check_rejection(e)?; }
        let optional = w.runtime.block_on(
            w.verifier.authenticate_optional::<CognitoToken>(&[("authorization", value.as_slice())], Require::NONE));
        prop_assert!(!matches!(optional, Ok(Some(_))));
    }

    /// Arbitrary header values of the right shape (`<scheme> <junk>`), several occurrences.
    #[test]
    fn arbitrary_scheme_and_token_never_verify(
        scheme in prop_oneof![Just("Bearer".to_owned()), Just("bearer".to_owned()), "[ -~]{0,10}"],
        spaces in "[ \t]{0,3}",
        token in "[ -~]{0,300}",
        repeat in 1usize..3,
    ) {
        let w = world()?;
        let value = format!("{scheme}{spaces}{token}");
        let values = vec![("authorization", value.as_bytes()); repeat];
        let result = w.runtime.block_on(w.verifier.authenticate::<CognitoToken>(values.as_slice(), Require::NONE));
        prop_assert!(result.is_err());
        if let Err(e) = &result { check_rejection(e)?; }
    }

    /// Arbitrary strings as the bare token.
    #[test]
    fn arbitrary_strings_never_verify(token in any::<String>()) {
        let w = world()?;
        let result = w.verifier.verify_cached::<CognitoToken>(&token, Require::NONE);
        prop_assert!(result.is_err());
        if let Err(e) = &result { check_rejection(e)?; }
    }

    /// Three segments of base64url over arbitrary bytes (they pass the syntax check).
    #[test]
    fn arbitrary_segments_never_verify(
        header in prop::collection::vec(any::<u8>(), 0..200),
        payload in prop::collection::vec(any::<u8>(), 0..400),
        sig in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig));
        assert_rejected(world()?, &token)?;
    }

    /// A valid token after one to three edits: flipped, dropped, inserted or swapped bytes,
    /// cut short, segments swapped or repeated, an extra segment, padding.
    #[test]
    fn mutated_valid_tokens_never_verify(which in 0..2usize, edits in prop::collection::vec(edit(), 1..4)) {
        let w = world()?;
        let original = &w.valid[which];
        let mut token = original.clone();
        for e in &edits {
            token = apply(&token, e);
        }
        prop_assume!(&token != original);
        assert_rejected(w, &token)?;
    }

    /// A valid token's payload with one claim changed, the original signature kept.
    #[test]
    fn edited_claims_under_the_original_signature_never_verify(
        which in 0..2usize,
        claim in prop::sample::select(vec!["iss", "sub", "client_id", "aud", "token_use", "exp", "nbf",
            "iat", "username", "cognito:groups", "scope", "custom:role"]),
        value in claim_value(),
    ) {
        let w = world()?;
        let original = &w.valid[which];
        let mut parts = original.split('.');
        let (Some(header), Some(payload), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TestCaseError::fail("the fixture token has three parts"));
        };
        let decoded = URL_SAFE_NO_PAD.decode(payload).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut claims: Value = serde_json::from_slice(&decoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assume!(claims.get(claim) != Some(&value));
        claims[claim] = value;
        let token = format!("{header}.{}.{sig}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert_rejected(w, &token)?;
    }

    /// The settings loaders on arbitrary text: an error or settings, never a panic.
    #[test]
    fn settings_loaders_never_panic_on_arbitrary_text(text in any::<String>()) {
        let _ = CognitoSettings::from_yaml_str(&text);
        let _ = CognitoSettings::from_json_str(&text);
    }

    /// The settings loaders on documents of the right shape with arbitrary values in every
    /// field: either valid settings (that validate again) or a ConfigError, never a panic.
    #[test]
    fn settings_loaders_never_panic_on_arbitrary_fields(
        top in prop::collection::btree_map(
            prop::sample::select(vec!["check_expiration", "jwt_header_name", "jwt_header_prefix",
                "leeway_seconds", "max_token_bytes", "algorithms", "jwks", "allow_insecure_jwks_url", "other"]),
            json_value(), 0..5),
        pool in prop::collection::btree_map(
            prop::sample::select(vec!["region", "userpool_id", "app_client_id", "token_use", "jwks_url",
                "issuer", "jwks_inline", "other"]),
            json_value(), 0..8),
        pool_name in ".{0,6}",
    ) {
        let mut doc = serde_json::Map::new();
        for (k, v) in top { doc.insert(k.to_owned(), v); }
        let pool: serde_json::Map<String, Value> = pool.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        doc.insert("userpools".to_owned(), json!({ pool_name: pool }));
        let text = Value::Object(doc).to_string();
        let loaded = [CognitoSettings::from_json_str(&text), CognitoSettings::from_yaml_str(&text)];
        for settings in loaded.into_iter().flatten() {
            prop_assert!(settings.validate().is_ok());
            // Building a verifier from loaded settings never fails on a validated value.
            prop_assert!(Verifier::new(&settings).is_ok());
        }
    }
}

/// JSON values a settings field might be given: scalars, URLs, small arrays and maps,
/// JWKS-shaped objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(|f| json!(f)),
        ".{0,10}".prop_map(Value::from),
        prop::sample::select(vec![
            "eu-west-1",
            "eu-west-1_A",
            "RS256",
            "HS256",
            "none",
            "access",
            "id",
            "any",
            "",
            "http://127.0.0.1:1/jwks.json",
            "https://keys.example.com/j",
            "http://keys.example.com/j",
            "file:///nonexistent",
            "ftp://x",
            "http://[::1]:1/x",
            "http://",
            "RSA",
            "sig",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "keys",
                    "kid",
                    "kty",
                    "n",
                    "e",
                    "alg",
                    "use",
                    "timeout_ms",
                    "max_bytes",
                    "refresh_secs",
                    "x"
                ]),
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES_SIGNING, failure_persistence: None, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// Forgeries: tokens with every claim right, signed by a key that is not the pool's (same
    /// kid), or under an algorithm the pool does not allow, never verify.
    #[test]
    fn forged_tokens_with_valid_claims_never_verify(
        id_token in any::<bool>(),
        alg in prop::sample::select(vec!["RS256", "RS384", "RS512", "none", "HS256", "PS256", "ES256", "rs256", ""]),
        kid in prop_oneof![Just(Some("props-key".to_owned())), Just(None), "[ -~]{0,12}".prop_map(Some)],
        extra in prop::collection::btree_map("[a-z:]{1,8}", claim_value(), 0..3),
    ) {
        let w = world()?;
        let mut claims = if id_token { id_claims(ISSUER, CLIENT) } else { access_claims(ISSUER, CLIENT) };
        for (k, v) in extra {
            if claims.get(&k).is_none() { claims[k] = v; }
        }
        let mut header = json!({"alg": alg});
        if let Some(kid) = kid { header["kid"] = json!(kid); }
        let forged = w.impostor.sign_with_header(&header, &claims).map_err(|_| TestCaseError::fail("sign"))?;
        assert_rejected(w, &forged)?;
        // The real key under a refused algorithm header is refused too (RS256 alone is allowed).
        if alg != "RS256" {
            let wrong_alg = w.key.sign_with_header(&header, &claims).map_err(|_| TestCaseError::fail("sign"))?;
            assert_rejected(w, &wrong_alg)?;
        }
        // alg none with an empty signature.
        let mut parts = forged.rsplitn(2, '.');
        let (_, Some(input)) = (parts.next(), parts.next()) else {
            return Err(TestCaseError::fail("three parts"));
        };
        assert_rejected(w, &format!("{input}."))?;
    }
}

/// Tuning values the property below draws from: the edges of every range, and far past them.
fn tuning_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            0,
            1,
            2,
            10,
            3_600,
            3_601,
            60_000,
            60_001,
            86_400,
            86_401,
            1 << 20,
            (1 << 20) + 1,
            16 << 20,
            1 << 30,
            1 << 40,
            u64::MAX / 2,
            u64::MAX,
        ]),
        any::<u64>(),
        0..100_000u64,
    ]
}

/// Every tuning field at once: the settings either fail to load with a `ConfigError` naming a
/// tuning field, or every request is answered (no panic, no hang), including the unknown-kid
/// refetch and its cool-down, where a setting meets the clock.
#[test]
fn tuning_settings_either_fail_at_load_or_every_request_answers() -> Result<(), Box<dyn std::error::Error>> {
    use cognito_testkit::JwksServer;
    use proptest::test_runner::{Config, TestRunner};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let key = SigningKey::generate("tuning-key")?;
    let stranger = SigningKey::generate("not-in-the-jwks")?;
    let server = runtime.block_on(JwksServer::start(jwks(&[&key])))?;
    let issuer = server.issuer("eu-west-1_Tune");
    let tokens = [
        key.sign(&access_claims(&issuer, CLIENT))?,
        stranger.sign(&access_claims(&issuer, CLIENT))?,
        stranger.sign(&access_claims(&issuer, CLIENT))?,
        {
            let mut expired = access_claims(&issuer, CLIENT);
            expired["exp"] = json!(1);
            key.sign(&expired)?
        },
    ];
    let fields = [
        "leeway_seconds",
        "max_token_bytes",
        "jwks.timeout_ms",
        "jwks.max_bytes",
        "jwks.refresh_secs",
        "jwks.cooldown_secs",
        "jwks.max_stale_secs",
        "token_cache.max_entries",
        "token_cache.max_bytes",
    ];
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (prop::collection::vec(tuning_value(), 9), any::<bool>());
    runner.run(&strategy, |(values, cache_on)| {
        let v = |i: usize| json!(values[i]);
        let doc = json!({
            "leeway_seconds": v(0),
            "max_token_bytes": v(1),
            "jwks": {"timeout_ms": v(2), "max_bytes": v(3), "refresh_secs": v(4),
                     "cooldown_secs": v(5), "max_stale_secs": v(6)},
            "token_cache": {"enabled": cache_on, "max_entries": v(7), "max_bytes": v(8)},
            "userpools": {"p": {"region": "eu-west-1", "userpool_id": "eu-west-1_Tune", "app_client_id": CLIENT,
                "issuer": issuer, "jwks_url": server.jwks_url("eu-west-1_Tune")}},
        });
        let settings = match CognitoSettings::from_json_str(&doc.to_string()) {
            Ok(settings) => settings,
            Err(e) => {
                prop_assert!(e.field().is_some_and(|f| fields.contains(&f)), "{e}");
                return Ok(());
            }
        };
        let verifier = Verifier::new(&settings).map_err(|e| TestCaseError::fail(e.to_string()))?;
        runtime.block_on(async {
            for token in &tokens {
                let answer = tokio::time::timeout(
                    std::time::Duration::from_secs(70),
                    verifier.verify::<CognitoToken>(token, Require::NONE),
                )
                .await;
                prop_assert!(answer.is_ok(), "no answer for {doc}");
            }
            Ok(())
        })
    })?;
    Ok(())
}
