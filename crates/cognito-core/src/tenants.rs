//! Tenants: a user pool per tenant, found at run time from the token's issuer.
//!
//! A SaaS with a pool per tenant creates pools as tenants sign up, so they are not in the
//! settings at start. A route that serves every tenant names the pool [`ANY_TENANT`]
//! (`Requirement::any_tenant()`, YAML `pool: "*"`); its token's `iss`, read before any key is
//! fetched, picks the tenant, whose verifier is built on first use and kept (at most
//! `tenants.max` of them, the least recently used out first).
//!
//! Where tenants come from:
//! - `tenants.file`: a map from tenant name to pool, as under `userpools` (YAML, or JSON for a
//!   `.json` name), read at start (a bad file fails the start) and read again when an issuer
//!   that no tenant has arrives;
//! - or, in code, any asynchronous [`TenantResolver`] from an issuer to a pool
//!   (`CognitoAuth::with_tenant_resolver`).
//!
//! An issuer that no tenant has is `wrong_issuer`. Looking for it (a re-read of the file or a
//! resolver call) happens at most once per second per process, one at a time, a resolver call
//! bounded by `jwks.timeout_ms` (on the Tokio runtime's timer, as every key fetch is): a flood of random issuers costs at most one lookup a second and never a
//! key fetch, and a slow resolver holds up only the requests with an unknown issuer, for at
//! most that deadline (they are then answered `jwks_unavailable`, 503 with `Retry-After`).
//!
//! Each tenant is a pool like the configured ones: its answers are counted as
//! `pool="<tenant name>"`, and each live tenant is in `CognitoAuth::health` with sources that
//! do not gate readiness (a tenant's keys are fetched on its first request, and one tenant's
//! outage is not the service's). Answers to unknown issuers are counted as `pool="tenants"`.
//! Label values thus grow with the tenants that exist, never with what clients send.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::check::Checker;
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::observe::PoolObserver;
use crate::revocation::Revocations;
use crate::settings::{CognitoSettings, TenantSettings, UserPool};
use crate::token::Token;
use crate::verify::Verifier;

/// The pool name of a route that serves every tenant: the token's issuer picks the pool.
pub const ANY_TENANT: &str = "*";

/// How often, at most, an unknown issuer makes the tenants be looked up again.
const LOOKUP_INTERVAL: Duration = Duration::from_secs(1);

/// The metrics label of answers that no tenant gave (an issuer no tenant has).
const UNKNOWN_TENANT_LABEL: &str = "tenants";

/// The future a [`TenantResolver`] answers with.
pub type TenantFuture = std::pin::Pin<Box<dyn Future<Output = Result<Option<UserPool>, String>> + Send>>;

/// Finds the pool of an issuer that no live tenant has: `Ok(Some(pool))` (its `name` is the
/// tenant's), `Ok(None)` for no tenant, `Err(why)` when it cannot tell now. Implemented by
/// every `Fn(String) -> impl Future<Output = Result<Option<UserPool>, E>>`.
///
/// It is called at most once per second per process, one call at a time, within
/// `jwks.timeout_ms`; the pool it answers is validated like a configured one and must trust
/// the issuer asked about.
///
/// ```
/// use cognito_core::{CognitoAuth, CognitoSettings, settings::UserPool};
/// # let settings = CognitoSettings::from_yaml_str(
/// #     "userpools: {main: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}}")?;
/// let auth = CognitoAuth::new(&settings)?.with_tenant_resolver(|issuer: String| async move {
///     // Look the issuer up in your tenants table; here, one pool id per tenant.
///     let pool_id = issuer.rsplit('/').next().unwrap_or_default().to_owned();
///     Ok::<_, std::convert::Infallible>(match pool_id.as_str() {
///         "eu-west-1_Acme" => Some(UserPool::new("acme", "eu-west-1", pool_id, ["acme-app"])),
///         _ => None,
///     })
/// });
/// # let _ = auth; Ok::<(), cognito_core::ConfigError>(())
/// ```
pub trait TenantResolver: Send + Sync + 'static {
    /// The tenant whose pool issues `issuer`'s tokens.
    fn resolve(&self, issuer: String) -> TenantFuture;
}

