//! [`CognitoService`]: verifies, then calls the inner service or answers the refusal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use cognito_core::{Guard, Rejection, Verified};
use http::request::Parts;
use http::{Request, Response};
use http_body_util::Either;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::response::{RefusalBody, metadata_response, refusal};

/// The response body of a [`CognitoService`]: the inner service's, or a refusal's.
pub type CognitoBody<B> = Either<B, RefusalBody>;

/// The service of a [`CognitoLayer`](crate::CognitoLayer): verifies the request's token once,
/// stores the [`Verified`] token in the request's extensions and calls the inner service, or
/// answers the refusal itself.
#[derive(Debug, Clone)]
pub struct CognitoService<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> CognitoService<S> {
    pub(crate) fn new(inner: S, guard: Arc<Guard>) -> Self {
        CognitoService { inner, guard }
    }
}

/// A verification under way: it owns the request's head, and gives it back with the verdict.
type Verification = Pin<Box<dyn Future<Output = (Parts, Result<Option<Verified>, Rejection>)> + Send>>;

pin_project! {
    /// The future of a [`CognitoService`]: the inner service's response, or the refusal.
    ///
    /// Most verifications need no waiting (the token was seen before, or its key is known):
    /// those are done within [`Service::call`], which then calls the inner service at once, so
    /// the request pays for no clone of it and no second future around its own. A token seen
    /// before sets up no verification future at all ([`Guard::verify_now`]). One that must
    /// wait (a key fetch, an asynchronous check) goes on in this future, with a clone of the
    /// inner service, as tower's contract for a deferred call asks.
    pub struct CognitoFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, S::Future, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, F, ReqBody> {
        // The verification waits; then the inner service is called (or the refusal answered).
        Verifying { verification: Verification, body: ReqBody, inner: S },
        // The inner service answers.
        Calling { #[pin] future: F },
        // The answer is known: a refusal, or the protected-resource metadata.
        Answered { response: Response<RefusalBody> },
        // Answered already: like a fused future, it never completes again.
        Done,
    }
}

impl<S, ReqBody> std::fmt::Debug for CognitoFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoFuture").finish_non_exhaustive()
    }
}

/// After the verdict: the inner service called with the request (and the [`Verified`] token in
/// its extensions), or the refusal.
fn proceed<S, ReqBody>(
    inner: &mut S,
    mut request: Request<ReqBody>,
    verdict: Result<Option<Verified>, Rejection>,
) -> State<S, S::Future, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    match verdict {
        Ok(verified) => {
            if let Some(verified) = verified {
                request.extensions_mut().insert::<Verified>(verified);
            }
            State::Calling {
                future: inner.call(request),
            }
        }
        Err(rejection) => State::Answered {
            response: refusal(request.version(), request.headers(), rejection),
        },
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CognitoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<CognitoBody<ResBody>>;
    type Error = S::Error;
    type Future = CognitoFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The protected-resource metadata is public: answered here, before any token is read.
        if matches!(*request.method(), http::Method::GET | http::Method::HEAD)
            && let Some(resource) = self.guard.auth().resource()
            && resource.serves(request.uri().path())
        {
            let response = metadata_response(resource);
            return CognitoFuture {
                state: State::Answered { response },
            };
        }
        // Most verdicts need no waiting: the inner service is called at once.
        let now = self
            .guard
            .verify_now(request.method().as_str(), request.uri().path(), &request);
        if let Some(verdict) = now {
            return CognitoFuture {
                state: proceed(&mut self.inner, request, verdict),
            };
        }
        // The verification borrows the head only: a body need not be `Sync`.
        let (parts, body) = request.into_parts();
        let guard = Arc::clone(&self.guard);
        let mut verification: Verification = Box::pin(async move {
            let verdict = guard.verify(parts.method.as_str(), parts.uri.path(), &parts).await;
            (parts, verdict)
        });
        // Polled once here, without a waker: if it must wait, it goes on in the future, whose
        // first poll registers the caller's waker (a future re-checks its state on each poll,
        // so nothing that happened in between is missed).
        let state = match verification.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready((parts, verdict)) => proceed(&mut self.inner, Request::from_parts(parts, body), verdict),
            Poll::Pending => {
                // The clone that was polled ready serves this request; a fresh clone stays.
                let clone = self.inner.clone();
                State::Verifying {
                    verification,
                    body,
                    inner: std::mem::replace(&mut self.inner, clone),
                }
            }
        };
        CognitoFuture { state }
    }
}

impl<S, ReqBody, ResBody> Future for CognitoFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<CognitoBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx));
                    state.set(State::Done);
                    return Poll::Ready(response.map(|r| r.map(Either::Left)));
                }
                StateProj::Verifying { verification, .. } => {
                    let (parts, verdict) = ready!(verification.as_mut().poll(cx));
                    if let StateOwned::Verifying { body, mut inner, .. } = state.as_mut().project_replace(State::Done) {
                        state.set(proceed(&mut inner, Request::from_parts(parts, body), verdict));
                    }
                }
                StateProj::Answered { .. } => {
                    if let StateOwned::Answered { response } = state.as_mut().project_replace(State::Done) {
                        return Poll::Ready(Ok(response.map(Either::Right)));
                    }
                }
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}
