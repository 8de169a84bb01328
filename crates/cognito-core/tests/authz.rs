//! Authorization beyond groups and scopes: the principal (user or machine), all-of scopes,
//! the sign-in's age and context (RFC 9470), their configuration forms, and revocation
//! (built-in store, token-cache hits, an external asynchronous store).

mod common;

use cognito_core::RequirementRef;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use cognito_core::revocation::{BackendError, RevocationBackend, RevocationFuture, TokenIds};
use cognito_core::{
    AuthError, CognitoAuth, CognitoToken, ErrorKind, Policy, Principal, PrincipalKind, Require, Requirement, Verified,
};
use cognito_testkit::{client_credentials_claims, id_claims, merge_claims, now, unique_id};
use common::{CLIENT_A, Fixture, TestResult, kind_with};
use serde_json::{Value, json};

fn with(mut claims: Value, changes: Value) -> Value {
    merge_claims(&mut claims, &changes);
    claims
}

const MACHINES: Require = Require::NONE.principal(PrincipalKind::Machine);
const USERS: Require = Require::NONE.principal(PrincipalKind::User);

#[tokio::test]
async fn principal_user_or_machine() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let machine = f.sign(&client_credentials_claims(&f.issuer, CLIENT_A))?;
    let user = f.access_token()?;
    let id = f.sign(&id_claims(&f.issuer, CLIENT_A))?;
    assert_eq!(kind_with(&v, &machine, MACHINES).await, None);
    assert_eq!(
        kind_with(&v, &user, MACHINES).await,
        Some(ErrorKind::ForbiddenPrincipal)
    );
    assert_eq!(kind_with(&v, &id, MACHINES).await, Some(ErrorKind::ForbiddenPrincipal));
    assert_eq!(
        kind_with(&v, &machine, USERS).await,
        Some(ErrorKind::ForbiddenPrincipal)
    );
    assert_eq!(kind_with(&v, &user, USERS).await, None);
    assert_eq!(kind_with(&v, &id, USERS).await, None);
    assert_eq!(kind_with(&v, &machine, Require::NONE).await, None);
    // No user name but a `sub` that is not the client: not a machine.
    let odd = f.sign(&with(f.access(), json!({"username": null})))?;
    assert_eq!(kind_with(&v, &odd, MACHINES).await, Some(ErrorKind::ForbiddenPrincipal));
    // A user name beside `sub == client_id`: a user.
    let named = f.sign(&with(
        client_credentials_claims(&f.issuer, CLIENT_A),
        json!({"username": "bob"}),
    ))?;
    assert_eq!(
        kind_with(&v, &named, MACHINES).await,
        Some(ErrorKind::ForbiddenPrincipal)
    );

    let err = v.verify::<CognitoToken>(&user, MACHINES).await.unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(
        err.www_authenticate()
            .unwrap()
            .starts_with("Bearer error=\"insufficient_scope\"")
    );

    // Verified and CognitoToken tell them apart.
    let token: CognitoToken = v.verify(&machine, Require::NONE).await?;
    assert_eq!(token.principal(), Principal::Machine { client_id: CLIENT_A });
    let token: CognitoToken = v.verify(&id, Require::NONE).await?;
    assert!(matches!(
        token.principal(),
        Principal::User {
            username: Some("alice"),
            ..
        }
    ));
    let requirement = Requirement::new().check(|token: &Verified| match token.principal() {
        Principal::Machine { client_id: "client-a" } => Ok(()),
        other => Err(AuthError::rejected(if matches!(other, Principal::User { .. }) {
            "a user"
        } else {
            "another machine"
        })),
    });
    v.verify::<CognitoToken>(&machine, &requirement).await?;
    let err = v.verify::<CognitoToken>(&user, &requirement).await.unwrap_err();
    assert_eq!(err.message(), "a user");
    Ok(())
}

