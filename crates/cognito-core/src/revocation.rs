//! Revocation: tokens the application withdrew before their `exp`, refused as 401 `revoked`
//! (token-cache hits included).
//!
//! Two things can be revoked:
//!
//! - a session: every token whose `origin_jti` (else `jti`) is the given id. Cognito gives
//!   every access and ID token minted from one sign-in's refresh token the same `origin_jti`,
//!   so this ends the whole sign-in. Revoke the refresh token at Cognito too (`RevokeToken`,
//!   `GlobalSignOut`), so that no new token of the session is minted once the entry is gone;
//! - a user: every token of a `sub` issued (`iat`) at or before a time (a token without `iat`
//!   counts as issued before). Tokens minted in the same second as the revocation count as
//!   issued before it (`iat` has whole seconds).
//!
//! Cognito's access and ID tokens live at most one day, so an entry is dropped one day (plus
//! the leeway) after the revocation, or after the time a user revocation names: no token it
//! names can still be valid by then, and the store stays bounded by the revocations of one
//! day.
//!
//! The built-in store ([`RevocationStore`], the default of every [`crate::CognitoAuth`]) lives
//! in the process's memory: answering costs no I/O, and while nothing is revoked, one atomic
//! load. Several instances of a service need a shared store: implement
//! [`RevocationBackend`] over Redis, DynamoDB, ..., and install it with
//! [`crate::CognitoAuth::with_revocation_store`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{AuthError, ErrorKind};

/// The longest a Cognito access or ID token lives: one day.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How often at most the built-in store sweeps out entries that ended.
const SWEEP_EVERY_SECS: f64 = 60.0;

/// What revocation reads of a verified token.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TokenIds<'a> {
    /// `sub`.
    pub sub: Option<&'a str>,
    /// The session: `origin_jti`, else `jti`.
    pub session: Option<&'a str>,
    /// `iat`, seconds since the epoch.
    pub iat: Option<f64>,
}

impl<'a> TokenIds<'a> {
    /// A token's ids: its `sub`, its session (`origin_jti`, else `jti`) and its `iat`.
    pub fn new(sub: Option<&'a str>, session: Option<&'a str>, iat: Option<f64>) -> Self {
        TokenIds { sub, session, iat }
    }
}

/// The future a [`RevocationBackend`] returns.
pub type RevocationFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an external store could not record a revocation.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// A revocation that could not be recorded: what the external store said.
#[derive(Debug, thiserror::Error)]
#[error("the revocation store failed: {0}")]
pub struct RevocationError(#[source] BackendError);

impl RevocationError {
    /// What the store said.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

/// An external revocation store (Redis, DynamoDB, ...), asked on every verification instead
/// of the built-in in-memory [`RevocationStore`]: for services of several instances, where a
/// revocation made in one must hold in all.
///
/// It should keep an entry one day (plus the leeway) past the revocation, or past the time a
/// user revocation names ([`MAX_TOKEN_LIFETIME`]; a Redis key with that TTL, a DynamoDB item
/// with that TTL attribute).
///
/// ```
/// use std::time::SystemTime;
/// use cognito_core::revocation::{BackendError, RevocationBackend, RevocationFuture, TokenIds};
/// use cognito_core::AuthError;
///
/// /// Revokes nothing: where a real store would ask Redis.
/// struct Nothing;
/// impl RevocationBackend for Nothing {
///     fn is_revoked<'a>(&'a self, _token: TokenIds<'a>) -> RevocationFuture<'a, Result<bool, AuthError>> {
///         Box::pin(async { Ok(false) })
///     }
///     fn revoke_session<'a>(&'a self, _session: &'a str) -> RevocationFuture<'a, Result<(), BackendError>> {
///         Box::pin(async { Err("read-only".into()) })
///     }
///     fn revoke_user<'a>(&'a self, _sub: &'a str, _at: SystemTime) -> RevocationFuture<'a, Result<(), BackendError>> {
///         Box::pin(async { Err("read-only".into()) })
///     }
/// }
/// ```
pub trait RevocationBackend: Send + Sync + 'static {
    /// Whether `token` is revoked. An error is the answer to the request (fail closed): a
    /// store that cannot be reached should say so with an [`AuthError`] of the service's
    /// choice (e.g. [`AuthError::because`]).
    fn is_revoked<'a>(&'a self, token: TokenIds<'a>) -> RevocationFuture<'a, Result<bool, AuthError>>;

    /// Revokes every token of the session `session` (`origin_jti`, else `jti`).
    fn revoke_session<'a>(&'a self, session: &'a str) -> RevocationFuture<'a, Result<(), BackendError>>;

    /// Revokes every token of `sub` issued at or before `issued_at_or_before`.
    fn revoke_user<'a>(
        &'a self,
        sub: &'a str,
        issued_at_or_before: SystemTime,
    ) -> RevocationFuture<'a, Result<(), BackendError>>;
}

