//! # cognito-lambda
//!
//! An API Gateway Lambda authorizer that accepts AWS Cognito user-pool tokens, over the same
//! verification as the web adapters (`cognito-core`): REST API `TOKEN` and `REQUEST`
//! authorizers (answered with an IAM policy) and HTTP API authorizers with payload format 2.0
//! (answered with the simple response or, when configured, an IAM policy).
//!
//! Which route needs which groups or scopes is configured per method-and-resource pattern,
//! `GET /admin` or `* /admin/*`, where `*` stands for any characters (`/` included, as in
//! API Gateway's resource ARNs) and the first matching pattern wins; a request no pattern
//! matches needs any valid token of the default pool. The method and resource are read from
//! the event's `methodArn` (REST) or `routeArn` (HTTP API).
//!
//! The decisions:
//!
//! | the token | the answer | API Gateway says |
//! | --- | --- | --- |
//! | valid, and the route's groups / scopes are there | `Allow` for the `methodArn` (`isAuthorized: true`) | the request goes through |
//! | valid, but a required group / scope is missing | `Deny` (`isAuthorized: false`) | 403 |
//! | missing or invalid (any 401 kind) | the invocation fails with the message `Unauthorized` | 401 |
//! | the pool's keys cannot be fetched (`jwks_unavailable`) | the invocation fails with another message | 500: retry |
//!
//! An `Allow` carries `principalId` = the token's `sub` and the context `{sub, username,
//! token_use, client_id, groups}`, every value a string (context values are flat: `groups`
//! is comma-joined; a claim the token lacks is `""`). A `Deny` carries the same context.
//!
//! ```no_run
//! use cognito_core::{CognitoAuth, CognitoSettings};
//! use cognito_lambda::{Authorizer, Requirement};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let settings = CognitoSettings::from_yaml("cognito.yaml")?;
//!     let authorizer = Authorizer::new(CognitoAuth::new(&settings)?)
//!         .route("GET /admin", Requirement::any_group(["admin"]))?
//!         .route("* /admin/*", Requirement::any_group(["admin"]))?
//!         .route("GET /scoped", Requirement::any_scope(["demo/read"]))?;
//!     // Loads the keys (so the first invocation pays no fetch), then serves the Lambda
//!     // Runtime API (`AWS_LAMBDA_RUNTIME_API`) until the sandbox ends.
//!     cognito_lambda::run(authorizer).await
//! }
//! ```
//!
//! A handler of your own calls [`Authorizer::handle`] with the event JSON (any of the three
//! shapes), or the typed [`Authorizer::authorize_token`], [`Authorizer::authorize_request`] and
//! [`Authorizer::authorize_http_api`]:
//!
//! ```
//! use cognito_core::{CognitoAuth, CognitoSettings};
//! use cognito_lambda::{Authorizer, AuthorizerError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CognitoSettings::from_yaml_str(
//!     "userpools:\n  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}",
//! )?;
//! let authorizer = Authorizer::new(CognitoAuth::new(&settings)?);
//! let event = serde_json::json!({
//!     "type": "TOKEN",
//!     "authorizationToken": "Bearer not-a-jwt",
//!     "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/GET/",
//! });
//! let err = authorizer.handle(event).await.unwrap_err();
//! assert!(matches!(err, AuthorizerError::Unauthorized(_)));
//! assert_eq!(err.to_string(), "Unauthorized");
//! # Ok(()) }
//! ```
//!
//! `lambda_http` functions (a Lambda behind API Gateway or a function URL that verifies the
//! token itself) use `cognito-core`'s `CognitoAuth` / `Verifier` from their handler, with the
//! request's header values, exactly as the web adapters do.
//!
//! ## Feature flags
//!
//! None: the crate always builds the three authorizer kinds. Its dependencies are taken with
//! the fewest features (`aws_lambda_events` with `apigw` only, `lambda_runtime` without
//! `tracing`).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod routes;

use std::fmt;
use std::sync::Arc;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use cognito_core::source::RequestView;
use cognito_core::status::PoolStatus;
use cognito_core::{AuthError, CognitoAuth, CognitoToken, ErrorKind, Require, Verifier};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

use routes::Pattern;
pub use routes::{Requirement, RouteError};

/// How an HTTP API (payload 2.0) authorizer answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpApiResponse {
    /// `{"isAuthorized": bool, "context": {...}}` (the default; "enable simple responses").
    #[default]
    Simple,
    /// An IAM policy for the `routeArn`, as REST authorizers answer.
    IamPolicy,
}

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

/// What the authorizer decided for a valid token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// A valid token's decision, with what the answer carries.
struct Decision {
    effect: Effect,
    principal: String,
    context: Value,
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

/// The authorizer: every pool's verifier and the route requirements. Cheap to clone.
#[derive(Clone)]
pub struct Authorizer {
    auth: CognitoAuth,
    routes: Arc<[(Pattern, Requirement)]>,
    http_api: HttpApiResponse,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("routes", &self.routes.len())
            .field("http_api", &self.http_api)
            .finish_non_exhaustive()
    }
}

