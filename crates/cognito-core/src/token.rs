//! Reading a token: the header rule (the first step of verification) and the strict
//! compact-JWS parse (the second). Nothing here allocates more than the decoded segments;
//! claims are borrowed.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{AuthError, ErrorKind};

/// The header step: the token out of the configured header's values (all occurrences, in
/// order).
///
/// Absent or blank -> `missing_token`; repeated header, wrong scheme, no token or extra parts ->
/// `invalid_header`; longer than `max_bytes` -> `too_large`. One or more spaces may separate
/// scheme and token (RFC 7235); an empty `prefix` means the whole value is the token.
pub(crate) fn from_header<'a, I>(values: I, prefix: &str, max_bytes: usize) -> Result<&'a str, AuthError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Err(ErrorKind::MissingToken.into());
    };
    if values.next().is_some() {
        return Err(AuthError::with_message(
            ErrorKind::InvalidHeader,
            "The authorization header appears more than once.",
        ));
    }
    let value = std::str::from_utf8(value)
        .map_err(|_| AuthError::new(ErrorKind::InvalidHeader))?
        .trim_matches(|c| c == ' ' || c == '\t');
    if value.is_empty() {
        return Err(ErrorKind::MissingToken.into());
    }
    let token = if prefix.is_empty() {
        value
    } else {
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case(prefix) {
            return Err(ErrorKind::InvalidHeader.into());
        }
        rest.trim_start_matches(' ')
    };
    if token.is_empty() || !all_ascii_graphic(token.as_bytes()) {
        return Err(ErrorKind::InvalidHeader.into());
    }
    check_size(token, max_bytes)?;
    Ok(token)
}

/// `bytes.iter().all(u8::is_ascii_graphic)` (0x21..=0x7E), eight bytes at a time: a token is
/// about a kilobyte, and this runs on every request.
fn all_ascii_graphic(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::MAX / 255; // 0x0101..01
    const HIGH: u64 = ONES << 7; // 0x8080..80
    let mut chunks = bytes.chunks_exact(8);
    let mut bad = 0u64;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Some byte below 0x21 ("has less than", exact for n <= 128) ...
        bad |= x.wrapping_sub(ONES * 0x21) & !x & HIGH;
        // ... or above 0x7E, including every byte >= 0x80 ("has more than" 0x7E, exact for
        // n <= 127: add 127 - 0x7E = 1 to each byte).
        bad |= (x.wrapping_add(ONES) | x) & HIGH;
    }
    bad == 0 && chunks.remainder().iter().all(u8::is_ascii_graphic)
}

pub(crate) fn check_size(token: &str, max_bytes: usize) -> Result<(), AuthError> {
    if token.len() > max_bytes {
        return Err(ErrorKind::TooLarge.into());
    }
    Ok(())
}

fn malformed(message: &'static str) -> AuthError {
    AuthError::with_message(ErrorKind::Malformed, message)
}

/// `serde_json::from_slice`, faster: when the whole text is UTF-8 (one fast pass, nearly always
/// true), `from_str` gives the same result without validating every string again; otherwise
/// `from_slice` decides, exactly as before (it does not judge the strings it skips).
pub(crate) fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

fn not_base64url() -> AuthError {
    malformed("A token part is not unpadded base64url.")
}

/// A compact JWS split and decoded, not yet trusted.
///
/// The header and payload are decoded into one buffer (one allocation). The signature is only
/// checked to be unpadded base64url here, so the parse rejects exactly what decoding would
/// reject, and decoded by [`Token::signature`] once the claims and the key have passed: tokens
/// refused before RSA never pay for it.
pub(crate) struct Token<'t> {
    /// `<header>.<payload>` as sent: what the signature covers.
    pub signing_input: &'t str,
    /// The header JSON, then the payload JSON.
    json: Vec<u8>,
    /// Where the payload starts in `json`.
    payload_at: usize,
    signature_b64: &'t str,
}

