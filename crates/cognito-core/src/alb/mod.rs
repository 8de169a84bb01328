//! The user claims an Application Load Balancer sends after its `authenticate-cognito` or
//! `authenticate-oidc` action: an ES256 token in the `x-amzn-oidc-data` header, whose JOSE
//! header names the load balancer (`signer`), the app client (`client`), the issuer (`iss`)
//! and the expiry (`exp`), and whose key is a PEM file of its own per `kid`.
//!
//! [`AlbVerifier`] checks, in this order, cheap first: the header (absent -> `missing_token`,
//! twice or with a space -> `invalid_header`, too long -> `too_large`); the parse (three parts;
//! base64url or standard base64, padded or not, since load balancers pad; JSON objects without
//! duplicate members -> else `malformed`); `alg` exactly `ES256` (-> `unsupported_alg`: an
//! RS256 token is not a load balancer's); a `kid` shaped like a UUID (-> `unknown_kid`,
//! before any URL is built from it); `signer` one of the configured ARNs (-> `wrong_issuer`);
//! `iss` and `client` when configured (-> `wrong_issuer`, `wrong_client`); `exp` with the
//! leeway (-> `expired`; a missing `exp` is `malformed`); then the key, fetched once per kid
//! (a 404 -> `unknown_kid`; the key server failing -> `jwks_unavailable`; a key that is not
//! P-256 -> `invalid_jwk`); then the signature (-> `bad_signature`). No `iat` is required.
//!
//! A kid is chosen by whoever sends the token, so the key cache is built not to be steered by
//! forged ones: a fetch that gives no key to verify with starts a cool-down for every kid not
//! held, a key is kept only once a signature verified with it, and the least recently used
//! key goes first (see `KeyCache`).

use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::health::SourceHealth;
use crate::observe::PoolObserver;
use crate::settings::CognitoSettings;
use crate::time::{Times, unix_now};
use crate::token;

pub use crate::settings::AlbSettings;

mod keys;
use keys::KeyCache;

/// The pool name of load-balancer answers in metrics and events.
const POOL_NAME: &str = "alb";

/// The header an Application Load Balancer puts the user's claims in.
pub const ALB_HEADER: &str = "x-amzn-oidc-data";

impl AlbSettings {
    /// The URL of the key `kid`, which must look like a UUID (a kid is never put into a URL
    /// otherwise).
    pub fn key_url_for(&self, kid: &str) -> Result<String, AuthError> {
        if !is_uuid(kid) {
            return Err(unknown_kid());
        }
        Ok(self.template().replace("{kid}", kid))
    }
}

/// Whether `kid` is a UUID in its text form: 8-4-4-4-12 hexadecimal digits.
fn is_uuid(kid: &str) -> bool {
    let bytes = kid.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn unknown_kid() -> AuthError {
    AuthError::with_message(
        ErrorKind::UnknownKid,
        "The token's signing key is not a load balancer's.",
    )
}

/// The claims of a load balancer's token that most services read; any other claim is a
/// field of your own claims type away (see [`AlbVerifier::verify`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbClaims {
    /// The user's id at the identity provider.
    #[serde(default)]
    pub sub: Option<String>,
    /// The user's e-mail address, if the provider shares it.
    #[serde(default)]
    pub email: Option<String>,
    /// The user name, if the provider sends one.
    #[serde(default)]
    pub username: Option<String>,
}

/// A verified load-balancer token: what its JOSE header says, and its claims as `T`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AlbToken<T = AlbClaims> {
    /// The load balancer's ARN (one of the configured ones).
    pub signer: String,
    /// The app client, if the header names one.
    pub client: Option<String>,
    /// The identity provider, if the header names one.
    pub issuer: Option<String>,
    /// The claims.
    pub claims: T,
}

impl<T> std::ops::Deref for AlbToken<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.claims
    }
}

/// Base64 as load balancers write it: the URL-safe alphabet or the standard one, padded or not.
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_part(part: &str) -> Result<Vec<u8>, AuthError> {
    LENIENT_URL
        .decode(part)
        .or_else(|_| LENIENT_STANDARD.decode(part))
        .map_err(|_| AuthError::with_message(ErrorKind::Malformed, "A token part is not base64."))
}