impl<F, Fut, E> TenantResolver for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<UserPool>, E>> + Send + 'static,
    E: std::fmt::Display,
{
    fn resolve(&self, issuer: String) -> TenantFuture {
        let answer = self(issuer);
        Box::pin(async move { answer.await.map_err(|e| e.to_string()) })
    }
}

/// Where tenants are found.
enum Finder {
    /// The file, and the issuers of its last good read.
    File {
        path: PathBuf,
        table: RwLock<Arc<Table>>,
    },
    Resolver(Arc<dyn TenantResolver>),
}

/// Each issuer of the tenants file, with its tenant's pool.
type Table = HashMap<String, Arc<UserPool>>;

/// A tenant whose verifier is kept.
struct LiveTenant {
    verifier: Verifier,
    /// The pool it was built from: a re-read file that changes it replaces the verifier.
    pool: UserPool,
    issuers: Vec<String>,
    /// The tick of its last use, for least-recently-used eviction.
    used: AtomicU64,
}

/// The live tenants, by issuer (a pool trusts both AWS issuer forms) and by name.
#[derive(Default)]
struct Live {
    by_issuer: HashMap<String, Arc<LiveTenant>>,
    by_name: HashMap<String, Arc<LiveTenant>>,
}

/// The tenants of a `CognitoAuth`.
pub(crate) struct Tenants {
    /// Every setting but the pools: what a tenant's verifier is built with.
    base: CognitoSettings,
    client: Option<reqwest::Client>,
    finder: Arc<Finder>,
    max: usize,
    live: RwLock<Live>,
    tick: AtomicU64,
    /// One lookup at a time, and when the last one started.
    lookup: tokio::sync::Mutex<Option<Instant>>,
    checks: Vec<Checker>,
    revocations: Revocations,
    /// Counts the answers to issuers no tenant has.
    observer: PoolObserver,
    /// The names of the configured pools and issuers, which no tenant may take.
    reserved: Vec<String>,
}

impl std::fmt::Debug for Tenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.live.read().map(|l| l.by_name.len()).unwrap_or_default();
        f.debug_struct("Tenants")
            .field("max", &self.max)
            .field("live", &live)
            .finish_non_exhaustive()
    }
}

impl Tenants {
    /// The tenants of `settings` (`None` without `tenants:`); its file is read now.
    pub(crate) fn from_settings(
        settings: &CognitoSettings,
        client: Option<&reqwest::Client>,
        revocations: Revocations,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(tenants) = &settings.tenants else {
            return Ok(None);
        };
        let finder = match &tenants.file {
            Some(path) => {
                let table = read_table(path, settings, &reserved_names(settings))?;
                Finder::File {
                    path: path.clone(),
                    table: RwLock::new(Arc::new(table)),
                }
            }
            // No file: a resolver set in code serves them; until one is, no tenant exists.
            None => Finder::Resolver(Arc::new(|_: String| async { Ok::<_, String>(None) })),
        };
        Ok(Some(Self::new(
            settings,
            client,
            Arc::new(finder),
            tenants.max,
            revocations,
        )))
    }

    /// Tenants found by `resolver`, with `settings`' `tenants.max` (or its default).
    pub(crate) fn with_resolver(
        settings: &CognitoSettings,
        client: Option<&reqwest::Client>,
        resolver: Arc<dyn TenantResolver>,
        revocations: Revocations,
    ) -> Self {
        let max = settings
            .tenants
            .as_ref()
            .map_or(TenantSettings::default().max, |t| t.max);
        Self::new(settings, client, Arc::new(Finder::Resolver(resolver)), max, revocations)
    }

    fn new(
        settings: &CognitoSettings,
        client: Option<&reqwest::Client>,
        finder: Arc<Finder>,
        max: usize,
        revocations: Revocations,
    ) -> Self {
        Self {
            base: base_settings(settings),
            client: client.cloned(),
            finder,
            max,
            live: RwLock::new(Live::default()),
            tick: AtomicU64::new(0),
            lookup: tokio::sync::Mutex::new(None),
            checks: Vec::new(),
            revocations,
            observer: PoolObserver::new(UNKNOWN_TENANT_LABEL),
            reserved: reserved_names(settings),
        }
    }

