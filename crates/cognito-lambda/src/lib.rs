//! # cognito-lambda
//!
//! An API Gateway Lambda authorizer that accepts AWS Cognito user-pool tokens, over the same
//! verification as the web adapters (`cognito-core`): REST API `TOKEN` and `REQUEST`
//! authorizers (answered with an IAM policy) and HTTP API authorizers with payload format 2.0
//! (answered with an IAM policy or, when configured, the simple response).
//!
//! Which route needs which groups or scopes is configured per route pattern of
//! [`cognito_core::route`], the workspace's one pattern language: `GET /scoped` or
//! `* /admin/*` (which also covers `/admin`), where `*` stands for any characters (`/`
//! included, as in API Gateway's resource ARNs), `GET` also covers `HEAD`, and the first
//! matching pattern wins; a request no pattern matches needs any valid token of the default
//! pool. The method and path are read from the event's `methodArn` (REST) or `routeArn` (HTTP
//! API). A path that another component could read as another route (percent-encoding, `.` or
//! empty segments, `;` parameters, a backslash, a trailing dot, letter case) is denied.
//!
//! The decisions:
//!
//! | the token | the answer | API Gateway says |
//! | --- | --- | --- |
//! | valid, and the route's groups / scopes are there | `Allow` for the request (`isAuthorized: true`) | the request goes through |
//! | valid, but a required group / scope is missing (or it belongs to another pool the table names) | `Deny` (`isAuthorized: false`) | 403 |
//! | missing or invalid in every pool the table names (any 401 kind) | the invocation fails with the message `Unauthorized` | 401 |
//! | the pool's keys cannot be fetched (`jwks_unavailable`) | the invocation fails with another message | 500: retry |
//!
//! An answer carries `principalId` = the token's `sub` and the context `{sub, username,
//! token_use, client_id, groups}`, every value a string (context values are flat: `groups`
//! is comma-joined; a claim the token lacks is `""`). A `Deny` carries the same context.
//!
//! ## Caching: every answer holds for the whole table
//!
//! API Gateway caches an authorizer's answer by its identity source (the `Authorization`
//! header; 300 s by default) and reuses it for **other routes**. So an IAM policy answer
//! covers the whole route table for this token: for each route, `Allow` on its resources if
//! the token satisfies it, `Deny` if not; `Allow` on everything (`<api>/<stage>/<METHOD>/*` for
//! each method) if it is any valid token of the default pool; and `Deny`, always, on the
//! request shapes IAM wildcards can express that another component could read as another path
//! (`%`, `//`, `/./`, `/../`, a trailing `/.` or `/..`, `;`, `\`, a segment ending in `.`).
//! A reused answer decides every route as a fresh invocation would. Two limits:
//!
//! - IAM lets any matching `Deny` win, where the table lets the first matching route win; so
//!   [`Authorizer::route`] refuses a route that an earlier route overlaps unless the earlier
//!   route's requirement implies this one's (an open `GET /admin/health` before a closed
//!   `* /admin/*` cannot be one policy: put the stricter route first, or keep them disjoint).
//! - IAM compares resources case-sensitively and has no case-insensitive wildcard, so a cached
//!   answer cannot deny `GET /Admin` as a letter-case variant of `/admin/*` (a fresh
//!   invocation does). Behind a greedy `{proxy+}` resource or `$default` route, the backend
//!   must route paths case-sensitively, or the identity source must include the route.
//!
//! The simple response names no route, so [`HttpApiResponse::Simple`] is refused when a route
//! requires more than the default route; [`HttpApiResponse::SimpleCacheKeyIncludesRoute`] is
//! for an HTTP API whose identity source includes `$context.routeKey`, or whose authorizer
//! cache is off (TTL 0).
//!
//! ```no_run
//! use cognito_core::{CognitoAuth, CognitoSettings};
//! use cognito_lambda::{Authorizer, Requirement};
//!
//! // One thread: a Lambda sandbox runs one invocation at a time (see [`run`]).
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let settings = CognitoSettings::from_yaml("cognito.yaml")?;
//!     let authorizer = Authorizer::new(CognitoAuth::new(&settings)?)
//!         .route("* /admin/*", Requirement::new().any_group(["admin"]))?
//!         .route("GET /scoped", Requirement::new().any_scope(["demo/read"]))?;
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

