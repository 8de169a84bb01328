//! Tenants: a pool per tenant, found at run time from the token's issuer, from a file re-read
//! on an unknown issuer or from a resolver in code; bounded lookups, least-recently-used
//! eviction, health.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cognito_core::settings::UserPool;
use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, ErrorKind, Rejection, Requirement, Verified};
use cognito_testkit::DevIssuer;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A fresh path in the temporary directory.
fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cognito-tenants-{}-{name}", cognito_testkit::unique_id()))
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

/// The tenant that answered, or the refusal's kind.
async fn tenant_of(auth: &CognitoAuth, token: &str) -> Result<String, Option<ErrorKind>> {
    let request = bearer(token);
    match auth
        .authenticate::<Verified>(request.as_slice(), &Requirement::any_tenant())
        .await
    {
        Ok(verified) => Ok(verified.pool().to_owned()),
        Err(Rejection::Auth(e)) => Err(Some(e.kind())),
        Err(_) => Err(None),
    }
}

/// Settings with the pool `main` and the tenants of `file`.
fn settings(
    dev: &DevIssuer,
    file: &std::path::Path,
    extra: &str,
) -> Result<CognitoSettings, cognito_core::ConfigError> {
    CognitoSettings::from_yaml_str(&format!(
        "{}tenants:\n  file: {}\n  {extra}",
        dev.settings_yaml_for(&["main"]),
        file.display()
    ))
}

#[tokio::test]
async fn a_tenant_added_to_the_file_is_served_without_a_restart() -> TestResult {
    let dev = DevIssuer::start().await?;
    let file = scratch("tenants.yaml");
    std::fs::write(&file, dev.tenants_yaml_for(&["acme"]))?;
    let auth = CognitoAuth::new(&settings(&dev, &file, "")?)?;
    assert!(auth.serves_tenants());

    let acme = dev.access_token_for("acme", &[], "")?;
    assert_eq!(tenant_of(&auth, &acme).await, Ok("acme".to_owned()));
    // The claims are the tenant's, as for any pool.
    let request = bearer(&acme);
    let token: CognitoToken = auth
        .authenticate(request.as_slice(), &Requirement::any_tenant())
        .await?;
    assert_eq!(token.username(), Some("alice"));

    // A configured pool is not a tenant; an issuer nobody has is wrong_issuer.
    let main = dev.access_token_for("main", &[], "")?;
    assert_eq!(tenant_of(&auth, &main).await, Err(Some(ErrorKind::WrongIssuer)));
    let globex = dev.access_token_for("globex", &[], "")?;
    assert_eq!(tenant_of(&auth, &globex).await, Err(Some(ErrorKind::WrongIssuer)));

    // Signed up meanwhile: served once the file says so (after the one-second lookup pause).
    std::fs::write(&file, dev.tenants_yaml_for(&["acme", "globex"]))?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(tenant_of(&auth, &globex).await, Ok("globex".to_owned()));
    assert_eq!(tenant_of(&auth, &acme).await, Ok("acme".to_owned()));

    // Gone from the file: no longer served after the next lookup.
    std::fs::write(&file, dev.tenants_yaml_for(&["globex"]))?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let unknown = dev.access_token_for("initech", &[], "")?;
    assert_eq!(tenant_of(&auth, &unknown).await, Err(Some(ErrorKind::WrongIssuer)));
    assert_eq!(tenant_of(&auth, &acme).await, Err(Some(ErrorKind::WrongIssuer)));
    assert_eq!(tenant_of(&auth, &globex).await, Ok("globex".to_owned()));
    Ok(())
}

#[tokio::test]
async fn a_flood_of_random_issuers_costs_no_key_fetch_and_one_lookup_a_second() -> TestResult {
    let dev = DevIssuer::start().await?;
    let settings =
        CognitoSettings::from_yaml_str(&format!("{}tenants: {{max: 10}}\n", dev.settings_yaml_for(&["main"])))?;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let acme = dev.tenants_yaml_for(&["acme"]);
    let acme_pool: UserPool = serde_yaml::from_str::<std::collections::BTreeMap<String, UserPool>>(&acme)?
        .remove("acme")
        .ok_or("no acme")?;
    let acme_issuer = dev.pool_issuer("acme");
    let auth = CognitoAuth::new(&settings)?.with_tenant_resolver(move |issuer: String| {
        counted.fetch_add(1, Ordering::SeqCst);
        let answer = (issuer == acme_issuer).then(|| UserPool {
            name: "acme".to_owned(),
            ..acme_pool.clone()
        });
        async move { Ok::<_, String>(answer) }
    });
    let hits_before = dev.server().hits();
    let started = std::time::Instant::now();
    for i in 0..300 {
        let claims = serde_json::json!({
            "iss": format!("{}/random-{i}", dev.base_url()),
            "sub": "x", "token_use": "access", "client_id": DevIssuer::CLIENT_ID,
            "exp": cognito_testkit::now() + 600, "iat": cognito_testkit::now(),
        });
        let token = dev.sign(&claims)?;
        assert_eq!(tenant_of(&auth, &token).await, Err(Some(ErrorKind::WrongIssuer)));
    }
    let seconds = started.elapsed().as_secs() as usize;
    assert_eq!(
        dev.server().hits(),
        hits_before,
        "no key fetch for an issuer no tenant has"
    );
    let lookups = calls.load(Ordering::SeqCst);
    assert!(
        lookups >= 1 && lookups <= seconds + 1,
        "{lookups} resolver calls in {seconds} s"
    );

    // A real tenant right after the flood: refused until the pause is over, then served.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = dev.access_token_for("acme", &[], "")?;
    assert_eq!(tenant_of(&auth, &token).await, Ok("acme".to_owned()));
    Ok(())
}

