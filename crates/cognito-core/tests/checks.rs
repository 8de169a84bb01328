//! Custom checks and owned requirements, against a real JWKS server on 127.0.0.1 with real
//! RSA keys: a check runs after every built-in check, on token-cache hits too, and answers
//! allow, a 401 (`rejected` with its own sentence, or a kind) or a 403.

mod common;

use cognito_core::RequirementRef;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cognito_core::{
    AuthError, CognitoAuth, CognitoToken, ErrorKind, Policy, Rejection, Require, Requirement, Verified,
};
use common::{Fixture, TestResult};
use serde_json::json;

/// Refuses tokens whose `custom:suspended` claim is `"true"`, counting its calls.
fn suspended_check(calls: Arc<AtomicUsize>) -> impl Fn(&Verified) -> Result<(), AuthError> + Send + Sync + 'static {
    move |token: &Verified| {
        calls.fetch_add(1, Ordering::SeqCst);
        match token.claim("custom:suspended").and_then(|v| v.as_str()) {
            Some("true") => Err(AuthError::rejected("This account is suspended.")),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_verifier_check_denies_on_a_claim_on_the_first_verification_and_on_cache_hits() -> TestResult {
    let f = Fixture::new().await?;
    let calls = Arc::new(AtomicUsize::new(0));
    let v = f.verifier("")?.with_check(suspended_check(Arc::clone(&calls)));
    let mut claims = f.access();
    claims["custom:suspended"] = json!("true");
    let suspended = f.sign(&claims)?;
    for round in 1..=4 {
        let err = v
            .verify::<CognitoToken>(&suspended, Require::NONE)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!((err.kind(), err.status()), (ErrorKind::Rejected, 401), "round {round}");
        assert_eq!(err.message(), "This account is suspended.");
        assert_eq!(
            err.www_authenticate().as_deref(),
            Some(r#"Bearer error="invalid_token", error_description="This account is suspended.""#)
        );
        assert_eq!(calls.load(Ordering::SeqCst), round);
    }
    // Remembered at its second verification: rounds 3 and 4 were token-cache hits.
    assert_eq!(v.token_cache_stats().hits, 2);
    // An ordinary token passes the check, on hits too; the no-I/O path runs it as well.
    let fine = f.access_token()?;
    for _ in 0..3 {
        let _: CognitoToken = v.verify(&fine, Require::NONE).await?;
    }
    let _: CognitoToken = v.verify_cached(&fine, Require::NONE)?;
    assert_eq!(v.token_cache_stats().hits, 4);
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    // The check runs after the built-in checks: a forged token never reaches it.
    let forged = cognito_testkit::SigningKey::generate("key-1")?.sign(&claims)?;
    assert_eq!(common::kind_of(&v, &forged).await, Some(ErrorKind::BadSignature));
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    Ok(())
}

#[tokio::test]
async fn an_async_check_on_a_route_requirement_answers_403_with_its_own_sentence() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let tenant_check = |token: Verified| async move {
        tokio::task::yield_now().await; // it really waits
        match token.claim("custom:tenant").and_then(|t| t.as_str()) {
            Some("acme") => Ok(()),
            _ => Err(AuthError::because(
                ErrorKind::ForbiddenGroup,
                "This tenant is not served here.",
            )),
        }
    };
    let requirement = Requirement::new().check_async(tenant_check);
    let mut claims = f.access();
    claims["custom:tenant"] = json!("acme");
    let acme = f.sign(&claims)?;
    claims["custom:tenant"] = json!("other");
    let other = f.sign(&claims)?;
    for _ in 0..3 {
        let token: CognitoToken = v.verify(&acme, &requirement).await?;
        assert_eq!(token.username(), Some("alice"));
        let err = v
            .verify::<CognitoToken>(&other, &requirement)
            .await
            .err()
            .ok_or("accepted")?;
        assert_eq!((err.kind(), err.status()), (ErrorKind::ForbiddenGroup, 403));
        assert_eq!(err.message(), "This tenant is not served here.");
    }
    assert_eq!(
        v.token_cache_stats().hits,
        2,
        "the last round was served from the cache"
    );
    // Without the requirement, the route check does not apply.
    let _: CognitoToken = v.verify(&other, Require::NONE).await?;
    Ok(())
}

#[tokio::test]
async fn verify_cached_refuses_when_an_async_check_would_have_to_wait() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?.with_check_async(|_: Verified| async {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        Ok(())
    });
    let token = f.access_token()?;
    let _: CognitoToken = v.verify(&token, Require::NONE).await?; // loads the keys, and passes
    let err = v
        .verify_cached::<CognitoToken>(&token, Require::NONE)
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.kind(), ErrorKind::Rejected);
    // A check that answers at once is fine there.
    let ready = f.verifier("")?.with_check_async(|_: Verified| async { Ok(()) });
    let _: CognitoToken = ready.verify(&token, Require::NONE).await?;
    let _: CognitoToken = ready.verify_cached(&token, Require::NONE)?;
    Ok(())
}