impl<'t> Token<'t> {
    /// The parse step, syntax: three base64url segments, no padding, no whitespace.
    pub(crate) fn decode(token: &'t str) -> Result<Self, AuthError> {
        let three_parts = || malformed("The token does not have exactly three dot-separated parts.");
        // Split at the first and the last dot (short scans from either end). A dot in between
        // would make more than three parts: '.' is not base64url, so the middle part then fails
        // to decode, and that failure is reported as the part count, as a full split would.
        let (Some((header, rest)), Some(last_dot)) = (token.split_once('.'), token.rfind('.')) else {
            return Err(three_parts());
        };
        let (Some(payload), Some(signature)) = (
            rest.get(..last_dot.saturating_sub(header.len() + 1)),
            token.get(last_dot + 1..),
        ) else {
            return Err(three_parts());
        };
        if last_dot == header.len() {
            return Err(three_parts()); // one dot: two parts
        }
        let bad_part = || {
            if payload.contains('.') {
                three_parts()
            } else {
                not_base64url()
            }
        };
        let mut json = Vec::with_capacity((header.len() + payload.len()) / 4 * 3 + 6);
        URL_SAFE_NO_PAD.decode_vec(header, &mut json).map_err(|_| bad_part())?;
        let payload_at = json.len();
        URL_SAFE_NO_PAD.decode_vec(payload, &mut json).map_err(|_| bad_part())?;
        if !is_unpadded_base64url(signature.as_bytes()) {
            return Err(not_base64url());
        }
        Ok(Token {
            signing_input: token.get(..header.len() + 1 + payload.len()).unwrap_or_default(),
            json,
            payload_at,
            signature_b64: signature,
        })
    }

    /// The JOSE header, strictly parsed.
    pub(crate) fn header(&self) -> Result<JoseHeader<'_>, AuthError> {
        parse_json(self.json.get(..self.payload_at).unwrap_or_default())
            .map_err(|_| malformed("The token header is not a valid JOSE header."))
    }

    /// The claims the checks read, strictly typed.
    pub(crate) fn claims(&self) -> Result<ClaimsView<'_>, AuthError> {
        let claims: ClaimsView<'_> =
            parse_json(self.payload()).map_err(|_| malformed("The token claims are not valid."))?;
        if claims.exp.is_none() {
            return Err(malformed("The token has no exp claim."));
        }
        Ok(claims)
    }

    /// The decoded JOSE header JSON.
    pub(crate) fn header_json(&self) -> &[u8] {
        self.json.get(..self.payload_at).unwrap_or_default()
    }

    /// The decoded payload JSON, for deserializing the caller's claims type.
    pub(crate) fn payload(&self) -> &[u8] {
        self.json.get(self.payload_at..).unwrap_or_default()
    }

    /// The decoded signature (its syntax was checked by [`Token::decode`]).
    pub(crate) fn signature(&self) -> Result<Vec<u8>, AuthError> {
        URL_SAFE_NO_PAD.decode(self.signature_b64).map_err(|_| not_base64url())
    }
}

/// Whether `URL_SAFE_NO_PAD` would decode `segment`: only URL-safe alphabet characters (no
/// padding), a length that is not 1 mod 4, and the unused low bits of the last character zero
/// (canonical encoding), without decoding it.
fn is_unpadded_base64url(segment: &[u8]) -> bool {
    let Some(&last) = segment.last() else {
        return true;
    };
    // Comparisons without a branch or a table load, in blocks, so the compiler checks a block
    // per vector instruction: this runs on every token, the rejected ones included.
    let in_alphabet = |b: u8| b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_');
    if !segment
        .chunks(64)
        .all(|block| block.iter().fold(true, |ok, &b| ok & in_alphabet(b)))
    {
        return false;
    }
    let last = B64URL_VALUE[usize::from(last)];
    match segment.len() % 4 {
        1 => false,
        2 => last & 0x0f == 0,
        3 => last & 0x03 == 0,
        _ => true,
    }
}

/// Marks a byte outside the base64url alphabet in [`B64URL_VALUE`].
const INVALID: u8 = 0x80;

