//! Verification with a trace: [`Verifier::explain`] runs the very pipeline that
//! [`Verifier::verify`] runs, with a recorder threaded through it that notes each check as it
//! starts. The check that was running when the pipeline answered with an error is the one that
//! failed, every check before it passed, every check after it was skipped. The normal path
//! threads the no-op recorder `()` instead, whose calls compile away.
//!
//! An explanation therefore cannot disagree with a verification: the verdict and the failing
//! check are the pipeline's own. Only the sentences (`detail`) are written here, from the
//! decoded token and the pool's settings.

use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::Verifier;
use super::pipeline::{Keys, Needs};
use super::times::unix_now;
use crate::error::{AuthError, ErrorKind};
use crate::jose::Algorithm;
use crate::jwks::JwksCache;
use crate::key_report::KeyReport;
use crate::policy::Require;
use crate::settings::{CognitoSettings, JwksSettings, TokenUse};
use crate::token::{self, Token};

/// One check of the verification, in verification order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Step {
    /// The header: present, the configured scheme, one token.
    Header,
    /// The token's size against `max_token_bytes`.
    Size,
    /// Three base64url parts; JSON header and claims of the right types.
    Parse,
    /// The header policy: `alg` allowed, a `kid`.
    Algorithm,
    /// `iss` is the pool's issuer.
    Issuer,
    /// `token_use` is `access` or `id` and allowed by the pool.
    TokenUse,
    /// The app client (`client_id` or `aud`) is one of the pool's.
    Client,
    /// `exp`, `nbf` and `iat` against now (and the leeway).
    Time,
    /// The key named by `kid` in the pool's key set, fit for the token.
    Key,
    /// The RSA signature.
    Signature,
    /// The groups, scopes and checks asked for.
    Requirement,
}

impl Step {
    /// Every check, in verification order.
    pub const ALL: [Step; 11] = [
        Step::Header,
        Step::Size,
        Step::Parse,
        Step::Algorithm,
        Step::Issuer,
        Step::TokenUse,
        Step::Client,
        Step::Time,
        Step::Key,
        Step::Signature,
        Step::Requirement,
    ];

    /// The stable snake_case name, e.g. `"token_use"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Step::Header => "header",
            Step::Size => "size",
            Step::Parse => "parse",
            Step::Algorithm => "algorithm",
            Step::Issuer => "issuer",
            Step::TokenUse => "token_use",
            Step::Client => "client",
            Step::Time => "time",
            Step::Key => "key",
            Step::Signature => "signature",
            Step::Requirement => "requirement",
        }
    }
}

/// How one check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The check ran and the token passed it.
    Pass,
    /// The check ran and refused the token: it gives the verdict.
    Fail,
    /// The check did not run (an earlier one failed, the token was given without a header,
    /// or the settings it needs are missing).
    Skipped,
}

impl Outcome {
    /// `"pass"`, `"fail"` or `"skipped"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One check with its outcome and a sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Which check.
    pub step: Step,
    /// How it went.
    pub outcome: Outcome,
    /// One sentence for people (times relative to now, e.g. "expired 3 minutes ago").
    pub detail: String,
}

/// A key set as an explanation or a report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetReport {
    /// Where the keys come from: the JWKS URL, or `inline`.
    pub source: String,
    /// Its keys, in document order.
    pub keys: Vec<KeyReport>,
}

/// What [`Verifier::explain`] found: every check of the verification order with its outcome,
/// and the verdict the verification gives.
#[derive(Debug)]
#[non_exhaustive]
pub struct Explanation {
    /// The pool the token was checked against (`None` without settings).
    pub pool: Option<String>,
    /// The trusted issuer the token's `iss` matched, if the issuer check passed.
    pub issuer: Option<String>,
    /// The verdict: `Ok` for a valid token, the error a verification gives otherwise; `None`
    /// when no verdict can be given (no settings and no check failed).
    pub verdict: Option<Result<(), AuthError>>,
    /// Every check, in verification order ([`Step::ALL`]).
    pub steps: Vec<StepReport>,
    /// The decoded JOSE header JSON, exactly as the token holds it (when it is UTF-8).
    pub header: Option<String>,
    /// The decoded claims JSON, exactly as the token holds it (when it is UTF-8).
    pub claims: Option<String>,
    /// The key set consulted at the key step, if it was reached and keys were at hand.
    pub keys: Option<KeySetReport>,
}

impl Explanation {
    /// Whether the token is valid.
    pub fn valid(&self) -> bool {
        matches!(self.verdict, Some(Ok(())))
    }

