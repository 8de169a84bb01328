//! What a running verifier tells the outside: its `tracing` events and, with the `metrics`
//! feature, its metrics. Every event and every metric name is written here once; the JWKS
//! cache and the verifier call these helpers, so their code does not change with the feature.
//!
//! Nothing a client sent is ever a field: no token, no signature, no cookie, and no `kid` taken
//! from a token either (a client picks it, up to the token size cap and with any characters it
//! likes, so logging it would hand the log's size and shape to whoever sends requests). The
//! kids that do appear are the JWKS's own, from the source the settings name. JWKS URLs come
//! from the settings too.
//!
//! With the feature off, the metric helpers are empty and every handle type is zero-sized: no
//! clock read, no allocation, no atomic on the verification path. With it on, each pool
//! registers its handles once, at its first answer (so a recorder installed before the first
//! request sees everything), and an answer then costs two clock reads, one or two counter
//! increments and one atomic add for its duration (handed to the recorder's histogram in
//! batches, see `Durations`), with no label built or formatted.

use std::time::Duration;
#[cfg(feature = "metrics")]
use std::time::Instant;

use crate::error::AuthError;
#[cfg(feature = "metrics")]
use crate::error::ErrorKind;
use crate::settings::KEYS_URL_ENV;

/// Counter `{pool, result}`: every answer of a verifier, `ok` or the error kind.
#[cfg(feature = "metrics")]
pub(crate) const VERIFICATIONS_TOTAL: &str = "cognito_verifications_total";
/// Counter `{pool}`: answers given from the verified-token cache.
#[cfg(feature = "metrics")]
pub(crate) const TOKEN_CACHE_HITS_TOTAL: &str = "cognito_token_cache_hits_total";
/// Counter `{source, result}`: JWKS fetches, `ok` or `error`.
#[cfg(feature = "metrics")]
pub(crate) const JWKS_FETCHES_TOTAL: &str = "cognito_jwks_fetches_total";
/// Gauge `{source}`: the keys of the set being served.
#[cfg(feature = "metrics")]
pub(crate) const JWKS_KEYS: &str = "cognito_jwks_keys";
/// Gauge `{source}`: the age of the key set being served, in seconds.
#[cfg(feature = "metrics")]
pub(crate) const JWKS_AGE_SECONDS: &str = "cognito_jwks_age_seconds";
/// Histogram `{pool}`: the time one answer took, in seconds.
#[cfg(feature = "metrics")]
pub(crate) const VERIFICATION_DURATION_SECONDS: &str = "cognito_verification_duration_seconds";

/// Describes every metric to the recorder (its help text and unit), once per process.
#[cfg(feature = "metrics")]
fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use metrics::Unit;
        metrics::describe_counter!(
            VERIFICATIONS_TOTAL,
            Unit::Count,
            "Token verifications by pool and result (ok or the error kind), token-cache hits included."
        );
        metrics::describe_counter!(
            TOKEN_CACHE_HITS_TOTAL,
            Unit::Count,
            "Verifications answered from the verified-token cache, by pool."
        );
        metrics::describe_counter!(
            JWKS_FETCHES_TOTAL,
            Unit::Count,
            "JWKS fetches by source URL and result (ok or error)."
        );
        metrics::describe_gauge!(JWKS_KEYS, Unit::Count, "Keys in the JWKS being served, by source URL.");
        metrics::describe_gauge!(
            JWKS_AGE_SECONDS,
            Unit::Seconds,
            "Age of the JWKS being served (of the last good one while fetches fail), by source URL."
        );
        metrics::describe_histogram!(
            VERIFICATION_DURATION_SECONDS,
            Unit::Seconds,
            "Time to answer one verification, by pool."
        );
    });
}

