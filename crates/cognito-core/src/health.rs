//! The health report of a running [`crate::CognitoAuth`]: per pool and per key source, whether
//! keys are loaded, their age, the last fetch error and when the next fetch may happen (and the
//! load balancers' key cache as the pool `alb`). Built from the key caches' own state, so it
//! needs no metrics recorder; meant for readiness probes and for a one-line log
//! ([`std::fmt::Display`]).

use std::fmt;
use std::time::Duration;

/// Every pool's health, in settings order (see [`crate::CognitoAuth::health`]).
///
/// ```
/// use cognito_core::{CognitoAuth, CognitoSettings};
/// let settings = CognitoSettings::from_yaml_str(r#"
/// userpools:
///   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
/// "#)?;
/// let auth = CognitoAuth::new(&settings)?;
/// let health = auth.health(); // nothing fetched yet
/// assert!(!health.is_ready());
/// assert_eq!(health.pools[0].keys(), 0);
/// assert!(health.to_string().starts_with("not ready: eu: no keys"));
/// # Ok::<(), cognito_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Each pool, in settings order.
    pub pools: Vec<PoolHealth>,
}

impl Health {
    /// Whether every pool can verify tokens now: each of its key sources serves keys.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.pools.iter().all(PoolHealth::is_ready)
    }
}

/// One pool's health: each of its key sources (one per trusted issuer form; a source that
/// two issuer forms share appears once).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolHealth {
    /// The pool's name.
    pub pool: String,
    /// Its key sources.
    pub sources: Vec<SourceHealth>,
}

impl PoolHealth {
    /// Whether the pool can verify now: every key source it needs is ready (see
    /// [`SourceHealth::is_ready`]); an optional one (the multi-Region issuer form's keys, which
    /// a pool without replication does not have) is reported but not required.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        !self.sources.is_empty() && self.sources.iter().filter(|s| !s.optional).all(SourceHealth::is_ready)
    }

    /// The keys served now, summed over the pool's sources.
    #[must_use]
    pub fn keys(&self) -> usize {
        self.sources.iter().map(|s| s.keys).sum()
    }

    /// The oldest key set among the pool's fetched sources.
    #[must_use]
    pub fn age(&self) -> Option<Duration> {
        self.sources.iter().filter_map(|s| s.age).max()
    }

    /// The last fetch error of the first failing source the pool needs, else of an optional
    /// one, if any fetch is failing.
    #[must_use]
    pub fn last_error(&self) -> Option<&str> {
        let needed = self.sources.iter().filter(|s| !s.optional);
        let optional = self.sources.iter().filter(|s| s.optional);
        needed.chain(optional).find_map(|s| s.last_error.as_deref())
    }

    /// The soonest next fetch among the pool's sources (`None`: inline keys only).
    #[must_use]
    pub fn next_attempt_in(&self) -> Option<Duration> {
        self.sources.iter().filter_map(|s| s.next_attempt_in).min()
    }
}

/// One key source (a JWKS URL, or the inline set) as its cache sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceHealth {
    /// The JWKS URL (or a load balancer's key URL template, `.../{kid}`) without user info,
    /// query or fragment; or `inline`.
    pub source: String,
    /// The kids served now: 0 before the first successful fetch, and once the last good set is
    /// older than `jwks.max_stale_secs`.
    pub keys: usize,
    /// How long ago the last good key set was fetched (`None`: never, or an inline set, which
    /// never ages). It keeps growing while fetches fail, past `max_stale_secs` too.
    pub age: Option<Duration>,
    /// Why the last fetch failed; `None` once one succeeds.
    pub last_error: Option<String>,
    /// How long until a fetch may happen: the rest of the backoff after a failure, else the
    /// time until the keys are due for their refresh (the first request after that starts it),
    /// zero when no keys are held (the next request fetches). `None`: an inline set, never
    /// fetched. For a source fetched per kid: the rest of the backoff, else zero.
    pub next_attempt_in: Option<Duration>,
    /// Whether the keys are fetched one per kid, when a token first names it (a load
    /// balancer's key server), rather than as a set: then holding no key yet is no fault.
    pub per_kid: bool,
    /// Whether the pool can do without it: the keys of the multi-Region issuer form
    /// (`issuer-cognito-idp...`), which Cognito does not serve (403) for a pool without
    /// multi-Region replication. Its tokens still need these keys; the pool's readiness does not.
    pub optional: bool,
}

