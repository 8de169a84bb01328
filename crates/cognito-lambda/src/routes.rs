//! How route requirements relate (implication, the default route's requirement), how a
//! request's method and path are read from its ARN, and the resource ARNs of an IAM policy
//! answer. The patterns are `cognito_core::route`'s, the one pattern language of the workspace.

use std::fmt;

use cognito_core::route::{PatternError, RoutePattern, RouteTable};
use cognito_core::{PrincipalKind, Requirement};

/// The pool `requirement` names, `default` standing for none.
pub(crate) fn pool_or<'a>(requirement: &'a Requirement, default: &'a str) -> &'a str {
    requirement.pool().unwrap_or(default)
}

/// Whether every token that satisfies `mine` satisfies `other` too (judged conservatively:
/// `false` when in doubt): the same pool; for groups (and likewise any-of scopes and
/// `acr_values`) `other` names none, or `mine` names some and all of them are among
/// `other`'s (any of `mine`'s is then one of `other`'s); `other`'s any-of scopes are also met
/// when one of them is among `mine`'s all-of scopes; `other`'s all-of scopes are all among
/// `mine`'s; `other` serves any principal or the same kind as `mine`; `other` sets no sign-in
/// age or one no stricter than `mine`'s; and `other` runs no custom checks (code cannot be
/// compared).
pub(crate) fn implies(mine: &Requirement, other: &Requirement, default_pool: &str) -> bool {
    let subset = |mine: &[String], theirs: &[String]| {
        theirs.is_empty() || (!mine.is_empty() && mine.iter().all(|m| theirs.contains(m)))
    };
    let any_scope =
        subset(mine.scopes(), other.scopes()) || mine.all_scopes_required().iter().any(|s| other.scopes().contains(s));
    let principal = other.principal_kind() == PrincipalKind::Any || other.principal_kind() == mine.principal_kind();
    let age = match (mine.max_auth_age(), other.max_auth_age()) {
        (_, None) => true,
        (Some(mine), Some(theirs)) => mine <= theirs,
        (None, Some(_)) => false,
    };
    pool_or(mine, default_pool) == pool_or(other, default_pool)
        && subset(mine.groups(), other.groups())
        && any_scope
        && other
            .all_scopes_required()
            .iter()
            .all(|s| mine.all_scopes_required().contains(s))
        && principal
        && age
        && subset(mine.acr_values_accepted(), other.acr_values_accepted())
        && other.check_count() == 0
}

/// Whether it asks exactly what the default route asks: any valid token of the default pool.
pub(crate) fn is_default(requirement: &Requirement, default_pool: &str) -> bool {
    requirement.groups().is_empty()
        && requirement.scopes().is_empty()
        && requirement.all_scopes_required().is_empty()
        && requirement.principal_kind() == PrincipalKind::Any
        && requirement.max_auth_age().is_none()
        && requirement.acr_values_accepted().is_empty()
        && requirement.check_count() == 0
        && pool_or(requirement, default_pool) == default_pool
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

/// The resource globs (after the ARN's `<api>/<stage>/` prefix) an IAM answer lists, worked
/// out once per route table: each route's, the default route's (`<METHOD>/*` for every method)
/// and the ambiguous shapes, as indices into one list of distinct globs. An answer then picks
/// indices, and writes each glob it lists once, after the prefix: building them anew for every
/// invocation (a `format!` and a string comparison per resource) was a third of its cost.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    globs: Vec<String>,
    routes: Vec<Vec<usize>>,
    default: Vec<usize>,
    ambiguous: Vec<usize>,
}

impl Resources {
    /// The resources of `routes` (their patterns, in order) and of these methods.
    pub(crate) fn new<T>(routes: &RouteTable<T>, methods: &[String]) -> Self {
        let mut resources = Resources::default();
        for (pattern, _) in routes.entries() {
            let ids = pattern_resources(pattern, methods)
                .into_iter()
                .map(|glob| resources.id(glob))
                .collect();
            resources.routes.push(ids);
        }
        for method in methods {
            let id = resources.id(format!("{method}/*"));
            push_unique(&mut resources.default, id);
        }
        for shape in AMBIGUOUS_SHAPES {
            let id = resources.id(shape.to_owned());
            push_unique(&mut resources.ambiguous, id);
        }
        resources
    }

    fn id(&mut self, glob: String) -> usize {
        match self.globs.iter().position(|known| *known == glob) {
            Some(id) => id,
            None => {
                self.globs.push(glob);
                self.globs.len() - 1
            }
        }
    }

    /// The resources of each route, in the table's order.
    pub(crate) fn routes(&self) -> &[Vec<usize>] {
        &self.routes
    }

    /// The default route's: `<METHOD>/*` for every method.
    pub(crate) fn default_route(&self) -> &[usize] {
        &self.default
    }

    /// The request shapes denied to everyone ([`AMBIGUOUS_SHAPES`]).
    pub(crate) fn ambiguous(&self) -> &[usize] {
        &self.ambiguous
    }

    /// The ARNs of these resources under `prefix`, in their order.
    pub(crate) fn arns(&self, prefix: &str, ids: &[usize]) -> Vec<String> {
        ids.iter()
            .filter_map(|&id| self.globs.get(id))
            .map(|glob| {
                let mut arn = String::with_capacity(prefix.len() + glob.len());
                arn.push_str(prefix);
                arn.push_str(glob);
                arn
            })
            .collect()
    }
}