/// Each byte's base64url value (0-63), or [`INVALID`].
const B64URL_VALUE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        table[b'A' as usize + i] = i as u8;
        table[b'a' as usize + i] = 26 + i as u8;
        if i < 10 {
            table[b'0' as usize + i] = 52 + i as u8;
        }
        i += 1;
    }
    table[b'-' as usize] = 62;
    table[b'_' as usize] = 63;
    table
};

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Str<'a>(Cow<'a, str>);

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
struct Seen<'a> {
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
    fn first_time<E: de::Error>(&mut self, key: Str<'a>, bit: Option<u32>) -> Result<Str<'a>, E> {
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

/// The claim names the parse knows, each with its bit in [`Seen`].
const CLAIM_NAMES: [&str; 16] = [
    "iss",
    "token_use",
    "client_id",
    "aud",
    "scope",
    "exp",
    "nbf",
    "iat",
    "cognito:groups",
    "sub",
    "username",
    "cognito:username",
    "jti",
    "auth_time",
    "origin_jti",
    "acr",
];

/// A JOSE header has a handful of members (Cognito's: `kid`, `alg`; an ALB's: seven); one
/// with more than this is refused before its members cost anything further.
const MAX_HEADER_MEMBERS: usize = 64;

/// The header member names the parse knows.
const HEADER_NAMES: [&str; 3] = ["alg", "kid", "crit"];

fn bit_of(names: &[&str], key: &str) -> Option<u32> {
    names.iter().position(|n| *n == key).map(|i| i as u32)
}

/// The JOSE header members we read.
#[derive(Debug)]
pub(crate) struct JoseHeader<'a> {
    /// Absent is not malformed: no allow-list holds "no algorithm", so it is `unsupported_alg`.
    pub alg: Option<Str<'a>>,
    pub kid: Option<Str<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for JoseHeader<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = JoseHeader<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JoseHeader<'de>, A::Error> {
                let mut seen = Seen::default();
                let (mut alg, mut kid) = (None, None);
                let mut members = 0usize;
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    members += 1;
                    if members > MAX_HEADER_MEMBERS {
                        return Err(de::Error::custom("too many header members"));
                    }
                    let bit = bit_of(&HEADER_NAMES, &key);
                    match &*seen.first_time(key, bit)? {
                        "alg" => alg = Some(map.next_value::<Str<'de>>()?),
                        "kid" => kid = Some(map.next_value::<Str<'de>>()?),
                        // We implement no JWS extension, so any critical one is not understood.
                        "crit" => return Err(de::Error::custom("crit is not supported")),
                        _ => {
                            map.next_value::<Skipped>()?;
                        }
                    }
                }
                Ok(JoseHeader { alg, kid })
            }
        }
        d.deserialize_map(HeaderVisitor)
    }
}

/// The claims the checks need, borrowed; the standard claims we read are type-checked even
/// when only the caller's claims type uses them.
#[derive(Debug, Default)]
pub(crate) struct ClaimsView<'a> {
    pub iss: Option<Str<'a>>,
    pub token_use: Option<Str<'a>>,
    pub client_id: Option<Str<'a>>,
    pub aud: Option<Str<'a>>,
    pub scope: Option<Str<'a>>,
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub groups: Vec<Str<'a>>,
    pub sub: Option<Str<'a>>,
    /// Whether `username` or `cognito:username` is present (a user's token).
    pub has_username: bool,
    pub jti: Option<Str<'a>>,
    pub auth_time: Option<f64>,
    /// Informational: absent when not a string.
    pub origin_jti: Option<Str<'a>>,
    /// Informational: absent when not a string.
    pub acr: Option<Str<'a>>,
}

impl ClaimsView<'_> {
    /// Whether it is a machine's token (client credentials): an access token with no user
    /// name whose `sub` is its `client_id`.
    pub(crate) fn is_machine(&self) -> bool {
        is_machine(
            self.token_use.as_deref(),
            self.has_username,
            self.sub.as_deref(),
            self.client_id.as_deref(),
        )
    }

    /// What authorization reads of it.
    pub(crate) fn facts(&self) -> Facts<'_, Str<'_>> {
        Facts {
            groups: &self.groups,
            scope: self.scope.as_deref(),
            machine: self.is_machine(),
            auth_time: self.auth_time,
            acr: self.acr.as_deref(),
        }
    }

    /// What revocation reads of it.
    pub(crate) fn ids(&self) -> crate::revocation::TokenIds<'_> {
        crate::revocation::TokenIds {
            sub: self.sub.as_deref(),
            session: self.origin_jti.as_deref().or(self.jti.as_deref()),
            iat: self.iat,
        }
    }
}

