//! A JWKS server on 127.0.0.1 (or another loopback address) that a test controls: what it
//! answers, and how many requests it got. A deliberately tiny HTTP/1.1 responder (one request
//! per connection), so it can also misbehave in ways a real framework would not let it: stall,
//! trickle, never end, redirect in circles, reset the connection, lie about sizes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the server answers the next requests.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Reply {
    /// 200 with the current JWKS (the default).
    Keys,
    /// This status with a small JSON error body.
    Status(u16),
    /// 200 with this body and content type.
    Body {
        /// The `Content-Type`.
        content_type: &'static str,
        /// The body.
        body: Vec<u8>,
    },
    /// The JWKS after this delay (a slow but working server).
    Delay(Duration),
    /// Accepts and reads the request, then never answers (until 60 s pass).
    Stall,
    /// 200 with `bytes` bytes of whitespace (never a complete JSON document); `declare_length` sends `Content-Length`,
    /// otherwise the body ends when the connection closes.
    Huge {
        /// The body size.
        bytes: usize,
        /// Whether to announce it.
        declare_length: bool,
    },
    /// 200 with the JWKS and its true `Content-Length`, sent one byte per `interval` (a
    /// slowloris server: every byte arrives in time, the whole never does). Gives up after
    /// 120 s.
    Trickle {
        /// The pause before each byte.
        interval: Duration,
    },
    /// 200 without `Content-Length`, whitespace forever: stops only when the client hangs up
    /// (or after 60 s or 4 GiB, so a test that forgets it cannot run away).
    Endless,
    /// A `302 Found` to this `Location` (a path on this server, or a full URL: another
    /// loopback host in tests, never anything off the machine).
    Redirect(String),
    /// 200 announcing the JWKS's length, then half of it, then a TCP reset.
    ResetMidBody,
}

/// Answers the requests of one path prefix instead of the JWKS: the request target (path and
/// query) in, a `200 text/plain` body or a `400` sentence out.
pub(crate) type Route = Box<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

struct Shared {
    jwks: Mutex<Value>,
    /// A path prefix and its handler (the development issuer's minting endpoint).
    route: Mutex<Option<(String, Arc<Route>)>>,
    reply: Mutex<Reply>,
    hits: AtomicUsize,
    huge_completed: AtomicUsize,
    /// Body bytes written by [`Reply::Huge`] and [`Reply::Endless`] answers.
    bulk_sent: AtomicUsize,
}

/// A JWKS server on an ephemeral port of 127.0.0.1; stops when dropped.
pub struct JwksServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for JwksServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl JwksServer {
    /// Starts serving `jwks` at every path, on an ephemeral port of 127.0.0.1.
    pub async fn start(jwks: Value) -> std::io::Result<Self> {
        Self::start_on(Ipv4Addr::LOCALHOST.into(), jwks).await
    }

    /// Starts serving `jwks` on an ephemeral port of `ip`, which must be a loopback address
    /// (e.g. 127.0.0.2, to play "another host" without leaving the machine).
    pub async fn start_on(ip: IpAddr, jwks: Value) -> std::io::Result<Self> {
        Self::start_at(SocketAddr::new(ip, 0), jwks).await
    }

