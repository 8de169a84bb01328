//! Authorization, checked once the signature has verified: what a route requires beyond a
//! valid token (any of some groups -> else `forbidden_group`, any of some scopes -> else
//! `forbidden_scope`, then custom checks), as a const [`Require`] or an owned
//! [`Requirement`] chosen at run time, and the [`Policy`] trait through which every adapter
//! names a route's pool and requirements.

use std::fmt;
use std::ops::Deref;

use serde::Deserialize;

use crate::check::{AsyncCheck, Check, Checker};
use crate::error::{AuthError, ErrorKind};

/// What a route requires beyond a valid token: at least one of the groups (`cognito:groups`),
/// if any are named, and at least one of the scopes (`scope`, exact match), if any are named.
/// Built in `const` context, so requirements cost nothing per request.
///
/// ```
/// use cognito_core::Require;
/// const ADMINS: Require = Require::NONE.any_group(&["admin", "ops"]);
/// const READERS: Require = Require::NONE.any_scope(&["demo/read"]);
/// assert_eq!(ADMINS.groups(), ["admin", "ops"]);
/// # let _ = READERS;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Require<'a> {
    groups: &'a [&'a str],
    scopes: &'a [&'a str],
}

impl Require<'static> {
    /// No requirement: any valid token.
    pub const NONE: Require<'static> = Require {
        groups: &[],
        scopes: &[],
    };
}

impl<'a> Require<'a> {
    /// Require membership of at least one of these groups.
    pub const fn any_group(self, groups: &'a [&'a str]) -> Self {
        Require {
            groups,
            scopes: self.scopes,
        }
    }

    /// Require at least one of these scopes.
    pub const fn any_scope(self, scopes: &'a [&'a str]) -> Self {
        Require {
            groups: self.groups,
            scopes,
        }
    }

    /// The groups, any of which is enough.
    pub fn groups(&self) -> &[&'a str] {
        self.groups
    }

    /// The scopes, any of which is enough.
    pub fn scopes(&self) -> &[&'a str] {
        self.scopes
    }

    /// Checks a verified token's groups and scopes against this requirement, as verification
    /// does (`forbidden_group`, then `forbidden_scope`): for callers that verified a token
    /// without requirements and decide per route afterwards (an API Gateway authorizer that
    /// denies with the caller's identity).
    ///
    /// ```
    /// # use cognito_core::{CognitoToken, ErrorKind, Require};
    /// # let token: CognitoToken = serde_json::from_value(serde_json::json!({
    /// #     "iss": "i", "token_use": "access", "exp": 1, "cognito:groups": ["ops"], "scope": "a b"}))?;
    /// assert!(Require::NONE.any_scope(&["b"]).check_token(&token).is_ok());
    /// let err = Require::NONE.any_group(&["admin"]).check_token(&token).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ForbiddenGroup);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn check_token(&self, token: &crate::CognitoToken) -> Result<(), AuthError> {
        self.check(&token.groups, split_scopes(token.scope.as_deref()))
    }

    pub(crate) fn check<'s, G: Deref<Target = str>>(
        &self,
        token_groups: &[G],
        token_scopes: impl Iterator<Item = &'s str>,
    ) -> Result<(), AuthError> {
        authorize(self.groups, self.scopes, token_groups, token_scopes)
    }
}

/// The one any-of rule for groups, then scopes, whoever owns the lists.
pub(crate) fn authorize<'s, R: AsRef<str>, G: Deref<Target = str>>(
    groups: &[R],
    scopes: &[R],
    token_groups: &[G],
    mut token_scopes: impl Iterator<Item = &'s str>,
) -> Result<(), AuthError> {
    if !groups.is_empty() && !token_groups.iter().any(|g| groups.iter().any(|r| r.as_ref() == &**g)) {
        return Err(ErrorKind::ForbiddenGroup.into());
    }
    if !scopes.is_empty() && !token_scopes.any(|s| scopes.iter().any(|r| r.as_ref() == s)) {
        return Err(AuthError::new(ErrorKind::ForbiddenScope).with_required_scopes(scopes));
    }
    Ok(())
}

/// What a route requires, as a value chosen at run time: a pool (the default one if unnamed),
/// any of some groups, any of some scopes (owned strings, e.g. from configuration), and custom
/// checks ([`Check`], [`AsyncCheck`]) that run after every built-in check. The owned
/// counterpart of the const [`Require`]; `Require` converts into it.
///
/// It deserializes from configuration, with the fields `pool`, `groups` and `scopes`, each
/// optional (checks are code and are added with [`Requirement::check`]):
///
/// ```
/// use cognito_core::Requirement;
/// let admins: Requirement = serde_yaml::from_str("{groups: [admin, ops]}")?;
/// assert_eq!(admins, Requirement::new().any_group(["admin", "ops"]));
/// let readers = Requirement::new().in_pool("us").any_scope(["demo/read"]);
/// assert_eq!((readers.pool(), readers.scopes()), (Some("us"), &["demo/read".to_owned()][..]));
/// # Ok::<(), serde_yaml::Error>(())
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[must_use]
pub struct Requirement {
    #[serde(default)]
    pool: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(skip)]
    checks: Vec<Checker>,
}

