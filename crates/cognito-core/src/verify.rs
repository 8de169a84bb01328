//! Verification, in its order: 1. header, 2. parse, 3. header policy (`alg`, `kid`), 4. the
//! claims that need no key (issuer, token use, client, exp, nbf / iat), then 5. the key,
//! 6. the signature, and 7. the route's group / scope requirements; 8. `jwks_unavailable`
//! when no usable keys can be had. Everything before the key lookup is pure CPU, so junk
//! tokens cost no I/O and no RSA. The step numbers below are these.

use std::sync::Arc;
use std::time::SystemTime;

use serde::de::DeserializeOwned;

use crate::alb::AlbVerifier;
use crate::check::{self, AsyncCheck, Check, Checker};
use crate::error::{AuthError, ConfigError, ErrorKind, Rejection};
use crate::health::{Health, PoolHealth};
use crate::issuer::OidcRules;
use crate::jose::Algorithm;
use crate::jwks::{JwksCache, Loaded, Miss};
use crate::jws::JwsAlgorithm;
use crate::observe::{self, PoolObserver};
use crate::policy::{Policy, Require, Requirement};
use crate::resource::ProtectedResource;
use crate::revocation::{RevocationBackend, Revocations};
use crate::settings::{CognitoSettings, KeySource, TokenSource, TokenUse, UserPool};
use crate::source::{RequestView, Sources};
use crate::token::Facts;
use crate::token::{self, ClaimsView, Token};
use crate::token_cache::{Entry, TokenCache, TokenCacheStats};
use crate::verified::{Verified, misfit};

#[path = "explain/mod.rs"]
pub(crate) mod explain;
#[path = "verify_oidc.rs"]
mod oidc;
use explain::{Recorder, Step};

use crate::time::{Times, unix_now};

/// The outcome of loading one pool's keys (see [`CognitoAuth::prefetch`]).
#[derive(Debug)]
pub struct PoolStatus {
    /// The pool's name.
    pub pool: String,
    /// The number of keys loaded (summed over the pool's key sources), or why none could be.
    pub result: Result<usize, AuthError>,
}

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
pub struct Verifier(Arc<Inner>, Arc<[Checker]>, Revocations);

struct Inner {
    pool: String,
    /// Each trusted issuer with the cache of its keys.
    issuers: Vec<(String, Arc<JwksCache>)>,
    clients: Vec<String>,
    /// Accepted `aud` of access tokens; empty: not checked.
    audience: Vec<String>,
    token_use: TokenUse,
    check_expiration: bool,
    leeway: f64,
    algorithms: Vec<Algorithm>,
    /// Where tokens come from (step 1).
    sources: Sources,
    /// `jwt_header_name` as configured (lookups use the lowercase name in `sources`).
    header_name: String,
    /// This pool's verified tokens (`None`: switched off).
    token_cache: Option<TokenCache>,
    /// Its answers' events and metrics.
    observer: PoolObserver,
    /// The protected-resource metadata URL every 401 / 403 challenge names, when the settings
    /// have `resource:`.
    resource_metadata: Option<Arc<str>>,
    /// An OpenID Connect issuer's rules, which replace the pool's header and claims rules.
    oidc: Option<OidcRules>,
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

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("pool", &self.0.pool)
            .finish_non_exhaustive()
    }
}

/// What a verification asks beyond a valid token: a route's const requirements and, from a
/// policy's named requirement or the router-wide layer, an owned one (with its checks).
#[derive(Clone, Copy)]
pub(crate) struct Needs<'a> {
    require: Require<'a>,
    owned: Option<&'a Requirement>,
}

impl<'a> From<Require<'a>> for Needs<'a> {
    fn from(require: Require<'a>) -> Self {
        Needs { require, owned: None }
    }
}

impl<'a> From<&'a Requirement> for Needs<'a> {
    fn from(requirement: &'a Requirement) -> Self {
        Needs {
            require: Require::NONE,
            owned: Some(requirement),
        }
    }
}

impl Needs<'_> {
    /// Step 7: both requirements' principal, groups, scopes and sign-in.
    fn authorize<G: std::ops::Deref<Target = str>>(&self, facts: &Facts<'_, G>) -> Result<(), AuthError> {
        self.require.check(facts)?;
        match self.owned {
            Some(owned) => owned.authorize(facts),
            None => Ok(()),
        }
    }

    fn checks(&self) -> &[Checker] {
        self.owned.map(Requirement::checks).unwrap_or_default()
    }
}