#[tokio::test]
async fn all_scopes_and_any_scopes() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let both = Require::NONE.all_scopes(&["demo/read", "demo/write"]);
    let token = |scope: &str| f.sign(&with(f.access(), json!({"scope": scope})));
    assert_eq!(
        kind_with(&v, &token("demo/read")?, both).await,
        Some(ErrorKind::ForbiddenScope)
    );
    assert_eq!(kind_with(&v, &token("")?, both).await, Some(ErrorKind::ForbiddenScope));
    assert_eq!(kind_with(&v, &token("demo/write x demo/read")?, both).await, None);
    assert_eq!(
        kind_with(&v, &token("demo/read/x demo/write")?, both).await,
        Some(ErrorKind::ForbiddenScope)
    );
    // Beside any-of scopes: both rules hold.
    let mixed = both.any_scope(&["admin", "ops"]);
    assert_eq!(
        kind_with(&v, &token("demo/read demo/write")?, mixed).await,
        Some(ErrorKind::ForbiddenScope)
    );
    assert_eq!(kind_with(&v, &token("demo/read demo/write ops")?, mixed).await, None);
    // The owned form agrees.
    let owned = Requirement::new().all_scopes(["demo/read", "demo/write"]);
    assert!(v.verify::<CognitoToken>(&token("demo/read")?, &owned).await.is_err());
    v.verify::<CognitoToken>(&token("demo/read demo/write")?, &owned)
        .await?;
    Ok(())
}

#[tokio::test]
async fn sign_in_age_and_context() -> TestResult {
    let f = Fixture::new().await?;
    let v = f.verifier("")?;
    let recent = Require::NONE.max_auth_age_secs(300);
    let token = |changes: Value| f.sign(&with(f.access(), changes));
    assert_eq!(
        kind_with(&v, &token(json!({"auth_time": now() - 10}))?, recent).await,
        None
    );
    assert_eq!(
        kind_with(&v, &token(json!({"auth_time": now() - 299}))?, recent).await,
        None
    );
    let stale = v
        .verify::<CognitoToken>(&token(json!({"auth_time": now() - 400}))?, recent)
        .await
        .unwrap_err();
    assert_eq!(
        (stale.kind(), stale.status(), stale.max_age()),
        (ErrorKind::InsufficientUserAuthentication, 401, Some(300))
    );
    assert_eq!(
        stale.www_authenticate().as_deref(),
        Some(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"The token's sign-in is older than this resource accepts; sign in again.\", max_age=300"
        )
    );
    assert_eq!(stale.kind().as_str(), "insufficient_user_authentication");
    let absent = token(json!({"auth_time": null}))?;
    assert_eq!(
        kind_with(&v, &absent, recent).await,
        Some(ErrorKind::InsufficientUserAuthentication)
    );
    // `auth_time` is a number or the token is malformed (as before).
    assert_eq!(
        kind_with(&v, &token(json!({"auth_time": "x"}))?, Require::NONE).await,
        Some(ErrorKind::Malformed)
    );

    let mfa = Require::NONE.acr_values(&["mfa", "urn:hw"]);
    assert_eq!(kind_with(&v, &token(json!({"acr": "mfa"}))?, mfa).await, None);
    assert_eq!(kind_with(&v, &token(json!({"acr": "urn:hw"}))?, mfa).await, None);
    let weak = v
        .verify::<CognitoToken>(&token(json!({"acr": "pwd"}))?, mfa)
        .await
        .unwrap_err();
    assert_eq!(weak.kind(), ErrorKind::InsufficientUserAuthentication);
    assert_eq!(weak.acr_values(), Some("mfa urn:hw"));
    let challenge = weak.www_authenticate().unwrap();
    assert!(challenge.ends_with(", acr_values=\"mfa urn:hw\""), "{challenge}");
    assert!(!challenge.contains("max_age"), "{challenge}");
    assert_eq!(
        kind_with(&v, &token(json!({}))?, mfa).await,
        Some(ErrorKind::InsufficientUserAuthentication)
    );
    // `acr` is informational: another type reads as absent, never as malformed.
    assert_eq!(kind_with(&v, &token(json!({"acr": 2}))?, Require::NONE).await, None);
    assert_eq!(
        kind_with(&v, &token(json!({"acr": ["mfa"]}))?, mfa).await,
        Some(ErrorKind::InsufficientUserAuthentication)
    );
    let claims: CognitoToken = v.verify(&token(json!({"acr": {"x": 1}}))?, Require::NONE).await?;
    assert_eq!(claims.acr, None);
    // `origin_jti` likewise.
    let claims: CognitoToken = v.verify(&token(json!({"origin_jti": 5}))?, Require::NONE).await?;
    assert_eq!(claims.origin_jti, None);

    // Both: the challenge names both, whichever failed.
    let both = recent.acr_values(&["mfa"]);
    let err = v
        .verify::<CognitoToken>(&token(json!({"auth_time": now() - 400, "acr": "mfa"}))?, both)
        .await
        .unwrap_err();
    assert!(
        err.www_authenticate()
            .unwrap()
            .ends_with("max_age=300, acr_values=\"mfa\"")
    );
    // Group and scope refusals come first: signing in again would not help.
    let admins = both.any_group(&["admin"]);
    assert_eq!(
        kind_with(&v, &token(json!({"auth_time": now() - 400}))?, admins).await,
        Some(ErrorKind::ForbiddenGroup)
    );
    Ok(())
}