    /// The error kind of a refused token.
    pub fn kind(&self) -> Option<ErrorKind> {
        match &self.verdict {
            Some(Err(e)) => Some(e.kind()),
            _ => None,
        }
    }

    /// The check that failed, if one did.
    pub fn failed(&self) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.outcome == Outcome::Fail)
    }
}

/// Notes the checks of a verification as they start. The normal path uses `()`, whose
/// methods do nothing and are inlined away.
pub(crate) trait Recorder {
    /// The check `step` starts.
    #[inline(always)]
    fn enter(&mut self, _step: Step) {}
    /// The token's `iss` is the trusted issuer at `index`.
    #[inline(always)]
    fn issuer(&mut self, _index: usize) {}
    /// The key step consults this cache.
    #[inline(always)]
    fn key_source(&mut self, _cache: &Arc<JwksCache>) {}
}

impl Recorder for () {}

impl<R: Recorder> Recorder for &mut R {
    fn enter(&mut self, step: Step) {
        (**self).enter(step);
    }
    fn issuer(&mut self, index: usize) {
        (**self).issuer(index);
    }
    fn key_source(&mut self, cache: &Arc<JwksCache>) {
        (**self).key_source(cache);
    }
}

/// The recorder of an explanation.
#[derive(Default)]
struct Trace {
    last: Option<Step>,
    issuer: Option<usize>,
    cache: Option<Arc<JwksCache>>,
}

impl Recorder for Trace {
    fn enter(&mut self, step: Step) {
        self.last = Some(step);
    }
    fn issuer(&mut self, index: usize) {
        self.issuer = Some(index);
    }
    fn key_source(&mut self, cache: &Arc<JwksCache>) {
        self.cache = Some(Arc::clone(cache));
    }
}

impl Verifier {
    /// Verifies a bare token as [`Verifier::verify`] does (the verified-token cache aside:
    /// every check runs), and says how each check went. The verdict is the verification's.
    ///
    /// ```no_run
    /// use cognito_core::{CognitoSettings, Verifier};
    /// # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// let verifier = Verifier::new(&CognitoSettings::from_yaml("cognito.yaml")?)?;
    /// let explanation = verifier.explain(token).await;
    /// for step in &explanation.steps {
    ///     println!("{} {}: {}", step.outcome.as_str(), step.step.as_str(), step.detail);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn explain(&self, token: &str) -> Explanation {
        self.explain_with(token, Require::NONE).await
    }

    /// [`Verifier::explain`] with the route's requirements (its groups and scopes).
    pub async fn explain_with(&self, token: &str, require: Require<'_>) -> Explanation {
        self.explain_needs(None, token, Needs::of(require)).await
    }

    /// Explains a header value (`Bearer <token>` with the default settings) as
    /// [`Verifier::authenticate`] would judge it: the header check runs too.
    pub async fn explain_header(&self, value: &str, require: Require<'_>) -> Explanation {
        self.explain_needs(Some(value), value, Needs::of(require)).await
    }

    /// The issuers this pool trusts, in order (an `iss` must equal one of them).
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|(issuer, _)| issuer.as_str())
    }

    async fn explain_needs(&self, header: Option<&str>, input: &str, needs: Needs<'_>) -> Explanation {
        let mut trace = Trace::default();
        let (token, result) = self.traced(header, input, needs, &mut trace).await;
        let inner = &*self.inner;
        let keys = trace.cache.as_ref().and_then(|cache| {
            let loaded = cache.loaded()?;
            Some(KeySetReport {
                source: cache.source_name(),
                keys: loaded.keys.report().to_vec(),
            })
        });
        let issuer = trace
            .issuer
            .and_then(|i| inner.issuers.get(i))
            .map(|(iss, _)| iss.clone());
        let decoded = Decoded::of(token);
        let ctx = Context {
            verifier: Some(self),
            token_len: token.map(str::len),
            decoded: &decoded,
            keys: keys.as_ref(),
            now: unix_now(SystemTime::now()).unwrap_or(0.0),
            header: header.is_some(),
            max_token_bytes: inner.sources.max_token_bytes,
            algorithms: &inner.algorithms,
        };
        let failed = match &result {
            Ok(()) => None,
            Err(e) => Some((trace.last.unwrap_or(Step::Header), e)),
        };
        let steps = Step::ALL
            .iter()
            .map(|&step| {
                let outcome = match failed {
                    _ if step == Step::Header && header.is_none() => Outcome::Skipped,
                    None => Outcome::Pass,
                    Some((at, _)) if step < at => Outcome::Pass,
                    Some((at, _)) if step == at => Outcome::Fail,
                    Some(_) => Outcome::Skipped,
                };
                let error = failed.filter(|(at, _)| *at == step).map(|(_, e)| e);
                StepReport {
                    step,
                    outcome,
                    detail: ctx.detail(step, outcome, error),
                }
            })
            .collect();
        Explanation {
            pool: Some(inner.pool.clone()),
            issuer,
            steps,
            header: decoded.header_text,
            claims: decoded.claims_text,
            keys,
            verdict: Some(result),
        }
    }

    /// The pipeline with `trace`: the token it judged (if the header gave one) and the verdict.
    async fn traced<'i>(
        &self,
        header: Option<&str>,
        input: &'i str,
        needs: Needs<'_>,
        trace: &mut Trace,
    ) -> (Option<&'i str>, Result<(), AuthError>) {
        let token = match header {
            Some(_) => {
                trace.enter(Step::Header);
                match token::from_header([input.as_bytes()], &self.inner.sources.header_prefix, usize::MAX) {
                    Ok(token) => token,
                    Err(e) => return (None, Err(e)),
                }
            }
            None => input,
        };
        trace.enter(Step::Size);
        if let Err(e) = token::check_size(token, self.inner.sources.max_token_bytes) {
            return (Some(token), Err(e));
        }
        let result = self
            .verify_full::<IgnoredAny>(token, needs, Keys::MayFetch, trace)
            .await;
        (Some(token), result.map(|_| ()))
    }
}

