//! A named OpenID Connect issuer beside a Cognito pool, end to end through `CognitoAuth`: its
//! RS256, ES256, ES384 and EdDSA tokens (cognito-testkit keys, a JWKS on 127.0.0.1), its
//! audience, issuer, algorithm, key-type and `typ` rules, `scp` scopes, and its health entry.

use cognito_core::{CognitoAuth, CognitoSettings, ErrorKind, Require};
use cognito_testkit::{EcKey, EdKey, JwksServer, SigningKey, jwk_set, merge_claims, oidc_access_claims};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ISSUER: &str = "https://idp.example";
const API: &str = "https://api.example.com";

struct Fixture {
    auth: CognitoAuth,
    rsa: SigningKey,
    p256: EcKey,
    p384: EcKey,
    ed: EdKey,
    _server: JwksServer,
}

async fn fixture(extra: &str) -> Result<Fixture, BoxError> {
    let rsa = SigningKey::generate("rsa")?;
    let p256 = EcKey::generate_p256("p256")?;
    let p384 = EcKey::generate_p384("p384")?;
    let ed = EdKey::generate("ed")?;
    let server = JwksServer::start(jwk_set([rsa.jwk(), p256.jwk(), p384.jwk(), ed.jwk()])).await?;
    let settings = CognitoSettings::from_yaml_str(&format!(
        r#"
userpools:
  eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: app, jwks_inline: {{keys: []}}}}
issuers:
  partners:
    issuer: {ISSUER}
    audience: [other, {API}]
    jwks_url: {jwks}
    algorithms: [RS256, ES256, ES384, EdDSA]
{extra}"#,
        jwks = server.jwks_url("keys"),
    ))?;
    Ok(Fixture {
        auth: CognitoAuth::new(&settings)?,
        rsa,
        p256,
        p384,
        ed,
        _server: server,
    })
}

fn claims(changes: Value) -> Value {
    let mut claims = oidc_access_claims(ISSUER, API, "read write");
    merge_claims(&mut claims, &changes);
    claims
}

async fn kind(auth: &CognitoAuth, pool: &str, token: &str, require: Require<'_>) -> Option<ErrorKind> {
    let verifier = auth.pool(pool)?;
    let request = http::Request::builder()
        .header("Authorization", format!("Bearer {token}"))
        .body(())
        .ok()?;
    verifier
        .authenticate::<Value>(&request, require)
        .await
        .err()
        .map(|e| e.kind())
}

#[tokio::test]
async fn every_algorithm_verifies_through_the_named_issuer() -> Result<(), BoxError> {
    let f = fixture("").await?;
    let base = claims(json!({}));
    for (alg, token) in [
        ("RS256", f.rsa.sign(&base)?),
        ("ES256", f.p256.sign(&base)?),
        ("ES384", f.p384.sign(&base)?),
        ("EdDSA", f.ed.sign(&base)?),
    ] {
        assert_eq!(kind(&f.auth, "partners", &token, Require::NONE).await, None, "{alg}");
        // Scopes of `scope`, for requirements.
        let read = Require::NONE.any_scope(&["read"]);
        assert_eq!(kind(&f.auth, "partners", &token, read).await, None, "{alg} read");
        let admin = Require::NONE.any_scope(&["admin"]);
        assert_eq!(
            kind(&f.auth, "partners", &token, admin).await,
            Some(ErrorKind::ForbiddenScope),
            "{alg} admin"
        );
        // The Cognito pool does not take it.
        assert!(
            kind(&f.auth, "eu", &token, Require::NONE).await.is_some(),
            "{alg} on the pool"
        );
    }
    // The health report names the issuer as it names a pool.
    let health = f.auth.health();
    let partners = health.pools.iter().find(|p| p.pool == "partners");
    assert!(partners.is_some_and(|p| p.keys() == 4), "{health}");
    Ok(())
}

