//! JWKS: parsing a key set into verified-once RSA keys, and the one cache per URL that every
//! pool and verifier using that URL shares: background refresh, stale keys served while
//! refreshes fail (up to `max_stale_secs`), and on the shared fetcher (`crate::fetch`: one
//! total deadline, a body cap, same-origin redirects, single flight, backoff) a cool-down
//! after a refetch for an unknown `kid`.
//!
//! Hot-path reads clone an `Arc` under a read lock that is only ever write-locked for the
//! pointer swap after a fetch; the fetch itself runs under a separate async mutex (single
//! flight), so verifications never wait for the network when usable keys are cached.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
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
use crate::fetch::{Document, Fetcher, Gate, Location, http_client};
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

/// How errors name the document.
const WHAT: &str = "the JWKS";

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

/// Why the cached keys cannot answer by themselves.
pub(crate) enum Miss {
    /// Nothing usable cached (never fetched, or older than `max_stale_secs`).
    NoKeys,
    /// Keys are cached but none has this kid.
    UnknownKid,
}

/// The cache of one JWKS source.
pub(crate) struct JwksCache {
    /// Where the keys are fetched from (`None`: an inline set, never fetched).
    remote: Option<Remote>,
    tuning: JwksSettings,
    current: RwLock<Option<Arc<Loaded>>>,
    /// The serial of `current` (0 = none), readable without the lock.
    current_serial: AtomicU64,
    refreshing: AtomicBool,
}

/// Process-wide on purpose: an app often builds its verifiers more than once from the same
/// settings (an extractor's state, a router-wide layer, a second pool naming the same URL),
/// and each URL should still be fetched, refreshed and backed off once. Weak entries: a cache
/// lives as long as some verifier uses it.
type Registry = Mutex<HashMap<(String, JwksSettings), Weak<JwksCache>>>;
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