/// The route table and what it implies, only ever built together from it, so an answer that
/// pairs each route with its resources cannot pair it with another route's (a route left out
/// of the Deny statement would fall to the default route's Allow).
#[derive(Debug)]
pub(crate) struct Routes {
    pub table: RouteTable<Requirement>,
    /// [`METHODS`] and every method a route names (upper case): what an IAM answer covers.
    pub methods: Vec<String>,
    pub resources: Resources,
}

impl Routes {
    pub(crate) fn new(table: RouteTable<Requirement>) -> Self {
        let mut methods: Vec<String> = METHODS.iter().map(|m| (*m).to_owned()).collect();
        for (pattern, _) in table.entries() {
            for method in pattern.methods().unwrap_or_default() {
                push_unique(&mut methods, method.to_owned());
            }
        }
        Routes {
            resources: Resources::new(&table, &methods),
            methods,
            table,
        }
    }
}

/// Adds `item` unless listed already.
pub(crate) fn push_unique<T: PartialEq>(out: &mut Vec<T>, item: T) {
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
    fn a_tables_resources_are_each_routes_own_under_the_prefix() -> Result<(), PatternError> {
        let methods: Vec<String> = METHODS.iter().map(|m| (*m).to_owned()).collect();
        let mut table = RouteTable::new();
        let patterns = ["GET /admin/*", "* /x", "POST *", "GET /admin", "/reports/*/pdf"];
        for pattern in patterns {
            table.push(pattern, ())?;
        }
        let resources = Resources::new(&table, &methods);
        let prefix = "arn:aws:execute-api:eu-west-1:123:api/prod/";
        for (i, (pattern, _)) in table.entries().iter().enumerate() {
            let expected: Vec<String> = pattern_resources(pattern, &methods)
                .iter()
                .map(|glob| format!("{prefix}{glob}"))
                .collect();
            assert_eq!(resources.arns(prefix, &resources.routes()[i]), expected, "{pattern}");
        }
        let default: Vec<String> = METHODS.iter().map(|m| format!("{prefix}{m}/*")).collect();
        assert_eq!(resources.arns(prefix, resources.default_route()), default);
        let ambiguous: Vec<String> = AMBIGUOUS_SHAPES.iter().map(|s| format!("{prefix}{s}")).collect();
        assert_eq!(resources.arns(prefix, resources.ambiguous()), ambiguous);
        // A glob two routes share is one resource ("GET/admin" of the first and the fourth).
        assert_eq!(resources.routes()[3][0], resources.routes()[0][1]);
        Ok(())
    }

    #[test]
    fn a_tables_methods_are_the_usual_ones_then_each_a_route_names() -> Result<(), PatternError> {
        let mut table = RouteTable::new();
        for pattern in ["GET /x", "PURGE /cache/*", "* /y", "purge /z", "MKCOL /dav"] {
            table.push(pattern, Requirement::new())?;
        }
        let routes = Routes::new(table);
        let mut expected: Vec<&str> = METHODS.to_vec();
        expected.extend(["PURGE", "MKCOL"]);
        assert_eq!(routes.methods, expected);
        // The default route's resources cover each of them.
        let prefix = "arn:aws:execute-api:eu-west-1:123:api/prod/";
        let default = routes.resources.arns(prefix, routes.resources.default_route());
        assert_eq!(default.len(), expected.len());
        assert!(default.contains(&format!("{prefix}MKCOL/*")));
        Ok(())
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
        let admin = Requirement::new().any_group(["admin"]);
        let staff = Requirement::new().any_group(["admin", "ops"]);
        assert!(implies(&admin, &staff, "main"));
        assert!(!implies(&staff, &admin, "main"));
        assert!(implies(&admin, &Requirement::new(), "main"));
        assert!(!implies(&Requirement::new(), &admin, "main"));
        assert!(implies(&admin, &admin.clone().in_pool("main"), "main"));
        assert!(!implies(&admin, &admin.clone().in_pool("other"), "main"));
        assert!(!implies(
            &Requirement::new().any_scope(["a"]),
            &Requirement::new().any_group(["g"]),
            "main"
        ));
        // All-of scopes.
        let both = Requirement::new().all_scopes(["a", "b"]);
        assert!(implies(&both, &Requirement::new().all_scopes(["b"]), "main"));
        assert!(implies(&both, &Requirement::new().any_scope(["b", "c"]), "main"));
        assert!(!implies(&Requirement::new().all_scopes(["b"]), &both, "main"));
        assert!(!implies(
            &Requirement::new().any_scope(["a"]),
            &Requirement::new().all_scopes(["a"]),
            "main"
        ));
        // Principals.
        let machines = Requirement::new().principal(PrincipalKind::Machine);
        let users = Requirement::new().principal(PrincipalKind::User);
        assert!(implies(&machines, &Requirement::new(), "main"));
        assert!(implies(&machines, &machines, "main"));
        assert!(!implies(&machines, &users, "main"));
        assert!(!implies(&Requirement::new(), &machines, "main"));
        // Sign-in age and context.
        let recent = Requirement::new().max_auth_age_secs(60);
        assert!(implies(&recent, &Requirement::new().max_auth_age_secs(300), "main"));
        assert!(!implies(&Requirement::new().max_auth_age_secs(300), &recent, "main"));
        assert!(!implies(&Requirement::new(), &recent, "main"));
        let mfa = Requirement::new().acr_values(["mfa"]);
        assert!(implies(&mfa, &Requirement::new().acr_values(["mfa", "hw"]), "main"));
        assert!(!implies(&Requirement::new().acr_values(["mfa", "hw"]), &mfa, "main"));
        assert!(!implies(&Requirement::new(), &mfa, "main"));
        for strict in [both, machines, users, recent, mfa] {
            assert!(!is_default(&strict, "main"));
        }
    }
}