/// Explains what can be judged of `token` without settings: its size, its parse and its
/// header policy, with the defaults (16384 bytes, RS256 only), by the same functions the
/// verification uses. The checks that need a pool are skipped and say so; the verdict is
/// `None` unless one of these checks fails.
pub fn explain_without_settings(token: &str) -> Explanation {
    let defaults = CognitoSettings::default();
    let mut trace = Trace::default();
    let result = (|| {
        trace.enter(Step::Size);
        token::check_size(token, defaults.max_token_bytes)?;
        trace.enter(Step::Parse);
        let parsed = Token::decode(token)?;
        let header = parsed.header()?;
        parsed.claims()?;
        trace.enter(Step::Algorithm);
        header
            .alg
            .as_deref()
            .and_then(Algorithm::from_jose)
            .filter(|a| defaults.algorithms.contains(a))
            .ok_or(ErrorKind::UnsupportedAlg)?;
        header.kid.ok_or(ErrorKind::UnknownKid)?;
        Ok::<(), AuthError>(())
    })();
    let decoded = Decoded::of(Some(token));
    let ctx = Context {
        verifier: None,
        token_len: Some(token.len()),
        decoded: &decoded,
        keys: None,
        now: unix_now(SystemTime::now()).unwrap_or(0.0),
        header: false,
        max_token_bytes: defaults.max_token_bytes,
        algorithms: &defaults.algorithms,
    };
    let failed = result.as_ref().err().map(|e| (trace.last.unwrap_or(Step::Size), e));
    let steps = Step::ALL
        .iter()
        .map(|&step| {
            let (outcome, detail) = match failed {
                _ if step == Step::Header => (Outcome::Skipped, ctx.detail(step, Outcome::Skipped, None)),
                Some((at, e)) if step == at => (Outcome::Fail, ctx.detail(step, Outcome::Fail, Some(e))),
                Some((at, _)) if step > at => (Outcome::Skipped, ctx.detail(step, Outcome::Skipped, None)),
                _ if step <= Step::Algorithm => (Outcome::Pass, ctx.detail(step, Outcome::Pass, None)),
                _ => (Outcome::Skipped, needs_settings(step).to_owned()),
            };
            StepReport { step, outcome, detail }
        })
        .collect();
    Explanation {
        pool: None,
        issuer: None,
        verdict: result.err().map(Err),
        steps,
        header: decoded.header_text,
        claims: decoded.claims_text,
        keys: None,
    }
}

/// Fetches the JWKS at `url` once, with the fetcher, deadline and body cap of the key caches
/// (`tuning`), and judges each key by the verification's JWK rules. `Err` says why no key set
/// could be had (the same sentence a `jwks_unavailable` detail gives).
pub async fn fetch_key_set(url: &str, tuning: &JwksSettings) -> Result<KeySetReport, String> {
    let doc = JwksCache::fetch_once(url, tuning).await?;
    Ok(KeySetReport {
        source: url.to_owned(),
        keys: crate::key_report::inspect_jwks(&doc)?,
    })
}

