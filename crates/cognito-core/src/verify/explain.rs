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

use serde::de::IgnoredAny;

use super::Verifier;
use super::pipeline::{Keys, Needs};
use super::times::unix_now;
use crate::error::{AuthError, ErrorKind};
use crate::jose::Algorithm;
use crate::jwks::JwksCache;
use crate::key_report::KeyReport;
use crate::policy::Require;
use crate::settings::{CognitoSettings, JwksSettings};
use crate::token::{self, Token};

mod words;
pub use words::duration_words;
use words::{Context, Decoded, needs_settings};

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
