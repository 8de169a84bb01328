//! The issuers' settings, discovery documents and claims rules.

use super::*;

fn settings(yaml: &str) -> Result<Vec<OidcIssuer>, ConfigError> {
    issuers_from_yaml_str(yaml)
}

fn field_of(e: &ConfigError) -> String {
    match e {
        ConfigError::Invalid { field, .. } => field.to_string(),
        other => format!("{other}"),
    }
}

#[test]
fn defaults_and_discovery() -> Result<(), ConfigError> {
    let issuers = settings("auth0:\n  issuer: https://tenant.eu.auth0.com/\n  audience: [https://api]\n")?;
    let auth0 = &issuers[0];
    assert_eq!(auth0.algorithms, [JwsAlgorithm::RS256]);
    assert_eq!(auth0.token_type, TokenType::Any);
    assert_eq!(
        auth0.discovery_url().as_deref(),
        Some("https://tenant.eu.auth0.com/.well-known/openid-configuration")
    );
    assert_eq!(auth0.key_source(), None);
    // A path is kept: discovery appends to it (Keycloak's realms, Entra's tenants).
    let kc = OidcIssuer::new("kc", "https://sso.example/realms/main", ["api"]);
    assert_eq!(
        kc.discovery_url().as_deref(),
        Some("https://sso.example/realms/main/.well-known/openid-configuration")
    );
    Ok(())
}

#[test]
fn out_of_range_fails_at_load_naming_the_field() {
    for (yaml, field) in [
        ("x:\n  audience: [a]\n", "issuer"),
        ("x:\n  issuer: not a url\n  audience: [a]\n", "issuer"),
        ("x:\n  issuer: ftp://host\n  audience: [a]\n", "issuer"),
        ("x:\n  issuer: http://idp.example\n  audience: [a]\n", "issuer"),
        ("x:\n  issuer: https://idp.example?x=1\n  audience: [a]\n", "issuer"),
        ("x:\n  issuer: https://idp.example\n", "audience"),
        ("x:\n  issuer: https://idp.example\n  audience: []\n", "audience"),
        ("x:\n  issuer: https://idp.example\n  audience: ['']\n", "audience"),
        (
            "x:\n  issuer: https://idp.example\n  audience: [a]\n  jwks_url: http://keys.example/jwks\n",
            "jwks_url",
        ),
        (
            "x:\n  issuer: https://idp.example\n  audience: [a]\n  algorithms: []\n",
            "algorithms",
        ),
        (
            "x:\n  issuer: https://idp.example\n  audience: [a]\n  algorithms: [ES256, ES256]\n",
            "algorithms",
        ),
    ] {
        match settings(yaml) {
            Ok(_) => panic!("accepted: {yaml}"),
            Err(e) => assert_eq!(field_of(&e), field, "{yaml}: {e}"),
        }
    }
    // Names outside the list do not even parse.
    for bad in ["HS256", "none", "PS256", "ES512", "es256"] {
        let yaml = format!("x:\n  issuer: https://idp.example\n  audience: [a]\n  algorithms: [{bad}]\n");
        assert!(settings(&yaml).is_err(), "{bad}");
    }
    let yaml = "x:\n  issuer: https://idp.example\n  audience: [a]\n  token_type: id\n";
    assert!(settings(yaml).is_err());
}

#[test]
fn plain_http_only_on_loopback() -> Result<(), ConfigError> {
    let local = settings(
        "local:\n  issuer: http://127.0.0.1:9000\n  audience: [a]\n  jwks_url: http://localhost:9000/jwks\n  algorithms: [ES256, EdDSA, RS512]\n  token_type: at+jwt\n",
    )?;
    assert_eq!(local[0].token_type, TokenType::AtJwt);
    let remote = OidcIssuer::new("r", "http://idp.example", ["a"]);
    assert!(validate_issuers(std::slice::from_ref(&remote), [], false).is_err());
    validate_issuers(&[remote], [], true)?;
    Ok(())
}

#[test]
fn debug_hides_key_url_credentials() {
    let mut issuer = OidcIssuer::new("x", "https://idp.example", ["a"]);
    issuer.jwks_url = Some("https://user:hunter2@keys.example/jwks?sig=secret".to_owned());
    let shown = format!("{issuer:?}");
    assert!(!shown.contains("hunter2") && !shown.contains("secret"), "{shown}");
    assert!(shown.contains("https://keys.example/jwks"), "{shown}");
}

#[test]
fn names_are_unique_among_pools_and_issuers() {
    let one = OidcIssuer::new("eu", "https://idp.example", ["a"]);
    let e = validate_issuers(std::slice::from_ref(&one), ["eu", "us"], false);
    assert!(
        matches!(e, Err(ConfigError::Invalid { ref field, .. }) if field == "issuers"),
        "{e:?}"
    );
    let e = validate_issuers(&[one.clone(), one.clone()], [], false);
    assert!(e.is_err());
    assert!(settings("a:\n  issuer: https://x\n  audience: [a]\na:\n  issuer: https://y\n  audience: [a]\n").is_err());
    assert!(validate_issuers(&[OidcIssuer::new("", "https://x", ["a"])], [], false).is_err());
}

fn rules(token_type: TokenType) -> OidcRules {
    OidcIssuer {
        token_type,
        algorithms: vec![JwsAlgorithm::RS256, JwsAlgorithm::ES256],
        ..OidcIssuer::new("x", "https://idp.example", ["api-1", "api-2"])
    }
    .rules()
}

