//! # cognito-testkit
//!
//! What a test of a Cognito-protected service needs, with no AWS account: RSA signing keys,
//! Cognito-shaped access / ID / client-credentials tokens with any claim overridden, and a
//! JWKS server on 127.0.0.1 that the test controls (swap keys, fail, stall, count requests).
//!
//! - [`DevIssuer`]: the quick start. One call gives a key, a JWKS server, the settings YAML of
//!   one pool (`dev`) or of several ([`DevIssuer::settings_yaml_for`]) and tokens for them.
//! - [`SigningKey`], [`access_claims`] / [`id_claims`] / [`client_credentials_claims`],
//!   [`jwks`], [`JwksServer`] and [`Reply`]: full control, for tests of expiry, rotation,
//!   forged signatures or a JWKS outage.
//!
//! - [`EcKey`], [`EdKey`], [`jwk_set`] and [`oidc_access_claims`]: ES256, ES384 and EdDSA keys
//!   and JWT access tokens of an OpenID Connect issuer that is not Cognito.
//!
//! - [`alb`]: ES256 keys, `x-amzn-oidc-data` tokens as an Application Load Balancer sends
//!   them, and a per-kid PEM key server, for services behind a load balancer.
//!
//! A whole app under test, per framework (the router or app built in the test, real HTTP
//! on 127.0.0.1 or the framework's own test client): see `tests/testkit_example.rs` in
//! `cognito-axum`, `cognito-actix` and `cognito-rocket`.
//!
//! ```
//! use cognito_testkit::DevIssuer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dev = DevIssuer::start().await?;
//! let yaml = dev.settings_yaml(); // feed it to CognitoSettings::from_yaml_str
//! let admin = dev.access_token(&["admin"], "demo/read")?;
//! assert!(yaml.contains(DevIssuer::USERPOOL_ID));
//! # let _ = admin; Ok(()) }
//! ```
//!
//! Finer control:
//!
//! ```
//! use cognito_testkit::{JwksServer, SigningKey, access_claims, jwks};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SigningKey::generate("key-1")?;
//! let server = JwksServer::start(jwks(&[&key])).await?;
//! let issuer = server.issuer("eu-west-1_Test");
//! let mut claims = access_claims(&issuer, "client-a");
//! claims["cognito:groups"] = serde_json::json!(["admin"]);
//! let token = key.sign(&claims)?;
//! assert_eq!(token.split('.').count(), 3);
//! assert_eq!(server.hits(), 0);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod alb;
mod oidc;
mod server;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub use oidc::{EcKey, EdKey, jwk_set, oidc_access_claims};
pub use server::{JwksServer, Reply};

/// Unpadded base64url, as JWS uses it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// An RSA key pair that signs tokens under a `kid`.
pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh 2048-bit key.
    pub fn generate(kid: impl Into<String>) -> Result<Self, Unspecified> {
        Self::generate_sized(kid, KeySize::Rsa2048)
    }

    /// A fresh key of the given size.
    pub fn generate_sized(kid: impl Into<String>, size: KeySize) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            pair: RsaKeyPair::generate(size)?,
        })
    }

    /// The same key material under another kid.
    pub fn with_kid(&self, kid: impl Into<String>) -> Result<Self, Unspecified> {
        use aws_lc_rs::encoding::AsDer as _;
        let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = self.pair.as_der()?;
        Ok(Self {
            kid: kid.into(),
            pair: RsaKeyPair::from_pkcs8(der.as_ref()).map_err(|_| Unspecified)?,
        })
    }

    /// The kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK, as Cognito publishes it (`kty`, `kid`, `use: sig`, `alg: RS256`, `n`, `e`).
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// A token with Cognito's header (`{"kid": ..., "alg": "RS256"}`) over these claims.
    pub fn sign(&self, claims: &Value) -> Result<String, Unspecified> {
        self.sign_with_header(&json!({ "kid": self.kid, "alg": "RS256" }), claims)
    }

    /// A token with this JOSE header; the digest follows the header's `alg` (RS384, RS512,
    /// else SHA-256), so a test can claim any algorithm over a real RSA signature.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, Unspecified> {
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("RS256");
        self.sign_parts(alg, &header.to_string(), &claims.to_string())
    }

    /// A token over exactly these JSON texts (for duplicate members, odd spacing, ...),
    /// signed with RSASSA-PKCS1-v1_5 and the digest of `alg`.
    pub fn sign_parts(&self, alg: &str, header_json: &str, claims_json: &str) -> Result<String, Unspecified> {
        let input = format!("{}.{}", b64(header_json), b64(claims_json));
        let encoding: &'static dyn signature::RsaEncoding = match alg {
            "RS384" => &signature::RSA_PKCS1_SHA384,
            "RS512" => &signature::RSA_PKCS1_SHA512,
            _ => &signature::RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), input.as_bytes(), &mut sig)?;
        Ok(format!("{input}.{}", b64(sig)))
    }
}

