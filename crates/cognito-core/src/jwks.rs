//! JWKS: parsing a key set into verified-once RSA keys, fetching it (one total deadline, a
//! body cap, same-origin redirects only), and the one cache per URL that every pool and
//! verifier using that URL shares: single flight, background refresh, stale keys served while
//! refreshes fail (up to `max_stale_secs`), backoff from 1 s doubling to 60 s after a failed
//! fetch, and a cool-down after a refetch for an unknown `kid`.
//!
//! Hot-path reads clone an `Arc` under a read lock that is only ever write-locked for the
//! pointer swap after a fetch; the fetch itself runs under a separate async mutex (single
//! flight), so verifications never wait for the network when usable keys are cached.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use reqwest::Url;
use serde_json::Value;

use crate::error::{AuthError, ErrorKind};
use crate::health::SourceHealth;
use crate::jose::{Algorithm, jwk_set_keys};
use crate::jws::{JoseKeys, JwsAlgorithm, VerifyingKey};
use crate::key_report::{KeyReport, inspect_jwks};
use crate::observe::SourceObserver;
use crate::settings::{JwksSettings, KeySource};

#[path = "jwks_discovery.rs"]
mod discovery;

const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `now + wait`, saturating far in the future instead of overflowing: settings bound every
/// wait at load, so this only guards against what the bounds did not foresee.
pub(crate) fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

/// The wait before the next attempt after `failures` consecutive failed fetches: 1 s,
/// doubling, at most 60 s. (The ALB key cache backs off by the same rule.)
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.clamp(1, 7).saturating_sub(1)).min(MAX_BACKOFF)
}

/// JWKs in the wild sometimes pad their base64url; accept both forms for key material.
const LENIENT_B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn params(alg: Algorithm) -> &'static RsaParameters {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
    }
}

/// One JWK as the key checks judged it when the set was loaded (see `judge`).
enum KeyEntry {
    /// An RSA signing key; the parsed key for each algorithm it may be used with.
    Rsa {
        alg: Option<Algorithm>,
        parsed: Vec<(Algorithm, ParsedPublicKey)>,
    },
    /// Present under this kid but unusable, and why (for the operator).
    Unusable(&'static str),
}

/// A parsed JWKS: kid -> key.
pub(crate) struct KeySet {
    keys: HashMap<String, KeyEntry>,
    /// The same keys for an OpenID Connect issuer's algorithms (RS*, ES*, EdDSA).
    jose: JoseKeys,
    /// Each key as the rules judged it, in document order (for explanations).
    report: Vec<KeyReport>,
}

impl KeySet {
    /// Parses a JWKS document. Only the document's shape can fail here; a bad individual key
    /// is kept as unusable so a token naming it gets `invalid_jwk`, not `unknown_kid`.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("the JWKS is not JSON ({e})"))?;
        Self::parse_value(&doc)
    }

    pub(crate) fn parse_value(doc: &Value) -> Result<Self, String> {
        let keys = jwk_set_keys(doc)?;
        let mut set = HashMap::with_capacity(keys.len());
        for jwk in keys {
            let Some(kid) = jwk.get("kid").and_then(Value::as_str) else {
                continue; // a key without a kid can never be selected
            };
            match set.entry(kid.to_owned()) {
                Entry::Occupied(mut e) => {
                    e.insert(KeyEntry::Unusable("its kid appears more than once in the JWKS"));
                }
                Entry::Vacant(e) => {
                    e.insert(judge(jwk).unwrap_or_else(KeyEntry::Unusable));
                }
            }
        }
        Ok(KeySet {
            keys: set,
            jose: JoseKeys::parse(doc),
            report: inspect_jwks(doc)?,
        })
    }

    /// Each key of the set as the rules judged it, in document order.
    pub(crate) fn report(&self) -> &[KeyReport] {
        &self.report
    }

