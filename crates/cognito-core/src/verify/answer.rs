//! What a verification answers with: the caller's claims type, or the [`Verified`] token
//! itself. Each answer is made from whatever the pipeline has at hand when it ends, so a
//! token-cache hit that needs no [`Verified`] parses nothing.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::AuthError;
use crate::token::{self, ClaimsView, OwnedFacts};
use crate::token_cache::Entry;
use crate::verified::{Verified, misfit};

/// A type a verification can answer with: any claims type that deserializes
/// ([`crate::CognitoToken`], a struct of yours, `serde_json::Value`), or [`Verified`] (the
/// claims and JOSE header as they came, what the router-wide layer leaves in a request).
///
/// Sealed: the two kinds above are the only ones.
pub trait ClaimsType: Sized + sealed::Sealed {}

impl<T: DeserializeOwned> ClaimsType for T {}
impl ClaimsType for Verified {}

/// What the pipeline has at hand when it answers (opaque outside verification).
pub struct Material<'a>(pub(super) Source<'a>);

/// The kinds of [`Material`].
pub(super) enum Source<'a> {
    /// A full verification: the decoded header and payload, the claims as the checks read
    /// them, and the pool's name.
    Decoded {
        pool: &'a str,
        header: &'a [u8],
        payload: &'a [u8],
        claims: &'a ClaimsView<'a>,
    },
    /// A token-cache hit, and the token (its entry may not hold a parsed [`Verified`]).
    Hit {
        token: &'a str,
        entry: &'a Entry,
        pool: &'a str,
    },
    /// The verified token, made for the custom checks or handed in by the caller.
    Verified(Verified),
}

pub(super) mod sealed {
    use super::*;

    /// How each [`ClaimsType`](super::ClaimsType) is made.
    pub trait Sealed: Sized {
        /// The answer from what the pipeline has at hand.
        fn answer(material: Material<'_>) -> Result<Self, AuthError>;
    }

    impl<T: DeserializeOwned> Sealed for T {
        fn answer(material: Material<'_>) -> Result<Self, AuthError> {
            match material.0 {
                Source::Decoded { payload, .. } => claims_as(payload),
                Source::Hit { entry, .. } => claims_of_hit(entry),
                Source::Verified(verified) => verified.deserialize(),
            }
        }
    }

    impl Sealed for Verified {
        fn answer(material: Material<'_>) -> Result<Self, AuthError> {
            match material.0 {
                Source::Decoded {
                    pool,
                    header,
                    payload,
                    claims,
                } => verified(pool, header, payload, &Arc::new(claims.facts().to_owned())),
                // The one the entry holds (shared, not copied), else parsed again.
                Source::Hit { token, entry, pool } => match &entry.verified {
                    Some(verified) => Ok(verified.clone()),
                    None => {
                        let parsed = token::Token::decode(token)?;
                        verified(pool, parsed.header_json(), parsed.payload(), &entry.facts)
                    }
                },
                Source::Verified(verified) => Ok(verified),
            }
        }
    }
}

/// A [`Verified`] of `pool` from a decoded header and payload, and what authorization reads
/// of its claims.
pub(crate) fn verified(
    pool: &str,
    header: &[u8],
    payload: &[u8],
    facts: &Arc<OwnedFacts>,
) -> Result<Verified, AuthError> {
    let header = token::parse_json(header).map_err(|_| misfit())?;
    let claims = token::parse_json(payload).map_err(|_| misfit())?;
    Ok(Verified::new(pool, header, claims, Arc::clone(facts)))
}

/// The claims type for a cached verification, as at the end of the full path.
fn claims_of_hit<T: DeserializeOwned>(entry: &Entry) -> Result<T, AuthError> {
    // From the parsed Value when it fits; if it does not (or a Value cannot hold the claims),
    // from the text, so a hit answers exactly as the full path would even for claims types
    // that only deserialize from text (e.g. `serde_json::value::RawValue`).
    match entry.verified.as_ref().map(|v| T::deserialize(v.claims())) {
        Some(Ok(claims)) => Ok(claims),
        Some(Err(_)) | None => claims_as(&entry.payload()),
    }
}

/// The verified claims as the caller's type.
fn claims_as<T: DeserializeOwned>(payload: &[u8]) -> Result<T, AuthError> {
    token::parse_json(payload).map_err(|_| misfit())
}
