//! Authorization, checked once the signature has verified: what a route requires beyond a
//! valid token (any of some groups -> else `forbidden_group`, any of some scopes -> else
//! `forbidden_scope`), and the [`Policy`] trait through which every adapter names a route's
//! pool and requirements.

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

    pub(crate) fn check<'s, G: std::ops::Deref<Target = str>>(
        &self,
        token_groups: &[G],
        mut token_scopes: impl Iterator<Item = &'s str>,
    ) -> Result<(), AuthError> {
        if !self.groups.is_empty() && !token_groups.iter().any(|g| self.groups.contains(&&**g)) {
            return Err(ErrorKind::ForbiddenGroup.into());
        }
        if !self.scopes.is_empty() && !token_scopes.any(|s| self.scopes.contains(&s)) {
            return Err(ErrorKind::ForbiddenScope.into());
        }
        Ok(())
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
pub trait Policy: Send + Sync + 'static {
    /// The pool, by name; `None` (the default) is the first pool of the settings.
    const POOL: Option<&'static str> = None;
    /// The groups / scopes required (default: none).
    const REQUIRE: Require<'static> = Require::NONE;
}

/// Any valid token of the default pool.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyUser;

impl Policy for AnyUser {}

/// The scopes of a `scope` claim: separated by spaces (RFC 6749 3.3), empty pieces skipped.
/// The one reading of the claim, for the route check and for the claims types.
pub(crate) fn split_scopes(scope: Option<&str>) -> impl Iterator<Item = &str> {
    scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty())
}
