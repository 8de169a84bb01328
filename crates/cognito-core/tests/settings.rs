//! Settings: every loader, the defaults, pool order, and every ConfigError.

use std::collections::BTreeMap;

use cognito_core::settings::{Algorithm, JwksSettings, KeySource, TokenUse, UserPool};
use cognito_core::{CognitoSettings, ConfigError, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const YAML: &str = r#"
check_expiration: false
jwt_header_name: X-Token
jwt_header_prefix: JWT
leeway_seconds: 5
max_token_bytes: 4096
jwks:
  timeout_ms: 1500
  cooldown_secs: 30
userpools:
  zeta:
    region: eu-west-1
    userpool_id: eu-west-1_AbCdEf123
    app_client_id: [client-a, client-b]
    token_use: access
    jwks_url: http://127.0.0.1:9229/eu-west-1_AbCdEf123/.well-known/jwks.json
    issuer: http://127.0.0.1:9229/eu-west-1_AbCdEf123
  alpha:
    region: us-east-1
    userpool_id: us-east-1_XyZ
    app_client_id: client-c
"#;

fn check_loaded(s: &CognitoSettings) -> TestResult {
    assert!(!s.check_expiration);
    assert_eq!(
        (s.jwt_header_name.as_str(), s.jwt_header_prefix.as_str()),
        ("X-Token", "JWT")
    );
    assert_eq!((s.leeway_seconds, s.max_token_bytes), (5, 4096));
    assert_eq!(s.jwks.timeout_ms, 1500);
    assert_eq!(s.jwks.cooldown_secs, 30);
    assert_eq!(s.jwks.max_bytes, JwksSettings::default().max_bytes);
    // File order, not alphabetical: the first pool is the default.
    assert_eq!(s.pool_names().collect::<Vec<_>>(), ["zeta", "alpha"]);
    let zeta = s.default_pool()?;
    assert_eq!(zeta.name, "zeta");
    assert_eq!(zeta.app_client_id, ["client-a", "client-b"]);
    assert_eq!(zeta.token_use, TokenUse::Access);
    let alpha = s.pool("alpha")?;
    assert_eq!(alpha.app_client_id, ["client-c"]);
    assert_eq!(alpha.token_use, TokenUse::Any);
    assert_eq!((alpha.jwks_url.as_deref(), alpha.issuer.as_deref()), (None, None));
    Ok(())
}

fn temp_file(name: &str, text: &str) -> Result<std::path::PathBuf, std::io::Error> {
    let path = std::env::temp_dir().join(format!("cognito-core-{}-{name}", std::process::id()));
    std::fs::write(&path, text)?;
    Ok(path)
}

#[test]
fn yaml_and_json_loaders_agree() -> TestResult {
    let from_yaml_str = CognitoSettings::from_yaml_str(YAML)?;
    check_loaded(&from_yaml_str)?;
    let yaml_path = temp_file("settings.yaml", YAML)?;
    let from_yaml = CognitoSettings::from_yaml(&yaml_path)?;
    std::fs::remove_file(yaml_path)?;
    assert_eq!(from_yaml, from_yaml_str);

    // Round trip through JSON: serializing keeps the pool order too.
    let json = serde_json::to_string(&from_yaml)?;
    let from_json_str = CognitoSettings::from_json_str(&json)?;
    check_loaded(&from_json_str)?;
    let json_path = temp_file("settings.json", &json)?;
    let from_json = CognitoSettings::from_json(&json_path)?;
    std::fs::remove_file(json_path)?;
    assert_eq!(from_json, from_yaml);
    Ok(())
}

#[test]
fn defaults() -> TestResult {
    let s = CognitoSettings::from_json_str(
        r#"{"userpools": {"eu": {"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"}}}"#,
    )?;
    assert!(s.check_expiration);
    assert_eq!(s.jwt_header_name, "Authorization");
    assert_eq!(s.jwt_header_prefix, "Bearer");
    assert_eq!(s.leeway_seconds, 0);
    assert_eq!(s.max_token_bytes, 16384);
    assert_eq!(s.algorithms, [Algorithm::RS256]);
    assert_eq!(
        s.jwks,
        JwksSettings {
            timeout_ms: 3000,
            max_bytes: 65536,
            refresh_secs: 3600,
            cooldown_secs: 10,
            max_stale_secs: 86400
        }
    );
    assert_eq!(s.default_pool()?.token_use, TokenUse::Any);
    assert_eq!(
        s,
        CognitoSettings::new(vec![UserPool::new("eu", "eu-west-1", "eu-west-1_A", ["c"])])
    );
    Ok(())
}

#[derive(Serialize)]
struct AppSettings {
    database_url: String,
    check_expiration: bool,
    jwt_header_name: String,
    jwt_header_prefix: String,
    userpools: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    feature_flags: Vec<String>,
}

#[test]
fn from_global_settings_ignores_extra_fields() -> TestResult {
    let mut pool = BTreeMap::new();
    pool.insert("region".to_owned(), "eu-west-1".into());
    pool.insert("userpool_id".to_owned(), "eu-west-1_A".into());
    pool.insert("app_client_id".to_owned(), serde_json::json!(["a", "b"]));
    pool.insert("unrelated".to_owned(), 42.into());
    let app = AppSettings {
        database_url: "postgres://127.0.0.1/app".into(),
        check_expiration: true,
        jwt_header_name: "Authorization".into(),
        jwt_header_prefix: "Bearer".into(),
        userpools: BTreeMap::from([("eu".to_owned(), pool)]),
        feature_flags: vec!["x".into()],
    };
    let s = CognitoSettings::from_global_settings(&app)?;
    assert_eq!(s.default_pool()?.app_client_id, ["a", "b"]);
    Verifier::new(&s)?;
    Ok(())
}

#[derive(Deserialize)]
struct MyConfig {
    port: u16,
    cognito: CognitoSettings,
}

#[test]
fn embeds_as_a_field_of_your_own_config() -> TestResult {
    // serde_yaml's own values keep the pools in file order.
    let cognito: serde_yaml::Value = serde_yaml::from_str(YAML)?;
    let config_yaml = |cognito: &serde_yaml::Value| -> Result<String, serde_yaml::Error> {
        let config =
            serde_yaml::Mapping::from_iter([("port".into(), 8080.into()), ("cognito".into(), cognito.clone())]);
        serde_yaml::to_string(&config)
    };
    let config: MyConfig = serde_yaml::from_str(&config_yaml(&cognito)?)?;
    assert_eq!(config.port, 8080);
    check_loaded(&config.cognito)?;
    // Validation runs inside serde too: a bad embedded value fails the user's own parse.
    let mut bad = cognito;
    bad["userpools"]["zeta"]["token_use"] = "refresh".into();
    let err = serde_yaml::from_str::<MyConfig>(&config_yaml(&bad)?)
        .err()
        .ok_or("accepted")?;
    assert!(err.to_string().contains("userpools.zeta.token_use"), "{err}");
    Ok(())
}

/// The pool and the field a load failed on, or `None` if it loaded.
type Named = Option<(Option<String>, Option<String>)>;

/// What loading these settings from their YAML text names, if it fails.
fn load_error(settings: &Value) -> Result<Named, serde_yaml::Error> {
    let text = serde_yaml::to_string(settings)?;
    let err = CognitoSettings::from_yaml_str(&text).err();
    Ok(err.map(|e| (e.pool().map(str::to_owned), e.field().map(str::to_owned))))
}

/// What `load_error` gives for an error in this pool (`None`: a top-level setting) and field.
fn names(pool: Option<&str>, field: &str) -> Named {
    Some((pool.map(str::to_owned), Some(field.to_owned())))
}

/// Settings with one pool `eu`: the three fields every pool needs with `pool`'s fields over
/// them (a `null` removes one), and `top`'s fields beside `userpools`.
fn one_pool(top: Value, pool: Value) -> Value {
    let mut eu = json!({"region": "eu-west-1", "userpool_id": "eu-west-1_A", "app_client_id": "c"});
    if let (Some(eu), Some(fields)) = (eu.as_object_mut(), pool.as_object()) {
        for (name, value) in fields {
            if value.is_null() {
                eu.remove(name);
            } else {
                eu.insert(name.clone(), value.clone());
            }
        }
    }
    let mut settings = top;
    settings["userpools"] = json!({ "eu": eu });
    settings
}

/// The setting at a dotted path, as top-level fields: `jwks.timeout_ms` is
/// `{"jwks": {"timeout_ms": value}}`.
fn setting(path: &str, value: impl Into<Value>) -> Value {
    path.rsplit('.')
        .fold(value.into(), |inner, name| json!({ name: inner }))
}

/// Every tuning value has a range, checked at load; the error names the field.
#[test]
fn tuning_values_out_of_range_fail_at_load() -> TestResult {
    let with = |path: &str, value: u64| one_pool(setting(path, value), json!({}));
    #[rustfmt::skip] // a table reads best as one row per line
    let ranges: [(&str, u64, u64); 9] = [
        // (the setting, which its error names; the last value accepted; the first refused)
        ("leeway_seconds", 3_600, 3_601),
        ("max_token_bytes", 1 << 20, (1 << 20) + 1),
        ("jwks.timeout_ms", 60_000, 60_001),
        ("jwks.max_bytes", 16 << 20, (16 << 20) + 1),
        ("jwks.refresh_secs", 604_800, 604_801),
        ("jwks.cooldown_secs", 86_400, 86_401),
        ("jwks.max_stale_secs", 2_592_000, 2_592_001),
        ("token_cache.max_entries", 1_000_000, 1_000_001),
        ("token_cache.max_bytes", 1 << 30, (1 << 30) + 1),
    ];
    for (path, last_ok, first_bad) in ranges {
        assert_eq!(load_error(&with(path, last_ok))?, None, "{path} = {last_ok}");
        for bad in [first_bad, u64::MAX] {
            assert_eq!(load_error(&with(path, bad))?, names(None, path), "{path} = {bad}");
        }
    }
    // Zero is out of range too, for these.
    for path in [
        "max_token_bytes",
        "jwks.timeout_ms",
        "jwks.max_bytes",
        "jwks.refresh_secs",
        "jwks.max_stale_secs",
        "token_cache.max_bytes",
    ] {
        assert_eq!(load_error(&with(path, 0))?, names(None, path), "{path} = 0");
    }
    // A cool-down of 0 is "none"; a switched-off cache leaves its sizes unused.
    assert_eq!(load_error(&with("jwks.cooldown_secs", 0))?, None);
    let off = json!({"token_cache": {"enabled": false, "max_entries": 0, "max_bytes": 0}});
    assert_eq!(load_error(&one_pool(off, json!({})))?, None);
    let too_long = serde_yaml::to_string(&with("jwks.cooldown_secs", u64::MAX))?;
    let err = CognitoSettings::from_yaml_str(&too_long).err();
    let text = err.expect("a cool-down past its range is refused").to_string();
    assert!(text.contains("jwks.cooldown_secs") && text.contains("86400"), "{text}");
    Ok(())
}

#[test]
fn every_config_error_names_the_pool_and_the_field() -> TestResult {
    let top = |fields: Value| one_pool(fields, json!({}));
    let pool = |fields: Value| one_pool(json!({}), fields);
    let eu = Some("eu");
    #[rustfmt::skip] // a table reads best as one row per line
    let rows: [(Value, Option<&str>, &str); 20] = [
        // (the settings, the pool the error names, the field it names)
        (json!({"check_expiration": true}), None, "userpools"),
        (json!({"userpools": {}}), None, "userpools"),
        (pool(json!({"app_client_id": []})), eu, "app_client_id"),
        (pool(json!({"app_client_id": null})), eu, "app_client_id"),
        (pool(json!({"app_client_id": ["a", 7]})), eu, "app_client_id"),
        (pool(json!({"app_client_id": ""})), eu, "app_client_id"),
        (pool(json!({"region": null})), eu, "region"),
        (pool(json!({"region": "../../evil"})), eu, "region"),
        (pool(json!({"userpool_id": null})), eu, "userpool_id"),
        (pool(json!({"token_use": "refresh"})), eu, "token_use"),
        (pool(json!({"jwks_url": "not a url"})), eu, "jwks_url"),
        (pool(json!({"jwks_url": "ftp://127.0.0.1/jwks.json"})), eu, "jwks_url"),
        (pool(json!({"issuer": "127.0.0.1:9229/pool"})), eu, "issuer"),
        (pool(json!({"jwks_inline": {"nokeys": 1}})), eu, "jwks_inline"),
        (top(json!({"algorithms": ["HS256"]})), None, "algorithms"),
        (top(json!({"algorithms": []})), None, "algorithms"),
        (top(json!({"jwt_header_name": "Bad Header"})), None, "jwt_header_name"),
        (top(json!({"jwt_header_prefix": "Two words"})), None, "jwt_header_prefix"),
        (top(json!({"max_token_bytes": 0})), None, "max_token_bytes"),
        (top(json!({"jwks": {"timeout_ms": 0}})), None, "jwks.timeout_ms"),
    ];
    for (settings, pool, field) in &rows {
        assert_eq!(load_error(settings)?, names(*pool, field), "{settings}");
    }

    // An unknown pool name, when a verifier asks for it.
    let s = CognitoSettings::from_yaml_str(&serde_yaml::to_string(&pool(json!({})))?)?;
    let err = Verifier::for_pool(&s, "nope").err().ok_or("accepted")?;
    assert_eq!((err.pool(), err.field()), (Some("nope"), Some("userpools")));
    assert!(err.to_string().contains("userpools.nope"), "{err}");
    // Hand-built settings are validated by the verifier too.
    let mut hand_built = CognitoSettings::new(vec![UserPool::new(
        "eu",
        "eu-west-1",
        "eu-west-1_A",
        Vec::<String>::new(),
    )]);
    assert_eq!(
        Verifier::new(&hand_built).err().as_ref().and_then(ConfigError::field),
        Some("app_client_id")
    );
    hand_built.userpools.clear();
    assert_eq!(
        Verifier::new(&hand_built).err().as_ref().and_then(ConfigError::field),
        Some("userpools")
    );
    Ok(())
}

#[test]
fn syntax_errors_and_missing_files_are_config_errors() {
    assert!(matches!(
        CognitoSettings::from_yaml_str("userpools: [unclosed"),
        Err(ConfigError::Parse { format: "YAML", .. })
    ));
    assert!(matches!(
        CognitoSettings::from_json_str("{\"userpools\": "),
        Err(ConfigError::Parse { format: "JSON", .. })
    ));
    assert!(matches!(
        CognitoSettings::from_yaml_str("userpools:\n  eu: {}\n  eu: {}\n"),
        Err(ConfigError::Parse { .. })
    ));
    assert!(matches!(
        CognitoSettings::from_yaml("/nonexistent/cognito.yaml"),
        Err(ConfigError::Io { .. })
    ));
    assert!(matches!(
        CognitoSettings::from_json("/nonexistent/cognito.json"),
        Err(ConfigError::Io { .. })
    ));
}

#[test]
fn key_sources_follow_the_documented_precedence() -> TestResult {
    // The env level is tested in tests/env.rs, in child processes with their own environment.
    let s = CognitoSettings::from_yaml_str(YAML)?;
    let url = |source: &KeySource| match source {
        KeySource::Url(u) => u.to_string(),
        KeySource::Inline(_) => "inline".into(),
    };
    let zeta = s.pool("zeta")?.key_sources()?;
    assert_eq!(zeta.len(), 1);
    assert_eq!(zeta[0].0, "http://127.0.0.1:9229/eu-west-1_AbCdEf123");
    assert_eq!(
        url(&zeta[0].1),
        "http://127.0.0.1:9229/eu-west-1_AbCdEf123/.well-known/jwks.json"
    );
    let alpha = s.pool("alpha")?.key_sources()?;
    let urls: Vec<_> = alpha.iter().map(|(_, s)| url(s)).collect();
    assert_eq!(
        urls,
        [
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_XyZ/.well-known/jwks.json",
            "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_XyZ/.well-known/jwks.json"
        ]
    );
    Ok(())
}

#[test]
fn plain_http_jwks_urls_must_be_loopback_unless_allowed() -> TestResult {
    let pool = |fields: Value| one_pool(json!({}), fields);
    // Loopback hosts are fine over http (emulators, tests).
    for url in [
        "http://127.0.0.1:9229/jwks.json",
        "http://127.8.9.10/jwks.json",
        "http://localhost:9229/jwks.json",
        "http://LOCALHOST/jwks.json",
        "http://[::1]:9229/jwks.json",
        "https://keys.example.com/jwks.json",
        "file:///etc/cognito/jwks.json",
    ] {
        assert_eq!(load_error(&pool(json!({ "jwks_url": url })))?, None, "{url}");
    }
    // Anything else over http is refused at load time, naming the pool and the field.
    for url in [
        "http://keys.example.com/jwks.json",
        "http://10.0.0.5/jwks.json",
        "http://[2001:db8::1]/jwks.json",
        "http://localhost.example.com/jwks.json",
        "http://128.0.0.1/jwks.json",
    ] {
        let settings = pool(json!({ "jwks_url": url }));
        assert_eq!(load_error(&settings)?, names(Some("eu"), "jwks_url"), "{url}");
        let err = CognitoSettings::from_yaml_str(&serde_yaml::to_string(&settings)?)
            .err()
            .ok_or("accepted")?;
        assert!(err.to_string().contains("allow_insecure_jwks_url"), "{err}");
    }
    // The refusal shows the URL without its user, password, query or fragment.
    let secretive = pool(json!({
        "jwks_url": "http://svc:hunter2@keys.example.com/jwks.json?X-Amz-Signature=s3cr3tsig#frag"
    }));
    let err = CognitoSettings::from_yaml_str(&serde_yaml::to_string(&secretive)?)
        .err()
        .ok_or("accepted")?;
    let shown = format!("{err} / {err:?}");
    assert!(shown.contains("http://keys.example.com/jwks.json "), "{shown}");
    for secret in ["svc:", "hunter2", "X-Amz-Signature", "s3cr3tsig", "#frag"] {
        assert!(!shown.contains(secret), "{secret:?} in {shown}");
    }
    // An issuer override without a jwks_url derives the URL from the issuer: same rule.
    assert_eq!(
        load_error(&pool(json!({"issuer": "http://cognito.internal:9229/eu-west-1_A"})))?,
        names(Some("eu"), "issuer")
    );
    assert_eq!(
        load_error(&pool(json!({"issuer": "http://127.0.0.1:9229/eu-west-1_A"})))?,
        None
    );
    // An http issuer is only a string to compare when the keys come from elsewhere.
    let elsewhere = json!({
        "issuer": "http://cognito.internal/eu-west-1_A",
        "jwks_url": "https://keys.example.com/jwks.json",
    });
    assert_eq!(load_error(&pool(elsewhere))?, None);
    // The explicit opt-in, in YAML and JSON.
    let opted_in = one_pool(
        json!({"allow_insecure_jwks_url": true}),
        json!({"jwks_url": "http://keys.example.com/jwks.json"}),
    );
    let allowed = CognitoSettings::from_yaml_str(&serde_yaml::to_string(&opted_in)?)?;
    assert!(allowed.allow_insecure_jwks_url);
    let json = r#"{"allow_insecure_jwks_url": true, "userpools": {"eu": {"region": "eu-west-1",
        "userpool_id": "eu-west-1_A", "app_client_id": "c", "issuer": "http://cognito.internal/eu-west-1_A"}}}"#;
    assert!(CognitoSettings::from_json_str(json)?.allow_insecure_jwks_url);
    // The default is off, and it round-trips through serde.
    let default = serde_yaml::to_string(&pool(json!({})))?;
    assert!(!CognitoSettings::from_yaml_str(&default)?.allow_insecure_jwks_url);
    let text = serde_json::to_string(&allowed)?;
    assert_eq!(CognitoSettings::from_json_str(&text)?, allowed);
    // Hand-built settings are checked by the verifier as well.
    let mut pool = UserPool::new("eu", "eu-west-1", "eu-west-1_A", ["c"]);
    pool.jwks_url = Some("http://keys.example.com/jwks.json".into());
    let mut hand_built = CognitoSettings::new(vec![pool]);
    let err = Verifier::new(&hand_built).err().ok_or("accepted")?;
    assert_eq!((err.pool(), err.field()), (Some("eu"), Some("jwks_url")));
    hand_built.allow_insecure_jwks_url = true;
    assert!(Verifier::new(&hand_built).is_ok());
    Ok(())
}

#[test]
fn debug_output_of_the_settings_publishes_no_secret_of_a_key_url() -> Result<(), cognito_core::ConfigError> {
    let settings = cognito_core::CognitoSettings::from_yaml_str(
        "userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: a\n    \
         jwks_url: https://svc:hunter2@keys.example/jwks.json?X-Amz-Signature=s3cr3t\n",
    )?;
    let shown = format!("{settings:?}");
    assert!(shown.contains("https://keys.example/jwks.json"), "{shown}");
    assert!(!shown.contains("hunter2") && !shown.contains("s3cr3t"), "{shown}");
    Ok(())
}
