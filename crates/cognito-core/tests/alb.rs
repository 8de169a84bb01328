//! Load-balancer user claims (`x-amzn-oidc-data`) against a real per-kid PEM key server on
//! 127.0.0.1, with real P-256 keys and tokens minted as a load balancer mints them.

use std::sync::Arc;

use cognito_core::alb::{AlbClaims, AlbSettings, AlbToken, AlbVerifier};
use cognito_core::{AuthError, CognitoSettings, ErrorKind};
use cognito_testkit::alb::{ALB_ARN, AlbKey, AlbKeyServer, AlbReply, alb_claims};
use cognito_testkit::{SigningKey, now};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const IDP: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test1";
const CLIENT: &str = "alb-client";

struct Fixture {
    key: AlbKey,
    server: AlbKeyServer,
    alb: AlbSettings,
}

impl Fixture {
    async fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let key = AlbKey::generate()?;
        let server = AlbKeyServer::start(&[&key]).await?;
        let mut alb = AlbSettings::new("eu-west-1", [ALB_ARN]);
        alb.key_url = Some(server.key_url());
        Ok(Self { key, server, alb })
    }

    fn verifier(&self, extra_yaml: &str) -> Result<AlbVerifier, Box<dyn std::error::Error>> {
        let settings = CognitoSettings::from_yaml_str(&format!(
            "{extra_yaml}userpools:\n  main: {{region: eu-west-1, userpool_id: eu-west-1_Test1, app_client_id: c}}\n"
        ))?;
        Ok(AlbVerifier::for_alb(&self.alb, &settings)?)
    }

    fn token(&self) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.key.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?)
    }
}

async fn verify(alb: &AlbVerifier, token: &str) -> Result<AlbToken<AlbClaims>, AuthError> {
    alb.authenticate([token.as_bytes()]).await
}

fn kind<T>(result: Result<T, AuthError>) -> Option<ErrorKind> {
    result.err().map(|e| e.kind())
}

fn header(key: &AlbKey, changes: Value) -> Value {
    let mut header = json!({
        "typ": "JWT", "kid": key.kid(), "alg": "ES256", "iss": IDP, "client": CLIENT,
        "signer": ALB_ARN, "exp": now() + 120,
    });
    for (name, value) in changes.as_object().into_iter().flatten() {
        header[name] = value.clone();
    }
    header
}

#[tokio::test]
async fn a_padded_token_verifies_and_reads_its_claims() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let token = f.token()?;
    assert!(
        token.split('.').next().is_some_and(|h| h.ends_with('=')),
        "the test token is padded"
    );
    let user = verify(&alb, &token).await?;
    assert_eq!(user.sub.as_deref(), Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    assert_eq!((user.signer.as_str(), user.client.as_deref()), (ALB_ARN, Some(CLIENT)));
    // The key is fetched once and kept.
    verify(&alb, &token).await?;
    assert_eq!((f.server.hits(), alb.cached_keys()), (1, 1));
    Ok(())
}

#[tokio::test]
async fn an_unpadded_base64url_token_verifies_too() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let token = f.key.sign_parts(
        &header(&f.key, json!({})).to_string(),
        &alb_claims(IDP).to_string(),
        false,
    )?;
    assert!(!token.contains('='));
    assert!(verify(&alb, &token).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn expiry_with_and_without_leeway_and_no_iat_needed() -> TestResult {
    let f = Fixture::new().await?;
    let mut claims = alb_claims(IDP);
    claims["exp"] = json!(now() - 30);
    let expired = f.key.sign(ALB_ARN, CLIENT, &claims)?;
    assert_eq!(kind(verify(&f.verifier("")?, &expired).await), Some(ErrorKind::Expired));
    assert!(verify(&f.verifier("leeway_seconds: 60\n")?, &expired).await.is_ok());
    assert!(alb_claims(IDP).get("iat").is_none(), "the fixture has no iat");
    // No exp anywhere is malformed.
    let mut claims = alb_claims(IDP);
    claims.as_object_mut().map(|c| c.remove("exp"));
    let token = f.key.sign_with_header(&header(&f.key, json!({"exp": null})), &claims)?;
    assert_eq!(kind(verify(&f.verifier("")?, &token).await), Some(ErrorKind::Malformed));
    Ok(())
}

#[tokio::test]
async fn a_signer_not_configured_is_wrong_issuer_before_any_fetch() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let other = ALB_ARN.replace("app/test", "app/other");
    let token = f.key.sign(&other, CLIENT, &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::WrongIssuer));
    let token = f
        .key
        .sign_with_header(&header(&f.key, json!({"signer": null})), &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::WrongIssuer));
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn issuer_and_client_are_checked_when_configured() -> TestResult {
    let mut f = Fixture::new().await?;
    f.alb.issuer = Some(IDP.to_owned());
    f.alb.client_ids = vec![CLIENT.to_owned()];
    let alb = f.verifier("")?;
    assert!(verify(&alb, &f.token()?).await.is_ok());
    let token = f.key.sign(ALB_ARN, "someone-else", &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::WrongClient));
    let token = f.key.sign(ALB_ARN, CLIENT, &alb_claims("https://elsewhere.example"))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::WrongIssuer));
    Ok(())
}