    /// The same tenants with this check on every tenant's verifier as well (their verifiers
    /// are built again, on their next request).
    pub(crate) fn with_checker(&self, checker: Checker) -> Self {
        let mut tenants = self.rebuilt(self.revocations.clone());
        tenants.checks.push(checker);
        tenants
    }

    /// The same tenants with this revocation store.
    pub(crate) fn with_revocations(&self, revocations: Revocations) -> Self {
        self.rebuilt(revocations)
    }

    fn rebuilt(&self, revocations: Revocations) -> Self {
        let mut tenants = Self::new(
            &self.base,
            self.client.as_ref(),
            Arc::clone(&self.finder),
            self.max,
            revocations,
        );
        tenants.checks = self.checks.clone();
        tenants.reserved = self.reserved.clone();
        tenants
    }

    /// The verifier of the tenant that issued `token` (its `iss`, read without a key).
    pub(crate) async fn verifier_for_token(&self, token: &str) -> Result<Verifier, AuthError> {
        let answer = match issuer_of(token, self.base.max_token_bytes) {
            Ok(issuer) => self.verifier_for(&issuer).await,
            Err(e) => Err(e),
        };
        // A tenant's verifier counts its own answers; these are the refusals before one.
        if answer.is_err() {
            self.observer.answer(UNKNOWN_TENANT_LABEL, &answer);
        }
        answer
    }

    /// The verifier of the tenant whose pool trusts `issuer` (of a token verified already).
    pub(crate) async fn verifier_for_issuer(&self, issuer: &str) -> Result<Verifier, AuthError> {
        let answer = self.verifier_for(issuer).await;
        if answer.is_err() {
            self.observer.answer(UNKNOWN_TENANT_LABEL, &answer);
        }
        answer
    }

    /// The verifier of the tenant whose pool trusts `issuer`.
    async fn verifier_for(&self, issuer: &str) -> Result<Verifier, AuthError> {
        if let Some(verifier) = self.live(issuer) {
            return Ok(verifier);
        }
        if let Some(pool) = self.in_table(issuer) {
            return self.admit(&pool);
        }
        // Unknown: look again, at most once a second and one lookup at a time.
        let mut last = self.lookup.lock().await;
        if let Some(verifier) = self.live(issuer) {
            return Ok(verifier);
        }
        if let Some(pool) = self.in_table(issuer) {
            return self.admit(&pool);
        }
        if last.is_some_and(|at| at.elapsed() < LOOKUP_INTERVAL) {
            return Err(unknown_issuer());
        }
        *last = Some(Instant::now());
        let deadline = Duration::from_millis(self.base.jwks.timeout_ms);
        match &*self.finder {
            Finder::File { path, table } => {
                // A small local file, read at most once a second: read in place.
                match read_table(path, &self.base, &self.reserved) {
                    Ok(fresh) => {
                        let fresh = Arc::new(fresh);
                        if let Ok(mut table) = table.write() {
                            *table = Arc::clone(&fresh);
                        }
                        // Tenants gone from the file, or changed in it, are dropped (a changed one
                        // is built again on its next request).
                        self.retain(|tenant| fresh.values().any(|p| **p == *tenant));
                    }
                    Err(e) => tracing::warn!("tenants file not re-read, the last good one serves: {e}"),
                }
                match self.in_table(issuer) {
                    Some(pool) => self.admit(&pool),
                    None => Err(unknown_issuer()),
                }
            }
            Finder::Resolver(resolver) => {
                match tokio::time::timeout(deadline, resolver.resolve(issuer.to_owned())).await {
                    Ok(Ok(Some(pool))) if self.reserved.contains(&pool.name) => {
                        tracing::warn!(
                            tenant = pool.name.as_str(),
                            "the tenant resolver answered a pool named as a pool or issuer of the settings"
                        );
                        Err(lookup_failed())
                    }
                    Ok(Ok(Some(pool))) => {
                        let pool = Arc::new(pool);
                        match issuers_of(&pool, &self.base) {
                            Ok(issuers) if issuers.iter().any(|i| i == issuer) => self.admit(&pool),
                            Ok(_) => {
                                tracing::warn!(
                                    tenant = pool.name.as_str(),
                                    "the tenant resolver answered a pool that does not trust the issuer asked about"
                                );
                                Err(unknown_issuer())
                            }
                            Err(e) => {
                                tracing::warn!(
                                    tenant = pool.name.as_str(),
                                    "the tenant resolver answered an invalid pool: {e}"
                                );
                                Err(lookup_failed())
                            }
                        }
                    }
                    Ok(Ok(None)) => Err(unknown_issuer()),
                    Ok(Err(why)) => {
                        tracing::warn!("the tenant resolver failed: {why}");
                        Err(lookup_failed())
                    }
                    Err(_) => {
                        tracing::warn!("the tenant resolver did not answer within jwks.timeout_ms");
                        Err(lookup_failed())
                    }
                }
            }
        }
    }