/// A cache's fetched source: where the keys are, and the fetcher's state.
struct Remote {
    fetcher: Fetcher,
    location: Location,
    /// For OpenID Connect discovery: `location` is the discovery document, whose `jwks_uri`
    /// then gives the keys.
    discovery: Option<discovery::Discovery>,
}

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
                let cache = Self::new(None, tuning.clone());
                cache.install(keys);
                return Ok(Arc::new(cache));
            }
            KeySource::Url(text) => Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?,
        };
        if let Some(client) = client {
            return Ok(Arc::new(Self::for_url(url, tuning, Some(client.clone()))?));
        }
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (url.to_string(), tuning.clone());
        if let Some(cache) = registry.get(&key).and_then(Weak::upgrade) {
            return Ok(cache);
        }
        let cache = Arc::new(Self::for_url(url, tuning, None)?);
        registry.retain(|_, weak| weak.strong_count() > 0);
        registry.insert(key, Arc::downgrade(&cache));
        Ok(cache)
    }

    /// A cache of the keys at `url`, fetched with `client` (unless it is a file); without one,
    /// with a client of its own, built at the first fetch.
    fn for_url(url: Url, tuning: &JwksSettings, client: Option<reqwest::Client>) -> Result<Self, String> {
        let observer = SourceObserver::new(url.as_str());
        let location = match client {
            Some(client) => Location::of(url, || Ok(client))?,
            None => Location::lazy(url)?,
        };
        let remote = Remote {
            fetcher: Fetcher::new(WHAT, Document::Json, tuning, observer),
            location,
            discovery: None,
        };
        Ok(Self::new(Some(remote), tuning.clone()))
    }

    fn new(remote: Option<Remote>, tuning: JwksSettings) -> Self {
        Self {
            remote,
            tuning,
            current: RwLock::new(None),
            current_serial: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
        }
    }

    /// Serves the keys of `jwks` as if just fetched, unless keys are loaded already (then
    /// `false`): refreshes follow as for fetched keys, after `refresh_secs`, or at once for a
    /// kid they lack. An inline source keeps its own keys.
    pub(crate) fn seed(&self, jwks: &[u8]) -> Result<bool, String> {
        let keys = KeySet::parse(jwks)?;
        if self.remote.is_none() {
            return Ok(false);
        }
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.is_some() {
            return Ok(false);
        }
        let loaded = Arc::new(Loaded::new(keys));
        self.current_serial.store(loaded.serial, Ordering::Release);
        *current = Some(loaded);
        Ok(true)
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
        if self.remote.is_none() {
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
        self.remote
            .as_ref()
            .map_or_else(|| "inline".to_owned(), |r| r.fetcher.observer().url().to_owned())
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
        if let Some(remote) = &self.remote {
            let age = loaded.at.elapsed();
            if age >= Duration::from_secs(self.tuning.max_stale_secs) {
                remote.fetcher.observer().serving(0, age);
                return Err(Miss::NoKeys);
            }
            remote.fetcher.observer().age(age);
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
        let Some(remote) = &self.remote else {
            return self.cached(kid).map_err(|_| ErrorKind::UnknownKid.into());
        };
        // Read the generation before looking: a fetch that finishes in between then counts
        // as the one this request waited for, and no second fetch follows.
        let generation = remote.fetcher.generation();
        let miss = match self.cached(kid) {
            Ok(loaded) => return Ok(loaded),
            Err(miss) => miss,
        };
        if let Some(refusal) = gate(remote, &miss) {
            return Err(refusal);
        }
        // Boxed: the fetch's future (the HTTP client's among it) is over a kilobyte, and every
        // caller's future would carry it, and copy it per request, though a fetch is rare.
        let unknown = matches!(miss, Miss::UnknownKid);
        Box::pin(self.fetch_for(remote, kid, generation, unknown)).await
    }

    /// One fetch for `kid` unless another finished since `generation` was read, then the
    /// answer from the cache.
    async fn fetch_for(
        self: &Arc<Self>,
        remote: &Remote,
        kid: &str,
        generation: u64,
        unknown: bool,
    ) -> Result<Arc<Loaded>, AuthError> {
        {
            let _flight = remote.fetcher.flight().await;
            // The gate again, under the lock: a fetch that finished between this lookup's
            // generation read and its gate starts its cool-down only now.
            if remote.fetcher.generation() == generation && remote.fetcher.gate(unknown).is_none() {
                self.fetch(remote).await;
                let found = self.loaded().is_some_and(|l| l.keys.contains(kid));
                if !found && !remote.fetcher.failing() {
                    remote.fetcher.cool_down();
                }
            }
        }
        self.cached(kid).map_err(|miss| refusal(remote, &miss))
    }

    fn refresh_in_background(self: &Arc<Self>) {
        let Some(remote) = &self.remote else {
            return;
        };
        if matches!(remote.fetcher.gate(false), Some(Gate::Backoff(..))) {
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
            if let Some(remote) = &cache.remote {
                let generation = remote.fetcher.generation();
                let _flight = remote.fetcher.flight().await;
                if remote.fetcher.generation() == generation {
                    cache.fetch(remote).await;
                }
            }
            cache.refreshing.store(false, Ordering::Release);
        };
        runtime.spawn(tracing::Instrument::in_current_span(refresh));
    }

    /// Fetches the keys now, whatever their age, backoff or cool-down (an operator's call,
    /// not a request's): the number of kids served from now on. On failure the keys cached
    /// before keep serving and the error says why.
    pub(crate) async fn refresh_now(self: &Arc<Self>) -> Result<usize, AuthError> {
        let Some(remote) = &self.remote else {
            return Ok(self.loaded().map_or(0, |l| l.keys.len()));
        };
        {
            let _flight = remote.fetcher.flight().await;
            self.fetch(remote).await;
        }
        self.served(remote)
    }

    /// Loads the keys now unless fresh ones are cached; the number of kids.
    pub(crate) async fn prefetch(self: &Arc<Self>) -> Result<usize, AuthError> {
        let Some(remote) = &self.remote else {
            return Ok(self.loaded().map_or(0, |l| l.keys.len()));
        };
        let generation = remote.fetcher.generation();
        if let Some(loaded) = self
            .loaded()
            .filter(|l| l.at.elapsed() < Duration::from_secs(self.tuning.refresh_secs))
        {
            return Ok(loaded.keys.len());
        }
        if let Some(refusal) = gate(remote, &Miss::NoKeys) {
            return Err(refusal);
        }
        {
            let _flight = remote.fetcher.flight().await;
            if remote.fetcher.generation() == generation {
                self.fetch(remote).await;
            }
        }
        self.served(remote)
    }

    /// After a fetch: the number of kids served, or why none are.
    fn served(&self, remote: &Remote) -> Result<usize, AuthError> {
        match self.loaded() {
            Some(loaded) if !remote.fetcher.failing() => Ok(loaded.keys.len()),
            _ => Err(refusal(remote, &Miss::NoKeys)),
        }
    }

    /// What this cache serves now, for the health report (no I/O). With the `metrics`
    /// feature it also sets the keys and age gauges, so a scrape that asks for the report
    /// first reads current ages even without traffic.
    pub(crate) fn health(&self) -> SourceHealth {
        let loaded = self.loaded();
        let Some(remote) = &self.remote else {
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
        let age = loaded.as_ref().map(|l| l.at.elapsed());
        let usable = age.is_some_and(|age| age < Duration::from_secs(self.tuning.max_stale_secs));
        let keys = loaded.as_ref().filter(|_| usable).map_or(0, |l| l.keys.len());
        let due_in = age
            .filter(|_| usable)
            .map(|age| Duration::from_secs(self.tuning.refresh_secs).saturating_sub(age));
        remote.fetcher.health(keys, age, due_in)
    }

    /// One fetch with the total deadline; the result replaces the keys only on success.
    /// Callers hold the flight.
    async fn fetch(&self, remote: &Remote) {
        let (body, attempt) = match &remote.discovery {
            None => remote.fetcher.get(&remote.location).await,
            Some(discovery) => discovery.fetch_keys(remote).await,
        };
        let previous = self.loaded();
        let keys = body.and_then(|body| KeySet::parse(&body.unwrap_or_default()));
        match keys {
            Ok(keys) => {
                if let Some(previous) = &previous {
                    let added = keys.kids_missing_from(&previous.keys);
                    let removed = previous.keys.kids_missing_from(&keys);
                    if !added.is_empty() || !removed.is_empty() {
                        remote.fetcher.observer().changed(&added, &removed);
                    }
                }
                let count = keys.len();
                self.install(keys);
                remote.fetcher.answered(attempt, true, count);
            }
            Err(error) => {
                let max_stale = Duration::from_secs(self.tuning.max_stale_secs);
                let stale = previous.map(|p| p.at.elapsed()).filter(|age| *age < max_stale);
                remote.fetcher.failed(attempt, error, stale);
            }
        }
    }

    /// One fetch of `url` with the fetcher, deadline and body cap the caches use, outside any
    /// cache (no registry, no backoff): the parsed document, for a report.
    pub(crate) async fn fetch_once(url: &str, tuning: &JwksSettings) -> Result<Value, String> {
        let url = Url::parse(url).map_err(|e| format!("the JWKS URL is not a valid URL ({e})"))?;
        let location = Location::of(url, || http_client(tuning))?;
        let (body, _) = crate::fetch::get(WHAT, Document::Json, tuning, &location).await;
        let bytes = body?.unwrap_or_default();
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| format!("the JWKS is not JSON ({e})"))?;
        jwk_set_keys(&doc)?;
        Ok(doc)
    }
}

/// Whether a fetch may start now; if not, the answer to give instead.
fn gate(remote: &Remote, miss: &Miss) -> Option<AuthError> {
    match remote.fetcher.gate(matches!(miss, Miss::UnknownKid))? {
        Gate::Backoff(wait, last_error) => Some(AuthError::unavailable(wait, last_error)),
        Gate::CoolingDown => Some(ErrorKind::UnknownKid.into()),
    }
}

/// The error for a miss that no fetch will fix now.
fn refusal(remote: &Remote, miss: &Miss) -> AuthError {
    // A failing source may hold a freshly rotated key: "unknown" would be a guess.
    if matches!(miss, Miss::UnknownKid) && !remote.fetcher.failing() {
        return ErrorKind::UnknownKid.into();
    }
    let (wait, last_error) = remote.fetcher.retry();
    AuthError::unavailable(wait, last_error)
}