mod answers;
mod routes;

use std::fmt;
use std::sync::Arc;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use cognito_core::route::{RoutePattern, RouteTable};
use cognito_core::source::RequestView;
use cognito_core::status::PoolStatus;
use cognito_core::{AuthError, CognitoAuth, CognitoToken, ErrorKind, Require, Verified};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use answers::{Answer, Decision, HttpApiRequest, RestRequest, context, log, policy_document, rest_policy};
pub use answers::{AuthorizerError, HttpApiAnswer};
pub use cognito_core::Requirement;
pub use cognito_core::route::PatternError;
pub use routes::RouteError;
use routes::{AMBIGUOUS_SHAPES, Arn, Routes, iam_matches, implies, is_default, pool_or, push_unique};

/// A request's token as one pool judged it: verified, with its claims read.
type PoolAnswer = Result<(Verified, CognitoToken), AuthError>;

/// How an HTTP API (payload 2.0) authorizer answers: as its `enableSimpleResponses` setting
/// says. API Gateway caches an answer by the authorizer's identity source (the `Authorization`
/// header, 300 s by default) and reuses it for other routes, so an answer must hold for every
/// route: an IAM policy covers the whole route table; the simple response names no route, so it
/// is only safe when every route requires the same, or when the identity source includes the
/// route (`$context.routeKey`) or the cache is off.
///
/// ```
/// use cognito_core::{CognitoAuth, CognitoSettings};
/// use cognito_lambda::{Authorizer, HttpApiResponse, Requirement};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = CognitoSettings::from_yaml_str(
///     "userpools:\n  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}",
/// )?;
/// let admins = Authorizer::new(CognitoAuth::new(&settings)?).route("/admin/*", Requirement::new().any_group(["admin"]))?;
/// // A cached `isAuthorized: true` for `GET /` would let anyone into /admin: refused.
/// assert!(admins.clone().http_api_response(HttpApiResponse::Simple).is_err());
/// // Stated: the identity source is `$request.header.Authorization, $context.routeKey`.
/// let keyed = admins.http_api_response(HttpApiResponse::SimpleCacheKeyIncludesRoute)?;
/// # let _ = keyed; Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpApiResponse {
    /// An IAM policy covering the whole route table for the token, as REST authorizers answer
    /// (the default, as API Gateway's: simple responses disabled).
    #[default]
    IamPolicy,
    /// `{"isAuthorized": bool, "context": {...}}` ("enable simple responses"), for an
    /// authorizer whose routes all require what the default route requires (any valid token
    /// of the default pool): otherwise refused, as a cached answer would be reused for routes
    /// that require something else.
    Simple,
    /// The simple response, with any route table, for a deployment where an answer is never
    /// reused for another route: the authorizer's identity source includes the route
    /// (`$request.header.Authorization, $context.routeKey`), or its result cache is off
    /// (`authorizerResultTtlInSeconds: 0`). Choosing it states that; nothing here can check it.
    SimpleCacheKeyIncludesRoute,
}

/// The authorizer: every pool's verifier and the route requirements. Cheap to clone.
#[derive(Clone)]
pub struct Authorizer {
    auth: CognitoAuth,
    /// The route table, with the methods and IAM resources it implies (built together: see
    /// [`Routes`]).
    routes: Arc<Routes>,
    http_api: HttpApiResponse,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("routes", &self.routes.table.entries().len())
            .field("http_api", &self.http_api)
            .finish_non_exhaustive()
    }
}

