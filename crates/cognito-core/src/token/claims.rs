//! What the parse reads of a token: the JOSE header members and the claims the checks need,
//! each name once, the standard claims type-checked.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::json::{Seen, Skipped, Str};
use super::principal::{Facts, is_machine};

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
pub(super) const MAX_HEADER_MEMBERS: usize = 64;

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