    /// How many kids the set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The kids of `self` that `other` lacks, sorted.
    fn kids_missing_from<'a>(&'a self, other: &KeySet) -> Vec<&'a str> {
        let mut kids: Vec<&str> = self
            .keys
            .keys()
            .filter(|kid| !other.contains(kid))
            .map(String::as_str)
            .collect();
        kids.sort_unstable();
        kids
    }

    /// The key step: the key's fitness for this token (its `alg`), for a key known to be in
    /// the set: its parsed key, or `invalid_jwk` (`unknown_kid` if it is not there).
    pub(crate) fn key(&self, kid: &str, alg: Algorithm) -> Result<&ParsedPublicKey, AuthError> {
        let (jwk_alg, parsed) = match self.keys.get(kid) {
            Some(KeyEntry::Rsa { alg, parsed }) => (alg, parsed),
            Some(KeyEntry::Unusable(why)) => return Err(AuthError::new(ErrorKind::InvalidJwk).with_detail(*why)),
            None => return Err(ErrorKind::UnknownKid.into()),
        };
        if jwk_alg.is_some_and(|a| a != alg) {
            return Err(AuthError::with_message(
                ErrorKind::InvalidJwk,
                "The user pool's key for this token is meant for another algorithm.",
            )
            .with_detail("the JWK's alg differs from the token's"));
        }
        parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k)
            .ok_or_else(|| ErrorKind::InvalidJwk.into())
    }

    /// The key step of an OpenID Connect issuer's token (see [`JoseKeys::key`]).
    pub(crate) fn jose_key(&self, kid: &str, alg: JwsAlgorithm) -> Result<&VerifyingKey, AuthError> {
        self.jose.key(kid, alg)
    }
}

/// The JWK rules of [`judge`], for a report: `Ok` for a usable key, else why it is not.
pub(crate) fn judge_jwk(jwk: &Value) -> Result<(), &'static str> {
    judge(jwk).map(|_| ())
}

/// The size in bits of a JWK's RSA modulus `n`, if it has a readable one.
pub(crate) fn modulus_bits(jwk: &Value) -> Option<usize> {
    let text = jwk.get("n").and_then(Value::as_str)?;
    let n = LENIENT_B64URL.decode(text).ok()?;
    Some(bits_of(&n))
}

/// The bit length of a big-endian unsigned integer (leading zero bytes allowed).
fn bits_of(n: &[u8]) -> usize {
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    n.first()
        .map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// The JWK checks, done once per key at load time: `kty` is `RSA`, `use` absent or `sig`,
/// `alg` absent or an RS* algorithm, `n` and `e` base64url, a modulus of 2048 to 8192 bits, a
/// valid RSA public key. (A kid repeated in the set is judged unusable by the caller.)
fn judge(jwk: &Value) -> Result<KeyEntry, &'static str> {
    let field = |name: &str| jwk.get(name);
    if field("kty").and_then(Value::as_str) != Some("RSA") {
        return Err("it is not an RSA key");
    }
    match field("use") {
        None => {}
        Some(u) if u.as_str() == Some("sig") => {}
        Some(_) => return Err("its use is not sig"),
    }
    let alg = match field("alg") {
        None => None,
        Some(a) => Some(
            a.as_str()
                .and_then(Algorithm::from_jose)
                .ok_or("its alg is not an RS* algorithm")?,
        ),
    };
    let component = |name: &str| -> Result<Vec<u8>, &'static str> {
        let text = field(name).and_then(Value::as_str).ok_or("it lacks n or e")?;
        let mut bytes = LENIENT_B64URL.decode(text).map_err(|_| "its n or e is not base64url")?;
        let zeros = bytes.iter().take_while(|b| **b == 0).count();
        bytes.drain(..zeros);
        Ok(bytes)
    };
    let (n, e) = (component("n")?, component("e")?);
    let bits = bits_of(&n);
    if bits < MIN_RSA_BITS {
        return Err("its modulus is shorter than 2048 bits");
    }
    if bits > MAX_RSA_BITS {
        return Err("its modulus is longer than 8192 bits");
    }
    let components = RsaPublicKeyComponents { n: &n[..], e: &e[..] };
    let algs = match alg {
        Some(a) => vec![a],
        None => vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
    };
    let parsed = algs
        .into_iter()
        .map(|a| {
            Ok((
                a,
                components
                    .to_parsed_public_key(params(a))
                    .map_err(|_| "it is not a valid RSA public key")?,
            ))
        })
        .collect::<Result<Vec<_>, &'static str>>()?;
    Ok(KeyEntry::Rsa { alg, parsed })
}

/// A key set and when it was fetched.
pub(crate) struct Loaded {
    pub(crate) keys: KeySet,
    at: Instant,
    /// Unique in the process: names this key set (the verified-token cache ties entries to it).
    pub(crate) serial: u64,
}

/// The next key-set serial; 0 means "no key set".
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

