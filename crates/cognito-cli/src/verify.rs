//! `cognito verify`: verifies the tokens it reads on stdin, one per line, and writes one JSON
//! verdict per non-blank line: `{"valid":true,"kind":null,"pool":...,"sub":...,"username":...}`
//! or `{"valid":false,"kind":"<kind>","message":...}`.
//!
//! Every line gets a verdict, whatever its bytes, and memory stays bounded whatever the input:
//!
//! - Lines end at `\n`; a `\r` before it and surrounding whitespace are ignored, and blank lines
//!   are skipped. The last line needs no newline.
//! - A line is read as raw bytes, keeping at most `max_token_bytes` (from the settings) plus one
//!   byte for a `\r`. A longer line is answered `too_large`: once it overflows that bound, the
//!   rest of it, up to its newline, is read and dropped one buffer at a time, never held.
//!   The bound is on the line, so whitespace around a token counts toward it.
//! - A line that is not UTF-8 is answered `malformed`: a compact JWS is base64url and dots,
//!   pure ASCII, so such a line cannot be a token.
//! - Only I/O errors on stdin or stdout stop it (exit 1); a bad token never does.

use cognito_core::Require;
use std::path::PathBuf;

use cognito_core::{AuthError, CognitoToken, ErrorKind, Verifier};
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::{EXIT_VALID, Failure};

/// `cognito verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The settings file (YAML, or JSON by its `.json` extension).
    #[arg(long, env = "COGNITO_SETTINGS")]
    settings: PathBuf,
    /// The pool to verify against (default: the first pool).
    #[arg(long)]
    pool: Option<String>,
}

pub(crate) async fn run(args: Args) -> Result<u8, Failure> {
    let settings = crate::load_settings(&args.settings)?;
    let verifier = match &args.pool {
        Some(name) => Verifier::for_pool(&settings, name),
        None => Verifier::new(&settings),
    }
    .map_err(|e| Failure::usage(format!("settings: {e}")))?;
    // A token of `max_token_bytes` followed by `\r\n` still fits; the core itself rejects a
    // token of one byte more, so the extra byte never lets a larger token through.
    let cap = settings.max_token_bytes.saturating_add(1);
    let mut input = BufReader::new(tokio::io::stdin());
    let mut out = tokio::io::stdout();
    let mut line = Vec::with_capacity(cap);
    while let Some(fits) = read_line_bounded(&mut input, &mut line, cap)
        .await
        .map_err(|e| Failure::io(&e))?
    {
        let verdict = if !fits {
            rejection(&AuthError::new(ErrorKind::TooLarge))
        } else {
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            match std::str::from_utf8(line) {
                Err(_) => rejection(&AuthError::new(ErrorKind::Malformed)),
                Ok(text) => {
                    let token = text.trim();
                    if token.is_empty() {
                        continue;
                    }
                    match verifier.verify::<CognitoToken>(token, Require::NONE).await {
                        Ok(claims) => Verdict {
                            valid: true,
                            kind: None,
                            message: None,
                            pool: Some(verifier.pool()),
                            sub: claims.sub.as_deref(),
                            username: claims.username(),
                        }
                        .line(),
                        Err(e) => rejection(&e),
                    }
                }
            }
        };
        out.write_all(format!("{verdict}\n").as_bytes())
            .await
            .map_err(|e| Failure::io(&e))?;
        out.flush().await.map_err(|e| Failure::io(&e))?;
    }
    Ok(EXIT_VALID)
}

/// One line of output.
#[derive(Serialize)]
struct Verdict<'a> {
    valid: bool,
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
}

impl Verdict<'_> {
    fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"valid":false,"kind":null}"#.to_owned())
    }
}

fn rejection(e: &AuthError) -> String {
    Verdict {
        valid: false,
        kind: Some(e.kind().as_str()),
        message: Some(e.message()),
        pool: None,
        sub: None,
        username: None,
    }
    .line()
}

/// Reads the next line into `line`, without its `\n`. `None` at the end of the input;
/// `Some(true)` when the line fit in `cap` bytes; `Some(false)` when it did not: then `line` is
/// left empty and the whole line, up to and including its `\n`, has been consumed one reader
/// buffer at a time. Memory use is at most `cap` plus the reader's buffer, whatever the input.
async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut fits = true;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(read_any.then_some(fits));
        }
        read_any = true;
        let (chunk, used, end_of_line) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if fits {
            if line.len() + chunk.len() <= cap {
                line.extend_from_slice(chunk);
            } else {
                fits = false;
                line.clear();
            }
        }
        reader.consume(used);
        if end_of_line {
            return Ok(Some(fits));
        }
    }
}