#[test]
fn configuration_forms() -> TestResult {
    let r: Requirement = serde_yaml::from_str(
        "{pool: eu, principal: user, groups: [a], scopes: [s], all_scopes: [x, y], max_auth_age_secs: 60, acr_values: [mfa]}",
    )?;
    assert_eq!(
        r,
        Requirement::new()
            .in_pool("eu")
            .principal(PrincipalKind::User)
            .any_group(["a"])
            .any_scope(["s"])
            .all_scopes(["x", "y"])
            .max_auth_age_secs(60)
            .acr_values(["mfa"])
    );
    let machine: Requirement = serde_json::from_str(r#"{"principal": "machine"}"#)?;
    assert_eq!(machine.principal_kind(), PrincipalKind::Machine);
    assert_eq!(Requirement::new().principal_kind(), PrincipalKind::Any);
    for bad in [
        "{max_auth_age_secs: 0}",
        "{max_auth_age_secs: -5}",
        "{principal: robot}",
        "{acr_values: ['']}",
        "{acr_values: ['a b']}",
        "{acr_values: ['a\"b']}",
        "{all_scope: [x]}",
    ] {
        let err = serde_yaml::from_str::<Requirement>(bad).err().ok_or(bad)?;
        let text = err.to_string();
        assert!(
            ["max_auth_age_secs", "principal", "acr_values", "all_scope", "robot"]
                .iter()
                .any(|field| text.contains(field)),
            "{bad}: {text}"
        );
    }
    // The const form converts whole.
    const ALL: Require = Require::NONE
        .principal(PrincipalKind::User)
        .any_group(&["g"])
        .any_scope(&["s"])
        .all_scopes(&["x"])
        .max_auth_age_secs(30)
        .acr_values(&["mfa"]);
    let owned = Requirement::from(ALL);
    assert_eq!(
        owned,
        Requirement::new()
            .principal(PrincipalKind::User)
            .any_group(["g"])
            .any_scope(["s"])
            .all_scopes(["x"])
            .max_auth_age_secs(30)
            .acr_values(["mfa"])
    );
    assert_eq!(ALL.all_scopes_required(), ["x"]);
    assert_eq!(ALL.acr_values_accepted(), ["mfa"]);
    Ok(())
}

struct StaleZero;
impl Policy for StaleZero {
    const REQUIRE: Require<'static> = Require::NONE.max_auth_age_secs(0);
}

struct MachinesOnly;
impl Policy for MachinesOnly {
    const REQUIRE: Require<'static> = MACHINES;
}

struct Named;
impl Policy for Named {
    const REQUIREMENT: Option<&'static str> = Some("recent");
}

#[tokio::test]
async fn out_of_range_values_fail_at_start_up() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let err = auth.check_policy::<StaleZero>().unwrap_err();
    assert_eq!(err.field(), Some("max_auth_age_secs"));
    auth.check_policy::<MachinesOnly>()?;
    let err = auth
        .check_requirement(&Requirement::new().max_auth_age_secs(0))
        .unwrap_err();
    assert_eq!(err.field(), Some("max_auth_age_secs"));
    let err = Requirement::new().acr_values(["a b"]).validate().unwrap_err();
    assert_eq!(err.field(), Some("acr_values"));
    let auth = auth.with_requirement("recent", Requirement::new().max_auth_age_secs(0));
    assert_eq!(
        auth.check_policy::<Named>().unwrap_err().field(),
        Some("max_auth_age_secs")
    );
    let guard = cognito_core::Guard::new(auth.clone()).route("/x", Requirement::new().max_auth_age_secs(0));
    assert_eq!(guard.check().unwrap_err().field(), Some("max_auth_age_secs"));
    Ok(())
}

