//! Settings: every loader, the defaults, pool order, and every ConfigError.

use std::collections::BTreeMap;

use cognito_core::{Algorithm, CognitoSettings, ConfigError, JwksSettings, KeySource, TokenUse, UserPool, Verifier};
use serde::{Deserialize, Serialize};

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
    let yaml = format!(
        "port: 8080\ncognito:\n{}",
        YAML.lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    let config: MyConfig = serde_yaml::from_str(&yaml)?;
    assert_eq!(config.port, 8080);
    check_loaded(&config.cognito)?;
    // Validation runs inside serde too: a bad embedded value fails the user's own parse.
    let bad = yaml.replace("token_use: access", "token_use: refresh");
    let err = serde_yaml::from_str::<MyConfig>(&bad).err().ok_or("accepted")?;
    assert!(err.to_string().contains("userpools.zeta.token_use"), "{err}");
    Ok(())
}

fn invalid(text: &str) -> Option<(Option<String>, Option<String>)> {
    CognitoSettings::from_yaml_str(text)
        .err()
        .map(|e| (e.pool().map(str::to_owned), e.field().map(str::to_owned)))
}

fn pool_with(line: &str) -> String {
    format!("userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: c\n{line}\n")
}

/// Every tuning value has a range, checked at load; the error names the field.
#[test]
fn tuning_values_out_of_range_fail_at_load() {
    let top = |field: &str| Some((None, Some(field.to_owned())));
    let huge = u64::MAX;
    let cases: [(&str, &str, u64, u64); 9] = [
        // (the setting's line, the field named, the last value accepted, the first refused)
        ("leeway_seconds", "leeway_seconds", 3_600, 3_601),
        ("max_token_bytes", "max_token_bytes", 1 << 20, (1 << 20) + 1),
        ("jwks:\n  timeout_ms", "jwks.timeout_ms", 60_000, 60_001),
        ("jwks:\n  max_bytes", "jwks.max_bytes", 16 << 20, (16 << 20) + 1),
        ("jwks:\n  refresh_secs", "jwks.refresh_secs", 604_800, 604_801),
        ("jwks:\n  cooldown_secs", "jwks.cooldown_secs", 86_400, 86_401),
        ("jwks:\n  max_stale_secs", "jwks.max_stale_secs", 2_592_000, 2_592_001),
        (
            "token_cache:\n  max_entries",
            "token_cache.max_entries",
            1_000_000,
            1_000_001,
        ),
        (
            "token_cache:\n  max_bytes",
            "token_cache.max_bytes",
            1 << 30,
            (1 << 30) + 1,
        ),
    ];
    for (line, field, last_ok, first_bad) in cases {
        assert_eq!(
            invalid(&pool_with(&format!("{line}: {last_ok}"))),
            None,
            "{field} = {last_ok}"
        );
        assert_eq!(
            invalid(&pool_with(&format!("{line}: {first_bad}"))),
            top(field),
            "{field} = {first_bad}"
        );
        assert_eq!(
            invalid(&pool_with(&format!("{line}: {huge}"))),
            top(field),
            "{field} = {huge}"
        );
    }
    for (line, field) in [
        ("max_token_bytes: 0", "max_token_bytes"),
        ("jwks:\n  timeout_ms: 0", "jwks.timeout_ms"),
        ("jwks:\n  max_bytes: 0", "jwks.max_bytes"),
        ("jwks:\n  refresh_secs: 0", "jwks.refresh_secs"),
        ("jwks:\n  max_stale_secs: 0", "jwks.max_stale_secs"),
        ("token_cache:\n  max_bytes: 0", "token_cache.max_bytes"),
    ] {
        assert_eq!(invalid(&pool_with(line)), top(field), "{line}");
    }
    // A cool-down of 0 is "none"; a switched-off cache leaves its sizes unused.
    assert_eq!(invalid(&pool_with("jwks:\n  cooldown_secs: 0")), None);
    assert_eq!(
        invalid(&pool_with(
            "token_cache:\n  enabled: false\n  max_entries: 0\n  max_bytes: 0"
        )),
        None
    );
    let err = CognitoSettings::from_yaml_str(&pool_with("jwks:\n  cooldown_secs: 18446744073709551615")).err();
    let text = err.expect("a cool-down past its range is refused").to_string();
    assert!(text.contains("jwks.cooldown_secs") && text.contains("86400"), "{text}");
}