#[tokio::test]
async fn an_unknown_kid_costs_one_fetch_then_a_cooldown() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    assert!(verify(&alb, &f.token()?).await.is_ok());
    let stranger = AlbKey::generate()?;
    let token = stranger.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?;
    for _ in 0..5 {
        assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::UnknownKid));
    }
    assert_eq!(f.server.hits_for(stranger.kid()), 1);
    // The key held is still served meanwhile.
    assert!(verify(&alb, &f.token()?).await.is_ok());
    // Another kid not held waits out the cool-down too, even one the server has.
    let other = AlbKey::generate()?;
    f.server.add_key(&other)?;
    let other_token = other.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &other_token).await), Some(ErrorKind::UnknownKid));
    assert_eq!((f.server.hits_for(other.kid()), f.server.hits()), (0, 2));
    // Once the cool-down is over, the kid is asked for again (it may have been published).
    let alb = f.verifier("jwks:\n  cooldown_secs: 0\n")?;
    f.server.add_key(&stranger)?;
    assert!(verify(&alb, &token).await.is_ok());
    Ok(())
}

/// A token whose kid the key server does not have, each time another kid, and no signature
/// worth the name.
fn forged_unknown_kid() -> Result<String, Box<dyn std::error::Error>> {
    Ok(AlbKey::generate()?.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?)
}

/// A token under the kid of `published` (a key the key server has: another load balancer's,
/// say), signed with some other key.
fn forged_known_kid(published: &AlbKey) -> Result<String, Box<dyn std::error::Error>> {
    let impostor = AlbKey::generate_with_kid(published.kid())?;
    Ok(impostor.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?)
}

/// The bound: one fetch per cool-down (10 s by default, far longer than the test) for all the
/// kids not held, however many, sent at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_forged_kids_costs_one_fetch_per_cooldown() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let tokens: Vec<String> = (0..200).map(|_| forged_unknown_kid()).collect::<Result<_, _>>()?;
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let alb = alb.clone();
            tokio::spawn(async move { kind(verify(&alb, &token).await) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await?, Some(ErrorKind::UnknownKid));
    }
    assert_eq!(f.server.hits(), 1);
    // Kids the key server has, under forged signatures: the same one fetch, the same answer
    // meanwhile (a flood of them after the cool-down is tested below, key by key).
    let published: Vec<AlbKey> = (0..20).map(|_| AlbKey::generate()).collect::<Result<_, _>>()?;
    for key in &published {
        f.server.add_key(key)?;
        assert_eq!(
            kind(verify(&alb, &forged_known_kid(key)?).await),
            Some(ErrorKind::UnknownKid)
        );
    }
    assert_eq!((f.server.hits(), alb.cached_keys()), (1, 0));
    Ok(())
}

/// A fetched key whose first token is forged starts the cool-down and is not kept among the
/// verified keys, but the next genuine token of that kid verifies with it, without a fetch.
#[tokio::test]
async fn a_key_first_used_by_a_forged_token_is_not_kept_but_serves_a_genuine_one() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    assert_eq!(
        kind(verify(&alb, &forged_known_kid(&f.key)?).await),
        Some(ErrorKind::BadSignature)
    );
    assert_eq!((f.server.hits(), alb.cached_keys()), (1, 0));
    // The cool-down holds for other kids.
    assert_eq!(
        kind(verify(&alb, &forged_unknown_kid()?).await),
        Some(ErrorKind::UnknownKid)
    );
    assert!(verify(&alb, &f.token()?).await.is_ok());
    assert_eq!((f.server.hits(), alb.cached_keys()), (1, 1));
    Ok(())
}

