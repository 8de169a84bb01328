//! JOSE notions the settings and the checks share: the signature algorithms that may be
//! allowed, and the shape of a JWK Set document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JWS algorithm that may be allowed. Only the RSA PKCS#1 family: Cognito signs with RS256,
/// and the others exist for emulators; `none`, HS*, PS* and ES* can never be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Cognito's algorithm, the default).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
}

impl Algorithm {
    /// The JOSE name, e.g. `"RS256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
        }
    }

    pub(crate) fn from_jose(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Algorithm::RS256),
            "RS384" => Some(Algorithm::RS384),
            "RS512" => Some(Algorithm::RS512),
            _ => None,
        }
    }
}

/// The `keys` array of a JWK Set document (RFC 7517 5), or why the document is not one.
pub(crate) fn jwk_set_keys(doc: &Value) -> Result<&[Value], &'static str> {
    doc.get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or("the JWKS is not an object with a \"keys\" array")
}
