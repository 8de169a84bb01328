//! Authorization, checked once the signature has verified: what a route requires beyond a
//! valid token, in this order: the kind of principal (a user, or a machine with client
//! credentials -> else `forbidden_principal`), any of some groups (-> else `forbidden_group`),
//! any of some scopes and every one of some others (-> else `forbidden_scope`), a recent
//! enough sign-in with an accepted authentication context (-> else 401
//! `insufficient_user_authentication`), then custom checks; as a const [`Require`] or an
//! owned [`Requirement`] chosen at run time, and the [`Policy`] trait through which every
//! adapter names a route's pool and requirements.

use std::ops::Deref;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::token::{Facts, Principal, split_scopes};

mod requirement;

pub use requirement::{Requirement, RequirementRef};

/// Which kind of principal a route serves (`principal:` in a requirement's configuration).
///
/// A machine token is a Cognito client-credentials access token: it names no user
/// (`username` / `cognito:username` absent) and its `sub` is its `client_id`. Every other
/// token is a user's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// Users and machines alike (the default).
    #[default]
    Any,
    /// Users only: a machine's token is `forbidden_principal` (403).
    User,
    /// Machines (client credentials) only: a user's token is `forbidden_principal` (403).
    Machine,
}

impl PrincipalKind {
    /// Whether a token of this kind of principal (`machine` or not) is served.
    const fn admits(self, machine: bool) -> bool {
        match self {
            PrincipalKind::Any => true,
            PrincipalKind::User => !machine,
            PrincipalKind::Machine => machine,
        }
    }
}

/// A route's rules, whoever owns the lists.
struct Rules<'a, R> {
    principal: PrincipalKind,
    groups: &'a [R],
    scopes: &'a [R],
    all_scopes: &'a [R],
    max_auth_age_secs: Option<u64>,
    acr_values: &'a [R],
}

const STALE_SIGN_IN: &str = "The token's sign-in is older than this resource accepts; sign in again.";
const WRONG_CONTEXT: &str =
    "The token's sign-in was not made with an authentication context this resource accepts; sign in again.";
const MISSING_SCOPE: &str = "The token lacks a scope this resource requires.";

impl<R: AsRef<str>> Rules<'_, R> {
    /// The one authorization rule, in order: principal, groups, scopes (any-of, then all-of),
    /// the sign-in's age and context.
    fn check<'s, G: Deref<Target = str>>(&self, facts: &Facts<'s, G>) -> Result<(), AuthError> {
        if !self.principal.admits(facts.machine) {
            return Err(ErrorKind::ForbiddenPrincipal.into());
        }
        let has = |list: &[R], wanted: &str| list.iter().any(|r| r.as_ref() == wanted);
        if !self.groups.is_empty() && !facts.groups.iter().any(|g| has(self.groups, g)) {
            return Err(ErrorKind::ForbiddenGroup.into());
        }
        let scopes = split_scopes(facts.scope);
        if !self.scopes.is_empty() && !scopes.clone().any(|s| has(self.scopes, s)) {
            let required = self.scopes.iter().map(AsRef::as_ref);
            return Err(AuthError::new(ErrorKind::ForbiddenScope).with_required_scopes(required));
        }
        if !self
            .all_scopes
            .iter()
            .all(|wanted| scopes.clone().any(|s| s == wanted.as_ref()))
        {
            let required = self.all_scopes.iter().map(AsRef::as_ref);
            return Err(
                AuthError::with_message(ErrorKind::ForbiddenScope, MISSING_SCOPE).with_required_scopes(required)
            );
        }
        if self.max_auth_age_secs.is_none() && self.acr_values.is_empty() {
            return Ok(());
        }
        let step_up = |message| {
            let acr_values = (!self.acr_values.is_empty())
                .then(|| self.acr_values.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" "));
            AuthError::step_up(message, self.max_auth_age_secs, acr_values)
        };
        if let Some(max_age) = self.max_auth_age_secs {
            // An absent `auth_time` is no proof of a recent sign-in; a broken clock is no
            // proof either.
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64());
            let fresh = match (facts.auth_time, now) {
                (Some(auth_time), Ok(now)) => now - auth_time <= max_age as f64,
                _ => false,
            };
            if !fresh {
                return Err(step_up(STALE_SIGN_IN));
            }
        }
        if !self.acr_values.is_empty() && !facts.acr.is_some_and(|acr| has(self.acr_values, acr)) {
            return Err(step_up(WRONG_CONTEXT));
        }
        Ok(())
    }
}

/// What a route requires beyond a valid token: the kind of principal; at least one of the
/// groups (`cognito:groups`), if any are named; at least one of the any-of scopes and every
/// one of the all-of scopes (`scope`, exact match), if any are named; a sign-in at most so
/// many seconds old (`auth_time`) and made with one of some authentication contexts (`acr`),
/// if asked. Built in `const` context, so requirements cost nothing per request.
///
/// ```
/// use cognito_core::{PrincipalKind, Require};
/// const ADMINS: Require = Require::NONE.any_group(&["admin", "ops"]);
/// const READERS: Require = Require::NONE.any_scope(&["demo/read"]);
/// const WRITERS: Require = Require::NONE.all_scopes(&["demo/read", "demo/write"]);
/// const MACHINES: Require = Require::NONE.principal(PrincipalKind::Machine);
/// const RECENT: Require = Require::NONE.max_auth_age_secs(300).acr_values(&["mfa"]);
/// assert_eq!(ADMINS.groups(), ["admin", "ops"]);
/// assert_eq!(RECENT.max_auth_age(), Some(300));
/// # let _ = (READERS, WRITERS, MACHINES);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Require<'a> {
    principal: PrincipalKind,
    groups: &'a [&'a str],
    scopes: &'a [&'a str],
    all_scopes: &'a [&'a str],
    max_auth_age_secs: Option<u64>,
    acr_values: &'a [&'a str],
}

