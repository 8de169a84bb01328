//! Which pool serves a requirement, and the requirements registered by name: a policy's or a
//! requirement's pool, resolved against the configured pools, with a policy's named
//! requirement looked up; then the verification calls of a [`CognitoAuth`], each on the pool
//! so chosen.

use std::sync::Arc;

use super::CognitoAuth;
use super::Verifier;
use super::answer::ClaimsType;
use super::pipeline::{Keys, Needs};
use crate::error::{ConfigError, Rejection};
use crate::policy::{Policy, Requirement, RequirementRef};
use crate::source::RequestView;
use crate::verified::Verified;

/// Why a requirement cannot be served.
enum Unroutable<'a> {
    /// A policy names a pool that is not configured.
    Pool(&'a str),
    /// An owned requirement names a pool that is not configured.
    RequirementPool(&'a str),
    /// A policy names a requirement that is not registered.
    Requirement(&'a str),
    /// A policy names one pool and its named requirement another.
    TwoPools(&'a str, &'a str),
}

impl CognitoAuth {
    /// Registers `requirement` under `name` (replacing one of that name), for the routes
    /// whose [`Policy::REQUIREMENT`] names it: their groups, scopes and checks then come from
    /// configuration at run time.
    ///
    /// ```
    /// use cognito_core::{CognitoAuth, CognitoSettings, Policy, Requirement};
    /// struct Reports;
    /// impl Policy for Reports {
    ///     const REQUIREMENT: Option<&'static str> = Some("reports");
    /// }
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let from_config: Requirement = serde_yaml::from_str("{groups: [finance]}").map_err(|e| e.to_string())?;
    /// let auth = CognitoAuth::new(&settings)?.with_requirement("reports", from_config);
    /// auth.check_policy::<Reports>()?;
    /// assert_eq!(auth.requirement("reports").map(|r| r.groups().len()), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_requirement(self, name: impl Into<String>, requirement: Requirement) -> Self {
        let name = name.into();
        let mut pools = Arc::unwrap_or_clone(self.0);
        pools.requirements.retain(|(n, _)| *n != name);
        pools.requirements.push((name, requirement));
        CognitoAuth(Arc::new(pools))
    }

    /// The requirement registered under `name`.
    pub fn requirement(&self, name: &str) -> Option<&Requirement> {
        self.0.requirements.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// Checks at start-up that a route policy can be served: its pool, if it names one, is
    /// configured. Without this a typo in `Policy::POOL` shows only at request time, as a 500.
    ///
    /// ```
    /// use cognito_core::{CognitoAuth, CognitoSettings, Policy};
    /// struct UsPool;
    /// impl Policy for UsPool {
    ///     const POOL: Option<&'static str> = Some("uss");
    /// }
    /// let settings = CognitoSettings::from_yaml_str(
    ///     "userpools:\n  us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: b}",
    /// )?;
    /// let auth = CognitoAuth::new(&settings)?;
    /// let err = auth.check_policy::<UsPool>().unwrap_err();
    /// assert_eq!((err.pool(), err.field()), (Some("uss"), Some("userpools")));
    /// # Ok::<(), cognito_core::ConfigError>(())
    /// ```
    ///
    /// A policy's [`Policy::REQUIREMENT`] must be registered, and its pool configured and in
    /// agreement with `POOL`; `REQUIRE` and that requirement must have values that can work
    /// (`max_auth_age_secs` at least 1, see [`Requirement::validate`]).
    pub fn check_policy<P: Policy>(&self) -> Result<(), ConfigError> {
        P::REQUIRE.validate()?;
        if let Some(requirement) = P::REQUIREMENT.and_then(|name| self.requirement(name)) {
            requirement.validate()?;
        }
        self.route(RequirementRef::of::<P>())
            .map(|_| ())
            .map_err(|problem| match problem {
                Unroutable::Pool(name) | Unroutable::RequirementPool(name) => ConfigError::invalid(
                    Some(name),
                    "userpools",
                    "a route's policy names this pool, which is not configured",
                ),
                Unroutable::Requirement(name) => ConfigError::invalid(
                    None,
                    "requirements",
                    format!("a route's policy names the requirement {name:?}, which is not registered"),
                ),
                Unroutable::TwoPools(a, b) => ConfigError::invalid(
                    Some(b),
                    "pool",
                    format!("a route's policy names pool {a:?} and a requirement of this pool"),
                ),
            })
    }

    /// Checks at start-up that `requirement` can be served: its values can work
    /// ([`Requirement::validate`]) and its pool, if it names one, is configured.
    pub fn check_requirement(&self, requirement: &Requirement) -> Result<(), ConfigError> {
        requirement.validate()?;
        self.route(requirement.into()).map(|_| ()).map_err(|_| {
            ConfigError::invalid(
                requirement.pool(),
                "userpools",
                "a requirement names this pool, which is not configured",
            )
        })
    }

    /// The verifier and the needs of `requirement`: the pool its policy or owned requirement
    /// names (else the default pool), and its named requirement looked up.
    fn route<'a>(&'a self, requirement: RequirementRef<'a>) -> Result<(&'a Verifier, Needs<'a>), Unroutable<'a>> {
        let (policy_pool, require, owned, named) = requirement.parts();
        let owned = match (owned, named) {
            (Some(owned), _) => Some(owned),
            (None, None) => None,
            (None, Some(name)) => Some(self.requirement(name).ok_or(Unroutable::Requirement(name))?),
        };
        let verifier = match (policy_pool, owned.and_then(Requirement::pool)) {
            (Some(a), Some(b)) if a != b => return Err(Unroutable::TwoPools(a, b)),
            (None, None) => self.default_pool(),
            (Some(name), _) => self.pool(name).ok_or(Unroutable::Pool(name))?,
            (None, Some(name)) if named.is_none() => self.pool(name).ok_or(Unroutable::RequirementPool(name))?,
            (None, Some(name)) => self.pool(name).ok_or(Unroutable::Pool(name))?,
        };
        Ok((verifier, Needs { require, owned }))
    }

    /// The verifier and the needs of `requirement`, or the 500 a misconfigured route gets.
    fn serve<'a>(&'a self, requirement: RequirementRef<'a>) -> Result<(&'a Verifier, Needs<'a>), Rejection> {
        self.route(requirement).map_err(|problem| {
            Rejection::Misconfigured(match problem {
                Unroutable::Pool(name) => format!("the route's policy names pool {name:?}, which is not configured"),
                Unroutable::RequirementPool(name) => {
                    format!("a requirement names pool {name:?}, which is not configured")
                }
                Unroutable::Requirement(name) => {
                    format!("the route's policy names requirement {name:?}, which is not registered")
                }
                Unroutable::TwoPools(a, b) => format!("the route's policy names two pools, {a:?} and {b:?}"),
            })
        })
    }

    /// The verifier of the pool that serves `requirement` (the pool its policy or owned
    /// requirement names, else the default pool), or the 500 a misconfigured route gets.
    pub fn pool_for<'a>(&'a self, requirement: impl Into<RequirementRef<'a>>) -> Result<&'a Verifier, Rejection> {
        self.serve(requirement.into()).map(|(verifier, _)| verifier)
    }

    /// Required authentication of a request under `requirement`, on the pool it names: what
    /// every adapter's required extractor calls (with [`RequirementRef::of`] its policy), and
    /// the router-wide layer (with its owned [`Requirement`], `T` = [`Verified`]).
    ///
    /// ```no_run
    /// use cognito_core::{CognitoAuth, CognitoToken, Policy, Require, RequirementRef};
    /// struct Admins;
    /// impl Policy for Admins {
    ///     const REQUIRE: Require<'static> = Require::NONE.any_group(&["admin"]);
    /// }
    /// # async fn run(auth: CognitoAuth, request: http::Request<()>) -> Result<(), cognito_core::Rejection> {
    /// let admin: CognitoToken = auth.authenticate(&request, RequirementRef::of::<Admins>()).await?;
    /// # let _ = admin; Ok(()) }
    /// ```
    pub async fn authenticate<'a, T: ClaimsType>(
        &'a self,
        request: &(impl RequestView + ?Sized),
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Result<T, Rejection> {
        let (verifier, needs) = self.serve(requirement.into())?;
        Ok(verifier.authenticate_needs(request, needs).await?)
    }

    /// Optional authentication under `requirement`: `None` only when the request carries no
    /// token; a present but invalid token is refused as by [`CognitoAuth::authenticate`].
    pub async fn authenticate_optional<'a, T: ClaimsType>(
        &'a self,
        request: &(impl RequestView + ?Sized),
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Result<Option<T>, Rejection> {
        let (verifier, needs) = self.serve(requirement.into())?;
        Ok(verifier.authenticate_optional_needs(request, needs).await?)
    }

    /// Verifies a bare token (no header, no scheme) under `requirement`, on the pool it names.
    pub async fn verify<'a, T: ClaimsType>(
        &'a self,
        token: &str,
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Result<T, Rejection> {
        let (verifier, needs) = self.serve(requirement.into())?;
        Ok(verifier.verify_core(token, needs, Keys::MayFetch).await?)
    }

    /// Authorizes a token already verified (the [`Verified`] the router-wide layer leaves in a
    /// request, or one [`CognitoAuth::verify`] gave) against `requirement`, with no second
    /// verification: see [`Verifier::authorize`]. A token of another pool than the one
    /// `requirement` names is `wrong_issuer`; an extractor that can verify the request itself
    /// compares [`CognitoAuth::pool_for`] with [`Verified::pool`] first.
    pub async fn authorize<'a, T: ClaimsType>(
        &'a self,
        verified: &Verified,
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Result<T, Rejection> {
        let (verifier, needs) = self.serve(requirement.into())?;
        let answer = verifier.authorize_needs(verified, needs).await;
        Ok(answer.map_err(|e| verifier.challenge(e))?)
    }
}
