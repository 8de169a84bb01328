//! The JWKS parser and the per-key checks (kty, use, alg, n / e, modulus size, unique kid),
//! which run when settings with an inline JWKS are validated: the input is the `jwks_inline`
//! document. When the
//! settings load, a token signed by a real key under the kid `k` is verified against the
//! fuzzed key set: it must never verify (the fuzzer does not have that key), and whatever
//! the set holds, the answer is an ordinary rejection.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::LazyLock;

use cognito_core::{CognitoSettings, CognitoToken, Require, Verifier};
use libfuzzer_sys::fuzz_target;

static TOKEN: LazyLock<Option<String>> = LazyLock::new(|| {
    let key = cognito_testkit::SigningKey::generate("k").ok()?;
    key.sign(&cognito_testkit::access_claims(common::ISSUER, common::CLIENT))
        .ok()
});

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = std::str::from_utf8(data) else {
        return;
    };
    let Some(token) = TOKEN.as_ref() else {
        std::process::abort();
    };
    let text = format!(
        r#"{{"userpools": {{"p": {{"region": "eu-west-1", "userpool_id": "eu-west-1_Fuzz",
            "app_client_id": "{}", "issuer": "{}", "jwks_inline": {doc}}}}}}}"#,
        common::CLIENT,
        common::ISSUER
    );
    let Ok(settings) = CognitoSettings::from_json_str(&text) else {
        return;
    };
    let Ok(verifier) = Verifier::new(&settings) else {
        panic!("validated settings did not build a verifier");
    };
    let result = verifier.verify_cached::<CognitoToken>(token, Require::NONE);
    assert!(result.is_err(), "a token verified against a fuzzed JWKS: {doc}");
});
