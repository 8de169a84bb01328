//! The fetcher under every cache of fetched documents (a pool's JWKS, a load balancer's keys,
//! any JSON document such as an OpenID configuration): one GET with a total deadline and a
//! body cap (or a file read with the same cap), same-origin redirects only, and the fetch
//! state a cache consults: single flight, backoff from 1 s doubling to 60 s after a failed
//! fetch, a cool-down after a fetch that did not find what it was for, and the events,
//! metrics and health of the source.
//!
//! What a document means (a key set, a PEM, a configuration) is the caller's: it parses the
//! body, then reports the fetch as [`Fetcher::answered`] or [`Fetcher::failed`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Url;

use crate::health::SourceHealth;
use crate::observe::SourceObserver;
use crate::settings::JwksSettings;

const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `now + wait`, saturating far in the future instead of overflowing: settings bound every
/// wait at load, so this only guards against what the bounds did not foresee.
fn later(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

/// The wait before the next attempt after `failures` consecutive failed fetches: 1 s,
/// doubling, at most 60 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.clamp(1, 7).saturating_sub(1)).min(MAX_BACKOFF)
}

/// Where a document is.
pub(crate) enum Location {
    /// Fetched with this client.
    Http { client: reqwest::Client, url: Url },
    /// Read from a file (a `file://` URL).
    File(PathBuf),
}

impl Location {
    /// The location of `url`: a file for `file://`, else fetched with `client()`.
    pub(crate) fn of(url: Url, client: impl FnOnce() -> Result<reqwest::Client, String>) -> Result<Self, String> {
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| "the file:// URL has no usable path".to_owned())?;
            return Ok(Location::File(path));
        }
        Ok(Location::Http { client: client()?, url })
    }
}

/// What kind of document is fetched, which decides the request and what an answer means.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Document {
    /// A JSON document (a JWKS, an OpenID configuration): asked for as JSON, and a declared
    /// content type that is neither JSON nor a generic file type is refused.
    Json,
    /// One key of a per-kid key server (a PEM): a 403 or 404 means the server has no such
    /// key (AWS answers a kid it never issued with either), not that it is failing.
    KeyPerKid,
}

/// The body of one fetch; `Ok(None)` when a per-kid key server has no such key.
pub(crate) type Body = Result<Option<Vec<u8>>, String>;

/// How one fetch went, for its event.
#[derive(Clone, Copy)]
pub(crate) struct Attempt {
    /// The HTTP status, once the server answered.
    status: Option<u16>,
    /// From the start of the request to the last byte (or the deadline).
    took: Duration,
}

/// Why no fetch may start now.
pub(crate) enum Gate {
    /// A fetch failed: none before this wait is over; the last error.
    Backoff(Duration, Option<String>),
    /// A fetch did not find what it was for: none for anything else not held, for now.
    CoolingDown,
}

#[derive(Default)]
struct State {
    /// Consecutive failed fetches; 0 once the source answers.
    failures: u32,
    /// No fetch before this instant (backoff after a failure).
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// No fetch for something not held before this instant.
    cooldown_until: Option<Instant>,
    /// When the source last answered with a document.
    last_fetched: Option<Instant>,
}

/// The fetch side of one source: its transport tuning, backoff, cool-down, single flight,
/// and its events, metrics and health.
pub(crate) struct Fetcher {
    /// Names the document in errors ("the JWKS").
    what: &'static str,
    document: Document,
    tuning: JwksSettings,
    state: Mutex<State>,
    /// Held for the whole of a fetch: single flight.
    flight: tokio::sync::Mutex<()>,
    /// Bumped after every fetch, so a waiter knows whether a fetch happened while it waited.
    generation: AtomicU64,
    /// Events and metrics, under the source's redacted URL (or URL template).
    observer: SourceObserver,
}

