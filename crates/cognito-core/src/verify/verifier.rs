//! One pool's verifier: what it is built from (the settings of one pool, its key caches, its
//! token cache), what it is asked about itself, and its keys' upkeep. The pipeline it runs
//! is `pipeline`.

use std::sync::Arc;

use crate::check::{AsyncCheck, Check, Checker};
use crate::error::{AuthError, ConfigError};
use crate::health::PoolHealth;
use crate::issuer::OidcRules;
use crate::jose::Algorithm;
use crate::jwks::JwksCache;
use crate::observe::{self, PoolObserver};
use crate::resource::ProtectedResource;
use crate::revocation::{RevocationBackend, Revocations};
use crate::settings::{CognitoSettings, KeySource, TokenSource, TokenUse, UserPool};
use crate::source::Sources;
use crate::token_cache::{TokenCache, TokenCacheStats};

/// Verifies the tokens of one user pool. Cheap to clone into web-app state; every clone, and
/// every verifier of any pool with the same JWKS URL, shares one key cache.
///
/// ```no_run
/// use cognito_core::{CognitoSettings, CognitoToken, Require, Verifier};
/// # async fn run(request: http::Request<()>) -> Result<(), Box<dyn std::error::Error>> {
/// let settings = CognitoSettings::from_yaml("cognito.yaml")?;
/// let cognito_eu = Verifier::new(&settings)?;              // the first (default) pool
/// let cognito_us = Verifier::for_pool(&settings, "us")?;   // a named pool
/// let token: CognitoToken = cognito_eu.authenticate(&request, Require::NONE).await?;
/// println!("hello {:?}", token.username());
/// # let _ = cognito_us; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Verifier {
    /// The pool's settings, caches and observer, shared by every clone.
    pub(super) inner: Arc<Inner>,
    /// The custom checks every verification runs, in the order they were added.
    pub(super) checks: Arc<[Checker]>,
    /// Where revoked sessions and users are looked up.
    pub(super) revocations: Revocations,
}

pub(super) struct Inner {
    pub(super) pool: String,
    /// Each trusted issuer with the cache of its keys.
    pub(super) issuers: Vec<(String, Arc<JwksCache>)>,
    pub(super) clients: Vec<String>,
    /// Accepted `aud` of access tokens; empty: not checked.
    pub(super) audience: Vec<String>,
    pub(super) token_use: TokenUse,
    pub(super) check_expiration: bool,
    pub(super) leeway: f64,
    pub(super) algorithms: Vec<Algorithm>,
    /// Where tokens come from (step 1).
    pub(super) sources: Sources,
    /// `jwt_header_name` as configured (lookups use the lowercase name in `sources`).
    pub(super) header_name: String,
    /// This pool's verified tokens (`None`: switched off).
    pub(super) token_cache: Option<TokenCache>,
    /// Its answers' events and metrics.
    pub(super) observer: PoolObserver,
    /// The protected-resource metadata URL every 401 / 403 challenge names, when the settings
    /// have `resource:`.
    pub(super) resource_metadata: Option<Arc<str>>,
    /// An OpenID Connect issuer's rules, which replace the pool's header and claims rules.
    pub(super) oidc: Option<OidcRules>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("pool", &self.inner.pool)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for the default (first) pool (the settings are validated).
    pub fn new(settings: &CognitoSettings) -> Result<Self, ConfigError> {
        let resolved = settings.resolve()?;
        let (pool, sources) = resolved.first().ok_or_else(ConfigError::no_pools)?;
        warn_keys_url_override([*pool]);
        Self::from_pool(settings, pool, sources, None)
    }

    /// A verifier for the pool named `name` (the settings are validated).
    pub fn for_pool(settings: &CognitoSettings, name: &str) -> Result<Self, ConfigError> {
        let resolved = settings.resolve()?;
        let Some((pool, sources)) = resolved.iter().find(|(pool, _)| pool.name == name) else {
            // A named OpenID Connect issuer is chosen as a pool is.
            let oidc = settings.issuers.iter().find(|i| i.name == name);
            return Self::from_issuer(settings, oidc.ok_or_else(|| ConfigError::unknown_pool(name))?, None);
        };
        warn_keys_url_override([*pool]);
        Self::from_pool(settings, pool, sources, None)
    }

