//! The API Gateway Lambda authorizer demo: `cognito-lambda` with the demo's route
//! requirements (`GET /admin` and `* /admin/*` need the group `admin`, `GET /scoped` the scope
//! `demo/read`, anything else any user of the default pool), as a library so tests build the
//! same authorizer the binary serves.

#![forbid(unsafe_code)]

use cognito_core::CognitoAuth;
use cognito_lambda::{Authorizer, HttpApiResponse, Requirement, RouteError};

/// The demo's authorizer over `auth`, answering HTTP API events as `http_api` says.
pub fn authorizer(auth: CognitoAuth, http_api: HttpApiResponse) -> Result<Authorizer, RouteError> {
    Ok(Authorizer::new(auth)
        .route("GET /admin", Requirement::any_group(["admin"]))?
        .route("* /admin/*", Requirement::any_group(["admin"]))?
        .route("GET /scoped", Requirement::any_scope(["demo/read"]))?
        .http_api_response(http_api))
}

/// `HTTP_API_RESPONSE`: `simple` (the default) or `iam_policy`.
pub fn http_api_response(value: Option<&str>) -> Result<HttpApiResponse, String> {
    match value.map(str::trim) {
        None | Some("" | "simple") => Ok(HttpApiResponse::Simple),
        Some("iam_policy") => Ok(HttpApiResponse::IamPolicy),
        Some(other) => Err(format!("HTTP_API_RESPONSE must be simple or iam_policy, not {other:?}")),
    }
}
