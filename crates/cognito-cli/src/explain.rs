//! `cognito explain`: every check of the verification order, with its outcome, from
//! [`cognito_core::Verifier::explain`] (the pipeline that verifies, traced).

use std::io::Read as _;
use std::path::PathBuf;

use cognito_core::explain::{Explanation, KeySetReport, Outcome, explain_without_settings};
use cognito_core::{ErrorKind, PrincipalKind, Require};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::output::{self, BAD, DIM, GOOD, HEAD, paint};
use crate::{EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE, EXIT_VALID, Failure};

/// `cognito explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The token, or a whole header value (`Bearer eyJ...`); `-` or nothing: read stdin.
    token: Option<String>,
    /// The settings file (YAML, or JSON by its `.json` extension).
    #[arg(long, env = "COGNITO_SETTINGS")]
    settings: Option<PathBuf>,
    /// The pool to check against (default: the pool whose issuer the token names, else the
    /// first pool).
    #[arg(long, requires = "settings")]
    pool: Option<String>,
    /// Explain this whole header value (`Bearer eyJ...`) instead: the header check runs too.
    #[arg(long, conflicts_with = "token", requires = "settings", allow_hyphen_values = true)]
    header: Option<String>,
    /// Require any of these groups, as a route would (comma separated).
    #[arg(long, value_delimiter = ',', requires = "settings")]
    group: Vec<String>,
    /// Require any of these scopes, as a route would (comma separated).
    #[arg(long, value_delimiter = ',', requires = "settings")]
    scope: Vec<String>,
    /// Require every one of these scopes, as a route would (comma separated).
    #[arg(long, value_delimiter = ',', requires = "settings")]
    all_scopes: Vec<String>,
    /// Require this kind of principal: `user`, `machine` (client credentials) or `any`.
    #[arg(long, value_parser = ["any", "user", "machine"], requires = "settings")]
    principal: Option<String>,
    /// Require a sign-in at most this many seconds old (`auth_time`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), requires = "settings")]
    max_auth_age: Option<u64>,
    /// Require one of these authentication contexts (`acr`, comma separated).
    #[arg(long, value_delimiter = ',', requires = "settings")]
    acr: Vec<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// The token from the argument or stdin (at most 1 MiB read), trimmed.
fn input(arg: Option<String>) -> Result<String, Failure> {
    let text = match arg.as_deref() {
        Some("-") | None => {
            let mut text = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut text)
                .map_err(|e| Failure::usage(format!("cannot read the token from stdin: {e}")))?;
            text
        }
        Some(token) => token.to_owned(),
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure::usage(
            "no token given (pass it as an argument, or `-` to read stdin)",
        ));
    }
    Ok(text.to_owned())
}

pub(crate) async fn run(args: Args) -> Result<u8, Failure> {
    let input = match args.header.clone() {
        Some(header) => header,
        None => input(args.token)?,
    };
    let groups: Vec<&str> = args
        .group
        .iter()
        .map(String::as_str)
        .filter(|g| !g.is_empty())
        .collect();
    let scopes: Vec<&str> = args
        .scope
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    let nonempty = |list: &[String]| -> Vec<String> { list.iter().filter(|s| !s.is_empty()).cloned().collect() };
    let (all_scopes, acr) = (nonempty(&args.all_scopes), nonempty(&args.acr));
    let all_scopes: Vec<&str> = all_scopes.iter().map(String::as_str).collect();
    let acr: Vec<&str> = acr.iter().map(String::as_str).collect();
    let principal = match args.principal.as_deref() {
        Some("user") => PrincipalKind::User,
        Some("machine") => PrincipalKind::Machine,
        _ => PrincipalKind::Any,
    };
    let mut require = Require::NONE
        .any_group(&groups)
        .any_scope(&scopes)
        .all_scopes(&all_scopes)
        .principal(principal)
        .acr_values(&acr);
    if let Some(secs) = args.max_auth_age {
        require = require.max_auth_age_secs(secs);
    }
    let explanation = match &args.settings {
        None => explain_without_settings(&input),
        Some(path) => {
            let settings = crate::load_settings(path)?;
            let auth = crate::auth(&settings)?;
            let verifier = match &args.pool {
                Some(name) => auth
                    .pool(name)
                    .ok_or_else(|| Failure::usage(format!("settings: there is no pool named {name:?}")))?,
                None => {
                    let iss = token_iss(&input);
                    auth.pools()
                        .find(|v| iss.as_deref().is_some_and(|iss| v.issuers().any(|i| i == iss)))
                        .unwrap_or_else(|| auth.default_pool())
                }
            };
            // A space inside: a whole header value (`Bearer eyJ...`), judged from the header on.
            let explain = async {
                if args.header.is_some() || input.contains(' ') {
                    verifier.explain_header(&input, require).await
                } else {
                    verifier.explain_with(&input, require).await
                }
            };
            crate::with_spinner("checking the token (fetching keys)", explain).await
        }
    };
    if args.json {
        print_json(&explanation);
    } else {
        print_text(&explanation, args.settings.is_none());
    }
    Ok(exit_code(&explanation))
}

/// The exit status of an explanation: 0 valid, 1 refused, 3 keys unavailable, 2 when no
/// verdict could be given (no settings).
fn exit_code(explanation: &Explanation) -> u8 {
    match &explanation.verdict {
        Some(Ok(())) => EXIT_VALID,
        Some(Err(e)) if e.kind() == ErrorKind::JwksUnavailable => EXIT_UNAVAILABLE,
        Some(Err(_)) => EXIT_REFUSED,
        None => EXIT_USAGE,
    }
}