#[test]
fn every_config_error_names_the_pool_and_the_field() -> TestResult {
    let named = |pool: &str, field: &str| Some((Some(pool.to_owned()), Some(field.to_owned())));
    let top = |field: &str| Some((None, Some(field.to_owned())));
    assert_eq!(invalid("check_expiration: true"), top("userpools"));
    assert_eq!(invalid("userpools: {}"), top("userpools"));
    assert_eq!(
        invalid("userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: []\n"),
        named("eu", "app_client_id")
    );
    assert_eq!(
        invalid("userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n"),
        named("eu", "app_client_id")
    );
    assert_eq!(
        invalid("userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: [a, 7]\n"),
        named("eu", "app_client_id")
    );
    assert_eq!(
        invalid("userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: eu-west-1_A\n    app_client_id: ''\n"),
        named("eu", "app_client_id")
    );
    assert_eq!(
        invalid("userpools:\n  eu:\n    userpool_id: eu-west-1_A\n    app_client_id: c\n"),
        named("eu", "region")
    );
    assert_eq!(
        invalid("userpools:\n  eu:\n    region: eu-west-1\n    app_client_id: c\n"),
        named("eu", "userpool_id")
    );
    assert_eq!(invalid(&pool_with("    token_use: refresh")), named("eu", "token_use"));
    assert_eq!(invalid(&pool_with("    jwks_url: not a url")), named("eu", "jwks_url"));
    assert_eq!(
        invalid(&pool_with("    jwks_url: ftp://127.0.0.1/jwks.json")),
        named("eu", "jwks_url")
    );
    assert_eq!(
        invalid(&pool_with("    issuer: 127.0.0.1:9229/pool")),
        named("eu", "issuer")
    );
    assert_eq!(
        invalid(&pool_with("    jwks_inline: {\"nokeys\": 1}")),
        named("eu", "jwks_inline")
    );
    assert_eq!(
        invalid("userpools:\n  eu:\n    region: ../../evil\n    userpool_id: eu-west-1_A\n    app_client_id: c\n"),
        named("eu", "region")
    );
    assert_eq!(
        invalid(&format!("algorithms: [HS256]\n{}", pool_with(""))),
        top("algorithms")
    );
    assert_eq!(
        invalid(&format!("algorithms: []\n{}", pool_with(""))),
        top("algorithms")
    );
    assert_eq!(
        invalid(&format!("jwt_header_name: 'Bad Header'\n{}", pool_with(""))),
        top("jwt_header_name")
    );
    assert_eq!(
        invalid(&format!("jwt_header_prefix: 'Two words'\n{}", pool_with(""))),
        top("jwt_header_prefix")
    );
    assert_eq!(
        invalid(&format!("max_token_bytes: 0\n{}", pool_with(""))),
        top("max_token_bytes")
    );
    assert_eq!(
        invalid(&format!("jwks:\n  timeout_ms: 0\n{}", pool_with(""))),
        top("jwks.timeout_ms")
    );

    // An unknown pool name, when a verifier asks for it.
    let s = CognitoSettings::from_yaml_str(&pool_with(""))?;
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
    let named = |pool: &str, field: &str| Some((Some(pool.to_owned()), Some(field.to_owned())));
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
        assert_eq!(invalid(&pool_with(&format!("    jwks_url: {url}"))), None, "{url}");
    }
    // Anything else over http is refused at load time, naming the pool and the field.
    for url in [
        "http://keys.example.com/jwks.json",
        "http://10.0.0.5/jwks.json",
        "http://[2001:db8::1]/jwks.json",
        "http://localhost.example.com/jwks.json",
        "http://128.0.0.1/jwks.json",
    ] {
        let yaml = pool_with(&format!("    jwks_url: {url}"));
        assert_eq!(invalid(&yaml), named("eu", "jwks_url"), "{url}");
        let err = CognitoSettings::from_yaml_str(&yaml).err().ok_or("accepted")?;
        assert!(err.to_string().contains("allow_insecure_jwks_url"), "{err}");
    }
    // An issuer override without a jwks_url derives the URL from the issuer: same rule.
    assert_eq!(
        invalid(&pool_with("    issuer: http://cognito.internal:9229/eu-west-1_A")),
        named("eu", "issuer")
    );
    assert_eq!(
        invalid(&pool_with("    issuer: http://127.0.0.1:9229/eu-west-1_A")),
        None
    );
    // An http issuer is only a string to compare when the keys come from elsewhere.
    assert_eq!(
        invalid(&pool_with(
            "    issuer: http://cognito.internal/eu-west-1_A\n    jwks_url: https://keys.example.com/jwks.json"
        )),
        None
    );
    // The explicit opt-in, in YAML and JSON.
    let allowed = CognitoSettings::from_yaml_str(&format!(
        "allow_insecure_jwks_url: true\n{}",
        pool_with("    jwks_url: http://keys.example.com/jwks.json")
    ))?;
    assert!(allowed.allow_insecure_jwks_url);
    let json = r#"{"allow_insecure_jwks_url": true, "userpools": {"eu": {"region": "eu-west-1",
        "userpool_id": "eu-west-1_A", "app_client_id": "c", "issuer": "http://cognito.internal/eu-west-1_A"}}}"#;
    assert!(CognitoSettings::from_json_str(json)?.allow_insecure_jwks_url);
    // The default is off, and it round-trips through serde.
    assert!(!CognitoSettings::from_yaml_str(&pool_with(""))?.allow_insecure_jwks_url);
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
