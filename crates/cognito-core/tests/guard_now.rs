//! `Guard::verify_now`, the answer without waiting that the tower layer and the actix-web
//! middleware try first: it gives exactly `Guard::verify`'s verdict when it answers, and when
//! it cannot (a token not remembered yet, something that could wait) it has done nothing that
//! shows, so the caller's `verify` counts everything once. Real JWKS server on 127.0.0.1, real
//! keys and tokens.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cognito_core::revocation::{BackendError, RevocationBackend, RevocationFuture as Answer, TokenIds};
use cognito_core::source::RequestView;
use cognito_core::{AuthError, CognitoAuth, ErrorKind, Guard, Rejection, Requirement, Verified};
use common::{Fixture, TestResult};

type Request = [(&'static str, Vec<u8>); 1];

fn bearer(token: &str) -> Request {
    [("authorization", format!("Bearer {token}").into_bytes())]
}

const NO_TOKEN: [(&str, &[u8]); 0] = [];

fn hits(auth: &CognitoAuth) -> u64 {
    auth.default_pool().token_cache_stats().hits
}

/// A verdict by what it says: the pool of the verified token, or the refusal's error code.
fn said(verdict: &Result<Option<Verified>, Rejection>) -> String {
    match verdict {
        Ok(Some(verified)) => format!("verified ({})", verified.pool()),
        Ok(None) => "anonymous".to_owned(),
        Err(rejection) => format!("{} {}", rejection.status(), rejection.error_code()),
    }
}

/// `verify_now`'s answer, which must be there, and the same as `verify`'s.
async fn now_as_verify(
    guard: &Guard,
    method: &str,
    path: &str,
    request: &(impl RequestView + ?Sized),
) -> Result<String, Box<dyn std::error::Error>> {
    let now = guard
        .verify_now(method, path, request)
        .ok_or_else(|| format!("{method} {path}: no answer without waiting"))?;
    let full = guard.verify(method, path, request).await;
    assert_eq!(said(&now), said(&full), "{method} {path}: verify_now and verify differ");
    Ok(said(&now))
}

#[tokio::test]
async fn a_remembered_token_is_answered_at_once_and_as_verify_answers() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let guard = Guard::new(auth.clone())
        .public("/health")
        .route("/admin/*", Requirement::new().any_group(["admin"]));
    let token = f.access_token()?;
    let request = bearer(&token);

    // First sight: the key must be fetched, so nothing is answered and nothing is fetched.
    assert!(guard.verify_now("GET", "/", &request).is_none());
    assert_eq!(f.server.hits(), 0, "verify_now fetched no key");
    // Seen twice: remembered by the token cache.
    for _ in 0..2 {
        assert!(guard.verify("GET", "/", &request).await.is_ok());
    }
    let before = hits(&auth);
    let now = guard.verify_now("GET", "/", &request);
    assert_eq!(now.as_ref().map(said).as_deref(), Some("verified (main)"));
    assert_eq!(hits(&auth), before + 1, "one hit counted");

    // Every other verdict that needs no waiting, each the same as verify's.
    assert_eq!(
        now_as_verify(&guard, "GET", "/admin/users", &request).await?,
        "403 forbidden_group"
    );
    assert_eq!(
        now_as_verify(&guard, "GET", "/health", &NO_TOKEN[..]).await?,
        "anonymous"
    );
    assert_eq!(
        now_as_verify(&guard, "GET", "/", &NO_TOKEN[..]).await?,
        "401 missing_token"
    );
    assert_eq!(
        now_as_verify(&guard, "GET", "//admin/users", &request).await?,
        "400 ambiguous_path"
    );
    let optional = Guard::optional(auth.clone());
    assert_eq!(now_as_verify(&optional, "GET", "/", &NO_TOKEN[..]).await?, "anonymous");
    assert_eq!(now_as_verify(&optional, "GET", "/", &request).await?, "verified (main)");
    let broken = Guard::new(auth.clone()).route("admin", Requirement::new());
    assert_eq!(
        now_as_verify(&broken, "GET", "/", &request).await?,
        "500 server_misconfigured"
    );

    // Revoked in the built-in store: refused at once, remembered or not.
    auth.revocations()
        .revoke_user_now("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        .await?;
    assert_eq!(now_as_verify(&guard, "GET", "/", &request).await?, "401 revoked");
    Ok(())
}

/// An external revocation store that counts its questions (shared with the test).
struct Counting(Arc<AtomicUsize>);

impl RevocationBackend for Counting {
    fn is_revoked<'a>(&'a self, _: TokenIds<'a>) -> Answer<'a, Result<bool, AuthError>> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Ok(false) })
    }
    fn revoke_session<'a>(&'a self, _: &'a str) -> Answer<'a, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }
    fn revoke_user<'a>(&'a self, _: &'a str, _: std::time::SystemTime) -> Answer<'a, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn what_could_wait_is_left_to_verify_untouched() -> TestResult {
    let f = Fixture::new().await?;
    let token = f.access_token()?;
    let request = bearer(&token);

    // An external revocation store: never asked, no hit counted.
    let asked = Arc::new(AtomicUsize::new(0));
    let auth = CognitoAuth::new(&f.settings("")?)?.with_revocation_store(Counting(Arc::clone(&asked)));
    let guard = Guard::new(auth.clone());
    for _ in 0..3 {
        assert!(guard.verify("GET", "/", &request).await.is_ok());
    }
    let (questions, counted) = (asked.load(Ordering::Relaxed), hits(&auth));
    assert!(questions > 0, "the store is asked by verify");
    assert!(guard.verify_now("GET", "/", &request).is_none());
    assert_eq!((asked.load(Ordering::Relaxed), hits(&auth)), (questions, counted));

    // A custom check (asynchronous, or a route's own): never run, no hit counted.
    let runs = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&runs);
    let auth = CognitoAuth::new(&f.settings("")?)?.with_check_async(move |_: Verified| {
        seen.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    let guard = Guard::new(auth.clone());
    for _ in 0..3 {
        assert!(guard.verify("GET", "/", &request).await.is_ok());
    }
    let (ran, counted) = (runs.load(Ordering::Relaxed), hits(&auth));
    assert!(ran > 0 && counted > 0, "the check runs, and the token is remembered");
    assert!(guard.verify_now("GET", "/", &request).is_none());
    assert_eq!((runs.load(Ordering::Relaxed), hits(&auth)), (ran, counted));
    let auth = CognitoAuth::new(&f.settings("")?)?;
    let route_check = Requirement::new().check(|_: &Verified| Err(AuthError::new(ErrorKind::Rejected)));
    let guard = Guard::new(auth.clone()).require(route_check);
    for _ in 0..3 {
        assert!(guard.verify("GET", "/", &request).await.is_err());
    }
    assert!(guard.verify_now("GET", "/", &request).is_none());
    Ok(())
}
