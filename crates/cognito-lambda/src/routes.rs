//! Route requirements (which groups / scopes, and which pool, a route pattern asks for), how a
//! request's method and path are read from its ARN, and the resource ARNs of an IAM policy
//! answer. The patterns are `cognito_core::route`'s, the one pattern language of the workspace.

use std::fmt;

use cognito_core::PrincipalKind;
use cognito_core::route::{PatternError, RoutePattern};

/// What a route requires beyond a valid token: the kind of principal (a user, or a machine
/// with client credentials); any of the groups, if some are named; any of the scopes and
/// every one of the all-of scopes, if some are named; a sign-in at most so many seconds old
/// and made with one of some authentication contexts (`acr`), if asked; the pool by name
/// (`None`: the default pool). A token that falls short is denied (API Gateway answers 403).
///
/// API Gateway reuses a cached answer for the authorizer's cache TTL: with
/// `max_auth_age_secs`, an Allow may then serve up to that TTL past the sign-in's age limit,
/// so set the TTL well below it (or to 0) for such routes.
///
/// ```
/// use cognito_core::PrincipalKind;
/// use cognito_lambda::Requirement;
/// let admins = Requirement::any_group(["admin"]);
/// let readers = Requirement::any_scope(["demo/read"]).in_pool("partners");
/// let jobs = Requirement::any_user().principal(PrincipalKind::Machine).all_scopes(["jobs/run"]);
/// let payments = Requirement::any_user().max_auth_age_secs(300).acr_values(["mfa"]);
/// assert_eq!(admins.groups, ["admin"]);
/// assert_eq!(readers.pool.as_deref(), Some("partners"));
/// # let _ = (jobs, payments);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requirement {
    /// Any of these groups (`cognito:groups`); empty: no group needed.
    pub groups: Vec<String>,
    /// Any of these scopes (`scope`); empty: no scope needed.
    pub scopes: Vec<String>,
    /// Every one of these scopes; empty: none needed.
    pub all_scopes: Vec<String>,
    /// The kind of principal served (default: any).
    pub principal: PrincipalKind,
    /// The maximum age of the sign-in (`auth_time`) in seconds, at least 1; `None`: any age.
    pub max_auth_age_secs: Option<u64>,
    /// The accepted authentication contexts (`acr`); empty: any.
    pub acr_values: Vec<String>,
    /// The pool whose tokens the route accepts; `None`: the default (first) pool.
    pub pool: Option<String>,
}

impl Requirement {
    /// Any valid token of the default pool.
    pub fn any_user() -> Self {
        Self::default()
    }