/// When an answer started (only read with the `metrics` feature).
#[derive(Clone, Copy)]
pub(crate) struct Started(#[cfg(feature = "metrics")] Instant);

/// The observer of one pool's verifier.
pub(crate) struct PoolObserver {
    #[cfg(feature = "metrics")]
    pool: String,
    #[cfg(feature = "metrics")]
    handles: std::sync::OnceLock<PoolHandles>,
}

#[cfg(feature = "metrics")]
struct PoolHandles {
    /// Indexed by `result_index`: `ok`, then every kind in `ErrorKind::ALL` order.
    results: Vec<metrics::Counter>,
    cache_hits: metrics::Counter,
    duration: metrics::Histogram,
    /// Durations not yet handed to `duration`.
    pending: Durations,
}

/// Answer durations gathered in fine buckets and handed to the recorder in batches: a
/// recorder's histogram costs about as much per sample as a whole token-cache hit, so each
/// answer only adds one to an atomic here. Buckets: below 2^7 ns, then 8 per power of two of
/// nanoseconds up to 2^36 ns (about 69 s), then above; a batch records each bucket's midpoint,
/// within 1/16 (6.25 %) of every duration in it.
#[cfg(feature = "metrics")]
struct Durations {
    counts: Box<[std::sync::atomic::AtomicU64]>,
    /// Answers since the start; every `BATCH`-th one hands the batch over.
    answers: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "metrics")]
impl Durations {
    const MIN_EXP: u32 = 7;
    const MAX_EXP: u32 = 36;
    const SUB_BITS: u32 = 3;
    const BUCKETS: usize = (((Self::MAX_EXP - Self::MIN_EXP) << Self::SUB_BITS) + 2) as usize;
    /// Answers per batch: the recorder's histogram is at most this many answers behind, except
    /// that a health report hands over whatever is pending.
    const BATCH: u64 = 64;

    fn new() -> Self {
        Self {
            counts: (0..Self::BUCKETS)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
            answers: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn index(nanos: u64) -> usize {
        if nanos < 1 << Self::MIN_EXP {
            return 0;
        }
        let exp = 63 - nanos.leading_zeros();
        if exp >= Self::MAX_EXP {
            return Self::BUCKETS - 1;
        }
        let sub = (nanos >> (exp - Self::SUB_BITS)) & ((1 << Self::SUB_BITS) - 1);
        1 + (((exp - Self::MIN_EXP) << Self::SUB_BITS) as usize) + sub as usize
    }

    /// The duration a bucket stands for, in seconds: its midpoint.
    fn seconds(index: usize) -> f64 {
        let nanos = match index {
            0 => (1u64 << (Self::MIN_EXP - 1)) as f64,
            i if i >= Self::BUCKETS - 1 => (1u64 << Self::MAX_EXP) as f64,
            i => {
                let k = (i - 1) as u32;
                let exp = Self::MIN_EXP + (k >> Self::SUB_BITS);
                let sub = u64::from(k & ((1 << Self::SUB_BITS) - 1));
                let width = 1u64 << (exp - Self::SUB_BITS);
                ((1u64 << exp) + sub * width) as f64 + width as f64 / 2.0
            }
        };
        nanos / 1e9
    }

    /// One answer's duration; whether a batch is due.
    #[inline]
    fn add(&self, took: Duration) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        if let Some(count) = self.counts.get(Self::index(nanos)) {
            count.fetch_add(1, Relaxed);
        }
        self.answers.fetch_add(1, Relaxed) % Self::BATCH == Self::BATCH - 1
    }

    /// Hands every pending duration to the recorder.
    #[cold]
    fn flush(&self, histogram: &metrics::Histogram) {
        for (i, count) in self.counts.iter().enumerate() {
            let n = count.swap(0, std::sync::atomic::Ordering::Relaxed);
            if n > 0 {
                histogram.record_many(Self::seconds(i), usize::try_from(n).unwrap_or(usize::MAX));
            }
        }
    }
}

/// The position of an answer in `PoolHandles::results`.
#[cfg(feature = "metrics")]
fn result_index(kind: Option<ErrorKind>) -> usize {
    // `ErrorKind` has no data and `ALL` lists it in declaration order (a unit test checks).
    kind.map_or(0, |k| k as usize + 1)
}

impl PoolObserver {
    pub(crate) fn new(pool: &str) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = pool;
        Self {
            #[cfg(feature = "metrics")]
            pool: pool.to_owned(),
            #[cfg(feature = "metrics")]
            handles: std::sync::OnceLock::new(),
        }
    }