    /// A live tenant's verifier, marked as used now.
    fn live(&self, issuer: &str) -> Option<Verifier> {
        let live = self.live.read().ok()?;
        let tenant = live.by_issuer.get(issuer)?;
        tenant
            .used
            .store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(tenant.verifier.clone())
    }

    fn in_table(&self, issuer: &str) -> Option<Arc<UserPool>> {
        match &*self.finder {
            Finder::File { table, .. } => table.read().ok()?.get(issuer).cloned(),
            Finder::Resolver(_) => None,
        }
    }

    /// Builds `pool`'s verifier and keeps it, evicting the least recently used tenant when
    /// `max` are live.
    fn admit(&self, pool: &UserPool) -> Result<Verifier, AuthError> {
        let (verifier, issuers) = self.build(pool).map_err(|e| {
            tracing::warn!(tenant = pool.name.as_str(), "tenant not served: {e}");
            lookup_failed()
        })?;
        let mut live = self.live.write().map_err(|_| lookup_failed())?;
        if let Some(tenant) = live.by_name.get(&pool.name) {
            // Another request admitted it meanwhile (or a re-read file changed it).
            if tenant.pool == *pool {
                return Ok(tenant.verifier.clone());
            }
            let name = pool.name.clone();
            remove(&mut live, &name);
        }
        if live.by_name.len() >= self.max
            && let Some(oldest) = live
                .by_name
                .values()
                .min_by_key(|t| t.used.load(Ordering::Relaxed))
                .map(|t| t.verifier.pool().to_owned())
        {
            remove(&mut live, &oldest);
        }
        let tenant = Arc::new(LiveTenant {
            verifier: verifier.clone(),
            pool: pool.clone(),
            issuers,
            used: AtomicU64::new(self.tick.fetch_add(1, Ordering::Relaxed)),
        });
        for issuer in &tenant.issuers {
            live.by_issuer.insert(issuer.clone(), Arc::clone(&tenant));
        }
        live.by_name.insert(pool.name.clone(), tenant);
        Ok(verifier)
    }

    fn build(&self, pool: &UserPool) -> Result<(Verifier, Vec<String>), ConfigError> {
        let settings = CognitoSettings {
            userpools: vec![pool.clone()],
            ..self.base.clone()
        };
        let resolved = settings.resolve()?;
        let (pool, sources) = resolved.first().ok_or_else(ConfigError::no_pools)?;
        let issuers = sources.iter().map(|(issuer, _)| issuer.clone()).collect();
        let mut verifier = Verifier::from_pool(&settings, pool, sources, self.client.as_ref())?
            .with_revocations(self.revocations.clone());
        for check in &self.checks {
            verifier = verifier.with_checker(check.clone());
        }
        Ok((verifier, issuers))
    }

    /// Keeps only the live tenants whose pool `keep` accepts.
    fn retain(&self, keep: impl Fn(&UserPool) -> bool) {
        if let Ok(mut live) = self.live.write() {
            let gone: Vec<String> = live
                .by_name
                .values()
                .filter(|t| !keep(&t.pool))
                .map(|t| t.pool.name.clone())
                .collect();
            for name in gone {
                remove(&mut live, &name);
            }
        }
    }