impl Requirement {
    /// Any valid token of the default pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokens of the pool named `name` (the default: the first pool of the settings).
    pub fn in_pool(mut self, name: impl Into<String>) -> Self {
        self.pool = Some(name.into());
        self
    }

    /// Require membership of at least one of these groups (added to those already named).
    pub fn any_group<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// Require at least one of these scopes (added to those already named).
    pub fn any_scope<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds a synchronous custom check, run after every built-in check (and after the checks
    /// added before it), on token-cache hits too.
    pub fn check(mut self, check: impl Check) -> Self {
        self.checks.push(Checker::sync(check));
        self
    }

    /// Adds an asynchronous custom check (a database lookup, say), run as [`Requirement::check`].
    pub fn check_async(mut self, check: impl AsyncCheck) -> Self {
        self.checks.push(Checker::asynchronous(check));
        self
    }

    /// The pool named, if any.
    pub fn pool(&self) -> Option<&str> {
        self.pool.as_deref()
    }

    /// The groups, any of which is enough.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The scopes, any of which is enough.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// How many custom checks it runs.
    pub fn check_count(&self) -> usize {
        self.checks.len()
    }

    pub(crate) fn checks(&self) -> &[Checker] {
        &self.checks
    }

    pub(crate) fn authorize<'s, G: Deref<Target = str>>(
        &self,
        token_groups: &[G],
        token_scopes: impl Iterator<Item = &'s str>,
    ) -> Result<(), AuthError> {
        authorize(&self.groups, &self.scopes, token_groups, token_scopes)
    }
}

impl From<Require<'_>> for Requirement {
    fn from(require: Require<'_>) -> Self {
        Requirement::new()
            .any_group(require.groups().iter().copied())
            .any_scope(require.scopes().iter().copied())
    }
}

/// The checks are compared by count only: code has no equality.
impl PartialEq for Requirement {
    fn eq(&self, other: &Self) -> bool {
        self.pool == other.pool
            && self.groups == other.groups
            && self.scopes == other.scopes
            && self.checks.len() == other.checks.len()
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requirement")
            .field("pool", &self.pool)
            .field("groups", &self.groups)
            .field("scopes", &self.scopes)
            .field("checks", &self.checks.len())
            .finish()
    }
}

/// A route's authentication policy, as a type: which pool verifies its tokens and what it
/// requires. The adapters' extractors take it as a type parameter, so the same idea reads the
/// same in axum, actix-web and rocket:
///
/// ```
/// use cognito_core::{Policy, Require};
///
/// /// Admins of the default pool.
/// struct Admins;
/// impl Policy for Admins {
///     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
/// }
///
/// /// Any user of the `us` pool.
/// struct UsPool;
/// impl Policy for UsPool {
///     const POOL: Option<&'static str> = Some("us");
/// }
/// ```
///
/// A policy can also name a [`Requirement`] registered at start-up
/// ([`CognitoAuth::with_requirement`](crate::CognitoAuth::with_requirement)), so a route's
/// groups, scopes and checks come from configuration:
///
/// ```
/// use cognito_core::Policy;
/// /// Whatever the configuration's `reports` requirement says.
/// struct Reports;
/// impl Policy for Reports {
///     const REQUIREMENT: Option<&'static str> = Some("reports");
/// }
/// ```
pub trait Policy: Send + Sync + 'static {
    /// The pool, by name; `None` (the default) is the first pool of the settings.
    const POOL: Option<&'static str> = None;
    /// The groups / scopes required (default: none).
    const REQUIRE: Require<'static> = Require::NONE;
    /// The name of a [`Requirement`] registered on the `CognitoAuth`, checked as well as
    /// `REQUIRE` (default: none). Its pool, if it names one, is the route's pool (and must
    /// then agree with `POOL`, if that is set too).
    const REQUIREMENT: Option<&'static str> = None;
}

/// Any valid token of the default pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyUser;

impl Policy for AnyUser {}

/// The scopes of a `scope` claim: separated by spaces (RFC 6749 3.3), empty pieces skipped.
/// The one reading of the claim, for the route check and for the claims types.
pub(crate) fn split_scopes(scope: Option<&str>) -> impl Iterator<Item = &str> + Clone {
    scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty())
}
