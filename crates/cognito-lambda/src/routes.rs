//! Route requirements: which groups / scopes (and which pool) a method-and-resource pattern
//! asks for, and how a request's method and resource are read from its ARN.

use std::fmt;

/// What a route requires beyond a valid token: any of the groups, if some are named; any of
/// the scopes, if some are named; the pool by name (`None`: the default pool).
///
/// ```
/// use cognito_lambda::Requirement;
/// let admins = Requirement::any_group(["admin"]);
/// let readers = Requirement::any_scope(["demo/read"]).in_pool("partners");
/// assert_eq!(admins.groups, ["admin"]);
/// assert_eq!(readers.pool.as_deref(), Some("partners"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Requirement {
    /// Any of these groups (`cognito:groups`); empty: no group needed.
    pub groups: Vec<String>,
    /// Any of these scopes (`scope`); empty: no scope needed.
    pub scopes: Vec<String>,
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

    /// The same requirement, for tokens of the pool `name`.
    #[must_use]
    pub fn in_pool(mut self, name: impl Into<String>) -> Self {
        self.pool = Some(name.into());
        self
    }
}

/// A method-and-resource pattern that cannot work, reported when the route is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pattern: String,
    problem: &'static str,
}

impl RouteError {
    pub(crate) fn new(pattern: &str, problem: &'static str) -> Self {
        Self {
            pattern: pattern.to_owned(),
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

/// `METHOD /resource`: the method (`*` for any) and the resource, where `*` stands for any
/// characters, `/` included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// Upper case; `None` for `*`.
    method: Option<String>,
    resource: String,
}

impl Pattern {
    pub(crate) fn parse(text: &str) -> Result<Self, RouteError> {
        let (method, resource) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| RouteError::new(text, "must be `METHOD /resource`, e.g. `GET /admin` or `* /admin/*`"))?;
        let resource = resource.trim();
        if !(resource.starts_with('/') || resource.starts_with('*')) || resource.contains(char::is_whitespace) {
            return Err(RouteError::new(
                text,
                "the resource must start with / (or *) and hold no space",
            ));
        }
        let method = match method {
            "*" => None,
            m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => Some(m.to_ascii_uppercase()),
            _ => return Err(RouteError::new(text, "the method must be a word like GET, or *")),
        };
        Ok(Self {
            method,
            resource: resource.to_owned(),
        })
    }

    pub(crate) fn matches(&self, method: &str, resource: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && glob(&self.resource, resource)
    }
}

/// `*` matches any run of characters (`/` included), everything else itself. Greedy with one
/// backtrack point, so the cost is at most pattern length times text length, never exponential.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The method and resource of a method or route ARN,
/// `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<resource>`:
/// `("GET", "/admin/users")`. The resource of the root is `/`.
pub(crate) fn from_arn(arn: &str) -> Option<(&str, String)> {
    let path = arn.splitn(6, ':').nth(5)?;
    let mut parts = path.splitn(4, '/');
    let (_api, _stage, method) = (parts.next()?, parts.next()?, parts.next()?);
    if method.is_empty() {
        return None;
    }
    Some((method, format!("/{}", parts.next().unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("/admin", "/admin", true),
            ("/admin", "/admin/", false),
            ("/admin/*", "/admin/users/7", true),
            ("/admin/*", "/admin/", true),
            ("/admin/*", "/admin", false),
            ("*", "/anything/at/all", true),
            ("/a*b*c", "/aXXbYYc", true),
            ("/a*b*c", "/aXXbYY", false),
            ("/*/edit", "/users/7/edit", true),
            ("/*/edit", "/users/7/editor", false),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern} {text}");
        }
        // A pathological pattern stays cheap (quadratic at worst).
        let text = "a".repeat(5_000);
        assert!(!glob(&format!("{}b", "*a".repeat(50)), &text));
    }

    #[test]
    fn patterns() {
        let admin = Pattern::parse("GET /admin").unwrap();
        assert!(admin.matches("GET", "/admin"));
        assert!(admin.matches("get", "/admin"));
        assert!(!admin.matches("POST", "/admin"));
        let any = Pattern::parse("* /admin/*").unwrap();
        assert!(any.matches("DELETE", "/admin/users/7"));
        for bad in ["GET", "GET admin", "G3T /x", "/admin", "GET /a b", ""] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arns() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request";
        assert_eq!(from_arn(arn), Some(("GET", "/request".to_owned())));
        let arn = "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/";
        assert_eq!(from_arn(arn), Some(("GET", "/".to_owned())));
        let arn = "arn:aws:execute-api:eu-west-1:1:api/prod/DELETE/admin/users/7";
        assert_eq!(from_arn(arn), Some(("DELETE", "/admin/users/7".to_owned())));
        let arn = "arn:aws:execute-api:eu-west-1:1:api/prod/GET";
        assert_eq!(from_arn(arn), Some(("GET", "/".to_owned())));
        for bad in [
            "",
            "arn:aws:execute-api",
            "arn:aws:execute-api:r:a:api",
            "arn:aws:execute-api:r:a:api/prod",
        ] {
            assert_eq!(from_arn(bad), None, "{bad:?}");
        }
    }
}
