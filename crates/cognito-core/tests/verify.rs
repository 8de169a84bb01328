//! The verification order: every rule, one error kind per test, against a real JWKS server
//! on 127.0.0.1 with real RSA keys and real signed tokens.

mod common;

use cognito_core::RequirementRef;
use cognito_core::{AuthError, CognitoSettings, CognitoToken, ErrorKind, Require, Verifier};
use cognito_testkit::{
    JwksServer, Reply, SigningKey, access_claims, aws_issuer, b64, client_credentials_claims, id_claims, jwks, now,
};
use common::{CLIENT_A, CLIENT_B, Fixture, POOL_ID, TestResult, kind_of, kind_with, settings_yaml};
use serde_json::json;

// ---- accepted tokens ----------------------------------------------------------------------

#[tokio::test]
async fn accepts_an_access_token() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut claims = f.access();
    claims["cognito:groups"] = json!(["admin", "staff"]);
    let token: CognitoToken = v.verify(&f.sign(&claims)?, Require::NONE).await?;
    assert_eq!(token.username(), Some("alice"));
    assert_eq!(token.client(), Some(CLIENT_A));
    assert_eq!(token.token_use, cognito_core::claims::TokenKind::Access);
    assert!(token.is_access_token());
    assert_eq!(token.groups, ["admin", "staff"]);
    assert!(token.has_scope("aws.cognito.signin.user.admin"));
    assert_eq!(token.iss, f.issuer);
    assert!(token.exp > now());
    Ok(())
}

#[tokio::test]
async fn accepts_an_id_token() -> TestResult {
    let f = Fixture::new().await?;
    let token: CognitoToken = f
        .verifier("")?
        .verify(&f.sign(&id_claims(&f.issuer, CLIENT_A))?, Require::NONE)
        .await?;
    assert_eq!(token.token_use, cognito_core::claims::TokenKind::Id);
    assert_eq!(token.username(), Some("alice"));
    assert_eq!(token.client(), Some(CLIENT_A));
    assert_eq!(token.email.as_deref(), Some("alice@example.com"));
    Ok(())
}

#[tokio::test]
async fn accepts_a_client_credentials_token() -> TestResult {
    let f = Fixture::new().await?;
    let claims = client_credentials_claims(&f.issuer, CLIENT_B);
    let token: CognitoToken = f.verifier("")?.verify(&f.sign(&claims)?, Require::NONE).await?;
    assert_eq!(token.username(), None);
    assert_eq!(token.sub.as_deref(), Some(CLIENT_B));
    assert!(token.has_scope("demo/read"));
    Ok(())
}

#[tokio::test]
async fn accepts_every_configured_client_and_only_those() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    for (client, expected) in [
        (CLIENT_A, None),
        (CLIENT_B, None),
        ("client-c", Some(ErrorKind::WrongClient)),
    ] {
        let access = f.sign(&access_claims(&f.issuer, client))?;
        let id = f.sign(&id_claims(&f.issuer, client))?;
        assert_eq!(kind_of(&v, &access).await, expected, "access token of {client}");
        assert_eq!(kind_of(&v, &id).await, expected, "id token of {client}");
    }
    Ok(())
}

#[tokio::test]
async fn the_tokens_are_standard_jwts() -> TestResult {
    // An independent implementation (jsonwebtoken) accepts what the testkit mints, so the
    // core and the testkit cannot agree on a private, wrong idea of a JWT.
    let f = Fixture::new().await?;
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(f.key.jwk())?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[&f.issuer]);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(&f.access_token()?, &key, &validation)?;
    assert_eq!(data.claims["username"], "alice");
    Ok(())
}

#[tokio::test]
async fn two_pools_each_accept_only_their_own_tokens() -> TestResult {
    let f = Fixture::new().await?;
    let us_key = SigningKey::generate("us-key")?;
    let us_server = JwksServer::start(jwks(&[&us_key])).await?;
    let us = json!({
        "region": "us-east-1",
        "userpool_id": "us-east-1_Two",
        "app_client_id": "client-us",
        "issuer": us_server.issuer("us-east-1_Two"),
        "jwks_url": us_server.jwks_url("us-east-1_Two"),
    });
    let yaml = settings_yaml("", &[("main", f.pool()), ("us", us)])?;
    let settings = CognitoSettings::from_yaml_str(&yaml)?;
    let main = Verifier::new(&settings)?;
    let us = Verifier::for_pool(&settings, "us")?;
    assert_eq!((main.pool(), us.pool()), ("main", "us"));
    let main_token = f.access_token()?;
    let us_token = us_key.sign(&access_claims(&us_server.issuer("us-east-1_Two"), "client-us"))?;
    assert_eq!(kind_of(&main, &main_token).await, None);
    assert_eq!(kind_of(&us, &us_token).await, None);
    assert_eq!(kind_of(&main, &us_token).await, Some(ErrorKind::WrongIssuer));
    assert_eq!(kind_of(&us, &main_token).await, Some(ErrorKind::WrongIssuer));
    Ok(())
}

