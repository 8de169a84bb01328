//! The load balancers' keys: one PEM per kid, fetched on the shared fetcher, kept once a
//! signature verified with them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine as _;
use reqwest::Url;

use super::{AlbSettings, LENIENT_STANDARD, unknown_kid};
use crate::error::{AuthError, ErrorKind};
use crate::fetch::{Attempt, Document, Fetcher, Gate, Location, http_client};
use crate::health::SourceHealth;
use crate::observe::SourceObserver;
use crate::settings::JwksSettings;
use crate::url_rules::redact_template;

/// One kid's key, judged once when fetched.
enum KeyEntry {
    Key(ParsedPublicKey),
    /// Served under this kid, but not a P-256 public key; why, for the operator.
    Unusable(&'static str),
}

impl KeyEntry {
    /// The signature check with this key: `bad_signature`, or `invalid_jwk` for a key that
    /// cannot verify anything.
    fn check(&self, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        match self {
            KeyEntry::Key(key) => key
                .verify_sig(message, signature)
                .map_err(|_| AuthError::new(ErrorKind::BadSignature)),
            KeyEntry::Unusable(why) => Err(AuthError::with_message(
                ErrorKind::InvalidJwk,
                "The load balancer's key for this token cannot verify it.",
            )
            .with_detail(*why)),
        }
    }
}

/// A key a signature has verified with, and when it was last used (a tick of the cache's
/// clock: larger is more recent).
struct Slot {
    key: Arc<KeyEntry>,
    used: AtomicU64,
}

/// Fetched keys that no signature has verified yet (at most `max_keys`, oldest out first),
/// apart from the proven ones so that they never push one out; a token of such a kid is
/// checked against it without a new fetch, and the first that verifies proves it.
#[derive(Default)]
struct Unproven {
    keys: HashMap<String, Arc<KeyEntry>>,
    /// The kids of `keys`, oldest first.
    order: VecDeque<String>,
}

/// The keys of one key URL template, one PEM per kid.
///
/// - A key is kept (at most `max_keys`) only once a signature has verified with it; the least
///   recently used one goes first, so a key in use stays. A fetched key whose first token
///   fails its signature is held apart (see [`Unproven`]) and never evicts a proven key.
/// - Fetches run on the shared fetcher (`crate::fetch`), as a JWKS's do: one at a time
///   (single flight: concurrent requests for a new kid cause one), with the same deadline,
///   size cap, backoff (1 s doubling to 60 s; `jwks_unavailable` meanwhile for a kid not
///   held), events, metrics and health.
/// - Bounded fetches for kids not held: a fetch that yields no key to verify with (the key
///   server does not have the kid, or the fetched key fails the first signature checked with
///   it) starts the fetcher's cool-down of `jwks.cooldown_secs`, during which a token of any
///   kid not held is `unknown_kid` without a fetch. So forged kids cost at most one fetch per
///   cool-down, as for a JWKS; a fetch whose key verifies the token that asked for it starts
///   none (a load balancer's new key, or several load balancers' first, cost no wait). The
///   price: a genuinely new kid first seen during a cool-down is `unknown_kid` until it ends.
pub(super) struct KeyCache {
    client: reqwest::Client,
    max_keys: usize,
    /// The proven keys.
    keys: RwLock<HashMap<String, Slot>>,
    /// The clock of `Slot::used`: bumped on every use.
    clock: AtomicU64,
    unproven: Mutex<Unproven>,
    /// Fetches, under the redacted key URL template; its flight is held for the whole of a
    /// fetch and the first signature check with what it fetched.
    fetcher: Fetcher,
}

impl KeyCache {
    pub(super) fn new(
        alb: &AlbSettings,
        tuning: &JwksSettings,
        client: Option<&reqwest::Client>,
    ) -> Result<Self, String> {
        let observer = SourceObserver::shown_as(redact_template(&alb.template()));
        Ok(Self {
            client: match client {
                Some(client) => client.clone(),
                None => http_client(tuning)?,
            },
            max_keys: alb.max_keys,
            keys: RwLock::default(),
            clock: AtomicU64::new(0),
            unproven: Mutex::default(),
            fetcher: Fetcher::new("the load balancer key", Document::KeyPerKid, tuning, observer),
        })
    }

    pub(super) fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }

