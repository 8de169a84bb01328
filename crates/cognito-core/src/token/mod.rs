//! Reading a token: the header rule (the first step of verification) and the strict
//! compact-JWS parse (the second). Nothing here allocates more than the decoded segments;
//! claims are borrowed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::{AuthError, ErrorKind};

mod claims;
mod json;
mod principal;
#[cfg(test)]
mod tests;

pub(crate) use claims::{ClaimsView, JoseHeader};
pub(crate) use json::{Skipped, Str};
pub use principal::Principal;
pub(crate) use principal::{Facts, OwnedFacts, is_machine, split_scopes};

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