/// A route whose requirement comes from configuration.
struct Reports;
impl Policy for Reports {
    const REQUIREMENT: Option<&'static str> = Some("reports");
}

/// A route naming a requirement nobody registered.
struct Typo;
impl Policy for Typo {
    const REQUIREMENT: Option<&'static str> = Some("reprots");
}

#[tokio::test]
async fn runtime_requirements_are_read_from_a_yaml_file() -> TestResult {
    let f = Fixture::new().await?;
    let dir = std::env::temp_dir().join(format!("cognito-requirements-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("routes.yaml");
    std::fs::write(
        &path,
        "reports: {groups: [finance, audit]}\nreaders: {scopes: [demo/read]}\n",
    )?;
    let loaded: BTreeMap<String, Requirement> = serde_yaml::from_str(&std::fs::read_to_string(&path)?)?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(
        loaded.get("reports"),
        Some(&Requirement::new().any_group(["finance", "audit"]))
    );
    let mut auth = CognitoAuth::new(&f.settings("")?)?;
    for (name, requirement) in loaded {
        auth.check_requirement(&requirement)?;
        auth = auth.with_requirement(name, requirement);
    }
    auth.check_policy::<Reports>()?;
    let err = auth.check_policy::<Typo>().err().ok_or("a typo passed")?;
    assert_eq!(err.field(), Some("requirements"));

    let mut claims = f.access();
    let plain = format!("Bearer {}", f.sign(&claims)?);
    claims["cognito:groups"] = json!(["audit"]);
    let auditor = format!("Bearer {}", f.sign(&claims)?);
    let refused = auth
        .authenticate::<CognitoToken>(&[("authorization", plain.as_bytes())], RequirementRef::of::<Reports>())
        .await
        .err();
    assert_eq!(refused.and_then(|r| r.kind()), Some(ErrorKind::ForbiddenGroup));
    let token: CognitoToken = auth
        .authenticate::<_>(
            &[("authorization", auditor.as_bytes())],
            RequirementRef::of::<Reports>(),
        )
        .await?;
    assert_eq!(token.groups, ["audit"]);
    let typo = auth
        .authenticate::<CognitoToken>(&[("authorization", auditor.as_bytes())], RequirementRef::of::<Typo>())
        .await
        .err();
    assert!(matches!(typo, Some(Rejection::Misconfigured(_))));
    // The same requirement as a value, straight to the verify entry point.
    let readers = auth.requirement("readers").ok_or("not registered")?;
    let refused = auth
        .authenticate::<Verified>(&[("authorization", auditor.as_bytes())], readers)
        .await
        .err();
    assert_eq!(refused.and_then(|r| r.kind()), Some(ErrorKind::ForbiddenScope));
    Ok(())
}

#[tokio::test]
async fn a_requirement_names_its_pool_and_unknown_fields_fail_to_load() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let elsewhere = Requirement::new().in_pool("moon");
    assert_eq!(
        auth.check_requirement(&elsewhere)
            .err()
            .and_then(|e| e.pool().map(str::to_owned)),
        Some("moon".into())
    );
    let header = format!("Bearer {}", f.access_token()?);
    let refused = auth
        .authenticate::<Verified>(&[("authorization", header.as_bytes())], &elsewhere)
        .await
        .err();
    assert!(matches!(refused, Some(Rejection::Misconfigured(_))));
    let verified = auth
        .authenticate::<Verified>(
            &[("authorization", header.as_bytes())],
            &Requirement::new().in_pool("main"),
        )
        .await?;
    assert_eq!(
        (verified.pool(), verified.header()["kid"].as_str()),
        ("main", Some("key-1"))
    );
    assert!(
        serde_yaml::from_str::<Requirement>("{group: [admin]}").is_err(),
        "a misspelt field"
    );
    // A const requirement converts into an owned one.
    const ADMINS: Require = Require::NONE.any_group(&["admin"]);
    assert_eq!(Requirement::from(ADMINS), Requirement::new().any_group(["admin"]));
    Ok(())
}