    /// Membership of at least one of these groups.
    pub fn any_group(groups: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            groups: groups.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// At least one of these scopes.
    pub fn any_scope(scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            scopes: scopes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The same requirement, also needing every one of these scopes.
    #[must_use]
    pub fn all_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.all_scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The same requirement, serving only this kind of principal.
    #[must_use]
    pub fn principal(mut self, principal: PrincipalKind) -> Self {
        self.principal = principal;
        self
    }

    /// The same requirement, needing a sign-in at most `secs` seconds old (at least 1: 0 is
    /// refused when the route is added).
    #[must_use]
    pub fn max_auth_age_secs(mut self, secs: u64) -> Self {
        self.max_auth_age_secs = Some(secs);
        self
    }

    /// The same requirement, needing a sign-in with one of these authentication contexts.
    #[must_use]
    pub fn acr_values(mut self, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.acr_values.extend(values.into_iter().map(Into::into));
        self
    }

    /// The same requirement as the core's, to validate it.
    pub(crate) fn to_core(&self) -> cognito_core::Requirement {
        let core = cognito_core::Requirement::new()
            .principal(self.principal)
            .any_group(self.groups.iter().cloned())
            .any_scope(self.scopes.iter().cloned())
            .all_scopes(self.all_scopes.iter().cloned())
            .acr_values(self.acr_values.iter().cloned());
        match self.max_auth_age_secs {
            Some(secs) => core.max_auth_age_secs(secs),
            None => core,
        }
    }

    /// The same requirement, for tokens of the pool `name`.
    #[must_use]
    pub fn in_pool(mut self, name: impl Into<String>) -> Self {
        self.pool = Some(name.into());
        self
    }

    /// The pool's name, `default` standing for `None`.
    pub(crate) fn pool_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.pool.as_deref().unwrap_or(default)
    }

    /// Whether every token that satisfies `self` satisfies `other` too (judged conservatively:
    /// `false` when in doubt): the same pool; for groups (and likewise any-of scopes and
    /// `acr_values`) `other` names none, or `self` names some and all of them are among
    /// `other`'s (any of `self`'s is then one of `other`'s); `other`'s any-of scopes are also
    /// met when one of them is among `self`'s all-of scopes; `other`'s all-of scopes are all
    /// among `self`'s; `other` serves any principal or the same kind as `self`; and `other`
    /// sets no sign-in age or one no stricter than `self`'s.
    pub(crate) fn implies(&self, other: &Requirement, default_pool: &str) -> bool {
        let subset = |mine: &[String], theirs: &[String]| {
            theirs.is_empty() || (!mine.is_empty() && mine.iter().all(|m| theirs.contains(m)))
        };
        let any_scope = subset(&self.scopes, &other.scopes) || self.all_scopes.iter().any(|s| other.scopes.contains(s));
        let principal = other.principal == PrincipalKind::Any || other.principal == self.principal;
        let age = match (self.max_auth_age_secs, other.max_auth_age_secs) {
            (_, None) => true,
            (Some(mine), Some(theirs)) => mine <= theirs,
            (None, Some(_)) => false,
        };
        self.pool_or(default_pool) == other.pool_or(default_pool)
            && subset(&self.groups, &other.groups)
            && any_scope
            && other.all_scopes.iter().all(|s| self.all_scopes.contains(s))
            && principal
            && age
            && subset(&self.acr_values, &other.acr_values)
    }

    /// Whether it asks exactly what the default route asks: any valid token of the default pool.
    pub(crate) fn is_default(&self, default_pool: &str) -> bool {
        self.groups.is_empty()
            && self.scopes.is_empty()
            && self.all_scopes.is_empty()
            && self.principal == PrincipalKind::Any
            && self.max_auth_age_secs.is_none()
            && self.acr_values.is_empty()
            && self.pool_or(default_pool) == default_pool
    }
}

/// A route that cannot be added, or an authorizer that cannot answer safely as configured:
/// reported when the route is added or the answer kind is chosen, naming the route(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pattern: String,
    problem: String,
}

impl RouteError {
    pub(crate) fn new(pattern: &str, problem: impl Into<String>) -> Self {
        Self {
            pattern: pattern.to_owned(),
            problem: problem.into(),
        }
    }

    /// The route pattern the error is about, as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl From<PatternError> for RouteError {
    fn from(error: PatternError) -> Self {
        // The pattern error's text already names the pattern.
        let problem = error.to_string();
        let problem = problem
            .strip_prefix(&format!("route {:?}: ", error.pattern()))
            .map_or_else(|| problem.clone(), str::to_owned);
        Self {
            pattern: error.pattern().to_owned(),
            problem,
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route {:?}: {}", self.pattern, self.problem)
    }
}

impl std::error::Error for RouteError {}

/// The methods API Gateway routes (REST API methods, HTTP API route keys). An IAM answer names
/// methods one by one rather than with `*`, because in a resource ARN `*` also matches `/`:
/// `…/prod/*/admin` would match `GET /x/admin` as well, which the route `* /admin` does not.
pub(crate) const METHODS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// Request shapes that some component could read as another path (percent-encoding, empty,
/// `.` and `..` segments, `;` parameters, backslashes, a segment's trailing dot), written as
/// IAM resource globs after the ARN's `<api>/<stage>/` prefix: an IAM answer denies them
/// whatever the route table says, since its other statements cannot tell which route another
/// reading would select. Ordinary paths (`/`, `/.well-known/jwks.json`, `/v1.2/x`) match none.
/// Letter case cannot be expressed here (IAM compares resources as written): see the crate docs.
pub(crate) const AMBIGUOUS_SHAPES: [&str; 10] = [
    "*/*%*",  // percent-encoding anywhere in the path
    "*//*",   // an empty segment
    "*/./*",  // a `.` segment
    "*/../*", // a `..` segment
    "*/.",    // a trailing `.` segment
    "*/..",   // a trailing `..` segment
    "*/*;*",  // a `;` parameter
    "*/*\\*", // a backslash
    "*./*",   // a segment ending in `.`
    "*.",     // a last segment ending in `.`
];

/// A method or route ARN, `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>`,
/// read: the prefix up to the stage's `/` included, the method, and the path (`/` for the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub(crate) prefix: &'a str,
    pub(crate) method: &'a str,
    pub(crate) path: String,
}