/// A REST API `REQUEST` event as the verifier reads it: `multiValueHeaders` holds every
/// occurrence of a header, `headers` only the last. Its query arrives parsed, so a `query`
/// token source finds nothing here.
struct RestRequest<'e> {
    headers: &'e http::HeaderMap,
    multi_value_headers: &'e http::HeaderMap,
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
struct HttpApiRequest<'e> {
    headers: &'e http::HeaderMap,
    cookies: &'e [String],
    query: Option<&'e str>,
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

impl Authorizer {
    /// An authorizer over `auth` with no route requirements yet: every route needs any
    /// valid token of the default pool.
    pub fn new(auth: CognitoAuth) -> Self {
        Self {
            auth,
            routes: Arc::new([]),
            http_api: HttpApiResponse::default(),
        }
    }

    /// Adds a route requirement after those added before (the first matching pattern wins).
    /// The pattern is `METHOD /resource` (`*` for any method; `*` in the resource for any
    /// characters); a requirement naming a pool the settings lack is refused here.
    pub fn route(mut self, pattern: &str, require: Requirement) -> Result<Self, RouteError> {
        let parsed = Pattern::parse(pattern)?;
        if let Some(pool) = &require.pool
            && self.auth.pool(pool).is_none()
        {
            return Err(RouteError::new(pattern, "its pool is not in the settings"));
        }
        let mut routes = self.routes.to_vec();
        routes.push((parsed, require));
        self.routes = routes.into();
        Ok(self)
    }

    /// How HTTP API (payload 2.0) events are answered (default: the simple response).
    #[must_use]
    pub fn http_api_response(mut self, response: HttpApiResponse) -> Self {
        self.http_api = response;
        self
    }

    /// Loads every pool's keys now; reported per pool (failures are not fatal: verification
    /// retries with backoff).
    pub async fn prefetch(&self) -> Vec<PoolStatus> {
        self.auth.prefetch().await
    }

    /// Answers any of the three event shapes: HTTP API payload 2.0 (`"version": "2.0"`), REST
    /// `TOKEN`, REST `REQUEST` (and HTTP API payload 1.0, which has its shape). The answer is
    /// the JSON API Gateway expects; an error fails the invocation (see [`AuthorizerError`]).
    pub async fn handle(&self, event: Value) -> Result<Value, AuthorizerError> {
        let shape = |e: serde_json::Error| AuthorizerError::InvalidEvent(e.to_string());
        let answer = if event.get("version").and_then(Value::as_str) == Some("2.0") {
            match self
                .authorize_http_api(serde_json::from_value(event).map_err(shape)?)
                .await?
            {
                HttpApiAnswer::Simple(simple) => serde_json::to_value(simple),
                HttpApiAnswer::IamPolicy(policy) => serde_json::to_value(policy),
            }
        } else {
            match event.get("type").and_then(Value::as_str) {
                Some("TOKEN") => serde_json::to_value(
                    self.authorize_token(serde_json::from_value(event).map_err(shape)?)
                        .await?,
                ),
                Some("REQUEST") => serde_json::to_value(
                    self.authorize_request(serde_json::from_value(event).map_err(shape)?)
                        .await?,
                ),
                _ => {
                    return Err(AuthorizerError::InvalidEvent(
                        "no \"type\" of TOKEN or REQUEST, and no \"version\" of 2.0".to_owned(),
                    ));
                }
            }
        };
        answer.map_err(|e| AuthorizerError::InvalidEvent(e.to_string()))
    }

