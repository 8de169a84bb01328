//! cognito-core with no web framework: a filter that verifies the tokens it reads on stdin,
//! one per line, against the default pool of `COGNITO_SETTINGS` (a `.yaml`, `.yml` or `.json`
//! file), and writes one JSON line per token: `{"ok":true,"sub":...,"username":...}` or
//! `{"ok":false,"error":"<kind>","message":...}`. The pattern for queue consumers, CLIs and
//! servers of other frameworks: one `Verifier`, `verify().await` per token.
//!
//! ```sh
//! COGNITO_SETTINGS=cognito.yaml cargo run -p cognito-verify-stdin < tokens.txt
//! ```

use cognito_core::{CognitoSettings, CognitoToken, Verifier};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("COGNITO_SETTINGS").map_err(|_| "set COGNITO_SETTINGS to a settings file")?;
    let settings = if path.ends_with(".json") {
        CognitoSettings::from_json(&path)?
    } else {
        CognitoSettings::from_yaml(&path)?
    };
    let verifier = Verifier::new(&settings)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            let mut out = tokio::io::stdout();
            while let Some(line) = lines.next_line().await? {
                let token = line.trim();
                if token.is_empty() {
                    continue;
                }
                let verdict = match verifier.verify::<CognitoToken>(token).await {
                    Ok(claims) => json!({ "ok": true, "sub": claims.sub, "username": claims.username() }),
                    Err(e) => json!({ "ok": false, "error": e.kind().as_str(), "message": e.message() }),
                };
                out.write_all(format!("{verdict}\n").as_bytes()).await?;
                out.flush().await?;
            }
            Ok(())
        })
}
