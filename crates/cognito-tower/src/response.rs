//! The refusal responses, copied from the core's rules: the HTTP error response, or a gRPC
//! "trailers-only" response (HTTP 200, the status in the headers, no body).

use bytes::Bytes;
use cognito_core::Rejection;
use cognito_core::resource::ProtectedResource;
use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderMap, HeaderValue, Response, StatusCode, Version};
use http_body_util::Full;

/// The body of a refusal: the JSON error body over HTTP, empty over gRPC.
pub type RefusalBody = Full<Bytes>;

/// Whether the request speaks gRPC, so that its refusal is a gRPC status: it came over HTTP/2
/// or later (gRPC needs HTTP/2; an HTTP/1.x client cannot read a trailers-only answer and would
/// see a bare `200 OK`), and its content type is `application/grpc` or
/// `application/grpc+<subtype>` (`application/grpc+proto`), in any case, parameters after `;`
/// allowed.
///
/// gRPC-Web (`application/grpc-web`, `application/grpc-web+proto`,
/// `application/grpc-web-text`) is not gRPC here: its clients read the HTTP status (a proxy
/// translating gRPC-Web sends `application/grpc` to the service, and is answered in gRPC), so
/// it gets the HTTP refusal, as does every other content type.
///
/// ```
/// use cognito_tower::is_grpc;
/// use http::{HeaderMap, HeaderValue, Version};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("content-type", HeaderValue::from_static("application/grpc+proto"));
/// assert!(is_grpc(Version::HTTP_2, &headers));
/// assert!(!is_grpc(Version::HTTP_11, &headers));
/// headers.insert("content-type", HeaderValue::from_static("application/grpc-web"));
/// assert!(!is_grpc(Version::HTTP_2, &headers));
/// ```
pub fn is_grpc(version: Version, headers: &HeaderMap) -> bool {
    let http2_or_later = !matches!(version, Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11);
    http2_or_later
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_grpc_content_type)
}

/// `application/grpc` or `application/grpc+<subtype>`, in any case, before any `;` parameters.
fn is_grpc_content_type(content_type: &str) -> bool {
    let media_type = content_type
        .split_once(';')
        .map_or(content_type, |(media_type, _)| media_type)
        .trim_matches([' ', '\t']);
    let Some((prefix, rest)) = media_type.split_at_checked("application/grpc".len()) else {
        return false;
    };
    if !prefix.eq_ignore_ascii_case("application/grpc") {
        return false;
    }
    match rest {
        "" => true,
        rest => rest.strip_prefix('+').is_some_and(|subtype| {
            !subtype.is_empty()
                && subtype
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        }),
    }
}

/// The response refusing a request of this HTTP version with these headers: gRPC if it
/// speaks gRPC (see [`is_grpc`]), else HTTP. The [`Rejection`] rides along as an extension,
/// for logging.
pub fn refusal(version: Version, request_headers: &HeaderMap, rejection: Rejection) -> Response<RefusalBody> {
    let (status, headers, body) = if is_grpc(version, request_headers) {
        (StatusCode::OK, crate::grpc::headers(&rejection), Bytes::new())
    } else {
        let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, rejection.headers(), Bytes::from(rejection.body()))
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response.extensions_mut().insert(rejection);
    response
}

/// The protected-resource metadata response: 200, `application/json`, the document of
/// [`ProtectedResource::document`], and `access-control-allow-origin: *` (the document is
/// public, and browser-based clients read it from another origin). What the layer answers on
/// the well-known paths; usable as the body of a route of your own.
pub fn metadata_response(resource: &ProtectedResource) -> Response<RefusalBody> {
    let mut response = Response::new(Full::new(Bytes::from(resource.document().to_owned())));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_content_type(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(CONTENT_TYPE, value);
        }
        headers
    }

    #[test]
    fn grpc_is_application_grpc_or_a_plus_subtype_over_http2() {
        for grpc in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "Application/GRPC+Proto",
            "application/grpc; charset=utf-8",
            "application/grpc+proto;x=1",
        ] {
            let headers = with_content_type(grpc.as_bytes());
            assert!(is_grpc(Version::HTTP_2, &headers), "{grpc}");
            assert!(is_grpc(Version::HTTP_3, &headers), "{grpc}");
        }
        for not_grpc in [
            "application/grpcfoo",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpc-web-text+proto",
            "application/grpc+",
            "application/grpc+pro to",
            "application/grp",
            "application/json",
            "text/plain; x=application/grpc",
            "",
        ] {
            assert!(
                !is_grpc(Version::HTTP_2, &with_content_type(not_grpc.as_bytes())),
                "{not_grpc}"
            );
        }
        assert!(!is_grpc(Version::HTTP_2, &with_content_type(b"application/grpc\xff")));
        assert!(!is_grpc(Version::HTTP_2, &HeaderMap::new()));
    }

    #[test]
    fn an_http1_request_is_never_answered_in_grpc() {
        let headers = with_content_type(b"application/grpc");
        for version in [Version::HTTP_09, Version::HTTP_10, Version::HTTP_11] {
            assert!(!is_grpc(version, &headers), "{version:?}");
            let response = refusal(
                version,
                &headers,
                Rejection::Auth(cognito_core::ErrorKind::MissingToken.into()),
            );
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert!(response.headers().get("grpc-status").is_none());
        }
        let response = refusal(
            Version::HTTP_2,
            &headers,
            Rejection::Auth(cognito_core::ErrorKind::MissingToken.into()),
        );
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["grpc-status"], "16");
    }
}
