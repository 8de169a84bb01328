//! Token-cache admission: which verified tokens are remembered, and when a remembered one
//! may answer again (its time claims still hold, its key set still serves). A hit skips the
//! key and the signature, never the time rule, revocation, the requirement or the checks.

use std::sync::Arc;
use std::time::SystemTime;

use super::Verifier;
use super::answer;
use super::pipeline::Prechecked;
use crate::jwks::Loaded;
use crate::time::{Times, unix_now};
use crate::token::Token;
use crate::token_cache::Entry;

impl Verifier {
    /// The cached verification of exactly this token, if it may still serve: the entry's key
    /// set is still the one its JWKS cache serves, and its time claims still hold now. Any
    /// doubt is a miss, and the full path then gives the precise answer.
    pub(super) fn cache_hit(&self, token: &str) -> Option<Arc<Entry>> {
        let inner = &*self.inner;
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
    pub(super) fn remember(&self, token: &str, parsed: &Token<'_>, checked: &Prechecked<'_>, keys: &Loaded) {
        let Some(cache) = &self.inner.token_cache else {
            return;
        };
        let c = &checked.claims;
        let Some(exp) = c.exp else {
            return;
        };
        let fresh = unix_now(SystemTime::now()).is_ok_and(|now| now < exp + self.inner.leeway);
        if !fresh || !cache.admit(token) {
            return;
        }
        // Parsed once here, at the token's second verification, so an entry's size is known
        // when it is charged to the cache's byte bound.
        let facts = Arc::new(c.facts().to_owned());
        let verified = answer::verified(&self.inner.pool, parsed.header_json(), parsed.payload(), &facts).ok();
        cache.insert(Entry {
            token: token.into(),
            verified,
            facts,
            sub: c.sub.as_deref().map(Box::from),
            session: c.origin_jti.as_deref().or(c.jti.as_deref()).map(Box::from),
            exp,
            nbf: c.nbf,
            iat: c.iat,
            issuer: checked.issuer,
            key_serial: keys.serial,
            keys_loaded_at: keys.loaded_at(),
        });
    }
}
