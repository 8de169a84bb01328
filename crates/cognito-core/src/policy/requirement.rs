//! The owned requirement ([`Requirement`]: from configuration or code, with custom checks)
//! and the borrowed form every verification call takes ([`RequirementRef`]).

use std::fmt;
use std::ops::Deref;

use serde::Deserialize;

use super::{Policy, PrincipalKind, Require, Rules, acr_list, positive_secs, validate};
use crate::check::{AsyncCheck, Check, Checker};
use crate::error::{AuthError, ConfigError};
use crate::token::Facts;

/// What a route requires, as a value chosen at run time: a pool (the default one if unnamed),
/// the kind of principal, any of some groups, any of some scopes and all of some others, a
/// recent enough sign-in with an accepted authentication context (owned strings, e.g. from
/// configuration), and custom checks ([`Check`], [`AsyncCheck`]) that run after every
/// built-in check. The owned counterpart of the const [`Require`]; `Require` converts into it.
///
/// It deserializes from configuration, with the fields `pool`, `groups`, `scopes`,
/// `all_scopes`, `principal` (`user`, `machine` or `any`, the default), `max_auth_age_secs`
/// (at least 1) and `acr_values`, each optional (checks are code and are added with
/// [`Requirement::check`]):
///
/// ```
/// use cognito_core::{PrincipalKind, Requirement};
/// let admins: Requirement = serde_yaml::from_str("{groups: [admin, ops]}")?;
/// assert_eq!(admins, Requirement::new().any_group(["admin", "ops"]));
/// let readers = Requirement::new().in_pool("us").any_scope(["demo/read"]);
/// assert_eq!((readers.pool(), readers.scopes()), (Some("us"), &["demo/read".to_owned()][..]));
/// let jobs: Requirement = serde_yaml::from_str(
///     "{principal: machine, all_scopes: [jobs/read, jobs/run]}")?;
/// assert_eq!(jobs.principal_kind(), PrincipalKind::Machine);
/// let payments: Requirement = serde_yaml::from_str("{max_auth_age_secs: 300, acr_values: [mfa]}")?;
/// assert_eq!(payments.max_auth_age(), Some(300));
/// assert!(serde_yaml::from_str::<Requirement>("{max_auth_age_secs: 0}").is_err());
/// # Ok::<(), serde_yaml::Error>(())
/// ```
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[must_use]
pub struct Requirement {
    #[serde(default)]
    pool: Option<String>,
    #[serde(default)]
    principal: PrincipalKind,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    all_scopes: Vec<String>,
    #[serde(default, deserialize_with = "positive_secs")]
    max_auth_age_secs: Option<u64>,
    #[serde(default, deserialize_with = "acr_list")]
    acr_values: Vec<String>,
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

    /// Tokens of any tenant: the pool is the tenant whose pool trusts the token's issuer
    /// (see [`crate::tenants`]); in settings, `pool: "*"`.
    ///
    /// ```
    /// use cognito_core::{Requirement, tenants::ANY_TENANT};
    /// let requirement = Requirement::any_tenant();
    /// assert_eq!(requirement.pool(), Some(ANY_TENANT));
    /// ```
    pub fn any_tenant() -> Self {
        Self::new().in_pool(crate::tenants::ANY_TENANT)
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

    /// Require every one of these scopes (added to those already named; else
    /// `forbidden_scope`).
    pub fn all_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.all_scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Serve only this kind of principal (else `forbidden_principal`, 403).
    pub fn principal(mut self, principal: PrincipalKind) -> Self {
        self.principal = principal;
        self
    }

    /// Require a sign-in (`auth_time`) at most `secs` seconds old (else 401
    /// `insufficient_user_authentication`, `max_age=<secs>` in the challenge). 0 is refused
    /// when the requirement is checked at start-up ([`crate::CognitoAuth::check_requirement`],
    /// [`crate::Guard::check`]).
    pub fn max_auth_age_secs(mut self, secs: u64) -> Self {
        self.max_auth_age_secs = Some(secs);
        self
    }

    /// Require a sign-in whose authentication context (`acr`) is one of these (added to
    /// those already named; else 401 `insufficient_user_authentication`, `acr_values` in the
    /// challenge).
    pub fn acr_values<S: Into<String>>(mut self, values: impl IntoIterator<Item = S>) -> Self {
        self.acr_values.extend(values.into_iter().map(Into::into));
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

    /// The scopes, every one of which is required.
    pub fn all_scopes_required(&self) -> &[String] {
        &self.all_scopes
    }

    /// The kind of principal served.
    pub fn principal_kind(&self) -> PrincipalKind {
        self.principal
    }

    /// The maximum age of the sign-in, in seconds, if one is required.
    pub fn max_auth_age(&self) -> Option<u64> {
        self.max_auth_age_secs
    }

    /// The accepted authentication contexts (`acr`), if any are named.
    pub fn acr_values_accepted(&self) -> &[String] {
        &self.acr_values
    }

    /// How many custom checks it runs.
    pub fn check_count(&self) -> usize {
        self.checks.len()
    }

    /// Values that cannot work (`max_auth_age_secs: 0`, an empty or unquotable
    /// `acr_values` entry), as a [`ConfigError`] naming the field. Configuration read with
    /// serde is checked as it is read; [`crate::CognitoAuth::check_requirement`] and
    /// [`crate::Guard::check`] call this for requirements built in code.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate(self.max_auth_age_secs, &self.acr_values)
    }

    pub(crate) fn checks(&self) -> &[Checker] {
        &self.checks
    }

    pub(crate) fn authorize<G: Deref<Target = str>>(&self, facts: &Facts<'_, G>) -> Result<(), AuthError> {
        Rules {
            principal: self.principal,
            groups: &self.groups[..],
            scopes: &self.scopes,
            all_scopes: &self.all_scopes,
            max_auth_age_secs: self.max_auth_age_secs,
            acr_values: &self.acr_values,
        }
        .check(facts)
    }
}

impl From<Require<'_>> for Requirement {
    fn from(require: Require<'_>) -> Self {
        let mut requirement = Requirement::new()
            .principal(require.principal_kind())
            .any_group(require.groups().iter().copied())
            .any_scope(require.scopes().iter().copied())
            .all_scopes(require.all_scopes_required().iter().copied())
            .acr_values(require.acr_values_accepted().iter().copied());
        requirement.max_auth_age_secs = require.max_auth_age();
        requirement
    }
}

