//! `cognito jwks`: a pool's key set(s), fetched with the library's own fetcher and judged by
//! its JWK rules.

use std::path::PathBuf;

use cognito_core::explain::{KeyReport, KeySetReport, fetch_key_set, inspect_jwks};
use cognito_core::settings::JwksSettings;
use serde::Serialize;

use crate::explain::KeysJson;
use crate::output::{self, BAD, DIM, GOOD, HEAD, paint};
use crate::{EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_VALID, Failure};

/// `cognito jwks`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("from").required(true).args(["url", "settings"])))]
pub(crate) struct Args {
    /// A JWKS URL (`https://`, `http://` on loopback, or `file://`).
    url: Option<String>,
    /// The settings file: every pool's key set (or `--pool`'s).
    #[arg(long, conflicts_with = "url")]
    settings: Option<PathBuf>,
    /// Only this pool's key set(s).
    #[arg(long, requires = "settings")]
    pool: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// One key set to report: which pool, where from, and what was found.
struct Report {
    pool: Option<String>,
    source: String,
    result: Result<KeySetReport, String>,
    /// The pool can do without this set (the multi-Region issuer form's).
    optional: bool,
}

pub(crate) async fn run(args: Args) -> Result<u8, Failure> {
    let mut targets: Vec<(Option<String>, String, Option<serde_json::Value>, bool)> = Vec::new();
    let mut tuning = JwksSettings::default();
    if let Some(path) = &args.settings {
        let settings = crate::load_settings(path)?;
        let auth = crate::auth(&settings)?;
        tuning = settings.jwks.clone();
        let pools: Vec<_> = match &args.pool {
            Some(name) => vec![
                auth.pool(name)
                    .ok_or_else(|| Failure::usage(format!("settings: there is no pool named {name:?}")))?,
            ],
            None => auth.pools().collect(),
        };
        for verifier in pools {
            let inline = settings
                .userpools
                .iter()
                .find(|p| p.name == verifier.pool())
                .and_then(|p| p.jwks_inline.clone());
            for source in verifier.health().sources {
                targets.push((
                    Some(verifier.pool().to_owned()),
                    source.source,
                    inline.clone(),
                    source.optional,
                ));
            }
        }
    } else if let Some(url) = &args.url {
        targets.push((None, url.clone(), None, false));
    }
    let mut reports = Vec::new();
    for (pool, source, inline, optional) in targets {
        let result = match inline {
            Some(doc) if source == "inline" => inspect_jwks(&doc).map(|keys| KeySetReport {
                source: source.clone(),
                keys,
            }),
            _ => crate::with_spinner(&format!("fetching {source}"), fetch_key_set(&source, &tuning)).await,
        };
        reports.push(Report {
            pool,
            source,
            result,
            optional,
        });
    }
    if args.json {
        print_json(&reports);
    } else {
        print_text(&reports);
    }
    let unavailable = reports.iter().any(|r| r.result.is_err() && !r.optional);
    let problems = reports
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .any(|set| set.keys.is_empty() || set.keys.iter().any(|k| !k.usable()));
    Ok(if unavailable {
        EXIT_UNAVAILABLE
    } else if problems {
        EXIT_REFUSED
    } else {
        EXIT_VALID
    })
}

/// "1 key", "2 keys".
pub(crate) fn count(n: usize) -> String {
    if n == 1 {
        "1 key".to_owned()
    } else {
        format!("{n} keys")
    }
}

/// One key in a line: `kid  RSA 2048 bits  RS256  use sig  ok` (or its problem).
pub(crate) fn key_line(key: &KeyReport) -> String {
    let kid = key
        .kid
        .as_deref()
        .map_or_else(|| "(no kid)".to_owned(), |k| format!("{k:?}"));
    let kty = key.kty.as_deref().unwrap_or("?");
    let bits = key.bits.map_or_else(String::new, |b| format!(" {b} bits"));
    let alg = key.alg.as_deref().unwrap_or("any RS*");
    let key_use = key.key_use.as_deref().unwrap_or("-");
    let verdict = match &key.problem {
        None => paint(GOOD, "ok"),
        Some(problem) => format!("{}: {problem}", paint(BAD, "problem")),
    };
    format!("{kid}  {kty}{bits}  alg {alg}  use {key_use}  {verdict}")
}

fn print_text(reports: &[Report]) {
    for report in reports {
        let pool = report
            .pool
            .as_deref()
            .map_or_else(String::new, |p| format!("pool {p}: "));
        match &report.result {
            Ok(set) => {
                anstream::println!(
                    "{}",
                    paint(HEAD, &format!("{pool}{} ({})", report.source, count(set.keys.len())))
                );
                for key in &set.keys {
                    anstream::println!("  {}", key_line(key));
                }
                let usable = set.keys.iter().filter(|k| k.usable()).count();
                if usable == 0 {
                    anstream::println!(
                        "  {}: no usable key: every token would be refused",
                        paint(BAD, "problem")
                    );
                } else {
                    anstream::println!("  {}", paint(DIM, &format!("{usable} usable")));
                }
            }
            Err(why) => {
                anstream::println!("{}", paint(HEAD, &format!("{pool}{}", report.source)));
                if report.optional {
                    anstream::println!(
                        "  {}: {why} (optional: only tokens of the multi-Region issuer form need it)",
                        paint(DIM, "unavailable")
                    );
                } else {
                    anstream::println!("  {}: {why}", paint(BAD, "unavailable"));
                }
            }
        }
    }
}

#[derive(Serialize)]
struct SetJson<'a> {
    pool: Option<&'a str>,
    source: &'a str,
    error: Option<&'a str>,
    optional: bool,
    keys: Vec<crate::explain::KeyJson<'a>>,
    problems: Vec<String>,
}

fn print_json(reports: &[Report]) {
    let sets: Vec<SetJson<'_>> = reports
        .iter()
        .map(|r| {
            let (keys, problems) = match &r.result {
                Ok(set) => {
                    let mut problems: Vec<String> = set
                        .keys
                        .iter()
                        .filter_map(|k| {
                            let kid = k.kid.as_deref().unwrap_or("(no kid)");
                            k.problem.as_ref().map(|p| format!("{kid}: {p}"))
                        })
                        .collect();
                    if !set.keys.iter().any(KeyReport::usable) {
                        problems.push("no usable key".to_owned());
                    }
                    (KeysJson::of(set).keys, problems)
                }
                Err(why) => (Vec::new(), vec![why.clone()]),
            };
            SetJson {
                pool: r.pool.as_deref(),
                source: &r.source,
                error: r.result.as_ref().err().map(String::as_str),
                optional: r.optional,
                keys,
                problems,
            }
        })
        .collect();
    match serde_json::to_string(&serde_json::json!({ "sets": sets })) {
        Ok(text) => anstream::println!("{text}"),
        Err(error) => output::error(&format!("cannot write JSON: {error}")),
    }
}
