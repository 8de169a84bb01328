//! cognito-core with no web framework: a filter that verifies the tokens it reads on stdin,
//! one per line, against the default pool of `COGNITO_SETTINGS` (a `.yaml`, `.yml` or `.json`
//! file), and writes one JSON line per non-empty input line: `{"ok":true,"sub":...,"username":...}`
//! or `{"ok":false,"error":"<kind>","message":...}`. The pattern for queue consumers, CLIs and
//! servers of other frameworks: one `Verifier`, `verify().await` per token.
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
//!   pure ASCII, so such a line cannot be a token. (`invalid_header` would be wrong here: there
//!   is no header or scheme, each line is a bare token, and the core's verdict for a bare token
//!   that is not a well-formed JWT is `malformed`.)
//! - Only I/O errors on stdin or stdout stop the filter (exit 1); a bad token never does.
//!
//! ```sh
//! COGNITO_SETTINGS=cognito.yaml cargo run -p cognito-verify-stdin < tokens.txt
//! ```

use cognito_core::{AuthError, CognitoSettings, CognitoToken, ErrorKind, Verifier};
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("COGNITO_SETTINGS").map_err(|_| "set COGNITO_SETTINGS to a settings file")?;
    let settings = if path.ends_with(".json") {
        CognitoSettings::from_json(&path)?
    } else {
        CognitoSettings::from_yaml(&path)?
    };
    let verifier = Verifier::new(&settings)?;
    // A token of `max_token_bytes` followed by `\r\n` still fits; the core itself rejects a
    // token of one byte more, so the extra byte never lets a larger token through.
    let cap = settings.max_token_bytes.saturating_add(1);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let mut input = BufReader::new(tokio::io::stdin());
            let mut out = tokio::io::stdout();
            let mut line = Vec::with_capacity(cap);
            while let Some(fits) = read_line_bounded(&mut input, &mut line, cap).await? {
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
                            match verifier.verify::<CognitoToken>(token).await {
                                Ok(claims) => json!({ "ok": true, "sub": claims.sub, "username": claims.username() }),
                                Err(e) => rejection(&e),
                            }
                        }
                    }
                };
                out.write_all(format!("{verdict}\n").as_bytes()).await?;
                out.flush().await?;
            }
            Ok(())
        })
}

fn rejection(e: &AuthError) -> Value {
    json!({ "ok": false, "error": e.kind().as_str(), "message": e.message() })
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
