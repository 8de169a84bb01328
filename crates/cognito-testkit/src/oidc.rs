//! Keys and tokens of an OpenID Connect issuer that is not Cognito: ECDSA (P-256, P-384) and
//! Ed25519 signing keys with their public JWKs, and the claims of a JWT access token
//! (RFC 9068) for an audience.
//!
//! ```
//! use cognito_testkit::{EcKey, EdKey, SigningKey, jwk_set, oidc_access_claims};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let es256 = EcKey::generate_p256("ec-1")?;
//! let eddsa = EdKey::generate("ed-1")?;
//! let rs256 = SigningKey::generate("rsa-1")?;
//! let set = jwk_set([es256.jwk(), eddsa.jwk(), rs256.jwk()]);
//! let claims = oidc_access_claims("https://issuer.example", "https://api.example", "read");
//! let token = es256.sign(&claims)?;
//! assert_eq!(set["keys"].as_array().map(Vec::len), Some(3));
//! assert_eq!(token.split('.').count(), 3);
//! # Ok(()) }
//! ```

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::{Value, json};

use crate::b64;

/// An ECDSA key pair (P-256 for ES256, P-384 for ES384) that signs tokens under a `kid`.
pub struct EcKey {
    kid: String,
    alg: &'static str,
    crv: &'static str,
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for EcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl EcKey {
    /// A fresh P-256 key, for ES256.
    pub fn generate_p256(kid: impl Into<String>) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            alg: "ES256",
            crv: "P-256",
            pair: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)?,
        })
    }

    /// A fresh P-384 key, for ES384.
    pub fn generate_p384(kid: impl Into<String>) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            alg: "ES384",
            crv: "P-384",
            pair: EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING)?,
        })
    }

    /// The kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JOSE algorithm, `ES256` or `ES384`.
    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// The public JWK: `kty: EC`, `crv`, `kid`, `use: sig`, `alg`, `x`, `y`.
    pub fn jwk(&self) -> Value {
        // The public key is the uncompressed point: 0x04, then x and y of equal length.
        let point = self.pair.public_key().as_ref();
        let coords = point.get(1..).unwrap_or_default();
        let (x, y) = coords.split_at(coords.len() / 2);
        json!({
            "kty": "EC",
            "crv": self.crv,
            "kid": self.kid,
            "use": "sig",
            "alg": self.alg,
            "x": b64(x),
            "y": b64(y),
        })
    }

    /// A token with the header `{"kid", "alg"}` over these claims.
    pub fn sign(&self, claims: &Value) -> Result<String, Unspecified> {
        self.sign_with_header(&json!({ "kid": self.kid, "alg": self.alg }), claims)
    }

    /// A token with this JOSE header over these claims; the signature is JOSE's raw `r || s`
    /// whatever the header says.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, Unspecified> {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes())?;
        Ok(format!("{input}.{}", b64(sig.as_ref())))
    }
}

/// An Ed25519 key pair (JOSE `EdDSA`) that signs tokens under a `kid`.
pub struct EdKey {
    kid: String,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for EdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl EdKey {
    /// A fresh key.
    pub fn generate(kid: impl Into<String>) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            pair: Ed25519KeyPair::generate()?,
        })
    }

    /// The kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (RFC 8037): `kty: OKP`, `crv: Ed25519`, `kid`, `use: sig`, `alg: EdDSA`, `x`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
            "x": b64(self.pair.public_key().as_ref()),
        })
    }

    /// A token with the header `{"kid", "alg": "EdDSA"}` over these claims.
    pub fn sign(&self, claims: &Value) -> Result<String, Unspecified> {
        self.sign_with_header(&json!({ "kid": self.kid, "alg": "EdDSA" }), claims)
    }

    /// A token with this JOSE header over these claims, Ed25519-signed.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, Unspecified> {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let sig = self.pair.sign(input.as_bytes());
        Ok(format!("{input}.{}", b64(sig.as_ref())))
    }
}

/// A JWKS document holding these JWKs (of any key type).
pub fn jwk_set(jwks: impl IntoIterator<Item = Value>) -> Value {
    json!({ "keys": jwks.into_iter().collect::<Vec<_>>() })
}

/// The claims of a JWT access token (RFC 9068) from `issuer` for the resource `audience`,
/// with a space-separated `scope`, valid for an hour.
pub fn oidc_access_claims(issuer: &str, audience: &str, scope: &str) -> Value {
    let now = crate::now();
    json!({
        "iss": issuer,
        "sub": "machine-client",
        "aud": audience,
        "client_id": "machine-client",
        "scope": scope,
        "iat": now,
        "exp": now + 3600,
        "jti": crate::unique_id(),
    })
}