#[test]
fn header_policy() {
    let any = rules(TokenType::Any);
    assert_eq!(any.check_header(Some("ES256"), None).ok(), Some(JwsAlgorithm::ES256));
    for alg in [None, Some("ES384"), Some("HS256"), Some("none"), Some("rs256")] {
        let e = any.check_header(alg, None).err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::UnsupportedAlg), "{alg:?}");
    }
    let at = rules(TokenType::AtJwt);
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"] {
        assert!(at.check_header(Some("RS256"), Some(typ)).is_ok(), "{typ}");
    }
    for typ in [
        None,
        Some("JWT"),
        Some("jwt"),
        Some("application/jwt"),
        Some("at+jwt2"),
        Some("x/at+jwt"),
    ] {
        let e = at.check_header(Some("RS256"), typ).err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::WrongTokenUse), "{typ:?}");
    }
}

#[test]
fn issuer_then_audience() {
    let r = rules(TokenType::Any);
    let claims = |json: &'static str| serde_json::from_str::<OidcClaims<'static>>(json).unwrap_or_default();
    let ok = claims(r#"{"iss":"https://idp.example","aud":["other","api-2"]}"#);
    assert!(r.check_claims(ok.iss.as_deref(), ok.aud.iter()).is_ok());
    let one = claims(r#"{"iss":"https://idp.example","aud":"api-1"}"#);
    assert!(r.check_claims(one.iss.as_deref(), one.aud.iter()).is_ok());
    for (json, kind) in [
        (
            r#"{"iss":"https://idp.example/","aud":"api-1"}"#,
            ErrorKind::WrongIssuer,
        ),
        (r#"{"aud":"api-1"}"#, ErrorKind::WrongIssuer),
        (r#"{"iss":"https://idp.example","aud":"api-3"}"#, ErrorKind::WrongClient),
        (r#"{"iss":"https://idp.example","aud":[]}"#, ErrorKind::WrongClient),
        (r#"{"iss":"https://idp.example"}"#, ErrorKind::WrongClient),
        // The wrong issuer is named first, even with the wrong audience too.
        (r#"{"iss":"https://evil.example","aud":"nope"}"#, ErrorKind::WrongIssuer),
    ] {
        let c = claims(json);
        let e = r.check_claims(c.iss.as_deref(), c.aud.iter()).err().map(|e| e.kind());
        assert_eq!(e, Some(kind), "{json}");
    }
}

#[test]
fn claim_types_are_strict() {
    for json in [
        r#"{"aud":5}"#,
        r#"{"aud":["a",5]}"#,
        r#"{"iss":1}"#,
        r#"{"scp":"read"}"#,
        r#"{"scope":["read"]}"#,
        r#"{"exp":"1"}"#,
    ] {
        assert!(serde_json::from_str::<OidcClaims<'_>>(json).is_err(), "{json}");
    }
    for bad in [
        r#"{"aud":"a"}"#,
        r#"{"exp":1,"aud":"a","aud":"b"}"#,
        r#"{"exp":1,"x":{"y":1,"y":2}}"#,
    ] {
        let kind = OidcClaims::parse(bad.as_bytes()).err().map(|e| e.kind());
        assert_eq!(kind, Some(ErrorKind::Malformed), "{bad}");
    }
}

#[test]
fn scopes_from_scope_or_scp() -> Result<(), AuthError> {
    let c = OidcClaims::parse(br#"{"exp":1,"scope":"read  write"}"#)?;
    assert_eq!(c.into_view().scope.as_deref(), Some("read  write"));
    let c = OidcClaims::parse(br#"{"exp":1,"scp":["read","write"],"sub":"s"}"#)?;
    let view = c.into_view();
    assert_eq!(view.scope.as_deref(), Some("read write"));
    assert_eq!(view.sub.as_deref(), Some("s"));
    assert!(OidcClaims::parse(br#"{"exp":1}"#)?.into_view().scope.is_none());
    Ok(())
}

#[test]
fn the_typ_header() -> Result<(), AuthError> {
    assert_eq!(
        header_typ(br#"{"alg":"RS256","typ":"at+jwt"}"#)?.as_deref(),
        Some("at+jwt")
    );
    assert_eq!(header_typ(br#"{"alg":"RS256"}"#)?.as_deref(), None);
    assert!(header_typ(br#"{"typ":5}"#).is_err());
    Ok(())
}

#[test]
fn discovery_document() {
    let issuer = "https://idp.example";
    let doc = |v: serde_json::Value| v.to_string().into_bytes();
    let good = doc(serde_json::json!({"issuer": issuer, "jwks_uri": "https://idp.example/keys"}));
    assert_eq!(
        jwks_uri_of_discovery(&good, issuer, false).ok().as_deref(),
        Some("https://idp.example/keys")
    );
    for bad in [
        doc(serde_json::json!({"issuer": "https://other.example", "jwks_uri": "https://idp.example/keys"})),
        doc(serde_json::json!({"issuer": issuer})),
        doc(serde_json::json!({"issuer": issuer, "jwks_uri": "http://idp.example/keys"})),
        doc(serde_json::json!({"issuer": issuer, "jwks_uri": 5})),
        b"not json".to_vec(),
    ] {
        assert!(jwks_uri_of_discovery(&bad, issuer, false).is_err());
    }
    let local = doc(serde_json::json!({"issuer": "http://127.0.0.1:4000", "jwks_uri": "http://127.0.0.1:4000/jwks"}));
    assert!(jwks_uri_of_discovery(&local, "http://127.0.0.1:4000", false).is_ok());
}
