//! [`Guard`]: what router-wide protection asks of each request, by path: a mode (required or
//! optional) and a [`Requirement`], or no authentication at all. The tower layer and the
//! actix-web middleware both run one, so they decide alike.

use crate::error::{ConfigError, Rejection};
use crate::policy::Requirement;
use crate::route::{PatternError, RouteTable};
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

/// Router-wide protection: the requirement of every request, chosen by its method and path
/// (an HTTP route, or a gRPC method such as `/grpc.health.v1.Health/Watch`) in the pattern
/// language of [`route`](crate::route): `/admin/*` (which covers `/admin` too), `GET /report`
/// (which covers `HEAD` too). Requirements are values chosen at run time. The first matching
/// route wins; a path no route matches gets the guard's own requirement.
///
/// The path judged is the one the router dispatches on: the request's URI path as sent
/// (percent-encoded, no query; for a nested router, what that router sees). A path that
/// another reading would send to another route (`/%61dmin`, `//admin`, `/x/../admin`,
/// `/admin;x`, `/Admin`) is refused with 400 `ambiguous_path` before any token is read.
/// Where you can, attach requirements where the router dispatches instead (an axum
/// `route_layer` on the sub-router, an actix-web `scope(..).wrap(..)`): then no path is read
/// twice at all.
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
    routes: RouteTable<Rule>,
    /// The first pattern that could not be parsed: reported by [`Guard::check`], and every
    /// request is refused (500) while it stands, rather than left unprotected.
    broken: Option<PatternError>,
}

impl Guard {
    /// Required authentication, any valid token of the default pool, on every path.
    pub fn new(auth: CognitoAuth) -> Self {
        Guard {
            auth,
            default: Rule::Verify(Mode::Required, Requirement::new()),
            routes: RouteTable::new(),
            broken: None,
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

    /// Required authentication under `requirement` for the requests matching `pattern`
    /// (`/admin/*`, `GET /report`, `/grpc.health.v1.Health/*`). A pattern that cannot be
    /// parsed is reported by [`Guard::check`], and until then every request is refused.
    pub fn route(self, pattern: &str, requirement: Requirement) -> Self {
        self.add(pattern, Rule::Verify(Mode::Required, requirement))
    }

    /// Optional authentication under `requirement` for the requests matching `pattern`.
    pub fn optional_route(self, pattern: &str, requirement: Requirement) -> Self {
        self.add(pattern, Rule::Verify(Mode::Optional, requirement))
    }

    /// No authentication for the requests matching `pattern` (a health probe, gRPC
    /// reflection). Write the exact path: `/health`, not `/health*` (which also opens
    /// `/healthz`).
    pub fn public(self, pattern: &str) -> Self {
        self.add(pattern, Rule::Public)
    }

    fn add(mut self, pattern: &str, rule: Rule) -> Self {
        if let Err(error) = self.routes.push(pattern, rule)
            && self.broken.is_none()
        {
            self.broken = Some(error);
        }
        self
    }

    /// The verifiers it uses.
    pub fn auth(&self) -> &CognitoAuth {
        &self.auth
    }

    /// Checks at start-up that every pattern parses and every requirement's pool is
    /// configured.
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Some(error) = &self.broken {
            return Err(ConfigError::invalid(None, "route", error.to_string()));
        }
        let rules = std::iter::once(&self.default).chain(self.routes.entries().iter().map(|(_, rule)| rule));
        for rule in rules {
            if let Rule::Verify(_, requirement) = rule {
                self.auth.check_requirement(requirement)?;
            }
        }
        Ok(())
    }

    /// The answer for `request` (its `method` and the `path` its router dispatches on): the
    /// [`Verified`] token, `None` (a public path, or no token in optional mode), or the
    /// refusal (400 `ambiguous_path` for a path another reading would route elsewhere).
    pub async fn verify(
        &self,
        method: &str,
        path: &str,
        request: &(impl RequestView + ?Sized),
    ) -> Result<Option<Verified>, Rejection> {
        match self.rule(method, path)? {
            Rule::Public => Ok(None),
            Rule::Verify(Mode::Required, requirement) => self.auth.authenticate(request, requirement).await.map(Some),
            Rule::Verify(Mode::Optional, requirement) => self.auth.authenticate_optional(request, requirement).await,
        }
    }

    /// [`Guard::verify`]'s answer when it can be had without waiting, which is the usual
    /// case: a public path, no token, or a token verified before (remembered by the token
    /// cache), with the built-in revocation store and no custom checks. Else `None`, and
    /// nothing has been done that shows (no answer counted, no key fetched): call
    /// [`Guard::verify`]. Adapters use it to answer without setting up a future.
    pub fn verify_now(
        &self,
        method: &str,
        path: &str,
        request: &(impl RequestView + ?Sized),
    ) -> Option<Result<Option<Verified>, Rejection>> {
        let (mode, requirement) = match self.rule(method, path) {
            Ok(Rule::Public) => return Some(Ok(None)),
            Ok(Rule::Verify(mode, requirement)) => (mode, requirement),
            Err(e) => return Some(Err(e)),
        };
        let answer = self
            .auth
            .authenticate_now(request, requirement, *mode == Mode::Optional)?;
        Some(answer.and_then(|verified| match (mode, verified) {
            (Mode::Required, None) => Err(Rejection::Misconfigured(
                "a required verification answered without a token".to_owned(),
            )),
            (_, verified) => Ok(verified),
        }))
    }

    /// The rule of a request, or its refusal (a broken pattern, an ambiguous path).
    fn rule(&self, method: &str, path: &str) -> Result<&Rule, Rejection> {
        if let Some(error) = &self.broken {
            return Err(Rejection::Misconfigured(error.to_string()));
        }
        Ok(self
            .routes
            .find(method, path)
            .map_err(|_| Rejection::AmbiguousPath)?
            .unwrap_or(&self.default))
    }
}

impl From<CognitoAuth> for Guard {
    fn from(auth: CognitoAuth) -> Self {
        Guard::new(auth)
    }
}