/// Why a check cannot run without settings.
fn needs_settings(step: Step) -> &'static str {
    match step {
        Step::Issuer => "Not checked: the trusted issuers come from the settings.",
        Step::TokenUse => "Not checked: the token uses a pool accepts come from the settings.",
        Step::Client => "Not checked: the pool's app clients come from the settings.",
        Step::Time => "Not checked: the time rules (check_expiration, leeway) come from the settings.",
        Step::Key => "Not checked: the pool's key set comes from the settings.",
        Step::Signature => "Not checked: the signature needs the pool's key set, from the settings.",
        _ => "Not checked: it needs the settings.",
    }
}

/// The token's header and claims, decoded for the sentences (not trusted, not judged here).
struct Decoded {
    header_text: Option<String>,
    claims_text: Option<String>,
    header: Value,
    claims: Value,
}

impl Decoded {
    fn of(token: Option<&str>) -> Self {
        // Each part on its own, so a token whose other parts are broken still shows what the
        // readable ones hold. Never the signature.
        let part = |i: usize| {
            let text = token?.split('.').nth(i)?;
            String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()
        };
        let header_text = part(0);
        let claims_text = part(1);
        let value = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        };
        Decoded {
            header: value(&header_text),
            claims: value(&claims_text),
            header_text,
            claims_text,
        }
    }

    fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    fn claim_str(&self, name: &str) -> Option<&str> {
        self.claim(name).and_then(Value::as_str)
    }
}

/// What the sentences are written from.
struct Context<'a> {
    verifier: Option<&'a Verifier>,
    token_len: Option<usize>,
    decoded: &'a Decoded,
    keys: Option<&'a KeySetReport>,
    now: f64,
    header: bool,
    max_token_bytes: usize,
    algorithms: &'a [Algorithm],
}

/// `value` for a sentence: a string as itself in quotes, anything else as JSON, shortened.
fn shown(value: Option<&Value>) -> String {
    let text = match value {
        None => return "absent".to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    };
    if text.chars().count() > 80 {
        let short: String = text.chars().take(77).collect();
        format!("{short}...")
    } else {
        text
    }
}

