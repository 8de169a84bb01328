//! The pools of one settings value: their verifiers, built together (one revocation store,
//! one HTTP client), with the load balancers' verifier and the protected resource beside
//! them, and what they report together (health, key loading). Which pool serves a request is
//! `routing`.

use std::sync::Arc;

use super::Verifier;
use super::verifier::warn_keys_url_override;
use crate::alb::AlbVerifier;
use crate::check::{AsyncCheck, Check, Checker};
use crate::error::{AuthError, ConfigError};
use crate::health::{Health, PoolHealth};
use crate::policy::Requirement;
use crate::resource::ProtectedResource;
use crate::revocation::{RevocationBackend, Revocations};
use crate::settings::CognitoSettings;
use crate::tenants::{TenantResolver, Tenants};

/// The outcome of loading one pool's keys (see [`CognitoAuth::prefetch`]).
#[derive(Debug)]
pub struct PoolStatus {
    /// The pool's name.
    pub pool: String,
    /// The number of keys loaded (summed over the pool's key sources), or why none could be.
    pub result: Result<usize, AuthError>,
}

/// One line for a start-up log: `eu: 2 keys loaded`, or `eu: no keys (<kind>: <why>)`, where
/// the reason is the operator detail (e.g. the fetch error) when there is one.
impl std::fmt::Display for PoolStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.result {
            Ok(1) => write!(f, "{}: 1 key loaded", self.pool),
            Ok(n) => write!(f, "{}: {n} keys loaded", self.pool),
            Err(e) => {
                let why = e.detail().unwrap_or(e.message());
                write!(f, "{}: no keys ({}: {why})", self.pool, e.kind().as_str())
            }
        }
    }
}

/// Every pool of one settings value, each with its verifier: what web apps keep in their state
/// and what the framework adapters read. Cheap to clone.
///
/// ```
/// use cognito_core::{CognitoAuth, CognitoSettings};
/// let settings = CognitoSettings::from_yaml_str(r#"
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
///   us: {region: us-east-1, userpool_id: us-east-1_B, app_client_id: b}
/// "#)?;
/// let auth = CognitoAuth::new(&settings)?;
/// assert_eq!(auth.default_pool().pool(), "eu");
/// assert_eq!(auth.pool("us").map(|v| v.pool()), Some("us"));
/// assert!(auth.pool("moon").is_none());
/// # Ok::<(), cognito_core::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CognitoAuth(pub(super) Arc<Pools>);

/// What a [`CognitoAuth`] holds, behind one `Arc`: frameworks clone the app state per request
/// (axum's `State`), so a clone is one count.
#[derive(Clone, Debug)]
pub(super) struct Pools {
    /// The default pool: the first of the settings (there is always one).
    pub(super) first: Verifier,
    /// The other pools, in settings order.
    pub(super) rest: Vec<Verifier>,
    /// Requirements registered by name, for policies that name one.
    pub(super) requirements: Vec<(String, Requirement)>,
    /// The load balancers' verifier, when `alb:` is configured.
    pub(super) alb: Option<AlbVerifier>,
    /// The protected resource, when `resource:` is configured.
    pub(super) resource: Option<ProtectedResource>,
    /// The tenants, when `tenants:` is configured or a resolver is set.
    pub(super) tenants: Option<Arc<Tenants>>,
    /// What tenants set up in code are built with.
    settings: Arc<CognitoSettings>,
    client: Option<reqwest::Client>,
}

impl CognitoAuth {
    /// Verifiers for every pool of `settings` (validated), in settings order.
    pub fn new(settings: &CognitoSettings) -> Result<Self, ConfigError> {
        Self::build(settings, None)
    }