impl Require<'static> {
    /// No requirement: any valid token.
    pub const NONE: Require<'static> = Require {
        principal: PrincipalKind::Any,
        groups: &[],
        scopes: &[],
        all_scopes: &[],
        max_auth_age_secs: None,
        acr_values: &[],
    };
}

impl<'a> Require<'a> {
    /// Require membership of at least one of these groups.
    pub const fn any_group(self, groups: &'a [&'a str]) -> Self {
        Require { groups, ..self }
    }

    /// Require at least one of these scopes.
    pub const fn any_scope(self, scopes: &'a [&'a str]) -> Self {
        Require { scopes, ..self }
    }

    /// Require every one of these scopes (else `forbidden_scope`).
    pub const fn all_scopes(self, all_scopes: &'a [&'a str]) -> Self {
        Require { all_scopes, ..self }
    }

    /// Serve only this kind of principal (else `forbidden_principal`, 403).
    pub const fn principal(self, principal: PrincipalKind) -> Self {
        Require { principal, ..self }
    }

    /// Require a sign-in (`auth_time`) at most `secs` seconds old; an older one, or none, is
    /// 401 `insufficient_user_authentication` with `max_age=<secs>` in the challenge. It
    /// must be at least 1 ([`crate::CognitoAuth::check_policy`] refuses 0).
    pub const fn max_auth_age_secs(self, secs: u64) -> Self {
        Require {
            max_auth_age_secs: Some(secs),
            ..self
        }
    }

    /// Require a sign-in whose authentication context (`acr`) is one of these; another, or
    /// none, is 401 `insufficient_user_authentication` with `acr_values` in the challenge.
    pub const fn acr_values(self, acr_values: &'a [&'a str]) -> Self {
        Require { acr_values, ..self }
    }

    /// The groups, any of which is enough.
    pub fn groups(&self) -> &[&'a str] {
        self.groups
    }

    /// The scopes, any of which is enough.
    pub fn scopes(&self) -> &[&'a str] {
        self.scopes
    }

    /// The scopes, every one of which is required.
    pub fn all_scopes_required(&self) -> &[&'a str] {
        self.all_scopes
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
    pub fn acr_values_accepted(&self) -> &[&'a str] {
        self.acr_values
    }

    /// Checks a verified token against this requirement, as verification does (principal,
    /// groups, scopes, sign-in): for callers that verified a token without requirements and
    /// decide per route afterwards (an API Gateway authorizer that denies with the caller's
    /// identity).
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
        let machine = matches!(token.principal(), Principal::Machine { .. });
        self.check(&Facts {
            groups: &token.groups,
            scope: token.scope.as_deref(),
            machine,
            auth_time: token.auth_time.map(|t| t as f64),
            acr: token.acr.as_deref(),
        })
    }

    pub(crate) fn check<G: Deref<Target = str>>(&self, facts: &Facts<'_, G>) -> Result<(), AuthError> {
        self.rules().check(facts)
    }

    fn rules(&self) -> Rules<'_, &'a str> {
        Rules {
            principal: self.principal,
            groups: self.groups,
            scopes: self.scopes,
            all_scopes: self.all_scopes,
            max_auth_age_secs: self.max_auth_age_secs,
            acr_values: self.acr_values,
        }
    }

    /// Values that cannot work, as a [`ConfigError`] naming the field.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        validate(self.max_auth_age_secs, self.acr_values)
    }
}

/// The rules on a requirement's values: `max_auth_age_secs` at least 1; each `acr_values`
/// entry non-empty visible ASCII with no space, quote or backslash (the challenge lists them
/// space-separated in a quoted string).
fn validate<R: AsRef<str>>(max_auth_age_secs: Option<u64>, acr_values: &[R]) -> Result<(), ConfigError> {
    if max_auth_age_secs == Some(0) {
        return Err(ConfigError::invalid(
            None,
            "max_auth_age_secs",
            "must be at least 1 (seconds since the sign-in)",
        ));
    }
    if let Some(bad) = acr_values.iter().map(AsRef::as_ref).find(|v| !acr_value_ok(v)) {
        return Err(ConfigError::invalid(
            None,
            "acr_values",
            format!("{bad:?} is not a non-empty token of visible ASCII without quotes or backslashes"),
        ));
    }
    Ok(())
}

fn acr_value_ok(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// `max_auth_age_secs` as configured: at least 1.
fn positive_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(d)? {
        Some(0) => Err(serde::de::Error::custom(
            "max_auth_age_secs must be at least 1 (seconds since the sign-in)",
        )),
        secs => Ok(secs),
    }
}

/// `acr_values` as configured: each a non-empty token of visible ASCII.
fn acr_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values = Vec::<String>::deserialize(d)?;
    match values.iter().find(|v| !acr_value_ok(v)) {
        Some(bad) => Err(serde::de::Error::custom(format!(
            "acr_values: {bad:?} is not a non-empty token of visible ASCII without quotes or backslashes"
        ))),
        None => Ok(values),
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
    /// The principal, groups, scopes and sign-in required (default: none).
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
