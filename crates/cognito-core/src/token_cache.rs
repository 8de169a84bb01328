//! The verified-token cache (`token_cache:` in the settings): one per pool verifier.
//!
//! A token that passed the parse, the claim checks and the RSA signature check is remembered
//! with what a later request still has to judge: its time claims, its groups and scopes, its
//! decoded claims (for the caller's claims type), and the key set it was verified with.
//!
//! - A hit proves it is the very same token: the slot is located by the token's length and
//!   last 8 bytes (the tail of its RSA signature, uniformly distributed for distinct valid
//!   tokens) mixed with a per-cache random seed, but an entry answers only after comparing the
//!   WHOLE token, byte for byte. A forgery that lands on a slot (or differs anywhere, signature
//!   included) is a miss.
//! - Only verified tokens are ever inserted, so an attacker cannot fill the cache with junk;
//!   one slot per hash value (a colliding insert replaces) keeps every lookup O(1).
//! - Bounded: at most `max_entries` in all and at most `max_bytes` of entries as counted by
//!   [`Entry::charge`], oldest inserted evicted first (FIFO per shard).
//! - Admitted at the second sight: a verified token is remembered only when it verified before
//!   recently (a fixed array of recent slot keys, no allocation, no lock). A token that comes
//!   once, the common case under a flood of distinct tokens, costs no entry, no eviction and
//!   no copy; a token that comes back is a hit from its third request on.
//! - The caller (`verify.rs`) decides whether an entry may still serve: `exp`, `nbf`, `iat`,
//!   and whether its key set is still the one its JWKS cache serves.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::revocation::TokenIds;
use crate::settings::TokenCacheSettings;
use crate::token::{Facts, OwnedFacts};
use crate::verified::Verified;

/// Shards (each its own lock) once the cache is large enough to split.
const SHARDS: usize = 8;
/// Slots of the second-sight filter.
const SEEN_SLOTS: usize = 4096;

/// What a pool's verified-token cache holds (see [`crate::Verifier::token_cache_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TokenCacheStats {
    /// Whether the cache is on (`token_cache.enabled`).
    pub enabled: bool,
    /// Tokens remembered now (at most `token_cache.max_entries`).
    pub entries: usize,
    /// What those entries weigh, as the cache counts them against `token_cache.max_bytes`:
    /// each token, its groups and scope and its parsed claims, estimated generously.
    pub bytes: usize,
    /// Verifications answered from the cache so far.
    pub hits: u64,
}

/// One verified token and what a hit must still check.
pub(crate) struct Entry {
    /// The whole token: a hit compares it byte for byte.
    pub token: Box<str>,
    /// The token as a [`Verified`], parsed once when it was remembered: a hit hands it out
    /// (an `Arc` clone) to custom checks and the router-wide layer, and claims types
    /// deserialize from its claims without scanning text again. `None` if `serde_json::Value`
    /// cannot hold them (a number out of range in a claim nobody read); hits then parse the
    /// text.
    pub verified: Option<Verified>,
    /// What authorization reads (groups, scope, principal, sign-in), shared with `verified`.
    pub facts: Arc<OwnedFacts>,
    /// `exp`: the entry ends at `exp + leeway`.
    pub exp: f64,
    /// `nbf`, `iat`: re-checked on every hit (a clock may step back).
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    /// `sub` and the session (`origin_jti`, else `jti`): revocation is asked on every hit.
    pub sub: Option<Box<str>>,
    pub session: Option<Box<str>>,
    /// Which of the verifier's issuers (and so which JWKS cache) verified it.
    pub issuer: usize,
    /// The serial number of the key set that verified it: the entry ends when that JWKS cache
    /// serves another key set.
    pub key_serial: u64,
    /// When that key set was loaded (for its staleness and refresh).
    pub keys_loaded_at: Instant,
}

impl Entry {
    /// The decoded claims JSON (the token verified, so its payload decodes; empty otherwise).
    pub(crate) fn payload(&self) -> Vec<u8> {
        let middle = self
            .token
            .split_once('.')
            .and_then(|(_, rest)| rest.rsplit_once('.'))
            .map_or("", |(payload, _)| payload);
        URL_SAFE_NO_PAD.decode(middle).unwrap_or_default()
    }

    /// What authorization reads of it.
    pub(crate) fn facts(&self) -> Facts<'_, Box<str>> {
        self.facts.facts()
    }

    /// What revocation reads of it.
    pub(crate) fn ids(&self) -> TokenIds<'_> {
        TokenIds::new(self.sub.as_deref(), self.session.as_deref(), self.iat)
    }

    /// What this entry costs in memory, as counted against `max_bytes`: an over-estimate
    /// rather than an under-estimate, so the real footprint stays below the bound.
    pub(crate) fn charge(&self) -> usize {
        let text = |s: &str| s.len() + ALLOC_OVERHEAD;
        ENTRY_OVERHEAD
            + text(&self.token)
            + size_of::<OwnedFacts>()
            + ALLOC_OVERHEAD
            + self
                .facts
                .groups
                .iter()
                .map(|g| size_of::<Box<str>>() + text(g))
                .sum::<usize>()
            + self.facts.scope.as_deref().map_or(0, text)
            + self.facts.acr.as_deref().map_or(0, text)
            + self.sub.as_deref().map_or(0, text)
            + self.session.as_deref().map_or(0, text)
            + self.verified.as_ref().map_or(0, |v| {
                ALLOC_OVERHEAD + text(v.pool()) + value_bytes(v.header()) + value_bytes(v.claims())
            })
    }
}

