//! [`CognitoService`]: verifies, then calls the inner service or answers the refusal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cognito_core::{Guard, Verified};
use http::{Request, Response};
use http_body_util::Either;
use tower_service::Service;

use crate::response::{RefusalBody, metadata_response, refusal};

/// The response body of a [`CognitoService`]: the inner service's, or a refusal's.
pub type CognitoBody<B> = Either<B, RefusalBody>;

/// The future of a [`CognitoService`].
pub type CognitoFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<CognitoBody<B>>, E>> + Send>>;

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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CognitoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<CognitoBody<ResBody>>;
    type Error = S::Error;
    type Future = CognitoFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The protected-resource metadata is public: answered here, before any token is read.
        if matches!(*request.method(), http::Method::GET | http::Method::HEAD)
            && let Some(resource) = self.guard.auth().resource()
            && resource.serves(request.uri().path())
        {
            // Only the document's response is held by the future (the inner service's body and
            // error types need not be `Send`).
            let response = metadata_response(resource);
            return Box::pin(async move { Ok(response.map(Either::Right)) });
        }
        // The clone that was polled ready serves this request; a fresh clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = Arc::clone(&self.guard);
        Box::pin(async move {
            // The verification borrows the parts only: a body need not be `Sync`.
            let (mut parts, body) = request.into_parts();
            let verdict = guard.verify(parts.method.as_str(), parts.uri.path(), &parts).await;
            match verdict {
                Ok(verified) => {
                    if let Some(verified) = verified {
                        parts.extensions.insert::<Verified>(verified);
                    }
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.map(Either::Left))
                }
                Err(rejection) => Ok(refusal(parts.version, &parts.headers, rejection).map(Either::Right)),
            }
        })
    }
}
