//! Route patterns and route tables: which entry of a table a request's method and path select.
//! The one pattern language of [`Guard`](crate::Guard) (router-wide protection) and of the
//! API Gateway authorizer's routes.
//!
//! A pattern is `[METHOD ]/path`:
//! - the method is a word (`GET`, `post`: compared without case) or `*`; without one, any
//!   method. `GET` also covers `HEAD`, which servers answer as a `GET` without a body;
//! - in the path, `*` stands for any run of characters, `/` included (as in API Gateway's
//!   resource ARNs); everything else stands for itself;
//! - a path ending in `/*` also covers the path without it: `/admin/*` covers `/admin`,
//!   `/admin/`, `/admin/users/7`.
//!
//! A table's first matching entry wins. A request path is the path the router dispatches on,
//! as sent (percent-encoded, no query). When another reading of the path would select another
//! entry (one that decodes `%XX`, resolves `.` / `..` segments, merges `//`, drops `;`
//! parameters, takes `\` for `/`, drops a segment's trailing dot, or ignores letter case, as
//! some routers and backends do), the table does not guess: [`RouteTable::find`] answers
//! [`AmbiguousPath`].
//!
//! ```
//! use cognito_core::route::RouteTable;
//!
//! let mut table = RouteTable::new();
//! table.push("/admin/*", "admins")?;
//! table.push("GET /health", "public")?;
//! assert_eq!(table.find("GET", "/admin")?, Some(&"admins"));
//! assert_eq!(table.find("HEAD", "/health")?, Some(&"public"));
//! assert_eq!(table.find("GET", "/healthz")?, None); // no entry: the table's default applies
//! assert!(table.find("GET", "/x/../admin").is_err()); // could be /admin to someone else
//! assert!(table.find("GET", "/Admin").is_err());
//! assert_eq!(table.find("GET", "/users/J%C3%B6rg")?, None); // decoding changes nothing here
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

/// A pattern that cannot work, reported when it is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pattern: String,
    problem: &'static str,
}

impl PatternError {
    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route {:?}: {}", self.pattern, self.problem)
    }
}

impl std::error::Error for PatternError {}

/// A request path that different components could route differently (see the module docs):
/// refused rather than judged under a guess. Answered as 400 `ambiguous_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmbiguousPath;

impl fmt::Display for AmbiguousPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request path could be read as another route")
    }
}

impl std::error::Error for AmbiguousPath {}

/// `[METHOD ]/path`, parsed (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    text: String,
    /// Upper case; `None`: any method.
    method: Option<String>,
    /// The path globs it covers (see [`RoutePattern::globs`]), read once.
    globs: Vec<Glob>,
    /// The shortest literal head of its globs: no shorter path can match (a table scan
    /// passes most entries on this alone).
    shortest: usize,
}

/// A path glob, and where its first `*` is (its length if none): the literal head that
/// decides most requests with one comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob {
    text: String,
    literal: usize,
}

impl Glob {
    fn new(text: &str) -> Self {
        Glob {
            text: text.to_owned(),
            literal: text.find('*').unwrap_or(text.len()),
        }
    }
}