#[tokio::test]
async fn the_issuers_claims_rules() -> Result<(), BoxError> {
    let f = fixture("").await?;
    let sign = |changes: Value| f.p256.sign(&claims(changes));
    let cases = [
        (sign(json!({"aud": [API, "x"]}))?, None),
        (sign(json!({"aud": ["x", "y"]}))?, Some(ErrorKind::WrongClient)),
        (sign(json!({"aud": "x"}))?, Some(ErrorKind::WrongClient)),
        (sign(json!({"aud": null}))?, Some(ErrorKind::WrongClient)),
        (
            sign(json!({"iss": "https://evil.example"}))?,
            Some(ErrorKind::WrongIssuer),
        ),
        (
            sign(json!({"iss": "https://idp.example/"}))?,
            Some(ErrorKind::WrongIssuer),
        ),
        (
            sign(json!({"exp": cognito_testkit::now() - 10}))?,
            Some(ErrorKind::Expired),
        ),
        (sign(json!({"aud": 5}))?, Some(ErrorKind::Malformed)),
        (sign(json!({"exp": null}))?, Some(ErrorKind::Malformed)),
        // Cognito's own claims are not asked for.
        (sign(json!({"token_use": null, "client_id": null}))?, None),
    ];
    for (token, expected) in &cases {
        assert_eq!(
            kind(&f.auth, "partners", token, Require::NONE).await,
            *expected,
            "{token}"
        );
    }
    // `scp` scopes.
    let scp = f.ed.sign(&claims(json!({"scope": null, "scp": ["read", "admin"]})))?;
    let admin = Require::NONE.any_scope(&["admin"]);
    assert_eq!(kind(&f.auth, "partners", &scp, admin).await, None);
    // And again when the token is authorized after its verification (what an extractor does
    // with the token a router-wide layer verified): the same scopes, from `scp`.
    let partners = f.auth.pool("partners").ok_or("no issuer named partners")?;
    let verified: cognito_core::Verified = partners.verify(&scp, Require::NONE).await?;
    assert_eq!(verified.scopes().collect::<Vec<_>>(), ["read", "admin"]);
    let authorized = partners.authorize::<Value>(&verified, admin).await;
    assert!(authorized.is_ok(), "{authorized:?}");
    let missing = partners
        .authorize::<Value>(&verified, Require::NONE.any_scope(&["write"]))
        .await;
    assert!(missing.is_err(), "{missing:?}");
    Ok(())
}

#[tokio::test]
async fn algorithms_and_keys_must_fit() -> Result<(), BoxError> {
    let f = fixture("").await?;
    let base = claims(json!({}));
    // An EC signature under the RSA key's kid, and an ES384 header over a P-256 key.
    let rsa_kid = f.p256.sign_with_header(&json!({"alg": "ES256", "kid": "rsa"}), &base)?;
    let wrong_curve = f
        .p256
        .sign_with_header(&json!({"alg": "ES384", "kid": "p256"}), &base)?;
    let hs = f
        .p256
        .sign_with_header(&json!({"alg": "HS256", "kid": "p256"}), &base)?;
    let none = f.p256.sign_with_header(&json!({"alg": "none", "kid": "p256"}), &base)?;
    let other_key = f
        .p384
        .sign_with_header(&json!({"alg": "ES384", "kid": "p384"}), &base)?;
    let forged = format!("{}.{}", other_key.rsplit_once('.').map_or("", |(a, _)| a), {
        let sig = f.p384.sign(&claims(json!({"sub": "someone else"})))?;
        sig.rsplit_once('.').map(|(_, s)| s.to_owned()).unwrap_or_default()
    });
    for (token, expected) in [
        (&rsa_kid, ErrorKind::InvalidJwk),
        (&wrong_curve, ErrorKind::InvalidJwk),
        (&hs, ErrorKind::UnsupportedAlg),
        (&none, ErrorKind::UnsupportedAlg),
        (&forged, ErrorKind::BadSignature),
    ] {
        assert_eq!(
            kind(&f.auth, "partners", token, Require::NONE).await,
            Some(expected),
            "{token}"
        );
    }
    // An algorithm the issuer does not allow (the default list is RS256 alone).
    let narrow = CognitoSettings::from_yaml_str(&format!(
        "userpools: {{eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: app}}}}\nissuers:\n  p:\n    issuer: {ISSUER}\n    audience: [{API}]\n    jwks_url: https://keys.example/jwks\n"
    ))?;
    let narrow = CognitoAuth::new(&narrow)?;
    let es = f.p256.sign(&base)?;
    assert_eq!(
        kind(&narrow, "p", &es, Require::NONE).await,
        Some(ErrorKind::UnsupportedAlg)
    );
    Ok(())
}