    /// The live tenants' verifiers, by name (for health).
    pub(crate) fn verifiers(&self) -> Vec<Verifier> {
        let Ok(live) = self.live.read() else {
            return Vec::new();
        };
        let mut verifiers: Vec<Verifier> = live.by_name.values().map(|t| t.verifier.clone()).collect();
        verifiers.sort_by(|a, b| a.pool().cmp(b.pool()));
        verifiers
    }
}

fn remove(live: &mut Live, name: &str) {
    if let Some(tenant) = live.by_name.remove(name) {
        for issuer in &tenant.issuers {
            live.by_issuer.remove(issuer);
        }
    }
}

/// The settings a tenant's verifier is built with: every setting of the service but its own
/// pools, load balancer, protected resource and tenants.
fn base_settings(settings: &CognitoSettings) -> CognitoSettings {
    CognitoSettings {
        userpools: Vec::new(),
        issuers: Vec::new(),
        alb: None,
        resource: None,
        tenants: None,
        ..settings.clone()
    }
}

/// The names a tenant may not have: the configured pools' and issuers' (a name picks one
/// verifier, and labels its metrics).
fn reserved_names(settings: &CognitoSettings) -> Vec<String> {
    let pools = settings.userpools.iter().map(|p| p.name.clone());
    pools.chain(settings.issuers.iter().map(|i| i.name.clone())).collect()
}

/// The issuers `pool` trusts, validated as a configured pool's are.
fn issuers_of(pool: &UserPool, base: &CognitoSettings) -> Result<Vec<String>, ConfigError> {
    let settings = CognitoSettings {
        userpools: vec![pool.clone()],
        ..base_settings(base)
    };
    let resolved = settings.resolve()?;
    Ok(resolved
        .first()
        .map(|(_, sources)| sources.iter().map(|(issuer, _)| issuer.clone()).collect())
        .unwrap_or_default())
}

/// Reads and validates the tenants file: each of its pools' issuers, with the pool.
fn read_table(path: &Path, settings: &CognitoSettings, reserved: &[String]) -> Result<Table, ConfigError> {
    #[derive(Deserialize)]
    struct File(#[serde(with = "crate::settings::pools")] Vec<UserPool>);

    let field = "tenants.file";
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::invalid(None, field, format!("cannot read {}: {e}", path.display())))?;
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        serde_json::from_str::<File>(&text).map_err(|e| e.to_string())
    } else {
        serde_yaml::from_str::<File>(&text).map_err(|e| e.to_string())
    };
    let pools = parsed
        .map_err(|e| ConfigError::invalid(None, field, format!("{}: {e}", path.display())))?
        .0;
    let mut table = Table::new();
    for pool in pools {
        if reserved.contains(&pool.name) {
            return Err(ConfigError::invalid(
                Some(&pool.name),
                field,
                "a tenant has the name of a pool or issuer of the settings",
            ));
        }
        let pool = Arc::new(pool);
        for issuer in issuers_of(&pool, settings)? {
            if let Some(other) = table.get(&issuer) {
                return Err(ConfigError::invalid(
                    Some(&pool.name),
                    field,
                    format!("its issuer is also tenant {:?}'s", other.name),
                ));
            }
            table.insert(issuer, Arc::clone(&pool));
        }
    }
    Ok(table)
}

/// The `iss` of a token, read without verifying anything: it only picks whose keys verify it.
fn issuer_of(token: &str, max_bytes: usize) -> Result<String, AuthError> {
    crate::token::check_size(token, max_bytes)?;
    let parsed = Token::decode(token)?;
    let claims = parsed.claims()?;
    match claims.iss.as_deref() {
        Some(issuer) => Ok(issuer.to_owned()),
        None => Err(unknown_issuer()),
    }
}

fn unknown_issuer() -> AuthError {
    AuthError::new(ErrorKind::WrongIssuer)
}

fn lookup_failed() -> AuthError {
    AuthError::unavailable(LOOKUP_INTERVAL, Some("the tenant lookup failed".to_owned()))
}
