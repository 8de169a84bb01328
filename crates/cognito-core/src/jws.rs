//! The signature algorithms an OpenID Connect issuer may be allowed (RSA PKCS#1, ECDSA on
//! P-256 and P-384, Ed25519), and for each the one way a JWK becomes a verifying key.
//!
//! A key is parsed once, when its key set is loaded, into an aws-lc-rs [`ParsedPublicKey`],
//! so a verification is one `verify_sig` call, the same as the Cognito pools' RS256 path. A
//! JWK must fit the token's algorithm: `kty` `RSA` for RS*, `EC` on the algorithm's curve for
//! ES*, `OKP` on `Ed25519` for EdDSA; anything else is refused as unusable for that token.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AuthError, ErrorKind};
use crate::jose::{Algorithm, jwk_set_keys};

const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// JWKs in the wild sometimes pad their base64url; accept both forms for key material.
const LENIENT_B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A JWS algorithm an OpenID Connect issuer may be allowed. `none`, HS* (a shared secret
/// anyone holding the key set could not have, but a confused verifier could be tricked into
/// using the public key as one) and PS* are never among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the default).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA with Ed25519 (the only curve accepted under this name).
    EdDSA,
}

impl JwsAlgorithm {
    /// Every algorithm, in the order a settings error lists them.
    pub const ALL: [JwsAlgorithm; 6] = [
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
        JwsAlgorithm::ES256,
        JwsAlgorithm::ES384,
        JwsAlgorithm::EdDSA,
    ];

    /// The JOSE name, e.g. `"ES256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::RS384 => "RS384",
            JwsAlgorithm::RS512 => "RS512",
            JwsAlgorithm::ES256 => "ES256",
            JwsAlgorithm::ES384 => "ES384",
            JwsAlgorithm::EdDSA => "EdDSA",
        }
    }

    /// The algorithm a token's `alg` names, if it is one of these (names are case-sensitive).
    pub fn from_jose(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The same algorithm as a Cognito pool's [`Algorithm`], for the RSA ones.
    pub fn rsa(self) -> Option<Algorithm> {
        match self {
            JwsAlgorithm::RS256 => Some(Algorithm::RS256),
            JwsAlgorithm::RS384 => Some(Algorithm::RS384),
            JwsAlgorithm::RS512 => Some(Algorithm::RS512),
            _ => None,
        }
    }

    /// The JWK `kty` this algorithm's keys have.
    pub fn key_type(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 | JwsAlgorithm::RS384 | JwsAlgorithm::RS512 => "RSA",
            JwsAlgorithm::ES256 | JwsAlgorithm::ES384 => "EC",
            JwsAlgorithm::EdDSA => "OKP",
        }
    }

    /// The JWK `crv` this algorithm's keys are on (none for RSA).
    pub fn curve(self) -> Option<&'static str> {
        match self {
            JwsAlgorithm::ES256 => Some("P-256"),
            JwsAlgorithm::ES384 => Some("P-384"),
            JwsAlgorithm::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    /// The length of a signature, where it is fixed: ECDSA's raw `r || s` and Ed25519's.
    fn fixed_signature_len(self) -> Option<usize> {
        match self {
            JwsAlgorithm::ES256 => Some(64),
            JwsAlgorithm::ES384 => Some(96),
            JwsAlgorithm::EdDSA => Some(64),
            _ => None,
        }
    }

    /// aws-lc-rs's verification algorithm. ECDSA in JOSE is the fixed-length `r || s`, not
    /// DER (RFC 7518 3.4), hence the `_FIXED` variants.
    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            JwsAlgorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            JwsAlgorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            JwsAlgorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            JwsAlgorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
            JwsAlgorithm::EdDSA => &signature::ED25519,
        }
    }
}