#[tokio::test]
async fn const_policies_through_cognito_auth() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let machine = f.sign(&client_credentials_claims(&f.issuer, CLIENT_A))?;
    let bearer = format!("Bearer {machine}");
    let claims: CognitoToken = auth
        .authenticate::<_>(
            &[("authorization", bearer.as_str())],
            RequirementRef::of::<MachinesOnly>(),
        )
        .await?;
    assert_eq!(claims.principal(), Principal::Machine { client_id: CLIENT_A });
    let bearer = format!("Bearer {}", f.access_token()?);
    let refused = auth
        .authenticate::<CognitoToken>(
            &[("authorization", bearer.as_str())],
            RequirementRef::of::<MachinesOnly>(),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), Some(ErrorKind::ForbiddenPrincipal));
    Ok(())
}

#[tokio::test]
async fn revocation_in_memory_token_cache_hits_included() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let v = auth.default_pool();
    let (sub, session) = (unique_id(), unique_id());
    let token = f.sign(&with(f.access(), json!({"sub": sub, "origin_jti": session})))?;
    let other_session = f.sign(&with(f.access(), json!({"sub": sub, "origin_jti": unique_id()})))?;
    let jti_only = f.sign(&with(f.access(), json!({"origin_jti": null, "jti": "only-jti"})))?;
    for _ in 0..3 {
        v.verify::<CognitoToken>(&token, Require::NONE).await?;
    }
    assert!(v.token_cache_stats().hits >= 1, "the third verification is a hit");
    assert!(auth.revocations().memory().is_some_and(|store| store.is_empty()));
    auth.revocations().revoke_session(&session).await?;
    let hits = v.token_cache_stats().hits;
    let err = v.verify::<CognitoToken>(&token, Require::NONE).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Revoked, 401));
    assert_eq!(
        err.www_authenticate().as_deref(),
        Some("Bearer error=\"invalid_token\", error_description=\"The token has been revoked.\"")
    );
    assert!(v.token_cache_stats().hits > hits, "refused on a token-cache hit");
    // Through every entry point, and the router-wide path too.
    let bearer = format!("Bearer {token}");
    let request = [("authorization", bearer.as_str())];
    let refused = auth
        .authenticate::<Verified>(&request, &Requirement::new())
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), Some(ErrorKind::Revoked));
    assert_eq!(
        v.verify_cached::<CognitoToken>(&token, Require::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    // The user's other session is not revoked.
    v.verify::<CognitoToken>(&other_session, Require::NONE).await?;
    // A session without `origin_jti` is named by its `jti`.
    v.verify::<CognitoToken>(&jti_only, Require::NONE).await?;
    auth.revocations().revoke_session("only-jti").await?;
    assert_eq!(common::kind_of(v, &jti_only).await, Some(ErrorKind::Revoked));

    // A user: every token issued at or before the time; a later one is fine.
    let user = unique_id();
    let earlier = f.sign(&with(f.access(), json!({"sub": user, "iat": now() - 100})))?;
    let later = f.sign(&with(f.access(), json!({"sub": user, "iat": now() + 30})))?;
    for _ in 0..3 {
        v.verify::<CognitoToken>(&earlier, Require::NONE).await?;
    }
    auth.revocations().revoke_user_now(&user).await?;
    assert_eq!(common::kind_of(v, &earlier).await, Some(ErrorKind::Revoked));
    v.verify::<CognitoToken>(&later, Require::NONE).await?;
    // Revocation comes before the route's own refusals.
    let admins = Require::NONE.any_group(&["admin"]);
    assert_eq!(kind_with(v, &earlier, admins).await, Some(ErrorKind::Revoked));
    assert_eq!(auth.revocations().memory().map(|s| s.len()), Some(3));
    // Every pool of a CognitoAuth shares the store.
    for verifier in auth.pools() {
        assert_eq!(verifier.revocations().memory().map(|s| s.len()), Some(3));
    }
    Ok(())
}

/// An external store: answers after a real wait, as a network store would.
#[derive(Default)]
struct SlowStore {
    sessions: Mutex<Vec<String>>,
    asked: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

struct Shared(std::sync::Arc<SlowStore>);

impl RevocationBackend for Shared {
    fn is_revoked<'a>(&'a self, token: TokenIds<'a>) -> RevocationFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.0.asked.fetch_add(1, Ordering::Relaxed);
            if self.0.down.load(Ordering::Relaxed) {
                return Err(AuthError::because(
                    ErrorKind::Rejected,
                    "The revocation list cannot be read.",
                ));
            }
            let sessions = self
                .0
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(token.session.is_some_and(|s| sessions.iter().any(|x| x == s)))
        })
    }
    fn revoke_session<'a>(&'a self, session: &'a str) -> RevocationFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.0
                .sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(session.to_owned());
            Ok(())
        })
    }
    fn revoke_user<'a>(&'a self, _: &'a str, _: SystemTime) -> RevocationFuture<'a, Result<(), BackendError>> {
        Box::pin(async { Err("users are revoked elsewhere".into()) })
    }
}