/// The worst case for the cache: no cool-down, so every forged kid is fetched; still none of
/// them evicts the verified key, and the genuine requests between them never refetch it.
#[tokio::test]
async fn forged_kids_never_evict_a_verified_key() -> TestResult {
    let mut f = Fixture::new().await?;
    f.alb.max_keys = 2;
    let alb = f.verifier("jwks:\n  cooldown_secs: 0\n")?;
    assert!(verify(&alb, &f.token()?).await.is_ok());
    for _ in 0..50 {
        for _ in 0..4 {
            let published = AlbKey::generate()?;
            f.server.add_key(&published)?;
            assert_eq!(
                kind(verify(&alb, &forged_known_kid(&published)?).await),
                Some(ErrorKind::BadSignature)
            );
        }
        assert!(verify(&alb, &f.token()?).await.is_ok());
    }
    assert_eq!(f.server.hits_for(f.key.kid()), 1);
    assert_eq!(alb.cached_keys(), 1);
    Ok(())
}

/// The key least recently used goes first, not the one fetched first.
#[tokio::test]
async fn the_least_recently_used_key_goes_first() -> TestResult {
    let mut f = Fixture::new().await?;
    f.alb.max_keys = 2;
    let alb = f.verifier("")?;
    let (b, c) = (AlbKey::generate()?, AlbKey::generate()?);
    f.server.add_key(&b)?;
    f.server.add_key(&c)?;
    let token = |key: &AlbKey| key.sign(ALB_ARN, CLIENT, &alb_claims(IDP));
    verify(&alb, &f.token()?).await?; // a: fetched first
    verify(&alb, &token(&b)?).await?;
    verify(&alb, &f.token()?).await?; // a: used last
    verify(&alb, &token(&c)?).await?; // full: b goes
    assert_eq!(alb.cached_keys(), 2);
    verify(&alb, &f.token()?).await?;
    verify(&alb, &token(&c)?).await?;
    assert_eq!((f.server.hits_for(f.key.kid()), f.server.hits_for(c.kid())), (1, 1));
    verify(&alb, &token(&b)?).await?;
    assert_eq!(f.server.hits_for(b.kid()), 2);
    Ok(())
}

#[tokio::test]
async fn a_kid_that_is_not_a_uuid_is_never_fetched() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    for kid in ["../../admin", "key-1", "11111111-2222-3333-4444-55555555555?", ""] {
        let rogue = AlbKey::generate_with_kid(kid)?;
        let token = rogue.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?;
        assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::UnknownKid), "{kid:?}");
    }
    let token = f
        .key
        .sign_with_header(&header(&f.key, json!({"kid": 7})), &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::Malformed));
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn an_rs256_token_in_the_alb_header_is_refused() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let rsa = SigningKey::generate(f.key.kid())?;
    let mut header = header(&f.key, json!({}));
    header["alg"] = json!("RS256");
    let token = rsa.sign_with_header(&header, &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::UnsupportedAlg));
    for alg in [json!("none"), json!("HS256"), json!("ES384"), Value::Null] {
        let token = f
            .key
            .sign_with_header(&self::header(&f.key, json!({ "alg": alg })), &alb_claims(IDP))?;
        assert_eq!(
            kind(verify(&alb, &token).await),
            Some(ErrorKind::UnsupportedAlg),
            "{alg}"
        );
    }
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn a_forged_signature_is_bad_signature() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let impostor = AlbKey::generate_with_kid(f.key.kid())?;
    let token = impostor.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::BadSignature));
    // Claims changed after signing.
    let good = f.token()?;
    let mut parts: Vec<&str> = good.split('.').collect();
    let mut claims = alb_claims(IDP);
    claims["email"] = json!("mallory@example.com");
    let swapped = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, claims.to_string());
    parts[1] = &swapped;
    assert_eq!(
        kind(verify(&alb, &parts.join(".")).await),
        Some(ErrorKind::BadSignature)
    );
    Ok(())
}

