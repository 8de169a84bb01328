//! The API Gateway Lambda authorizer demo: `cognito-lambda` with the demo's route
//! requirements (`* /admin/*`, which also covers `/admin`, any method, needs the group
//! `admin`; `GET /scoped` the scope `demo/read`; anything else any user of the default pool),
//! as a library so tests build the same authorizer the binary serves.
//!
//! ```
//! use cognito_core::{CognitoAuth, CognitoSettings};
//! use cognito_lambda_authorizer_demo::{authorizer, http_api_response};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CognitoSettings::from_yaml_str(
//!     "userpools:\n  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}",
//! )?;
//! let auth = CognitoAuth::new(&settings)?;
//! assert!(authorizer(auth.clone(), http_api_response(None)?).is_ok());
//! // The demo's routes differ in what they require: a plain simple response is refused.
//! assert!(authorizer(auth, http_api_response(Some("simple"))?).is_err());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

use cognito_core::CognitoAuth;
use cognito_lambda::{Authorizer, HttpApiResponse, Requirement, RouteError};

/// The demo's authorizer over `auth`, answering HTTP API events as `http_api` says (refused
/// for [`HttpApiResponse::Simple`]: the demo's routes require different things).
pub fn authorizer(auth: CognitoAuth, http_api: HttpApiResponse) -> Result<Authorizer, RouteError> {
    Authorizer::new(auth)
        .route("* /admin/*", Requirement::new().any_group(["admin"]))?
        .route("GET /scoped", Requirement::new().any_scope(["demo/read"]))?
        .http_api_response(http_api)
}

/// `HTTP_API_RESPONSE`: `iam_policy` (the default), `simple_cache_key_includes_route` (the
/// simple response, for an HTTP API authorizer whose identity source includes
/// `$context.routeKey` or whose cache is off), or `simple` (refused by [`authorizer`]).
pub fn http_api_response(value: Option<&str>) -> Result<HttpApiResponse, String> {
    match value.map(str::trim) {
        None | Some("" | "iam_policy") => Ok(HttpApiResponse::IamPolicy),
        Some("simple_cache_key_includes_route") => Ok(HttpApiResponse::SimpleCacheKeyIncludesRoute),
        Some("simple") => Ok(HttpApiResponse::Simple),
        Some(other) => Err(format!(
            "HTTP_API_RESPONSE must be iam_policy, simple_cache_key_includes_route or simple, not {other:?}"
        )),
    }
}