#[tokio::test]
async fn external_store_answers_asynchronously() -> TestResult {
    let f = Fixture::new().await?;
    let store = std::sync::Arc::new(SlowStore::default());
    let auth = CognitoAuth::new(&f.settings("")?)?.with_revocation_store(Shared(store.clone()));
    assert!(auth.revocations().memory().is_none());
    let v = auth.default_pool();
    let session = unique_id();
    let token = f.sign(&with(f.access(), json!({"origin_jti": session})))?;
    for _ in 0..3 {
        v.verify::<CognitoToken>(&token, Require::NONE).await?;
    }
    assert_eq!(store.asked.load(Ordering::Relaxed), 3, "asked on hits too");
    auth.revocations().revoke_session(&session).await?;
    assert_eq!(common::kind_of(v, &token).await, Some(ErrorKind::Revoked));
    assert!(auth.revocations().revoke_user_now("x").await.is_err());
    // A store that cannot answer: its error is the answer (fail closed).
    store.down.store(true, Ordering::Relaxed);
    let err = v
        .verify::<CognitoToken>(&f.access_token()?, Require::NONE)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (ErrorKind::Rejected, "The revocation list cannot be read.")
    );
    // Without waiting, an external store cannot answer.
    store.down.store(false, Ordering::Relaxed);
    assert_eq!(
        v.verify_cached::<CognitoToken>(&f.access_token()?, Require::NONE)
            .unwrap_err()
            .kind(),
        ErrorKind::Rejected
    );
    Ok(())
}