/// The JOSE header members a load balancer sends and the checks read.
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    signer: Option<String>,
    iss: Option<String>,
    client: Option<String>,
    exp: Option<f64>,
    /// Any `crit` is an extension this parser does not implement.
    crit: Option<serde_json::Value>,
}

/// The claims the checks read (`exp`, when the header lacks it).
#[derive(Deserialize)]
struct Payload {
    exp: Option<f64>,
    nbf: Option<f64>,
}

/// A load-balancer token split and decoded, not yet trusted.
struct Parsed<'t> {
    signing_input: &'t str,
    header: Header,
    payload: Vec<u8>,
    payload_times: Payload,
    signature: Vec<u8>,
}

fn malformed(message: &'static str) -> AuthError {
    AuthError::with_message(ErrorKind::Malformed, message)
}

/// Strict JSON: an object without duplicate members at any depth, then typed.
fn strict_json<T: DeserializeOwned>(bytes: &[u8], message: &'static str) -> Result<T, AuthError> {
    token::parse_json::<token::Skipped>(bytes).map_err(|_| malformed(message))?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(malformed(message));
    }
    token::parse_json(bytes).map_err(|_| malformed(message))
}

impl<'t> Parsed<'t> {
    fn decode(text: &'t str) -> Result<Self, AuthError> {
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("The token does not have exactly three dot-separated parts."));
        };
        let header_json = decode_part(header)?;
        let payload_json = decode_part(payload)?;
        let jose: Header = strict_json(&header_json, "The token header is not a valid JOSE header.")?;
        let payload_times: Payload = strict_json(&payload_json, "The token claims are not valid.")?;
        Ok(Parsed {
            signing_input: text.get(..header.len() + 1 + payload.len()).unwrap_or_default(),
            header: jose,
            payload: payload_json,
            payload_times,
            signature: decode_part(signature)?,
        })
    }
}

/// Verifies the `x-amzn-oidc-data` tokens of the configured load balancers. Cheap to clone;
/// every clone shares one key cache.
///
/// ```no_run
/// use cognito_core::CognitoSettings;
/// use cognito_core::alb::{AlbClaims, AlbVerifier};
/// # async fn run(header_value: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let settings = CognitoSettings::from_yaml("cognito.yaml")?; // with an `alb:` section
/// let alb = AlbVerifier::new(&settings)?;
/// let user = alb.authenticate::<AlbClaims>([header_value]).await?;
/// println!("{:?} via {}", user.email, user.signer);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AlbVerifier(Arc<Inner>);

struct Inner {
    settings: AlbSettings,
    check_expiration: bool,
    leeway: f64,
    max_token_bytes: usize,
    keys: KeyCache,
    /// Counts answers as a pool named `alb` does, and logs its rejections.
    observer: PoolObserver,
}

impl std::fmt::Debug for AlbVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbVerifier")
            .field("region", &self.0.settings.region)
            .field("arns", &self.0.settings.arns)
            .finish_non_exhaustive()
    }
}

impl AlbVerifier {
    /// The verifier of `settings.alb`; an error if the settings have no `alb:` section.
    pub fn new(settings: &CognitoSettings) -> Result<Self, ConfigError> {
        settings.validate()?;
        let alb = settings
            .alb
            .as_ref()
            .ok_or_else(|| ConfigError::invalid(None, "alb", "is not configured"))?;
        Self::for_alb(alb, settings)
    }

    /// The verifier of `alb`, with the leeway, expiry switch, token size cap, fetch tuning
    /// (`jwks:`) and transport rule (`allow_insecure_jwks_url`) of `settings`.
    pub fn for_alb(alb: &AlbSettings, settings: &CognitoSettings) -> Result<Self, ConfigError> {
        Self::for_alb_with(alb, settings, None)
    }