    /// [`CognitoAuth::new`], fetching JWKS (and load balancer keys) with your own HTTP client:
    /// a custom CA, a client certificate (mTLS), a proxy set in code. `jwks.timeout_ms` and
    /// `jwks.max_bytes` still bound each fetch; your client's redirect policy applies (the
    /// default client follows at most 3 redirects, within the same origin only).
    ///
    /// The key caches of this `CognitoAuth` are its own, not shared with verifiers built
    /// without this client (another client may trust other roots); its clones share them.
    ///
    /// ```
    /// use cognito_core::{CognitoAuth, CognitoSettings};
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let client = reqwest::Client::builder().https_only(true).build()?;
    /// let auth = CognitoAuth::with_http_client(&settings, client)?;
    /// # let _ = auth; Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_http_client(settings: &CognitoSettings, client: reqwest::Client) -> Result<Self, ConfigError> {
        Self::build(settings, Some(&client))
    }

    fn build(settings: &CognitoSettings, client: Option<&reqwest::Client>) -> Result<Self, ConfigError> {
        let resolved = settings.resolve()?;
        warn_keys_url_override(resolved.iter().map(|(pool, _)| *pool));
        let verifiers = resolved
            .iter()
            .map(|(pool, sources)| Verifier::from_pool(settings, pool, sources, client))
            .chain(
                settings
                    .issuers
                    .iter()
                    .map(|oidc| Verifier::from_issuer(settings, oidc, client)),
            )
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        // One revocation store for every pool: a revocation holds wherever the token goes.
        let revocations = Revocations::in_memory(std::time::Duration::from_secs(settings.leeway_seconds));
        let mut verifiers = verifiers.map(|v| v.with_revocations(revocations.clone()));
        let first = verifiers.next().ok_or_else(ConfigError::no_pools)?;
        let alb = match &settings.alb {
            Some(alb) => Some(AlbVerifier::for_alb_with(alb, settings, client)?),
            None => None,
        };
        let resource = match &settings.resource {
            Some(resource) => Some(ProtectedResource::build(resource, settings.default_pool()?)?),
            None => None,
        };
        let tenants = Tenants::from_settings(settings, client, revocations.clone())?.map(Arc::new);
        Ok(CognitoAuth(Arc::new(Pools {
            first,
            rest: verifiers.collect(),
            requirements: Vec::new(),
            alb,
            resource,
            tenants,
            settings: Arc::new(settings.clone()),
            client: client.cloned(),
        })))
    }

    /// Every pool's verifier with this custom check (see [`Verifier::with_check`]).
    #[must_use]
    pub fn with_check(self, check: impl Check) -> Self {
        self.with_checker(Checker::sync(check))
    }

    /// Every pool's verifier with this asynchronous custom check.
    #[must_use]
    pub fn with_check_async(self, check: impl AsyncCheck) -> Self {
        self.with_checker(Checker::asynchronous(check))
    }

    fn with_checker(self, checker: Checker) -> Self {
        let mut pools = Arc::unwrap_or_clone(self.0);
        pools.first = pools.first.with_checker(checker.clone());
        pools.rest = pools
            .rest
            .into_iter()
            .map(|v| v.with_checker(checker.clone()))
            .collect();
        pools.tenants = pools.tenants.map(|t| Arc::new(t.with_checker(checker)));
        CognitoAuth(Arc::new(pools))
    }

    /// Every pool asks `backend` whether a token is revoked, instead of the built-in
    /// in-memory store (see [`crate::revocation`]): for a service of several instances, a
    /// store they share (Redis, DynamoDB).
    #[must_use]
    pub fn with_revocation_store(self, backend: impl RevocationBackend) -> Self {
        let revocations = Revocations::external(backend);
        let mut pools = Arc::unwrap_or_clone(self.0);
        pools.first = pools.first.with_revocations(revocations.clone());
        pools.rest = pools
            .rest
            .into_iter()
            .map(|v| v.with_revocations(revocations.clone()))
            .collect();
        pools.tenants = pools.tenants.map(|t| Arc::new(t.with_revocations(revocations)));
        CognitoAuth(Arc::new(pools))
    }

    /// Tenants found by `resolver` (see [`crate::tenants`]): a requirement whose pool is
    /// [`crate::tenants::ANY_TENANT`] is then served by the tenant whose pool trusts the
    /// token's issuer, as the resolver answers. It replaces a `tenants.file`; `tenants.max`
    /// still bounds the tenants kept.
    #[must_use]
    pub fn with_tenant_resolver(self, resolver: impl TenantResolver) -> Self {
        let mut pools = Arc::unwrap_or_clone(self.0);
        let mut tenants = Tenants::with_resolver(
            &pools.settings,
            pools.client.as_ref(),
            Arc::new(resolver),
            pools.first.revocations().clone(),
        );
        for checker in pools.first.checks.iter() {
            tenants = tenants.with_checker(checker.clone());
        }
        pools.tenants = Some(Arc::new(tenants));
        CognitoAuth(Arc::new(pools))
    }

    /// Whether tenants are served (`tenants:` is configured, or a resolver is set).
    pub fn serves_tenants(&self) -> bool {
        self.0.tenants.is_some()
    }

    /// Where revocations are kept, shared by every pool: revoke a session (its
    /// `origin_jti`, else `jti`) or a user's tokens up to a time, and from then on those
    /// tokens are refused as 401 `revoked` everywhere, token-cache hits included.
    ///
    /// ```
    /// use cognito_core::{CognitoAuth, CognitoSettings};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let auth = CognitoAuth::new(&settings)?;
    /// auth.revocations().revoke_user_now("5f1c-sub-of-mallory").await?;
    /// auth.revocations().revoke_session("origin-jti-of-a-stolen-session").await?;
    /// assert_eq!(auth.revocations().memory().map(|store| store.len()), Some(2));
    /// # Ok(()) }
    /// ```
    pub fn revocations(&self) -> &Revocations {
        self.default_pool().revocations()
    }

    /// The verifier of load-balancer user claims (`x-amzn-oidc-data`), if `alb:` is configured.
    pub fn alb(&self) -> Option<&AlbVerifier> {
        self.0.alb.as_ref()
    }

    /// The protected resource (its metadata document, well-known paths and URL), if
    /// `resource:` is configured: what the tower layer and the adapters serve.
    pub fn resource(&self) -> Option<&ProtectedResource> {
        self.0.resource.as_ref()
    }

    /// The default (first) pool's verifier.
    pub fn default_pool(&self) -> &Verifier {
        &self.0.first
    }

    /// The verifier of the pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&Verifier> {
        self.pools().find(|v| v.pool() == name)
    }

    /// Every pool's verifier, in settings order.
    pub fn pools(&self) -> impl Iterator<Item = &Verifier> {
        std::iter::once(&self.0.first).chain(&self.0.rest)
    }

    /// The header tokens are read from (the same for every pool).
    pub fn header_name(&self) -> &str {
        self.default_pool().header_name()
    }

    /// The scheme expected before the token (the same for every pool).
    pub fn header_prefix(&self) -> &str {
        self.default_pool().header_prefix()
    }

    /// Seeds the keys of pool `pool` (see [`Verifier::seed_keys`]): `true` if they are served
    /// now, `false` if keys were loaded already.
    ///
    /// ```
    /// # use cognito_core::{CognitoAuth, CognitoSettings};
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let auth = CognitoAuth::new(&settings)?;
    /// // e.g. include_bytes!("jwks.json"), saved from the pool's JWKS URL at build time
    /// let jwks = br#"{"keys": []}"#;
    /// assert!(auth.seed_keys("eu", jwks)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seed_keys(&self, pool: &str, jwks: &[u8]) -> Result<bool, ConfigError> {
        self.pool(pool)
            .ok_or_else(|| ConfigError::unknown_pool(pool))?
            .seed_keys(jwks)
    }

    /// Loads every pool's keys now, so the first requests pay no fetch; reports per pool.
    /// Failures are reported, not fatal: verification keeps retrying with backoff.
    pub async fn prefetch(&self) -> Vec<PoolStatus> {
        self.per_pool(Verifier::prefetch).await
    }

    /// `load` for every pool in settings order, one after the other, reported per pool; each
    /// pool's fetch events are in a span that names it.
    async fn per_pool(&self, load: impl AsyncFn(&Verifier) -> Result<usize, AuthError>) -> Vec<PoolStatus> {
        let mut report = Vec::with_capacity(1 + self.0.rest.len());
        for verifier in self.pools() {
            let span = tracing::info_span!("cognito_pool", pool = verifier.pool());
            let result = tracing::Instrument::instrument(load(verifier), span).await;
            report.push(PoolStatus {
                pool: verifier.pool().to_owned(),
                result,
            });
        }
        report
    }

    /// Every pool's health now, without metrics and without I/O: per pool and key source,
    /// the keys served, their age, the last fetch error and when the next fetch may happen.
    /// [`Health::is_ready`] is what a readiness probe wants: every pool can verify now.
    /// With the `metrics` feature this also brings the `cognito_jwks_keys` and
    /// `cognito_jwks_age_seconds` gauges up to date (call it before rendering a scrape).
    /// Each live tenant follows the pools, its sources reported but not required.
    /// With `alb:` configured, the load balancers' key cache comes last, as the pool `alb`
    /// (ready unless its last key fetch failed and it holds no key: its keys are fetched per
    /// kid, when a token first names one).
    pub fn health(&self) -> Health {
        let alb = self.0.alb.as_ref().map(|alb| PoolHealth {
            pool: "alb".to_owned(),
            sources: vec![alb.health()],
        });
        // A tenant's keys are fetched on its first request, and one tenant's outage is not
        // the service's: its sources are reported, not required.
        let tenants = self.0.tenants.iter().flat_map(|t| t.verifiers()).map(|v| {
            let mut health = v.health();
            health.sources.iter_mut().for_each(|s| s.optional = true);
            health
        });
        Health {
            pools: self.pools().map(Verifier::health).chain(tenants).chain(alb).collect(),
        }
    }

    /// [`Verifier::refresh_keys`] for every pool, reported per pool: after an emergency key
    /// removal, call it to stop trusting the removed key now rather than at the next refresh.
    pub async fn refresh_keys(&self) -> Vec<PoolStatus> {
        self.per_pool(Verifier::refresh_keys).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn pool_status_is_one_line() {
        let line = |result| {
            PoolStatus {
                pool: "eu".into(),
                result,
            }
            .to_string()
        };
        assert_eq!(line(Ok(1)), "eu: 1 key loaded");
        assert_eq!(line(Ok(3)), "eu: 3 keys loaded");
        let down = AuthError::unavailable(Duration::from_secs(2), Some("the JWKS server answered 500".into()));
        assert_eq!(
            line(Err(ErrorKind::UnknownKid.into())),
            format!(
                "eu: no keys (unknown_kid: {})",
                AuthError::new(ErrorKind::UnknownKid).message()
            )
        );
        assert_eq!(
            line(Err(down)),
            "eu: no keys (jwks_unavailable: the JWKS server answered 500)"
        );
    }
}