impl<'a> Arn<'a> {
    pub(crate) fn parse(arn: &'a str) -> Option<Self> {
        let mut fields = 0;
        let start = arn.char_indices().find_map(|(i, c)| {
            fields += usize::from(c == ':');
            (fields == 5 && c == ':').then_some(i + 1)
        })?;
        let resource = arn.get(start..)?;
        let mut parts = resource.splitn(4, '/');
        let (api, stage, method) = (parts.next()?, parts.next()?, parts.next()?);
        if method.is_empty() {
            return None;
        }
        let prefix = arn.get(..start + api.len() + stage.len() + 2)?;
        Some(Self {
            prefix,
            method,
            path: format!("/{}", parts.next().unwrap_or_default()),
        })
    }

    /// The part of the ARN after the prefix, as IAM compares it: `GET/admin/users`.
    pub(crate) fn tail(&self) -> String {
        format!("{}{}", self.method, self.path)
    }
}

/// The resource globs (after the prefix) of a pattern, for these methods when it names none:
/// `GET /admin/*` gives `GET/admin/*`, `GET/admin`, `HEAD/admin/*`, `HEAD/admin`.
pub(crate) fn pattern_resources(pattern: &RoutePattern, methods: &[String]) -> Vec<String> {
    let methods: Vec<&str> = match pattern.methods() {
        Some(named) => named,
        None => methods.iter().map(String::as_str).collect(),
    };
    let mut globs = Vec::new();
    for glob in pattern.globs() {
        slash_globs(glob, &mut globs);
    }
    let mut out = Vec::new();
    for method in methods {
        for glob in &globs {
            push_unique(&mut out, format!("{method}{glob}"));
        }
    }
    out
}

/// Globs that start with `/` and together match exactly the paths (which all start with `/`)
/// that `glob` matches, so that `<METHOD><glob>` can only match that method: `*x` matches a
/// path when `/*x` does (the `*` takes the first `/`) or when `x` does (it takes nothing).
fn slash_globs(glob: &str, out: &mut Vec<String>) {
    match glob.strip_prefix('*') {
        Some(rest) => {
            push_unique(out, format!("/{glob}"));
            slash_globs(rest, out);
        }
        None if glob.starts_with('/') => push_unique(out, glob.to_owned()),
        // Cannot match a path that starts with `/`.
        None => {}
    }
}

pub(crate) fn push_unique(out: &mut Vec<String>, item: String) {
    if !out.contains(&item) {
        out.push(item);
    }
}