impl std::fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JWK's verifying key for one algorithm, parsed once.
pub(crate) struct VerifyingKey {
    alg: JwsAlgorithm,
    key: ParsedPublicKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The key of `jwk` for tokens signed with `alg`, or why this JWK cannot verify them:
    /// `use` absent or `sig`; `alg` absent or `alg`; `kty` (and `crv`) those of `alg`; the
    /// key material well-formed (an RSA modulus of 2048 to 8192 bits, a point on the curve).
    pub(crate) fn from_jwk(jwk: &Value, alg: JwsAlgorithm) -> Result<Self, &'static str> {
        let field = |name: &str| jwk.get(name);
        match field("use") {
            None => {}
            Some(u) if u.as_str() == Some("sig") => {}
            Some(_) => return Err("its use is not sig"),
        }
        if let Some(jwk_alg) = field("alg")
            && jwk_alg.as_str() != Some(alg.as_str())
        {
            return Err("its alg differs from the token's");
        }
        if field("kty").and_then(Value::as_str) != Some(alg.key_type()) {
            return Err("its kty does not fit the token's alg");
        }
        if let Some(curve) = alg.curve()
            && field("crv").and_then(Value::as_str) != Some(curve)
        {
            return Err("its crv does not fit the token's alg");
        }
        let bytes = |name: &str| -> Result<Vec<u8>, &'static str> {
            let text = field(name)
                .and_then(Value::as_str)
                .ok_or("it lacks a member its kty needs")?;
            LENIENT_B64URL
                .decode(text)
                .map_err(|_| "its key material is not base64url")
        };
        let key = match alg {
            JwsAlgorithm::RS256 | JwsAlgorithm::RS384 | JwsAlgorithm::RS512 => {
                let (n, e) = (strip_zeros(bytes("n")?), strip_zeros(bytes("e")?));
                let bits = bits_of(&n);
                if bits < MIN_RSA_BITS {
                    return Err("its modulus is shorter than 2048 bits");
                }
                if bits > MAX_RSA_BITS {
                    return Err("its modulus is longer than 8192 bits");
                }
                RsaPublicKeyComponents { n: &n[..], e: &e[..] }
                    .to_parsed_public_key(alg_rsa_params(alg))
                    .map_err(|_| "it is not a valid RSA public key")?
            }
            JwsAlgorithm::ES256 | JwsAlgorithm::ES384 => {
                let size = if alg == JwsAlgorithm::ES256 { 32 } else { 48 };
                let (x, y) = (bytes("x")?, bytes("y")?);
                // RFC 7518 6.2.1.2: the coordinates are the full field size, never shortened.
                if x.len() != size || y.len() != size {
                    return Err("its x or y is not the curve's size");
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04); // uncompressed (SEC 1 2.3.3)
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                ParsedPublicKey::new(alg.verification(), point).map_err(|_| "it is not a point on its curve")?
            }
            JwsAlgorithm::EdDSA => {
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err("its x is not an Ed25519 public key");
                }
                ParsedPublicKey::new(alg.verification(), x).map_err(|_| "it is not a valid Ed25519 key")?
            }
        };
        Ok(Self { alg, key })
    }

    /// Whether `signature` is this key's over `signing_input`. A signature of the wrong
    /// length for a fixed-length algorithm is refused before any arithmetic.
    pub(crate) fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        if self.alg.fixed_signature_len().is_some_and(|len| signature.len() != len) {
            return false;
        }
        self.key.verify_sig(signing_input, signature).is_ok()
    }
}

/// The keys of one JWK Set for an OpenID Connect issuer's tokens: per kid, a verifying key for
/// each algorithm the JWK fits (an RSA key with no `alg` fits all three RS*), parsed once when
/// the set is loaded; or why the JWK is unusable.
#[derive(Debug, Default)]
pub(crate) struct JoseKeys {
    keys: std::collections::HashMap<String, Result<Vec<VerifyingKey>, &'static str>>,
}

impl JoseKeys {
    /// The usable keys of a JWK Set document (its shape checked by the caller's parse). A kid
    /// seen twice is unusable: which of the two a token means cannot be known.
    pub(crate) fn parse(doc: &Value) -> Self {
        let mut keys = std::collections::HashMap::new();
        for jwk in jwk_set_keys(doc).unwrap_or_default() {
            let Some(kid) = jwk.get("kid").and_then(Value::as_str) else {
                continue; // a key without a kid can never be selected
            };
            if keys.contains_key(kid) {
                keys.insert(kid.to_owned(), Err("its kid appears more than once in the JWKS"));
                continue;
            }
            keys.insert(kid.to_owned(), Self::judge(jwk));
        }
        Self { keys }
    }