/// How a verification hands back its answer: the caller's claims type, or a [`Verified`].
trait Answer: Sized {
    /// Whether the answer is made from a [`Verified`] even without custom checks.
    const NEEDS_VERIFIED: bool;
    /// From the decoded payload of a full verification (only if no `Verified` was made).
    fn from_payload(payload: &[u8]) -> Result<Self, AuthError>;
    /// From a token-cache hit (only if no `Verified` was made).
    fn from_hit(entry: &Entry) -> Result<Self, AuthError>;
    /// From the verified token, once the custom checks have passed.
    fn from_verified(verified: Verified) -> Result<Self, AuthError>;
}

/// The caller's claims type.
struct Claims<T>(T);

impl<T: DeserializeOwned> Answer for Claims<T> {
    const NEEDS_VERIFIED: bool = false;
    fn from_payload(payload: &[u8]) -> Result<Self, AuthError> {
        claims_as(payload).map(Claims)
    }
    fn from_hit(entry: &Entry) -> Result<Self, AuthError> {
        claims_of_hit(entry).map(Claims)
    }
    fn from_verified(verified: Verified) -> Result<Self, AuthError> {
        verified.deserialize().map(Claims)
    }
}

impl Answer for Verified {
    const NEEDS_VERIFIED: bool = true;
    // Never called (NEEDS_VERIFIED): a refusal rather than a panic if that ever changed.
    fn from_payload(_: &[u8]) -> Result<Self, AuthError> {
        Err(misfit())
    }
    fn from_hit(_: &Entry) -> Result<Self, AuthError> {
        Err(misfit())
    }
    fn from_verified(verified: Verified) -> Result<Self, AuthError> {
        Ok(verified)
    }
}

/// Where the keys come from: fetched if need be, or only the cached ones.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    MayFetch,
    CachedOnly,
}