    #[cfg(feature = "metrics")]
    fn handles(&self) -> &PoolHandles {
        self.handles.get_or_init(|| {
            describe();
            let pool = metrics::SharedString::from(self.pool.clone());
            let results = std::iter::once("ok")
                .chain(ErrorKind::ALL.iter().map(|k| k.as_str()))
                .map(|result| metrics::counter!(VERIFICATIONS_TOTAL, "pool" => pool.clone(), "result" => result))
                .collect();
            PoolHandles {
                results,
                cache_hits: metrics::counter!(TOKEN_CACHE_HITS_TOTAL, "pool" => pool.clone()),
                duration: metrics::histogram!(VERIFICATION_DURATION_SECONDS, "pool" => pool),
                pending: Durations::new(),
            }
        })
    }

    /// The start of one answer.
    #[inline]
    pub(crate) fn start(&self) -> Started {
        Started(
            #[cfg(feature = "metrics")]
            Instant::now(),
        )
    }

    /// One answer given: counted, timed, and a rejection logged (debug: pool, kind).
    #[inline]
    pub(crate) fn answer<T>(&self, pool: &str, started: Started, result: &Result<T, AuthError>) {
        #[cfg(not(feature = "metrics"))]
        let _ = started;
        let kind = result.as_ref().err().map(AuthError::kind);
        if let Err(e) = result {
            rejected(pool, e);
        }
        #[cfg(feature = "metrics")]
        {
            let handles = self.handles();
            if let Some(counter) = handles.results.get(result_index(kind)) {
                counter.increment(1);
            }
            if handles.pending.add(started.0.elapsed()) {
                handles.pending.flush(&handles.duration);
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = kind;
    }

    /// Hands the pending answer durations to the recorder (see `Durations`).
    pub(crate) fn flush(&self) {
        #[cfg(feature = "metrics")]
        if let Some(handles) = self.handles.get() {
            handles.pending.flush(&handles.duration);
        }
    }

    /// An answer that came from the verified-token cache.
    #[inline]
    pub(crate) fn cache_hit(&self) {
        #[cfg(feature = "metrics")]
        self.handles().cache_hits.increment(1);
    }
}

/// The rejection event, off the hot path.
#[cold]
fn rejected(pool: &str, e: &AuthError) {
    tracing::debug!(
        pool,
        kind = e.kind().as_str(),
        status = e.status(),
        detail = e.detail(),
        "token rejected"
    );
}

/// The observer of one JWKS source (one URL; an inline set has none).
pub(crate) struct SourceObserver {
    /// The URL as the settings give it.
    url: String,
    #[cfg(feature = "metrics")]
    handles: std::sync::OnceLock<SourceHandles>,
}

#[cfg(feature = "metrics")]
struct SourceHandles {
    fetch_ok: metrics::Counter,
    fetch_error: metrics::Counter,
    keys: metrics::Gauge,
    age: metrics::Gauge,
}

impl SourceObserver {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            #[cfg(feature = "metrics")]
            handles: std::sync::OnceLock::new(),
        }
    }

    /// The source's URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    #[cfg(feature = "metrics")]
    fn handles(&self) -> &SourceHandles {
        self.handles.get_or_init(|| {
            describe();
            let source = metrics::SharedString::from(self.url.clone());
            SourceHandles {
                fetch_ok: metrics::counter!(JWKS_FETCHES_TOTAL, "source" => source.clone(), "result" => "ok"),
                fetch_error: metrics::counter!(JWKS_FETCHES_TOTAL, "source" => source.clone(), "result" => "error"),
                keys: metrics::gauge!(JWKS_KEYS, "source" => source.clone()),
                age: metrics::gauge!(JWKS_AGE_SECONDS, "source" => source),
            }
        })
    }

    /// A fetch that loaded `keys` kids (debug: url, status, keys, ms).
    pub(crate) fn fetched(&self, status: Option<u16>, keys: usize, took: Duration) {
        tracing::debug!(url = %self.url, status, keys, ms = millis(took), "JWKS fetched");
        #[cfg(feature = "metrics")]
        {
            let handles = self.handles();
            handles.fetch_ok.increment(1);
            handles.keys.set(keys as f64);
            handles.age.set(0.0);
        }
    }