#[tokio::test]
async fn both_aws_issuer_forms_are_trusted_by_default() -> TestResult {
    let key = SigningKey::generate("k")?;
    let server = JwksServer::start(jwks(&[&key])).await?;
    let settings = CognitoSettings::from_yaml_str(&format!(
        "userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: {POOL_ID}\n    app_client_id: {CLIENT_A}\n    jwks_url: {}\n",
        server.base_url() + "/jwks.json"
    ))?;
    let v = Verifier::new(&settings)?;
    let classic = aws_issuer("eu-west-1", POOL_ID);
    let replicated = format!("https://issuer-cognito-idp.eu-west-1.amazonaws.com/{POOL_ID}");
    for issuer in [classic, replicated] {
        assert_eq!(
            kind_of(&v, &key.sign(&access_claims(&issuer, CLIENT_A))?).await,
            None,
            "{issuer}"
        );
    }
    let other = aws_issuer("eu-west-1", "eu-west-1_Other");
    assert_eq!(
        kind_of(&v, &key.sign(&access_claims(&other, CLIENT_A))?).await,
        Some(ErrorKind::WrongIssuer)
    );
    // Both issuers share the one overridden URL, so one cache: one fetch.
    assert_eq!(server.hits(), 1);
    Ok(())
}

#[tokio::test]
async fn leeway_tolerates_skew_in_exp_and_nbf() -> TestResult {
    let f = Fixture::new().await?;
    let mut claims = f.access();
    claims["exp"] = json!(now() - 5);
    let expired_5s = f.sign(&claims)?;
    let mut claims = f.access();
    claims["nbf"] = json!(now() + 5);
    let early_5s = f.sign(&claims)?;
    let strict = f.verifier("")?;
    let lenient = f.verifier("leeway_seconds: 30")?;
    assert_eq!(kind_of(&strict, &expired_5s).await, Some(ErrorKind::Expired));
    assert_eq!(kind_of(&strict, &early_5s).await, Some(ErrorKind::NotYetValid));
    assert_eq!(kind_of(&lenient, &expired_5s).await, None);
    assert_eq!(kind_of(&lenient, &early_5s).await, None);
    Ok(())
}

#[tokio::test]
async fn check_expiration_false_skips_only_the_exp_comparison() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("check_expiration: false")?;
    let mut claims = f.access();
    claims["exp"] = json!(now() - 86_400);
    assert_eq!(kind_of(&v, &f.sign(&claims)?).await, None);
    claims.as_object_mut().map(|c| c.remove("exp"));
    assert_eq!(kind_of(&v, &f.sign(&claims)?).await, Some(ErrorKind::Malformed));
    let mut claims = f.access();
    claims["nbf"] = json!(now() + 600);
    assert_eq!(kind_of(&v, &f.sign(&claims)?).await, Some(ErrorKind::NotYetValid));
    Ok(())
}

#[tokio::test]
async fn fractional_dates_and_unread_claims_of_odd_types_are_fine() -> TestResult {
    let f = Fixture::new().await?;
    let mut claims = f.access();
    let base = now(); // once: a second may tick between two calls
    claims["exp"] = json!(base as f64 + 600.5);
    claims["email_verified"] = json!("true"); // moto's string form: not ours to judge
    claims["custom:whatever"] = json!({"nested": [1, 2]});
    let token: CognitoToken = f.verifier("")?.verify(&f.sign(&claims)?, Require::NONE).await?;
    assert_eq!(token.exp, base + 600, "the fraction is floored");
    Ok(())
}

#[derive(Debug, serde::Deserialize)]
struct TenantClaims {
    #[serde(flatten)]
    base: CognitoToken,
    #[serde(rename = "custom:tenant")]
    tenant: Option<String>,
}

#[tokio::test]
async fn a_custom_claims_type_reads_custom_attributes() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut claims = id_claims(&f.issuer, CLIENT_A);
    claims["custom:tenant"] = json!("acme");
    let token: TenantClaims = v.verify(&f.sign(&claims)?, Require::NONE).await?;
    assert_eq!(token.tenant.as_deref(), Some("acme"));
    assert_eq!(token.base.username(), Some("alice"));
    let token: TenantClaims = v.verify(&f.access_token()?, Require::NONE).await?;
    assert_eq!(token.tenant, None);
    // A signed token that does not fit the caller's type is a 401, never a 500.
    #[derive(Debug, serde::Deserialize)]
    struct NeedsTenant {
        #[serde(rename = "custom:tenant")]
        _tenant: String,
    }
    let err = v.verify::<NeedsTenant>(&f.access_token()?, Require::NONE).await.err();
    assert_eq!(err.map(|e| (e.kind(), e.status())), Some((ErrorKind::Malformed, 401)));
    Ok(())
}

// ---- one test per error kind, with its status and challenge ------------------------------

