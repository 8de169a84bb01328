//! The sentences of an explanation, written from the decoded token and the pool's settings.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::{KeySetReport, Outcome, Step};
use crate::error::{AuthError, ErrorKind};
use crate::jose::Algorithm;
use crate::settings::TokenUse;
use crate::verify::Verifier;

/// The token's header and claims, decoded for the sentences (not trusted, not judged here).
pub(super) struct Decoded {
    pub(super) header_text: Option<String>,
    pub(super) claims_text: Option<String>,
    pub(super) header: Value,
    pub(super) claims: Value,
}

impl Decoded {
    pub(super) fn of(token: Option<&str>) -> Self {
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
pub(super) struct Context<'a> {
    pub(super) verifier: Option<&'a Verifier>,
    pub(super) token_len: Option<usize>,
    pub(super) decoded: &'a Decoded,
    pub(super) keys: Option<&'a KeySetReport>,
    pub(super) now: f64,
    pub(super) header: bool,
    pub(super) max_token_bytes: usize,
    pub(super) algorithms: &'a [Algorithm],
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
    pub(super) fn detail(&self, step: Step, outcome: Outcome, error: Option<&AuthError>) -> String {
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