    /// The fetched set differs from the one it replaces (info: url, added and removed kids).
    pub(crate) fn changed(&self, added: &[&str], removed: &[&str]) {
        tracing::info!(url = %self.url, ?added, ?removed, "JWKS key set changed");
    }

    /// A failed fetch (warn: url, error, and the age of the keys still served, if any).
    /// `stale` is the age of the last good keys when they still serve.
    pub(crate) fn failed(&self, status: Option<u16>, error: &str, took: Duration, stale: Option<Duration>) {
        let ms = millis(took);
        match stale {
            Some(age) => tracing::warn!(
                url = %self.url,
                status,
                error,
                ms,
                age_secs = age.as_secs(),
                "JWKS fetch failed; serving the last good keys"
            ),
            None => tracing::warn!(url = %self.url, status, error, ms, "JWKS fetch failed; no keys to serve"),
        }
        #[cfg(feature = "metrics")]
        self.handles().fetch_error.increment(1);
    }

    /// No fetch before `wait` (warn: url, retry_in_secs, failures).
    pub(crate) fn backoff(&self, wait: Duration, failures: u32) {
        tracing::warn!(
            url = %self.url,
            retry_in_secs = wait.as_secs(),
            failures,
            "JWKS fetches back off"
        );
    }

    /// The set being served: `keys` usable kids, loaded `age` ago (gauges only).
    #[inline]
    pub(crate) fn serving(&self, keys: usize, age: Duration) {
        #[cfg(feature = "metrics")]
        {
            let handles = self.handles();
            handles.keys.set(keys as f64);
            handles.age.set(age.as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (keys, age);
    }

    /// The age of the set being served (a gauge only), from where the age is read anyway.
    #[inline]
    pub(crate) fn age(&self, age: Duration) {
        #[cfg(feature = "metrics")]
        self.handles().age.set(age.as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = age;
    }
}

fn millis(took: Duration) -> u64 {
    u64::try_from(took.as_millis()).unwrap_or(u64::MAX)
}

/// At start-up: `AWS_COGNITO_KEYS_URL` replaces the keys of pools that trust the AWS issuers
/// (warn: the pools, the URL). Whoever can publish keys there can mint tokens for each of them.
pub(crate) fn keys_url_overrides(pools: &[&str], url: &str) {
    if pools.is_empty() {
        return;
    }
    tracing::warn!(
        env = KEYS_URL_ENV,
        url,
        pools = ?pools,
        "{KEYS_URL_ENV} replaces the AWS keys of pools {}: whoever can publish keys at {url} can mint tokens \
         for each of them; give those pools their own jwks_url (or an issuer) unless that is intended",
        pools.join(", ")
    );
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::*;

    #[test]
    fn duration_buckets_hold_their_durations_within_a_sixteenth() {
        let mut last = 0;
        for nanos in (7..36).flat_map(|exp| (0..40).map(move |i| (1u64 << exp) + i * ((1u64 << exp) / 40))) {
            let index = Durations::index(nanos);
            assert!(index >= last, "{nanos}: buckets follow the durations");
            last = index;
            let mid = Durations::seconds(index) * 1e9;
            let error = (mid - nanos as f64).abs() / nanos as f64;
            assert!(
                error <= 1.0 / 16.0 + 1e-9,
                "{nanos} ns in bucket {index} ({mid} ns): {error}"
            );
        }
        assert_eq!(Durations::index(0), 0);
        assert_eq!(Durations::index(127), 0);
        assert_eq!(Durations::index(128), 1);
        assert_eq!(Durations::index(u64::MAX), Durations::BUCKETS - 1);
        assert_eq!(Durations::index((1 << 36) - 1), Durations::BUCKETS - 2);
    }

    #[test]
    fn result_indexes_follow_the_kinds() {
        assert_eq!(result_index(None), 0);
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(result_index(Some(*kind)), i + 1, "{kind}");
        }
    }
}
