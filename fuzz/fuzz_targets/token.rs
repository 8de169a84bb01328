//! The token parser (three base64url segments, strict JOSE header and claims), the header
//! policy and the key-free claim checks, through `Verifier::verify_cached` on arbitrary text.
//! Nothing the fuzzer can write verifies: the signature key is secret to this process.
#![no_main]

#[path = "common.rs"]
mod common;

use cognito_core::{CognitoToken, Require};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = common::world()
        .verifier
        .verify_cached::<CognitoToken>(text, Require::NONE);
    if let Err(e) = &result {
        // Every rejection renders (status, challenge, JSON body) without panicking.
        let _ = (e.status(), e.www_authenticate(), e.body(), e.headers());
    }
    assert!(result.is_err(), "a fuzzed token verified: {text:?}");
});