/// The error's HTTP form, as every adapter will send it.
fn assert_http(err: &AuthError, status: u16, challenge: Option<&str>) {
    assert_eq!(err.status(), status);
    match challenge {
        Some(prefix) => assert!(
            err.www_authenticate().is_some_and(|c| c.starts_with(prefix)),
            "{:?} does not start with {prefix}",
            err.www_authenticate()
        ),
        None => assert_eq!(err.www_authenticate(), None),
    }
    let body = serde_json::from_str::<serde_json::Value>(&err.body()).map_err(|e| e.to_string());
    let error = body.as_ref().map(|b| b["error"].as_str());
    assert_eq!(error, Ok(Some(err.kind().as_str())), "{}", err.body());
    let message = body
        .as_ref()
        .map(|b| b["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(message, Ok(true), "{}", err.body());
}

#[tokio::test]
async fn a_cookie_token_meets_the_size_cap_too() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("max_token_bytes: 64\ntoken_sources: [{cookie: id_token}]")?;
    let cookie = format!("id_token={}", "a".repeat(65));
    let err = v
        .authenticate::<CognitoToken>(&[("cookie", cookie.as_bytes())], Require::NONE)
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::TooLarge));
    Ok(())
}

async fn header_error(v: &Verifier, value: &[u8]) -> Option<AuthError> {
    v.authenticate::<CognitoToken>(&[(v.header_name(), value)], Require::NONE)
        .await
        .err()
}

#[tokio::test]
async fn missing_token() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    for err in [
        v.authenticate::<CognitoToken>(&http::HeaderMap::new(), Require::NONE)
            .await
            .err(),
        header_error(&v, b"").await,
        header_error(&v, b"   ").await,
    ] {
        let err = err.ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::MissingToken);
        assert_eq!(err.www_authenticate().as_deref(), Some("Bearer"));
        assert_http(&err, 401, Some("Bearer"));
    }
    // Optional authentication: absent or empty is anonymous...
    let none: Option<CognitoToken> = v.authenticate_optional(&http::HeaderMap::new(), Require::NONE).await?;
    assert!(none.is_none());
    let none: Option<CognitoToken> = v
        .authenticate_optional(&[("authorization", &b""[..])], Require::NONE)
        .await?;
    assert!(none.is_none());
    // ...but a bad token never is.
    let err = v
        .authenticate_optional::<CognitoToken>(&[("authorization", &b"Bearer x.y.z"[..])], Require::NONE)
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Malformed));
    let ok: Option<CognitoToken> = v
        .authenticate_optional(
            &[("authorization", format!("Bearer {}", f.access_token()?).as_bytes())],
            Require::NONE,
        )
        .await?;
    assert!(ok.is_some());
    Ok(())
}

#[tokio::test]
async fn invalid_header() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let token = f.access_token()?;
    for value in [
        format!("Basic {token}"),
        "Bearer".to_owned(),
        format!("Bearer {token} extra"),
        token.clone(),
        format!("Bearer\t{token}"),
    ] {
        let err = header_error(&v, value.as_bytes()).await.ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::InvalidHeader, "{value}");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    let twice = v
        .authenticate::<CognitoToken>(
            &[
                ("authorization", format!("Bearer {token}").as_bytes()),
                ("authorization", format!("Bearer {token}").as_bytes()),
            ],
            Require::NONE,
        )
        .await
        .err();
    assert_eq!(twice.map(|e| e.kind()), Some(ErrorKind::InvalidHeader));
    // RFC 7235: the scheme is case-insensitive and any number of spaces may follow it.
    for value in [format!("bearer {token}"), format!("BEARER    {token}")] {
        assert!(header_error(&v, value.as_bytes()).await.is_none(), "{value}");
    }
    // An empty prefix takes the raw token; a space in it is then invalid.
    let raw = f.verifier("jwt_header_prefix: ''")?;
    assert!(header_error(&raw, token.as_bytes()).await.is_none());
    let err = header_error(&raw, format!("Bearer {token}").as_bytes()).await;
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidHeader));
    // A custom scheme replaces Bearer in the header, but the challenge stays Bearer.
    let custom = f.verifier("jwt_header_prefix: JWT\njwt_header_name: X-Auth")?;
    assert_eq!(custom.header_name(), "X-Auth");
    assert!(header_error(&custom, format!("jwt {token}").as_bytes()).await.is_none());
    let err = header_error(&custom, format!("Bearer {token}").as_bytes())
        .await
        .ok_or("accepted")?;
    assert!(err.www_authenticate().is_some_and(|c| c.starts_with("Bearer error=")));
    Ok(())
}

#[tokio::test]
async fn too_large() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("max_token_bytes: 2000")?;
    let mut claims = f.access();
    claims["padding"] = json!("x".repeat(2000));
    let big = f.sign(&claims)?;
    let err = header_error(&v, format!("Bearer {big}").as_bytes())
        .await
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    assert_eq!(kind_of(&v, &big).await, Some(ErrorKind::TooLarge));
    assert_eq!(kind_of(&v, &f.access_token()?).await, None);
    assert_eq!(f.server.hits(), 1, "the oversized token caused no fetch");
    Ok(())
}