/// A string claim that is not judged: any other JSON value reads as absent.
struct Lenient<'a>(Option<Str<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LenientVisitor;
        impl<'de> Visitor<'de> for LenientVisitor {
            type Value = Lenient<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Lenient<'de>, E> {
                Ok(Lenient(Some(Str(Cow::Borrowed(v)))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient<'de>, E> {
                Ok(Lenient(Some(Str(Cow::Owned(v.to_owned())))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E>(self) -> Result<Lenient<'de>, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient<'de>, A::Error> {
                while seq.next_element::<Skipped>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lenient<'de>, A::Error> {
                // Duplicate members are refused at any depth, as everywhere in the parse.
                Skipped::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(LenientVisitor)
    }
}

/// `cognito:groups`: an array of strings.
struct Groups<'a>(Vec<Str<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Groups<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct GroupsVisitor;
        impl<'de> Visitor<'de> for GroupsVisitor {
            type Value = Groups<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Groups<'de>, A::Error> {
                let mut groups = Vec::new();
                while let Some(g) = seq.next_element::<Str<'de>>()? {
                    groups.push(g);
                }
                Ok(Groups(groups))
            }
        }
        d.deserialize_seq(GroupsVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ClaimsView<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ClaimsVisitor;
        impl<'de> Visitor<'de> for ClaimsVisitor {
            type Value = ClaimsView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWT claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimsView<'de>, A::Error> {
                let mut seen = Seen::default();
                let mut c = ClaimsView::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    let bit = bit_of(&CLAIM_NAMES, &key);
                    match &*seen.first_time(key, bit)? {
                        "iss" => c.iss = Some(map.next_value()?),
                        "token_use" => c.token_use = Some(map.next_value()?),
                        "client_id" => c.client_id = Some(map.next_value()?),
                        "aud" => c.aud = Some(map.next_value()?),
                        "scope" => c.scope = Some(map.next_value()?),
                        "exp" => c.exp = Some(map.next_value()?),
                        "nbf" => c.nbf = Some(map.next_value()?),
                        "iat" => c.iat = Some(map.next_value()?),
                        "cognito:groups" => c.groups = map.next_value::<Groups<'de>>()?.0,
                        "sub" => c.sub = Some(map.next_value()?),
                        "jti" => c.jti = Some(map.next_value()?),
                        "username" | "cognito:username" => {
                            map.next_value::<Str<'de>>()?;
                            c.has_username = true;
                        }
                        "auth_time" => c.auth_time = Some(map.next_value()?),
                        "origin_jti" => c.origin_jti = map.next_value::<Lenient<'de>>()?.0,
                        "acr" => c.acr = map.next_value::<Lenient<'de>>()?.0,
                        _ => {
                            map.next_value::<Skipped>()?;
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(ClaimsVisitor)
    }
}

/// The scopes of a `scope` claim: separated by spaces (RFC 6749 3.3), empty pieces skipped.
/// The one reading of the claim, for the route check and for the claims types.
pub(crate) fn split_scopes(scope: Option<&str>) -> impl Iterator<Item = &str> + Clone {
    scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty())
}

/// Who a verified token speaks for ([`crate::Verified::principal`],
/// [`crate::CognitoToken::principal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// A user: their `sub` and user name (`username`, else `cognito:username`).
    User {
        /// `sub`.
        sub: Option<&'a str>,
        /// `username`, else `cognito:username`.
        username: Option<&'a str>,
    },
    /// An app client acting for itself (client credentials): its `client_id`.
    Machine {
        /// `client_id` (which is also the token's `sub`).
        client_id: &'a str,
    },
}

/// The machine rule, the one place it is written: an access token with no user name whose
/// `sub` is its `client_id`.
pub(crate) fn is_machine(
    token_use: Option<&str>,
    has_username: bool,
    sub: Option<&str>,
    client_id: Option<&str>,
) -> bool {
    token_use == Some("access") && !has_username && sub.is_some() && sub == client_id
}

/// What authorization reads of a verified token, whoever holds it (the parse, a token-cache
/// entry, a [`crate::Verified`]).
pub(crate) struct Facts<'a, G> {
    pub groups: &'a [G],
    pub scope: Option<&'a str>,
    pub machine: bool,
    pub auth_time: Option<f64>,
    pub acr: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn kind<T>(r: Result<T, AuthError>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[test]
    fn header_rule() {
        fn h(value: &str) -> Result<&str, AuthError> {
            from_header([value.as_bytes()], "Bearer", 32)
        }
        assert_eq!(h("Bearer abc").ok(), Some("abc"));
        assert_eq!(h("bearer   abc").ok(), Some("abc"));
        assert_eq!(kind(h("")), Some(ErrorKind::MissingToken));
        assert_eq!(kind(h("   ")), Some(ErrorKind::MissingToken));
        assert_eq!(kind(h("Basic abc")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearer")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearer a b")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearerabc")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearer a\tb")), Some(ErrorKind::InvalidHeader));
        let at_the_cap = format!("Bearer {}", "a".repeat(32));
        assert_eq!(h(&at_the_cap).map(str::len).ok(), Some(32));
        let one_byte_too_many = format!("Bearer {}", "a".repeat(33));
        assert_eq!(kind(h(&one_byte_too_many)), Some(ErrorKind::TooLarge));
        assert_eq!(kind(from_header([], "Bearer", 32)), Some(ErrorKind::MissingToken));
        assert_eq!(
            kind(from_header([&b"Bearer a"[..], b"Bearer b"], "Bearer", 32)),
            Some(ErrorKind::InvalidHeader)
        );
        assert_eq!(
            kind(from_header([&[0xff, 0x20][..]], "Bearer", 32)),
            Some(ErrorKind::InvalidHeader)
        );
        assert_eq!(from_header([&b"raw.tok.en"[..]], "", 32).ok(), Some("raw.tok.en"));
        assert_eq!(
            kind(from_header([&b"Bearer raw"[..]], "", 32)),
            Some(ErrorKind::InvalidHeader)
        );
    }

    /// Bytes at the edges of the graphic range and of ASCII.
    const EDGE_BYTES: [u8; 9] = [0x00, 0x09, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xa0, 0xff];
    const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// 0 to 39 graphic ASCII bytes, then up to two of them replaced (at any position) by any
    /// byte, often one at the edges of the range: a third of the cases stay all graphic.
    fn mostly_graphic() -> impl Strategy<Value = Vec<u8>> {
        let odd_byte = prop_oneof![prop::sample::select(EDGE_BYTES.to_vec()), any::<u8>()];
        let replacements = prop::collection::vec((any::<prop::sample::Index>(), odd_byte), 0..3);
        (prop::collection::vec(b'!'..=b'~', 0..40), replacements).prop_map(|(mut case, replacements)| {
            if !case.is_empty() {
                for (at, byte) in replacements {
                    let at = at.index(case.len());
                    case[at] = byte;
                }
            }
            case
        })
    }

    /// 0 to 11 bytes, mostly base64url characters, sometimes anything printable.
    fn mostly_base64url() -> impl Strategy<Value = Vec<u8>> {
        let printable: Vec<u8> = (0u8..=255).filter(|b| b.is_ascii_graphic() || *b == b' ').collect();
        let byte = prop_oneof![
            7 => prop::sample::select(BASE64URL.to_vec()),
            1 => prop::sample::select(printable),
        ];
        prop::collection::vec(byte, 0..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_graphic_check_agrees_with_the_plain_one(case in mostly_graphic()) {
            prop_assert_eq!(all_ascii_graphic(&case), case.iter().all(u8::is_ascii_graphic), "{:?}", case);
        }

        #[test]
        fn signature_syntax_check_agrees_with_the_decoder(case in mostly_base64url()) {
            prop_assert_eq!(
                is_unpadded_base64url(&case),
                URL_SAFE_NO_PAD.decode(&case).is_ok(),
                "{:?}",
                String::from_utf8_lossy(&case)
            );
        }
    }

    #[test]
    fn signature_syntax_check_on_the_shortest_cases() {
        for case in [&b""[..], b"=", b"AA==", b"A", b"AA", b"AB", b"AAA", b"AAB"] {
            assert_eq!(
                is_unpadded_base64url(case),
                URL_SAFE_NO_PAD.decode(case).is_ok(),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn the_split_reports_the_part_count_first() {
        let good = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(r#"{"exp":1}"#));
        let message = |t: &str| Token::decode(t).err().map(|e| e.message().to_owned());
        let three = Some("The token does not have exactly three dot-separated parts.".to_owned());
        let syntax = Some("A token part is not unpadded base64url.".to_owned());
        for t in ["", ".", "a", "a.b", "a.b.c.d", "...", "!.b.c.d", "a.!.c.d", "a.b..d"] {
            assert_eq!(message(t), three, "{t:?}");
        }
        // What a plain split into at most four parts says, for every short dotted string.
        let by_split = |t: &str| -> Option<String> {
            let parts: Vec<&str> = t.splitn(4, '.').collect();
            if parts.len() != 3 {
                return three.clone();
            }
            if parts.iter().any(|p| URL_SAFE_NO_PAD.decode(p).is_err()) {
                return syntax.clone();
            }
            None
        };
        let pieces = ["", ".", "A", "AA", "AAA", "!", "QQ"];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let t = format!("{a}{b}{c}{d}");
                        assert_eq!(message(&t), by_split(&t), "{t:?}");
                    }
                }
            }
        }
        assert_eq!(message(&format!("{good}.x")), three);
        assert_eq!(message(&format!("x.{good}")), three);
        assert_eq!(message("!.b.c"), syntax);
        assert_eq!(message("a.!.c"), syntax);
        assert_eq!(message("a.b.!"), syntax);
        assert_eq!(message(&good), None);
        let t = Token::decode(&good).ok();
        assert_eq!(t.map(|t| t.signing_input.len()), good.rfind('.'));
        // Empty parts are three parts; they fail later, as JSON.
        assert!(Token::decode("..").is_ok());
    }

    #[test]
    fn strict_parse() {
        let tok = |h: &str, p: &str| format!("{}.{}.c2ln", b64(h), b64(p));
        let parse = |t: &str| -> Result<(String, Option<f64>), AuthError> {
            let t = Token::decode(t)?;
            let alg = t.header()?.alg.as_deref().unwrap_or("none given").to_owned();
            let exp = t.claims()?.exp;
            Ok((alg, exp))
        };
        let good = tok(r#"{"alg":"RS256","kid":"k"}"#, r#"{"exp":1.5,"email_verified":"true"}"#);
        assert_eq!(parse(&good).ok(), Some(("RS256".to_owned(), Some(1.5))));
        let bad = [
            "a.b".to_owned(),
            format!("{good}.x"),
            format!("{}=", good),
            format!(" {good}"),
            tok(r#"{"alg":"RS256","alg":"RS256"}"#, r#"{"exp":1}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"x":1,"x":2}"#),
            tok(r#"{"alg":"RS256","kid":7}"#, r#"{"exp":1}"#),
            tok(r#"{"alg":"RS256","crit":["b64"]}"#, r#"{"exp":1}"#),
            tok(r#"[1]"#, r#"{"exp":1}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":"1"}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"iat":1}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"cognito:groups":"admin"}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"cognito:groups":[1]}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"aud":["a"]}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1,"sub":null}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1e999}"#),
            tok(r#"{"alg":"RS256"}"#, r#"{"exp":1} x"#),
        ];
        for t in bad {
            assert_eq!(kind(parse(&t)), Some(ErrorKind::Malformed), "{t}");
        }
    }

    /// A header of `n` distinct two-letter names (and `alg`), optionally with one repeated at
    /// the end.
    fn many_names(n: usize, repeat_one: bool) -> String {
        let letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut names: Vec<String> = (0..n)
            .map(|i| {
                let (a, b) = (letters[i / letters.len() % letters.len()], letters[i % letters.len()]);
                format!("\"{}{}\":0", a as char, b as char)
            })
            .collect();
        if repeat_one {
            names.push(names[n / 2].clone());
        }
        format!("{{\"alg\":\"RS256\",{}}}", names.join(","))
    }

    #[test]
    fn duplicates_among_many_names_are_still_found() {
        let tok = |h: &str| format!("{}.{}.c2ln", b64(h), b64(r#"{"exp":1}"#));
        for n in [1, 7, 8, 9, 30, MAX_HEADER_MEMBERS - 2] {
            let distinct = tok(&many_names(n, false));
            let header = Token::decode(&distinct).and_then(|t| t.header().map(|h| h.alg.is_some()));
            assert_eq!(header.ok(), Some(true), "{n} distinct names");
            let repeated = tok(&many_names(n, true));
            let header = Token::decode(&repeated).and_then(|t| t.header().map(drop));
            assert_eq!(kind(header), Some(ErrorKind::Malformed), "{n} names, one twice");
        }
        // A header past the member cap is refused whatever its names.
        for n in [MAX_HEADER_MEMBERS, 1_700] {
            let header = Token::decode(&tok(&many_names(n, false))).and_then(|t| t.header().map(drop));
            assert_eq!(kind(header), Some(ErrorKind::Malformed), "{n} distinct names");
        }
        // The claims have no cap: among 1,700 distinct names (a hash set by then), one
        // repeated is still found, wherever it is.
        let members: Vec<String> = (0..1_700).map(|i| format!("\"c{i}\":0")).collect();
        let claims = |payload: &str| {
            let t = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(payload));
            kind(Token::decode(&t).and_then(|t| t.claims().map(drop)))
        };
        assert_eq!(claims(&format!("{{\"exp\":1,{}}}", members.join(","))), None);
        for repeated in ["c0", "c850", "c1699"] {
            let payload = format!("{{\"exp\":1,{},\"{repeated}\":1}}", members.join(","));
            assert_eq!(claims(&payload), Some(ErrorKind::Malformed), "{repeated}");
        }
    }

    #[test]
    fn duplicates_are_refused_at_every_depth() {
        let claims = |p: &str| {
            let t = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(p));
            Token::decode(&t).and_then(|t| t.claims().map(drop))
        };
        let header = |h: &str| {
            let t = format!("{}.{}.c2ln", b64(h), b64(r#"{"exp":1}"#));
            Token::decode(&t).and_then(|t| t.header().map(drop))
        };
        for bad in [
            r#"{"exp":1,"x":{"role":"user","role":"admin"}}"#,
            r#"{"exp":1,"x":[1,{"a":{"b":1,"b":1}}]}"#,
            r#"{"exp":1,"x":{"a":1,"\u0061":2}}"#,
        ] {
            assert_eq!(kind(claims(bad)), Some(ErrorKind::Malformed), "{bad}");
        }
        assert_eq!(
            kind(header(r#"{"alg":"RS256","jwk":{"n":"a","n":"b"}}"#)),
            Some(ErrorKind::Malformed)
        );
        for good in [
            r#"{"exp":1,"x":{"role":"user","other":{"role":"admin"}}}"#,
            r#"{"exp":1,"x":[{"a":1},{"a":2}],"y":[[],{}],"z":null}"#,
        ] {
            assert_eq!(kind(claims(good)), None, "{good}");
        }
        assert_eq!(kind(header(r#"{"alg":"RS256","jwk":{"n":"a","e":"b"}}"#)), None);
    }

    #[test]
    fn a_header_without_alg_parses_with_no_alg() {
        let t = format!("{}.{}.c2ln", b64(r#"{"kid":"k"}"#), b64(r#"{"exp":1}"#));
        let alg = Token::decode(&t).and_then(|t| t.header().map(|h| h.alg.is_none()));
        assert_eq!(alg.ok(), Some(true));
    }
}