/// What steps 2-4 found: enough to fetch the key and check the signature.
struct Prechecked<'t> {
    alg: JwsAlgorithm,
    kid: token::Str<'t>,
    /// The index of the token's issuer in `Inner::issuers`.
    issuer: usize,
    cache: &'t Arc<JwksCache>,
    claims: ClaimsView<'t>,
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
    fn from_pool(
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
        Ok(Verifier(
            Arc::new(Inner {
                pool: pool.name.clone(),
                issuers,
                clients: pool.app_client_id.clone(),
                audience,
                token_use,
                check_expiration: settings.check_expiration,
                leeway: settings.leeway_seconds as f64,
                algorithms: settings.algorithms.clone(),
                sources: Sources {
                    order: settings.token_sources.clone(),
                    header_name: settings.jwt_header_name.to_ascii_lowercase(),
                    header_prefix: settings.jwt_header_prefix.clone(),
                    max_token_bytes: settings.max_token_bytes,
                },
                header_name: settings.jwt_header_name.clone(),
                token_cache: TokenCache::new(&settings.token_cache),
                observer: PoolObserver::new(&pool.name),
                resource_metadata: resource.as_ref().map(ProtectedResource::metadata_url_shared),
                oidc: None,
            }),
            Arc::from([]),
            Revocations::in_memory(std::time::Duration::from_secs(settings.leeway_seconds)),
        ))
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

    fn with_checker(self, checker: Checker) -> Self {
        let checks: Vec<Checker> = self.1.iter().cloned().chain([checker]).collect();
        Verifier(self.0, checks.into(), self.2)
    }

    /// This verifier, asking `backend` whether a token is revoked instead of its own
    /// in-memory store (see [`crate::revocation`]). The clone shares the key and token caches.
    #[must_use]
    pub fn with_revocation_store(self, backend: impl RevocationBackend) -> Self {
        self.with_revocations(Revocations::external(backend))
    }

    fn with_revocations(self, revocations: Revocations) -> Self {
        Verifier(self.0, self.1, revocations)
    }

    /// Where this verifier's revocations are kept: revoke a session or a user's tokens
    /// through it (see [`crate::revocation`]). A verifier of a [`CognitoAuth`] shares its
    /// store with every other pool's.
    pub fn revocations(&self) -> &Revocations {
        &self.2
    }

    /// The pool's name.
    pub fn pool(&self) -> &str {
        &self.0.pool
    }

    /// What this pool's verified-token cache holds now (`token_cache:` in the settings).
    pub fn token_cache_stats(&self) -> TokenCacheStats {
        match &self.0.token_cache {
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
        &self.0.header_name
    }

    /// The scheme expected before the token (`jwt_header_prefix`; empty = the raw token).
    pub fn header_prefix(&self) -> &str {
        &self.0.sources.header_prefix
    }

    /// Where tokens are read from, in order (`token_sources`).
    pub fn token_sources(&self) -> &[TokenSource] {
        &self.0.sources.order
    }

    /// Required authentication of a request: its token from the configured sources (the
    /// header by default; see [`RequestView`]), then every verification step.
    pub async fn authenticate<T: DeserializeOwned>(
        &self,
        request: &(impl RequestView + ?Sized),
        require: Require<'_>,
    ) -> Result<T, AuthError> {
        let claims: Claims<T> = self.authenticate_needs(request, require.into()).await?;
        Ok(claims.0)
    }

    /// Required authentication under an owned [`Requirement`] (its groups, scopes and checks;
    /// its pool is this verifier's, whatever it names).
    pub async fn authenticate_for<T: DeserializeOwned>(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: &Requirement,
    ) -> Result<T, AuthError> {
        let claims: Claims<T> = self.authenticate_needs(request, requirement.into()).await?;
        Ok(claims.0)
    }

    /// Optional authentication under an owned [`Requirement`]: `Ok(None)` only when the
    /// request carries no token at all.
    pub async fn authenticate_optional_for<T: DeserializeOwned>(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: &Requirement,
    ) -> Result<Option<T>, AuthError> {
        let claims: Option<Claims<T>> = self.authenticate_optional_needs(request, requirement.into()).await?;
        Ok(claims.map(|c| c.0))
    }

    async fn authenticate_needs<A: Answer>(
        &self,
        request: &(impl RequestView + ?Sized),
        needs: Needs<'_>,
    ) -> Result<A, AuthError> {
        match self.0.sources.find(request) {
            Ok(token) => self.verify_core(&token, needs, Keys::MayFetch).await,
            Err(e) => self.answered(Err(e)),
        }
    }

    async fn authenticate_optional_needs<A: Answer>(
        &self,
        request: &(impl RequestView + ?Sized),
        needs: Needs<'_>,
    ) -> Result<Option<A>, AuthError> {
        match self.0.sources.find(request) {
            Ok(token) => self.verify_core(&token, needs, Keys::MayFetch).await.map(Some),
            // No token is no verification: an anonymous request is not counted.
            Err(e) if e.kind() == ErrorKind::MissingToken => Ok(None),
            Err(e) => self.answered(Err(e)),
        }
    }

    /// Optional authentication: `Ok(None)` when the request carries no token (header absent or
    /// empty, no token cookie, ...); a present but invalid token is the same error as for
    /// [`Verifier::authenticate`], never anonymous.
    pub async fn authenticate_optional<T: DeserializeOwned>(
        &self,
        request: &(impl RequestView + ?Sized),
        require: Require<'_>,
    ) -> Result<Option<T>, AuthError> {
        let claims: Option<Claims<T>> = self.authenticate_optional_needs(request, require.into()).await?;
        Ok(claims.map(|c| c.0))
    }

    /// Verifies a bare token (no header, no scheme).
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, AuthError> {
        self.verify_with(token, Require::NONE).await
    }

    /// Verifies a bare token and the route's requirements.
    pub async fn verify_with<T: DeserializeOwned>(&self, token: &str, require: Require<'_>) -> Result<T, AuthError> {
        let claims: Claims<T> = self.verify_core(token, require.into(), Keys::MayFetch).await?;
        Ok(claims.0)
    }

    /// Verifies a bare token under an owned [`Requirement`] (its pool is this verifier's).
    pub async fn verify_for<T: DeserializeOwned>(
        &self,
        token: &str,
        requirement: &Requirement,
    ) -> Result<T, AuthError> {
        let claims: Claims<T> = self.verify_core(token, requirement.into(), Keys::MayFetch).await?;
        Ok(claims.0)
    }

    /// Every step, in order, then the custom checks (the verifier's, then the route's).
    /// Counted and logged once (see `observe`), whatever path answers.
    async fn verify_core<A: Answer>(&self, token: &str, needs: Needs<'_>, keys: Keys) -> Result<A, AuthError> {
        let result = self.verify_unobserved(token, needs, keys).await;
        self.answered(result)
    }

    /// Counts and logs one answer (see `observe`), and gives it back.
    #[inline]
    fn answered<T>(&self, result: Result<T, AuthError>) -> Result<T, AuthError> {
        self.0.observer.answer(&self.0.pool, &result);
        result.map_err(|e| self.challenge(e))
    }

    /// A refusal as this verifier's challenge has it: with `resource:` configured, a 401 or
    /// 403 names the protected-resource metadata.
    fn challenge(&self, error: AuthError) -> AuthError {
        match &self.0.resource_metadata {
            Some(url) if matches!(error.status(), 401 | 403) && error.resource_metadata().is_none() => {
                error.with_resource_metadata(Arc::clone(url))
            }
            _ => error,
        }
    }

    /// The span of a verification that is not a token-cache hit (hits stay span-free).
    fn span(&self) -> tracing::Span {
        tracing::debug_span!("cognito_verify", pool = self.0.pool.as_str())
    }

    /// A token-cache hit, else the full path (timed, in the pool's span).
    async fn verify_unobserved<A: Answer>(&self, token: &str, needs: Needs<'_>, keys: Keys) -> Result<A, AuthError> {
        token::check_size(token, self.0.sources.max_token_bytes)?;
        let wants_verified = A::NEEDS_VERIFIED || !self.1.is_empty() || !needs.checks().is_empty();
        if let Some(hit) = self.cache_hit(token) {
            self.2.check(hit.ids()).await?;
            needs.authorize(&hit.facts())?;
            if !wants_verified {
                return A::from_hit(&hit);
            }
            let verified = self.verified_from_hit(token, &hit)?;
            return self.conclude(needs, verified).await;
        }
        let started = self.0.observer.start();
        let full = self.verify_full(token, needs, keys, wants_verified, ());
        let result = tracing::Instrument::instrument(full, self.span()).await;
        self.0.observer.timed(started);
        result
    }

    /// Every step past the token cache, in order, then the custom checks.
    async fn verify_full<A: Answer>(
        &self,
        token: &str,
        needs: Needs<'_>,
        keys: Keys,
        wants_verified: bool,
        mut rec: impl Recorder,
    ) -> Result<A, AuthError> {
        rec.enter(Step::Parse);
        let parsed = Token::decode(token)?;
        let checked = self.precheck(&parsed, &mut rec)?;
        rec.enter(Step::Key);
        rec.key_source(checked.cache);
        let loaded = match keys {
            Keys::MayFetch => checked.cache.lookup(&checked.kid).await?,
            Keys::CachedOnly => checked.cache.cached(&checked.kid).map_err(|miss| match miss {
                Miss::UnknownKid => AuthError::new(ErrorKind::UnknownKid),
                Miss::NoKeys => AuthError::new(ErrorKind::JwksUnavailable),
            })?,
        };
        self.finish(token, &parsed, &checked, &loaded, &mut rec)?;
        // The application's own refusals (revocation, the route's requirement) come last.
        rec.enter(Step::Requirement);
        self.2.check(checked.claims.ids()).await?;
        needs.authorize(&checked.claims.facts())?;
        if !wants_verified {
            return A::from_payload(parsed.payload());
        }
        let verified = self.verified(parsed.header_json(), parsed.payload())?;
        self.conclude(needs, verified).await
    }

    /// The custom checks, then the answer.
    async fn conclude<A: Answer>(&self, needs: Needs<'_>, verified: Verified) -> Result<A, AuthError> {
        check::run(self.1.iter().chain(needs.checks()), &verified).await?;
        A::from_verified(verified)
    }

    fn verified(&self, header: &[u8], payload: &[u8]) -> Result<Verified, AuthError> {
        let header = token::parse_json(header).map_err(|_| misfit())?;
        let claims = token::parse_json(payload).map_err(|_| misfit())?;
        Ok(Verified::new(&self.0.pool, header, claims))
    }

    /// A hit's [`Verified`]: the one the entry holds (shared, not copied), else parsed again.
    fn verified_from_hit(&self, token: &str, entry: &Entry) -> Result<Verified, AuthError> {
        if let Some(verified) = &entry.verified {
            return Ok(verified.clone());
        }
        let parsed = Token::decode(token)?;
        self.verified(parsed.header_json(), parsed.payload())
    }

    /// Like [`Verifier::verify_with`] but never waits for I/O: if the key is not cached, the
    /// answer is `unknown_kid` (keys cached, kid not among them) or `jwks_unavailable` (no
    /// usable keys; call [`Verifier::prefetch`] first). Called inside a Tokio runtime, it still
    /// starts the background refresh of keys older than `jwks.refresh_secs`, as the full path
    /// does; outside one, keys are never refreshed.
    ///
    /// The verifier's custom checks run too; an asynchronous one that does not answer at once
    /// (it would have to wait) makes the answer `rejected`.
    pub fn verify_cached<T: DeserializeOwned>(&self, token: &str, require: Require<'_>) -> Result<T, AuthError> {
        // Without fetching, the only thing that can wait is an asynchronous check.
        match check::poll_once(self.verify_core::<Claims<T>>(token, require.into(), Keys::CachedOnly)) {
            Some(answer) => answer.map(|c| c.0),
            None => Err(AuthError::rejected(
                "A check of this service cannot answer without waiting.",
            )),
        }
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

    /// What this pool's key caches serve now (no I/O): the pool's part of
    /// [`CognitoAuth::health`].
    pub fn health(&self) -> PoolHealth {
        PoolHealth {
            pool: self.0.pool.clone(),
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
        let issuers = &self.0.issuers;
        issuers
            .iter()
            .enumerate()
            .filter(|(i, (_, cache))| !issuers[..*i].iter().any(|(_, c)| Arc::ptr_eq(c, cache)))
            .map(|(_, (_, cache))| cache)
    }

    /// Steps 2-4: parse, header policy, and the claims that need no key.
    fn precheck<'t>(&'t self, parsed: &'t Token<'_>, rec: &mut impl Recorder) -> Result<Prechecked<'t>, AuthError> {
        if let Some(rules) = &self.0.oidc {
            return self.precheck_oidc(rules, parsed, rec);
        }
        let header = parsed.header()?;
        let claims = parsed.claims()?;
        rec.enter(Step::Algorithm);
        let alg = header
            .alg
            .as_deref()
            .and_then(Algorithm::from_jose)
            .filter(|a| self.0.algorithms.contains(a))
            .ok_or(ErrorKind::UnsupportedAlg)?;
        let alg = JwsAlgorithm::from_jose(alg.as_str()).ok_or(ErrorKind::UnsupportedAlg)?;
        let kid = header.kid.ok_or(ErrorKind::UnknownKid)?;
        let (issuer, cache) = self.check_claims(&claims, rec)?;
        Ok(Prechecked {
            alg,
            kid,
            issuer,
            cache,
            claims,
        })
    }

    /// Step 4, in order: issuer, token use, client, exp, nbf / iat.
    fn check_claims(&self, c: &ClaimsView<'_>, rec: &mut impl Recorder) -> Result<(usize, &Arc<JwksCache>), AuthError> {
        let inner = &*self.0;
        rec.enter(Step::Issuer);
        let iss = c.iss.as_deref().unwrap_or_default();
        let (index, (_, cache)) = inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, (issuer, _))| issuer == iss)
            .ok_or(ErrorKind::WrongIssuer)?;
        rec.issuer(index);
        rec.enter(Step::TokenUse);
        let token_use = c.token_use.as_deref().unwrap_or_default();
        if !inner.token_use.allows(token_use) {
            return Err(ErrorKind::WrongTokenUse.into());
        }
        rec.enter(Step::Client);
        let client = if token_use == "access" { &c.client_id } else { &c.aud };
        if !client
            .as_deref()
            .is_some_and(|id| inner.clients.iter().any(|c| c == id))
        {
            return Err(ErrorKind::WrongClient.into());
        }
        // An access token bound to a resource carries it as `aud` (ID tokens: `aud` is the client).
        if token_use == "access"
            && !inner.audience.is_empty()
            && !c
                .aud
                .as_deref()
                .is_some_and(|aud| inner.audience.iter().any(|a| a == aud))
        {
            return Err(AuthError::with_message(
                ErrorKind::WrongClient,
                "The token's audience is not accepted here.",
            ));
        }
        rec.enter(Step::Time);
        let times = Times {
            exp: c.exp,
            nbf: c.nbf,
            iat: c.iat,
        };
        times.check(unix_now(SystemTime::now())?, inner.leeway, inner.check_expiration)?;
        Ok((index, cache))
    }

    /// The cached verification of exactly this token, if it may still serve: the entry's key
    /// set is still the one its JWKS cache serves, and its time claims still hold now. Any
    /// doubt is a miss, and the full path then gives the precise answer.
    fn cache_hit(&self, token: &str) -> Option<Arc<Entry>> {
        let inner = &*self.0;
        let hit = inner.token_cache.as_ref()?.get(token, |entry| {
            // Never past exp (+ leeway), even with check_expiration: false (see `remember`).
            let times = Times {
                exp: Some(entry.exp),
                nbf: entry.nbf,
                iat: entry.iat,
            };
            let still_valid = unix_now(SystemTime::now()).and_then(|now| times.check(now, inner.leeway, true));
            if still_valid.is_err() {
                return false;
            }
            inner
                .issuers
                .get(entry.issuer)
                .is_some_and(|(_, jwks)| jwks.still_serves(entry.key_serial, entry.keys_loaded_at))
        });
        if hit.is_some() {
            inner.observer.cache_hit();
        }
        hit
    }

    /// Remembers a token whose signature just verified, from its second verification on (see
    /// `TokenCache::admit`). A token already past `exp + leeway`
    /// (accepted only because `check_expiration` is false) is not remembered: the cache never
    /// serves a token past its `exp`, so such a token is verified in full every time.
    fn remember(&self, token: &str, parsed: &Token<'_>, checked: &Prechecked<'_>, keys: &Loaded) {
        let Some(cache) = &self.0.token_cache else {
            return;
        };
        let c = &checked.claims;
        let Some(exp) = c.exp else {
            return;
        };
        let fresh = unix_now(SystemTime::now()).is_ok_and(|now| now < exp + self.0.leeway);
        if !fresh || !cache.admit(token) {
            return;
        }
        // Parsed once here, at the token's second verification, so an entry's size is known
        // when it is charged to the cache's byte bound.
        let verified = self.verified(parsed.header_json(), parsed.payload()).ok();
        cache.insert(Entry {
            token: token.into(),
            verified,
            groups: c.groups.iter().map(|g| Box::from(&**g)).collect(),
            scope: c.scope.as_deref().map(Box::from),
            sub: c.sub.as_deref().map(Box::from),
            session: c.origin_jti.as_deref().or(c.jti.as_deref()).map(Box::from),
            machine: c.is_machine(),
            auth_time: c.auth_time,
            acr: c.acr.as_deref().map(Box::from),
            exp,
            nbf: c.nbf,
            iat: c.iat,
            issuer: checked.issuer,
            key_serial: keys.serial,
            keys_loaded_at: keys.loaded_at(),
        });
    }

    /// Steps 5-6 once the keys are at hand; a verified token is remembered.
    fn finish(
        &self,
        token: &str,
        parsed: &Token<'_>,
        checked: &Prechecked<'_>,
        keys: &Loaded,
        rec: &mut impl Recorder,
    ) -> Result<(), AuthError> {
        let verified = if self.0.oidc.is_some() {
            let key = keys.keys.jose_key(&checked.kid, checked.alg)?;
            rec.enter(Step::Signature);
            key.verify(parsed.signing_input.as_bytes(), &parsed.signature()?)
        } else {
            let alg = checked.alg.rsa().ok_or(ErrorKind::UnsupportedAlg)?;
            let key = keys.keys.key(&checked.kid, alg)?;
            rec.enter(Step::Signature);
            key.verify_sig(parsed.signing_input.as_bytes(), &parsed.signature()?)
                .is_ok()
        };
        if !verified {
            return Err(ErrorKind::BadSignature.into());
        }
        self.remember(token, parsed, checked, keys);
        Ok(())
    }
}