#[tokio::test]
async fn the_key_server_down_is_503_with_backoff() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    f.server.set_reply(AlbReply::Status(500));
    let err = verify(&alb, &f.token()?).await.err();
    assert_eq!(err.as_ref().map(AuthError::kind), Some(ErrorKind::JwksUnavailable));
    assert_eq!(err.as_ref().map(AuthError::status), Some(503));
    assert!(
        err.as_ref()
            .and_then(AuthError::retry_after_secs)
            .is_some_and(|s| s >= 1)
    );
    assert!(
        err.as_ref()
            .and_then(AuthError::detail)
            .is_some_and(|d| d.contains("500")),
        "{err:?}"
    );
    // During the backoff no request reaches the server.
    for _ in 0..5 {
        assert_eq!(kind(verify(&alb, &f.token()?).await), Some(ErrorKind::JwksUnavailable));
    }
    assert_eq!(f.server.hits(), 1);
    Ok(())
}

/// The key cache's health follows its fetches: ready with no key before any token, the key
/// server's failure and the rest of the backoff while it fails, ready again once it answers.
#[tokio::test]
async fn health_follows_the_key_server() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("jwks:\n  cooldown_secs: 0\n")?;
    let health = alb.health();
    assert!(health.is_ready());
    assert_eq!((health.keys, health.per_kid, health.age), (0, true, None));
    assert_eq!(health.source, f.server.key_url());
    f.server.set_reply(AlbReply::Status(500));
    assert_eq!(kind(verify(&alb, &f.token()?).await), Some(ErrorKind::JwksUnavailable));
    let health = alb.health();
    assert!(!health.is_ready());
    assert!(
        health.last_error.as_deref().is_some_and(|e| e.contains("500")),
        "{health:?}"
    );
    assert!(health.next_attempt_in.is_some_and(|wait| !wait.is_zero()), "{health:?}");
    Ok(())
}

#[tokio::test]
async fn a_stalled_key_server_is_503_within_the_deadline() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("jwks:\n  timeout_ms: 200\n")?;
    f.server.set_reply(AlbReply::Stall);
    let started = std::time::Instant::now();
    assert_eq!(kind(verify(&alb, &f.token()?).await), Some(ErrorKind::JwksUnavailable));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_new_kid_cause_one_fetch() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let token = Arc::new(f.token()?);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (alb, token) = (alb.clone(), Arc::clone(&token));
            tokio::spawn(async move { verify(&alb, &token).await.map(drop) })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    assert_eq!(f.server.hits(), 1);
    Ok(())
}

#[tokio::test]
async fn the_key_cache_is_bounded() -> TestResult {
    let mut f = Fixture::new().await?;
    f.alb.max_keys = 2;
    let alb = f.verifier("")?;
    let keys: Vec<AlbKey> = (0..3).map(|_| AlbKey::generate()).collect::<Result<_, _>>()?;
    for key in &keys {
        f.server.add_key(key)?;
        assert!(
            verify(&alb, &key.sign(ALB_ARN, CLIENT, &alb_claims(IDP))?)
                .await
                .is_ok()
        );
    }
    assert_eq!(alb.cached_keys(), 2);
    // The oldest went first: its next use fetches it again.
    assert!(
        verify(&alb, &keys[0].sign(ALB_ARN, CLIENT, &alb_claims(IDP))?)
            .await
            .is_ok()
    );
    assert_eq!(f.server.hits_for(keys[0].kid()), 2);
    assert_eq!(f.server.hits_for(keys[2].kid()), 1);
    Ok(())
}

