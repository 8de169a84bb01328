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
use crate::tenants::{ANY_TENANT, Tenants};
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
    /// A requirement serves any tenant, and no tenants are configured.
    NoTenants,
}

/// Whose verifier serves a requirement: a configured pool's, or the tenant's that the token
/// names.
enum Target<'a> {
    Pool(&'a Verifier),
    Tenants(&'a Tenants),
}

/// A verifier of either kind: borrowed from the pools, or a tenant's (owned: the tenants' table
/// may drop it meanwhile).
enum Routed<'a> {
    Pool(&'a Verifier),
    Tenant(Verifier),
}

impl std::ops::Deref for Routed<'_> {
    type Target = Verifier;
    fn deref(&self) -> &Verifier {
        match self {
            Routed::Pool(verifier) => verifier,
            Routed::Tenant(verifier) => verifier,
        }
    }
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
                Unroutable::NoTenants => no_tenants(),
            })
    }

    /// Checks at start-up that `requirement` can be served: its values can work
    /// ([`Requirement::validate`]) and its pool, if it names one, is configured.
    pub fn check_requirement(&self, requirement: &Requirement) -> Result<(), ConfigError> {
        requirement.validate()?;
        self.route(requirement.into())
            .map(|_| ())
            .map_err(|problem| match problem {
                Unroutable::NoTenants => no_tenants(),
                _ => ConfigError::invalid(
                    requirement.pool(),
                    "userpools",
                    "a requirement names this pool, which is not configured",
                ),
            })
    }

    /// The verifier and the needs of `requirement`: the pool its policy or owned requirement
    /// names (else the default pool; the tenants for [`ANY_TENANT`]), and its named requirement
    /// looked up.
    fn route<'a>(&'a self, requirement: RequirementRef<'a>) -> Result<(Target<'a>, Needs<'a>), Unroutable<'a>> {
        let (policy_pool, require, owned, named) = requirement.parts();
        let owned = match (owned, named) {
            (Some(owned), _) => Some(owned),
            (None, None) => None,
            (None, Some(name)) => Some(self.requirement(name).ok_or(Unroutable::Requirement(name))?),
        };
        let pool = match (policy_pool, owned.and_then(Requirement::pool)) {
            (Some(a), Some(b)) if a != b => return Err(Unroutable::TwoPools(a, b)),
            (None, None) => None,
            (Some(name), _) => Some((name, Unroutable::Pool(name))),
            (None, Some(name)) if named.is_none() => Some((name, Unroutable::RequirementPool(name))),
            (None, Some(name)) => Some((name, Unroutable::Pool(name))),
        };
        let target = match pool {
            None => Target::Pool(self.default_pool()),
            Some((ANY_TENANT, _)) => Target::Tenants(self.0.tenants.as_deref().ok_or(Unroutable::NoTenants)?),
            Some((name, missing)) => Target::Pool(self.pool(name).ok_or(missing)?),
        };
        Ok((target, Needs { require, owned }))
    }

    /// The target and the needs of `requirement`, or the 500 a misconfigured route gets.
    fn serve<'a>(&'a self, requirement: RequirementRef<'a>) -> Result<(Target<'a>, Needs<'a>), Rejection> {
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
                Unroutable::NoTenants => "a requirement serves any tenant, but no tenants are configured".to_owned(),
            })
        })
    }

    /// The verifier of `target` for `token`: the pool's, or the tenant's whose pool trusts the
    /// token's issuer (a refusal before any tenant is found carries the default pool's
    /// challenge).
    async fn verifier_for<'a>(&'a self, target: Target<'a>, token: &str) -> Result<Routed<'a>, Rejection> {
        match target {
            Target::Pool(verifier) => Ok(Routed::Pool(verifier)),
            // Boxed: a tenant lookup's state would otherwise be carried by every verification.
            Target::Tenants(tenants) => match Box::pin(tenants.verifier_for_token(token)).await {
                Ok(verifier) => Ok(Routed::Tenant(verifier)),
                Err(e) => Err(self.default_pool().challenge(e).into()),
            },
        }
    }

    /// The verifier of `target` for a request: a tenant's is found from the request's token;
    /// without one, the default pool answers (its answer is about the missing token).
    async fn verifier_for_request<'a>(
        &'a self,
        target: Target<'a>,
        request: &(impl RequestView + ?Sized),
    ) -> Result<Routed<'a>, Rejection> {
        if let Target::Tenants(_) = target {
            let first = self.default_pool();
            return match first.inner.sources.find(request) {
                Ok(token) => self.verifier_for(target, &token).await,
                Err(_) => Ok(Routed::Pool(first)),
            };
        }
        self.verifier_for(target, "").await
    }

    /// The verifier of the pool that serves `requirement` (the pool its policy or owned
    /// requirement names, else the default pool), or the 500 a misconfigured route gets. A
    /// requirement of any tenant has no one pool: the 500 too ([`CognitoAuth::authorize`]
    /// finds the tenant from the token).
    pub fn pool_for<'a>(&'a self, requirement: impl Into<RequirementRef<'a>>) -> Result<&'a Verifier, Rejection> {
        match self.serve(requirement.into())? {
            (Target::Pool(verifier), _) => Ok(verifier),
            (Target::Tenants(_), _) => Err(Rejection::Misconfigured(
                "a requirement of any tenant names no one pool".to_owned(),
            )),
        }
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
        let (target, needs) = self.serve(requirement.into())?;
        let verifier = self.verifier_for_request(target, request).await?;
        Ok(verifier.authenticate_needs(request, needs).await?)
    }

    /// Optional authentication under `requirement`: `None` only when the request carries no
    /// token; a present but invalid token is refused as by [`CognitoAuth::authenticate`].
    pub async fn authenticate_optional<'a, T: ClaimsType>(
        &'a self,
        request: &(impl RequestView + ?Sized),
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Result<Option<T>, Rejection> {
        let (target, needs) = self.serve(requirement.into())?;
        let verifier = self.verifier_for_request(target, request).await?;
        Ok(verifier.authenticate_optional_needs(request, needs).await?)
    }

    /// [`CognitoAuth::authenticate`] (or, when `optional`, `authenticate_optional`) when it
    /// can be answered without waiting (see `Verifier::authenticate_now`), else `None` with
    /// nothing done that shows. A requirement of any tenant always waits: its pool is found
    /// from the token.
    pub(crate) fn authenticate_now<'a, T: ClaimsType>(
        &'a self,
        request: &(impl RequestView + ?Sized),
        requirement: impl Into<RequirementRef<'a>>,
        optional: bool,
    ) -> Option<Result<Option<T>, Rejection>> {
        let (target, needs) = match self.serve(requirement.into()) {
            Ok(served) => served,
            Err(e) => return Some(Err(e)),
        };
        match target {
            Target::Pool(verifier) => Some(
                verifier
                    .authenticate_now(request, needs, optional)?
                    .map_err(Rejection::from),
            ),
            Target::Tenants(_) => None,
        }
    }

    /// Verifies a bare token (no header, no scheme) under `requirement`, on the pool it names.
    pub async fn verify<'a, T: ClaimsType>(
        &'a self,
        token: &str,
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Result<T, Rejection> {
        let (target, needs) = self.serve(requirement.into())?;
        let verifier = self.verifier_for(target, token).await?;
        Ok(verifier.verify_core(token, needs, Keys::MayFetch).await?)
    }

    /// What an extractor answers from the token the router-wide layer verified for this
    /// request (`verified`, from the request's extensions), with no second verification:
    /// `None` when the layer verified none, or verified it for another pool than the one
    /// `requirement` names (the extractor then verifies the request itself); else
    /// [`CognitoAuth::authorize`]'s answer. What every adapter's extractor does first.
    pub async fn authorize_layered<'a, T: ClaimsType>(
        &'a self,
        verified: Option<&Verified>,
        requirement: impl Into<RequirementRef<'a>>,
    ) -> Option<Result<T, Rejection>> {
        let verified = verified?;
        let served = self.serve(requirement.into());
        if let Ok((Target::Pool(pool), _)) = &served
            && pool.pool() != verified.pool()
        {
            return None;
        }
        Some(match served {
            Ok((target, needs)) => self.authorize_served(verified, target, needs).await,
            Err(rejection) => Err(rejection),
        })
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
        let (target, needs) = self.serve(requirement.into())?;
        self.authorize_served(verified, target, needs).await
    }

    /// [`CognitoAuth::authorize`] once the requirement's target and needs are known.
    async fn authorize_served<'a, T: ClaimsType>(
        &'a self,
        verified: &Verified,
        target: Target<'a>,
        needs: Needs<'a>,
    ) -> Result<T, Rejection> {
        let verifier = match target {
            Target::Pool(verifier) => Routed::Pool(verifier),
            // The tenant whose pool trusts the verified token's issuer (a token of a
            // configured pool is none's: `wrong_issuer`).
            Target::Tenants(tenants) => {
                let issuer = verified
                    .claims()
                    .get("iss")
                    .and_then(|iss| iss.as_str())
                    .unwrap_or_default();
                match tenants.verifier_for_issuer(issuer).await {
                    Ok(verifier) => Routed::Tenant(verifier),
                    Err(e) => return Err(self.default_pool().challenge(e).into()),
                }
            }
        };
        let answer = verifier.authorize_needs(verified, needs).await;
        Ok(answer.map_err(|e| verifier.challenge(e))?)
    }
}

fn no_tenants() -> ConfigError {
    ConfigError::invalid(
        None,
        "tenants",
        "a requirement serves any tenant, but no tenants are configured",
    )
}