    /// A verifier for `pool` of `settings` with the key sources `resolve` gave it, fetching
    /// with the caller's `client` if given.
    pub(crate) fn from_pool(
        settings: &CognitoSettings,
        pool: &UserPool,
        sources: &[(String, KeySource)],
        client: Option<&reqwest::Client>,
    ) -> Result<Self, ConfigError> {
        let mut issuers: Vec<(String, Arc<JwksCache>)> = Vec::with_capacity(sources.len());
        for (i, (issuer, source)) in sources.iter().enumerate() {
            // Both AWS issuer forms often share one source (an inline set, an overridden
            // URL): one cache, so inline keys are parsed once.
            let earlier = sources[..i].iter().position(|(_, s)| s == source);
            let cache = match earlier.and_then(|j| issuers.get(j)) {
                Some((_, cache)) => Arc::clone(cache),
                None => JwksCache::shared(source, &settings.jwks, client)
                    .map_err(|p| ConfigError::invalid(Some(&pool.name), "jwks_url", p))?,
            };
            issuers.push((issuer.clone(), cache));
        }
        let resource = match &settings.resource {
            Some(resource) => Some(ProtectedResource::build(resource, settings.default_pool()?)?),
            None => None,
        };
        let mut audience = pool.audience.clone();
        let mut token_use = pool.token_use;
        // The resource's identifier joins the default pool's audiences, and that pool then
        // takes access tokens only: a resource server is sent access tokens bound to it.
        if let (Some(resource), Some(default)) = (&settings.resource, settings.userpools.first())
            && default.name == pool.name
        {
            if !audience.contains(&resource.uri) {
                audience.push(resource.uri.clone());
            }
            token_use = TokenUse::Access;
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                pool: pool.name.clone(),
                issuers,
                clients: pool.app_client_id.clone(),
                audience,
                token_use,
                check_expiration: settings.check_expiration,
                leeway: settings.leeway_seconds as f64,
                algorithms: settings.algorithms.clone(),
                sources: Sources::of(settings),
                header_name: settings.jwt_header_name.clone(),
                token_cache: TokenCache::new(&settings.token_cache),
                observer: PoolObserver::new(&pool.name),
                resource_metadata: resource.as_ref().map(ProtectedResource::metadata_url_shared),
                oidc: None,
            }),
            checks: Arc::from([]),
            revocations: Revocations::in_memory(std::time::Duration::from_secs(settings.leeway_seconds)),
        })
    }

    /// This verifier with a custom check that runs after every built-in check of every
    /// verification it makes (and before the route's own checks), on token-cache hits too.
    /// The clone shares the key and token caches.
    ///
    /// ```
    /// use cognito_core::{AuthError, CognitoSettings, Verified, Verifier};
    /// # let settings = CognitoSettings::from_yaml_str(
    /// #     "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
    /// let verifier = Verifier::new(&settings)?.with_check(|token: &Verified| match token.sub() {
    ///     Some("banned-user") => Err(AuthError::rejected("This user is banned.")),
    ///     _ => Ok(()),
    /// });
    /// # let _ = verifier; Ok::<(), cognito_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_check(self, check: impl Check) -> Self {
        self.with_checker(Checker::sync(check))
    }

    /// [`Verifier::with_check`] for an asynchronous check.
    #[must_use]
    pub fn with_check_async(self, check: impl AsyncCheck) -> Self {
        self.with_checker(Checker::asynchronous(check))
    }

    pub(crate) fn with_checker(self, checker: Checker) -> Self {
        let checks: Vec<Checker> = self.checks.iter().cloned().chain([checker]).collect();
        Verifier {
            checks: checks.into(),
            ..self
        }
    }

    /// This verifier, asking `backend` whether a token is revoked instead of its own
    /// in-memory store (see [`crate::revocation`]). The clone shares the key and token caches.
    #[must_use]
    pub fn with_revocation_store(self, backend: impl RevocationBackend) -> Self {
        self.with_revocations(Revocations::external(backend))
    }

    pub(crate) fn with_revocations(self, revocations: Revocations) -> Self {
        Verifier { revocations, ..self }
    }

    /// Where this verifier's revocations are kept: revoke a session or a user's tokens
    /// through it (see [`crate::revocation`]). A verifier of a [`CognitoAuth`](crate::CognitoAuth) shares its
    /// store with every other pool's.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// The pool's name.
    pub fn pool(&self) -> &str {
        &self.inner.pool
    }

    /// What this pool's verified-token cache holds now (`token_cache:` in the settings).
    pub fn token_cache_stats(&self) -> TokenCacheStats {
        match &self.inner.token_cache {
            Some(cache) => {
                let (entries, bytes) = cache.size();
                TokenCacheStats {
                    enabled: true,
                    entries,
                    bytes,
                    hits: cache.hits(),
                }
            }
            None => TokenCacheStats::default(),
        }
    }

    /// The header the token is read from (`jwt_header_name`).
    pub fn header_name(&self) -> &str {
        &self.inner.header_name
    }

    /// The scheme expected before the token (`jwt_header_prefix`; empty = the raw token).
    pub fn header_prefix(&self) -> &str {
        &self.inner.sources.header_prefix
    }

    /// Where tokens are read from, in order (`token_sources`).
    pub fn token_sources(&self) -> &[TokenSource] {
        &self.inner.sources.order
    }

    /// Refetches this pool's keys now, whatever their age, backoff or cool-down, and serves
    /// exactly what the JWKS holds from then on: the number of keys.
    ///
    /// For an emergency key removal: a key deleted from the JWKS otherwise keeps verifying
    /// until the next background refresh (started by a request once the keys are older than
    /// `jwks.refresh_secs`), and a caller that only uses [`Verifier::verify_cached`] outside a
    /// Tokio runtime never refreshes. Once this returns `Ok`, a token signed by a
    /// removed key is `unknown_kid`, and no token it verified is served from the verified-token
    /// cache any more. If the fetch fails, the keys cached before keep serving (nothing is known
    /// to be removed) and the error says why. An inline key set is never fetched: `Ok` with
    /// its size.
    pub async fn refresh_keys(&self) -> Result<usize, AuthError> {
        let mut total = 0;
        for cache in self.key_caches() {
            total += cache.refresh_now().await?;
        }
        Ok(total)
    }

    /// Loads this pool's keys now (unless fresh ones are cached): the number of keys.
    /// The keys of the multi-Region issuer form may be missing (a pool without replication:
    /// Cognito answers 403 there), which fails no warm-up: that form's tokens are refused
    /// (`jwks_unavailable`) while the pool's own keep verifying.
    pub async fn prefetch(&self) -> Result<usize, AuthError> {
        let mut total = 0;
        for (i, cache) in self.key_caches().enumerate() {
            match cache.prefetch().await {
                Ok(keys) => total += keys,
                Err(_) if i > 0 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(total)
    }

    /// Serves the keys of `jwks` (a JWKS document) for this pool's own issuer as if just
    /// fetched, unless keys are loaded already (then `false`): for a process that knows the
    /// keys in advance (a file, bytes bundled at build time) and should start without a
    /// fetch, such as a Lambda function. Refreshes follow as for fetched keys: after
    /// `jwks.refresh_secs`, or at once for a token whose kid they lack; so seeded keys that
    /// the pool has since dropped are trusted until the first refresh at most.
    pub fn seed_keys(&self, jwks: &[u8]) -> Result<bool, ConfigError> {
        match self.key_caches().next() {
            Some(cache) => cache
                .seed(jwks)
                .map_err(|problem| ConfigError::invalid(Some(&self.inner.pool), "seed_keys", problem)),
            None => Ok(false),
        }
    }

    /// What this pool's key caches serve now (no I/O): the pool's part of
    /// [`CognitoAuth::health`](crate::CognitoAuth::health).
    pub fn health(&self) -> PoolHealth {
        PoolHealth {
            pool: self.inner.pool.clone(),
            // Every source after the first is the multi-Region issuer form's (see key_caches).
            sources: self
                .key_caches()
                .enumerate()
                .map(|(i, cache)| {
                    let mut health = cache.health();
                    health.optional = i > 0;
                    health
                })
                .collect(),
        }
    }

    /// This pool's key caches, each once: both AWS issuer forms may share one overridden URL,
    /// whose keys are then fetched and counted once. A second cache is only ever the
    /// multi-Region issuer form's.
    fn key_caches(&self) -> impl Iterator<Item = &Arc<JwksCache>> {
        let issuers = &self.inner.issuers;
        issuers
            .iter()
            .enumerate()
            .filter(|(i, (_, cache))| !issuers[..*i].iter().any(|(_, c)| Arc::ptr_eq(c, cache)))
            .map(|(_, (_, cache))| cache)
    }
}

/// Warns when `AWS_COGNITO_KEYS_URL` supplies the keys of pools that trust the AWS issuers
/// (no `issuer`, no `jwks_url`, no inline set): that URL then vouches for every one of them.
pub(super) fn warn_keys_url_override<'a>(pools: impl IntoIterator<Item = &'a UserPool>) {
    let Some(url) = crate::settings::keys_url_env() else {
        return;
    };
    let names: Vec<&str> = pools
        .into_iter()
        .filter(|p| p.issuer.is_none() && p.jwks_url.is_none() && p.jwks_inline.is_none())
        .map(|p| p.name.as_str())
        .collect();
    observe::keys_url_overrides(&names, &url);
}
