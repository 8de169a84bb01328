//! What an invocation reads and answers: the event shapes as the verifier reads them (a
//! request's headers, cookies and query), the IAM policy document and the simple response,
//! and why an invocation fails instead of answering.

use std::fmt;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerIamPolicyResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use cognito_core::source::RequestView;
use cognito_core::{AuthError, CognitoToken};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

/// Why an invocation fails instead of answering with a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizerError {
    /// The token is missing or invalid (a 401 kind). Its message is exactly `Unauthorized`,
    /// which API Gateway turns into a 401.
    Unauthorized(AuthError),
    /// The pool's keys cannot be fetched now: API Gateway answers 500, and the client may retry.
    Unavailable(AuthError),
    /// The event is not one of the three authorizer shapes, or lacks its ARN: a deployment
    /// mistake (the authorizer is wired to something else).
    InvalidEvent(String),
}

impl fmt::Display for AuthorizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The exact text API Gateway recognises.
            AuthorizerError::Unauthorized(_) => f.write_str("Unauthorized"),
            AuthorizerError::Unavailable(_) => {
                f.write_str("The user pool's signing keys cannot be fetched right now; try again later.")
            }
            AuthorizerError::InvalidEvent(why) => write!(f, "Not an API Gateway authorizer event: {why}"),
        }
    }
}

impl std::error::Error for AuthorizerError {}

impl From<AuthorizerError> for Diagnostic {
    fn from(error: AuthorizerError) -> Self {
        let error_type = match &error {
            AuthorizerError::Unauthorized(_) => "Unauthorized",
            AuthorizerError::Unavailable(_) => "JwksUnavailable",
            AuthorizerError::InvalidEvent(_) => "InvalidEvent",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// A valid token's decision, with what the answer carries.
pub(crate) struct Decision {
    /// The decision for the request's own route.
    pub(crate) allow: bool,
    pub(crate) principal: String,
    pub(crate) context: Value,
    /// The IAM policy for the whole table (only built for policy answers).
    pub(crate) policy: ApiGatewayCustomAuthorizerPolicy,
}

/// An answer to an HTTP API (payload 2.0) authorizer event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HttpApiAnswer {
    /// The simple response.
    Simple(ApiGatewayV2CustomAuthorizerSimpleResponse),
    /// An IAM policy.
    IamPolicy(ApiGatewayV2CustomAuthorizerIamPolicyResponse),
}

/// A REST API `REQUEST` event as the verifier reads it: `multiValueHeaders` holds every
/// occurrence of a header, `headers` only the last. Its query arrives parsed, so a `query`
/// token source finds nothing here.
pub(crate) struct RestRequest<'e> {
    pub(crate) headers: &'e http::HeaderMap,
    pub(crate) multi_value_headers: &'e http::HeaderMap,
}

impl RequestView for RestRequest<'_> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        let headers = if self.multi_value_headers.contains_key(name) {
            self.multi_value_headers
        } else {
            self.headers
        };
        headers.get_all(name).iter().map(http::HeaderValue::as_bytes)
    }

    fn query(&self) -> Option<&str> {
        None
    }
}

/// An HTTP API (payload 2.0) event as the verifier reads it: its cookies arrive apart from
/// the headers, one `name=value` each, and are read as `Cookie` headers.
pub(crate) struct HttpApiRequest<'e> {
    pub(crate) headers: &'e http::HeaderMap,
    pub(crate) cookies: &'e [String],
    pub(crate) query: Option<&'e str>,
}

impl RequestView for HttpApiRequest<'_> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        let cookies = if name == "cookie" { self.cookies } else { &[] };
        let headers = self.headers.get_all(name).iter().map(http::HeaderValue::as_bytes);
        headers.chain(cookies.iter().map(String::as_bytes))
    }

    fn query(&self) -> Option<&str> {
        self.query
    }
}

/// One line per refusal, for CloudWatch: the kind, never the token.
pub(crate) fn log(method: &str, path: &str, error: &AuthError) {
    let shown: String = path.chars().filter(|c| !c.is_control()).take(200).collect();
    eprintln!("refused {method} {shown:?}: {}", error.kind().as_str());
}

/// The context of an answer: flat string values.
pub(crate) fn context(token: &CognitoToken) -> Value {
    json!({
        "sub": token.sub.clone().unwrap_or_default(),
        "username": token.username().unwrap_or_default(),
        "token_use": token.token_use.as_str(),
        "client_id": token.client().unwrap_or_default(),
        "groups": token.groups.join(","),
    })
}

/// One `Allow` statement and one `Deny` statement (each left out when empty).
pub(crate) fn policy_document(allowed: Vec<String>, denied: Vec<String>) -> ApiGatewayCustomAuthorizerPolicy {
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".to_owned());
    for (effect, resources) in [(IamPolicyEffect::Allow, allowed), (IamPolicyEffect::Deny, denied)] {
        if resources.is_empty() {
            continue;
        }
        let mut statement = IamPolicyStatement::default();
        statement.action = vec!["execute-api:Invoke".to_owned()];
        statement.effect = effect;
        statement.resource = resources;
        document.statement.push(statement);
    }
    document
}

pub(crate) fn rest_policy(decision: Decision) -> ApiGatewayCustomAuthorizerResponse {
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(decision.principal);
    response.policy_document = decision.policy;
    response.context = decision.context;
    response
}