impl SourceHealth {
    /// Whether this source can verify now: it serves keys; or, fetched per kid, its last
    /// fetch did not fail (no key is needed before a token names one).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.keys > 0 || (self.per_kid && self.last_error.is_none())
    }
}

impl fmt::Display for Health {
    /// `ready: eu: 2 keys, 12 s old; us: no keys (...)`, or `not ready: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_ready() { "ready: " } else { "not ready: " })?;
        for (i, pool) in self.pools.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{pool}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PoolHealth {
    /// `eu: 2 keys, 12 s old`; several sources are joined with ` / `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.pool)?;
        for (i, source) in self.sources.iter().enumerate() {
            if i > 0 {
                f.write_str(" / ")?;
            }
            write!(f, "{source}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SourceHealth {
    /// `2 keys, 12 s old`, `2 keys, 3700 s old (refresh failing: <why>; next attempt in 4 s)`,
    /// `no keys (<why>; next attempt in 4 s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.keys {
            0 => f.write_str("no keys")?,
            1 => f.write_str("1 key")?,
            n => write!(f, "{n} keys")?,
        }
        if self.keys > 0 {
            match self.age {
                Some(age) => write!(f, ", {} s old", age.as_secs())?,
                None => f.write_str(", inline")?,
            }
        }
        let next = self.next_attempt_in.map(|d| d.as_secs());
        match (&self.last_error, self.keys) {
            (Some(error), 0) => write!(f, " ({error}; next attempt in {} s)", next.unwrap_or(0)),
            (Some(error), _) => write!(
                f,
                " (refresh failing: {error}; next attempt in {} s)",
                next.unwrap_or(0)
            ),
            (None, 0) if self.per_kid => f.write_str(" (fetched per kid, none yet)"),
            (None, 0) => f.write_str(" (not fetched yet)"),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(keys: usize, age: Option<u64>, error: Option<&str>, next: Option<u64>) -> SourceHealth {
        SourceHealth {
            source: "https://example.test/jwks.json".into(),
            keys,
            age: age.map(Duration::from_secs),
            last_error: error.map(Into::into),
            next_attempt_in: next.map(Duration::from_secs),
            per_kid: false,
            optional: false,
        }
    }

    #[test]
    fn one_line_per_report() {
        let health = Health {
            pools: vec![
                PoolHealth {
                    pool: "eu".into(),
                    sources: vec![source(2, Some(12), None, Some(3588))],
                },
                PoolHealth {
                    pool: "us".into(),
                    sources: vec![
                        source(0, None, Some("the JWKS server answered 500"), Some(4)),
                        source(1, Some(3700), Some("timed out"), Some(8)),
                    ],
                },
                PoolHealth {
                    pool: "local".into(),
                    sources: vec![source(1, None, None, None)],
                },
            ],
        };
        assert!(!health.is_ready());
        assert_eq!(
            health.to_string(),
            "not ready: eu: 2 keys, 12 s old; us: no keys (the JWKS server answered 500; next attempt in 4 s) \
             / 1 key, 3700 s old (refresh failing: timed out; next attempt in 8 s); local: 1 key, inline"
        );
        let us = &health.pools[1];
        assert_eq!(
            (us.keys(), us.age(), us.last_error(), us.next_attempt_in()),
            (
                1,
                Some(Duration::from_secs(3700)),
                Some("the JWKS server answered 500"),
                Some(Duration::from_secs(4))
            )
        );
        let ready = Health {
            pools: vec![health.pools[0].clone(), health.pools[2].clone()],
        };
        assert!(ready.is_ready());
        assert!(ready.to_string().starts_with("ready: eu: 2 keys"));
        let unfetched = PoolHealth {
            pool: "eu".into(),
            sources: vec![source(0, None, None, Some(0))],
        };
        assert_eq!(unfetched.to_string(), "eu: no keys (not fetched yet)");
        assert!(!unfetched.is_ready());
    }

    #[test]
    fn a_source_fetched_per_kid_is_ready_until_a_fetch_fails() {
        let per_kid = |keys, error: Option<&str>| SourceHealth {
            per_kid: true,
            ..source(keys, None, error, Some(0))
        };
        assert!(per_kid(0, None).is_ready());
        assert_eq!(per_kid(0, None).to_string(), "no keys (fetched per kid, none yet)");
        assert!(!per_kid(0, Some("the load balancer key server answered 500")).is_ready());
        assert!(per_kid(2, Some("the load balancer key server answered 500")).is_ready());
    }

    #[test]
    fn a_pool_without_multi_region_replication_is_ready() {
        // Cognito answers 403 on the multi-Region issuer form's key set of such a pool.
        let twin = SourceHealth {
            optional: true,
            ..source(0, None, Some("the JWKS server answered 403"), Some(4))
        };
        let pool = PoolHealth {
            pool: "eu".into(),
            sources: vec![source(2, Some(12), None, Some(3588)), twin.clone()],
        };
        assert!(pool.is_ready());
        assert_eq!(pool.last_error(), Some("the JWKS server answered 403"));
        // The form the pool's own tokens use is still required.
        let down = PoolHealth {
            pool: "eu".into(),
            sources: vec![source(0, None, Some("timed out"), Some(4)), twin],
        };
        assert!(!down.is_ready());
        assert_eq!(down.last_error(), Some("timed out"));
    }

    /// Through a real verifier: a pool whose multi-Region issuer form's key set answers 403
    /// (Cognito's answer for a pool without replication) warms up, is ready, and verifies its
    /// own tokens; only the other form's tokens wait for keys.
    #[tokio::test]
    async fn a_pool_whose_multi_region_key_set_answers_403_is_ready_and_verifies()
    -> Result<(), Box<dyn std::error::Error>> {
        use crate::error::ErrorKind;
        use crate::settings::{CognitoSettings, KeySource, UserPool};
        use crate::{CognitoToken, Require, Verifier};
        use cognito_testkit::{JwksServer, Reply, SigningKey, access_claims, aws_issuer, jwks};

        let key = SigningKey::generate("k")?;
        let own = JwksServer::start(jwks(&[&key])).await?;
        let twin = JwksServer::start(jwks(&[&key])).await?;
        twin.set_reply(Reply::Status(403));
        let pool = UserPool::new("eu", "eu-west-1", "eu-west-1_P", ["c"]);
        let settings = CognitoSettings::new(vec![pool.clone()]);
        let classic = aws_issuer("eu-west-1", "eu-west-1_P");
        let replicated = "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_P".to_owned();
        // The AWS URLs of both forms, as the settings derive them, moved to loopback.
        let sources = vec![
            (classic.clone(), KeySource::Url(own.jwks_url("eu-west-1_P"))),
            (replicated.clone(), KeySource::Url(twin.jwks_url("eu-west-1_P"))),
        ];
        let verifier = Verifier::from_pool(&settings, &pool, &sources, None)?;
        assert_eq!(verifier.prefetch().await?, 1, "the warm-up does not fail on the 403");
        let health = verifier.health();
        assert!(health.is_ready(), "{health}");
        assert_eq!(health.last_error().map(|e| e.contains("403")), Some(true), "{health}");
        let own_token = key.sign(&access_claims(&classic, "c"))?;
        let token: CognitoToken = verifier.verify(&own_token, Require::NONE).await?;
        assert_eq!(token.client(), Some("c"));
        let twin_token = key.sign(&access_claims(&replicated, "c"))?;
        let refused = verifier.verify::<CognitoToken>(&twin_token, Require::NONE).await.err();
        assert_eq!(refused.map(|e| e.kind()), Some(ErrorKind::JwksUnavailable));
        Ok(())
    }
}