    /// Starts serving `jwks` at `addr`, whose IP must be a loopback address (port 0: an
    /// ephemeral port).
    pub async fn start_at(addr: SocketAddr, jwks: Value) -> std::io::Result<Self> {
        let ip = addr.ip();
        if !ip.is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the test JWKS server only listens on loopback addresses",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            jwks: Mutex::new(jwks),
            route: Mutex::new(None),
            reply: Mutex::new(Reply::Keys),
            hits: AtomicUsize::new(0),
            huge_completed: AtomicUsize::new(0),
            bulk_sent: AtomicUsize::new(0),
        });
        let state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&state)));
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<ip>:<port>`, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An emulator-style issuer on this server: `http://127.0.0.1:<port>/<userpool_id>`.
    pub fn issuer(&self, userpool_id: &str) -> String {
        format!("{}/{userpool_id}", self.base_url())
    }

    /// The JWKS URL of that issuer: `<issuer>/.well-known/jwks.json`.
    pub fn jwks_url(&self, userpool_id: &str) -> String {
        format!("{}/.well-known/jwks.json", self.issuer(userpool_id))
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// How many [`Reply::Huge`] bodies were written to the end: 0 means every client hung up
    /// early, i.e. enforced its size cap instead of reading everything.
    pub fn huge_bodies_completed(&self) -> usize {
        self.shared.huge_completed.load(Ordering::SeqCst)
    }

    /// Body bytes written so far by [`Reply::Huge`] and [`Reply::Endless`] answers (the part
    /// that left this server; the client's socket buffers hold some of it unread).
    pub fn bulk_bytes_sent(&self) -> usize {
        self.shared.bulk_sent.load(Ordering::SeqCst)
    }

    /// Serves this JWKS from now on (a key rotation).
    pub fn set_jwks(&self, jwks: Value) {
        *self.shared.jwks.lock().unwrap_or_else(PoisonError::into_inner) = jwks;
    }

    /// Answers requests whose path starts with `prefix` with `route` from now on.
    pub(crate) fn set_route(&self, prefix: &str, route: Route) {
        *self.shared.route.lock().unwrap_or_else(PoisonError::into_inner) = Some((prefix.to_owned(), Arc::new(route)));
    }

    /// Answers like this from now on.
    pub fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().unwrap_or_else(PoisonError::into_inner) = reply;
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    /// The current JWKS, as the body of an answer.
    fn jwks_body(&self) -> Vec<u8> {
        self.jwks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .to_string()
            .into_bytes()
    }
}

/// One connection: reads the request head, counts the request, answers as the current
/// [`Reply`] says.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    // The request target: `GET <target> HTTP/1.1`.
    let target = head
        .split(|b| *b == b' ')
        .nth(1)
        .and_then(|t| std::str::from_utf8(t).ok())
        .unwrap_or_default()
        .to_owned();
    let route = shared.route.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if let Some((_, route)) = route.filter(|(prefix, _)| target.starts_with(prefix.as_str())) {
        match route(&target) {
            Ok(body) => respond(stream, 200, "text/plain", body.as_bytes()).await,
            Err(why) => respond(stream, 400, "text/plain", why.as_bytes()).await,
        }
        return;
    }
    // Discovery is not a key fetch: answered apart, and not counted.
    if let Some((status, body)) = discovery(&head) {
        return respond(stream, status, "application/json", &body).await;
    }
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let reply = shared.reply.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match reply {
        Reply::Keys => respond(stream, 200, "application/json", &shared.jwks_body()).await,
        Reply::Status(status) => respond(stream, status, "application/json", br#"{"message":"error"}"#).await,
        Reply::Body { content_type, body } => respond(stream, 200, content_type, &body).await,
        Reply::Delay(delay) => {
            tokio::time::sleep(delay).await;
            respond(stream, 200, "application/json", &shared.jwks_body()).await;
        }
        Reply::Stall => stall(stream).await,
        Reply::Huge { bytes, declare_length } => huge(stream, &shared, bytes, declare_length).await,
        Reply::Trickle { interval } => trickle(stream, &shared.jwks_body(), interval).await,
        Reply::Endless => endless(stream, &shared).await,
        Reply::Redirect(location) => redirect(stream, &location).await,
        Reply::ResetMidBody => reset_mid_body(stream, &shared.jwks_body()).await,
    }
}