/// What a route of a simple-response authorizer may not do, and what to do instead.
fn simple_response_refusal(pattern: &str) -> RouteError {
    RouteError::new(
        pattern,
        "it requires more than the default route (any valid token of the default pool), and the \
         HTTP API simple response names no route: API Gateway would reuse one route's answer for \
         another. Answer with HttpApiResponse::IamPolicy, or include $context.routeKey in the \
         authorizer's identity source (or turn its cache off) and choose \
         HttpApiResponse::SimpleCacheKeyIncludesRoute",
    )
}

impl Authorizer {
    /// An authorizer over `auth` with no route requirements yet: every route needs any
    /// valid token of the default pool.
    pub fn new(auth: CognitoAuth) -> Self {
        Self {
            auth,
            routes: Arc::new(Routes::new(RouteTable::new())),
            http_api: HttpApiResponse::default(),
        }
    }

    /// Adds a route requirement after those added before (the first matching pattern wins).
    /// The pattern is `[METHOD ]/path` as in [`cognito_core::route`] (`*` or no method: any;
    /// `GET` also covers `HEAD`; `*` in the path: any characters, `/` included; `/admin/*`
    /// also covers `/admin`).
    ///
    /// Refused here: a bad pattern; a pool the settings lack; a simple-response authorizer
    /// ([`HttpApiResponse::Simple`]) with a route that requires more than the default route;
    /// a requirement whose values cannot work (`max_auth_age_secs` 0, an empty `acr_values`
    /// entry); and a route that an earlier one overlaps unless the earlier one's requirement
    /// implies this one's (the same pool, and its groups, if it names any, are all among this
    /// route's, or this route names none; the same for scopes and `acr_values`; this route's
    /// all-of scopes among the earlier one's; the same kind of principal unless this route
    /// serves any; a sign-in age limit no stricter than the earlier one's). An IAM answer covers the whole table,
    /// and IAM lets any matching `Deny` win, so the earlier route could not win for a token
    /// that satisfies it but not this one. Put the stricter route first.
    ///
    /// API Gateway reuses a cached answer for the authorizer's cache TTL: with
    /// `max_auth_age_secs`, an Allow may then serve up to that TTL past the sign-in's age
    /// limit, so set the TTL well below it (or to 0) for such routes.
    ///
    /// ```
    /// use cognito_core::{CognitoAuth, CognitoSettings};
    /// use cognito_lambda::{Authorizer, Requirement};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let settings = CognitoSettings::from_yaml_str(
    ///     "userpools:\n  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}",
    /// )?;
    /// let auth = CognitoAuth::new(&settings)?;
    /// let authorizer = Authorizer::new(auth.clone())
    ///     .route("* /admin/*", Requirement::new().any_group(["admin"]))?
    ///     .route("GET /scoped", Requirement::new().any_scope(["demo/read"]))?;
    /// // An open hole before a closed /admin/* cannot be expressed as one IAM policy:
    /// let err = Authorizer::new(auth)
    ///     .route("GET /admin/health", Requirement::new())?
    ///     .route("* /admin/*", Requirement::new().any_group(["admin"]))
    ///     .map(|_| ())
    ///     .unwrap_err();
    /// assert_eq!(err.pattern(), "* /admin/*");
    /// assert!(err.to_string().contains("GET /admin/health"));
    /// # let _ = authorizer;
    /// # Ok(()) }
    /// ```
    pub fn route(mut self, pattern: &str, require: Requirement) -> Result<Self, RouteError> {
        let parsed = RoutePattern::parse(pattern)?;
        if let Err(e) = require.validate() {
            return Err(RouteError::new(pattern, e.to_string()));
        }
        if require.pool() == Some(cognito_core::tenants::ANY_TENANT) {
            // A cached IAM answer covers the configured pools' routes; a tenant found at run
            // time would need the table's answer per tenant.
            return Err(RouteError::new(
                pattern,
                "a route of any tenant is not served by the authorizer; name a pool of the settings",
            ));
        }
        if let Some(pool) = require.pool()
            && self.auth.pool(pool).is_none()
        {
            return Err(RouteError::new(pattern, "its pool is not in the settings"));
        }
        let default_pool = self.auth.default_pool().pool();
        // An IAM answer holds, for each route in order, Allow (the token satisfies it) or
        // Deny, then Allow for everything when the token is any valid token of the default
        // pool. IAM answers a request Deny if any statement matching it denies, else Allow if
        // one allows. First-match answers the first matching route's decision. They agree
        // when, for every two overlapping routes R_i before R_j, satisfying R_i implies
        // satisfying R_j: then a request whose first route is satisfied meets no Deny, and one
        // whose first route is not meets that route's Deny. The default route needs no such
        // condition although it overlaps everything: it only ever adds an Allow, which loses
        // to a route's Deny exactly when first-match picks that route (denied) anyway, and
        // which first-match uses only when no route matches, when no route statement matches
        // either.
        for (earlier, earlier_require) in self.routes.table.entries() {
            if earlier.overlaps(&parsed) && !implies(earlier_require, &require, default_pool) {
                return Err(RouteError::new(
                    pattern,
                    format!(
                        "it overlaps the earlier route {:?}, whose requirement does not imply this one's: \
                         one IAM policy cannot let the earlier route win for a token that satisfies it but \
                         not this one (an IAM Deny always wins). Put the stricter route first, or make the \
                         routes disjoint",
                        earlier.as_str()
                    ),
                ));
            }
        }
        if self.http_api == HttpApiResponse::Simple && !is_default(&require, default_pool) {
            return Err(simple_response_refusal(pattern));
        }
        let mut routes = self.routes.table.clone();
        routes.push(pattern, require)?;
        self.routes = Arc::new(Routes::new(routes));
        Ok(self)
    }