    /// Every algorithm's key this JWK gives; unusable if it fits none.
    fn judge(jwk: &Value) -> Result<Vec<VerifyingKey>, &'static str> {
        let mut first_error = "it fits no allowed algorithm";
        let mut usable = Vec::new();
        for alg in JwsAlgorithm::ALL {
            // Only the algorithms of the JWK's own kty: the others' refusals say nothing.
            if jwk.get("kty").and_then(Value::as_str) != Some(alg.key_type()) {
                continue;
            }
            match VerifyingKey::from_jwk(jwk, alg) {
                Ok(key) => usable.push(key),
                Err(why) if usable.is_empty() => first_error = why,
                Err(_) => {}
            }
        }
        if usable.is_empty() {
            Err(first_error)
        } else {
            Ok(usable)
        }
    }

    /// The key step of an OpenID Connect issuer's token: the key under `kid` for `alg`, or
    /// `invalid_jwk` when the JWK does not fit it (`unknown_kid` if the set lacks the kid).
    pub(crate) fn key(&self, kid: &str, alg: JwsAlgorithm) -> Result<&VerifyingKey, AuthError> {
        match self.keys.get(kid) {
            None => Err(ErrorKind::UnknownKid.into()),
            Some(Err(why)) => Err(AuthError::new(ErrorKind::InvalidJwk).with_detail(*why)),
            Some(Ok(keys)) => keys.iter().find(|k| k.alg == alg).ok_or_else(|| {
                AuthError::with_message(
                    ErrorKind::InvalidJwk,
                    "The issuer's key for this token is meant for another algorithm.",
                )
                .with_detail("the JWK's kty, crv or alg does not fit the token's alg")
            }),
        }
    }
}