/// A duration in words: "45 seconds", "3 minutes", "2 hours", "5 days".
pub fn duration_words(secs: f64) -> String {
    let secs = secs.abs().round() as u64;
    let (n, unit) = match secs {
        0..90 => (secs, "second"),
        90..5400 => ((secs + 30) / 60, "minute"),
        5400..129_600 => ((secs + 1800) / 3600, "hour"),
        _ => ((secs + 43_200) / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `at` (seconds since the epoch) relative to `now`: "in 3 minutes" or "3 minutes ago".
fn relative(at: f64, now: f64) -> String {
    if at >= now {
        format!("in {}", duration_words(at - now))
    } else {
        format!("{} ago", duration_words(now - at))
    }
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Context<'_> {
    fn detail(&self, step: Step, outcome: Outcome, error: Option<&AuthError>) -> String {
        match outcome {
            Outcome::Skipped if step == Step::Header && !self.header => {
                "Not checked: the token was given bare, without a header.".to_owned()
            }
            Outcome::Skipped => "Not checked: an earlier check failed.".to_owned(),
            Outcome::Pass => self.passed(step),
            Outcome::Fail => match error {
                Some(e) => self.failed(step, e),
                None => "Failed.".to_owned(),
            },
        }
    }

    fn pool(&self) -> &str {
        self.verifier.map_or("", Verifier::pool)
    }

    fn passed(&self, step: Step) -> String {
        let d = self.decoded;
        let header_str = |name: &str| shown(d.header.get(name));
        match step {
            Step::Header => "The header holds the expected scheme and one token.".to_owned(),
            Step::Size => format!(
                "{} bytes, within the limit of {} (max_token_bytes).",
                self.token_len.unwrap_or(0),
                self.max_token_bytes
            ),
            Step::Parse => "Three base64url parts; the header and the claims are JSON objects whose claims have the expected types.".to_owned(),
            Step::Algorithm => format!(
                "alg {} is allowed; kid {}.",
                header_str("alg"),
                header_str("kid")
            ),
            Step::Issuer => format!(
                "iss {} is an issuer pool {:?} trusts.",
                shown(d.claim("iss")),
                self.pool()
            ),
            Step::TokenUse => format!(
                "token_use {} is accepted by pool {:?} ({}).",
                shown(d.claim("token_use")),
                self.pool(),
                self.token_uses()
            ),
            Step::Client => {
                let (name, id) = self.client_claim();
                format!("{name} {} is one of the pool's app clients.", shown(id))
            }
            Step::Time => self.times(),
            Step::Key => {
                let kid = d.header.get("kid").and_then(Value::as_str).unwrap_or_default();
                let bits = self
                    .keys
                    .and_then(|k| k.keys.iter().find(|k| k.kid.as_deref() == Some(kid)))
                    .and_then(|k| k.bits)
                    .map_or_else(String::new, |b| format!(", an RSA key of {b} bits"));
                let source = self.keys.map_or("", |k| k.source.as_str());
                format!("kid {kid:?} is in the key set of {source}{bits}.")
            }
            Step::Signature => format!("The {} signature verifies with that key.", header_str("alg")),
            Step::Requirement => {
                "Not revoked, and every requirement asked for (principal, groups, scopes, sign-in age, acr, checks) is met."
                    .to_owned()
            }
        }
    }

    fn failed(&self, step: Step, e: &AuthError) -> String {
        let d = self.decoded;
        let message = e.message();
        let more = match (step, e.kind()) {
            (Step::Size, _) => format!(
                " It is {} bytes; the limit is {} (max_token_bytes).",
                self.token_len.unwrap_or(0),
                self.max_token_bytes
            ),
            (Step::Algorithm, ErrorKind::UnsupportedAlg) => format!(
                " Its alg is {}; allowed: {}.",
                shown(d.header.get("alg")),
                list(self.algorithms.iter().map(|a| a.as_str()))
            ),
            (Step::Algorithm, ErrorKind::UnknownKid) => " The header has no kid.".to_owned(),
            (Step::Issuer, _) => format!(
                " Its iss is {}; pool {:?} trusts {}.",
                shown(d.claim("iss")),
                self.pool(),
                self.verifier.map_or_else(String::new, |v| list(v.issuers()))
            ),
            (Step::TokenUse, _) => format!(
                " Its token_use is {}; pool {:?} accepts {}.",
                shown(d.claim("token_use")),
                self.pool(),
                self.token_uses()
            ),
            (Step::Client, _) => {
                let (name, id) = self.client_claim();
                let clients = self.verifier.map_or_else(String::new, |v| list(&v.inner.clients));
                format!(" Its {name} is {}; the pool's app clients: {clients}.", shown(id))
            }
            (Step::Time, _) => format!(" {}", self.times()),
            (Step::Key, ErrorKind::UnknownKid) => format!(
                " kid {} is not among {}.",
                shown(d.header.get("kid")),
                self.keys.map_or_else(
                    || "the pool's keys".to_owned(),
                    |k| format!(
                        "the kids of {} ({})",
                        k.source,
                        list(k.keys.iter().filter_map(|k| k.kid.as_deref()))
                    )
                )
            ),
            _ => String::new(),
        };
        let why = e.detail().map_or_else(String::new, |d| format!(" ({d})"));
        format!("{message}{more}{why}")
    }

    fn token_uses(&self) -> &'static str {
        match self.verifier.map(|v| v.inner.token_use) {
            Some(TokenUse::Access) => "access tokens only",
            Some(TokenUse::Id) => "ID tokens only",
            _ => "access and ID tokens",
        }
    }

    fn client_claim(&self) -> (&'static str, Option<&Value>) {
        if self.decoded.claim_str("token_use") == Some("access") {
            ("client_id", self.decoded.claim("client_id"))
        } else {
            ("aud", self.decoded.claim("aud"))
        }
    }

    /// "Expires in 59 minutes; issued 1 minute ago." (or "Expired 3 minutes ago.").
    fn times(&self) -> String {
        let d = self.decoded;
        let at = |name: &str| d.claim(name).and_then(Value::as_f64);
        let mut parts = Vec::new();
        if let Some(exp) = at("exp") {
            if exp <= self.now {
                parts.push(format!("expired {}", relative(exp, self.now)));
            } else {
                parts.push(format!("expires {}", relative(exp, self.now)));
            }
        }
        if let Some(nbf) = at("nbf") {
            parts.push(format!("not valid before {}", relative(nbf, self.now)));
        }
        if let Some(iat) = at("iat") {
            parts.push(format!("issued {}", relative(iat, self.now)));
        }
        let mut text = parts.join("; ");
        if let Some(first) = text.get(..1) {
            text = format!("{}{}.", first.to_uppercase(), text.get(1..).unwrap_or_default());
        }
        text
    }
}