/// What one heap allocation costs beyond its bytes (the allocator's header and rounding).
const ALLOC_OVERHEAD: usize = 16;
/// The entry itself, its `Arc`, its map slot and its place in the eviction order.
const ENTRY_OVERHEAD: usize = size_of::<Entry>() + 2 * ALLOC_OVERHEAD + 64;

/// The heap a parsed JSON value holds beyond its own `size_of::<Value>()`. Object members are
/// counted twice over (a B-tree or index map node is at worst about half full).
fn value_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    let slot = size_of::<Value>();
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity() + ALLOC_OVERHEAD,
        Value::Array(items) => items.capacity() * slot + ALLOC_OVERHEAD + items.iter().map(value_bytes).sum::<usize>(),
        Value::Object(members) => {
            members
                .iter()
                .map(|(name, item)| {
                    2 * (size_of::<String>() + slot) + name.capacity() + ALLOC_OVERHEAD + value_bytes(item)
                })
                .sum::<usize>()
                + ALLOC_OVERHEAD
        }
    }
}

/// The map's hasher: the keys are already keyed hashes, so they are used as they are.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; this keeps the trait whole.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Slots {
    map: HashMap<u64, Arc<Entry>, BuildHasherDefault<PassThrough>>,
    /// Insertion order of the keys in `map` (the same set, no duplicates): eviction order.
    order: VecDeque<u64>,
    /// The sum of the entries' [`Entry::charge`].
    bytes: usize,
}

#[derive(Default)]
struct Shard {
    slots: RwLock<Slots>,
    hits: AtomicU64,
}

/// The verified tokens of one pool verifier.
pub(crate) struct TokenCache {
    shards: Box<[Shard]>,
    per_shard: usize,
    /// `max_bytes`, split evenly between the shards.
    bytes_per_shard: usize,
    /// Random per cache, so slot placement cannot be predicted from outside.
    seed: u64,
    /// The slot keys of recently verified tokens not (yet) remembered.
    seen: Box<[AtomicU64]>,
}

