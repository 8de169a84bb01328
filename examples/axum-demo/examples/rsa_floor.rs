//! The HTTP benchmark's physical floor: the axum demo's server shape (the same runtime, axum,
//! hyper, loopback) answering `GET /` with one RSA verification of the request's bearer token
//! and nothing else: no claims parsed, no cache, no library. Its requests per server CPU-second
//! are what a distinct token can cost at best on this stack, measured instead of computed
//! (`benches/http/run.sh` runs it beside the demos; see BENCHMARKS.md).
//!
//! `FLOOR_JWKS` names a JWKS file whose first key (RSA, RS256) verifies the tokens; `BIND` as
//! for the demo. Answers 200 with a body of the demo's size when the signature verifies, 401
//! otherwise; `/health` as the demo's.

use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The size of the demo's answer to a benchmark token at `/` (136 bytes).
const BODY: &str = r#"{"client_id":"loadtest-client","groups":["users"],"sub":"00000000-0000-4000-8000-000000000000","token_use":"access","username":"user-0"}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jwks: serde_json::Value = serde_json::from_slice(&std::fs::read(std::env::var("FLOOR_JWKS")?)?)?;
    let component = |name: &str| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let text = jwks["keys"][0][name].as_str().ok_or("the JWKS has no RSA key first")?;
        Ok(URL_SAFE_NO_PAD.decode(text)?)
    };
    let (n, e) = (component("n")?, component("e")?);
    let key = RsaPublicKeyComponents { n: &n[..], e: &e[..] }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| "the JWKS key is not a usable RSA key")?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let app = axum::Router::new()
        .route("/", get(verify_only))
        .route(
            "/health",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#) }),
        )
        .with_state(Arc::new(key));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(&bind).await?;
            println!("rsa floor listening on http://{bind}");
            axum::serve(listener, app).await
        })?;
    Ok(())
}

/// One signature check of the bearer token, the least any verifier must do per distinct token.
async fn verify_only(State(key): State<Arc<ParsedPublicKey>>, headers: HeaderMap) -> Response {
    let verified = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| token.rsplit_once('.'))
        .and_then(|(input, sig)| Some((input, URL_SAFE_NO_PAD.decode(sig).ok()?)))
        .is_some_and(|(input, sig)| key.verify_sig(input.as_bytes(), &sig).is_ok());
    if verified {
        ([(header::CONTENT_TYPE, "application/json")], BODY).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}
