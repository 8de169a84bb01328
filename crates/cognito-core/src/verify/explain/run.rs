//! Running the pipeline with the recorder: a pool's explanation, the checks that need no
//! settings, and one fetch of a key set.

use std::sync::Arc;
use std::time::SystemTime;

use serde::de::IgnoredAny;

use super::words::{Context, Decoded};
use super::{Explanation, KeySetReport, Outcome, Recorder, Step, StepReport};
use crate::error::{AuthError, ErrorKind};
use crate::jose::Algorithm;
use crate::jwks::JwksCache;
use crate::policy::Require;
use crate::settings::{CognitoSettings, JwksSettings};
use crate::time::unix_now;
use crate::token::{self, Token};
use crate::verify::Verifier;
use crate::verify::pipeline::{Keys, Needs};

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