#[tokio::test]
async fn malformed() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let good = f.access_token()?;
    let header = r#"{"kid":"key-1","alg":"RS256"}"#;
    let claims = f.access().to_string();
    let dup_claims = claims.replacen('{', r#"{"iss":"https://evil.example","#, 1);
    let mut no_exp = f.access();
    no_exp.as_object_mut().map(|c| c.remove("exp"));
    let mut groups_string = f.access();
    groups_string["cognito:groups"] = json!("admin");
    let mut exp_string = f.access();
    exp_string["exp"] = json!((now() + 60).to_string());
    let mut aud_list = id_claims(&f.issuer, CLIENT_A);
    aud_list["aud"] = json!([CLIENT_A]);
    let bad = [
        "".to_owned(),
        "abc".to_owned(),
        format!("{good}.extra"),
        format!("{good}="),
        good.replacen('.', ". ", 1),
        format!("{}.{}.{}", b64("not json"), b64(&claims), "sig"),
        format!("{}.{}.{}", b64("[]"), b64(&claims), "sig"),
        f.key
            .sign_parts("RS256", r#"{"kid":"key-1","alg":"RS256","kid":"key-2"}"#, &claims)?,
        f.key.sign_parts("RS256", header, &dup_claims)?,
        f.key.sign_parts("RS256", r#"{"kid":7,"alg":"RS256"}"#, &claims)?,
        f.key
            .sign_parts("RS256", r#"{"kid":"key-1","alg":"RS256","crit":["exp"]}"#, &claims)?,
        f.key.sign_parts("RS256", header, "[1,2]")?,
        f.sign(&no_exp)?,
        f.sign(&groups_string)?,
        f.sign(&exp_string)?,
        f.sign(&aud_list)?,
        // Duplicates below the top level: parsers disagree on which one wins.
        f.key.sign_parts(
            "RS256",
            header,
            &nested_dup(&claims, r#"{"role":"user","role":"admin"}"#),
        )?,
        f.key.sign_parts(
            "RS256",
            header,
            &nested_dup(&claims, r#"[{"a":1},{"b":{"c":1,"c":2}}]"#),
        )?,
        f.key
            .sign_parts("RS256", header, &nested_dup(&claims, r#"{"r\u006fle":1,"role":2}"#))?,
        f.key.sign_parts(
            "RS256",
            r#"{"kid":"key-1","alg":"RS256","jwk":{"e":"AQAB","e":"AQAB"}}"#,
            &claims,
        )?,
    ];
    for token in &bad {
        let err = v
            .verify::<CognitoToken>(token, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::Malformed, "{token}");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    assert_eq!(f.server.hits(), 0, "malformed tokens caused no fetch");
    Ok(())
}

/// `claims` (a JSON object's text) with a member `"x"` whose value is `value`.
fn nested_dup(claims: &str, value: &str) -> String {
    claims.replacen('{', &format!(r#"{{"x":{value},"#), 1)
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct WithNested {
    sub: String,
    x: Inner,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Inner {
    role: String,
}

/// What four claims types read from `token`: a nested struct, the default type, a `Value`, a
/// flattened custom type.
async fn answers(v: &Verifier, token: &str) -> impl PartialEq + std::fmt::Debug + use<> {
    let kind = |e: AuthError| e.kind();
    (
        v.verify::<WithNested>(token, Require::NONE).await.map_err(kind),
        v.verify::<CognitoToken>(token, Require::NONE)
            .await
            .map(|t| t.sub)
            .map_err(kind),
        v.verify::<serde_json::Value>(token, Require::NONE)
            .await
            .map(|c| c["x"].clone())
            .map_err(kind),
        v.verify::<TenantClaims>(token, Require::NONE)
            .await
            .map(|c| c.tenant)
            .map_err(kind),
    )
}

/// The same token gives the same answer every time, whichever claims type reads it: the first
/// verification (full path), the second (full path, remembered) and every later one (a hit).
#[tokio::test]
async fn the_same_token_answers_the_same_five_times_for_every_claims_type() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let header = r#"{"kid":"key-1","alg":"RS256"}"#;
    let claims = f.access().to_string();
    let dup = f.key.sign_parts(
        "RS256",
        header,
        &nested_dup(&claims, r#"{"role":"user","role":"admin"}"#),
    )?;
    let plain = f
        .key
        .sign_parts("RS256", header, &nested_dup(&claims, r#"{"role":"user"}"#))?;
    for token in [&dup, &plain] {
        let first = answers(&v, token).await;
        for round in 2..=5 {
            let again = answers(&v, token).await;
            assert_eq!(again, first, "round {round} of {token}");
        }
    }
    assert_eq!(
        v.verify::<WithNested>(&dup, Require::NONE)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::Malformed)
    );
    let read: WithNested = v.verify(&plain, Require::NONE).await?;
    assert_eq!(read.x, Inner { role: "user".into() });
    assert!(v.token_cache_stats().hits > 0, "later rounds were cache hits");
    Ok(())
}

/// Informational claims (not among the claims verification reads) are never judged by the
/// default claims type: one of another type reads as absent.
#[tokio::test]
async fn informational_claims_of_other_types_read_as_absent() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut claims = id_claims(&f.issuer, CLIENT_A);
    claims["origin_jti"] = json!(5);
    claims["identities"] = json!("x");
    claims["event_id"] = json!({"nested": [1]});
    claims["email"] = json!(["a@example.com"]);
    let token: CognitoToken = v.verify(&f.sign(&claims)?, Require::NONE).await?;
    assert_eq!(token.username(), Some("alice"));
    assert_eq!((token.origin_jti, token.event_id, token.email), (None, None, None));
    claims["email"] = json!("a@example.com");
    let token: CognitoToken = v.verify(&f.sign(&claims)?, Require::NONE).await?;
    assert_eq!(token.email.as_deref(), Some("a@example.com"));
    Ok(())
}

/// A JOSE header without `alg` names no allowed algorithm: `unsupported_alg`, not `malformed`.
#[tokio::test]
async fn a_header_without_alg_is_unsupported_alg() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let token = f
        .key
        .sign_parts("RS256", r#"{"kid":"key-1"}"#, &f.access().to_string())?;
    assert_eq!(kind_of(&v, &token).await, Some(ErrorKind::UnsupportedAlg));
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

/// Ordinary tokens carry an `nbf` in the past, and a leeway moves each time boundary by
/// exactly its length, never the other way.
#[tokio::test]
async fn time_boundaries_with_and_without_leeway() -> TestResult {
    let f = Fixture::new().await?;
    let strict = f.verifier("")?;
    let lenient = f.verifier("leeway_seconds: 30")?;
    let base = now();
    let with = |name: &str, at: i64| {
        let mut claims = f.access();
        claims[name] = json!(at);
        f.sign(&claims)
    };
    let cases = [
        // (claim, value, strict answer, answer with 30 s of leeway)
        ("nbf", base - 3_600, None, None),
        ("nbf", base - 1, None, None),
        ("nbf", base + 20, Some(ErrorKind::NotYetValid), None),
        (
            "nbf",
            base + 120,
            Some(ErrorKind::NotYetValid),
            Some(ErrorKind::NotYetValid),
        ),
        ("iat", base - 3_600, None, None),
        ("iat", base + 30, None, None),
        ("iat", base + 80, Some(ErrorKind::NotYetValid), None),
        (
            "iat",
            base + 200,
            Some(ErrorKind::NotYetValid),
            Some(ErrorKind::NotYetValid),
        ),
        ("exp", base + 3_600, None, None),
        ("exp", base - 10, Some(ErrorKind::Expired), None),
        ("exp", base - 120, Some(ErrorKind::Expired), Some(ErrorKind::Expired)),
    ];
    for (claim, at, expect_strict, expect_lenient) in cases {
        let token = with(claim, at)?;
        assert_eq!(kind_of(&strict, &token).await, expect_strict, "{claim} {}", at - base);
        assert_eq!(
            kind_of(&lenient, &token).await,
            expect_lenient,
            "{claim} {} with leeway",
            at - base
        );
    }
    Ok(())
}

/// The core's own header entry points, as every adapter calls them.
#[tokio::test]
async fn optional_authentication_and_the_header_settings() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    assert_eq!((v.header_name(), v.header_prefix()), ("Authorization", "Bearer"));
    let raw = f.verifier("jwt_header_name: X-Token\njwt_header_prefix: ''")?;
    assert_eq!((raw.header_name(), raw.header_prefix()), ("X-Token", ""));
    let token = f.access_token()?;
    let bearer = format!("Bearer {token}");
    let none = v
        .authenticate_optional::<CognitoToken>(&http::HeaderMap::new(), Require::NONE)
        .await?;
    assert!(none.is_none());
    let blank = v
        .authenticate_optional::<CognitoToken>(&[("authorization", &b"  "[..])], Require::NONE)
        .await?;
    assert!(blank.is_none());
    let user = v
        .authenticate_optional::<CognitoToken>(&[("authorization", bearer.as_bytes())], Require::NONE)
        .await?;
    assert_eq!(user.and_then(|u| u.username().map(str::to_owned)), Some("alice".into()));
    let basic = format!("Basic {token}");
    let err = v
        .authenticate_optional::<CognitoToken>(&[("authorization", basic.as_bytes())], Require::NONE)
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::InvalidHeader));
    let mut claims = f.access();
    claims["exp"] = json!(now() - 10);
    let expired = format!("Bearer {}", f.sign(&claims)?);
    let err = v
        .authenticate_optional::<CognitoToken>(&[("authorization", expired.as_bytes())], Require::NONE)
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Expired), "never anonymous");
    let err = v
        .authenticate_optional::<CognitoToken>(
            &[("authorization", bearer.as_bytes())],
            Require::NONE.any_group(&["admin"]),
        )
        .await
        .err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::ForbiddenGroup));
    let user = raw
        .authenticate_optional::<CognitoToken>(&[("x-token", token.as_bytes())], Require::NONE)
        .await?;
    assert!(user.is_some(), "the raw-token header");
    Ok(())
}

#[tokio::test]
async fn unsupported_alg() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let claims = f.access();
    let none_empty_sig = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","kid":"key-1"}"#),
        b64(claims.to_string())
    );
    let mut tokens = vec![none_empty_sig];
    for alg in ["none", "HS256", "PS256", "ES256", "RS384", "rs256"] {
        tokens.push(f.key.sign_with_header(&json!({"alg": alg, "kid": "key-1"}), &claims)?);
    }
    for token in &tokens {
        let err = v
            .verify::<CognitoToken>(token, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::UnsupportedAlg, "{token}");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    // RS384 is accepted once allowed (by a JWK that does not pin RS256).
    let mut unpinned = f.key.jwk();
    unpinned.as_object_mut().map(|k| k.remove("alg"));
    f.server.set_jwks(json!({ "keys": [unpinned] }));
    let rs384 = f.verifier("algorithms: [RS256, RS384]")?;
    let token = f
        .key
        .sign_with_header(&json!({"alg": "RS384", "kid": "key-1"}), &claims)?;
    assert_eq!(kind_of(&rs384, &token).await, None);
    assert_eq!(f.server.hits(), 1, "only the allowed token fetched keys");
    Ok(())
}

#[tokio::test]
async fn wrong_issuer() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    for iss in [
        json!("https://evil.example/eu-west-1_Test1"),
        json!(format!("{}/", f.issuer)),
        json!(null),
    ] {
        let mut claims = f.access();
        claims["iss"] = iss.clone();
        if iss.is_null() {
            claims.as_object_mut().map(|c| c.remove("iss"));
        }
        let err = v
            .verify::<CognitoToken>(&f.sign(&claims)?, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::WrongIssuer, "{iss}");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn wrong_token_use() -> TestResult {
    let f = Fixture::new().await?;
    let any = f.verifier("")?;
    let mut foo = f.access();
    foo["token_use"] = json!("foo");
    let mut absent = f.access();
    absent.as_object_mut().map(|c| c.remove("token_use"));
    for claims in [foo, absent] {
        let err = any
            .verify::<CognitoToken>(&f.sign(&claims)?, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::WrongTokenUse);
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    let only = |token_use: &str| -> Result<Verifier, Box<dyn std::error::Error>> {
        let mut pool = f.pool();
        pool["token_use"] = json!(token_use);
        let settings = CognitoSettings::from_yaml_str(&settings_yaml("", &[("main", pool)])?)?;
        Ok(Verifier::new(&settings)?)
    };
    let (access_only, id_only) = (only("access")?, only("id")?);
    let access = f.access_token()?;
    let id = f.sign(&id_claims(&f.issuer, CLIENT_A))?;
    assert_eq!(kind_of(&access_only, &access).await, None);
    assert_eq!(kind_of(&access_only, &id).await, Some(ErrorKind::WrongTokenUse));
    assert_eq!(kind_of(&id_only, &id).await, None);
    assert_eq!(kind_of(&id_only, &access).await, Some(ErrorKind::WrongTokenUse));
    Ok(())
}

#[tokio::test]
async fn wrong_client() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    // Access tokens are judged by client_id only, ID tokens by aud only.
    let mut access_with_aud = access_claims(&f.issuer, "other");
    access_with_aud["aud"] = json!(CLIENT_A);
    let mut id_with_client_id = id_claims(&f.issuer, "other");
    id_with_client_id["client_id"] = json!(CLIENT_A);
    let mut no_client = f.access();
    no_client.as_object_mut().map(|c| c.remove("client_id"));
    for claims in [access_with_aud, id_with_client_id, no_client] {
        let err = v
            .verify::<CognitoToken>(&f.sign(&claims)?, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::WrongClient, "{claims}");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn expired() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    for exp in [now() - 1, now(), 0] {
        let mut claims = f.access();
        claims["exp"] = json!(exp);
        let err = v
            .verify::<CognitoToken>(&f.sign(&claims)?, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::Expired);
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    assert_eq!(f.server.hits(), 0);
    Ok(())
}

#[tokio::test]
async fn not_yet_valid() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let mut nbf = f.access();
    nbf["nbf"] = json!(now() + 120);
    let mut iat = f.access();
    iat["iat"] = json!(now() + 3600);
    for claims in [nbf, iat] {
        let err = v
            .verify::<CognitoToken>(&f.sign(&claims)?, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::NotYetValid);
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    // iat a little ahead (ordinary skew) is fine.
    let mut skewed = f.access();
    skewed["iat"] = json!(now() + 30);
    assert_eq!(kind_of(&v, &f.sign(&skewed)?).await, None);
    Ok(())
}

#[tokio::test]
async fn unknown_kid() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let stranger = SigningKey::generate("key-unknown")?;
    let no_kid = f.key.sign_with_header(&json!({"alg": "RS256"}), &f.access())?;
    for token in [stranger.sign(&f.access())?, no_kid] {
        let err = v
            .verify::<CognitoToken>(&token, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::UnknownKid);
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    Ok(())
}

#[tokio::test]
async fn invalid_jwk() -> TestResult {
    let f = Fixture::new().await?;
    let mut small = f.key.jwk();
    small["kid"] = json!("small");
    small["n"] = json!(b64([0xC3u8; 128])); // 1024 bits
    let mut encryption = f.key.jwk();
    encryption["kid"] = json!("enc");
    encryption["use"] = json!("enc");
    let mut rs512 = f.key.jwk();
    rs512["kid"] = json!("rs512");
    rs512["alg"] = json!("RS512");
    let oct = json!({"kty": "oct", "kid": "oct", "k": b64("secret-secret-secret")});
    let ec = json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64([1u8; 32]), "y": b64([2u8; 32])});
    let dup_a = f.key.jwk();
    let mut dup = f.key.jwk();
    dup["kid"] = json!("dup");
    let dup_b = dup.clone();
    f.server
        .set_jwks(json!({"keys": [dup_a, small, encryption, rs512, oct, ec, dup, dup_b]}));
    let v = f.verifier("")?;
    assert_eq!(kind_of(&v, &f.access_token()?).await, None, "the good key still works");
    for kid in ["small", "enc", "rs512", "oct", "ec", "dup"] {
        let token = f
            .key
            .sign_with_header(&json!({"alg": "RS256", "kid": kid}), &f.access())?;
        let err = v
            .verify::<CognitoToken>(&token, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::InvalidJwk, "{kid}");
        assert!(err.detail().is_some(), "the operator learns why");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    Ok(())
}

#[tokio::test]
async fn bad_signature() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let impostor = SigningKey::generate("key-1")?; // same kid, other key
    let good = f.access_token()?;
    let (head, sig) = good.rsplit_once('.').ok_or("no dot")?;
    let mut other_claims = f.access();
    other_claims["username"] = json!("mallory");
    let other = f.sign(&other_claims)?;
    let other_payload = other.split('.').nth(1).ok_or("no payload")?;
    let header_part = good.split('.').next().ok_or("no header")?;
    let swapped = format!("{header_part}.{other_payload}");
    for token in [
        impostor.sign(&f.access())?,
        format!("{swapped}.{sig}"),
        format!("{head}."),
        format!("{head}.{}", b64([0u8; 256])),
        format!("{head}.{}", b64([7u8; 10])),
    ] {
        let err = v
            .verify::<CognitoToken>(&token, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!(err.kind(), ErrorKind::BadSignature, "{token}");
        assert_http(&err, 401, Some("Bearer error=\"invalid_token\""));
    }
    assert_eq!(kind_of(&v, &good).await, None);
    Ok(())
}

#[tokio::test]
async fn forbidden_group() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let admins = Require::NONE.any_group(&["admin", "ops"]);
    let mut claims = f.access();
    claims["cognito:groups"] = json!(["staff"]);
    let staff = f.sign(&claims)?;
    claims["cognito:groups"] = json!(["staff", "ops"]);
    let ops = f.sign(&claims)?;
    let err = v.verify::<CognitoToken>(&staff, admins).await.err().ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::ForbiddenGroup);
    assert_http(&err, 403, Some("Bearer error=\"insufficient_scope\""));
    assert_eq!(
        kind_with(&v, &f.access_token()?, admins).await,
        Some(ErrorKind::ForbiddenGroup)
    );
    assert_eq!(kind_with(&v, &ops, admins).await, None);
    // Authorization comes after authentication: a forged admin token is a 401.
    let forged = SigningKey::generate("key-1")?.sign(&claims)?;
    assert_eq!(kind_with(&v, &forged, admins).await, Some(ErrorKind::BadSignature));
    Ok(())
}

#[tokio::test]
async fn forbidden_scope() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let readers = Require::NONE.any_scope(&["demo/read"]);
    let mut claims = f.access();
    claims["scope"] = json!("openid demo/readwrite");
    let err = v
        .verify::<CognitoToken>(&f.sign(&claims)?, readers)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::ForbiddenScope);
    assert_http(&err, 403, Some("Bearer error=\"insufficient_scope\""));
    claims["scope"] = json!("openid demo/read");
    assert_eq!(kind_with(&v, &f.sign(&claims)?, readers).await, None);
    let both = Require::NONE.any_group(&["admin"]).any_scope(&["demo/read"]);
    assert_eq!(
        kind_with(&v, &f.sign(&claims)?, both).await,
        Some(ErrorKind::ForbiddenGroup)
    );
    claims["cognito:groups"] = json!(["admin"]);
    assert_eq!(kind_with(&v, &f.sign(&claims)?, both).await, None);
    Ok(())
}

#[tokio::test]
async fn jwks_unavailable() -> TestResult {
    let f = Fixture::new().await?;
    f.server.set_reply(Reply::Status(500));
    let v = f.verifier("")?;
    let err = v
        .verify::<CognitoToken>(&f.access_token()?, Require::NONE)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::JwksUnavailable);
    assert_http(&err, 503, None);
    assert!(err.retry_after_secs().is_some_and(|s| s >= 1));
    assert!(err.headers().iter().any(|(name, _)| *name == "retry-after"));
    assert!(err.detail().is_some_and(|d| d.contains("500")), "{:?}", err.detail());
    assert!(!err.body().contains("500"), "upstream details stay out of the response");
    Ok(())
}

#[test]
fn every_kind_has_a_distinct_stable_name() {
    let names: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), ErrorKind::ALL.len());
    assert_eq!(ErrorKind::ALL.len(), 20);
    for kind in ErrorKind::ALL {
        assert!(kind.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        let expected = match kind {
            ErrorKind::ForbiddenPrincipal | ErrorKind::ForbiddenGroup | ErrorKind::ForbiddenScope => 403,
            ErrorKind::JwksUnavailable => 503,
            _ => 401,
        };
        assert_eq!(kind.status(), expected);
    }
}

#[tokio::test]
async fn verify_cached_never_does_io() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let token = f.access_token()?;
    let cold = v
        .verify_cached::<CognitoToken>(&token, Require::NONE)
        .err()
        .map(|e| e.kind());
    assert_eq!(cold, Some(ErrorKind::JwksUnavailable));
    assert_eq!(f.server.hits(), 0);
    assert_eq!(v.prefetch().await?, 1);
    let _: CognitoToken = v.verify_cached(&token, Require::NONE)?;
    let stranger = SigningKey::generate("nope")?.sign(&f.access())?;
    let miss = v
        .verify_cached::<CognitoToken>(&stranger, Require::NONE)
        .err()
        .map(|e| e.kind());
    assert_eq!(miss, Some(ErrorKind::UnknownKid));
    assert_eq!(f.server.hits(), 1);
    Ok(())
}

