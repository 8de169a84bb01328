//! The strict JSON primitives of the parse: strings borrowed from the input, member names
//! refused when seen twice (at every depth), values skipped without being kept.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Str<'a>(pub(super) Cow<'a, str>);

impl Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(StrVisitor)
    }
}

/// The member names of one JSON object seen so far, to reject a name seen before (RFC 7515 4 /
/// RFC 7519 4: duplicates must be refused, since parsers disagree on which one wins).
///
/// The names the parse knows are one bit each (no allocation, no scan); any other name is kept
/// in a short list that allocates only when such a name appears, and moves to a hash set once
/// it is long enough that scanning it would cost more: an object of n names costs O(n), so a
/// header of thousands of names is no CPU amplifier.
#[derive(Default)]
pub(super) struct Seen<'a> {
    known: u32,
    others: Others<'a>,
}

/// The unknown names of [`Seen`].
enum Others<'a> {
    Few(Vec<Str<'a>>),
    Many(HashSet<Str<'a>>),
}

impl Default for Others<'_> {
    fn default() -> Self {
        Others::Few(Vec::new())
    }
}

/// Past this many unknown names, [`Seen`] hashes instead of scanning.
const SCAN_LIMIT: usize = 8;

impl<'a> Seen<'a> {
    /// `key` unless it was seen before; `bit` is its bit among the known names, if it is one.
    pub(super) fn first_time<E: de::Error>(&mut self, key: Str<'a>, bit: Option<u32>) -> Result<Str<'a>, E> {
        let fresh = match bit {
            Some(bit) => {
                let mask = 1u32 << bit;
                let fresh = self.known & mask == 0;
                self.known |= mask;
                fresh
            }
            None => self.others.insert(&key),
        };
        if fresh {
            Ok(key)
        } else {
            Err(E::custom("duplicate member"))
        }
    }
}

impl<'a> Others<'a> {
    /// Adds `key`; false if it was there already.
    fn insert(&mut self, key: &Str<'a>) -> bool {
        match self {
            Others::Few(names) => {
                if names.iter().any(|k| k == key) {
                    return false;
                }
                if names.len() < SCAN_LIMIT {
                    names.push(key.clone());
                } else {
                    let mut set: HashSet<Str<'a>> = names.drain(..).collect();
                    set.insert(key.clone());
                    *self = Others::Many(set);
                }
                true
            }
            Others::Many(set) => set.insert(key.clone()),
        }
    }
}

/// Any JSON value, skipped, with duplicate member names refused in every object at any depth:
/// a claim nobody reads here may still be read by the caller's claims type, and
/// `{"x":{"role":"user","role":"admin"}}` must not mean one thing to one parser and another
/// to the next. (serde_json bounds the nesting depth.)
pub(crate) struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SkipVisitor;
        impl<'de> Visitor<'de> for SkipVisitor {
            type Value = Skipped;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_str<E>(self, _: &str) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_unit<E>(self) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_none<E>(self) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skipped, D::Error> {
                Skipped::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skipped, A::Error> {
                while seq.next_element::<Skipped>()?.is_some() {}
                Ok(Skipped)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skipped, A::Error> {
                let mut seen = Seen::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    seen.first_time(key, None)?;
                    map.next_value::<Skipped>()?;
                }
                Ok(Skipped)
            }
        }
        d.deserialize_any(SkipVisitor)
    }
}