    /// [`AlbVerifier::for_alb`], fetching keys with `client` when given (else our own).
    pub(crate) fn for_alb_with(
        alb: &AlbSettings,
        settings: &CognitoSettings,
        client: Option<&reqwest::Client>,
    ) -> Result<Self, ConfigError> {
        alb.validate(settings.allow_insecure_jwks_url)?;
        let keys =
            KeyCache::new(alb, &settings.jwks, client).map_err(|p| ConfigError::invalid(None, "alb.key_url", p))?;
        Ok(Self(Arc::new(Inner {
            settings: alb.clone(),
            check_expiration: settings.check_expiration,
            leeway: settings.leeway_seconds as f64,
            max_token_bytes: settings.max_token_bytes,
            keys,
            observer: PoolObserver::new(POOL_NAME),
        })))
    }

    /// The settings this verifier enforces.
    pub fn settings(&self) -> &AlbSettings {
        &self.0.settings
    }

    /// Verifies the token of the `x-amzn-oidc-data` header from its values (every occurrence,
    /// in order, as adapters pass them): absent or empty -> `missing_token`.
    pub async fn authenticate<'h, T: DeserializeOwned>(
        &self,
        header_values: impl IntoIterator<Item = &'h [u8]>,
    ) -> Result<AlbToken<T>, AuthError> {
        let token = token::from_header(header_values, "", self.0.max_token_bytes).map_err(|e| match e.kind() {
            ErrorKind::MissingToken => AuthError::with_message(
                ErrorKind::MissingToken,
                "The request carries no x-amzn-oidc-data header from a load balancer.",
            ),
            _ => e,
        });
        match token {
            Ok(token) => self.verify(token).await,
            Err(e) => {
                let refused = Err(e);
                self.0.observer.answer(POOL_NAME, &refused);
                refused
            }
        }
    }

    /// Verifies a bare load-balancer token. Every answer is counted and its rejection logged
    /// under the pool name `alb`, as a pool's are.
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<AlbToken<T>, AuthError> {
        let observer = &self.0.observer;
        let started = observer.start();
        let result = self.judge(token).await;
        observer.timed(started);
        observer.answer(POOL_NAME, &result);
        result
    }

    async fn judge<T: DeserializeOwned>(&self, token: &str) -> Result<AlbToken<T>, AuthError> {
        token::check_size(token, self.0.max_token_bytes)?;
        let parsed = Parsed::decode(token)?;
        let (kid, signer) = self.precheck(&parsed)?;
        self.0
            .keys
            .verify(
                &self.0.settings,
                kid,
                parsed.signing_input.as_bytes(),
                &parsed.signature,
            )
            .await?;
        let claims = token::parse_json(&parsed.payload)
            .map_err(|_| malformed("The token's claims do not fit the claims type this service expects."))?;
        Ok(AlbToken {
            signer: signer.to_owned(),
            client: parsed.header.client.clone(),
            issuer: parsed.header.iss.clone(),
            claims,
        })
    }

    /// Every check that needs no key, in order: alg, kid, signer, issuer, client, exp / nbf.
    fn precheck<'p>(&self, parsed: &'p Parsed<'_>) -> Result<(&'p str, &'p str), AuthError> {
        let inner = &*self.0;
        let h = &parsed.header;
        if h.crit.is_some() {
            return Err(malformed("The token header is not a valid JOSE header."));
        }
        if h.alg.as_deref() != Some("ES256") {
            return Err(AuthError::with_message(
                ErrorKind::UnsupportedAlg,
                "The token's signing algorithm is not a load balancer's (ES256).",
            ));
        }
        let kid = h.kid.as_deref().filter(|k| is_uuid(k)).ok_or_else(unknown_kid)?;
        let signer = h
            .signer
            .as_deref()
            .filter(|s| inner.settings.arns.iter().any(|arn| arn == s))
            .ok_or_else(|| {
                AuthError::with_message(
                    ErrorKind::WrongIssuer,
                    "The token was not signed by a load balancer this service trusts.",
                )
            })?;
        if let Some(expected) = &inner.settings.issuer
            && h.iss.as_deref() != Some(expected.as_str())
        {
            return Err(ErrorKind::WrongIssuer.into());
        }
        if !inner.settings.client_ids.is_empty()
            && !h
                .client
                .as_deref()
                .is_some_and(|c| inner.settings.client_ids.iter().any(|id| id == c))
        {
            return Err(ErrorKind::WrongClient.into());
        }
        // The JOSE header and the claims may each carry an `exp`: the earlier one counts. A
        // load balancer's token carries no `iat` requirement.
        let exp = match (h.exp, parsed.payload_times.exp) {
            (Some(header), Some(claims)) => header.min(claims),
            (Some(exp), None) | (None, Some(exp)) => exp,
            (None, None) => return Err(malformed("The token has no exp claim.")),
        };
        let times = Times {
            exp: Some(exp),
            nbf: parsed.payload_times.nbf,
            iat: None,
        };
        times.check(unix_now(SystemTime::now())?, inner.leeway, inner.check_expiration)?;
        Ok((kid, signer))
    }

    /// How many keys the cache holds now: keys a signature has verified with (for tests and
    /// health reports).
    pub fn cached_keys(&self) -> usize {
        self.0.keys.len()
    }

    /// What the key cache holds now, without I/O: the keys kept, how long ago a key was last
    /// fetched, the last fetch error and the rest of its backoff. The source is the key URL
    /// template, redacted. Part of [`crate::CognitoAuth::health`], as `alb`.
    pub fn health(&self) -> SourceHealth {
        self.0.keys.health()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shapes() {
        assert!(is_uuid("11111111-2222-3333-4444-555555555555"));
        assert!(is_uuid("abcdefAB-cdef-abcd-efab-cdefabcdefab"));
        for bad in [
            "",
            "../../etc/passwd",
            "11111111-2222-3333-4444-55555555555",
            "11111111-2222-3333-4444-5555555555555",
            "11111111x2222-3333-4444-555555555555",
            "1111111g-2222-3333-4444-555555555555",
            "11111111-2222-3333-4444-55555555555/",
            "11111111-2222-3333-4444-5555555555%2",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }

    #[test]
    fn both_alphabets_with_or_without_padding() {
        let json = br#"{"a":"??>>"}"#;
        for text in [
            base64::engine::general_purpose::STANDARD.encode(json),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(json),
            base64::engine::general_purpose::URL_SAFE.encode(json),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json),
        ] {
            assert_eq!(decode_part(&text).ok().as_deref(), Some(&json[..]), "{text}");
        }
        assert!(decode_part("a b").is_err());
        assert!(decode_part("A").is_err());
    }

    #[test]
    fn key_url_template_rules() {
        let mut alb = AlbSettings::new("eu-west-1", ["arn:x"]);
        assert!(alb.validate(false).is_ok());
        alb.key_url = Some("http://127.0.0.1:9/keys/{kid}".into());
        assert!(alb.validate(false).is_ok());
        alb.key_url = Some("http://keys.example.com/{kid}".into());
        assert_eq!(
            alb.validate(false).err().as_ref().and_then(ConfigError::field),
            Some("alb.key_url")
        );
        assert!(alb.validate(true).is_ok());
        alb.key_url = Some("https://keys.example.com/".into());
        assert_eq!(
            alb.validate(false).err().as_ref().and_then(ConfigError::field),
            Some("alb.key_url")
        );
        alb.key_url = None;
        alb.arns.clear();
        assert_eq!(
            alb.validate(false).err().as_ref().and_then(ConfigError::field),
            Some("alb.arns")
        );
        let alb = AlbSettings::new("eu-west-1/../", ["arn:x"]);
        assert_eq!(
            alb.validate(false).err().as_ref().and_then(ConfigError::field),
            Some("alb.region")
        );
        let mut alb = AlbSettings::new("eu-west-1", ["arn:x"]);
        alb.max_keys = 0;
        assert_eq!(
            alb.validate(false).err().as_ref().and_then(ConfigError::field),
            Some("alb.max_keys")
        );
    }
}
