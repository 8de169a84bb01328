//! [`Guard`]: what router-wide protection asks of each request, by path: a mode (required or
//! optional) and a [`Requirement`], or no authentication at all. The tower layer and the
//! actix-web middleware both run one, so they decide alike.

use crate::error::{ConfigError, Rejection};
use crate::policy::Requirement;
use crate::source::RequestView;
use crate::verified::Verified;
use crate::verify::CognitoAuth;

/// Whether a request without a token goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every request needs a valid token (the default).
    Required,
    /// A request without a token (header absent or empty) goes through anonymously, with no
    /// [`Verified`] token; a present but invalid token is refused, exactly as in `Required`
    /// mode (an expired or forged token is never anonymous).
    Optional,
}

/// What a route asks for.
#[derive(Debug, Clone)]
enum Rule {
    Verify(Mode, Requirement),
    Public,
}

/// A path pattern: the exact path, or a prefix when it ends in `*`.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    fn new(pattern: &str) -> Self {
        match pattern.strip_suffix('*') {
            Some(prefix) => Pattern {
                text: prefix.to_owned(),
                prefix: true,
            },
            None => Pattern {
                text: pattern.to_owned(),
                prefix: false,
            },
        }
    }

    fn matches(&self, path: &str) -> bool {
        if self.prefix {
            path.starts_with(&self.text)
        } else {
            path == self.text
        }
    }
}

/// Router-wide protection: the requirement of every request, chosen by its path (an HTTP
/// route, or a gRPC method such as `/grpc.health.v1.Health/Watch`). Requirements are values
/// chosen at run time. The first matching route wins; a path no route matches gets the
/// guard's own requirement.
///
/// ```
/// use cognito_core::{CognitoAuth, CognitoSettings, Guard, Requirement};
/// # let settings = CognitoSettings::from_yaml_str(
/// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
/// let guard = Guard::new(CognitoAuth::new(&settings)?)
///     .route("/admin/*", Requirement::new().any_group(["admin"]))
///     .optional_route("/welcome", Requirement::new())
///     .public("/health");
/// guard.check()?; // every requirement's pool is configured
/// # Ok::<(), cognito_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Guard {
    auth: CognitoAuth,
    default: Rule,
    routes: Vec<(Pattern, Rule)>,
}

impl Guard {
    /// Required authentication, any valid token of the default pool, on every path.
    pub fn new(auth: CognitoAuth) -> Self {
        Guard {
            auth,
            default: Rule::Verify(Mode::Required, Requirement::new()),
            routes: Vec::new(),
        }
    }

    /// Optional authentication (see [`Mode::Optional`]), any valid token of the default pool,
    /// on every path.
    pub fn optional(auth: CognitoAuth) -> Self {
        Guard {
            default: Rule::Verify(Mode::Optional, Requirement::new()),
            ..Self::new(auth)
        }
    }

    /// The requirement of every path no route matches (pool, groups, scopes, checks), in the
    /// guard's mode.
    pub fn require(mut self, requirement: Requirement) -> Self {
        let mode = match self.default {
            Rule::Verify(mode, _) => mode,
            Rule::Public => Mode::Required,
        };
        self.default = Rule::Verify(mode, requirement);
        self
    }

    /// Required authentication under `requirement` for the paths matching `pattern`: an
    /// exact path, or a prefix ending in `*` (`/admin/*`, `/grpc.health.v1.Health/*`).
    pub fn route(mut self, pattern: &str, requirement: Requirement) -> Self {
        self.routes
            .push((Pattern::new(pattern), Rule::Verify(Mode::Required, requirement)));
        self
    }

    /// Optional authentication under `requirement` for the paths matching `pattern`.
    pub fn optional_route(mut self, pattern: &str, requirement: Requirement) -> Self {
        self.routes
            .push((Pattern::new(pattern), Rule::Verify(Mode::Optional, requirement)));
        self
    }

    /// No authentication for the paths matching `pattern` (a health probe, gRPC reflection).
    pub fn public(mut self, pattern: &str) -> Self {
        self.routes.push((Pattern::new(pattern), Rule::Public));
        self
    }

    /// The verifiers it uses.
    pub fn auth(&self) -> &CognitoAuth {
        &self.auth
    }

    /// Checks at start-up that every requirement's pool is configured.
    pub fn check(&self) -> Result<(), ConfigError> {
        let rules = std::iter::once(&self.default).chain(self.routes.iter().map(|(_, rule)| rule));
        for rule in rules {
            if let Rule::Verify(_, requirement) = rule {
                self.auth.check_requirement(requirement)?;
            }
        }
        Ok(())
    }

    /// The answer for `request` to `path`: the [`Verified`] token, `None` (a public path, or
    /// no token in optional mode), or the refusal.
    pub async fn verify(
        &self,
        path: &str,
        request: &(impl RequestView + ?Sized),
    ) -> Result<Option<Verified>, Rejection> {
        let rule = self
            .routes
            .iter()
            .find(|(pattern, _)| pattern.matches(path))
            .map_or(&self.default, |(_, rule)| rule);
        match rule {
            Rule::Public => Ok(None),
            Rule::Verify(Mode::Required, requirement) => self.auth.verify_request(request, requirement).await.map(Some),
            Rule::Verify(Mode::Optional, requirement) => self.auth.verify_request_optional(request, requirement).await,
        }
    }
}

impl From<CognitoAuth> for Guard {
    fn from(auth: CognitoAuth) -> Self {
        Guard::new(auth)
    }
}
