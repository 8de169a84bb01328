//! The layer's future on both of its paths: a verification answered within `call` (the key
//! known, the token remembered), and one that must wait (the first key fetch, an asynchronous
//! check that yields) and finishes in the future. Either way the inner service gets the
//! request once, with the `Verified` token, or never (a refusal).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cognito_core::{CognitoAuth, CognitoSettings, Guard, Requirement, Verified};
use cognito_testkit::DevIssuer;
use cognito_tower::CognitoLayer;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

type Error = Box<dyn std::error::Error>;

/// The inner service: counts its calls and answers the `sub` of the layer's token.
fn inner(
    calls: &Arc<AtomicUsize>,
) -> impl Service<Request<String>, Response = Response<String>, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let calls = Arc::clone(calls);
    service_fn(move |request: Request<String>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let sub = request
            .extensions()
            .get::<Verified>()
            .and_then(Verified::sub)
            .unwrap_or("none")
            .to_owned();
        async move { Ok(Response::new(sub)) }
    })
}

/// One request through `layer` over `inner`: the status and the body.
async fn call(layer: &CognitoLayer, calls: &Arc<AtomicUsize>, token: &str) -> Result<(StatusCode, String), Error> {
    let service = ServiceBuilder::new().layer(layer.clone()).service(inner(calls));
    let request = Request::builder()
        .uri("/x")
        .header("authorization", format!("Bearer {token}"))
        .body(String::new())?;
    let response = service.oneshot(request).await?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

async fn auth(issuer: &DevIssuer) -> Result<CognitoAuth, Error> {
    Ok(CognitoAuth::new(&CognitoSettings::from_yaml_str(
        &issuer.settings_yaml(),
    )?)?)
}

/// An access token of `sub`, in `groups`.
fn token(issuer: &DevIssuer, sub: &str, groups: &[&str]) -> Result<String, Error> {
    Ok(issuer.access_token_with(groups, "openid", &serde_json::json!({ "sub": sub }))?)
}

#[tokio::test]
async fn a_verification_that_waits_for_the_key_fetch_reaches_the_inner_service_once() -> Result<(), Error> {
    let issuer = DevIssuer::start().await?;
    let auth = auth(&issuer).await?;
    let layer = CognitoLayer::new(auth);
    let calls = Arc::new(AtomicUsize::new(0));
    let token = token(&issuer, "first-user", &[])?;
    let sub = "first-user".to_owned();
    // No key is known yet: the first verification waits for the fetch.
    assert_eq!(issuer.server().hits(), 0);
    assert_eq!(call(&layer, &calls, &token).await?, (StatusCode::OK, sub.clone()));
    assert_eq!(issuer.server().hits(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The key known: answered within `call`, the same way, the key not fetched again.
    for n in 2..=4 {
        assert_eq!(call(&layer, &calls, &token).await?, (StatusCode::OK, sub.clone()));
        assert_eq!(calls.load(Ordering::SeqCst), n);
    }
    assert_eq!(issuer.server().hits(), 1);
    // A refusal on either path never reaches the inner service.
    let (status, _) = call(&layer, &calls, "not-a-token").await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    Ok(())
}

#[tokio::test]
async fn an_asynchronous_check_that_yields_decides_in_the_future() -> Result<(), Error> {
    let issuer = DevIssuer::start().await?;
    let auth = auth(&issuer).await?;
    auth.prefetch().await;
    let checked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&checked);
    // Allows only `admin` tokens, after yielding once (so the first poll is always pending).
    let requirement = Requirement::new().check_async(move |token: Verified| {
        let counter = Arc::clone(&counter);
        async move {
            tokio::task::yield_now().await;
            counter.fetch_add(1, Ordering::SeqCst);
            if token.groups().contains(&"admin") {
                Ok(())
            } else {
                Err(cognito_core::AuthError::new(cognito_core::ErrorKind::ForbiddenGroup))
            }
        }
    });
    let layer = CognitoLayer::new(Guard::new(auth).require(requirement));
    let calls = Arc::new(AtomicUsize::new(0));
    let admin = token(&issuer, "an-admin", &["admin"])?;
    let user = token(&issuer, "a-user", &["users"])?;
    for round in 1..=2 {
        assert_eq!(
            call(&layer, &calls, &admin).await?,
            (StatusCode::OK, "an-admin".to_owned())
        );
        assert_eq!(call(&layer, &calls, &user).await?.0, StatusCode::FORBIDDEN);
        // The check ran for each request, once; only the allowed one reached the inner service.
        assert_eq!(checked.load(Ordering::SeqCst), 2 * round);
        assert_eq!(calls.load(Ordering::SeqCst), round);
    }
    Ok(())
}