#[tokio::test]
async fn a_slow_or_failing_resolver_is_answered_unavailable_and_a_wrong_pool_refused() -> TestResult {
    let dev = DevIssuer::start().await?;
    let yaml = format!("{}jwks: {{timeout_ms: 200}}\n", dev.settings_yaml_for(&["main"]));
    let settings = CognitoSettings::from_yaml_str(&yaml)?;
    let token = dev.access_token_for("acme", &[], "")?;

    let slow = CognitoAuth::new(&settings)?.with_tenant_resolver(|_: String| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<Option<UserPool>, String>(None)
    });
    assert_eq!(tenant_of(&slow, &token).await, Err(Some(ErrorKind::JwksUnavailable)));

    let failing = CognitoAuth::new(&settings)?
        .with_tenant_resolver(|_: String| async { Err::<Option<UserPool>, _>("the tenants table is down") });
    assert_eq!(tenant_of(&failing, &token).await, Err(Some(ErrorKind::JwksUnavailable)));

    // A pool that does not trust the token's issuer is not the tenant.
    let other = UserPool::new("other", "eu-west-1", "eu-west-1_Other", ["c"]);
    let wrong = CognitoAuth::new(&settings)?.with_tenant_resolver(move |_: String| {
        let other = other.clone();
        async move { Ok::<_, String>(Some(other)) }
    });
    assert_eq!(tenant_of(&wrong, &token).await, Err(Some(ErrorKind::WrongIssuer)));

    // A tenant may not take a configured pool's name (it would share its label and health).
    let mut named_main = UserPool::new("main", "local", "local_acme", [DevIssuer::CLIENT_ID]);
    named_main.issuer = Some(dev.pool_issuer("acme"));
    named_main.jwks_url = Some(dev.jwks_url());
    let clash = CognitoAuth::new(&settings)?.with_tenant_resolver(move |_: String| {
        let pool = named_main.clone();
        async move { Ok::<_, String>(Some(pool)) }
    });
    assert_eq!(tenant_of(&clash, &token).await, Err(Some(ErrorKind::JwksUnavailable)));
    Ok(())
}

#[tokio::test]
async fn at_most_max_tenants_are_kept_least_recently_used_first_out() -> TestResult {
    let dev = DevIssuer::start().await?;
    let file = scratch("tenants.json");
    // The JSON form, read by its extension.
    let yaml: serde_yaml::Value = serde_yaml::from_str(&dev.tenants_yaml_for(&["a", "b", "c"]))?;
    std::fs::write(&file, serde_json::to_string(&yaml)?)?;
    let auth = CognitoAuth::new(&settings(&dev, &file, "")?)?;
    // The live tenants, after the configured pool.
    let live =
        |auth: &CognitoAuth| -> Vec<String> { auth.health().pools.iter().skip(1).map(|p| p.pool.clone()).collect() };
    let auth_small = CognitoAuth::new(&settings(&dev, &file, "max: 2\n")?)?;
    for name in ["a", "b", "a", "c"] {
        let token = dev.access_token_for(name, &[], "")?;
        assert_eq!(tenant_of(&auth_small, &token).await, Ok(name.to_owned()));
    }
    assert_eq!(live(&auth_small), ["a", "c"], "b was the least recently used");
    for name in ["a", "b", "c"] {
        let token = dev.access_token_for(name, &[], "")?;
        assert_eq!(tenant_of(&auth, &token).await, Ok(name.to_owned()));
    }
    assert_eq!(live(&auth), ["a", "b", "c"]);
    // A live tenant's keys are reported; they never make the service unready.
    let health = auth.health();
    assert!(health.pools.iter().skip(1).all(|p| p.keys() == 1 && p.is_ready()));
    Ok(())
}

#[tokio::test]
async fn bad_tenant_settings_fail_at_load() -> TestResult {
    let dev = DevIssuer::start().await?;
    let pools = dev.settings_yaml_for(&["main"]);
    let err = CognitoSettings::from_yaml_str(&format!("{pools}tenants: {{max: 0}}\n")).err();
    assert_eq!(err.as_ref().and_then(|e| e.field()), Some("tenants.max"), "{err:?}");

    let missing = scratch("nowhere.yaml");
    let err = CognitoAuth::new(&settings(&dev, &missing, "")?).err();
    assert_eq!(err.as_ref().and_then(|e| e.field()), Some("tenants.file"), "{err:?}");

    let file = scratch("tenants.yaml");
    std::fs::write(&file, dev.tenants_yaml_for(&["main"]))?;
    let err = CognitoAuth::new(&settings(&dev, &file, "")?).err();
    let err = err.ok_or("a tenant named as a pool was accepted")?;
    assert_eq!((err.pool(), err.field()), (Some("main"), Some("tenants.file")));

    std::fs::write(&file, "acme: {region: eu-west-1}\n")?;
    let err = CognitoAuth::new(&settings(&dev, &file, "")?).err();
    assert_eq!(err.as_ref().and_then(|e| e.pool()), Some("acme"), "{err:?}");

    // A requirement for any tenant needs tenants.
    let plain = CognitoAuth::new(&CognitoSettings::from_yaml_str(&pools)?)?;
    assert!(!plain.serves_tenants());
    assert!(plain.check_requirement(&Requirement::any_tenant()).is_err());
    Ok(())
}
