//! What every target shares: one pool whose keys are given inline (so nothing is ever
//! fetched), a real RSA key under the kid `fuzz-key`, and the issuer the seeds use.
//! (Each target uses a part of it.)
#![allow(dead_code)]

use std::sync::LazyLock;

use cognito_core::{CognitoSettings, Verifier};
use cognito_testkit::{SigningKey, jwks};

pub const ISSUER: &str = "http://127.0.0.1:9/eu-west-1_Fuzz";
pub const CLIENT: &str = "client-a";
pub const KID: &str = "fuzz-key";

pub struct World {
    pub verifier: Verifier,
}

fn build() -> Option<World> {
    let key = SigningKey::generate(KID).ok()?;
    let settings = CognitoSettings::from_json_str(
        &serde_json::json!({"leeway_seconds": 0, "userpools": {"p": {"region": "eu-west-1",
            "userpool_id": "eu-west-1_Fuzz", "app_client_id": CLIENT, "issuer": ISSUER,
            "jwks_inline": jwks(&[&key])}}})
        .to_string(),
    )
    .ok()?;
    let verifier = Verifier::new(&settings).ok()?;
    Some(World { verifier })
}

pub static WORLD: LazyLock<Option<World>> = LazyLock::new(build);

/// The world; a broken fixture is a crash worth seeing at once.
pub fn world() -> &'static World {
    match WORLD.as_ref() {
        Some(w) => w,
        None => std::process::abort(),
    }
}