impl TokenCache {
    /// A cache per these settings, or `None` when it is switched off.
    pub(crate) fn new(settings: &TokenCacheSettings) -> Option<Self> {
        if !settings.enabled || settings.max_entries == 0 {
            return None;
        }
        // Split only when every shard still gets a fair share; never exceed the bound.
        let shards = if settings.max_entries >= SHARDS * 16 { SHARDS } else { 1 };
        Some(Self {
            shards: (0..shards).map(|_| Shard::default()).collect(),
            per_shard: settings.max_entries / shards,
            bytes_per_shard: settings.max_bytes / shards,
            seed: RandomState::new().hash_one(0x0063_6f67_6e69_746f_u64) | 1,
            seen: (0..SEEN_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// The token's key and its shard (`None` only for a cache without shards, which `new`
    /// never builds).
    fn slot_of(&self, token: &str) -> Option<(u64, &Shard)> {
        let bytes = token.as_bytes();
        let mut tail = [0u8; 8];
        let start = bytes.len().saturating_sub(8);
        for (t, b) in tail.iter_mut().zip(bytes.get(start..).unwrap_or_default()) {
            *t = *b;
        }
        // A multiply-xorshift mix: every output bit depends on every input bit.
        let mut key = (u64::from_le_bytes(tail) ^ self.seed).wrapping_add(bytes.len() as u64);
        key = (key ^ (key >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
        key = (key ^ (key >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93);
        key ^= key >> 32;
        // The high bits pick the shard; the map uses all of them.
        let index = (key >> 58) as usize % self.shards.len().max(1);
        self.shards.get(index).map(|shard| (key, shard))
    }

    /// The entry of exactly this token, if one is cached and `may_serve` accepts it (checked
    /// outside the lock); only then does it count as a hit.
    pub(crate) fn get(&self, token: &str, may_serve: impl FnOnce(&Entry) -> bool) -> Option<Arc<Entry>> {
        let (key, shard) = self.slot_of(token)?;
        let entry = {
            let slots = shard.slots.read().unwrap_or_else(PoisonError::into_inner);
            let entry = slots.map.get(&key)?;
            if *entry.token != *token {
                return None;
            }
            Arc::clone(entry)
        };
        if !may_serve(&entry) {
            return None;
        }
        shard.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    /// Whether a token that just verified should be remembered: yes if it verified recently
    /// before (its slot key is in the filter); otherwise it is noted there, and not remembered.
    pub(crate) fn admit(&self, token: &str) -> bool {
        let Some((key, _)) = self.slot_of(token) else {
            return false;
        };
        let Some(slot) = self.seen.get(key as usize % SEEN_SLOTS) else {
            return false;
        };
        if slot.load(Ordering::Relaxed) == key {
            return true;
        }
        slot.store(key, Ordering::Relaxed);
        false
    }

    /// Remembers a verified token, evicting the oldest entries of its shard past either bound.
    /// An entry that alone exceeds its shard's share of `max_bytes` is not remembered.
    pub(crate) fn insert(&self, entry: Entry) {
        let Some((key, shard)) = self.slot_of(&entry.token) else {
            return;
        };
        let charge = entry.charge();
        if charge > self.bytes_per_shard {
            return;
        }
        let entry = Arc::new(entry);
        let mut evicted = Vec::new();
        {
            let mut slots = shard.slots.write().unwrap_or_else(PoisonError::into_inner);
            match slots.map.insert(key, entry) {
                // A colliding token replaced: its place in the order stays, its weight goes.
                Some(old) => {
                    slots.bytes = slots.bytes.saturating_sub(old.charge());
                    evicted.push(old);
                }
                None => slots.order.push_back(key),
            }
            slots.bytes += charge;
            while slots.order.len() > self.per_shard || slots.bytes > self.bytes_per_shard {
                let Some(old) = slots.order.pop_front() else {
                    break;
                };
                if let Some(gone) = slots.map.remove(&old) {
                    slots.bytes = slots.bytes.saturating_sub(gone.charge());
                    evicted.push(gone);
                }
            }
        }
        // Entries are freed outside the lock.
        drop(evicted);
    }

    /// How many tokens are cached now, and what they weigh ([`Entry::charge`]).
    pub(crate) fn size(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(entries, bytes), s| {
            let slots = s.slots.read().unwrap_or_else(PoisonError::into_inner);
            (entries + slots.map.len(), bytes + slots.bytes)
        })
    }

    /// How many lookups found their token so far.
    pub(crate) fn hits(&self) -> u64 {
        self.shards.iter().map(|s| s.hits.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(token: &str) -> Entry {
        Entry {
            token: token.into(),
            verified: None,
            facts: Arc::default(),
            exp: 0.0,
            nbf: None,
            iat: None,
            sub: None,
            session: None,
            issuer: 0,
            key_serial: 0,
            keys_loaded_at: Instant::now(),
        }
    }

    fn settings(max_entries: usize, max_bytes: usize) -> TokenCacheSettings {
        TokenCacheSettings {
            enabled: true,
            max_entries,
            max_bytes,
        }
    }

    #[test]
    fn switched_off() {
        let off = TokenCacheSettings {
            enabled: false,
            ..settings(5, 1 << 20)
        };
        assert!(TokenCache::new(&off).is_none());
    }

    #[test]
    fn whole_token_match_and_entry_bound() -> Result<(), &'static str> {
        for max in [1, 3, 127, 128, 1000] {
            let cache = TokenCache::new(&settings(max, usize::MAX / 2)).ok_or("no cache")?;
            for i in 0..3 * max {
                cache.insert(entry(&format!("header.payload.sig-{i:040}")));
                assert!(cache.size().0 <= max);
            }
            let newest = format!("header.payload.sig-{:040}", 3 * max - 1);
            assert!(cache.get(&newest, |_| true).is_some());
            assert!(cache.get(&newest, |_| false).is_none(), "refused, not a hit");
            // Same tail, same length, other body: located by the tail, refused by the compare.
            let forged = newest.replacen("header", "HEADER", 1);
            assert!(cache.get(&forged, |_| true).is_none());
            assert_eq!(cache.hits(), 1);
        }
        Ok(())
    }

    #[test]
    fn byte_bound_holds_with_large_claims() -> Result<(), &'static str> {
        let max_bytes = 2 << 20;
        let cache = TokenCache::new(&settings(10_000, max_bytes)).ok_or("no cache")?;
        // Claims of many small members: the parsed form weighs many times the text.
        let members: serde_json::Map<String, serde_json::Value> = (0..500)
            .map(|i| (format!("m{i}"), serde_json::Value::from(i)))
            .collect();
        let claims = serde_json::Value::Object(members);
        let mut one = entry("x");
        one.verified = Some(Verified::new(
            "p",
            serde_json::Value::Null,
            claims.clone(),
            Arc::default(),
        ));
        let weight = one.charge();
        assert!(weight > 500 * 2 * size_of::<serde_json::Value>(), "{weight}");
        for i in 0..200 {
            let mut e = entry(&format!("header.{}.sig-{i:040}", "p".repeat(8000)));
            e.verified = Some(Verified::new(
                "p",
                serde_json::Value::Null,
                claims.clone(),
                Arc::default(),
            ));
            cache.insert(e);
            let (entries, bytes) = cache.size();
            assert!(bytes <= max_bytes, "{bytes} > {max_bytes} with {entries} entries");
        }
        let (entries, _) = cache.size();
        assert!((1..200).contains(&entries), "{entries}");
        // An entry bigger than a shard's share is never remembered.
        let tiny = TokenCache::new(&settings(10, 100)).ok_or("no cache")?;
        tiny.insert(entry("a.b.c"));
        assert_eq!(tiny.size(), (0, 0));
        Ok(())
    }
}