impl RoutePattern {
    /// Parses `GET /admin`, `* /admin/*`, `/grpc.health.v1.Health/*`.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let error = |problem| PatternError {
            pattern: text.to_owned(),
            problem,
        };
        let trimmed = text.trim();
        let (method, path) = match trimmed.split_once(' ') {
            Some((method, path)) => (Some(method), path.trim()),
            None => (None, trimmed),
        };
        let method = match method {
            None | Some("*") => None,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => Some(m.to_ascii_uppercase()),
            Some(_) => return Err(error("the method must be a word like GET, or *")),
        };
        if !(path.starts_with('/') || path.starts_with('*')) || path.contains(char::is_whitespace) {
            return Err(error("the path must start with / (or *) and hold no space"));
        }
        // IAM policies read `?` as a wildcard; a path never holds one (the query is apart).
        if path.contains(['?', '#']) {
            return Err(error("the path cannot hold ? or # (the query is not part of a route)"));
        }
        // A path ending in `/*` also covers the path without it.
        let globs: Vec<Glob> = std::iter::once(path)
            .chain(path.strip_suffix("/*").filter(|base| !base.is_empty()))
            .map(Glob::new)
            .collect();
        Ok(Self {
            text: trimmed.to_owned(),
            method,
            shortest: globs.iter().map(|glob| glob.literal).min().unwrap_or(0),
            globs,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The method (upper case), `None` for any.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The methods it covers: `None` for any; `GET` also stands for `HEAD`.
    pub fn methods(&self) -> Option<Vec<&str>> {
        self.method
            .as_deref()
            .map(|m| if m == "GET" { vec!["GET", "HEAD"] } else { vec![m] })
    }

    /// The path globs it covers: its path, and for a path ending in `/*` the path without it.
    pub fn globs(&self) -> impl Iterator<Item = &str> {
        self.globs.iter().map(|glob| glob.text.as_str())
    }

    fn method_matches(&self, method: &str) -> bool {
        match self.method.as_deref() {
            None => true,
            Some(m) => m.eq_ignore_ascii_case(method) || (m == "GET" && method.eq_ignore_ascii_case("HEAD")),
        }
    }

    /// Whether it matches this method and path, exactly as written (no other reading).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.matches_as(method, path, false)
    }

    fn matches_as(&self, method: &str, path: &str, fold_case: bool) -> bool {
        self.method_matches(method)
            && self
                .globs
                .iter()
                .any(|glob| glob_matches_from(&glob.text, glob.literal, path, fold_case))
    }

    /// Whether some request matches both patterns.
    pub fn overlaps(&self, other: &RoutePattern) -> bool {
        let methods = match (self.methods(), other.methods()) {
            (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
            _ => true,
        };
        methods && self.globs().any(|a| other.globs().any(|b| globs_intersect(a, b)))
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Entries in order, each a pattern and what it selects; the first match wins.
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    entries: Vec<(RoutePattern, T)>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<T> RouteTable<T> {
    /// An empty table: every request falls to the caller's default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry after those added before.
    pub fn push(&mut self, pattern: &str, value: T) -> Result<(), PatternError> {
        self.entries.push((RoutePattern::parse(pattern)?, value));
        Ok(())
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[(RoutePattern, T)] {
        &self.entries
    }

    /// What the first entry matching `method` and `path` selects (`None`: no entry matches,
    /// the default applies), or [`AmbiguousPath`] when another reading of the path would
    /// select another entry.
    pub fn find(&self, method: &str, path: &str) -> Result<Option<&T>, AmbiguousPath> {
        self.index(method, path).map(|found| found.map(|i| &self.entries[i].1))
    }

    /// As [`RouteTable::find`], with the entry's position.
    pub fn index(&self, method: &str, path: &str) -> Result<Option<usize>, AmbiguousPath> {
        // No entry: every reading of every path selects the default.
        if self.entries.is_empty() {
            return Ok(None);
        }
        let first = |path: &str, fold_case: bool| {
            self.entries
                .iter()
                .position(|(pattern, _)| path.len() >= pattern.shortest && pattern.matches_as(method, path, fold_case))
        };
        let chosen = first(path, false);
        match needs_second_reading(path) {
            Reading::None => return Ok(chosen),
            // Letter case alone (gRPC methods, most often): one more scan, nothing allocated.
            Reading::CaseOnly => {
                return if first(path, true) == chosen {
                    Ok(chosen)
                } else {
                    Err(AmbiguousPath)
                };
            }
            Reading::Rewrites => {}
        }
        for reading in readings(path) {
            let Some(reading) = reading else {
                return Err(AmbiguousPath);
            };
            if first(&reading, false) != chosen || first(&reading, true) != chosen {
                return Err(AmbiguousPath);
            }
        }
        Ok(chosen)
    }
}

/// Which other readings of a path could differ from it.
enum Reading {
    /// None (most paths).
    None,
    /// Only ignoring letter case.
    CaseOnly,
    /// Rewrites of its text too.
    Rewrites,
}

fn needs_second_reading(path: &str) -> Reading {
    let bytes = path.as_bytes();
    let rewrites = bytes.iter().enumerate().any(|(i, &b)| match b {
        b'%' | b';' | b'\\' => true,
        b'/' => bytes.get(i + 1).is_some_and(|next| *next == b'/' || *next == b'.'),
        b'.' => bytes.get(i + 1).is_none_or(|next| *next == b'/'),
        _ => !b.is_ascii(),
    });
    if rewrites {
        Reading::Rewrites
    } else if bytes.iter().any(u8::is_ascii_uppercase) {
        Reading::CaseOnly
    } else {
        Reading::None
    }
}

/// The other readings of `path`: each rewrite alone, then all of them together (the raw path
/// is read without and with case folding by the caller). `None`: a rewrite that cannot be
/// done (bad `%` escapes, or octets that are not UTF-8), which is itself ambiguous.
fn readings(path: &str) -> impl Iterator<Item = Option<String>> + '_ {
    type Rewrite = fn(&str) -> Option<String>;
    const REWRITES: [Rewrite; 6] = [
        |p| Some(p.to_owned()),
        percent_decode,
        |p| Some(p.replace('\\', "/")),
        |p| Some(strip_parameters(p)),
        |p| Some(merge_slashes(p)),
        |p| Some(strip_trailing_dots(&resolve_dots(p))),
    ];
    let all = move || {
        let decoded = percent_decode(path)?.replace('\\', "/");
        Some(strip_trailing_dots(&resolve_dots(&merge_slashes(&strip_parameters(
            &decoded,
        )))))
    };
    REWRITES
        .iter()
        .map(move |rewrite| rewrite(path))
        .chain(std::iter::once_with(all))
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `/a;x/b;y=1` -> `/a/b`.
fn strip_parameters(path: &str) -> String {
    path.split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("/")
}

/// `//a///b` -> `/a/b`.
fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// `.` and `..` segments resolved as a URL resolver does: `/a/./b/../c` -> `/a/c`, `/a/.` -> `/a/`.
fn resolve_dots(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *segment {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                segments.pop();
                if last {
                    segments.push("");
                }
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// `/admin./x..` -> `/admin/x` (some servers drop a segment's trailing dots).
fn strip_trailing_dots(path: &str) -> String {
    path.split('/')
        .map(|segment| segment.trim_end_matches('.'))
        .collect::<Vec<_>>()
        .join("/")
}

/// [`glob_matches_from`], finding the literal head itself.
#[cfg(test)]
fn glob_matches(pattern: &str, text: &str, fold_case: bool) -> bool {
    glob_matches_from(pattern, pattern.find('*').unwrap_or(pattern.len()), text, fold_case)
}

/// A route glob whose first `*` is at `literal` (its length if none): [`wildcard_matches`]
/// without `?`, ASCII case folded when `fold_case`.
fn glob_matches_from(pattern: &str, literal: usize, text: &str, fold_case: bool) -> bool {
    // Route globs are mostly literal up to a final `*`: their literal head decides most
    // requests with one comparison, before the matcher steps through the rest.
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let Some(head) = text.get(..literal) else {
        return false;
    };
    let same = if fold_case {
        head.eq_ignore_ascii_case(&pattern[..literal])
    } else {
        head == &pattern[..literal]
    };
    if !same {
        return false;
    }
    if literal == pattern.len() {
        return text.len() == literal;
    }
    wildcard_bytes(&pattern[literal..], &text[literal..], fold_case, false)
}

/// The one wildcard matcher: `*` matches any run of characters (`/` included), `?` any one
/// character when `one_char` (as in IAM resource ARNs, which the API Gateway authorizer
/// writes), everything else itself, case-sensitive. Route patterns never hold `?` (see
/// [`RoutePattern::parse`]).
///
/// ```
/// use cognito_core::route::wildcard_matches;
/// assert!(wildcard_matches("arn:*/GET/a?c", "arn:x/y/GET/abc", true));
/// assert!(!wildcard_matches("a?c", "abc", false));
/// ```
pub fn wildcard_matches(pattern: &str, text: &str, one_char: bool) -> bool {
    wildcard_bytes(pattern.as_bytes(), text.as_bytes(), false, one_char)
}

/// Greedy with one backtrack point: at most pattern length times text length steps, never
/// exponential.
fn wildcard_bytes(p: &[u8], t: &[u8], fold_case: bool, one_char: bool) -> bool {
    let same = |a: u8, b: u8| if fold_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if (one_char && *c == b'?') || same(*c, t[ti]) => {
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

/// Whether some text matches both globs: a search over pairs of positions, each `*` either
/// ending or taking one character the other side produces.
fn globs_intersect(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut seen = vec![false; (a.len() + 1) * (b.len() + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let slot = i * (b.len() + 1) + j;
        if std::mem::replace(&mut seen[slot], true) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        let (x, y) = (a.get(i).copied(), b.get(j).copied());
        if x == Some(b'*') {
            stack.push((i + 1, j));
            if y.is_some() {
                stack.push((i, j + 1));
            }
        }
        if y == Some(b'*') {
            stack.push((i, j + 1));
            if x.is_some() {
                stack.push((i + 1, j));
            }
        }
        if let (Some(x), Some(y)) = (x, y)
            && x != b'*'
            && y != b'*'
            && x == y
        {
            stack.push((i + 1, j + 1));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(patterns: &[&str]) -> RouteTable<usize> {
        let mut table = RouteTable::new();
        for (i, pattern) in patterns.iter().enumerate() {
            table.push(pattern, i).unwrap();
        }
        table
    }

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("/admin", "/admin", true),
            ("/admin", "/admin/", false),
            ("/admin/*", "/admin/users/7", true),
            ("/admin/*", "/admin/", true),
            ("*", "/anything/at/all", true),
            ("/a*b*c", "/aXXbYYc", true),
            ("/a*b*c", "/aXXbYY", false),
            ("/*/edit", "/users/7/edit", true),
            ("/*/edit", "/users/7/editor", false),
        ] {
            assert_eq!(glob_matches(pattern, text, false), expected, "{pattern} {text}");
        }
        let text = "a".repeat(5_000);
        assert!(!glob_matches(&format!("{}b", "*a".repeat(50)), &text, false));
    }

    #[test]
    fn the_literal_head_decides_as_the_matcher_would() {
        let patterns = [
            "/admin", "/admin/*", "/Admin/*", "*", "/*", "/a*", "/a*b", "/é/*", "/é", "/x/*/y", "/", "",
        ];
        let texts = [
            "/admin", "/ADMIN", "/admin/", "/admin/x", "/adm", "/a", "/ab", "/aXb", "/é", "/É", "/é/z", "/x/1/y", "/",
            "", "/x",
        ];
        for pattern in patterns {
            for text in texts {
                for fold_case in [false, true] {
                    assert_eq!(
                        glob_matches(pattern, text, fold_case),
                        wildcard_bytes(pattern.as_bytes(), text.as_bytes(), fold_case, false),
                        "{pattern} {text} {fold_case}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_table_finds_the_first_match_whatever_the_lengths() -> Result<(), PatternError> {
        let mut table = RouteTable::new();
        for (i, pattern) in ["/layer/health", "GET /admin/*", "/a*", "*", "/"]
            .into_iter()
            .enumerate()
        {
            table.push(pattern, i)?;
        }
        for (path, expected) in [
            ("/layer/health", 0),
            ("/layer/", 3),
            ("/admin", 1),
            ("/admin/x", 1),
            ("/ab", 2),
            ("/", 3),
            ("", 3),
        ] {
            assert_eq!(table.find("GET", path), Ok(Some(&expected)), "{path}");
        }
        assert_eq!(table.find("POST", "/admin"), Ok(Some(&2)));
        let mut literal = RouteTable::new();
        literal.push("/layer/health", ())?;
        assert_eq!(literal.find("GET", "/layer/"), Ok(None));
        Ok(())
    }

    #[test]
    fn a_trailing_star_covers_the_base() {
        let admin = RoutePattern::parse("/admin/*").unwrap();
        assert!(admin.matches("POST", "/admin"));
        assert!(admin.matches("GET", "/admin/"));
        assert!(!admin.matches("GET", "/administrator"));
        let root = RoutePattern::parse("/*").unwrap();
        assert!(root.matches("GET", "/"));
    }

    #[test]
    fn methods() {
        let get = RoutePattern::parse("GET /admin").unwrap();
        assert!(get.matches("get", "/admin"));
        assert!(get.matches("HEAD", "/admin"));
        assert!(!get.matches("POST", "/admin"));
        assert!(RoutePattern::parse("* /admin").unwrap().matches("DELETE", "/admin"));
        assert!(RoutePattern::parse("/admin").unwrap().matches("PATCH", "/admin"));
        for bad in ["GET admin", "G3T /x", "admin", "GET /a b", "", "GET /a?b", "/a#b"] {
            assert!(RoutePattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused_only_when_they_matter() {
        let table = table(&["/health", "/admin/*"]);
        for path in [
            "//admin",
            "/%61dmin",
            "/Admin",
            "/admin.",
            "/x/../admin",
            "/x/%2e%2e/admin",
            "/x\\..\\admin",
            "/%ZZ",
            "/%ff",
            "/healt%68",
            "/HEALTH",
            "/./admin",
            "/admin;x",
            "/admin%2Fx",
        ] {
            assert_eq!(table.find("GET", path), Err(AmbiguousPath), "{path}");
        }
        for (path, expected) in [
            ("/admin/", Some(&1)),
            ("/admin/.", Some(&1)),
            ("/admin/x;y", Some(&1)),
            ("/admin/%2e", Some(&1)),
            ("/healthz", None),
            ("/users/J%C3%B6rg", None),
            ("/Users/7", None),
            ("/.well-known/jwks.json", None),
        ] {
            assert_eq!(table.find("GET", path), Ok(expected), "{path}");
        }
    }

    #[test]
    fn grpc_paths_with_capitals_are_not_ambiguous() {
        let table = table(&["/grpc.health.v1.Health/Watch", "/grpc.reflection.v1.ServerReflection/*"]);
        assert_eq!(table.find("POST", "/grpc.health.v1.Health/Watch"), Ok(Some(&0)));
        assert_eq!(table.find("POST", "/grpc.health.v1.Health/Check"), Ok(None));
        assert_eq!(table.find("POST", "/grpc.health.v1.Health/watch"), Err(AmbiguousPath));
    }

    #[test]
    fn overlaps() {
        let p = |s| RoutePattern::parse(s).unwrap();
        assert!(p("/admin/*").overlaps(&p("GET /admin")));
        assert!(p("* /a*").overlaps(&p("/*b")));
        assert!(!p("GET /a").overlaps(&p("POST /a")));
        assert!(p("GET /a").overlaps(&p("HEAD /a")));
        assert!(!p("/a/*").overlaps(&p("/b/*")));
        assert!(p("/*/x").overlaps(&p("/y/*")));
        assert!(!p("/x").overlaps(&p("/x/y")));
    }

    #[test]
    fn dot_resolution() {
        assert_eq!(resolve_dots("/a/./b/../c"), "/a/c");
        assert_eq!(resolve_dots("/a/."), "/a/");
        assert_eq!(resolve_dots("/../a"), "/a");
        assert_eq!(strip_trailing_dots("/admin./x.."), "/admin/x");
        assert_eq!(merge_slashes("//a///b"), "/a/b");
        assert_eq!(strip_parameters("/a;x/b;y=1"), "/a/b");
    }
}