    fn unproven(&self) -> std::sync::MutexGuard<'_, Unproven> {
        self.unproven.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The check with the key held for `kid`, if there is one: the proven key (marked as used
    /// now), else the fetched but unproven one, which a signature that verifies proves.
    fn held(&self, kid: &str, message: &[u8], signature: &[u8]) -> Option<Result<(), AuthError>> {
        let proven = {
            let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            keys.get(kid).map(|slot| {
                slot.used.store(self.tick(), Ordering::Relaxed);
                Arc::clone(&slot.key)
            })
        };
        if let Some(key) = proven {
            return Some(key.check(message, signature));
        }
        let key = self.unproven().keys.get(kid).cloned()?;
        let result = key.check(message, signature);
        if result.is_ok() {
            let mut unproven = self.unproven();
            unproven.keys.remove(kid);
            unproven.order.retain(|k| k != kid);
            drop(unproven);
            self.install(kid, key);
        }
        Some(result)
    }

    /// The answer to give without fetching, if there is one: a backoff, or a cool-down.
    fn gate(&self) -> Option<AuthError> {
        match self.fetcher.gate(true)? {
            Gate::Backoff(wait, last_error) => Some(unavailable(wait, last_error)),
            Gate::CoolingDown => Some(unknown_kid()),
        }
    }

    /// Checks `signature` over `message` with the key of `kid`, fetching it if no key of that
    /// kid is held and no backoff or cool-down forbids it.
    pub(super) async fn verify(
        &self,
        alb: &AlbSettings,
        kid: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), AuthError> {
        if let Some(result) = self.held(kid, message, signature) {
            return result;
        }
        if let Some(refusal) = self.gate() {
            return Err(refusal);
        }
        let _flight = self.fetcher.flight().await;
        // Whoever held the flight before may have fetched this kid, started a cool-down or
        // learnt that the server is down: then no second fetch.
        if let Some(result) = self.held(kid, message, signature) {
            return result;
        }
        if let Some(refusal) = self.gate() {
            return Err(refusal);
        }
        // The template was checked at load with a UUID in place of the kid, so this parses.
        let url = Url::parse(&alb.key_url_for(kid)?).map_err(|_| unknown_kid())?;
        let location = Location::Http {
            client: self.client.clone(),
            url,
        };
        let (body, attempt) = self.fetcher.get(&location).await;
        match body {
            Ok(Some(pem)) if std::str::from_utf8(&pem).is_ok_and(|t| t.contains("-----BEGIN ")) => {
                let key = Arc::new(judge(&pem));
                let result = key.check(message, signature);
                if result.is_ok() {
                    self.install(kid, key);
                } else {
                    self.hold_unproven(kid, key);
                    self.fetcher.cool_down();
                }
                self.fetcher.answered(attempt, true, self.len());
                result
            }
            Ok(None) => {
                self.fetcher.cool_down();
                self.fetcher.answered(attempt, false, self.len());
                Err(unknown_kid())
            }
            Ok(Some(_)) => {
                let error = "the load balancer key server answered something that is not PEM".to_owned();
                Err(self.failed(attempt, error))
            }
            Err(error) => Err(self.failed(attempt, error)),
        }
    }

    /// A failed fetch: the backoff starts, and the refusal says for how long.
    fn failed(&self, attempt: Attempt, error: String) -> AuthError {
        let held = self.len();
        let stale = self.fetcher.last_fetched().filter(|_| held > 0).map(|at| at.elapsed());
        let wait = self.fetcher.failed(attempt, error.clone(), stale);
        unavailable(wait, Some(error))
    }

    /// Keeps a fetched key whose first signature check failed apart, the oldest such key out
    /// past `max_keys`.
    fn hold_unproven(&self, kid: &str, key: Arc<KeyEntry>) {
        let mut unproven = self.unproven();
        while unproven.order.len() >= self.max_keys {
            match unproven.order.pop_front() {
                Some(oldest) => unproven.keys.remove(&oldest),
                None => break,
            };
        }
        if unproven.keys.insert(kid.to_owned(), key).is_none() {
            unproven.order.push_back(kid.to_owned());
        }
    }

    /// Keeps the proven `key` under `kid`, dropping the least recently used key past
    /// `max_keys`.
    fn install(&self, kid: &str, key: Arc<KeyEntry>) {
        let used = AtomicU64::new(self.tick());
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if !keys.contains_key(kid) && keys.len() >= self.max_keys {
            // A scan, under the write lock: only a key a load balancer signed with gets here.
            let lru = keys
                .iter()
                .min_by_key(|(_, slot)| slot.used.load(Ordering::Relaxed))
                .map(|(kid, _)| kid.clone());
            if let Some(lru) = lru {
                keys.remove(&lru);
            }
        }
        keys.insert(kid.to_owned(), Slot { key, used });
        drop(keys);
        self.fetcher.touch();
    }

    /// What the cache holds now, for the health report (no I/O); with the `metrics` feature
    /// it also sets the keys and age gauges.
    pub(super) fn health(&self) -> SourceHealth {
        let age = self.fetcher.last_fetched().map(|at| at.elapsed());
        self.fetcher.health(self.len(), age, None)
    }
}

fn unavailable(wait: Duration, detail: Option<String>) -> AuthError {
    AuthError::unavailable(wait, detail)
        .with_sentence("The load balancer's signing key cannot be fetched right now; try again later.")
}

/// The key checks, once per kid: one PEM `PUBLIC KEY` block holding a P-256 public key.
fn judge(pem: &[u8]) -> KeyEntry {
    let text = String::from_utf8_lossy(pem);
    let Some(body) = text
        .split_once("-----BEGIN PUBLIC KEY-----")
        .and_then(|(_, rest)| rest.split_once("-----END PUBLIC KEY-----"))
        .map(|(body, _)| body)
    else {
        return KeyEntry::Unusable("the PEM holds no PUBLIC KEY block");
    };
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let Ok(der) = LENIENT_STANDARD.decode(b64) else {
        return KeyEntry::Unusable("the PEM's body is not base64");
    };
    match ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, der) {
        Ok(key) => KeyEntry::Key(key),
        Err(_) => KeyEntry::Unusable("the PEM does not hold a P-256 public key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_that_is_not_p256_is_unusable() {
        assert!(matches!(judge(b"hello"), KeyEntry::Unusable(_)));
        assert!(matches!(
            judge(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            KeyEntry::Unusable(_)
        ));
    }
}