/// IAM's resource matching: `*` any run of characters (`/` included), `?` any one character,
/// everything else itself, case-sensitive (core's one wildcard matcher).
pub(crate) fn iam_matches(pattern: &str, text: &str) -> bool {
    cognito_core::route::wildcard_matches(pattern, text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let read = |arn| Arn::parse(arn).map(|a| (a.prefix, a.method, a.path));
        let arn = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request";
        assert_eq!(
            read(arn),
            Some((
                "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/",
                "GET",
                "/request".to_owned()
            ))
        );
        let arn = "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/";
        assert_eq!(read(arn).map(|a| a.2), Some("/".to_owned()));
        let arn = "arn:aws:execute-api:eu-west-1:1:api/prod/DELETE/admin/users/7";
        assert_eq!(
            read(arn).map(|a| (a.1, a.2)),
            Some(("DELETE", "/admin/users/7".to_owned()))
        );
        let arn = "arn:aws:execute-api:eu-west-1:1:api/prod/GET";
        assert_eq!(read(arn).map(|a| a.2), Some("/".to_owned()));
        for bad in [
            "",
            "arn:aws:execute-api",
            "arn:aws:execute-api:r:a:api",
            "arn:aws:execute-api:r:a:api/prod",
            "arn:aws:execute-api:r:a:api/prod/",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn resources_name_methods_and_both_globs_of_a_subtree() {
        let methods: Vec<String> = METHODS.iter().map(|m| (*m).to_owned()).collect();
        let p = |s| RoutePattern::parse(s).unwrap();
        assert_eq!(
            pattern_resources(&p("GET /admin/*"), &methods),
            ["GET/admin/*", "GET/admin", "HEAD/admin/*", "HEAD/admin"]
        );
        assert_eq!(pattern_resources(&p("* /x"), &methods).len(), 7);
        assert_eq!(pattern_resources(&p("POST *"), &methods), ["POST/*"]);
        assert_eq!(pattern_resources(&p("POST */x"), &methods), ["POST/*/x", "POST/x"]);
        assert_eq!(pattern_resources(&p("POST *x"), &methods), ["POST/*x"]);
    }

    #[test]
    fn ambiguous_shapes_leave_ordinary_paths_alone() {
        let hit = |tail: &str| AMBIGUOUS_SHAPES.iter().any(|s| iam_matches(s, tail));
        for ordinary in [
            "GET/",
            "GET/.well-known/jwks.json",
            "GET/v1.2/x",
            "GET/a.b",
            "POST/admin/users/7",
            "GET/admin/",
            "GET/..a/b",
            "GET/.hidden",
        ] {
            assert!(!hit(ordinary), "{ordinary}");
        }
        for ambiguous in [
            "GET/%61dmin",
            "GET//admin",
            "GET/x/../admin",
            "GET/./admin",
            "GET/admin/.",
            "GET/admin/..",
            "GET/admin;x",
            "GET/x\\admin",
            "GET/admin./x",
            "GET/admin.",
            "GET/.",
        ] {
            assert!(hit(ambiguous), "{ambiguous}");
        }
    }

    #[test]
    fn iam_wildcards() {
        assert!(iam_matches("a*c", "abbbc"));
        assert!(iam_matches("a?c", "abc"));
        assert!(!iam_matches("a?c", "ac"));
        assert!(iam_matches("GET/*", "GET/"));
        assert!(!iam_matches("GET/x", "GET/X"));
        assert!(iam_matches("*/x", "GET/a/x"));
    }

    #[test]
    fn implication() {
        let admin = Requirement::any_group(["admin"]);
        let staff = Requirement::any_group(["admin", "ops"]);
        assert!(admin.implies(&staff, "main"));
        assert!(!staff.implies(&admin, "main"));
        assert!(admin.implies(&Requirement::any_user(), "main"));
        assert!(!Requirement::any_user().implies(&admin, "main"));
        assert!(admin.implies(&admin.clone().in_pool("main"), "main"));
        assert!(!admin.implies(&admin.clone().in_pool("other"), "main"));
        assert!(!Requirement::any_scope(["a"]).implies(&Requirement::any_group(["g"]), "main"));
        // All-of scopes.
        let both = Requirement::any_user().all_scopes(["a", "b"]);
        assert!(both.implies(&Requirement::any_user().all_scopes(["b"]), "main"));
        assert!(both.implies(&Requirement::any_scope(["b", "c"]), "main"));
        assert!(!Requirement::any_user().all_scopes(["b"]).implies(&both, "main"));
        assert!(!Requirement::any_scope(["a"]).implies(&Requirement::any_user().all_scopes(["a"]), "main"));
        // Principals.
        let machines = Requirement::any_user().principal(PrincipalKind::Machine);
        let users = Requirement::any_user().principal(PrincipalKind::User);
        assert!(machines.implies(&Requirement::any_user(), "main"));
        assert!(machines.implies(&machines, "main"));
        assert!(!machines.implies(&users, "main"));
        assert!(!Requirement::any_user().implies(&machines, "main"));
        // Sign-in age and context.
        let recent = Requirement::any_user().max_auth_age_secs(60);
        assert!(recent.implies(&Requirement::any_user().max_auth_age_secs(300), "main"));
        assert!(!Requirement::any_user().max_auth_age_secs(300).implies(&recent, "main"));
        assert!(!Requirement::any_user().implies(&recent, "main"));
        let mfa = Requirement::any_user().acr_values(["mfa"]);
        assert!(mfa.implies(&Requirement::any_user().acr_values(["mfa", "hw"]), "main"));
        assert!(!Requirement::any_user().acr_values(["mfa", "hw"]).implies(&mfa, "main"));
        assert!(!Requirement::any_user().implies(&mfa, "main"));
        for strict in [both, machines, users, recent, mfa] {
            assert!(!strict.is_default("main"));
        }
    }
}