/// OpenID Connect discovery as a Cognito user pool answers it, so OAuth clients (an MCP
/// client that followed a protected resource's metadata here, say) find their way:
/// `<issuer>/.well-known/openid-configuration` is the pool's document (its `issuer`, its
/// `jwks_uri`, and `/oauth2/authorize` and `/oauth2/token` under the issuer), and the forms of
/// RFC 8414 with the well-known path first are 404, as at AWS. Every other path is left to
/// the configured [`Reply`].
fn discovery(head: &[u8]) -> Option<(u16, Vec<u8>)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?;
    if path.starts_with("/.well-known/oauth-authorization-server")
        || path.starts_with("/.well-known/openid-configuration")
    {
        return Some((404, br#"{"message":"not found"}"#.to_vec()));
    }
    let pool = path.strip_suffix("/.well-known/openid-configuration")?;
    let host = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("host").then(|| value.trim())
    })?;
    let issuer = format!("http://{host}{pool}");
    let document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code", "token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    });
    Some((200, document.to_string().into_bytes()))
}

/// Reads up to the end of the request head (the body of a GET is empty): the head, or `None`
/// if the client hung up first or the head passed 16 KiB.
pub(crate) async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
        if head.len() > 16 * 1024 {
            return None;
        }
    }
    Some(head)
}

/// The head of a 200 JSON answer, with `Content-Length` if `length` is given.
fn json_ok_head(length: Option<usize>) -> String {
    let length = length.map_or_else(String::new, |n| format!("Content-Length: {n}\r\n"));
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n")
}

/// [`Reply::Keys`], [`Reply::Status`], [`Reply::Body`] and [`Reply::Delay`]: a complete answer.
pub(crate) async fn respond(mut stream: TcpStream, status: u16, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(body).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// [`Reply::Stall`]: holds the connection for 60 s without a byte, then drops it.
pub(crate) async fn stall(stream: TcpStream) {
    tokio::time::sleep(Duration::from_secs(60)).await;
    drop(stream);
}

/// [`Reply::Huge`]: `bytes` bytes of whitespace, counted as they leave.
async fn huge(mut stream: TcpStream, shared: &Shared, bytes: usize, declare_length: bool) {
    let head = json_ok_head(declare_length.then_some(bytes));
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let chunk = vec![b' '; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        if stream.write_all(chunk.get(..n).unwrap_or_default()).await.is_err() {
            return; // the client hung up: it enforced its cap
        }
        shared.bulk_sent.fetch_add(n, Ordering::SeqCst);
        left -= n;
    }
    let _ = stream.flush().await;
    shared.huge_completed.fetch_add(1, Ordering::SeqCst);
    let _ = stream.shutdown().await;
}

/// [`Reply::Trickle`]: the JWKS one byte per `interval`, giving up after 120 s.
async fn trickle(mut stream: TcpStream, body: &[u8], interval: Duration) {
    let head = json_ok_head(Some(body.len()));
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let give_up = tokio::time::Instant::now() + Duration::from_secs(120);
    for byte in body {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > give_up || stream.write_all(&[*byte]).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

/// [`Reply::Endless`]: whitespace until the client hangs up, 60 s pass or 4 GiB are sent.
async fn endless(mut stream: TcpStream, shared: &Shared) {
    if stream.write_all(json_ok_head(None).as_bytes()).await.is_err() {
        return;
    }
    let chunk = vec![b' '; 64 * 1024];
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut sent = 0usize;
    while tokio::time::Instant::now() < give_up && sent < (4usize << 30) {
        if stream.write_all(&chunk).await.is_err() {
            return; // the client hung up
        }
        sent += chunk.len();
        shared.bulk_sent.fetch_add(chunk.len(), Ordering::SeqCst);
    }
}

/// [`Reply::Redirect`]: a `302 Found` to `location`.
async fn redirect(mut stream: TcpStream, location: &str) {
    let head = format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(head.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// [`Reply::ResetMidBody`]: the JWKS's true length, half of the body, then a TCP reset.
async fn reset_mid_body(mut stream: TcpStream, body: &[u8]) {
    let head = json_ok_head(Some(body.len()));
    let half = body.get(..body.len() / 2).unwrap_or_default();
    if stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(half).await.is_ok() {
        let _ = stream.flush().await;
        // Give the bytes time to leave, then close with SO_LINGER 0: an RST, not a FIN.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = stream.set_zero_linger();
    }
    drop(stream);
}
