//! What a key set holds, key by key, as the JWK rules judge it: for people (the `cognito jwks`
//! command, an explanation's key step), never for the verification itself, which reads the
//! parsed [`crate::jwks`] set. Both come from the same rules (`jwks::judge`).

use serde_json::Value;

use crate::jose::jwk_set_keys;

/// One JWK of a key set and what the key rules think of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyReport {
    /// The key's `kid` (`None`: it has none, so no token can select it).
    pub kid: Option<String>,
    /// The key type (`kty`), e.g. `RSA`.
    pub kty: Option<String>,
    /// The algorithm the key is published for (`alg`), if any.
    pub alg: Option<String>,
    /// The key's `use`, if any (only `sig` is acceptable).
    pub key_use: Option<String>,
    /// The RSA modulus size in bits, when it can be read.
    pub bits: Option<usize>,
    /// Why a token naming this key would be refused with `invalid_jwk` (or can never name it):
    /// `None` for a usable key.
    pub problem: Option<String>,
}

impl KeyReport {
    /// Whether tokens can be verified with this key.
    pub fn usable(&self) -> bool {
        self.problem.is_none()
    }
}

/// The keys of a JWKS document, in document order, each judged by the same rules the
/// verification applies (`kty` RSA, `use` absent or `sig`, `alg` absent or RS*, a 2048- to
/// 8192-bit modulus, a kid unique in the set), or why the document is not a JWKS.
pub fn inspect_jwks(doc: &Value) -> Result<Vec<KeyReport>, String> {
    let keys = jwk_set_keys(doc)?;
    let kid_of = |jwk: &Value| jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let text = |jwk: &Value, name: &str| {
        jwk.get(name).map(|v| match v.as_str() {
            Some(s) => s.to_owned(),
            None => v.to_string(),
        })
    };
    Ok(keys
        .iter()
        .map(|jwk| {
            let kid = kid_of(jwk);
            let repeated = kid
                .as_deref()
                .is_some_and(|kid| keys.iter().filter(|k| kid_of(k).as_deref() == Some(kid)).count() > 1);
            let problem = if kid.is_none() {
                Some("it has no kid, so no token can name it".to_owned())
            } else if repeated {
                Some("its kid appears more than once in the JWKS".to_owned())
            } else {
                crate::jwks::judge_jwk(jwk).err().map(str::to_owned)
            };
            KeyReport {
                kid,
                kty: text(jwk, "kty"),
                alg: text(jwk, "alg"),
                key_use: text(jwk, "use"),
                bits: crate::jwks::modulus_bits(jwk),
                problem,
            }
        })
        .collect())
}
