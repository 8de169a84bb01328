//! Reading a token: the header rule (SPEC section 3 step 1) and the strict compact-JWS parse
//! (step 2). Nothing here allocates more than the decoded segments; claims are borrowed.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{AuthError, ErrorKind};

/// Step 1: the token out of the configured header's values (all occurrences, in order).
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
    if token.is_empty() || token.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(ErrorKind::InvalidHeader.into());
    }
    check_size(token, max_bytes)?;
    Ok(token)
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

/// A compact JWS split and decoded, not yet trusted.
pub(crate) struct Token<'t> {
    /// `<header>.<payload>` as sent: what the signature covers.
    pub signing_input: &'t str,
    header_json: Vec<u8>,
    payload_json: Vec<u8>,
    pub signature: Vec<u8>,
}

impl<'t> Token<'t> {
    /// Step 2, syntax: three base64url segments, no padding, no whitespace.
    pub fn decode(token: &'t str) -> Result<Self, AuthError> {
        let mut parts = token.splitn(4, '.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("The token does not have exactly three dot-separated parts."));
        };
        let decode = |segment: &str| {
            URL_SAFE_NO_PAD
                .decode(segment)
                .map_err(|_| malformed("A token part is not unpadded base64url."))
        };
        Ok(Token {
            signing_input: &token[..header.len() + 1 + payload.len()],
            header_json: decode(header)?,
            payload_json: decode(payload)?,
            signature: decode(signature)?,
        })
    }

    /// The JOSE header, strictly parsed.
    pub fn header(&self) -> Result<JoseHeader<'_>, AuthError> {
        serde_json::from_slice(&self.header_json).map_err(|_| malformed("The token header is not a valid JOSE header."))
    }

    /// The claims the checks read, strictly typed.
    pub fn claims(&self) -> Result<ClaimsView<'_>, AuthError> {
        let claims: ClaimsView<'_> =
            serde_json::from_slice(&self.payload_json).map_err(|_| malformed("The token claims are not valid."))?;
        if claims.exp.is_none() {
            return Err(malformed("The token has no exp claim."));
        }
        Ok(claims)
    }

    /// The decoded payload JSON, for deserializing the caller's claims type.
    pub fn payload(&self) -> &[u8] {
        &self.payload_json
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Rejects a member name seen before (RFC 7515 4 / RFC 7519 4: duplicates must be refused,
/// since parsers disagree on which one wins).
fn first_time<'a, E: de::Error>(seen: &mut Vec<Str<'a>>, key: Str<'a>) -> Result<Str<'a>, E> {
    if seen.iter().any(|k| **k == *key) {
        return Err(E::custom("duplicate member"));
    }
    seen.push(key.clone());
    Ok(key)
}

/// The JOSE header members we read.
#[derive(Debug)]
pub(crate) struct JoseHeader<'a> {
    pub alg: Str<'a>,
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
                let mut seen = Vec::with_capacity(4);
                let (mut alg, mut kid) = (None, None);
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match &*first_time(&mut seen, key)? {
                        "alg" => alg = Some(map.next_value::<Str<'de>>()?),
                        "kid" => kid = Some(map.next_value::<Str<'de>>()?),
                        // We implement no JWS extension, so any critical one is not understood.
                        "crit" => return Err(de::Error::custom("crit is not supported")),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let alg = alg.ok_or_else(|| de::Error::missing_field("alg"))?;
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
}

impl ClaimsView<'_> {
    /// The space-separated scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty())
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
                let mut seen = Vec::with_capacity(24);
                let mut c = ClaimsView::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match &*first_time(&mut seen, key)? {
                        "iss" => c.iss = Some(map.next_value()?),
                        "token_use" => c.token_use = Some(map.next_value()?),
                        "client_id" => c.client_id = Some(map.next_value()?),
                        "aud" => c.aud = Some(map.next_value()?),
                        "scope" => c.scope = Some(map.next_value()?),
                        "exp" => c.exp = Some(map.next_value()?),
                        "nbf" => c.nbf = Some(map.next_value()?),
                        "iat" => c.iat = Some(map.next_value()?),
                        "cognito:groups" => c.groups = map.next_value::<Groups<'de>>()?.0,
                        "sub" | "username" | "cognito:username" | "jti" => {
                            map.next_value::<Str<'de>>()?;
                        }
                        "auth_time" => {
                            map.next_value::<f64>()?;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(ClaimsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn kind<T>(r: Result<T, AuthError>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[test]
    fn header_rule() {
        let h = |v: &'static str| from_header([v.as_bytes()], "Bearer", 32);
        assert_eq!(h("Bearer abc").ok(), Some("abc"));
        assert_eq!(h("bearer   abc").ok(), Some("abc"));
        assert_eq!(kind(h("")), Some(ErrorKind::MissingToken));
        assert_eq!(kind(h("   ")), Some(ErrorKind::MissingToken));
        assert_eq!(kind(h("Basic abc")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearer")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearer a b")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearerabc")), Some(ErrorKind::InvalidHeader));
        assert_eq!(kind(h("Bearer a\tb")), Some(ErrorKind::InvalidHeader));
        assert_eq!(
            kind(h(&*format!("Bearer {}", "a".repeat(33)).leak())),
            Some(ErrorKind::TooLarge)
        );
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

    #[test]
    fn strict_parse() {
        let tok = |h: &str, p: &str| format!("{}.{}.c2ln", b64(h), b64(p));
        let parse = |t: &str| -> Result<(String, Option<f64>), AuthError> {
            let t = Token::decode(t)?;
            let alg = t.header()?.alg.to_string();
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
            tok(r#"{"kid":"k"}"#, r#"{"exp":1}"#),
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
}
