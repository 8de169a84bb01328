//! The refusal responses, copied from the core's rules: the HTTP error response, or a gRPC
//! "trailers-only" response (HTTP 200, the status in the headers, no body).

use bytes::Bytes;
use cognito_core::Rejection;
use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// The body of a refusal: the JSON error body over HTTP, empty over gRPC.
pub type RefusalBody = Full<Bytes>;

/// Whether the request speaks gRPC: its content type is `application/grpc` or a subtype
/// (`application/grpc+proto`, `application/grpc-web`), which every gRPC client sends.
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// The response refusing a request with these headers: gRPC if it speaks gRPC, else HTTP.
/// The [`Rejection`] rides along as an extension, for logging.
pub fn refusal(request_headers: &HeaderMap, rejection: Rejection) -> Response<RefusalBody> {
    let (status, headers, body) = if is_grpc(request_headers) {
        (StatusCode::OK, rejection.grpc_headers(), Bytes::new())
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
