//! The HTTP benchmark's floor for rocket: the rocket demo's server shape (the same
//! `rocket::Config`, rocket's own runtime, hyper, loopback) answering `GET /` with one RSA
//! verification of the request's bearer token and nothing else: no fairing, no claims parsed,
//! no cache, no library. Its requests per server CPU-second are what a distinct token can cost
//! at best on rocket, measured instead of computed (`benches/http/run.sh` runs it beside the
//! demos; see BENCHMARKS.md). The axum demo's floor is `examples/axum-demo/examples/rsa_floor.rs`.
//!
//! `FLOOR_JWKS` names a JWKS file whose first key (RSA, RS256) verifies the tokens; `BIND` as
//! for the demo. Answers 200 with a body of the demo's size when the signature verifies, 401
//! otherwise; `/health` as the demo's.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{State, get, routes};

/// The size of the demo's answer to a benchmark token at `/` (136 bytes).
const BODY: &str = r#"{"client_id":"loadtest-client","groups":["users"],"sub":"00000000-0000-4000-8000-000000000000","token_use":"access","username":"user-0"}"#;

/// The key every token is checked against.
struct Key(ParsedPublicKey);

/// A request whose bearer token's signature verified: one signature check, the least any
/// verifier must do per distinct token.
struct Signed;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Signed {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(key) = request.rocket().state::<Key>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let verified = request
            .headers()
            .get_one("Authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| token.rsplit_once('.'))
            .and_then(|(input, sig)| Some((input, URL_SAFE_NO_PAD.decode(sig).ok()?)))
            .is_some_and(|(input, sig)| key.0.verify_sig(input.as_bytes(), &sig).is_ok());
        if verified {
            Outcome::Success(Signed)
        } else {
            Outcome::Error((Status::Unauthorized, ()))
        }
    }
}

#[get("/")]
fn verify_only(_signed: Signed) -> (ContentType, &'static str) {
    (ContentType::JSON, BODY)
}

#[get("/health")]
fn health(_key: &State<Key>) -> (ContentType, &'static str) {
    (ContentType::JSON, r#"{"status":"ok"}"#)
}

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
    let bind: std::net::SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    // The demo's configuration (examples/rocket-demo/src/lib.rs, `serve`).
    let config = rocket::Config {
        address: bind.ip(),
        port: bind.port(),
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        ..rocket::Config::default()
    };
    println!("rocket rsa floor listening on http://{bind}");
    rocket::execute(
        rocket::custom(config)
            .manage(Key(key))
            .mount("/", routes![verify_only, health])
            .launch(),
    )?;
    Ok(())
}
