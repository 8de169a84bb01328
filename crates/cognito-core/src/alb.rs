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

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::fetch::{Attempt, Document, Fetcher, Gate, Location, http_client};
use crate::health::SourceHealth;
use crate::observe::{PoolObserver, SourceObserver};
use crate::settings::{CognitoSettings, JwksSettings};
use crate::time::{Times, unix_now};
use crate::token;
use crate::url_rules::redact_template;

pub use crate::settings::AlbSettings;

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

/// One kid's key, judged once when fetched.
enum KeyEntry {
    Key(ParsedPublicKey),
    /// Served under this kid, but not a P-256 public key; why, for the operator.
    Unusable(&'static str),
}

impl KeyEntry {
    /// The signature check with this key: `bad_signature`, or `invalid_jwk` for a key that
    /// cannot verify anything.
    fn check(&self, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        match self {
            KeyEntry::Key(key) => key
                .verify_sig(message, signature)
                .map_err(|_| AuthError::new(ErrorKind::BadSignature)),
            KeyEntry::Unusable(why) => Err(AuthError::with_message(
                ErrorKind::InvalidJwk,
                "The load balancer's key for this token cannot verify it.",
            )
            .with_detail(*why)),
        }
    }
}

/// A key a signature has verified with, and when it was last used (a tick of the cache's
/// clock: larger is more recent).
struct Slot {
    key: Arc<KeyEntry>,
    used: AtomicU64,
}

/// Fetched keys that no signature has verified yet (at most `max_keys`, oldest out first),
/// apart from the proven ones so that they never push one out; a token of such a kid is
/// checked against it without a new fetch, and the first that verifies proves it.
#[derive(Default)]
struct Unproven {
    keys: HashMap<String, Arc<KeyEntry>>,
    /// The kids of `keys`, oldest first.
    order: VecDeque<String>,
}

/// The keys of one key URL template, one PEM per kid.
///
/// - A key is kept (at most `max_keys`) only once a signature has verified with it; the least
///   recently used one goes first, so a key in use stays. A fetched key whose first token
///   fails its signature is held apart (see [`Unproven`]) and never evicts a proven key.
/// - Fetches run on the shared fetcher (`crate::fetch`), as a JWKS's do: one at a time
///   (single flight: concurrent requests for a new kid cause one), with the same deadline,
///   size cap, backoff (1 s doubling to 60 s; `jwks_unavailable` meanwhile for a kid not
///   held), events, metrics and health.
/// - Bounded fetches for kids not held: a fetch that yields no key to verify with (the key
///   server does not have the kid, or the fetched key fails the first signature checked with
///   it) starts the fetcher's cool-down of `jwks.cooldown_secs`, during which a token of any
///   kid not held is `unknown_kid` without a fetch. So forged kids cost at most one fetch per
///   cool-down, as for a JWKS; a fetch whose key verifies the token that asked for it starts
///   none (a load balancer's new key, or several load balancers' first, cost no wait). The
///   price: a genuinely new kid first seen during a cool-down is `unknown_kid` until it ends.
struct KeyCache {
    client: reqwest::Client,
    max_keys: usize,
    /// The proven keys.
    keys: RwLock<HashMap<String, Slot>>,
    /// The clock of `Slot::used`: bumped on every use.
    clock: AtomicU64,
    unproven: Mutex<Unproven>,
    /// Fetches, under the redacted key URL template; its flight is held for the whole of a
    /// fetch and the first signature check with what it fetched.
    fetcher: Fetcher,
}

impl KeyCache {
    fn new(alb: &AlbSettings, tuning: &JwksSettings, client: Option<&reqwest::Client>) -> Result<Self, String> {
        let observer = SourceObserver::shown_as(redact_template(&alb.template()));
        Ok(Self {
            client: match client {
                Some(client) => client.clone(),
                None => http_client(tuning)?,
            },
            max_keys: alb.max_keys,
            keys: RwLock::default(),
            clock: AtomicU64::new(0),
            unproven: Mutex::default(),
            fetcher: Fetcher::new("the load balancer key", Document::KeyPerKid, tuning, observer),
        })
    }

    fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }

    fn unproven(&self) -> std::sync::MutexGuard<'_, Unproven> {
        self.unproven.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The check with the key held for `kid`, if there is one: the proven key (marked as used
    /// now), else the fetched but unproven one, which a signature that verifies proves.
    fn held(&self, kid: &str, message: &[u8], signature: &[u8]) -> Option<Result<(), AuthError>> {
        let proven = {
            let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
            keys.get(kid).map(|slot| {
                slot.used.store(self.tick(), Ordering::Relaxed);
                Arc::clone(&slot.key)
            })
        };
        if let Some(key) = proven {
            return Some(key.check(message, signature));
        }
        let key = self.unproven().keys.get(kid).cloned()?;
        let result = key.check(message, signature);
        if result.is_ok() {
            let mut unproven = self.unproven();
            unproven.keys.remove(kid);
            unproven.order.retain(|k| k != kid);
            drop(unproven);
            self.install(kid, key);
        }
        Some(result)
    }

    /// The answer to give without fetching, if there is one: a backoff, or a cool-down.
    fn gate(&self) -> Option<AuthError> {
        match self.fetcher.gate(true)? {
            Gate::Backoff(wait, last_error) => Some(unavailable(wait, last_error)),
            Gate::CoolingDown => Some(unknown_kid()),
        }
    }

    /// Checks `signature` over `message` with the key of `kid`, fetching it if no key of that
    /// kid is held and no backoff or cool-down forbids it.
    async fn verify(&self, alb: &AlbSettings, kid: &str, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        if let Some(result) = self.held(kid, message, signature) {
            return result;
        }
        if let Some(refusal) = self.gate() {
            return Err(refusal);
        }
        let _flight = self.fetcher.flight().await;
        // Whoever held the flight before may have fetched this kid, started a cool-down or
        // learnt that the server is down: then no second fetch.
        if let Some(result) = self.held(kid, message, signature) {
            return result;
        }
        if let Some(refusal) = self.gate() {
            return Err(refusal);
        }
        // The template was checked at load with a UUID in place of the kid, so this parses.
        let url = Url::parse(&alb.key_url_for(kid)?).map_err(|_| unknown_kid())?;
        let location = Location::Http {
            client: self.client.clone(),
            url,
        };
        let (body, attempt) = self.fetcher.get(&location).await;
        match body {
            Ok(Some(pem)) if std::str::from_utf8(&pem).is_ok_and(|t| t.contains("-----BEGIN ")) => {
                let key = Arc::new(judge(&pem));
                let result = key.check(message, signature);
                if result.is_ok() {
                    self.install(kid, key);
                } else {
                    self.hold_unproven(kid, key);
                    self.fetcher.cool_down();
                }
                self.fetcher.answered(attempt, true, self.len());
                result
            }
            Ok(None) => {
                self.fetcher.cool_down();
                self.fetcher.answered(attempt, false, self.len());
                Err(unknown_kid())
            }
            Ok(Some(_)) => {
                let error = "the load balancer key server answered something that is not PEM".to_owned();
                Err(self.failed(attempt, error))
            }
            Err(error) => Err(self.failed(attempt, error)),
        }
    }

    /// A failed fetch: the backoff starts, and the refusal says for how long.
    fn failed(&self, attempt: Attempt, error: String) -> AuthError {
        let held = self.len();
        let stale = self.fetcher.last_fetched().filter(|_| held > 0).map(|at| at.elapsed());
        let wait = self.fetcher.failed(attempt, error.clone(), stale);
        unavailable(wait, Some(error))
    }

    /// Keeps a fetched key whose first signature check failed apart, the oldest such key out
    /// past `max_keys`.
    fn hold_unproven(&self, kid: &str, key: Arc<KeyEntry>) {
        let mut unproven = self.unproven();
        while unproven.order.len() >= self.max_keys {
            match unproven.order.pop_front() {
                Some(oldest) => unproven.keys.remove(&oldest),
                None => break,
            };
        }
        if unproven.keys.insert(kid.to_owned(), key).is_none() {
            unproven.order.push_back(kid.to_owned());
        }
    }

    /// Keeps the proven `key` under `kid`, dropping the least recently used key past
    /// `max_keys`.
    fn install(&self, kid: &str, key: Arc<KeyEntry>) {
        let used = AtomicU64::new(self.tick());
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if !keys.contains_key(kid) && keys.len() >= self.max_keys {
            // A scan, under the write lock: only a key a load balancer signed with gets here.
            let lru = keys
                .iter()
                .min_by_key(|(_, slot)| slot.used.load(Ordering::Relaxed))
                .map(|(kid, _)| kid.clone());
            if let Some(lru) = lru {
                keys.remove(&lru);
            }
        }
        keys.insert(kid.to_owned(), Slot { key, used });
        drop(keys);
        self.fetcher.touch();
    }

    /// What the cache holds now, for the health report (no I/O); with the `metrics` feature
    /// it also sets the keys and age gauges.
    fn health(&self) -> SourceHealth {
        let age = self.fetcher.last_fetched().map(|at| at.elapsed());
        self.fetcher.health(self.len(), age, None)
    }
}

fn unavailable(wait: Duration, detail: Option<String>) -> AuthError {
    AuthError::unavailable(wait, detail)
        .with_sentence("The load balancer's signing key cannot be fetched right now; try again later.")
}

/// The key checks, once per kid: one PEM `PUBLIC KEY` block holding a P-256 public key.
fn judge(pem: &[u8]) -> KeyEntry {
    let text = String::from_utf8_lossy(pem);
    let Some(body) = text
        .split_once("-----BEGIN PUBLIC KEY-----")
        .and_then(|(_, rest)| rest.split_once("-----END PUBLIC KEY-----"))
        .map(|(body, _)| body)
    else {
        return KeyEntry::Unusable("the PEM holds no PUBLIC KEY block");
    };
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let Ok(der) = LENIENT_STANDARD.decode(b64) else {
        return KeyEntry::Unusable("the PEM's body is not base64");
    };
    match ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, der) {
        Ok(key) => KeyEntry::Key(key),
        Err(_) => KeyEntry::Unusable("the PEM does not hold a P-256 public key"),
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

    #[test]
    fn a_pem_that_is_not_p256_is_unusable() {
        assert!(matches!(judge(b"hello"), KeyEntry::Unusable(_)));
        assert!(matches!(
            judge(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            KeyEntry::Unusable(_)
        ));
    }
}