    /// A REST API `TOKEN` authorizer: the token from `authorizationToken` (the configured
    /// header's value, scheme included), the route from `methodArn`.
    pub async fn authorize_token(
        &self,
        event: ApiGatewayCustomAuthorizerRequest,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerError> {
        let arn = event.method_arn.unwrap_or_default();
        let token = event.authorization_token.unwrap_or_default();
        // The token value stands for the configured header (cookie sources have nothing here).
        let decision = self
            .decide(&arn, &[(self.auth.header_name(), token.as_bytes())])
            .await?;
        Ok(rest_policy(decision, arn))
    }

    /// A REST API `REQUEST` authorizer: the token from the configured header (all its values),
    /// the route from `methodArn`.
    pub async fn authorize_request(
        &self,
        event: ApiGatewayCustomAuthorizerRequestTypeRequest,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerError> {
        let arn = event.method_arn.unwrap_or_default();
        let request = RestRequest {
            headers: &event.headers,
            multi_value_headers: &event.multi_value_headers,
        };
        let decision = self.decide(&arn, &request).await?;
        Ok(rest_policy(decision, arn))
    }

    /// An HTTP API authorizer, payload format 2.0: the token from the configured header, the
    /// route from `routeArn`; answered as [`Authorizer::http_api_response`] says.
    pub async fn authorize_http_api(
        &self,
        event: ApiGatewayV2CustomAuthorizerV2Request,
    ) -> Result<HttpApiAnswer, AuthorizerError> {
        let arn = event.route_arn.unwrap_or_default();
        let request = HttpApiRequest {
            headers: &event.headers,
            cookies: &event.cookies,
            query: event.raw_query_string.as_deref(),
        };
        let decision = self.decide(&arn, &request).await?;
        Ok(match self.http_api {
            HttpApiResponse::Simple => {
                let mut simple = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
                simple.is_authorized = decision.effect == Effect::Allow;
                simple.context = decision.context;
                HttpApiAnswer::Simple(simple)
            }
            HttpApiResponse::IamPolicy => {
                let mut policy = ApiGatewayV2CustomAuthorizerIamPolicyResponse::default();
                policy.principal_id = Some(decision.principal);
                policy.policy_document = policy_document(decision.effect, arn);
                policy.context = decision.context;
                HttpApiAnswer::IamPolicy(policy)
            }
        })
    }

    /// The route's requirement (first matching pattern), the verification, the decision.
    async fn decide(&self, arn: &str, request: &(impl RequestView + ?Sized)) -> Result<Decision, AuthorizerError> {
        let (method, resource) = routes::from_arn(arn).ok_or_else(|| {
            AuthorizerError::InvalidEvent("the method or route ARN is missing or malformed".to_owned())
        })?;
        let rule = self
            .routes
            .iter()
            .find(|(pattern, _)| pattern.matches(method, &resource))
            .map(|(_, require)| require);
        let verifier: &Verifier = match rule.and_then(|r| r.pool.as_deref()) {
            // `route` checked the pool; a missing one would be a bug, answered as unavailable.
            Some(pool) => self
                .auth
                .pool(pool)
                .ok_or_else(|| AuthorizerError::Unavailable(AuthError::new(ErrorKind::JwksUnavailable)))?,
            None => self.auth.default_pool(),
        };
        let groups: Vec<&str> = rule
            .map(|r| r.groups.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let scopes: Vec<&str> = rule
            .map(|r| r.scopes.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let require = Require::NONE.any_group(&groups).any_scope(&scopes);
        // The valid token's claims, verified without the route's requirements first, so a
        // Deny can still carry who was denied.
        let token: CognitoToken = match verifier.authenticate(request, Require::NONE).await {
            Ok(token) => token,
            Err(e) => {
                log(method, &resource, &e);
                return Err(match e.kind() {
                    ErrorKind::JwksUnavailable => AuthorizerError::Unavailable(e),
                    _ => AuthorizerError::Unauthorized(e),
                });
            }
        };
        let effect = match require.check_token(&token) {
            Ok(()) => Effect::Allow,
            Err(e) => {
                log(method, &resource, &e);
                Effect::Deny
            }
        };
        Ok(Decision {
            effect,
            principal: token
                .sub
                .clone()
                .or_else(|| token.username().map(str::to_owned))
                .unwrap_or_default(),
            context: context(&token),
        })
    }
}

/// One line per refusal, for CloudWatch: the kind, never the token.
fn log(method: &str, resource: &str, error: &AuthError) {
    let shown: String = resource.chars().filter(|c| !c.is_control()).take(200).collect();
    eprintln!("refused {method} {shown:?}: {}", error.kind().as_str());
}

/// The context of an answer: flat string values.
fn context(token: &CognitoToken) -> Value {
    json!({
        "sub": token.sub.clone().unwrap_or_default(),
        "username": token.username().unwrap_or_default(),
        "token_use": token.token_use.as_str(),
        "client_id": token.client().unwrap_or_default(),
        "groups": token.groups.join(","),
    })
}

fn policy_document(effect: Effect, resource: String) -> ApiGatewayCustomAuthorizerPolicy {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = match effect {
        Effect::Allow => IamPolicyEffect::Allow,
        Effect::Deny => IamPolicyEffect::Deny,
    };
    statement.resource = vec![resource];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".to_owned());
    document.statement = vec![statement];
    document
}

fn rest_policy(decision: Decision, arn: String) -> ApiGatewayCustomAuthorizerResponse {
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(decision.principal);
    response.policy_document = policy_document(decision.effect, arn);
    response.context = decision.context;
    response
}

/// Loads the keys (one line per pool on stderr), then serves the Lambda Runtime API
/// (`AWS_LAMBDA_RUNTIME_API`) with [`Authorizer::handle`] until the sandbox ends.
pub async fn run(authorizer: Authorizer) -> Result<(), lambda_runtime::Error> {
    for status in authorizer.prefetch().await {
        eprintln!("{status}");
    }
    let authorizer = Arc::new(authorizer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let authorizer = Arc::clone(&authorizer);
        async move { authorizer.handle(event.payload).await }
    }))
    .await
}
