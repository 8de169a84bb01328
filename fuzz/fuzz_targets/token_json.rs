//! The JOSE header and claims parsers with the base64 layer taken off: the input is
//! `<header JSON> 0xFF <claims JSON>`; the target encodes both, adds a 256-byte signature
//! and verifies. The fuzzer then works on JSON (duplicate members, types, numbers, escapes,
//! `crit`, `alg`, `kid`, `exp`...) instead of having to learn base64 first.
#![no_main]

#[path = "common.rs"]
mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_core::{CognitoToken, Require};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0xFF);
    let (Some(header), Some(claims)) = (parts.next(), parts.next()) else {
        return;
    };
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode([0x5a; 256])
    );
    let result = common::world()
        .verifier
        .verify_cached::<CognitoToken>(&token, Require::NONE);
    if let Err(e) = &result {
        let _ = (e.status(), e.www_authenticate(), e.body());
    }
    assert!(result.is_err(), "a forged token verified: {token}");
});
