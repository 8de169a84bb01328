//! What a test of a service behind an Application Load Balancer needs: ES256 keys under UUID
//! kids, `x-amzn-oidc-data` tokens shaped as a load balancer sends them (padded standard
//! base64, `signer`, `client`, `iss` and `exp` in the JOSE header), and a key server on
//! loopback that answers `GET /<kid>` with that key's PEM, 404 for any other kid.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::server::{read_head, respond, stall};

/// A load balancer's ARN for tests.
pub const ALB_ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/test/50dc6c495c0c9188";

/// A fresh random UUID (version 4), the shape of a load balancer's kid.
pub fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    // The system RNG does not fail on the platforms tests run on; zeros would still be a UUID.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The user claims a load balancer forwards from Cognito for `alice`, valid for two minutes.
pub fn alb_claims(issuer: &str) -> Value {
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "email_verified": "true",
        "email": "alice@example.com",
        "username": "alice",
        "exp": crate::now() + 120,
        "iss": issuer,
    })
}

/// A P-256 key that signs load-balancer tokens under a UUID kid.
pub struct AlbKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for AlbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl AlbKey {
    /// A fresh key under a random UUID kid.
    pub fn generate() -> Result<Self, Unspecified> {
        Self::generate_with_kid(random_uuid())
    }

    /// A fresh key under this kid (a test may pick one that is not a UUID).
    pub fn generate_with_kid(kid: impl Into<String>) -> Result<Self, Unspecified> {
        Ok(Self {
            kid: kid.into(),
            pair: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)?,
        })
    }

    /// The kid.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as AWS publishes it: a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
    pub fn public_pem(&self) -> Result<String, Unspecified> {
        let der = self.pair.public_key().as_der()?;
        let b64 = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        Ok(format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        ))
    }

    /// A token as a load balancer sends it: the JOSE header `{"typ", "kid", "alg": "ES256",
    /// "iss", "client", "signer", "exp"}` (`exp` copied from the claims), the claims, each part
    /// in padded standard base64.
    pub fn sign(&self, signer: &str, client: &str, claims: &Value) -> Result<String, Unspecified> {
        let header = json!({
            "typ": "JWT",
            "kid": self.kid,
            "alg": "ES256",
            "iss": claims.get("iss").cloned().unwrap_or(Value::Null),
            "client": client,
            "signer": signer,
            "exp": claims.get("exp").cloned().unwrap_or(Value::Null),
        });
        self.sign_with_header(&header, claims)
    }

    /// A token over this JOSE header and these claims, in padded standard base64.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, Unspecified> {
        self.sign_parts(&header.to_string(), &claims.to_string(), true)
    }

    /// A token over exactly these JSON texts, ES256-signed; `padded`: standard base64 with `=`
    /// as a load balancer writes it, else unpadded base64url as JWS prescribes.
    pub fn sign_parts(&self, header_json: &str, claims_json: &str, padded: bool) -> Result<String, Unspecified> {
        let encode = |bytes: &[u8]| {
            if padded {
                STANDARD.encode(bytes)
            } else {
                crate::b64(bytes)
            }
        };
        let input = format!("{}.{}", encode(header_json.as_bytes()), encode(claims_json.as_bytes()));
        let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes())?;
        Ok(format!("{input}.{}", encode(sig.as_ref())))
    }
}

/// How the key server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlbReply {
    /// The PEM of a known kid, 404 for any other (the default).
    Keys,
    /// This status, whatever the kid.
    Status(u16),
    /// Reads the request, never answers (until 60 s pass).
    Stall,
}

struct Shared {
    pems: Mutex<HashMap<String, String>>,
    reply: Mutex<AlbReply>,
    hits: AtomicUsize,
    hits_by_path: Mutex<HashMap<String, usize>>,
}

/// A load-balancer key server on an ephemeral port of 127.0.0.1: `GET /<kid>` answers that
/// key's PEM. Stops when dropped.
///
/// ```
/// use cognito_testkit::alb::{ALB_ARN, AlbKey, AlbKeyServer, alb_claims};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = AlbKey::generate()?;
/// let server = AlbKeyServer::start(&[&key]).await?;
/// let yaml = format!("alb:\n  region: eu-west-1\n  arns: [{ALB_ARN}]\n  key_url: {}\n", server.key_url());
/// let token = key.sign(ALB_ARN, "my-client", &alb_claims("https://idp.example"))?;
/// assert!(token.contains('='), "padded, as load balancers send it");
/// # let _ = yaml; Ok(()) }
/// ```
pub struct AlbKeyServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for AlbKeyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbKeyServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl AlbKeyServer {
    /// Starts serving these keys on an ephemeral port of 127.0.0.1.
    pub async fn start(keys: &[&AlbKey]) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            pems: Mutex::new(HashMap::new()),
            reply: Mutex::new(AlbReply::Keys),
            hits: AtomicUsize::new(0),
            hits_by_path: Mutex::new(HashMap::new()),
        });
        let server_state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&server_state)));
            }
        });
        let server = Self { addr, shared, task };
        for key in keys {
            server
                .add_key(key)
                .map_err(|_| std::io::Error::other("cannot encode the public key"))?;
        }
        Ok(server)
    }

    /// Serves this key too, from now on.
    pub fn add_key(&self, key: &AlbKey) -> Result<(), Unspecified> {
        let pem = key.public_pem()?;
        self.shared
            .pems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.kid().to_owned(), pem);
        Ok(())
    }

    /// The `key_url` template of the settings: `http://127.0.0.1:<port>/{kid}`.
    pub fn key_url(&self) -> String {
        format!("http://{}/{{kid}}", self.addr)
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Requests received so far for this kid.
    pub fn hits_for(&self, kid: &str) -> usize {
        let path = format!("/{kid}");
        self.shared
            .hits_by_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&path)
            .copied()
            .unwrap_or(0)
    }

    /// Answers like this from now on.
    pub fn set_reply(&self, reply: AlbReply) {
        *self.shared.reply.lock().unwrap_or_else(PoisonError::into_inner) = reply;
    }
}

impl Drop for AlbKeyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    // "GET /<kid> HTTP/1.1": the second word.
    let path = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    shared.hits.fetch_add(1, Ordering::SeqCst);
    *shared
        .hits_by_path
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(path.clone())
        .or_default() += 1;
    let reply = *shared.reply.lock().unwrap_or_else(PoisonError::into_inner);
    match reply {
        AlbReply::Keys => {
            let kid = path.trim_start_matches('/');
            let pem = shared
                .pems
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(kid)
                .cloned();
            match pem {
                Some(pem) => respond(stream, 200, "application/octet-stream", pem.as_bytes()).await,
                None => respond(stream, 404, "text/plain", b"not found").await,
            }
        }
        AlbReply::Status(status) => respond(stream, status, "text/plain", b"error").await,
        AlbReply::Stall => stall(stream).await,
    }
}
