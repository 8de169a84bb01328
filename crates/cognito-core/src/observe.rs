//! What a running verifier tells the outside: its `tracing` events and, with the `metrics`
//! feature, its metrics. Every event and every metric name is written here once; the JWKS
//! cache and the verifier call these helpers, so their code does not change with the feature.
//!
//! Nothing a client sent is ever a field: no token, no signature, no cookie, and no `kid` taken
//! from a token either (a client picks it, up to the token size cap and with any characters it
//! likes, so logging it would hand the log's size and shape to whoever sends requests). The
//! kids that do appear are the JWKS's own, from the source the settings name. Key URLs come
//! from the settings too, and are shown redacted (no user info, query or fragment: see
//! `url_rules`), since they may carry credentials or a presigned signature.
//!
//! With the feature off, the metric helpers are empty and every handle type is zero-sized: no
//! clock read, no allocation, no atomic on the verification path. With it on, each pool
//! registers its handles once, at its first answer (so a recorder installed before the first
//! request sees everything), and an answer then costs one counter increment (two for a
//! token-cache hit), with no label built or formatted. The duration histogram times only the
//! verifications that get past the verified-token cache (parse, checks, key, signature): a
//! recorder's histogram costs about as much per sample as a whole cache hit, and a hit's time
//! (a microsecond or so) says nothing an operator needs; hits are counted instead.

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

/// When a timed verification started (only read with the `metrics` feature).
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
            }
        })
    }

    /// The start of a verification past the token cache (a clock read only with `metrics`).
    #[inline]
    pub(crate) fn start(&self) -> Started {
        Started(
            #[cfg(feature = "metrics")]
            Instant::now(),
        )
    }

    /// The end of that verification: its duration into the histogram.
    #[inline]
    pub(crate) fn timed(&self, started: Started) {
        #[cfg(feature = "metrics")]
        self.handles().duration.record(started.0.elapsed().as_secs_f64());
        #[cfg(not(feature = "metrics"))]
        let _ = started;
    }

    /// One answer given: counted, and a rejection logged (debug: pool, kind).
    #[inline]
    pub(crate) fn answer<T>(&self, pool: &str, result: &Result<T, AuthError>) {
        if let Err(e) = result {
            rejected(pool, e);
        }
        #[cfg(feature = "metrics")]
        if let Some(counter) = self
            .handles()
            .results
            .get(result_index(result.as_ref().err().map(AuthError::kind)))
        {
            counter.increment(1);
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
    /// The URL as the settings give it, redacted: what every event, label and report shows.
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
    /// The observer of the source at `url`, which it shows redacted (no user info, query or
    /// fragment) in every event, label and report.
    pub(crate) fn new(url: &str) -> Self {
        Self::shown_as(crate::url_rules::redact(url))
    }

    /// The observer of a source shown as `shown`, already redacted.
    pub(crate) fn shown_as(shown: String) -> Self {
        Self {
            url: shown,
            #[cfg(feature = "metrics")]
            handles: std::sync::OnceLock::new(),
        }
    }

    /// The source's URL, redacted.
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
    let url = crate::url_rules::redact(url);
    let url = url.as_str();
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
    fn result_indexes_follow_the_kinds() {
        assert_eq!(result_index(None), 0);
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(result_index(Some(*kind)), i + 1, "{kind}");
        }
    }
}
