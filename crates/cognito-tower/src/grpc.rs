//! A refusal in gRPC's terms: the status code, the status message and the headers of a
//! "trailers-only" response (HTTP 200, no body), from the core's [`Rejection`].

use cognito_core::Rejection;

/// `INVALID_ARGUMENT`: a request path that could be read as another route.
const INVALID_ARGUMENT: u16 = 3;
/// `PERMISSION_DENIED`: the 403 kinds.
const PERMISSION_DENIED: u16 = 7;
/// `INTERNAL`: a server that is not set up for the route.
const INTERNAL: u16 = 13;
/// `UNAVAILABLE`: the keys cannot be fetched (503).
const UNAVAILABLE: u16 = 14;
/// `UNAUTHENTICATED`: every 401 kind.
const UNAUTHENTICATED: u16 = 16;

/// The gRPC status code of a refusal, from its HTTP status: `UNAUTHENTICATED` (16) for every
/// 401 kind, `PERMISSION_DENIED` (7) for the 403 kinds, `UNAVAILABLE` (14) for
/// `jwks_unavailable`, `INTERNAL` (13) for a server that is not set up, `INVALID_ARGUMENT` (3)
/// for an ambiguous path.
///
/// ```
/// use cognito_core::{AuthError, ErrorKind, Rejection};
/// let refusal = |kind| Rejection::from(AuthError::new(kind));
/// assert_eq!(cognito_tower::grpc::code(&refusal(ErrorKind::Expired)), 16);
/// assert_eq!(cognito_tower::grpc::code(&refusal(ErrorKind::ForbiddenScope)), 7);
/// ```
pub fn code(rejection: &Rejection) -> u16 {
    match rejection.status() {
        400 => INVALID_ARGUMENT,
        403 => PERMISSION_DENIED,
        500 => INTERNAL,
        503 => UNAVAILABLE,
        _ => UNAUTHENTICATED,
    }
}

/// The gRPC status message: `<error code>: <message>`, e.g. `expired: The token has expired.`
pub fn message(rejection: &Rejection) -> String {
    format!("{}: {}", rejection.error_code(), rejection.message())
}

/// The headers of a gRPC "trailers-only" refusal (HTTP status 200, no body), as (name,
/// value) pairs with lowercase names: `content-type: application/grpc`, `grpc-status`,
/// `grpc-message` (percent-encoded as gRPC requires), and `retry-after` in seconds for
/// `jwks_unavailable`.
///
/// ```
/// use cognito_core::{AuthError, ErrorKind, Rejection};
/// let refusal = Rejection::from(AuthError::new(ErrorKind::Expired));
/// assert_eq!(cognito_tower::grpc::headers(&refusal), [
///     ("content-type", "application/grpc".to_owned()),
///     ("grpc-status", "16".to_owned()),
///     ("grpc-message", "expired: The token has expired.".to_owned()),
/// ]);
/// ```
pub fn headers(rejection: &Rejection) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/grpc".to_owned()),
        ("grpc-status", code(rejection).to_string()),
        ("grpc-message", percent_encode(&message(rejection))),
    ];
    if let Some(secs) = rejection.retry_after_secs() {
        headers.push(("retry-after", secs.to_string()));
    }
    headers
}

/// `grpc-message` is percent-encoded: every byte outside visible ASCII and space, and `%`
/// itself, becomes `%XX` (the gRPC over HTTP/2 protocol), so any sentence is a valid header.
fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        match byte {
            b' '..=b'~' if byte != b'%' => out.push(char::from(byte)),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use cognito_core::{AuthError, CognitoSettings, CognitoToken, ErrorKind, Require, Verifier};
    use cognito_testkit::{SigningKey, access_claims};

    use super::*;

    #[test]
    fn grpc_codes_follow_the_http_status() {
        for kind in ErrorKind::ALL {
            let expected = match kind.status() {
                401 => 16,
                403 => 7,
                _ => 14,
            };
            assert_eq!(code(&Rejection::from(AuthError::new(kind))), expected, "{kind}");
        }
        assert_eq!(code(&Rejection::from(AuthError::new(ErrorKind::ForbiddenPrincipal))), 7);
        assert_eq!(
            code(&Rejection::from(AuthError::new(
                ErrorKind::InsufficientUserAuthentication
            ))),
            16
        );
        assert_eq!(code(&Rejection::Misconfigured("x".into())), 13);
        assert_eq!(code(&Rejection::AmbiguousPath), 3);
    }

    /// Keys that cannot be fetched: `UNAVAILABLE`, with when to try again.
    #[tokio::test]
    async fn unavailable_keys_say_when_to_retry() -> Result<(), Box<dyn std::error::Error>> {
        // Nothing listens on port 1 of loopback: the fetch fails at once.
        let issuer = "http://127.0.0.1:1/pool";
        let settings = CognitoSettings::from_yaml_str(&format!(
            "userpools: {{eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: c, issuer: '{issuer}'}}}}"
        ))?;
        let key = SigningKey::generate("k1").map_err(|_| "key generation failed")?;
        let token = key.sign(&access_claims(issuer, "c")).map_err(|_| "signing failed")?;
        let verdict = Verifier::new(&settings)?
            .verify::<CognitoToken>(&token, Require::NONE)
            .await;
        let down = Rejection::from(verdict.err().ok_or("a token without reachable keys was accepted")?);
        assert_eq!(code(&down), 14);
        let retry = headers(&down).last().cloned().ok_or("no headers")?;
        assert_eq!(retry.0, "retry-after");
        assert!(retry.1.parse::<u64>().is_ok_and(|secs| secs >= 1), "{retry:?}");
        Ok(())
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode("a 100% b\n\u{e9}"), "a 100%25 b%0A%C3%A9");
        let refusal = Rejection::Auth(AuthError::rejected("Nope: 50% off."));
        assert_eq!(message(&refusal), "rejected: Nope: 50% off.");
        assert_eq!(
            headers(&refusal).get(2),
            Some(&("grpc-message", "rejected: Nope: 50%25 off.".to_owned()))
        );
        assert_eq!(
            message(&Rejection::Misconfigured("no state".into())),
            "server_misconfigured: This route's authentication is not configured on the server."
        );
    }
}
