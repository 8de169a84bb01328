//! The loaders and the key-source precedence, through the crate-private entry points (an
//! environment given as a function, the override given as a value).

use super::env::env_fields;
use super::*;

const POOL: &str = r#"{"eu": {"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"}}"#;

#[test]
fn env_loader_reads_the_four_variables_in_order() -> Result<(), ConfigError> {
    let pools = r#"{"zz": {"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"},
                    "aa": {"region": "us-east-1", "userpool_id": "us-east-1_B", "app_client_id": ["d", "e"]}}"#;
    let s = CognitoSettings::from_env_with(|k| match k {
        "CHECK_EXPIRATION" => Some("False".into()),
        "JWT_HEADER_NAME" => Some("X-Token".into()),
        "JWT_HEADER_PREFIX" => Some("".into()),
        "USERPOOLS" => Some(pools.into()),
        _ => None,
    })?;
    assert!(!s.check_expiration);
    assert_eq!(s.jwt_header_name, "X-Token");
    assert_eq!(s.jwt_header_prefix, "");
    assert_eq!(s.pool_names().collect::<Vec<_>>(), ["zz", "aa"]);
    assert_eq!(s.pool("aa")?.app_client_id, ["d", "e"]);
    Ok(())
}

#[test]
fn token_sources_load_in_order_and_bad_ones_fail_at_load() -> Result<(), ConfigError> {
    let yaml = |sources: &str| {
        CognitoSettings::from_yaml_str(&format!(
            "token_sources: {sources}\nuserpools:\n  eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: c}}"
        ))
    };
    let s = yaml("[{query: access_token}, header, {cookie: id_token}]")?;
    let expected = [
        TokenSource::Query("access_token".into()),
        TokenSource::Header,
        TokenSource::Cookie("id_token".into()),
    ];
    assert_eq!(s.token_sources, expected);
    assert_eq!(
        CognitoSettings::from_yaml_str(&format!("userpools: {POOL}"))?.token_sources,
        [TokenSource::Header]
    );
    // The same list in JSON, and a round trip through serialization.
    let json = format!(r#"{{"token_sources": ["header", {{"cookie": "id_token"}}], "userpools": {POOL}}}"#);
    let s = CognitoSettings::from_json_str(&json)?;
    assert_eq!(s.token_sources[1], TokenSource::Cookie("id_token".into()));
    let text = serde_json::to_string(&s).map_err(|e| ConfigError::invalid(None, "test", e.to_string()))?;
    assert_eq!(CognitoSettings::from_json_str(&text)?, s);
    for (bad, problem) in [
        ("[]", "at least one source"),
        ("[header, header]", "twice"),
        ("[{cookie: ''}]", "not a valid cookie or parameter name"),
        ("[{query: 'a&b'}]", "not a valid cookie or parameter name"),
        ("[{cookie: 'a b'}]", "not a valid cookie or parameter name"),
    ] {
        let err = yaml(bad).err();
        assert_eq!(
            err.as_ref().and_then(ConfigError::field),
            Some("token_sources"),
            "{bad}"
        );
        assert!(err.is_some_and(|e| e.to_string().contains(problem)), "{bad}");
    }
    for bad in ["[bearer]", "[{cookie: a, query: b}]", "[{header: a}]", "header"] {
        let err = yaml(bad).err();
        assert!(matches!(err, Some(ConfigError::Parse { .. })), "{bad}: {err:?}");
    }
    Ok(())
}

#[test]
fn every_setting_has_an_environment_variable() -> Result<(), ConfigError> {
    let fields = env_fields();
    for field in [
        "leeway_seconds",
        "jwks",
        "token_sources",
        "algorithms",
        "alb",
        "userpools",
    ] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    let s = CognitoSettings::from_env_with(|k| match k {
        "COGNITO_LEEWAY_SECONDS" => Some("30".into()),
        "COGNITO_JWKS" => Some(r#"{"timeout_ms": 1000}"#.into()),
        "COGNITO_TOKEN_SOURCES" => Some(r#"["header", {"cookie": "id_token"}]"#.into()),
        "COGNITO_JWT_HEADER_NAME" => Some("X-Token".into()),
        "COGNITO_ALLOW_INSECURE_JWKS_URL" => Some("yes".into()),
        "USERPOOLS" => Some(POOL.into()),
        _ => None,
    })?;
    assert_eq!(s.leeway_seconds, 30);
    assert_eq!(s.jwks.timeout_ms, 1000);
    assert_eq!(s.jwks.max_bytes, JwksSettings::default().max_bytes);
    assert_eq!(s.token_sources.len(), 2);
    assert_eq!(s.jwt_header_name, "X-Token");
    assert!(s.allow_insecure_jwks_url);
    // The same setting twice is refused, not guessed at.
    let err = CognitoSettings::from_env_with(|k| match k {
        "JWT_HEADER_NAME" | "COGNITO_JWT_HEADER_NAME" => Some("X".into()),
        "USERPOOLS" => Some(POOL.into()),
        _ => None,
    })
    .err();
    assert_eq!(err.as_ref().and_then(ConfigError::field), Some("JWT_HEADER_NAME"));
    // Out of range fails at load, naming the field.
    let err = CognitoSettings::from_env_with(|k| match k {
        "COGNITO_JWKS" => Some(r#"{"timeout_ms": 0}"#.into()),
        "USERPOOLS" => Some(POOL.into()),
        _ => None,
    })
    .err();
    assert!(err.is_some(), "timeout_ms 0 accepted");
    Ok(())
}

#[test]
fn env_loader_errors_name_the_variable() {
    let err = CognitoSettings::from_env_with(|_| None).err();
    assert_eq!(err.as_ref().and_then(ConfigError::field), Some("USERPOOLS"));
    let err = CognitoSettings::from_env_with(|k| match k {
        "CHECK_EXPIRATION" => Some("maybe".into()),
        "USERPOOLS" => Some(POOL.into()),
        _ => None,
    })
    .err();
    assert_eq!(err.as_ref().and_then(ConfigError::field), Some("CHECK_EXPIRATION"));
    let err = CognitoSettings::from_env_with(|k| (k == "USERPOOLS").then(|| "[1]".to_owned())).err();
    assert!(
        matches!(
            err,
            Some(ConfigError::Parse {
                format: "environment",
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn jwks_url_precedence_pool_then_env_then_issuer() -> Result<(), ConfigError> {
    let mut pool = UserPool::new("eu", "eu-west-1", "eu-west-1_A", ["c"]);
    let urls = |pool: &UserPool, env: Option<&str>| -> Result<Vec<String>, ConfigError> {
        Ok(pool
            .key_sources_with_env(env)?
            .into_iter()
            .map(|(_, s)| match s {
                KeySource::Url(u) => u.to_string(),
                KeySource::Inline(_) => "inline".to_owned(),
            })
            .collect())
    };
    assert_eq!(
        urls(&pool, None)?,
        [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json",
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json"
        ]
    );
    assert_eq!(
        urls(&pool, Some("http://127.0.0.1:1/env.json"))?,
        ["http://127.0.0.1:1/env.json"; 2]
    );
    pool.jwks_url = Some("http://127.0.0.1:1/pool.json".into());
    assert_eq!(
        urls(&pool, Some("http://127.0.0.1:1/env.json"))?,
        ["http://127.0.0.1:1/pool.json"; 2]
    );
    pool.jwks_url = None;
    pool.issuer = Some("http://127.0.0.1:9229/local_1".into());
    assert_eq!(
        urls(&pool, None)?,
        ["http://127.0.0.1:9229/local_1/.well-known/jwks.json"]
    );
    let err = pool.key_sources_with_env(Some("not a url")).err();
    assert_eq!(err.as_ref().and_then(ConfigError::field), Some(KEYS_URL_ENV));
    Ok(())
}

#[test]
fn parse_errors_say_where() {
    let err = CognitoSettings::from_yaml_str("userpools:\n  eu:\n    region: [\n").err();
    assert!(err.as_ref().and_then(ConfigError::location).is_some(), "{err:?}");
    let err = CognitoSettings::from_json_str("{\"userpools\": {\"eu\": 7}}").err();
    let (line, column) = err.as_ref().and_then(ConfigError::location).unwrap();
    assert_eq!(line, 1);
    assert!(column > 10, "{err:?}");
    let err = CognitoSettings::from_env_with(|k| (k == "USERPOOLS").then(|| "{\n  \"eu\": [".to_owned())).err();
    assert_eq!(
        err.as_ref().and_then(ConfigError::location).map(|l| l.0),
        Some(2),
        "{err:?}"
    );
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.starts_with("settings are not valid environment: USERPOOLS: "),
        "{text}"
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_pool_field_and_line() {
    let yaml = "userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: c\n    token_use: refresh\n";
    let err = CognitoSettings::from_yaml_str(yaml).err();
    let named = err.as_ref().map(|e| (e.pool(), e.field(), e.location().map(|l| l.0)));
    assert_eq!(named, Some((Some("eu"), Some("token_use"), Some(6))), "{err:?}");
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("userpools.eu.token_use: unknown variant `refresh`"),
        "{text}"
    );

    let json = r#"{"jwks": {"timeout_ms": -1}, "userpools": {"eu": {}}}"#;
    let err = CognitoSettings::from_json_str(json).err();
    let named = err.as_ref().map(|e| (e.pool(), e.field(), e.location()));
    assert_eq!(named, Some((None, Some("jwks.timeout_ms"), Some((1, 26)))), "{err:?}");

    let err =
        CognitoSettings::from_env_with(|k| (k == "USERPOOLS").then(|| r#"{"eu": {"app_client_id": [7]}}"#.to_owned()))
            .err();
    let named = err.as_ref().map(|e| (e.pool(), e.field()));
    assert_eq!(named, Some((Some("eu"), Some("app_client_id"))), "{err:?}");
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("USERPOOLS: eu.app_client_id[0]: invalid type: integer `7`"),
        "{text}"
    );
}