/// The built-in revocation store, in memory: no I/O per request; while it is empty, a
/// verification pays one atomic load, otherwise a shared read lock (readers never wait for
/// each other; only a revocation or the sweep of ended entries writes).
///
/// ```
/// use std::time::Duration;
/// use cognito_core::revocation::{RevocationStore, TokenIds};
/// let store = RevocationStore::new(Duration::from_secs(0));
/// store.revoke_session("origin-1");
/// assert!(store.is_revoked(&TokenIds::new(Some("alice"), Some("origin-1"), Some(1.0))));
/// assert!(!store.is_revoked(&TokenIds::new(Some("alice"), Some("origin-2"), Some(1.0))));
/// ```
#[derive(Debug)]
pub struct RevocationStore {
    /// Kept past the day, as verification lets tokens live past `exp`.
    leeway: f64,
    /// How many entries: 0 is the fast path.
    count: AtomicUsize,
    /// When (whole seconds since the epoch) the next sweep may run.
    next_sweep: AtomicU64,
    lists: RwLock<Lists>,
}

#[derive(Debug, Default)]
struct Lists {
    /// Session id -> when the entry ends.
    sessions: HashMap<Box<str>, f64>,
    /// `sub` -> (tokens issued at or before this are revoked, when the entry ends).
    users: HashMap<Box<str>, (f64, f64)>,
}

impl Lists {
    fn len(&self) -> usize {
        self.sessions.len() + self.users.len()
    }
}

impl RevocationStore {
    /// An empty store whose entries last [`MAX_TOKEN_LIFETIME`] plus `leeway` (the settings'
    /// `leeway_seconds`: tokens are accepted that long past their `exp`).
    pub fn new(leeway: Duration) -> Self {
        RevocationStore {
            leeway: leeway.as_secs_f64(),
            count: AtomicUsize::new(0),
            next_sweep: AtomicU64::new(u64::MAX),
            lists: RwLock::default(),
        }
    }

    /// How long an entry is kept past the time it names.
    fn keep(&self) -> f64 {
        MAX_TOKEN_LIFETIME.as_secs_f64() + self.leeway
    }

    /// Revokes every token of the session `session` (`origin_jti`, else `jti`) for the next
    /// day (plus the leeway). An empty id names nothing and is ignored.
    pub fn revoke_session(&self, session: &str) {
        if session.is_empty() {
            return;
        }
        let now = now_secs();
        let until = now + self.keep();
        self.write(now, |lists| {
            let end = lists.sessions.entry(session.into()).or_insert(until);
            *end = end.max(until);
        });
    }

    /// Revokes every token of `sub` issued at or before `issued_at_or_before`; a time later
    /// than now counts as now (the store revokes what exists, so it stays bounded). The entry
    /// ends one day (plus the leeway) after that time. An empty `sub` names nothing and is
    /// ignored.
    pub fn revoke_user(&self, sub: &str, issued_at_or_before: SystemTime) {
        if sub.is_empty() {
            return;
        }
        let now = now_secs();
        let cutoff = secs_of(issued_at_or_before).min(now);
        let until = cutoff + self.keep();
        if until <= now {
            return; // every token it names has expired
        }
        self.write(now, |lists| {
            let entry = lists.users.entry(sub.into()).or_insert((cutoff, until));
            *entry = (entry.0.max(cutoff), entry.1.max(until));
        });
    }