/// A requirement as every verification call takes it, borrowed so that passing one costs no
/// allocation: a const [`Require`], an owned [`Requirement`] (`&requirement`), or a route
/// [`Policy`] ([`RequirementRef::of`]), each converting into it.
///
/// ```
/// use cognito_core::{Policy, Require, Requirement, RequirementRef};
/// struct Reports;
/// impl Policy for Reports {
///     const POOL: Option<&'static str> = Some("us");
///     const REQUIREMENT: Option<&'static str> = Some("reports");
/// }
/// let admins = Requirement::new().any_group(["admin"]);
/// let by_value: RequirementRef<'_> = (&admins).into();
/// let by_const: RequirementRef<'_> = Require::NONE.any_scope(&["demo/read"]).into();
/// let by_policy = RequirementRef::of::<Reports>();
/// assert_eq!((by_policy.pool(), by_policy.named()), (Some("us"), Some("reports")));
/// # let _ = (by_value, by_const);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequirementRef<'a> {
    /// The pool a policy names (an owned requirement's own pool is read from it).
    pool: Option<&'a str>,
    require: Require<'a>,
    owned: Option<&'a Requirement>,
    /// The name of a requirement registered on a [`crate::CognitoAuth`].
    named: Option<&'a str>,
}

impl RequirementRef<'static> {
    /// No requirement: any valid token of the default pool.
    pub const NONE: RequirementRef<'static> = RequirementRef {
        pool: None,
        require: Require::NONE,
        owned: None,
        named: None,
    };

    /// The requirement of a route with policy `P`: its pool, its `REQUIRE` and the
    /// requirement its `REQUIREMENT` names, which only a [`crate::CognitoAuth`] (where it is
    /// registered) can look up.
    pub const fn of<P: Policy>() -> Self {
        RequirementRef {
            pool: P::POOL,
            require: P::REQUIRE,
            owned: None,
            named: P::REQUIREMENT,
        }
    }
}

impl<'a> RequirementRef<'a> {
    /// The pool named, by the policy or by the owned requirement (`None`: the default pool).
    pub fn pool(&self) -> Option<&'a str> {
        self.pool.or_else(|| self.owned.and_then(Requirement::pool))
    }

    /// The name of the registered requirement a policy names, if any.
    pub fn named(&self) -> Option<&'a str> {
        self.named
    }

    /// The const rules, the owned requirement and the registered name, for routing.
    pub(crate) fn parts(&self) -> (Option<&'a str>, Require<'a>, Option<&'a Requirement>, Option<&'a str>) {
        (self.pool, self.require, self.owned, self.named)
    }
}

impl<'a> From<Require<'a>> for RequirementRef<'a> {
    fn from(require: Require<'a>) -> Self {
        RequirementRef {
            require,
            ..RequirementRef::NONE
        }
    }
}

impl<'a> From<&'a Requirement> for RequirementRef<'a> {
    fn from(requirement: &'a Requirement) -> Self {
        RequirementRef {
            owned: Some(requirement),
            ..RequirementRef::NONE
        }
    }
}

/// The checks are compared by count only: code has no equality.
impl PartialEq for Requirement {
    fn eq(&self, other: &Self) -> bool {
        self.pool == other.pool
            && self.principal == other.principal
            && self.groups == other.groups
            && self.scopes == other.scopes
            && self.all_scopes == other.all_scopes
            && self.max_auth_age_secs == other.max_auth_age_secs
            && self.acr_values == other.acr_values
            && self.checks.len() == other.checks.len()
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requirement")
            .field("pool", &self.pool)
            .field("principal", &self.principal)
            .field("groups", &self.groups)
            .field("scopes", &self.scopes)
            .field("all_scopes", &self.all_scopes)
            .field("max_auth_age_secs", &self.max_auth_age_secs)
            .field("acr_values", &self.acr_values)
            .field("checks", &self.checks.len())
            .finish()
    }
}