#[tokio::test]
async fn token_type_at_jwt_asks_for_the_typ_header() -> Result<(), BoxError> {
    let f = fixture("    token_type: at+jwt\n").await?;
    let base = claims(json!({}));
    let at = f
        .p256
        .sign_with_header(&json!({"alg": "ES256", "kid": "p256", "typ": "at+jwt"}), &base)?;
    let long = f.p256.sign_with_header(
        &json!({"alg": "ES256", "kid": "p256", "typ": "application/at+jwt"}),
        &base,
    )?;
    let jwt = f
        .p256
        .sign_with_header(&json!({"alg": "ES256", "kid": "p256", "typ": "JWT"}), &base)?;
    let bare = f.p256.sign(&base)?;
    assert_eq!(kind(&f.auth, "partners", &at, Require::NONE).await, None);
    assert_eq!(kind(&f.auth, "partners", &long, Require::NONE).await, None);
    for token in [&jwt, &bare] {
        assert_eq!(
            kind(&f.auth, "partners", token, Require::NONE).await,
            Some(ErrorKind::WrongTokenUse)
        );
    }
    Ok(())
}

#[test]
fn settings_refuse_what_cannot_work() {
    let pool = "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: app}}\n";
    for (issuers, field) in [
        ("issuers: {eu: {issuer: 'https://x', audience: [a]}}", "issuers"),
        ("issuers: {p: {issuer: 'http://idp.example', audience: [a]}}", "issuer"),
        ("issuers: {p: {issuer: 'https://x', audience: []}}", "audience"),
        (
            "issuers: {p: {issuer: 'https://x', audience: [a], jwks_url: 'http://keys.example'}}",
            "jwks_url",
        ),
    ] {
        match CognitoSettings::from_yaml_str(&format!("{pool}{issuers}\n")) {
            Ok(_) => panic!("accepted {issuers}"),
            Err(e) => assert!(e.to_string().contains(field), "{issuers}: {e}"),
        }
    }
    let ok = CognitoSettings::from_yaml_str(&format!(
        "{pool}issuers: {{p: {{issuer: 'http://127.0.0.1:9', audience: [a], algorithms: [EdDSA]}}}}\n"
    ));
    assert!(ok.is_ok(), "{ok:?}");
}

/// Discovery that does not lead to keys (here a JWKS server with no discovery document) is a
/// key source that fails: `jwks_unavailable`, and the health report names the discovery step.
#[tokio::test]
async fn failed_discovery_gives_no_keys() -> Result<(), BoxError> {
    let key = EcKey::generate_p256("p256")?;
    let server = JwksServer::start(jwk_set([key.jwk()])).await?;
    let issuer = server.base_url();
    let settings = CognitoSettings::from_yaml_str(&format!(
        "userpools: {{eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: app, jwks_inline: {{keys: []}}}}}}\nissuers:\n  d:\n    issuer: {issuer}\n    audience: [{API}]\n    algorithms: [ES256]\n"
    ))?;
    let auth = CognitoAuth::new(&settings)?;
    let token = key.sign(&oidc_access_claims(&issuer, API, "read"))?;
    assert_eq!(
        kind(&auth, "d", &token, Require::NONE).await,
        Some(ErrorKind::JwksUnavailable)
    );
    let health = auth.health();
    let d = health.pools.iter().find(|p| p.pool == "d").ok_or("no health entry d")?;
    assert!(
        d.last_error().is_some_and(|e| e.contains("discovery document")),
        "{health}"
    );
    Ok(())
}