impl Loaded {
    fn new(keys: KeySet) -> Self {
        Self {
            keys,
            at: Instant::now(),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// When the set was loaded.
    pub(crate) fn loaded_at(&self) -> Instant {
        self.at
    }
}

/// Where a cache gets its bytes.
enum Fetcher {
    Http {
        client: reqwest::Client,
        url: Url,
    },
    File(PathBuf),
    /// OpenID Connect discovery: the document at `url`, which must name `issuer`, then the
    /// keys at its `jwks_uri`, both within one fetch's deadline and each within the body cap.
    Discovery {
        client: reqwest::Client,
        url: Url,
        issuer: String,
        insecure_ok: bool,
    },
    /// Given inline: loaded once, never refreshed, never stale.
    Inline,
}

#[derive(Default)]
struct FetchState {
    /// Consecutive failed fetches; 0 once one succeeds.
    failures: u32,
    /// No fetch before this instant (backoff after a failure).
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// No kid-miss refetch before this instant.
    miss_cooldown_until: Option<Instant>,
}

/// Why the cached keys cannot answer by themselves.
pub(crate) enum Miss {
    /// Nothing usable cached (never fetched, or older than `max_stale_secs`).
    NoKeys,
    /// Keys are cached but none has this kid.
    UnknownKid,
}

/// The cache of one JWKS source.
pub(crate) struct JwksCache {
    fetcher: Fetcher,
    /// Events and metrics of this source (`None`: an inline set, never fetched).
    observer: Option<SourceObserver>,
    tuning: JwksSettings,
    current: RwLock<Option<Arc<Loaded>>>,
    /// The serial of `current` (0 = none), readable without the lock.
    current_serial: AtomicU64,
    state: Mutex<FetchState>,
    /// Held for the whole of a fetch: single flight.
    flight: tokio::sync::Mutex<()>,
    /// Bumped after every fetch, so a waiter knows whether a fetch happened while it waited.
    generation: AtomicU64,
    refreshing: AtomicBool,
}

/// Process-wide on purpose: an app often builds its verifiers more than once from the same
/// settings (an extractor's state, a router-wide layer, a second pool naming the same URL),
/// and each URL should still be fetched, refreshed and backed off once. Weak entries: a cache
/// lives as long as some verifier uses it.
type Registry = Mutex<HashMap<(String, JwksSettings), Weak<JwksCache>>>;
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

impl JwksCache {
    /// The cache for this source: shared per URL (and tuning) across the whole process, so
    /// every pool and verifier that names the same URL shares keys, fetches and backoff. With
    /// the caller's own HTTP `client`, a cache of its own (another client may trust other
    /// roots or present a certificate, so its keys are not everyone's).
    pub(crate) fn shared(
        source: &KeySource,
        tuning: &JwksSettings,
        client: Option<&reqwest::Client>,
    ) -> Result<Arc<Self>, String> {
        let url = match source {
            KeySource::Inline(doc) => {
                let keys = KeySet::parse_value(doc)?;
                let cache = Self::new(Fetcher::Inline, None, tuning.clone());
                cache.install(keys);
                return Ok(Arc::new(cache));
            }
            KeySource::Url(text) => Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?,
        };
        if let Some(client) = client {
            return Ok(Arc::new(Self::for_url(url, tuning, || Ok(client.clone()))?));
        }
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (url.to_string(), tuning.clone());
        if let Some(cache) = registry.get(&key).and_then(Weak::upgrade) {
            return Ok(cache);
        }
        let cache = Arc::new(Self::for_url(url, tuning, || http_client(tuning))?);
        registry.retain(|_, weak| weak.strong_count() > 0);
        registry.insert(key, Arc::downgrade(&cache));
        Ok(cache)
    }

    /// A cache of the keys at `url`, fetched with `client()` (unless it is a file).
    fn for_url(
        url: Url,
        tuning: &JwksSettings,
        client: impl FnOnce() -> Result<reqwest::Client, String>,
    ) -> Result<Self, String> {
        let observer = Some(SourceObserver::new(url.as_str()));
        let fetcher = if url.scheme() == "file" {
            Fetcher::File(
                url.to_file_path()
                    .map_err(|()| "the file:// URL has no usable path".to_owned())?,
            )
        } else {
            Fetcher::Http { client: client()?, url }
        };
        Ok(Self::new(fetcher, observer, tuning.clone()))
    }

    fn new(fetcher: Fetcher, observer: Option<SourceObserver>, tuning: JwksSettings) -> Self {
        Self {
            fetcher,
            observer,
            tuning,
            current: RwLock::new(None),
            current_serial: AtomicU64::new(0),
            state: Mutex::new(FetchState::default()),
            flight: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves `keys` from now on.
    fn install(&self, keys: KeySet) {
        let loaded = Arc::new(Loaded::new(keys));
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        self.current_serial.store(loaded.serial, Ordering::Release);
        *current = Some(loaded);
    }

    /// For the verified-token cache, no I/O and no lock: whether the key set `serial` (loaded
    /// at `loaded_at`) is still the one served and still usable. Like [`JwksCache::cached`], it
    /// starts a background refresh when that set is due for one; a set past `max_stale_secs`
    /// is no longer usable here (the full path then decides what to answer).
    pub(crate) fn still_serves(self: &Arc<Self>, serial: u64, loaded_at: Instant) -> bool {
        if self.current_serial.load(Ordering::Acquire) != serial {
            return false;
        }
        if matches!(self.fetcher, Fetcher::Inline) {
            return true;
        }
        let age = loaded_at.elapsed();
        if age >= Duration::from_secs(self.tuning.max_stale_secs) {
            return false;
        }
        // No gauge here: a hit stays lean; the full path, fetches and health reports set it.
        if age >= Duration::from_secs(self.tuning.refresh_secs) {
            self.refresh_in_background();
        }
        true
    }

    /// The JWKS URL this cache fetches, or `inline`.
    pub(crate) fn source_name(&self) -> String {
        self.observer
            .as_ref()
            .map_or_else(|| "inline".to_owned(), |o| o.url().to_owned())
    }

    pub(crate) fn loaded(&self) -> Option<Arc<Loaded>> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// No I/O: the cached keys if they are usable and hold `kid`. Starts a background refresh
    /// when they are due for one.
    pub(crate) fn cached(self: &Arc<Self>, kid: &str) -> Result<Arc<Loaded>, Miss> {
        let Some(loaded) = self.loaded() else {
            return Err(Miss::NoKeys);
        };
        if let Some(observer) = &self.observer {
            let age = loaded.at.elapsed();
            if age >= Duration::from_secs(self.tuning.max_stale_secs) {
                observer.serving(0, age);
                return Err(Miss::NoKeys);
            }
            observer.age(age);
            if age >= Duration::from_secs(self.tuning.refresh_secs) {
                self.refresh_in_background();
            }
        }
        if loaded.keys.contains(kid) {
            Ok(loaded)
        } else {
            Err(Miss::UnknownKid)
        }
    }

    /// The keys holding `kid`, fetching at most once (single flight) when the cache cannot
    /// answer, and not at all during a backoff or, for an unknown kid, a cool-down.
    pub(crate) async fn lookup(self: &Arc<Self>, kid: &str) -> Result<Arc<Loaded>, AuthError> {
        // Read the generation before looking: a fetch that finishes in between then counts
        // as the one this request waited for, and no second fetch follows.
        let generation = self.generation.load(Ordering::Acquire);
        let miss = match self.cached(kid) {
            Ok(loaded) => return Ok(loaded),
            Err(miss) => miss,
        };
        if matches!(self.fetcher, Fetcher::Inline) {
            return Err(ErrorKind::UnknownKid.into());
        }
        if let Some(refusal) = self.gate(&miss) {
            return Err(refusal);
        }
        // Boxed: the fetch's future (the HTTP client's among it) is over a kilobyte, and every
        // caller's future would carry it, and copy it per request, though a fetch is rare.
        Box::pin(self.fetch_for(kid, generation)).await
    }

    /// One fetch for `kid` unless another finished since `generation` was read, then the
    /// answer from the cache.
    async fn fetch_for(self: &Arc<Self>, kid: &str, generation: u64) -> Result<Arc<Loaded>, AuthError> {
        {
            let _flight = self.flight.lock().await;
            if self.generation.load(Ordering::Acquire) == generation {
                self.fetch().await;
                let found = self.loaded().is_some_and(|l| l.keys.contains(kid));
                if !found && self.state().failures == 0 {
                    self.state().miss_cooldown_until = Some(later(Duration::from_secs(self.tuning.cooldown_secs)));
                }
            }
        }
        self.cached(kid).map_err(|miss| self.refusal(&miss))
    }

    /// Whether a fetch may start now; if not, the answer to give instead.
    fn gate(&self, miss: &Miss) -> Option<AuthError> {
        let now = Instant::now();
        let state = self.state();
        if let Some(at) = state.retry_at.filter(|at| *at > now) {
            return Some(AuthError::unavailable(at - now, state.last_error.clone()));
        }
        if matches!(miss, Miss::UnknownKid) && state.miss_cooldown_until.is_some_and(|until| until > now) {
            return Some(ErrorKind::UnknownKid.into());
        }
        None
    }

    /// The error for a miss that no fetch will fix now.
    fn refusal(&self, miss: &Miss) -> AuthError {
        let state = self.state();
        // A failing source may hold a freshly rotated key: "unknown" would be a guess.
        if matches!(miss, Miss::UnknownKid) && state.failures == 0 {
            return ErrorKind::UnknownKid.into();
        }
        let wait = state.retry_at.map_or(Duration::from_secs(1), |at| {
            at.saturating_duration_since(Instant::now())
        });
        AuthError::unavailable(wait, state.last_error.clone())
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.state().retry_at.is_some_and(|at| at > Instant::now()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime (a sync caller): the next async lookup refreshes
        };
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = Arc::clone(self);
        // The refresh's events belong to the request (and so the pool) that started it.
        let refresh = async move {
            let generation = cache.generation.load(Ordering::Acquire);
            let _flight = cache.flight.lock().await;
            if cache.generation.load(Ordering::Acquire) == generation {
                cache.fetch().await;
            }
            cache.refreshing.store(false, Ordering::Release);
        };
        runtime.spawn(tracing::Instrument::in_current_span(refresh));
    }

    /// Fetches the keys now, whatever their age, backoff or cool-down (an operator's call,
    /// not a request's): the number of kids served from now on. On failure the keys cached
    /// before keep serving and the error says why.
    pub(crate) async fn refresh_now(self: &Arc<Self>) -> Result<usize, AuthError> {
        if matches!(self.fetcher, Fetcher::Inline) {
            return Ok(self.loaded().map_or(0, |l| l.keys.len()));
        }
        {
            let _flight = self.flight.lock().await;
            self.fetch().await;
        }
        let failures = self.state().failures; // the guard must be gone before `refusal` locks again
        match self.loaded() {
            Some(loaded) if failures == 0 => Ok(loaded.keys.len()),
            _ => Err(self.refusal(&Miss::NoKeys)),
        }
    }

    /// Loads the keys now unless fresh ones are cached; the number of kids.
    pub(crate) async fn prefetch(self: &Arc<Self>) -> Result<usize, AuthError> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(loaded) = self
            .loaded()
            .filter(|l| l.at.elapsed() < Duration::from_secs(self.tuning.refresh_secs))
        {
            return Ok(loaded.keys.len());
        }
        if let Some(refusal) = self.gate(&Miss::NoKeys) {
            return Err(refusal);
        }
        {
            let _flight = self.flight.lock().await;
            if self.generation.load(Ordering::Acquire) == generation {
                self.fetch().await;
            }
        }
        let failures = self.state().failures; // the guard must be gone before `refusal` locks again
        match self.loaded() {
            Some(loaded) if failures == 0 => Ok(loaded.keys.len()),
            _ => Err(self.refusal(&Miss::NoKeys)),
        }
    }

    /// What this cache serves now, for the health report (no I/O). With the `metrics`
    /// feature it also sets the keys and age gauges, so a scrape that asks for the report
    /// first reads current ages even without traffic.
    pub(crate) fn health(&self) -> SourceHealth {
        let loaded = self.loaded();
        let Some(observer) = &self.observer else {
            return SourceHealth {
                source: "inline".to_owned(),
                keys: loaded.map_or(0, |l| l.keys.len()),
                age: None,
                last_error: None,
                next_attempt_in: None,
                per_kid: false,
                optional: false,
            };
        };
        let now = Instant::now();
        let age = loaded.as_ref().map(|l| now.saturating_duration_since(l.at));
        let usable = age.is_some_and(|age| age < Duration::from_secs(self.tuning.max_stale_secs));
        let keys = loaded.as_ref().filter(|_| usable).map_or(0, |l| l.keys.len());
        let state = self.state();
        let next_attempt_in = match (state.retry_at, age) {
            (Some(at), _) if at > now => at - now,
            (_, Some(age)) if usable => Duration::from_secs(self.tuning.refresh_secs).saturating_sub(age),
            _ => Duration::ZERO,
        };
        if let Some(age) = age {
            observer.serving(keys, age);
        }
        SourceHealth {
            source: observer.url().to_owned(),
            keys,
            age,
            last_error: state.last_error.clone(),
            next_attempt_in: Some(next_attempt_in),
            per_kid: false,
            optional: false,
        }
    }

    /// One fetch with the total deadline; the result replaces the keys only on success.
    /// Callers hold `flight`.
    async fn fetch(&self) {
        let deadline = Duration::from_millis(self.tuning.timeout_ms);
        let started = Instant::now();
        let mut status = None;
        let result = match tokio::time::timeout(deadline, self.fetch_bytes(&mut status)).await {
            Ok(bytes) => bytes.and_then(|b| KeySet::parse(&b)),
            Err(_) => Err(format!("the JWKS fetch took longer than {} ms", self.tuning.timeout_ms)),
        };
        let took = started.elapsed();
        let previous = self.loaded();
        {
            let mut state = self.state();
            match result {
                Ok(keys) => {
                    if let Some(observer) = &self.observer {
                        observer.fetched(status, keys.len(), took);
                        if let Some(previous) = &previous {
                            let (added, removed) = (
                                keys.kids_missing_from(&previous.keys),
                                previous.keys.kids_missing_from(&keys),
                            );
                            if !added.is_empty() || !removed.is_empty() {
                                observer.changed(&added, &removed);
                            }
                        }
                    }
                    self.install(keys);
                    state.failures = 0;
                    state.retry_at = None;
                    state.last_error = None;
                }
                Err(error) => {
                    state.failures = state.failures.saturating_add(1);
                    let backoff = backoff(state.failures);
                    state.retry_at = Some(later(backoff));
                    if let Some(observer) = &self.observer {
                        let max_stale = Duration::from_secs(self.tuning.max_stale_secs);
                        let stale = previous.map(|p| p.at.elapsed()).filter(|age| *age < max_stale);
                        observer.failed(status, &error, took, stale);
                        observer.backoff(backoff, state.failures);
                    }
                    state.last_error = Some(error);
                }
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// One fetch of `url` with the fetcher, deadline and body cap the caches use, outside any
    /// cache (no registry, no backoff): the parsed document, for a report.
    pub(crate) async fn fetch_once(url: &str, tuning: &JwksSettings) -> Result<Value, String> {
        let url = Url::parse(url).map_err(|e| format!("the JWKS URL is not a valid URL ({e})"))?;
        let cache = Self::for_url(url, tuning, || http_client(tuning))?;
        let deadline = Duration::from_millis(tuning.timeout_ms);
        let mut status = None;
        let bytes = match tokio::time::timeout(deadline, cache.fetch_bytes(&mut status)).await {
            Ok(bytes) => bytes?,
            Err(_) => return Err(format!("the JWKS fetch took longer than {} ms", tuning.timeout_ms)),
        };
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| format!("the JWKS is not JSON ({e})"))?;
        jwk_set_keys(&doc)?;
        Ok(doc)
    }

    /// The body of one fetch; `status` is set to the HTTP status once the server answers.
    async fn fetch_bytes(&self, status: &mut Option<u16>) -> Result<Vec<u8>, String> {
        let max = self.tuning.max_bytes;
        match &self.fetcher {
            Fetcher::Http { client, url } => {
                get_json("the JWKS", client, url.clone(), max, self.tuning.timeout_ms, status).await
            }
            Fetcher::Discovery {
                client,
                url,
                issuer,
                insecure_ok,
            } => {
                let doc = get_json(
                    "the discovery document",
                    client,
                    url.clone(),
                    max,
                    self.tuning.timeout_ms,
                    status,
                )
                .await?;
                let jwks_uri = crate::issuer::jwks_uri_of_discovery(&doc, issuer, *insecure_ok)?;
                let jwks_uri = Url::parse(&jwks_uri).map_err(|e| format!("the jwks_uri is not a valid URL ({e})"))?;
                get_json("the JWKS", client, jwks_uri, max, self.tuning.timeout_ms, status).await
            }
            Fetcher::File(path) => {
                use tokio::io::AsyncReadExt as _;
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| format!("cannot open the JWKS file ({e})"))?;
                let mut body = Vec::new();
                file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
                    .read_to_end(&mut body)
                    .await
                    .map_err(|e| format!("cannot read the JWKS file ({e})"))?;
                if body.len() > max {
                    return Err(format!("the JWKS is larger than {max} bytes"));
                }
                Ok(body)
            }
            Fetcher::Inline => Err("an inline JWKS is never fetched".to_owned()),
        }
    }
}

/// One GET of a JSON document (a JWKS, a discovery document) with the caches' rules: a 2xx
/// status, a JSON or generic content type, at most `max` bytes. `status` is set to the HTTP
/// status once the server answers.
async fn get_json(
    what: &str,
    client: &reqwest::Client,
    url: Url,
    max: usize,
    timeout_ms: u64,
    status: &mut Option<u16>,
) -> Result<Vec<u8>, String> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| describe(e, what, "request", timeout_ms))?;
    *status = Some(response.status().as_u16());
    if !response.status().is_success() {
        return Err(format!("{what} server answered {}", response.status()));
    }
    if let Some(declared) = response.headers().get(reqwest::header::CONTENT_TYPE) {
        check_content_type(declared.as_bytes())?;
    }
    if response.content_length().is_some_and(|len| len > max as u64) {
        return Err(format!("{what} is larger than {max} bytes"));
    }
    read_capped(response, max, what, timeout_ms).await
}

/// A JWKS may come as JSON (`application/json`, `application/jwk-set+json`, any `+json`) or
/// as a generic file type (`text/plain`, `application/octet-stream`, S3's
/// `binary/octet-stream`). Any other declared type (an HTML login or error page answered with
/// 200, XML, an image) means the URL no longer serves keys: refused by its type, so the error
/// says so instead of "not JSON".
fn check_content_type(declared: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(declared);
    let media = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let json = media == "application/json" || (media.contains('/') && media.ends_with("+json"));
    let generic = matches!(
        media.as_str(),
        "text/plain" | "application/octet-stream" | "binary/octet-stream" | ""
    );
    if json || generic {
        Ok(())
    } else {
        let shown: String = media.chars().filter(|c| !c.is_control()).take(64).collect();
        Err(format!(
            "the JWKS server answered with content type {shown:?}, not JSON"
        ))
    }
}

/// The operator detail of a failed request: the client's own deadline fires at the same
/// moment as ours and would otherwise read "error decoding response body".
/// `what` names the document ("the JWKS"), `part` the step that failed ("request", "body").
/// The request's URL is left out: it may carry credentials or a signed query, and whoever
/// reads the detail knows the source from where it is reported.
pub(crate) fn describe(error: reqwest::Error, what: &str, part: &str, timeout_ms: u64) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        format!("{what} fetch took longer than {timeout_ms} ms")
    } else {
        // reqwest's own text stops at its outermost layer ("error decoding response
        // body"); the innermost cause ("connection reset by peer") is what an operator needs.
        let mut root: Option<&dyn std::error::Error> = None;
        let mut next = std::error::Error::source(&error);
        while let Some(source) = next {
            root = Some(source);
            next = source.source();
        }
        match root {
            Some(root) => format!("{what} {part} failed ({error}: {root})"),
            None => format!("{what} {part} failed ({error})"),
        }
    }
}

/// The body of `response`, refused once it passes `max` bytes (`what` names it in errors).
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
    what: &str,
    timeout_ms: u64,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| describe(e, what, "body", timeout_ms))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("{what} is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn http_client(tuning: &JwksSettings) -> Result<reqwest::Client, String> {
    let deadline = Duration::from_millis(tuning.timeout_ms);
    reqwest::Client::builder()
        .timeout(deadline)
        .connect_timeout(deadline)
        // Fetches are hours apart, and the cache is shared by every runtime of the process: an
        // idle pooled connection would belong to the runtime that opened it, so keep none.
        .pool_max_idle_per_host(0)
        // A JWKS may move within its host (at most 3 hops), never to another host or scheme:
        // the keys must come from the place the settings name.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt.previous().first().is_some_and(|first| {
                first.scheme() == attempt.url().scheme()
                    && first.host() == attempt.url().host()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if same_origin && attempt.previous().len() <= 3 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| format!("cannot build the HTTP client ({e})"))
}