struct Admins;
impl cognito_core::Policy for Admins {
    const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
}

/// The fixture's pool, by name.
struct Main;
impl cognito_core::Policy for Main {
    const POOL: Option<&'static str> = Some("main");
}

struct Nowhere;
impl cognito_core::Policy for Nowhere {
    const POOL: Option<&'static str> = Some("nowhere");
}

#[tokio::test]
async fn cognito_auth_applies_a_route_policy() -> TestResult {
    use cognito_core::{AnyUser, CognitoAuth, Rejection};
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    assert_eq!(auth.header_name(), "Authorization");
    let mut claims = f.access();
    let plain = format!("Bearer {}", f.sign(&claims)?);
    claims["cognito:groups"] = json!(["admin"]);
    let admin = format!("Bearer {}", f.sign(&claims)?);
    let user: CognitoToken = auth
        .authenticate::<_>(&[("authorization", plain.as_bytes())], RequirementRef::of::<AnyUser>())
        .await?;
    assert_eq!(user.username(), Some("alice"));
    let denied = auth
        .authenticate::<CognitoToken>(&[("authorization", plain.as_bytes())], RequirementRef::of::<Admins>())
        .await
        .err();
    assert_eq!(
        denied.as_ref().and_then(Rejection::kind),
        Some(ErrorKind::ForbiddenGroup)
    );
    assert_eq!(denied.map(|r| r.status()), Some(403));
    let _: CognitoToken = auth
        .authenticate::<_>(&[("authorization", admin.as_bytes())], RequirementRef::of::<Admins>())
        .await?;
    let anonymous: Option<CognitoToken> = auth
        .authenticate_optional::<_>(&http::HeaderMap::new(), RequirementRef::of::<AnyUser>())
        .await?;
    assert!(anonymous.is_none());
    let signed_in: Option<CognitoToken> = auth
        .authenticate_optional::<_>(&[("authorization", plain.as_bytes())], RequirementRef::of::<AnyUser>())
        .await?;
    assert_eq!(
        signed_in.and_then(|u| u.username().map(str::to_owned)),
        Some("alice".into())
    );
    let refused = auth
        .authenticate_optional::<CognitoToken>(&[("authorization", plain.as_bytes())], RequirementRef::of::<Admins>())
        .await
        .err();
    assert_eq!(refused.and_then(|r| r.kind()), Some(ErrorKind::ForbiddenGroup));
    assert_eq!(auth.header_prefix(), "Bearer");
    // Policies checked at start-up: a configured pool or none is fine, a missing one is not.
    assert!(auth.check_policy::<AnyUser>().is_ok());
    assert!(auth.check_policy::<Admins>().is_ok());
    assert!(auth.check_policy::<Main>().is_ok());
    let err = auth.check_policy::<Nowhere>().err();
    assert_eq!(err.as_ref().and_then(|e| e.pool()), Some("nowhere"));
    let names: Vec<&str> = auth.pools().map(Verifier::pool).collect();
    assert_eq!(names, ["main"]);
    assert_eq!(format!("{:?}", auth.default_pool()), r#"Verifier { pool: "main", .. }"#);
    let raw = CognitoAuth::new(&f.settings("jwt_header_name: X-Token\njwt_header_prefix: ''")?)?;
    assert_eq!((raw.header_name(), raw.header_prefix()), ("X-Token", ""));
    // A policy naming a pool the settings lack is the server's mistake: 500, nothing revealed.
    let err = auth
        .authenticate::<CognitoToken>(&[("authorization", admin.as_bytes())], RequirementRef::of::<Nowhere>())
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(
        (err.status(), err.kind(), err.headers()),
        (500, None, vec![("content-type", "application/json".to_owned())])
    );
    assert_eq!(err.error_code(), "server_misconfigured");
    assert!(err.body().contains("server_misconfigured") && !err.body().contains("nowhere"));
    Ok(())
}