/// A JWKS document holding these keys.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// The AWS issuer of a pool: `https://cognito-idp.<region>.amazonaws.com/<userpool_id>`.
pub fn aws_issuer(region: &str, userpool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{userpool_id}")
}

/// The claims of a Cognito access token for user `alice`, valid for an hour.
/// Override any claim by indexing: `claims["exp"] = json!(0)`.
pub fn access_claims(issuer: &str, client_id: &str) -> Value {
    let now = now();
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "iss": issuer,
        "client_id": client_id,
        "origin_jti": "11111111-2222-3333-4444-555555555555",
        "event_id": "66666666-7777-8888-9999-000000000000",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": "abcdefab-cdef-abcd-efab-cdefabcdefab",
        "username": "alice",
    })
}

/// The claims of a Cognito ID token for user `alice`, valid for an hour.
pub fn id_claims(issuer: &str, client_id: &str) -> Value {
    let now = now();
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "email_verified": true,
        "iss": issuer,
        "cognito:username": "alice",
        "origin_jti": "11111111-2222-3333-4444-555555555555",
        "aud": client_id,
        "event_id": "66666666-7777-8888-9999-000000000000",
        "token_use": "id",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": "abcdefab-cdef-abcd-efab-cdefabcdefab",
        "email": "alice@example.com",
    })
}

/// The claims of a client-credentials (machine-to-machine) access token: no user, `sub` is
/// the client. A route with `principal: machine` serves it; one with `principal: user`
/// refuses it (`forbidden_principal`).
pub fn client_credentials_claims(issuer: &str, client_id: &str) -> Value {
    let now = now();
    json!({
        "sub": client_id,
        "token_use": "access",
        "scope": "demo/read",
        "auth_time": now,
        "iss": issuer,
        "exp": now + 3600,
        "iat": now,
        "version": 2,
        "jti": "abcdefab-cdef-abcd-efab-cdefabcdefab",
        "client_id": client_id,
    })
}