impl Fetcher {
    /// The fetcher of the `document` named `what` in errors, shown as `observer`'s URL.
    pub(crate) fn new(what: &'static str, document: Document, tuning: &JwksSettings, observer: SourceObserver) -> Self {
        Self {
            what,
            document,
            tuning: tuning.clone(),
            state: Mutex::default(),
            flight: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            observer,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The source's events and metrics.
    pub(crate) fn observer(&self) -> &SourceObserver {
        &self.observer
    }

    /// Single flight: held for the whole of a fetch and what the caller does with its result.
    pub(crate) async fn flight(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.flight.lock().await
    }

    /// The count of fetches so far: read before waiting for [`Fetcher::flight`], it tells
    /// whether another fetch finished meanwhile.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a fetch may start now (`None`), else why not: a backoff, or for something not
    /// held (`for_unknown`), a cool-down.
    pub(crate) fn gate(&self, for_unknown: bool) -> Option<Gate> {
        let now = Instant::now();
        let state = self.state();
        if let Some(at) = state.retry_at.filter(|at| *at > now) {
            return Some(Gate::Backoff(at - now, state.last_error.clone()));
        }
        if for_unknown && state.cooldown_until.is_some_and(|until| until > now) {
            return Some(Gate::CoolingDown);
        }
        None
    }

    /// Whether the last fetch failed.
    pub(crate) fn failing(&self) -> bool {
        self.state().failures > 0
    }

    /// The rest of the backoff (1 s when there is none) and the last error: what a refusal
    /// for lack of a document says.
    pub(crate) fn retry(&self) -> (Duration, Option<String>) {
        let state = self.state();
        let wait = state.retry_at.map_or(Duration::from_secs(1), |at| {
            at.saturating_duration_since(Instant::now())
        });
        (wait, state.last_error.clone())
    }

    /// No fetch for something not held for `jwks.cooldown_secs` from now.
    pub(crate) fn cool_down(&self) {
        self.state().cooldown_until = Some(later(Duration::from_secs(self.tuning.cooldown_secs)));
    }

    /// When the source last answered with a document (or [`Fetcher::touch`] said a document
    /// served).
    pub(crate) fn last_fetched(&self) -> Option<Instant> {
        self.state().last_fetched
    }

    /// A document fetched before now serves (a load balancer's key proven by a signature).
    pub(crate) fn touch(&self) {
        self.state().last_fetched = Some(Instant::now());
    }

    /// The source answered (`found`: with a document, now serving `keys` keys): no backoff
    /// any more; the fetch event and metrics.
    pub(crate) fn answered(&self, attempt: Attempt, found: bool, keys: usize) {
        {
            let mut state = self.state();
            state.failures = 0;
            state.retry_at = None;
            state.last_error = None;
            if found {
                state.last_fetched = Some(Instant::now());
            }
        }
        self.observer.fetched(attempt.status, keys, attempt.took);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The fetch failed with `error`; `stale` is the age of what still serves, if anything
    /// does. Starts (or lengthens) the backoff, whose wait it gives.
    pub(crate) fn failed(&self, attempt: Attempt, error: String, stale: Option<Duration>) -> Duration {
        let wait = {
            let mut state = self.state();
            state.failures = state.failures.saturating_add(1);
            let wait = backoff(state.failures);
            state.retry_at = Some(later(wait));
            self.observer.failed(attempt.status, &error, attempt.took, stale);
            self.observer.backoff(wait, state.failures);
            state.last_error = Some(error);
            wait
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        wait
    }

    /// The health of the source serving `keys` keys, loaded `age` ago; the next fetch is
    /// after the backoff, else in `due_in` (none: whenever asked). With the `metrics`
    /// feature it also sets the keys and age gauges.
    pub(crate) fn health(&self, keys: usize, age: Option<Duration>, due_in: Option<Duration>) -> SourceHealth {
        if let Some(age) = age {
            self.observer.serving(keys, age);
        }
        let now = Instant::now();
        let state = self.state();
        let next_attempt_in = match state.retry_at {
            Some(at) if at > now => at - now,
            _ => due_in.unwrap_or(Duration::ZERO),
        };
        SourceHealth {
            source: self.observer.url().to_owned(),
            keys,
            age,
            last_error: state.last_error.clone(),
            next_attempt_in: Some(next_attempt_in),
            per_kid: self.document == Document::KeyPerKid,
            optional: false,
        }
    }

    /// One fetch of `location` within the total deadline, reading at most `jwks.max_bytes`;
    /// it changes no state (see [`Fetcher::answered`], [`Fetcher::failed`]).
    pub(crate) async fn get(&self, location: &Location) -> (Body, Attempt) {
        get(self.what, self.document, &self.tuning, location).await
    }
}

/// One fetch of `location` outside any cache (no backoff, no events): the body, for a
/// report or a one-off read.
pub(crate) async fn get(what: &str, document: Document, tuning: &JwksSettings, location: &Location) -> (Body, Attempt) {
    let started = Instant::now();
    let mut status = None;
    let deadline = Duration::from_millis(tuning.timeout_ms);
    let body = match tokio::time::timeout(deadline, read(what, document, tuning, location, &mut status)).await {
        Ok(body) => body,
        Err(_) => Err(format!("{what} fetch took longer than {} ms", tuning.timeout_ms)),
    };
    let took = started.elapsed();
    (body, Attempt { status, took })
}

/// The body at `location`; `status` is set to the HTTP status once the server answers.
async fn read(
    what: &str,
    document: Document,
    tuning: &JwksSettings,
    location: &Location,
    status: &mut Option<u16>,
) -> Body {
    let max = tuning.max_bytes;
    match location {
        Location::Http { client, url } => {
            let mut request = client.get(url.clone());
            if document == Document::Json {
                request = request.header(reqwest::header::ACCEPT, "application/json");
            }
            let response = request
                .send()
                .await
                .map_err(|e| describe(e, what, "request", tuning.timeout_ms))?;
            let code = response.status();
            *status = Some(code.as_u16());
            if document == Document::KeyPerKid
                && (code == reqwest::StatusCode::NOT_FOUND || code == reqwest::StatusCode::FORBIDDEN)
            {
                return Ok(None);
            }
            if !code.is_success() {
                return Err(format!("{what} server answered {code}"));
            }
            if document == Document::Json
                && let Some(declared) = response.headers().get(reqwest::header::CONTENT_TYPE)
            {
                check_content_type(what, declared.as_bytes())?;
            }
            if response.content_length().is_some_and(|len| len > max as u64) {
                return Err(format!("{what} is larger than {max} bytes"));
            }
            read_capped(response, max, what, tuning.timeout_ms).await.map(Some)
        }
        Location::File(path) => {
            use tokio::io::AsyncReadExt as _;
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| format!("cannot open {what} file ({e})"))?;
            let mut body = Vec::new();
            file.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
                .read_to_end(&mut body)
                .await
                .map_err(|e| format!("cannot read {what} file ({e})"))?;
            if body.len() > max {
                return Err(format!("{what} is larger than {max} bytes"));
            }
            Ok(Some(body))
        }
    }
}

/// A JSON document may come as JSON (`application/json`, `application/jwk-set+json`, any
/// `+json`) or as a generic file type (`text/plain`, `application/octet-stream`, S3's
/// `binary/octet-stream`). Any other declared type (an HTML login or error page answered with
/// 200, XML, an image) means the URL no longer serves the document: refused by its type, so
/// the error says so instead of "not JSON".
fn check_content_type(what: &str, declared: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(declared);
    let media = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let json = media == "application/json" || (media.contains('/') && media.ends_with("+json"));
    let generic = matches!(
        media.as_str(),
        "text/plain" | "application/octet-stream" | "binary/octet-stream" | ""
    );
    if json || generic {
        Ok(())
    } else {
        let shown: String = media.chars().filter(|c| !c.is_control()).take(64).collect();
        Err(format!("{what} server answered with content type {shown:?}, not JSON"))
    }
}

/// The operator detail of a failed request: the client's own deadline fires at the same
/// moment as ours and would otherwise read "error decoding response body".
/// `what` names the document ("the JWKS"), `part` the step that failed ("request", "body").
/// The request's URL is left out: it may carry credentials or a signed query, and whoever
/// reads the detail knows the source from where it is reported.
fn describe(error: reqwest::Error, what: &str, part: &str, timeout_ms: u64) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        format!("{what} fetch took longer than {timeout_ms} ms")
    } else {
        // reqwest's own text stops at its outermost layer ("error decoding response
        // body"); the innermost cause ("connection reset by peer") is what an operator needs.
        let mut root: Option<&dyn std::error::Error> = None;
        let mut next = std::error::Error::source(&error);
        while let Some(source) = next {
            root = Some(source);
            next = source.source();
        }
        match root {
            Some(root) => format!("{what} {part} failed ({error}: {root})"),
            None => format!("{what} {part} failed ({error})"),
        }
    }
}

/// The body of `response`, refused once it passes `max` bytes (`what` names it in errors).
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
    what: &str,
    timeout_ms: u64,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| describe(e, what, "body", timeout_ms))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("{what} is larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The HTTP client of the fetches when the application gives none: the deadline, no idle
/// connections kept, redirects within the origin only.
pub(crate) fn http_client(tuning: &JwksSettings) -> Result<reqwest::Client, String> {
    let deadline = Duration::from_millis(tuning.timeout_ms);
    reqwest::Client::builder()
        .timeout(deadline)
        .connect_timeout(deadline)
        // Fetches are hours apart, and the cache is shared by every runtime of the process: an
        // idle pooled connection would belong to the runtime that opened it, so keep none.
        .pool_max_idle_per_host(0)
        // A document may move within its host (at most 3 hops), never to another host or
        // scheme: the keys must come from the place the settings name.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt.previous().first().is_some_and(|first| {
                first.scheme() == attempt.url().scheme()
                    && first.host() == attempt.url().host()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if same_origin && attempt.previous().len() <= 3 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .map_err(|e| format!("cannot build the HTTP client ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute() {
        let waits: Vec<u64> = (0..10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    /// Serves `response` (a whole HTTP/1.1 answer) once on 127.0.0.1; the URL of `path` there.
    async fn serve_once(path: &str, response: String) -> Result<Url, Box<dyn std::error::Error>> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = Url::parse(&format!("http://{}{path}", listener.local_addr()?))?;
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        Ok(url)
    }

    fn answer(status: &str, content_type: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// Any JSON document, not only a key set: what an OpenID configuration's cache will fetch.
    #[tokio::test]
    async fn a_json_document_that_is_no_key_set() -> Result<(), Box<dyn std::error::Error>> {
        let document = r#"{"issuer":"http://127.0.0.1/pool","jwks_uri":"http://127.0.0.1/pool/jwks.json"}"#;
        let url = serve_once(
            "/.well-known/openid-configuration",
            answer("200 OK", "application/json", document),
        )
        .await?;
        let tuning = JwksSettings::default();
        let fetcher = Fetcher::new(
            "the OpenID configuration",
            Document::Json,
            &tuning,
            SourceObserver::new(url.as_str()),
        );
        let location = Location::of(url, || http_client(&tuning))?;
        let (body, attempt) = fetcher.get(&location).await;
        assert_eq!(body?.as_deref(), Some(document.as_bytes()));
        fetcher.answered(attempt, true, 0);
        let health = fetcher.health(0, fetcher.last_fetched().map(|at| at.elapsed()), None);
        assert_eq!((health.last_error, health.per_kid), (None, false));
        Ok(())
    }

    /// The size cap and the error's wording hold for any document, and a failure starts the
    /// backoff.
    #[tokio::test]
    async fn a_document_over_the_cap_fails_and_backs_off() -> Result<(), Box<dyn std::error::Error>> {
        let url = serve_once("/doc", answer("200 OK", "application/json", &"7".repeat(64))).await?;
        let tuning = JwksSettings {
            max_bytes: 16,
            ..JwksSettings::default()
        };
        let fetcher = Fetcher::new(
            "the document",
            Document::Json,
            &tuning,
            SourceObserver::new(url.as_str()),
        );
        let location = Location::of(url, || http_client(&tuning))?;
        let (body, attempt) = fetcher.get(&location).await;
        let error = body.err().ok_or("a body over the cap was read")?;
        assert_eq!(error, "the document is larger than 16 bytes");
        assert_eq!(fetcher.failed(attempt, error, None), Duration::from_secs(1));
        assert!(matches!(fetcher.gate(false), Some(Gate::Backoff(..))));
        assert!(fetcher.failing());
        Ok(())
    }

    /// A per-kid key server without the kid answers, it does not fail.
    #[tokio::test]
    async fn a_missing_key_is_an_answer() -> Result<(), Box<dyn std::error::Error>> {
        let url = serve_once("/kid", answer("404 Not Found", "text/plain", "")).await?;
        let tuning = JwksSettings::default();
        let location = Location::of(url, || http_client(&tuning))?;
        let (body, _) = get("the key", Document::KeyPerKid, &tuning, &location).await;
        assert_eq!(body?, None);
        Ok(())
    }

    #[test]
    fn json_or_a_generic_type_is_accepted() {
        for ok in [
            "application/json",
            "application/jwk-set+json; charset=utf-8",
            "text/plain",
            "",
            "binary/octet-stream",
        ] {
            assert!(check_content_type("the JWKS", ok.as_bytes()).is_ok(), "{ok}");
        }
        let err = check_content_type("the JWKS", b"text/html; charset=utf-8").err();
        assert_eq!(
            err.as_deref(),
            Some("the JWKS server answered with content type \"text/html\", not JSON")
        );
    }
}
