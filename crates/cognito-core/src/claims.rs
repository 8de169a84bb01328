//! Typed claims: the default [`CognitoToken`] and the helpers for your own claims type.
//!
//! Any `serde::de::DeserializeOwned` type can receive a verified token's claims, so Cognito's
//! `custom:` attributes are a `#[serde(rename = "custom:tenant")]` away (the Rust form of
//! fastapi-cognito's `custom_model`):
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct MyClaims {
//!     #[serde(flatten)]
//!     base: cognito_core::CognitoToken,
//!     #[serde(rename = "custom:tenant")]
//!     tenant: Option<String>,
//! }
//! ```

use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The claims of a Cognito access, ID or client-credentials token. Every claim a token type may
/// lack is an `Option` (or an empty list), so all three types fit.
///
/// The claims verification reads are held to their JSON types (a token where they do not fit
/// is `malformed`): `exp`, `nbf`, `iat`, `auth_time` numbers; `iss`, `sub`, `token_use`,
/// `client_id`, `aud`, `scope`, `username`, `cognito:username`, `jti` strings;
/// `cognito:groups` an array of strings. The informational claims here (`email`,
/// `origin_jti`, `event_id`, `acr`) are not judged: one of another type reads as `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CognitoToken {
    /// The subject: the user's id (or the app client's, for client-credentials tokens).
    #[serde(default)]
    pub sub: Option<String>,
    /// The issuer (already checked against the pool).
    pub iss: String,
    /// `access` or `id` (already checked against the pool).
    pub token_use: TokenKind,
    /// Access tokens: the `username` claim. [`CognitoToken::username`] reads the user name of
    /// either kind of token.
    #[serde(default, rename = "username")]
    pub access_username: Option<String>,
    /// ID tokens: the `cognito:username` claim. [`CognitoToken::username`] reads the user name
    /// of either kind of token.
    #[serde(default, rename = "cognito:username")]
    pub cognito_username: Option<String>,
    /// Access tokens: the app client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// ID tokens: the app client.
    #[serde(default)]
    pub aud: Option<String>,
    /// The user's groups.
    #[serde(default, rename = "cognito:groups")]
    pub groups: Vec<String>,
    /// Access tokens: space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// ID tokens: the e-mail address. Informational: absent (`None`) when not a string.
    #[serde(default, deserialize_with = "string_or_absent")]
    pub email: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(with = "numeric_date")]
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default, with = "numeric_date::option")]
    pub iat: Option<i64>,
    /// When the user authenticated, seconds since the epoch.
    #[serde(default, with = "numeric_date::option")]
    pub auth_time: Option<i64>,
    /// The token's unique id.
    #[serde(default)]
    pub jti: Option<String>,
    /// The id of the token the refresh chain started from. Informational: absent (`None`) when not a string.
    #[serde(default, deserialize_with = "string_or_absent")]
    pub origin_jti: Option<String>,
    /// The sign-in event. Informational: absent (`None`) when not a string.
    #[serde(default, deserialize_with = "string_or_absent")]
    pub event_id: Option<String>,
    /// The authentication context class of the sign-in (OpenID Connect `acr`), which a
    /// route's `acr_values` asks for. Informational: absent (`None`) when not a string.
    #[serde(
        default,
        deserialize_with = "string_or_absent",
        skip_serializing_if = "Option::is_none"
    )]
    pub acr: Option<String>,
}

/// The kind of a verified token, its `token_use` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// An access token (`token_use: access`): `client_id`, `scope`, `username`.
    Access,
    /// An ID token (`token_use: id`): `aud`, `cognito:username`, the user's attributes.
    Id,
}

impl TokenKind {
    /// The claim's value: `"access"` or `"id"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Id => "id",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string claim that is not judged: any other JSON value reads as absent.
fn string_or_absent<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Lenient;
    impl<'de> Visitor<'de> for Lenient {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(Lenient)
}

impl CognitoToken {
    /// The user name: `username` (access tokens) or else `cognito:username` (ID tokens);
    /// `None` for client-credentials tokens.
    pub fn username(&self) -> Option<&str> {
        self.access_username.as_deref().or(self.cognito_username.as_deref())
    }

    /// The app client: `client_id` (access tokens) or else `aud` (ID tokens).
    pub fn client(&self) -> Option<&str> {
        self.client_id.as_deref().or(self.aud.as_deref())
    }

    /// The scopes, split on spaces.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        crate::token::split_scopes(self.scope.as_deref())
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether the token carries `scope` (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Whether this is an access token (else an ID token).
    pub fn is_access_token(&self) -> bool {
        self.token_use == TokenKind::Access
    }

    /// Who the token speaks for: an app client of its own (a client-credentials access
    /// token: no user name, `sub` equal to `client_id`), else a user.
    pub fn principal(&self) -> crate::Principal<'_> {
        let machine = crate::token::is_machine(
            Some(self.token_use.as_str()),
            self.username().is_some(),
            self.sub.as_deref(),
            self.client_id.as_deref(),
        );
        match (machine, self.client_id.as_deref()) {
            (true, Some(client_id)) => crate::Principal::Machine { client_id },
            _ => crate::Principal::User {
                sub: self.sub.as_deref(),
                username: self.username(),
            },
        }
    }
}

/// `#[serde(with = "cognito_core::claims::numeric_date")]` for an `i64` NumericDate claim: JWT allows
/// fractional seconds, which a plain `i64` field would reject; this floors them.
pub mod numeric_date {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Deserializes a JSON number as whole seconds (floored).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let secs = f64::deserialize(d)?;
        // `as` saturates for out-of-range values; JSON has no NaN.
        Ok(secs.floor() as i64)
    }

    /// Serializes as a JSON integer.
    pub fn serialize<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*secs)
    }

    /// The same for an optional claim: `#[serde(default, with = "cognito_core::claims::numeric_date::option")]`.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        /// Deserializes an optional JSON number as whole seconds (floored).
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            Ok(Option::<f64>::deserialize(d)?.map(|secs| secs.floor() as i64))
        }

        /// Serializes as a JSON integer or null.
        pub fn serialize<S: Serializer>(secs: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match secs {
                Some(secs) => s.serialize_some(secs),
                None => s.serialize_none(),
            }
        }
    }
}