/// `claims` with `changes` set over them (an object: each member replaces the claim of that
/// name; a `null` member removes it): how tests mint a token with an `auth_time`, an `acr`,
/// an `aud`, an `origin_jti` or a `sub` of their own.
///
/// ```
/// use cognito_testkit::{access_claims, merge_claims, now};
/// use serde_json::json;
/// let mut claims = access_claims("https://issuer", "client-a");
/// merge_claims(&mut claims, &json!({"auth_time": now() - 600, "acr": "mfa", "origin_jti": "s-1", "jti": null}));
/// assert_eq!(claims["acr"], "mfa");
/// assert!(claims.get("jti").is_none());
/// ```
pub fn merge_claims(claims: &mut Value, changes: &Value) {
    let (Some(claims), Some(changes)) = (claims.as_object_mut(), changes.as_object()) else {
        return;
    };
    for (name, value) in changes {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
}

/// An id no other call of this process returns (for a `sub`, `jti` or `origin_jti` of a test
/// of its own, so that revoking it touches no other test's tokens).
pub fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "test-{:08x}-{nanos:08x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A development issuer on 127.0.0.1 in one call: a key, a JWKS server, and Cognito-shaped
/// tokens for one pool (`dev`) and one app client (`dev-client`). What the demos use when no
/// settings file is given, and a quick start for your own tests.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dev = cognito_testkit::DevIssuer::start().await?;
/// let token = dev.access_token(&["admin"], "demo/read")?;
/// assert!(dev.settings_yaml().contains(&dev.jwks_url()));
/// # let _ = token; Ok(()) }
/// ```
pub struct DevIssuer {
    key: std::sync::Arc<SigningKey>,
    server: JwksServer,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// The pool id of the development pool.
    pub const USERPOOL_ID: &'static str = "local_DevPool";
    /// The app client of the development pool.
    pub const CLIENT_ID: &'static str = "dev-client";

    /// Generates a key and starts serving its JWKS on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on_port(0).await
    }

    /// [`DevIssuer::start`] on this port of 127.0.0.1 (0: an ephemeral one).
    ///
    /// Besides the JWKS, the server mints tokens over HTTP, for tools and for tests in other
    /// languages: `GET <base_url>/mint?user=U&groups=G1,G2&scope=S&ttl=SECS&id=true` answers
    /// one token as `text/plain` (every parameter optional: `alice`, no groups, `openid`, 3600
    /// seconds, an access token), `400` with a sentence for a bad parameter. It listens on
    /// 127.0.0.1 only.
    pub async fn start_on_port(port: u16) -> std::io::Result<Self> {
        let key = SigningKey::generate("dev-key-1").map_err(|_| std::io::Error::other("RSA key generation failed"))?;
        let key = std::sync::Arc::new(key);
        let addr = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
        let server = JwksServer::start_at(addr, jwks(&[&key])).await?;
        let issuer = server.issuer(Self::USERPOOL_ID);
        let minter = std::sync::Arc::clone(&key);
        server.set_route(
            "/mint",
            Box::new(move |target| {
                let request = MintRequest::from_query(target.split_once('?').map_or("", |(_, q)| q))?;
                sign_minted(&minter, &issuer, &request)
            }),
        );
        Ok(Self { key, server })
    }

    /// The URL tools take to mint from this issuer (`http://127.0.0.1:<port>`); its
    /// `/mint` endpoint is described at [`DevIssuer::start_on_port`].
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A token minted as the `/mint` endpoint mints it.
    pub fn mint(&self, request: &MintRequest) -> Result<String, String> {
        sign_minted(&self.key, &self.issuer(), request)
    }

    /// The issuer (`http://127.0.0.1:<port>/local_DevPool`).
    pub fn issuer(&self) -> String {
        self.server.issuer(Self::USERPOOL_ID)
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        self.server.jwks_url(Self::USERPOOL_ID)
    }

    /// The server, to count requests or make it fail.
    pub fn server(&self) -> &JwksServer {
        &self.server
    }

    /// Settings (YAML, as `CognitoSettings::from_yaml_str` reads them) with one pool, `dev`,
    /// that trusts this issuer.
    pub fn settings_yaml(&self) -> String {
        self.pool_yaml("dev", Self::USERPOOL_ID)
            .map_or_else(String::new, |pool| format!("userpools:\n{pool}"))
    }

    /// Settings (YAML) with one pool per name, in this order (the first is the default pool):
    /// pool `name` has the user pool id `local_<name>`, the app client [`DevIssuer::CLIENT_ID`]
    /// and its own issuer, [`DevIssuer::pool_issuer`]`(name)`, all served by this issuer's key.
    /// Mint its tokens with [`DevIssuer::access_token_for`]. A name that cannot be part of a
    /// user pool id (letters, digits, `-`, `_`) is left out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dev = cognito_testkit::DevIssuer::start().await?;
    /// let yaml = dev.settings_yaml_for(&["eu", "us"]);
    /// assert!(yaml.starts_with("userpools:\n  eu:\n"));
    /// assert!(yaml.contains(&dev.pool_issuer("us")));
    /// let us_token = dev.access_token_for("us", &[], "")?;
    /// # let _ = us_token; Ok(()) }
    /// ```
    pub fn settings_yaml_for(&self, pools: &[&str]) -> String {
        let pools: String = pools
            .iter()
            .filter_map(|name| self.pool_yaml(name, &Self::pool_id(name)))
            .collect();
        format!("userpools:\n{pools}")
    }

    /// A tenants file (YAML): tenant `name` is the pool `name` of
    /// [`DevIssuer::settings_yaml_for`] (its own issuer, this issuer's key), as a map from
    /// tenant name to pool with no `userpools:` around it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dev = cognito_testkit::DevIssuer::start().await?;
    /// let yaml = dev.tenants_yaml_for(&["acme", "globex"]);
    /// assert!(yaml.starts_with("acme:\n  region: local\n"));
    /// # Ok(()) }
    /// ```
    pub fn tenants_yaml_for(&self, tenants: &[&str]) -> String {
        let pools = self.settings_yaml_for(tenants);
        // The pools' lines without `userpools:` and one level of indentation less.
        pools
            .lines()
            .skip(1)
            .map(|line| format!("{}\n", line.strip_prefix("  ").unwrap_or(line)))
            .collect()
    }

    /// The issuer of the pool `name` of [`DevIssuer::settings_yaml_for`].
    pub fn pool_issuer(&self, name: &str) -> String {
        self.server.issuer(&Self::pool_id(name))
    }

    /// An access token of the pool `name` of [`DevIssuer::settings_yaml_for`], as
    /// [`DevIssuer::access_token`] makes them for `dev`.
    pub fn access_token_for(&self, name: &str, groups: &[&str], scope: &str) -> Result<String, Unspecified> {
        self.access_token_from(&self.pool_issuer(name), groups, scope)
    }

    fn pool_id(name: &str) -> String {
        format!("local_{name}")
    }

    /// One pool's YAML lines, or `None` for a name YAML or a pool id could not hold as is.
    fn pool_yaml(&self, name: &str, userpool_id: &str) -> Option<String> {
        let plain = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plain.then(|| {
            let issuer = self.server.issuer(userpool_id);
            format!(
                "  {name}:\n    region: local\n    userpool_id: {userpool_id}\n    app_client_id: {}\n    issuer: {issuer}\n    jwks_url: {}\n",
                Self::CLIENT_ID,
                self.server.jwks_url(userpool_id)
            )
        })
    }

    /// An access token for `alice`, valid for an hour, with these groups and scopes (space
    /// separated) and `custom:tenant = "dev"`.
    pub fn access_token(&self, groups: &[&str], scope: &str) -> Result<String, Unspecified> {
        self.access_token_from(&self.issuer(), groups, scope)
    }

    fn access_token_from(&self, issuer: &str, groups: &[&str], scope: &str) -> Result<String, Unspecified> {
        let mut claims = access_claims(issuer, Self::CLIENT_ID);
        claims["cognito:groups"] = json!(groups);
        claims["scope"] = json!(scope);
        claims["custom:tenant"] = json!("dev");
        self.key.sign(&claims)
    }

    /// An access token for `alice` as [`DevIssuer::access_token`] makes them, with `changes`
    /// set over its claims ([`merge_claims`]): `{"auth_time": ..., "acr": "mfa"}`, say.
    pub fn access_token_with(&self, groups: &[&str], scope: &str, changes: &Value) -> Result<String, Unspecified> {
        let mut claims = access_claims(&self.issuer(), Self::CLIENT_ID);
        claims["cognito:groups"] = json!(groups);
        claims["scope"] = json!(scope);
        merge_claims(&mut claims, changes);
        self.key.sign(&claims)
    }

    /// A machine's token: a client-credentials access token of [`DevIssuer::CLIENT_ID`]
    /// (no user; `sub` is the client) with these scopes (space separated).
    pub fn machine_token(&self, scope: &str) -> Result<String, Unspecified> {
        let mut claims = client_credentials_claims(&self.issuer(), Self::CLIENT_ID);
        claims["scope"] = json!(scope);
        self.key.sign(&claims)
    }

    /// A token over any claims, signed by this issuer's key.
    pub fn sign(&self, claims: &Value) -> Result<String, Unspecified> {
        self.key.sign(claims)
    }
}