/// The claims type for a cached verification, as at the end of the full path.
fn claims_of_hit<T: DeserializeOwned>(entry: &Entry) -> Result<T, AuthError> {
    // From the parsed Value when it fits; if it does not (or a Value cannot hold the claims),
    // from the text, so a hit answers exactly as the full path would even for claims types
    // that only deserialize from text (e.g. `serde_json::value::RawValue`).
    match entry.verified.as_ref().map(|v| T::deserialize(v.claims())) {
        Some(Ok(claims)) => Ok(claims),
        Some(Err(_)) | None => claims_as(&entry.payload()),
    }
}

/// The verified claims as the caller's type.
fn claims_as<T: DeserializeOwned>(payload: &[u8]) -> Result<T, AuthError> {
    token::parse_json(payload).map_err(|_| misfit())
}

/// Warns when `AWS_COGNITO_KEYS_URL` supplies the keys of pools that trust the AWS issuers
/// (no `issuer`, no `jwks_url`, no inline set): that URL then vouches for every one of them.
fn warn_keys_url_override<'a>(pools: impl IntoIterator<Item = &'a UserPool>) {
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
pub struct CognitoAuth(Arc<Pools>);

/// What a [`CognitoAuth`] holds, behind one `Arc`: frameworks clone the app state per request
/// (axum's `State`), so a clone is one count.
#[derive(Clone, Debug)]
struct Pools {
    /// The default pool: the first of the settings (there is always one).
    first: Verifier,
    /// The other pools, in settings order.
    rest: Vec<Verifier>,
    /// Requirements registered by name, for policies that name one.
    requirements: Vec<(String, Requirement)>,
    /// The load balancers' verifier, when `alb:` is configured.
    alb: Option<AlbVerifier>,
    /// The protected resource, when `resource:` is configured.
    resource: Option<ProtectedResource>,
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
        Ok(CognitoAuth(Arc::new(Pools {
            first,
            rest: verifiers.collect(),
            requirements: Vec::new(),
            alb,
            resource,
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
        CognitoAuth(Arc::new(pools))
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
    /// With `alb:` configured, the load balancers' key cache comes last, as the pool `alb`
    /// (ready unless its last key fetch failed and it holds no key: its keys are fetched per
    /// kid, when a token first names one).
    pub fn health(&self) -> Health {
        let alb = self.0.alb.as_ref().map(|alb| PoolHealth {
            pool: "alb".to_owned(),
            sources: vec![alb.health()],
        });
        Health {
            pools: self.pools().map(Verifier::health).chain(alb).collect(),
        }
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
        self.route::<P>().map(|_| ()).map_err(|problem| match problem {
            Unroutable::Pool(name) => ConfigError::invalid(
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
        self.for_requirement(requirement).map(|_| ()).map_err(|_| {
            ConfigError::invalid(
                requirement.pool(),
                "userpools",
                "a requirement names this pool, which is not configured",
            )
        })
    }

    /// [`Verifier::refresh_keys`] for every pool, reported per pool: after an emergency key
    /// removal, call it to stop trusting the removed key now rather than at the next refresh.
    pub async fn refresh_keys(&self) -> Vec<PoolStatus> {
        self.per_pool(Verifier::refresh_keys).await
    }

    /// The verifier and the needs of a route with policy `P`.
    fn route<P: Policy>(&self) -> Result<(&Verifier, Needs<'_>), Unroutable<'_>> {
        let owned = match P::REQUIREMENT {
            None => None,
            Some(name) => Some(self.requirement(name).ok_or(Unroutable::Requirement(name))?),
        };
        let pool = match (P::POOL, owned.and_then(Requirement::pool)) {
            (Some(a), Some(b)) if a != b => return Err(Unroutable::TwoPools(a, b)),
            (Some(name), _) => Some(name),
            (None, name) => name,
        };
        let verifier = match pool {
            None => self.default_pool(),
            Some(name) => self.pool(name).ok_or(Unroutable::Pool(name))?,
        };
        Ok((
            verifier,
            Needs {
                require: P::REQUIRE,
                owned,
            },
        ))
    }

    fn for_policy<P: Policy>(&self) -> Result<(&Verifier, Needs<'_>), Rejection> {
        self.route::<P>().map_err(|problem| {
            Rejection::Misconfigured(match problem {
                Unroutable::Pool(name) => format!("the route's policy names pool {name:?}, which is not configured"),
                Unroutable::Requirement(name) => {
                    format!("the route's policy names requirement {name:?}, which is not registered")
                }
                Unroutable::TwoPools(a, b) => format!("the route's policy names two pools, {a:?} and {b:?}"),
            })
        })
    }

    fn for_requirement(&self, requirement: &Requirement) -> Result<&Verifier, Rejection> {
        match requirement.pool() {
            None => Ok(self.default_pool()),
            Some(name) => self.pool(name).ok_or_else(|| {
                Rejection::Misconfigured(format!("a requirement names pool {name:?}, which is not configured"))
            }),
        }
    }

    /// Required authentication for a route with policy `P` (its pool and requirements): what
    /// every adapter's required extractor calls with its request.
    pub async fn authenticate<T: DeserializeOwned, P: Policy>(
        &self,
        request: &(impl RequestView + ?Sized),
    ) -> Result<T, Rejection> {
        let (verifier, needs) = self.for_policy::<P>()?;
        let claims: Claims<T> = verifier.authenticate_needs(request, needs).await?;
        Ok(claims.0)
    }

    /// Optional authentication for a route with policy `P`: `None` only when the request
    /// carries no token.
    pub async fn authenticate_optional<T: DeserializeOwned, P: Policy>(
        &self,
        request: &(impl RequestView + ?Sized),
    ) -> Result<Option<T>, Rejection> {
        let (verifier, needs) = self.for_policy::<P>()?;
        let claims: Option<Claims<T>> = verifier.authenticate_optional_needs(request, needs).await?;
        Ok(claims.map(|c| c.0))
    }

    /// Required authentication under an owned [`Requirement`] (its pool, groups, scopes and
    /// checks), as the router-wide layer and middleware call it: the [`Verified`] token they
    /// leave in the request for the extractors.
    pub async fn verify_request(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: &Requirement,
    ) -> Result<Verified, Rejection> {
        let verifier = self.for_requirement(requirement)?;
        Ok(verifier.authenticate_needs(request, requirement.into()).await?)
    }

    /// Optional authentication under an owned [`Requirement`]: `None` only when the request
    /// carries no token; a present but invalid token is refused as by
    /// [`CognitoAuth::verify_request`].
    pub async fn verify_request_optional(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: &Requirement,
    ) -> Result<Option<Verified>, Rejection> {
        let verifier = self.for_requirement(requirement)?;
        Ok(verifier
            .authenticate_optional_needs(request, requirement.into())
            .await?)
    }

    /// Required authentication under an owned [`Requirement`], as the caller's claims type.
    pub async fn authenticate_with<T: DeserializeOwned>(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: &Requirement,
    ) -> Result<T, Rejection> {
        let verifier = self.for_requirement(requirement)?;
        Ok(verifier.authenticate_for(request, requirement).await?)
    }

    /// Optional authentication under an owned [`Requirement`], as the caller's claims type.
    pub async fn authenticate_optional_with<T: DeserializeOwned>(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: &Requirement,
    ) -> Result<Option<T>, Rejection> {
        let verifier = self.for_requirement(requirement)?;
        Ok(verifier.authenticate_optional_for(request, requirement).await?)
    }

    /// What an extractor with policy `P` answers from a token the router-wide layer already
    /// verified, with no second verification: `None` if `P` uses another pool than the one
    /// that verified it (the extractor then verifies the header itself). `P`'s groups and
    /// scopes, and the checks of its named requirement, are checked on the verified claims;
    /// the verifier's own checks already ran.
    pub async fn reuse<T: DeserializeOwned, P: Policy>(&self, verified: &Verified) -> Option<Result<T, Rejection>> {
        let (verifier, needs) = match self.for_policy::<P>() {
            Ok(route) => route,
            Err(e) => return Some(Err(e)),
        };
        if verifier.pool() != verified.pool() {
            return None;
        }
        let answer = async {
            let groups = verified.groups();
            needs.authorize(&verified.facts(&groups))?;
            check::run(needs.checks().iter(), verified).await?;
            verified.deserialize::<T>()
        };
        Some(answer.await.map_err(|e| Rejection::from(verifier.challenge(e))))
    }
}

/// Why a policy cannot be served.
enum Unroutable<'a> {
    Pool(&'a str),
    Requirement(&'static str),
    TwoPools(&'a str, &'a str),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

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
