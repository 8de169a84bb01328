//! [`CognitoMiddleware`]: router-wide protection for an `App` or a `scope`, through `wrap`.

use std::future::{Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use actix_web::HttpMessage as _;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use cognito_core::{CognitoAuth, Guard, Rejection, Requirement, Verified};
use pin_project_lite::pin_project;

use crate::{ActixRequest, AuthRejection};

/// Verifies each request's token once, before the wrapped services run, and leaves the
/// [`Verified`] token in the request's extensions, where [`Auth`](crate::Auth) and
/// [`OptionalAuth`](crate::OptionalAuth) find it without verifying again. What each path
/// asks for is its [`Guard`]'s (built from a `CognitoAuth`: required authentication, any
/// user of the default pool, everywhere); paths are the request's full path.
///
/// A refused request never reaches the wrapped services: its response is the
/// [`AuthRejection`]'s (401 / 403 / 503 of the error contract), and the error is on the
/// response for logging middleware, as for the extractors.
///
/// With `resource:` in the settings, `GET` (and `HEAD`) of the protected-resource metadata
/// paths are answered by the middleware itself, without authentication (see
/// [`resource_metadata`](crate::resource_metadata)).
///
/// ```
/// use actix_web::{App, web};
/// use cognito_actix::{Auth, CognitoAuth, CognitoMiddleware, CognitoSettings};
///
/// async fn me(user: Auth) -> String {
///     format!("hello {}", user.username().unwrap_or("client"))
/// }
///
/// # fn main() -> Result<(), cognito_actix::ConfigError> {
/// # let settings = CognitoSettings::from_yaml_str(
/// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}")?;
/// let auth = CognitoAuth::new(&settings)?;
/// let app = App::new()
///     .app_data(web::Data::new(auth.clone()))
///     .service(web::scope("/api").wrap(CognitoMiddleware::new(auth)).route("/me", web::get().to(me)));
/// # let _ = app; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CognitoMiddleware {
    guard: Arc<Guard>,
}

impl CognitoMiddleware {
    /// Middleware running `guard` (or a `CognitoAuth`: required, default pool, every path).
    pub fn new(guard: impl Into<Guard>) -> Self {
        CognitoMiddleware {
            guard: Arc::new(guard.into()),
        }
    }

    /// Required authentication under `requirement` for every request of the `App` or
    /// `scope` it wraps: the short spelling for a scope's requirement, attached where actix
    /// dispatches so no path is read twice.
    ///
    /// ```
    /// use actix_web::{App, web};
    /// use cognito_actix::{CognitoAuth, CognitoMiddleware, CognitoSettings, Requirement};
    ///
    /// # fn main() -> Result<(), cognito_actix::ConfigError> {
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let auth = CognitoAuth::new(&settings)?;
    /// let app = App::new().service(
    ///     web::scope("/admin")
    ///         .wrap(CognitoMiddleware::require(&auth, Requirement::new().any_group(["admin"])))
    ///         .route("", web::get().to(|| async { "hello admin" })),
    /// );
    /// # let _ = app; Ok(()) }
    /// ```
    pub fn require(auth: &CognitoAuth, requirement: Requirement) -> Self {
        Self::new(Guard::new(auth.clone()).require(requirement))
    }
}

impl<S, B> Transform<S, ServiceRequest> for CognitoMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = CognitoMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        std::future::ready(Ok(CognitoMiddlewareService {
            service: Rc::new(service),
            guard: Arc::clone(&self.guard),
        }))
    }
}

/// The service [`CognitoMiddleware`] wraps around an `App` or `scope`.
pub struct CognitoMiddlewareService<S> {
    service: Rc<S>,
    guard: Arc<Guard>,
}

impl<S> std::fmt::Debug for CognitoMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoMiddlewareService")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

/// A verification under way: it owns the request, and gives it back with the verdict.
type Verification = Pin<Box<dyn Future<Output = (ServiceRequest, Result<Option<Verified>, Rejection>)>>>;