/// What the development issuer's `/mint` endpoint is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRequest {
    /// The user (`username` of an access token, `cognito:username` of an ID token).
    pub user: String,
    /// `cognito:groups` (none: the claim is left out).
    pub groups: Vec<String>,
    /// `scope` of an access token (space separated).
    pub scope: String,
    /// Seconds from `iat` to `exp`.
    pub ttl: i64,
    /// An ID token instead of an access token.
    pub id: bool,
}

impl Default for MintRequest {
    fn default() -> Self {
        Self {
            user: "alice".to_owned(),
            groups: Vec::new(),
            scope: "openid".to_owned(),
            ttl: 3600,
            id: false,
        }
    }
}

impl MintRequest {
    /// The query string of a `/mint` request for this (percent-encoded).
    pub fn to_query(&self) -> String {
        let mut query = format!(
            "user={}&scope={}&ttl={}",
            encode(&self.user),
            encode(&self.scope),
            self.ttl
        );
        if !self.groups.is_empty() {
            let groups: Vec<String> = self.groups.iter().map(|g| encode(g)).collect();
            query.push_str(&format!("&groups={}", groups.join(",")));
        }
        if self.id {
            query.push_str("&id=true");
        }
        query
    }

    /// Reads a `/mint` query string; `Err` names the bad parameter.
    pub fn from_query(query: &str) -> Result<Self, String> {
        let mut request = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).ok_or_else(|| format!("the parameter {name} is not percent-encoded UTF-8"))?;
            match name {
                "user" => request.user = value,
                "groups" => {
                    request.groups = value.split(',').filter(|g| !g.is_empty()).map(str::to_owned).collect();
                }
                "scope" => request.scope = value,
                "ttl" => {
                    request.ttl = value
                        .parse()
                        .map_err(|_| "the parameter ttl is not a whole number of seconds".to_owned())?;
                }
                "id" => request.id = matches!(value.as_str(), "true" | "1" | ""),
                other => return Err(format!("unknown parameter {other:?}")),
            }
        }
        Ok(request)
    }
}