    /// Revokes every token of `sub` issued until now.
    pub fn revoke_user_now(&self, sub: &str) {
        self.revoke_user(sub, SystemTime::now());
    }

    /// Whether `token` is revoked: its session is, or its user is and the token was issued at
    /// or before the user's revocation time (or carries no `iat`).
    pub fn is_revoked(&self, token: &TokenIds<'_>) -> bool {
        if self.count.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.sweep_if_due();
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        if token.session.is_some_and(|s| lists.sessions.contains_key(s)) {
            return true;
        }
        match token.sub.and_then(|sub| lists.users.get(sub)) {
            Some((cutoff, _)) => token.iat.is_none_or(|iat| iat <= *cutoff),
            None => false,
        }
    }

    /// How many revocations it holds now (sessions and users).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Whether it holds no revocation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the entries that ended (no token they name can still be valid). Verification
    /// calls it at most once a minute on its own; there is no need to call it.
    pub fn sweep(&self) {
        self.write(now_secs(), |_| {});
    }

    /// A sweep if one is due, without waiting: a verification never blocks on it.
    fn sweep_if_due(&self) {
        let now = now_secs();
        if (now as u64) < self.next_sweep.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut lists) = self.lists.try_write() {
            self.sweep_locked(&mut lists, now);
        }
    }

    /// `change`, then the sweep, under the write lock.
    fn write(&self, now: f64, change: impl FnOnce(&mut Lists)) {
        let mut lists = self.lists.write().unwrap_or_else(PoisonError::into_inner);
        change(&mut lists);
        self.sweep_locked(&mut lists, now);
    }

    fn sweep_locked(&self, lists: &mut Lists, now: f64) {
        lists.sessions.retain(|_, until| *until > now);
        lists.users.retain(|_, (_, until)| *until > now);
        let first_end = lists
            .sessions
            .values()
            .chain(lists.users.values().map(|(_, until)| until))
            .fold(f64::INFINITY, |a, b| a.min(*b));
        let next = if first_end.is_finite() {
            first_end.max(now + SWEEP_EVERY_SECS).ceil() as u64
        } else {
            u64::MAX
        };
        self.next_sweep.store(next, Ordering::Relaxed);
        self.count.store(lists.len(), Ordering::Release);
    }
}

/// Seconds since the epoch now (0 for a clock before 1970: entries then end early rather than
/// never).
fn now_secs() -> f64 {
    secs_of(SystemTime::now())
}

fn secs_of(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Where a [`crate::CognitoAuth`]'s revocations are kept and asked: the built-in
/// [`RevocationStore`] (the default) or a [`RevocationBackend`]. Cheap to clone; every clone
/// is the same store.
#[derive(Clone)]
pub struct Revocations(Source);

#[derive(Clone)]
enum Source {
    Memory(Arc<RevocationStore>),
    External(Arc<dyn RevocationBackend>),
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Memory(store) => f.debug_tuple("Revocations").field(&store.len()).finish(),
            Source::External(_) => f.write_str("Revocations(external)"),
        }
    }
}

impl Revocations {
    /// A fresh built-in store (see [`RevocationStore::new`]).
    pub fn in_memory(leeway: Duration) -> Self {
        Revocations(Source::Memory(Arc::new(RevocationStore::new(leeway))))
    }

    /// An external store.
    pub fn external(backend: impl RevocationBackend) -> Self {
        Revocations(Source::External(Arc::new(backend)))
    }

    /// The built-in store, unless an external one is installed.
    pub fn memory(&self) -> Option<&RevocationStore> {
        match &self.0 {
            Source::Memory(store) => Some(store),
            Source::External(_) => None,
        }
    }

    /// Revokes every token of the session `session` (`origin_jti`, else `jti`).
    pub async fn revoke_session(&self, session: &str) -> Result<(), RevocationError> {
        match &self.0 {
            Source::Memory(store) => {
                store.revoke_session(session);
                Ok(())
            }
            Source::External(backend) => backend.revoke_session(session).await.map_err(RevocationError),
        }
    }