    /// How HTTP API (payload 2.0) events are answered (default: an IAM policy). The simple
    /// response is refused when a route requires more than the default route does, unless
    /// [`HttpApiResponse::SimpleCacheKeyIncludesRoute`] states that answers are never reused
    /// for another route (see [`HttpApiResponse`]).
    pub fn http_api_response(mut self, response: HttpApiResponse) -> Result<Self, RouteError> {
        if response == HttpApiResponse::Simple {
            let default_pool = self.auth.default_pool().pool();
            if let Some((pattern, _)) = self
                .routes
                .table
                .entries()
                .iter()
                .find(|(_, require)| !is_default(require, default_pool))
            {
                return Err(simple_response_refusal(pattern.as_str()));
            }
        }
        self.http_api = response;
        Ok(self)
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
        let answer = self.answer(event).await?;
        serde_json::to_value(answer).map_err(|e| AuthorizerError::InvalidEvent(e.to_string()))
    }

    /// [`Authorizer::handle`]'s answer, typed: [`run`] hands it to the runtime, which writes
    /// it as JSON at once (a JSON value in between would double the answer's cost).
    async fn answer(&self, event: Value) -> Result<Answer, AuthorizerError> {
        let shape = |e: serde_json::Error| AuthorizerError::InvalidEvent(e.to_string());
        Ok(if event.get("version").and_then(Value::as_str) == Some("2.0") {
            Answer::HttpApi(
                self.authorize_http_api(serde_json::from_value(event).map_err(shape)?)
                    .await?,
            )
        } else {
            match event.get("type").and_then(Value::as_str) {
                Some("TOKEN") => Answer::Rest(
                    self.authorize_token(serde_json::from_value(event).map_err(shape)?)
                        .await?,
                ),
                Some("REQUEST") => Answer::Rest(
                    self.authorize_request(serde_json::from_value(event).map_err(shape)?)
                        .await?,
                ),
                _ => {
                    return Err(AuthorizerError::InvalidEvent(
                        "no \"type\" of TOKEN or REQUEST, and no \"version\" of 2.0".to_owned(),
                    ));
                }
            }
        })
    }

