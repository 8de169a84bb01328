//! Header parsing (the scheme, spaces, repeats, UTF-8, size) through
//! `Verifier::authenticate` and `authenticate_optional` with arbitrary header bytes; NUL
//! splits the input into several occurrences of the header. Junk never reaches I/O (the keys
//! are inline anyway), so a current-thread runtime drives the futures.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::LazyLock;

use cognito_core::{CognitoToken, Require};
use libfuzzer_sys::fuzz_target;

static RUNTIME: LazyLock<Option<tokio::runtime::Runtime>> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().build().ok());

fuzz_target!(|data: &[u8]| {
    let Some(runtime) = RUNTIME.as_ref() else {
        std::process::abort();
    };
    let verifier = &common::world().verifier;
    let values: Vec<(&str, &[u8])> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|b| *b == 0).map(|value| ("authorization", value)).collect()
    };
    let required = runtime.block_on(verifier.authenticate::<CognitoToken>(values.as_slice(), Require::NONE));
    let optional = runtime.block_on(verifier.authenticate_optional::<CognitoToken>(values.as_slice(), Require::NONE));
    if let Err(e) = &required {
        let _ = (e.status(), e.www_authenticate(), e.body());
    }
    assert!(required.is_err(), "a fuzzed header authenticated: {data:?}");
    // Optional authentication is anonymous only when required authentication said
    // missing_token, and never lets an invalid header through.
    match (&required, &optional) {
        (Err(e), Ok(None)) => assert_eq!(e.kind(), cognito_core::ErrorKind::MissingToken),
        (Err(e), Err(o)) => assert_eq!(e.kind(), o.kind()),
        _ => panic!("optional and required authentication disagree on {data:?}"),
    }
});
