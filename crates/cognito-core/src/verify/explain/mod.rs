//! Verification with a trace: [`Verifier::explain`](crate::Verifier::explain) runs the very pipeline that
//! [`Verifier::verify`](crate::Verifier::verify) runs, with a recorder threaded through it that notes each check as it
//! starts. The check that was running when the pipeline answered with an error is the one that
//! failed, every check before it passed, every check after it was skipped. The normal path
//! threads the no-op recorder `()` instead, whose calls compile away.
//!
//! An explanation therefore cannot disagree with a verification: the verdict and the failing
//! check are the pipeline's own. Only the sentences (`detail`) are written here, from the
//! decoded token and the pool's settings.
use std::sync::Arc;

use crate::error::{AuthError, ErrorKind};
use crate::jwks::JwksCache;
use crate::key_report::KeyReport;

mod run;
mod words;

pub use run::{explain_without_settings, fetch_key_set};
pub use words::duration_words;

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

/// What [`Verifier::explain`](crate::Verifier::explain) found: every check of the verification order with its outcome,
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