/// Signs the token `request` asks for, as the pool `dev` of `issuer` issues it.
fn sign_minted(key: &SigningKey, issuer: &str, request: &MintRequest) -> Result<String, String> {
    let mut claims = if request.id {
        let mut claims = id_claims(issuer, DevIssuer::CLIENT_ID);
        claims["cognito:username"] = json!(request.user);
        claims
    } else {
        let mut claims = access_claims(issuer, DevIssuer::CLIENT_ID);
        claims["username"] = json!(request.user);
        claims["scope"] = json!(request.scope);
        claims
    };
    if !request.groups.is_empty() {
        claims["cognito:groups"] = json!(request.groups);
    }
    let iat = claims["iat"].as_i64().unwrap_or_else(now);
    claims["exp"] = json!(iat.saturating_add(request.ttl));
    key.sign(&claims).map_err(|_| "signing failed".to_owned())
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-decodes (`+` is a space); `None` for a bad escape or bytes that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mint_request_survives_its_query() {
        let request = MintRequest {
            user: "bob smith".to_owned(),
            groups: vec!["admin".to_owned(), "a&b".to_owned()],
            scope: "demo/read demo/write".to_owned(),
            ttl: 60,
            id: true,
        };
        assert_eq!(MintRequest::from_query(&request.to_query()), Ok(request));
        assert!(MintRequest::from_query("ttl=soon").is_err());
        assert!(MintRequest::from_query("colour=red").is_err());
    }

    #[tokio::test]
    async fn the_dev_issuer_mints_over_http() -> Result<(), Box<dyn std::error::Error>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dev = DevIssuer::start().await?;
        let mut stream = tokio::net::TcpStream::connect(dev.server().addr()).await?;
        stream
            .write_all(b"GET /mint?user=bob&ttl=120&groups=admin HTTP/1.1\r\nHost: x\r\n\r\n")
            .await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        let (head, token) = answer.split_once("\r\n\r\n").ok_or("no head")?;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let payload = token.split('.').nth(1).ok_or("no payload")?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
        assert_eq!(claims["username"], "bob");
        assert_eq!(claims["cognito:groups"], json!(["admin"]));
        assert_eq!(
            claims["exp"].as_i64().ok_or("exp")? - claims["iat"].as_i64().ok_or("iat")?,
            120
        );
        assert_eq!(dev.server().hits(), 0, "minting is not a JWKS request");
        Ok(())
    }
}