    /// Revokes every token of `sub` issued at or before `issued_at_or_before`.
    pub async fn revoke_user(&self, sub: &str, issued_at_or_before: SystemTime) -> Result<(), RevocationError> {
        match &self.0 {
            Source::Memory(store) => {
                store.revoke_user(sub, issued_at_or_before);
                Ok(())
            }
            Source::External(backend) => backend
                .revoke_user(sub, issued_at_or_before)
                .await
                .map_err(RevocationError),
        }
    }

    /// Revokes every token of `sub` issued until now.
    pub async fn revoke_user_now(&self, sub: &str) -> Result<(), RevocationError> {
        self.revoke_user(sub, SystemTime::now()).await
    }

    /// Whether `token` is revoked.
    pub async fn is_revoked(&self, token: TokenIds<'_>) -> Result<bool, AuthError> {
        match &self.0 {
            Source::Memory(store) => Ok(store.is_revoked(&token)),
            Source::External(backend) => backend.is_revoked(token).await,
        }
    }

    /// `revoked` if `token` is.
    pub(crate) async fn check(&self, token: TokenIds<'_>) -> Result<(), AuthError> {
        refuse_revoked(self.is_revoked(token).await?)
    }

    /// [`Revocations::check`] without waiting, with the built-in store; `None` when an external
    /// store is installed (its answer may have to be waited for).
    pub(crate) fn check_now(&self) -> Option<impl Fn(TokenIds<'_>) -> Result<(), AuthError> + '_> {
        self.memory()
            .map(|store| move |token: TokenIds<'_>| refuse_revoked(store.is_revoked(&token)))
    }
}

/// A revoked token's refusal.
fn refuse_revoked(revoked: bool) -> Result<(), AuthError> {
    match revoked {
        true => Err(ErrorKind::Revoked.into()),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<'a>(sub: &'a str, session: &'a str, iat: f64) -> TokenIds<'a> {
        TokenIds::new(Some(sub), Some(session), Some(iat))
    }

    #[test]
    fn users_by_issue_time_and_sessions() {
        let store = RevocationStore::new(Duration::from_secs(30));
        let now = now_secs();
        assert!(!store.is_revoked(&ids("alice", "s1", now)));
        store.revoke_user("alice", UNIX_EPOCH + Duration::from_secs_f64(now - 100.0));
        assert_eq!(store.len(), 1);
        assert!(store.is_revoked(&ids("alice", "s1", now - 200.0)));
        assert!(
            store.is_revoked(&ids("alice", "s1", now - 100.0)),
            "at the time: revoked"
        );
        assert!(!store.is_revoked(&ids("alice", "s1", now - 99.0)), "issued after");
        assert!(
            store.is_revoked(&TokenIds::new(Some("alice"), None, None)),
            "no iat: before"
        );
        assert!(!store.is_revoked(&ids("bob", "s1", now - 200.0)));
        store.revoke_session("s2");
        assert!(store.is_revoked(&ids("bob", "s2", now)));
        assert!(!store.is_revoked(&TokenIds::new(Some("bob"), None, Some(now))));
        // A future time counts as now.
        store.revoke_user("carol", SystemTime::now() + Duration::from_secs(3600));
        assert!(!store.is_revoked(&ids("carol", "s", now + 1800.0)));
        store.revoke_session("");
        store.revoke_user("", SystemTime::now());
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn entries_end_a_day_after() {
        let store = RevocationStore::new(Duration::from_secs(30));
        let long_ago = SystemTime::now() - MAX_TOKEN_LIFETIME - Duration::from_secs(31);
        store.revoke_user("old", long_ago);
        assert!(store.is_empty(), "nothing it names can still be valid");
        let almost = SystemTime::now() - MAX_TOKEN_LIFETIME;
        store.revoke_user("recent", almost);
        assert_eq!(store.len(), 1);
        {
            let mut lists = store.lists.write().unwrap();
            let now = now_secs() + 31.0;
            store.sweep_locked(&mut lists, now);
        }
        assert!(store.is_empty());
    }
}