#[tokio::test]
async fn the_header_rule_and_the_strict_parse() -> TestResult {
    let f = Fixture::new().await?;
    let alb = f.verifier("")?;
    let none: [&[u8]; 0] = [];
    let err = alb.authenticate::<AlbClaims>(none).await.err();
    assert_eq!(err.as_ref().map(AuthError::kind), Some(ErrorKind::MissingToken));
    assert_eq!(
        err.as_ref().and_then(|e| e.www_authenticate()).as_deref(),
        Some("Bearer")
    );
    assert_eq!(kind(verify(&alb, "").await), Some(ErrorKind::MissingToken));
    let token = f.token()?;
    let twice = alb
        .authenticate::<AlbClaims>([token.as_bytes(), token.as_bytes()])
        .await;
    assert_eq!(kind(twice), Some(ErrorKind::InvalidHeader));
    assert_eq!(
        kind(verify(&alb, &format!("Bearer {token}")).await),
        Some(ErrorKind::InvalidHeader)
    );
    for junk in ["a.b", "a.b.c.d", "!!!.e30.e30", "e30.W10.e30"] {
        assert_eq!(kind(verify(&alb, junk).await), Some(ErrorKind::Malformed), "{junk}");
    }
    // `{}.{}`: well formed, but no alg is no load balancer's.
    assert_eq!(kind(verify(&alb, "e30.e30.e30").await), Some(ErrorKind::UnsupportedAlg));
    let duplicate = r#"{"alg":"ES256","alg":"ES256"}"#;
    let token = f.key.sign_parts(duplicate, &alb_claims(IDP).to_string(), true)?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::Malformed));
    let token = f
        .key
        .sign_with_header(&header(&f.key, json!({"crit": ["b64"]})), &alb_claims(IDP))?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::Malformed));
    let token = f.key.sign_parts(&header(&f.key, json!({})).to_string(), "[1]", true)?;
    assert_eq!(kind(verify(&alb, &token).await), Some(ErrorKind::Malformed));
    assert_eq!(kind(verify(&alb, &"A".repeat(20_000)).await), Some(ErrorKind::TooLarge));
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn alb_settings_load_with_the_rest_and_fail_at_load() -> TestResult {
    let f = Fixture::new().await?;
    let pools = "userpools:\n  main: {region: eu-west-1, userpool_id: eu-west-1_Test1, app_client_id: c}\n";
    let yaml = format!(
        "alb:\n  region: eu-west-1\n  arns: {ALB_ARN}\n  client_ids: [{CLIENT}]\n  key_url: {}\n{pools}",
        f.server.key_url()
    );
    let settings = CognitoSettings::from_yaml_str(&yaml)?;
    let alb = settings.alb.as_ref().ok_or("no alb settings")?;
    assert_eq!(
        (alb.arns.as_slice(), alb.client_ids.as_slice()),
        (&[ALB_ARN.to_owned()][..], &[CLIENT.to_owned()][..])
    );
    // The same settings, back and forth.
    let again = CognitoSettings::from_json_str(&serde_json::to_string(&settings)?)?;
    assert_eq!(again, settings);
    let auth = cognito_core::CognitoAuth::new(&settings)?;
    let user: AlbToken = auth.alb().ok_or("no alb verifier")?.verify(&f.token()?).await?;
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    assert!(AlbVerifier::new(&settings).is_ok());
    // Without `alb:` there is no verifier.
    let plain = CognitoSettings::from_yaml_str(pools)?;
    assert!(cognito_core::CognitoAuth::new(&plain)?.alb().is_none());
    assert_eq!(
        AlbVerifier::new(&plain).err().as_ref().and_then(|e| e.field()),
        Some("alb")
    );
    for (bad, field) in [
        ("alb:\n  region: eu-west-1\n  arns: []\n", "alb.arns"),
        (
            "alb:\n  region: eu-west-1\n  arns: x\n  key_url: http://keys.example.com/{kid}\n",
            "alb.key_url",
        ),
        (
            "alb:\n  region: eu-west-1\n  arns: x\n  key_url: https://keys.example.com/\n",
            "alb.key_url",
        ),
        ("alb:\n  region: 'eu west'\n  arns: x\n", "alb.region"),
    ] {
        let err = CognitoSettings::from_yaml_str(&format!("{bad}{pools}")).err();
        assert_eq!(err.as_ref().and_then(|e| e.field()), Some(field), "{bad}: {err:?}");
    }
    let insecure = "allow_insecure_jwks_url: true\nalb:\n  region: eu-west-1\n  arns: x\n  key_url: http://keys.example.com/{kid}\n";
    assert!(CognitoSettings::from_yaml_str(&format!("{insecure}{pools}")).is_ok());
    assert!(CognitoSettings::from_yaml_str(&format!("alb:\n  arns: x\n{pools}")).is_err());
    Ok(())
}