/// The token's `iss`, read without judging anything (to pick the pool).
fn token_iss(input: &str) -> Option<String> {
    let token = input.rsplit(' ').next().unwrap_or(input);
    let claims = explain_without_settings(token).claims?;
    let claims: serde_json::Value = serde_json::from_str(&claims).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

#[derive(Serialize)]
struct Json<'a> {
    valid: bool,
    kind: Option<&'static str>,
    pool: Option<&'a str>,
    issuer: Option<&'a str>,
    message: Option<&'a str>,
    steps: Vec<StepJson<'a>>,
    header: Option<Box<RawValue>>,
    claims: Option<Box<RawValue>>,
    keys: Option<KeysJson<'a>>,
}

#[derive(Serialize)]
struct StepJson<'a> {
    check: &'static str,
    outcome: &'static str,
    detail: &'a str,
}

#[derive(Serialize)]
pub(crate) struct KeysJson<'a> {
    pub(crate) source: &'a str,
    pub(crate) keys: Vec<KeyJson<'a>>,
}

#[derive(Serialize)]
pub(crate) struct KeyJson<'a> {
    pub(crate) kid: Option<&'a str>,
    pub(crate) kty: Option<&'a str>,
    pub(crate) alg: Option<&'a str>,
    #[serde(rename = "use")]
    pub(crate) key_use: Option<&'a str>,
    pub(crate) bits: Option<usize>,
    pub(crate) problem: Option<&'a str>,
}

impl<'a> KeysJson<'a> {
    pub(crate) fn of(set: &'a KeySetReport) -> Self {
        KeysJson {
            source: &set.source,
            keys: set
                .keys
                .iter()
                .map(|k| KeyJson {
                    kid: k.kid.as_deref(),
                    kty: k.kty.as_deref(),
                    alg: k.alg.as_deref(),
                    key_use: k.key_use.as_deref(),
                    bits: k.bits,
                    problem: k.problem.as_deref(),
                })
                .collect(),
        }
    }
}

fn print_json(e: &Explanation) {
    let json = Json {
        valid: e.valid(),
        kind: e.kind().map(ErrorKind::as_str),
        pool: e.pool.as_deref(),
        issuer: e.issuer.as_deref(),
        message: match &e.verdict {
            Some(Err(error)) => Some(error.message()),
            _ => None,
        },
        steps: e
            .steps
            .iter()
            .map(|s| StepJson {
                check: s.step.as_str(),
                outcome: s.outcome.as_str(),
                detail: &s.detail,
            })
            .collect(),
        header: output::raw(e.header.as_deref()),
        claims: output::raw(e.claims.as_deref()),
        keys: e.keys.as_ref().map(KeysJson::of),
    };
    match serde_json::to_string(&json) {
        Ok(text) => anstream::println!("{text}"),
        Err(error) => output::error(&format!("cannot write JSON: {error}")),
    }
}

fn print_text(e: &Explanation, without_settings: bool) {
    anstream::println!("{}", paint(HEAD, "Token"));
    match e.header.as_deref() {
        Some(header) => anstream::println!("  header  {}", header.trim()),
        None => anstream::println!("  {}", paint(DIM, "(the token could not be decoded)")),
    }
    if let Some(claims) = e.claims.as_deref() {
        match output::members(claims) {
            Some(members) => {
                anstream::println!("  claims");
                for (name, value) in members {
                    anstream::println!("    {name:<18} {}", value.get());
                }
            }
            None => anstream::println!("  claims  {}", claims.trim()),
        }
    }
    anstream::println!();
    anstream::println!("{}", paint(HEAD, "Checks"));
    for step in &e.steps {
        let (mark, style) = match step.outcome {
            Outcome::Pass => ("pass", GOOD),
            Outcome::Fail => ("FAIL", BAD),
            Outcome::Skipped => ("skip", DIM),
        };
        anstream::println!("  {} {:<11} {}", paint(style, mark), step.step.as_str(), step.detail);
    }
    anstream::println!();
    match (&e.pool, &e.issuer) {
        (Some(pool), Some(issuer)) => anstream::println!("{}     {pool} (issuer {issuer})", paint(HEAD, "Pool")),
        (Some(pool), None) => anstream::println!("{}     {pool} (no issuer matched)", paint(HEAD, "Pool")),
        _ => {}
    }
    if let Some(keys) = &e.keys {
        anstream::println!(
            "{}     {} ({})",
            paint(HEAD, "Keys"),
            keys.source,
            crate::jwks::count(keys.keys.len())
        );
        for key in &keys.keys {
            anstream::println!("  {}", crate::jwks::key_line(key));
        }
    }
    let verdict = match &e.verdict {
        Some(Ok(())) => paint(GOOD, "valid"),
        Some(Err(error)) => format!(
            "{}: {} ({})",
            paint(BAD, "refused"),
            error.kind().as_str(),
            error.message()
        ),
        None => paint(DIM, "no verdict without settings"),
    };
    anstream::println!("{}  {verdict}", paint(HEAD, "Verdict"));
    if without_settings && e.verdict.is_none() {
        anstream::println!(
            "{}",
            paint(
                DIM,
                "Pass --settings FILE (or set COGNITO_SETTINGS) to check the issuer, token use, client, times, key and signature."
            )
        );
    }
}