pin_project! {
    /// The future of a [`CognitoMiddlewareService`]: the wrapped services' response, or the
    /// refusal.
    ///
    /// Most verifications need no waiting (the token was seen before, or its key is known):
    /// those are done within `call`, which then calls the wrapped services at once, with no
    /// second future around theirs (a token seen before sets up no verification future at
    /// all: see [`Guard::verify_now`]). One that must wait (a key fetch, an asynchronous
    /// check) goes on in this future.
    pub struct CognitoMiddlewareFuture<S>
    where
        S: Service<ServiceRequest>,
    {
        #[pin]
        state: State<S, S::Future>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, F> {
        // The verification waits; then the wrapped services are called (or the refusal answered).
        Verifying { verification: Verification, service: Rc<S> },
        // The wrapped services answer.
        Calling { #[pin] future: F },
        // The answer is known: a refusal, or the protected-resource metadata.
        Answered { response: ServiceResponse<BoxBody> },
        // Answered already: like a fused future, it never completes again.
        Done,
    }
}

impl<S: Service<ServiceRequest>> std::fmt::Debug for CognitoMiddlewareFuture<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoMiddlewareFuture").finish_non_exhaustive()
    }
}

/// After the verdict: the wrapped services called with the request (and the [`Verified`]
/// token in its extensions), or the refusal.
fn proceed<S, B>(
    service: &S,
    request: ServiceRequest,
    verdict: Result<Option<Verified>, Rejection>,
) -> State<S, S::Future>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    match verdict {
        Ok(verified) => {
            if let Some(verified) = verified {
                request.extensions_mut().insert::<Verified>(verified);
            }
            State::Calling {
                future: service.call(request),
            }
        }
        Err(rejection) => {
            let (request, _) = request.into_parts();
            let error = actix_web::Error::from(AuthRejection(rejection));
            State::Answered {
                response: ServiceResponse::from_err(error, request),
            }
        }
    }
}

impl<S, B> Service<ServiceRequest> for CognitoMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Future = CognitoMiddlewareFuture<S>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        // The protected-resource metadata is public: answered here, before any token is read.
        if matches!(
            *request.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        ) && let Some(resource) = self.guard.auth().resource()
            && resource.serves(request.path())
        {
            let response = crate::metadata_response(resource.document());
            let (request, _) = request.into_parts();
            let response = ServiceResponse::new(request, response);
            return CognitoMiddlewareFuture {
                state: State::Answered { response },
            };
        }
        // Most verdicts need no waiting: the wrapped services are called at once.
        let now = self.guard.verify_now(
            request.method().as_str(),
            request.path(),
            &ActixRequest(request.request()),
        );
        if let Some(verdict) = now {
            return CognitoMiddlewareFuture {
                state: proceed(&*self.service, request, verdict),
            };
        }
        let guard = Arc::clone(&self.guard);
        let mut verification: Verification = Box::pin(async move {
            let verdict = guard
                .verify(
                    request.method().as_str(),
                    request.path(),
                    &ActixRequest(request.request()),
                )
                .await;
            (request, verdict)
        });
        // Polled once here, without a waker: if it must wait, it goes on in the future, whose
        // first poll registers the caller's waker (a future re-checks its state on each poll,
        // so nothing that happened in between is missed).
        let state = match verification.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready((request, verdict)) => proceed(&*self.service, request, verdict),
            Poll::Pending => State::Verifying {
                verification,
                service: Rc::clone(&self.service),
            },
        };
        CognitoMiddlewareFuture { state }
    }
}

impl<S, B> Future for CognitoMiddlewareFuture<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Output = Result<ServiceResponse<EitherBody<B, BoxBody>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx));
                    state.set(State::Done);
                    return Poll::Ready(response.map(ServiceResponse::map_into_left_body));
                }
                StateProj::Verifying { verification, .. } => {
                    let (request, verdict) = ready!(verification.as_mut().poll(cx));
                    if let StateOwned::Verifying { service, .. } = state.as_mut().project_replace(State::Done) {
                        state.set(proceed(&*service, request, verdict));
                    }
                }
                StateProj::Answered { .. } => {
                    if let StateOwned::Answered { response } = state.as_mut().project_replace(State::Done) {
                        return Poll::Ready(Ok(response.map_into_right_body()));
                    }
                }
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}
