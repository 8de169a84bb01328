//! Custom checks: a service's own rules over a verified token (an account suspended, a tenant
//! not allowed), run after every built-in check, on token-cache hits too. A check answers
//! `Ok(())` to allow, or an [`AuthError`]: [`AuthError::rejected`] (401 `rejected`, with the
//! check's own sentence), any 401 kind, or a 403 kind ([`AuthError::because`]).
//!
//! Two traits, each with a blanket implementation for closures: [`Check`] for a synchronous
//! rule, [`AsyncCheck`] for one that waits (a database, a cache service).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::error::AuthError;
use crate::verified::Verified;

/// The future an [`AsyncCheck`] returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), AuthError>> + Send + 'static>>;

/// A synchronous custom check on a verified token (its claims and JOSE header).
///
/// Any `Fn(&Verified) -> Result<(), AuthError>` closure is one:
///
/// ```
/// use cognito_core::{AuthError, Requirement, Verified};
/// let not_suspended = |token: &Verified| match token.claim("custom:suspended") {
///     Some(serde_json::Value::String(s)) if s == "true" => Err(AuthError::rejected("This account is suspended.")),
///     _ => Ok(()),
/// };
/// let requirement = Requirement::new().check(not_suspended);
/// # let _ = requirement;
/// ```
pub trait Check: Send + Sync + 'static {
    /// `Ok(())` to allow, else the refusal.
    fn check(&self, token: &Verified) -> Result<(), AuthError>;
}

impl<F> Check for F
where
    F: Fn(&Verified) -> Result<(), AuthError> + Send + Sync + 'static,
{
    fn check(&self, token: &Verified) -> Result<(), AuthError> {
        self(token)
    }
}

/// An asynchronous custom check. It receives the [`Verified`] token by value (a cheap clone),
/// so the future it returns owns what it reads.
///
/// Any `Fn(Verified) -> impl Future<Output = Result<(), AuthError>>` closure is one:
///
/// ```
/// use cognito_core::{AuthError, Requirement, Verified};
/// let known_tenant = |token: Verified| async move {
///     // e.g. a database lookup
///     match token.claim("custom:tenant").and_then(|t| t.as_str()) {
///         Some("acme") => Ok(()),
///         _ => Err(AuthError::rejected("This tenant is not served here.")),
///     }
/// };
/// let requirement = Requirement::new().check_async(known_tenant);
/// # let _ = requirement;
/// ```
pub trait AsyncCheck: Send + Sync + 'static {
    /// Resolves to `Ok(())` to allow, else the refusal.
    fn check_async(&self, token: Verified) -> CheckFuture;
}

impl<F, Fut> AsyncCheck for F
where
    F: Fn(Verified) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
{
    fn check_async(&self, token: Verified) -> CheckFuture {
        Box::pin(self(token))
    }
}

/// One stored check, of either kind.
#[derive(Clone)]
pub(crate) enum Checker {
    Sync(Arc<dyn Check>),
    Async(Arc<dyn AsyncCheck>),
}

impl Checker {
    pub(crate) fn sync(check: impl Check) -> Self {
        Checker::Sync(Arc::new(check))
    }

    pub(crate) fn asynchronous(check: impl AsyncCheck) -> Self {
        Checker::Async(Arc::new(check))
    }
}

/// Runs `checks` in order; the first refusal is the answer.
pub(crate) async fn run<'c>(checks: impl Iterator<Item = &'c Checker>, token: &Verified) -> Result<(), AuthError> {
    for check in checks {
        match check {
            Checker::Sync(check) => check.check(token)?,
            Checker::Async(check) => check.check_async(token.clone()).await?,
        }
    }
    Ok(())
}

/// Polls `future` once, for callers that cannot wait: `None` if it is not ready.
pub(crate) fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