    /// A REST API `TOKEN` authorizer: the token from `authorizationToken` (the configured
    /// header's value, scheme included), the route from `methodArn`; answered with an IAM
    /// policy for the whole route table.
    pub async fn authorize_token(
        &self,
        event: ApiGatewayCustomAuthorizerRequest,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerError> {
        let arn = event.method_arn.unwrap_or_default();
        let token = event.authorization_token.unwrap_or_default();
        // The token value stands for the configured header (cookie sources have nothing here).
        let decision = self
            .decide(&arn, &[(self.auth.header_name(), token.as_bytes())], true)
            .await?;
        Ok(rest_policy(decision))
    }

    /// A REST API `REQUEST` authorizer: the token from the configured header (all its values),
    /// the route from `methodArn`; answered with an IAM policy for the whole route table.
    pub async fn authorize_request(
        &self,
        event: ApiGatewayCustomAuthorizerRequestTypeRequest,
    ) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerError> {
        let arn = event.method_arn.unwrap_or_default();
        let request = RestRequest {
            headers: &event.headers,
            multi_value_headers: &event.multi_value_headers,
        };
        let decision = self.decide(&arn, &request, true).await?;
        Ok(rest_policy(decision))
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
        let iam = self.http_api == HttpApiResponse::IamPolicy;
        let decision = self.decide(&arn, &request, iam).await?;
        Ok(if iam {
            let mut policy = ApiGatewayV2CustomAuthorizerIamPolicyResponse::default();
            policy.principal_id = Some(decision.principal);
            policy.policy_document = decision.policy;
            policy.context = decision.context;
            HttpApiAnswer::IamPolicy(policy)
        } else {
            let mut simple = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
            simple.is_authorized = decision.allow;
            simple.context = decision.context;
            HttpApiAnswer::Simple(simple)
        })
    }

    /// The token verified in every pool the table uses, the decision for the request's route
    /// (first matching pattern, else the default route) and, for `iam`, the policy for the
    /// whole table.
    async fn decide(
        &self,
        arn_text: &str,
        request: &(impl RequestView + ?Sized),
        iam: bool,
    ) -> Result<Decision, AuthorizerError> {
        let arn = Arn::parse(arn_text).ok_or_else(|| {
            AuthorizerError::InvalidEvent("the method or route ARN is missing or malformed".to_owned())
        })?;
        let (method, path) = (arn.method, arn.path.as_str());
        let default_pool = self.auth.default_pool().pool();
        let found = self.routes.table.find(method, path);
        let own_pool = match found {
            Ok(Some(require)) => pool_or(require, default_pool),
            _ => default_pool,
        };
        // Each pool the table uses, once, the request's own first. A token belongs to one
        // pool; in the others it fails on its issuer, before any key is fetched.
        let mut pools = vec![own_pool, default_pool];
        for (_, require) in self.routes.table.entries() {
            pools.push(pool_or(require, default_pool));
        }
        let mut verified: Vec<(&str, PoolAnswer)> = Vec::new();
        for pool in pools {
            if verified.iter().any(|(seen, _)| *seen == pool) {
                continue;
            }
            let result = match self.auth.pool(pool) {
                Some(verifier) => verifier
                    .authenticate::<Verified>(request, Require::NONE)
                    .await
                    .and_then(|v| v.deserialize::<CognitoToken>().map(|token| (v, token))),
                // `route` checked every pool; a missing one would be a bug, answered as unavailable.
                None => Err(AuthError::new(ErrorKind::JwksUnavailable)),
            };
            verified.push((pool, result));
        }
        // Keys that cannot be had: no decision (a cached one could be wrong for minutes).
        if let Some(e) = verified
            .iter()
            .find_map(|(_, r)| r.as_ref().err().filter(|e| e.kind() == ErrorKind::JwksUnavailable))
        {
            log(method, path, e);
            return Err(AuthorizerError::Unavailable(e.clone()));
        }
        let Some((_, token)) = verified.iter().find_map(|(_, r)| r.as_ref().ok()) else {
            let e = verified
                .into_iter()
                .next()
                .and_then(|(_, r)| r.err())
                .unwrap_or_else(|| AuthError::new(ErrorKind::MissingToken));
            log(method, path, &e);
            return Err(AuthorizerError::Unauthorized(e));
        };
        // Whether the token satisfies a requirement: valid in its pool (a 401 there only means
        // this route is not for this token), then authorized as core authorizes a verified token.
        let satisfies = async |require: &Requirement| -> Result<(), AuthError> {
            let pool = pool_or(require, default_pool);
            match verified.iter().find(|(p, _)| *p == pool) {
                Some((_, Ok((token, _)))) => match self.auth.pool(pool) {
                    Some(verifier) => verifier.authorize::<Verified>(token, require).await.map(|_| ()),
                    None => Err(AuthError::new(ErrorKind::JwksUnavailable)),
                },
                Some((_, Err(e))) => Err(e.clone()),
                None => Err(AuthError::new(ErrorKind::JwksUnavailable)),
            }
        };
        let default = Requirement::new();
        let own = match found {
            // Every route of a simple-response table requires what the default does (checked
            // when it is built), so every reading of the path asks the same: no guess to refuse.
            Err(_) if !iam && self.http_api == HttpApiResponse::Simple => {
                satisfies(&default).await.map_err(|e| e.kind().as_str())
            }
            // A path another component could read as another route is not judged.
            Err(_) => Err("ambiguous_path"),
            _ if iam && !self.routes.methods.iter().any(|m| m == method) => Err("unknown_method"),
            _ if iam && AMBIGUOUS_SHAPES.iter().any(|shape| iam_matches(shape, &arn.tail())) => Err("ambiguous_path"),
            Ok(require) => satisfies(require.unwrap_or(&default))
                .await
                .map_err(|e| e.kind().as_str()),
        };
        let allow = match own {
            Ok(()) => true,
            Err(kind) => {
                answers::log_line(method, path, kind);
                false
            }
        };
        let (mut allowed, mut denied) = (Vec::new(), Vec::new());
        if iam {
            let resources = &self.routes.resources;
            let (mut allow_ids, mut deny_ids) = (Vec::new(), Vec::new());
            for ((_, require), ids) in self.routes.table.entries().iter().zip(resources.routes()) {
                let out = if satisfies(require).await.is_ok() {
                    &mut allow_ids
                } else {
                    &mut deny_ids
                };
                for &id in ids {
                    push_unique(out, id);
                }
            }
            if satisfies(&default).await.is_ok() {
                for &id in resources.default_route() {
                    push_unique(&mut allow_ids, id);
                }
            }
            for &id in resources.ambiguous() {
                push_unique(&mut deny_ids, id);
            }
            allowed = resources.arns(arn.prefix, &allow_ids);
            denied = resources.arns(arn.prefix, &deny_ids);
            // What the table's statements cannot say (a letter-case variant of a route, say):
            // this exact request is denied, also when the answer is reused for it.
            if !allow {
                push_unique(&mut denied, arn_text.to_owned());
            }
        }
        Ok(Decision {
            allow,
            principal: token
                .sub
                .clone()
                .or_else(|| token.username().map(str::to_owned))
                .unwrap_or_default(),
            context: context(token),
            policy: policy_document(allowed, denied),
        })
    }
}

/// Loads the keys (one line per pool on stderr), then serves the Lambda Runtime API
/// (`AWS_LAMBDA_RUNTIME_API`) with [`Authorizer::handle`] until the sandbox ends.
///
/// Run it on a current-thread runtime (`#[tokio::main(flavor = "current_thread")]`): a
/// sandbox gets one invocation at a time, so worker threads only hand each one back and
/// forth, and on a multi-thread runtime the Runtime API client often asks for the next event
/// before the last answer's connection is back in its pool, so it opens a new connection for
/// most invocations (measured in `benches/lambda`: the same bare function takes less than
/// half the CPU time per invocation on one thread, over one connection).
pub async fn run(authorizer: Authorizer) -> Result<(), lambda_runtime::Error> {
    for status in authorizer.prefetch().await {
        eprintln!("{status}");
    }
    let authorizer = Arc::new(authorizer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let authorizer = Arc::clone(&authorizer);
        async move { authorizer.answer(event.payload).await }
    }))
    .await
}
