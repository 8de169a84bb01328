//! Mints a JWKS and many distinct Cognito-shaped access tokens into files, for load tests
//! (`benches/http/run.sh`) and anything else that needs real tokens in bulk:
//!
//! ```text
//! cargo run --release -p cognito-testkit --example mint_tokens -- OUT_DIR COUNT
//! ```
//!
//! Writes `OUT_DIR/jwks.json` (one fresh RSA-2048 key), `OUT_DIR/tokens.txt` (COUNT distinct
//! access tokens, one a line, valid for 12 hours) and `OUT_DIR/pool.env` (the pool the tokens
//! belong to: `REGION`, `USERPOOL_ID`, `CLIENT_ID`, `ISSUER`, `KID`). The issuer is the AWS
//! form of a made-up pool, so verifiers that insist on AWS issuers accept the tokens when they
//! are pointed at the local JWKS.

use std::io::Write as _;
use std::path::PathBuf;

use cognito_testkit::{SigningKey, access_claims, aws_issuer, jwks, now};
use serde_json::json;

const REGION: &str = "eu-west-1";
const USERPOOL_ID: &str = "eu-west-1_LoadTest";
const CLIENT_ID: &str = "loadtest-client";
const KID: &str = "loadtest-key-1";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(count)) = (args.next(), args.next()) else {
        return Err("usage: mint_tokens OUT_DIR COUNT".into());
    };
    let dir = PathBuf::from(dir);
    let count: usize = count.parse()?;
    std::fs::create_dir_all(&dir)?;
    let key = SigningKey::generate(KID)?;
    let issuer = aws_issuer(REGION, USERPOOL_ID);
    let exp = now() + 12 * 3600;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads.max(1)).max(1);
    let chunks = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(per_thread)
            .map(|start| {
                let (key, issuer) = (&key, &issuer);
                scope.spawn(move || {
                    (start..(start + per_thread).min(count))
                        .map(|i| {
                            let mut claims = access_claims(issuer, CLIENT_ID);
                            claims["sub"] = json!(format!("{i:08x}-0000-4000-8000-{i:012x}"));
                            claims["jti"] = json!(format!("{i:08x}-1111-4111-8111-{i:012x}"));
                            claims["username"] = json!(format!("user-{i}"));
                            claims["cognito:groups"] = json!(["users"]);
                            claims["exp"] = json!(exp);
                            key.sign(&claims).map_err(|_| "signing failed")
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a minting thread failed")?)
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("tokens.txt"))?);
    for token in chunks.iter().flatten() {
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    std::fs::write(dir.join("jwks.json"), jwks(&[&key]).to_string())?;
    std::fs::write(
        dir.join("pool.env"),
        format!("REGION={REGION}\nUSERPOOL_ID={USERPOOL_ID}\nCLIENT_ID={CLIENT_ID}\nISSUER={issuer}\nKID={KID}\n"),
    )?;
    println!("{count} tokens for {issuer} in {}", dir.display());
    Ok(())
}
