//! OpenAPI (feature `openapi`, utoipa 6): the security scheme that makes Swagger UI show its
//! Authorize button for the configured header, the Rust form of fastapi-cognito's HTTPBearer
//! wrapper.
//!
//! ```
//! use cognito_core::openapi::{CognitoSecurity, SCHEME};
//! use utoipa::Modify;
//!
//! let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
//! CognitoSecurity::default().modify(&mut doc);
//! let json = serde_json::to_value(&doc).unwrap_or_default();
//! assert_eq!(json["components"]["securitySchemes"][SCHEME]["scheme"], "bearer");
//! ```
//! Routes name the scheme in their operation's security: with utoipa's derive,
//! `#[utoipa::path(get, path = "/", security(("cognito" = [])))]`.

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::CognitoAuth;

/// The name the scheme is registered under.
pub const SCHEME: &str = "cognito";

/// Adds the [`SCHEME`] security scheme to an OpenAPI document: HTTP bearer (JWT) for the
/// default `Authorization: Bearer`, else an API key in the configured header (Swagger UI then
/// sends the value as typed, so include the prefix if one is configured).
#[derive(Clone)]
pub struct CognitoSecurity(SecurityScheme);

impl std::fmt::Debug for CognitoSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CognitoSecurity").finish_non_exhaustive()
    }
}

impl Default for CognitoSecurity {
    /// HTTP bearer: `Authorization: Bearer <token>`.
    fn default() -> Self {
        CognitoSecurity(SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("An AWS Cognito access or ID token"))
                .build(),
        ))
    }
}

impl CognitoSecurity {
    /// The scheme that matches `auth`'s header name and prefix.
    pub fn new(auth: &CognitoAuth) -> Self {
        let standard = auth.header_name().eq_ignore_ascii_case("authorization")
            && auth.header_prefix().eq_ignore_ascii_case("bearer");
        if standard {
            return Self::default();
        }
        let description = match auth.header_prefix() {
            "" => "An AWS Cognito access or ID token, as is".to_owned(),
            prefix => format!("'{prefix} ' followed by an AWS Cognito access or ID token"),
        };
        CognitoSecurity(SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            auth.header_name(),
            &description,
        ))))
    }
}

impl Modify for CognitoSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(SCHEME, self.0.clone());
    }
}