fn alg_rsa_params(alg: JwsAlgorithm) -> &'static signature::RsaParameters {
    match alg {
        JwsAlgorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        JwsAlgorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// The bit length of a big-endian unsigned integer without leading zero bytes.
fn bits_of(n: &[u8]) -> usize {
    n.first()
        .map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognito_testkit::{EcKey, EdKey, SigningKey};
    use serde_json::json;

    fn split(token: &str) -> (String, Vec<u8>) {
        let (input, sig) = token.rsplit_once('.').unwrap_or_default();
        (input.to_owned(), LENIENT_B64URL.decode(sig).unwrap_or_default())
    }

    fn claims() -> Value {
        json!({"iss": "https://issuer.example", "sub": "s", "exp": cognito_testkit::now() + 60})
    }

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in JwsAlgorithm::ALL {
            assert_eq!(JwsAlgorithm::from_jose(alg.as_str()), Some(alg));
        }
        for name in ["none", "HS256", "PS256", "ES512", "es256", "Ed25519", ""] {
            assert_eq!(JwsAlgorithm::from_jose(name), None, "{name}");
        }
    }

    #[test]
    fn each_algorithm_verifies_its_own_tokens_and_nothing_else() -> Result<(), Box<dyn std::error::Error>> {
        let rsa = SigningKey::generate("r")?;
        let p256 = EcKey::generate_p256("e256")?;
        let p384 = EcKey::generate_p384("e384")?;
        let ed = EdKey::generate("ed")?;
        let cases: Vec<(JwsAlgorithm, Value, String)> = vec![
            (JwsAlgorithm::RS256, rsa.jwk(), rsa.sign(&claims())?),
            (
                JwsAlgorithm::RS384,
                json!({"kty": "RSA", "n": rsa.jwk()["n"], "e": rsa.jwk()["e"]}),
                rsa.sign_with_header(&json!({"alg": "RS384", "kid": "r"}), &claims())?,
            ),
            (JwsAlgorithm::ES256, p256.jwk(), p256.sign(&claims())?),
            (JwsAlgorithm::ES384, p384.jwk(), p384.sign(&claims())?),
            (JwsAlgorithm::EdDSA, ed.jwk(), ed.sign(&claims())?),
        ];
        for (alg, jwk, token) in &cases {
            let key = VerifyingKey::from_jwk(jwk, *alg).map_err(|e| format!("{alg}: {e}"))?;
            assert_eq!(key.alg, *alg);
            let (input, sig) = split(token);
            assert!(key.verify(input.as_bytes(), &sig), "{alg} verifies");
            let mut forged = sig.clone();
            if let Some(last) = forged.last_mut() {
                *last ^= 1;
            }
            assert!(
                !key.verify(input.as_bytes(), &forged),
                "{alg} refuses a changed signature"
            );
            assert!(!key.verify(b"other.input", &sig), "{alg} refuses another input");
            assert!(!key.verify(input.as_bytes(), &sig[..sig.len() - 1]), "{alg} short");
        }
        Ok(())
    }

    #[test]
    fn a_key_set_gives_each_kid_its_algorithms() -> Result<(), Box<dyn std::error::Error>> {
        let rsa = SigningKey::generate("r")?;
        let mut rsa_any = rsa.jwk();
        rsa_any["kid"] = json!("r-any");
        rsa_any.as_object_mut().map(|o| o.remove("alg"));
        let ec = EcKey::generate_p256("e")?;
        let ed = EdKey::generate("ed")?;
        let mut bad = ec.jwk();
        bad["kid"] = json!("bad");
        bad["crv"] = json!("P-521");
        let set = cognito_testkit::jwk_set([rsa.jwk(), rsa_any, ec.jwk(), ed.jwk(), bad, ec.jwk()]);
        let keys = JoseKeys::parse(&set);
        let kind = |r: Result<&VerifyingKey, AuthError>| r.err().map(|e| e.kind());
        assert!(keys.key("r", JwsAlgorithm::RS256).is_ok());
        assert_eq!(kind(keys.key("r", JwsAlgorithm::RS512)), Some(ErrorKind::InvalidJwk));
        assert!(keys.key("r-any", JwsAlgorithm::RS512).is_ok());
        assert_eq!(kind(keys.key("r", JwsAlgorithm::ES256)), Some(ErrorKind::InvalidJwk));
        assert!(keys.key("ed", JwsAlgorithm::EdDSA).is_ok());
        assert_eq!(kind(keys.key("bad", JwsAlgorithm::ES256)), Some(ErrorKind::InvalidJwk));
        // The same kid twice: neither is trusted.
        assert_eq!(kind(keys.key("e", JwsAlgorithm::ES256)), Some(ErrorKind::InvalidJwk));
        assert_eq!(kind(keys.key("nope", JwsAlgorithm::ES256)), Some(ErrorKind::UnknownKid));
        Ok(())
    }

    #[test]
    fn ecdsa_signatures_are_raw_r_and_s_not_der() -> Result<(), Box<dyn std::error::Error>> {
        let key = EcKey::generate_p256("e")?;
        let token = key.sign(&claims())?;
        let (_, sig) = split(&token);
        // DER would be a 70-72 byte SEQUENCE; JOSE's is exactly 32 + 32 bytes.
        assert_eq!(sig.len(), 64);
        Ok(())
    }

    #[test]
    fn a_key_must_fit_the_tokens_algorithm() -> Result<(), Box<dyn std::error::Error>> {
        let rsa = SigningKey::generate("r")?.jwk();
        let p256 = EcKey::generate_p256("e")?.jwk();
        let p384 = EcKey::generate_p384("e")?.jwk();
        let ed = EdKey::generate("ed")?.jwk();
        for (jwk, alg) in [
            (&rsa, JwsAlgorithm::ES256),
            (&rsa, JwsAlgorithm::EdDSA),
            (&p256, JwsAlgorithm::RS256),
            (&p256, JwsAlgorithm::ES384),
            (&p384, JwsAlgorithm::ES256),
            (&ed, JwsAlgorithm::ES256),
            (&p256, JwsAlgorithm::EdDSA),
        ] {
            assert!(VerifyingKey::from_jwk(jwk, alg).is_err(), "{} as {alg}", jwk["kty"]);
        }
        // The same EC key claiming another curve, or an Ed448 OKP key.
        let mut wrong_curve = p256.clone();
        wrong_curve["crv"] = json!("P-384");
        wrong_curve["alg"] = json!("ES384");
        assert!(VerifyingKey::from_jwk(&wrong_curve, JwsAlgorithm::ES384).is_err());
        let mut ed448 = ed.clone();
        ed448["crv"] = json!("Ed448");
        assert!(VerifyingKey::from_jwk(&ed448, JwsAlgorithm::EdDSA).is_err());
        // use, alg and the key material itself.
        let mut enc = p256.clone();
        enc["use"] = json!("enc");
        assert!(VerifyingKey::from_jwk(&enc, JwsAlgorithm::ES256).is_err());
        let mut short = p256.clone();
        short["x"] = json!("AAAA");
        assert!(VerifyingKey::from_jwk(&short, JwsAlgorithm::ES256).is_err());
        let mut off_curve = p256.clone();
        off_curve["y"] = off_curve["x"].clone();
        assert!(VerifyingKey::from_jwk(&off_curve, JwsAlgorithm::ES256).is_err());
        let mut small = rsa.clone();
        small["n"] = json!("AQAB");
        assert!(VerifyingKey::from_jwk(&small, JwsAlgorithm::RS256).is_err());
        Ok(())
    }
}
