//! The cross-framework conformance suite: ONE table of HTTP cases, each run against the axum,
//! actix-web and rocket demos (the verification order, the error responses and the demo
//! routes of docs/contract.md), served in-process on ephemeral ports of 127.0.0.1 and talking
//! to real JWKS servers with real RSA keys.
//!
//! Each case becomes one test named `<case>::<framework>`, so a row added to `cases()` runs in
//! all three frameworks, and twice more through router-wide protection: `<case>::axum-layer`
//! (the tower layer) and `<case>::actix-layer` (the actix-web middleware) address the same
//! routes under the demos' `/layer` prefix, where the layer / middleware verifies and the
//! handlers read its result. A row mints the tokens it sends itself (from `Mint`), so adding one is
//! one edit. Where rocket knowingly answers otherwise (a limit documented in cognito-rocket),
//! the row states rocket's answer too, so the difference fails loudly if it ever changes. For
//! every error row the suite checks the status, the `error` kind, the `WWW-Authenticate`
//! challenge of that kind, `Retry-After` on 503, a JSON body of exactly `error` and `message`,
//! and that the request's header value is not echoed.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cognito_core::CognitoSettings;
use cognito_testkit::alb::{ALB_ARN, AlbKey, AlbKeyServer, AlbReply, alb_claims};
use cognito_testkit::{
    EcKey, EdKey, JwksServer, Reply, SigningKey, access_claims, b64, client_credentials_claims, id_claims, jwk_set,
    jwks, merge_claims, now, oidc_access_claims, unique_id,
};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};

use cognito_demo_support::LAYER_PREFIX;
use support::{BoxError, FRAMEWORKS, Framework, spawn_demo, wait_until_up};

const CLIENT: &str = "client-a";
const US_CLIENT: &str = "client-us";
/// The named OpenID Connect issuer `partners` and the audience it is accepted for.
const OIDC_ISSUER: &str = "https://partners.example";
const OIDC_API: &str = "https://api.example.com";
/// The app client the load balancer names in its tokens.
const ALB_CLIENT: &str = "alb-client";
/// The identity provider behind the load balancer.
const ALB_IDP: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Alb";

/// Which configuration of the demo a case talks to.
#[derive(Clone, Copy)]
enum App {
    /// `Authorization: Bearer <token>`.
    Standard,
    /// `X-Token: <token>`: a custom header name and an empty prefix (the raw token).
    RawToken,
    /// `Standard`, but the load balancer's key server answers 500.
    AlbDown,
    /// Tokens from the header, then the cookie `id_token`, then (on WebSocket upgrades only)
    /// the query parameter `access_token`.
    Sources,
    /// `Standard` naming its protected resource ([`RESOURCE`]): the metadata routes, challenges
    /// naming them, and access tokens bound to the resource by `aud`.
    Resource,
}

/// The resource of `App::Resource`, and the URL of its metadata.
const RESOURCE: &str = "http://127.0.0.1:9/api";
const RESOURCE_METADATA: &str = "http://127.0.0.1:9/.well-known/oauth-protected-resource/api";

/// What the response must be.
enum Expect {
    /// 200, and this check of the JSON body.
    Success(fn(&Value) -> bool),
    /// An error of this kind; status and challenge follow from the kind (see `contract`).
    Error(&'static str),
    /// This status with this `error` member (responses the demos give before any auth).
    Status(u16, &'static str),
    /// `Error`, and afterwards this check of what the key servers saw.
    ErrorAnd(&'static str, fn(&Mint) -> Result<(), String>),
    /// `Error`, with this check of the whole `WWW-Authenticate` value instead of its start.
    Challenge(&'static str, fn(&str) -> bool),
    /// Sent byte for byte (no client normalizes the path): never let through, and never a
    /// server error. 400 `ambiguous_path`, 401 / 403 of the contract, or the router's 404
    /// (what the undecorated path would answer, or a refusal to guess).
    Refused,
}

/// Request headers: name and raw value (bytes, so a value need not be UTF-8).
type Headers = Vec<(&'static str, Vec<u8>)>;

/// A row's request headers, with the tokens they carry minted for the request.
type Request = Result<Headers, BoxError>;

/// What the runner sends.
#[derive(Clone, Copy)]
enum Action {
    /// One GET of the row's path, checked.
    Get,
    /// One POST of this body to the row's path, checked.
    Post(&'static str),
    /// Three GETs of the row's path that must succeed (from the third on the token is a
    /// token-cache hit), then `POST /revoke` as an admin naming the row's token by this claim
    /// (`sub` or `origin_jti`, read from the token), then the checked GET.
    Revoked(&'static str),
}

struct Case {
    name: &'static str,
    app: App,
    path: &'static str,
    action: Action,
    /// The request headers, and the tokens in them, from the keys and issuers of the pools.
    headers: fn(&Mint) -> Request,
    expect: Expect,
    /// Rocket's answer where it knowingly differs from axum and actix (a limit documented in
    /// cognito-rocket); `None`: the same as theirs.
    rocket_differs: Option<Expect>,
    /// Whether the row also runs under the demos' router-wide `/layer` prefix.
    layered: bool,
}

/// What a row mints its tokens with: the keys and issuers of the three pools.
struct Mint {
    main_key: SigningKey,
    main_issuer: String,
    /// Same kid as `main_key`, another key: a forger who knows the kid.
    impostor: SigningKey,
    /// A kid no pool publishes.
    stranger: SigningKey,
    us_key: SigningKey,
    us_issuer: String,
    down_key: SigningKey,
    down_issuer: String,
    /// The issuer of the tenant `acme` (of `App::Standard`'s tenants file), signed by `main_key`.
    acme_issuer: String,
    /// The load balancer's key, served by `alb_keys`.
    alb_key: AlbKey,
    /// A UUID kid the load balancer's key server does not have.
    alb_stranger: AlbKey,
    alb_keys: AlbKeyServer,
    /// The key server of `App::AlbDown`, answering 500.
    alb_down: AlbKeyServer,
    /// The issuer `partners`'s P-256 and Ed25519 keys.
    oidc_ec: EcKey,
    oidc_ed: EdKey,
}

impl Mint {
    /// The claims of an ordinary access token of the pool `main`.
    fn claims(&self) -> Value {
        access_claims(&self.main_issuer, CLIENT)
    }

    /// An ordinary access token of the pool `main`.
    /// The claims of an access token of the issuer `partners`, with these set over them.
    fn oidc_claims(&self, changes: Value) -> Value {
        let mut claims = oidc_access_claims(OIDC_ISSUER, OIDC_API, "read");
        merge_claims(&mut claims, &changes);
        claims
    }

    fn access(&self) -> Result<String, BoxError> {
        Ok(self.main_key.sign(&self.claims())?)
    }

    /// An access token of the pool `main`, with these claims set over the ordinary ones (a
    /// `null` removes the claim).
    fn access_with(&self, changes: Value) -> Result<String, BoxError> {
        let mut claims = self.claims();
        merge_claims(&mut claims, &changes);
        Ok(self.main_key.sign(&claims)?)
    }

    /// An access token of a user and a session of its own, which no other row's token shares
    /// (so revoking them touches no other row), with these groups.
    fn own_session(&self, groups: Value) -> Result<String, BoxError> {
        self.access_with(
            json!({"sub": unique_id(), "origin_jti": unique_id(), "jti": unique_id(), "cognito:groups": groups}),
        )
    }

    /// A machine's token (client credentials) of the pool `main`, scope `demo/read`.
    fn machine(&self) -> Result<String, BoxError> {
        Ok(self
            .main_key
            .sign(&client_credentials_claims(&self.main_issuer, CLIENT))?)
    }

    /// An access token of `main`'s claims under this JOSE header, signed by `main`'s key.
    fn access_under(&self, header: Value) -> Result<String, BoxError> {
        Ok(self.main_key.sign_with_header(&header, &self.claims())?)
    }

    /// A load balancer's token for alice (padded, as load balancers send it), with these
    /// claims set over the ordinary ones, signed by `key` with this signer.
    fn alb_with(&self, key: &AlbKey, signer: &str, changes: Value) -> Result<String, BoxError> {
        let mut claims = alb_claims(ALB_IDP);
        for (name, value) in changes.as_object().into_iter().flatten() {
            claims[name] = value.clone();
        }
        Ok(key.sign(signer, ALB_CLIENT, &claims)?)
    }

    /// An ordinary load balancer's token for alice.
    fn alb(&self) -> Result<String, BoxError> {
        self.alb_with(&self.alb_key, ALB_ARN, json!({}))
    }

    /// An admin's access token, signed by the impostor under `main`'s kid.
    fn forged_admin(&self) -> Result<String, BoxError> {
        let mut claims = self.claims();
        claims["cognito:groups"] = json!(["admin"]);
        Ok(self.impostor.sign(&claims)?)
    }
}

fn bearer(token: impl std::fmt::Display) -> Request {
    authorization(format!("Bearer {token}"))
}

fn authorization(value: impl Into<Vec<u8>>) -> Request {
    Ok(vec![("Authorization", value.into())])
}

/// The load balancer's header.
fn oidc_data(value: impl Into<Vec<u8>>) -> Request {
    Ok(vec![("x-amzn-oidc-data", value.into())])
}

/// The kid of the row `alb_kid_not_a_uuid`: never fetched.
const NOT_A_UUID: &str = "not-a-uuid-kid";

/// The raw-token app's header.
fn x_token(value: impl Into<Vec<u8>>) -> Request {
    Ok(vec![("X-Token", value.into())])
}

/// Not a header: the runner appends its value to the row's path (a token minted for the
/// request, so it cannot be in the `&'static` path), and checks the body does not echo it.
const QUERY_TOKEN: &str = "x-query-token";

fn cookie(value: impl Into<Vec<u8>>) -> Request {
    Ok(vec![("Cookie", value.into())])
}

/// The headers of a WebSocket opening handshake, and these.
fn upgrade(mut headers: Headers) -> Request {
    headers.extend([("Upgrade", b"websocket".to_vec()), ("Connection", b"Upgrade".to_vec())]);
    Ok(headers)
}

/// A value that is not UTF-8.
const NOT_UTF8: &[u8] = b"Bearer \xff\xfe";

fn none(_: &Mint) -> Request {
    Ok(Vec::new())
}

#[rustfmt::skip] // a table reads best as one row per line
fn cases() -> Vec<Case> {
    use App::{AlbDown, RawToken, Resource, Sources, Standard};
    use Expect::{Challenge, Error, ErrorAnd, Refused, Status, Success};
    let case = |name, app, path, headers, expect| Case { name, app, path, action: Action::Get, headers, expect, rocket_differs: None, layered: true };
    let rocket_differs = |name, app, path, headers, expect, rocket| Case { name, app, path, action: Action::Get, headers, expect, rocket_differs: Some(rocket), layered: true };
    let acting = |name, path, action, headers, expect| Case { name, app: Standard, path, action, headers, expect, rocket_differs: None, layered: true };
    // Routes the demos serve at their root only (the metadata): not repeated under `/layer`.
    let unlayered = |name, app, path, headers, expect| Case { name, app, path, action: Action::Get, headers, expect, rocket_differs: None, layered: false };
    vec![
        case("health", Standard, "/health", none, Success(|b| b == &json!({"status": "ok"}))),
        // A protected resource: its metadata, public; challenges that name it; bound tokens.
        unlayered("resource_metadata", Resource, "/.well-known/oauth-protected-resource", none, Success(|b| b == &resource_document())),
        unlayered("resource_metadata_with_path", Resource, "/.well-known/oauth-protected-resource/api", none, Success(|b| b == &resource_document())),
        case("resource_missing_token", Resource, "/", none, Challenge("missing_token", |c| c == format!("Bearer resource_metadata=\"{RESOURCE_METADATA}\""))),
        case("resource_bound_token", Resource, "/", |m| bearer(m.access_with(json!({"aud": RESOURCE}))?), Success(|b| b["username"] == "alice")),
        case("resource_unbound_token", Resource, "/", |m| bearer(m.access()?), Challenge("wrong_client", |c| {
            c == format!("Bearer error=\"invalid_token\", error_description=\"The token's audience is not accepted here.\", resource_metadata=\"{RESOURCE_METADATA}\"")
        })),
        case("resource_other_audience", Resource, "/", |m| bearer(m.access_with(json!({"aud": "https://other.example/api"}))?), Error("wrong_client")),
        case("resource_id_token", Resource, "/", |m| bearer(m.main_key.sign(&id_claims(&m.main_issuer, CLIENT))?), Challenge("wrong_token_use", |c| {
            c.starts_with("Bearer error=\"invalid_token\"") && c.ends_with(&format!(", resource_metadata=\"{RESOURCE_METADATA}\""))
        })),
        case("resource_scope_challenge", Resource, "/scoped", |m| bearer(m.access_with(json!({"aud": RESOURCE, "scope": "other"}))?), Challenge("forbidden_scope", |c| {
            c == format!("Bearer error=\"insufficient_scope\", error_description=\"The token carries none of the scopes this resource requires.\", scope=\"demo/read\", resource_metadata=\"{RESOURCE_METADATA}\"")
        })),
        // Accepted tokens, and the demo's user body.
        case("access_token", Standard, "/", |m| bearer(m.access()?), Success(|b| {
            b["username"] == "alice" && b["client_id"] == CLIENT && b["token_use"] == "access" && b["groups"] == json!([])
                && b["sub"].is_string()
        })),
        case("id_token", Standard, "/", |m| bearer(m.main_key.sign(&id_claims(&m.main_issuer, CLIENT))?), Success(|b| {
            b["username"] == "alice" && b["client_id"] == CLIENT && b["token_use"] == "id"
        })),
        case("client_credentials_token", Standard, "/", |m| bearer(m.main_key.sign(&client_credentials_claims(&m.main_issuer, CLIENT))?), Success(|b| {
            b["username"].is_null() && b["client_id"] == CLIENT && b["sub"] == CLIENT
        })),
        // Header edge cases.
        case("lowercase_scheme", Standard, "/", |m| authorization(format!("bearer {}", m.access()?)), Success(|b| b["username"] == "alice")),
        case("repeated_spaces", Standard, "/", |m| authorization(format!("Bearer    {}", m.access()?)), Success(|b| b["username"] == "alice")),
        case("missing_token", Standard, "/", none, Error("missing_token")),
        case("empty_header", Standard, "/", |_| authorization(""), Error("missing_token")),
        case("basic_scheme", Standard, "/", |m| authorization(format!("Basic {}", m.access()?)), Error("invalid_header")),
        case("bearer_alone", Standard, "/", |_| authorization("Bearer"), Error("invalid_header")),
        case("extra_parts", Standard, "/", |m| authorization(format!("Bearer {} extra", m.access()?)), Error("invalid_header")),
        case("header_twice", Standard, "/", |m| {
            let value = format!("Bearer {}", m.access()?);
            Ok(vec![("Authorization", value.clone().into()), ("Authorization", value.into())])
        }, Error("invalid_header")),
        // Values that are not UTF-8: rocket 0.5 drops them before any guard runs (a limit
        // documented in cognito-rocket), so it sees no header, or only the valid one.
        rocket_differs("not_utf8", Standard, "/", |_| authorization(NOT_UTF8), Error("invalid_header"), Error("missing_token")),
        rocket_differs("header_twice_second_not_utf8", Standard, "/", |m| {
            Ok(vec![("Authorization", format!("Bearer {}", m.access()?).into()), ("Authorization", NOT_UTF8.into())])
        }, Error("invalid_header"), Success(|b| b["username"] == "alice")),
        case("markup_is_not_echoed", Standard, "/", |_| authorization("<script>alert(1)</script> x"), Error("invalid_header")),
        case("raw_token_in_custom_header", RawToken, "/", |m| x_token(m.access()?), Success(|b| b["username"] == "alice")),
        case("raw_token_app_rejects_a_scheme", RawToken, "/", |m| x_token(format!("Bearer {}", m.access()?)), Error("invalid_header")),
        case("raw_token_app_ignores_authorization", RawToken, "/", |m| bearer(m.access()?), Error("missing_token")),
        // One row per remaining error kind.
        case("too_large", Standard, "/", |m| bearer(m.access_with(json!({"padding": "x".repeat(17_000)}))?), Error("too_large")),
        case("malformed", Standard, "/", |_| bearer("not.a.jwt"), Error("malformed")),
        case("unsupported_alg", Standard, "/", |m| bearer(m.access_under(json!({"alg": "HS256", "kid": "main-key"}))?), Error("unsupported_alg")),
        case("wrong_issuer", Standard, "/", |m| bearer(m.access_with(json!({"iss": m.us_issuer}))?), Error("wrong_issuer")),
        case("wrong_token_use", Standard, "/", |m| bearer(m.access_with(json!({"token_use": "refresh"}))?), Error("wrong_token_use")),
        case("wrong_client", Standard, "/", |m| bearer(m.access_with(json!({"client_id": "someone-else"}))?), Error("wrong_client")),
        case("expired", Standard, "/", |m| bearer(m.access_with(json!({"exp": now() - 60}))?), Error("expired")),
        case("not_yet_valid", Standard, "/", |m| bearer(m.access_with(json!({"nbf": now() + 3600}))?), Error("not_yet_valid")),
        case("unknown_kid", Standard, "/", |m| bearer(m.stranger.sign(&m.claims())?), Error("unknown_kid")),
        case("invalid_jwk", Standard, "/", |m| bearer(m.access_under(json!({"alg": "RS256", "kid": "small-key"}))?), Error("invalid_jwk")),
        case("bad_signature", Standard, "/", |m| bearer(m.forged_admin()?), Error("bad_signature")),
        case("jwks_unavailable", Standard, "/pools/down", |m| bearer(m.down_key.sign(&access_claims(&m.down_issuer, CLIENT))?), Error("jwks_unavailable")),
        // Groups and scopes.
        case("forbidden_group", Standard, "/admin", |m| bearer(m.access()?), Error("forbidden_group")),
        case("admin_group", Standard, "/admin", |m| bearer(m.access_with(json!({"cognito:groups": ["admin"]}))?), Success(|b| b["groups"] == json!(["admin"]))),
        case("forbidden_scope", Standard, "/scoped", |m| bearer(m.access()?), Error("forbidden_scope")),
        case("reader_scope", Standard, "/scoped", |m| bearer(m.access_with(json!({"scope": "openid demo/read"}))?), Success(|b| b["username"] == "alice")),
        case("admin_route_without_token", Standard, "/admin", none, Error("missing_token")),
        // Principals, all-of scopes, the sign-in's age.
        case("machine_token_on_machine_route", Standard, "/machine", |m| bearer(m.machine()?), Success(|b| {
            b == &json!({"client_id": CLIENT, "scopes": ["demo/read"]})
        })),
        case("user_token_on_machine_route", Standard, "/machine", |m| bearer(m.access()?), Error("forbidden_principal")),
        case("id_token_on_machine_route", Standard, "/machine", |m| bearer(m.main_key.sign(&id_claims(&m.main_issuer, CLIENT))?), Error("forbidden_principal")),
        case("recent_sign_in", Standard, "/recent", |m| bearer(m.access_with(json!({"auth_time": now() - 10}))?), Success(|b| b["username"] == "alice")),
        case("stale_sign_in", Standard, "/recent", |m| bearer(m.access_with(json!({"auth_time": now() - 600}))?), Error("insufficient_user_authentication")),
        case("no_auth_time", Standard, "/recent", |m| bearer(m.access_with(json!({"auth_time": null}))?), Error("insufficient_user_authentication")),
        case("auth_time_not_a_number", Standard, "/recent", |m| bearer(m.access_with(json!({"auth_time": "now"}))?), Error("malformed")),
        case("all_scopes_one_of_two", Standard, "/all-scopes", |m| bearer(m.access_with(json!({"scope": "demo/read"}))?), Error("forbidden_scope")),
        case("all_scopes_both", Standard, "/all-scopes", |m| bearer(m.access_with(json!({"scope": "demo/write openid demo/read"}))?), Success(|b| b["username"] == "alice")),
        // Revocation, also of a token the token cache holds.
        acting("revoked_user", "/", Action::Revoked("sub"), |m| bearer(m.own_session(json!([]))?), Error("revoked")),
        acting("revoked_session", "/scoped", Action::Revoked("origin_jti"), |m| {
            bearer(m.access_with(json!({"origin_jti": unique_id(), "scope": "demo/read"}))?)
        }, Error("revoked")),
        acting("revoked_admin_on_admin_route", "/admin", Action::Revoked("sub"), |m| bearer(m.own_session(json!(["admin"]))?), Error("revoked")),
        acting("revoke_needs_admin", "/revoke", Action::Post(r#"{"sub": "someone"}"#), |m| bearer(m.own_session(json!([]))?), Error("forbidden_group")),
        acting("revoke_needs_a_token", "/revoke", Action::Post(r#"{"sub": "someone"}"#), none, Error("missing_token")),
        acting("revoke_body_unknown_member", "/revoke", Action::Post(r#"{"user": "x"}"#), |m| bearer(m.own_session(json!(["admin"]))?), Status(400, "invalid_body")),
        acting("revoke_body_both_members", "/revoke", Action::Post(r#"{"sub": "x", "origin_jti": "y"}"#), |m| bearer(m.own_session(json!(["admin"]))?), Status(400, "invalid_body")),
        acting("revoke_body_not_json", "/revoke", Action::Post("sub=x"), |m| bearer(m.own_session(json!(["admin"]))?), Status(400, "invalid_body")),
        acting("revoke_body_empty", "/revoke", Action::Post(""), |m| bearer(m.own_session(json!(["admin"]))?), Status(400, "invalid_body")),
        acting("revoke_body_sub_not_a_string", "/revoke", Action::Post(r#"{"sub": 5}"#), |m| bearer(m.own_session(json!(["admin"]))?), Status(400, "invalid_body")),
        case("admin_route_with_a_forged_admin", Standard, "/admin", |m| bearer(m.forged_admin()?), Error("bad_signature")),
        // Optional authentication.
        case("optional_absent", Standard, "/optional", none, Success(|b| b == &json!({"authenticated": false}))),
        case("optional_empty", Standard, "/optional", |_| authorization(""), Success(|b| b == &json!({"authenticated": false}))),
        case("optional_valid", Standard, "/optional", |m| bearer(m.access()?), Success(|b| b["authenticated"] == true && b["sub"].is_string())),
        case("optional_expired_is_not_anonymous", Standard, "/optional", |m| bearer(m.access_with(json!({"exp": now() - 60}))?), Error("expired")),
        case("optional_forged_is_not_anonymous", Standard, "/optional", |m| bearer(m.forged_admin()?), Error("bad_signature")),
        case("optional_bad_scheme_is_not_anonymous", Standard, "/optional", |m| authorization(format!("Basic {}", m.access()?)), Error("invalid_header")),
        rocket_differs("optional_not_utf8_is_not_anonymous", Standard, "/optional", |_| authorization(NOT_UTF8), Error("invalid_header"), Success(|b| b == &json!({"authenticated": false}))),
        // A custom claims type with a `custom:` attribute.
        case("custom_claims", Standard, "/custom", |m| bearer(m.access_with(json!({"custom:tenant": "acme"}))?), Success(|b| b["tenant"] == "acme" && b["sub"].is_string())),
        case("custom_claims_absent_attribute", Standard, "/custom", |m| bearer(m.access()?), Success(|b| b["tenant"].is_null())),
        case("custom_claims_expired", Standard, "/custom", |m| bearer(m.access_with(json!({"exp": now() - 60}))?), Error("expired")),
        // The second pool.
        case("second_pool", Standard, "/pools/us", |m| bearer(m.us_key.sign(&access_claims(&m.us_issuer, US_CLIENT))?), Success(|b| b["client_id"] == US_CLIENT)),
        case("second_pool_rejects_the_first_pools_token", Standard, "/pools/us", |m| bearer(m.access()?), Error("wrong_issuer")),
        case("first_pool_rejects_the_second_pools_token", Standard, "/", |m| bearer(m.us_key.sign(&access_claims(&m.us_issuer, US_CLIENT))?), Error("wrong_issuer")),
        case("named_default_pool", Standard, "/pools/main", |m| bearer(m.access()?), Success(|b| b["username"] == "alice")),
        case("unknown_pool_is_404_before_auth", Standard, "/pools/nope", none, Status(404, "not_found")),
        // Tenants: the token's issuer picks the pool, from the tenants file.
        case("tenant_served_by_its_issuer", Standard, "/tenant", |m| bearer(m.main_key.sign(&access_claims(&m.acme_issuer, CLIENT))?), Success(|b| {
            b["tenant"] == "acme" && b["sub"].is_string()
        })),
        case("tenant_route_refuses_a_pool_that_is_no_tenant", Standard, "/tenant", |m| bearer(m.access()?), Error("wrong_issuer")),
        case("tenant_route_refuses_an_unknown_issuer", Standard, "/tenant", |m| {
            bearer(m.main_key.sign(&access_claims(&format!("{}-{}", m.acme_issuer, unique_id()), CLIENT))?)
        }, Error("wrong_issuer")),
        case("tenant_forged_signature", Standard, "/tenant", |m| bearer(m.impostor.sign(&access_claims(&m.acme_issuer, CLIENT))?), Error("bad_signature")),
        case("tenant_expired", Standard, "/tenant", |m| {
            let mut claims = access_claims(&m.acme_issuer, CLIENT);
            claims["exp"] = json!(now() - 60);
            bearer(m.main_key.sign(&claims)?)
        }, Error("expired")),
        case("tenant_missing_token", Standard, "/tenant", none, Error("missing_token")),
        case("tenant_without_tenants_is_404", RawToken, "/tenant", |m| x_token(m.access()?), Status(404, "not_found")),
        // A named OpenID Connect issuer beside the pools: its own algorithms and claims rules.
        case("issuer_es256", Standard, "/pools/partners", |m| bearer(m.oidc_ec.sign(&m.oidc_claims(json!({})))?), Success(|b| b["client_id"] == "machine-client" && b["token_use"].is_null())),
        case("issuer_eddsa_audience_array", Standard, "/pools/partners", |m| bearer(m.oidc_ed.sign(&m.oidc_claims(json!({"aud": ["other", OIDC_API]})))?), Success(|b| b["sub"] == "machine-client")),
        case("issuer_wrong_audience", Standard, "/pools/partners", |m| bearer(m.oidc_ec.sign(&m.oidc_claims(json!({"aud": "https://elsewhere.example"})))?), Error("wrong_client")),
        case("issuer_rejects_a_pools_token", Standard, "/pools/partners", |m| bearer(m.access()?), Error("wrong_issuer")),
        case("issuer_key_of_another_type", Standard, "/pools/partners", |m| bearer(m.oidc_ec.sign_with_header(&json!({"alg": "ES256", "kid": "oidc-ed"}), &m.oidc_claims(json!({})))?), Error("invalid_jwk")),
        case("pool_rejects_an_issuers_es256_token", Standard, "/", |m| bearer(m.oidc_ec.sign(&m.oidc_claims(json!({})))?), Error("unsupported_alg")),
        // Load-balancer user claims (`x-amzn-oidc-data`).
        case("alb_valid_padded_token", Standard, "/alb", |m| oidc_data(m.alb()?), Success(|b| {
            b == &json!({"sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "email": "alice@example.com", "signer": ALB_ARN})
        })),
        case("alb_valid_unpadded_token", Standard, "/alb", |m| {
            let header = json!({"kid": m.alb_key.kid(), "alg": "ES256", "signer": ALB_ARN, "client": ALB_CLIENT, "exp": now() + 60});
            oidc_data(m.alb_key.sign_parts(&header.to_string(), &alb_claims(ALB_IDP).to_string(), false)?)
        }, Success(|b| b["signer"] == ALB_ARN)),
        case("alb_missing_header", Standard, "/alb", |m| bearer(m.access()?), Error("missing_token")),
        case("alb_expired", Standard, "/alb", |m| oidc_data(m.alb_with(&m.alb_key, ALB_ARN, json!({"exp": now() - 60}))?), Error("expired")),
        case("alb_wrong_signer", Standard, "/alb", |m| {
            oidc_data(m.alb_with(&m.alb_key, &ALB_ARN.replace("app/test", "app/other"), json!({}))?)
        }, Error("wrong_issuer")),
        case("alb_wrong_client", Standard, "/alb", |m| oidc_data(m.alb_key.sign(ALB_ARN, "someone-else", &alb_claims(ALB_IDP))?), Error("wrong_client")),
        // At most one fetch per demo for the kid, however often it comes (a cool-down).
        case("alb_unknown_kid", Standard, "/alb", |m| oidc_data(m.alb_with(&m.alb_stranger, ALB_ARN, json!({}))?), ErrorAnd("unknown_kid", |m| {
            let hits = m.alb_keys.hits_for(m.alb_stranger.kid());
            if hits <= FRAMEWORKS.len() { Ok(()) } else { Err(format!("{hits} fetches of the unknown kid")) }
        })),
        case("alb_kid_not_a_uuid", Standard, "/alb", |m| {
            let rogue = AlbKey::generate_with_kid(NOT_A_UUID)?;
            oidc_data(m.alb_with(&rogue, ALB_ARN, json!({}))?)
        }, ErrorAnd("unknown_kid", |m| match m.alb_keys.hits_for(NOT_A_UUID) {
            0 => Ok(()),
            n => Err(format!("{n} fetches for a kid that is not a UUID")),
        })),
        case("alb_rs256_token_refused", Standard, "/alb", |m| {
            let header = json!({"kid": m.alb_key.kid(), "alg": "RS256", "signer": ALB_ARN, "client": ALB_CLIENT, "exp": now() + 60});
            oidc_data(m.main_key.sign_with_header(&header, &alb_claims(ALB_IDP))?)
        }, Error("unsupported_alg")),
        case("alb_forged_signature", Standard, "/alb", |m| {
            let impostor = AlbKey::generate_with_kid(m.alb_key.kid())?;
            oidc_data(m.alb_with(&impostor, ALB_ARN, json!({}))?)
        }, Error("bad_signature")),
        case("alb_cognito_token_in_the_alb_header", Standard, "/alb", |m| oidc_data(m.access()?), Error("unsupported_alg")),
        // A failing key server backs off: at most one fetch per demo here.
        case("alb_key_server_down", AlbDown, "/alb", |m| oidc_data(m.alb()?), ErrorAnd("jwks_unavailable", |m| {
            let hits = m.alb_down.hits();
            if hits <= FRAMEWORKS.len() { Ok(()) } else { Err(format!("{hits} fetches from a failing key server")) }
        })),
        case("alb_not_configured_is_404", RawToken, "/alb", |m| oidc_data(m.alb()?), Status(404, "not_found")),
        // The OpenAPI document: the security scheme behind Swagger UI's Authorize button.
        // Token sources: a cookie, and a query parameter on WebSocket upgrades only.
        case("cookie_token", Sources, "/", |m| cookie(format!("theme=dark; id_token={}", m.access()?)), Success(|b| b["username"] == "alice")),
        case("cookie_token_quoted", Sources, "/", |m| cookie(format!("id_token=\"{}\"", m.access()?)), Success(|b| b["username"] == "alice")),
        case("cookie_token_expired", Sources, "/", |m| cookie(format!("id_token={}", m.access_with(json!({"exp": now() - 60}))?)), Error("expired")),
        case("cookie_token_twice", Sources, "/", |m| {
            let token = m.access()?;
            cookie(format!("id_token={token}; id_token={token}"))
        }, Error("invalid_header")),
        // A token cookie in a header that is not UTF-8 is not skipped: with a second token cookie
        // beside it, the request is refused as a repeated cookie. Rocket drops that header
        // before any guard runs (a limit documented in cognito-rocket), and sees one cookie.
        rocket_differs("cookie_header_not_utf8_hides_a_second_token", Sources, "/", |m| {
            let mut first = b"x=\xff; id_token=".to_vec();
            first.extend_from_slice(m.forged_admin()?.as_bytes());
            Ok(vec![("Cookie", first), ("Cookie", format!("id_token={}", m.access()?).into())])
        }, Error("invalid_header"), Success(|b| b["username"] == "alice")),
        rocket_differs("cookie_header_not_utf8", Sources, "/", |_| cookie(b"id_token=\xff".to_vec()), Error("invalid_header"), Error("missing_token")),
        // Cookie names are read percent-decoded, as the frameworks' cookie jars read them.
        case("cookie_token_name_encoded", Sources, "/", |m| cookie(format!("id%5Ftoken={}", m.access()?)), Success(|b| b["username"] == "alice")),
        case("cookie_token_twice_one_name_encoded", Sources, "/", |m| {
            cookie(format!("id%5Ftoken={}; id_token={}", m.forged_admin()?, m.access()?))
        }, Error("invalid_header")),
        case("cookie_token_optional", Sources, "/optional", |m| cookie(format!("id_token={}", m.access()?)), Success(|b| b["authenticated"] == true)),
        case("cookie_token_without_group", Sources, "/admin", |m| cookie(format!("id_token={}", m.access()?)), Error("forbidden_group")),
        case("cookie_not_a_source_by_default", Standard, "/", |m| cookie(format!("id_token={}", m.access()?)), Error("missing_token")),
        case("header_before_cookie", Sources, "/", |m| {
            let mut headers = bearer(m.access_with(json!({"exp": now() - 60}))?)?;
            headers.push(("Cookie", format!("id_token={}", m.access()?).into()));
            Ok(headers)
        }, Error("expired")),
        case("query_token_on_websocket_upgrade", Sources, "/?access_token=", |m| upgrade(vec![(QUERY_TOKEN, m.access()?.into())]), Success(|b| b["username"] == "alice")),
        case("query_token_on_plain_get", Sources, "/?access_token=", |m| Ok(vec![(QUERY_TOKEN, m.access()?.into())]), Error("missing_token")),
        case("query_token_on_websocket_upgrade_bad", Sources, "/?access_token=", |m| upgrade(vec![(QUERY_TOKEN, m.forged_admin()?.into())]), Error("bad_signature")),
        // Query names and values are read form-decoded, as the frameworks' query parsers read them.
        case("query_token_name_encoded", Sources, "/?access%5Ftoken=", |m| upgrade(vec![(QUERY_TOKEN, m.access()?.into())]), Success(|b| b["username"] == "alice")),
        case("query_token_twice_one_name_encoded", Sources, "/?access_token=", |m| {
            upgrade(vec![(QUERY_TOKEN, format!("{}&access%5Ftoken={}", m.access()?, m.forged_admin()?).into())])
        }, Error("invalid_header")),
        case("query_token_value_encoded", Sources, "/?access_token=", |m| {
            upgrade(vec![(QUERY_TOKEN, m.access()?.replacen('.', "%2E", 1).into())])
        }, Success(|b| b["username"] == "alice")),
        case("query_not_a_source_by_default", Standard, "/?access_token=", |m| upgrade(vec![(QUERY_TOKEN, m.access()?.into())]), Error("missing_token")),
        // Paths another component could read as /admin (or /health), with a user who is not
        // an admin: each is answered as /admin would be (403), or refused.
        case("path_double_slash", Standard, "//admin", |m| bearer(m.access()?), Refused),
        case("path_dot_segment", Standard, "/./admin", |m| bearer(m.access()?), Refused),
        case("path_trailing_slash", Standard, "/admin/", |m| bearer(m.access()?), Refused),
        case("path_trailing_dot_segment", Standard, "/admin/.", |m| bearer(m.access()?), Refused),
        case("path_percent_encoded", Standard, "/%61dmin", |m| bearer(m.access()?), Refused),
        case("path_encoded_slash", Standard, "/admin%2Fx", |m| bearer(m.access()?), Refused),
        case("path_capital", Standard, "/Admin", |m| bearer(m.access()?), Refused),
        case("path_parameter", Standard, "/admin;x", |m| bearer(m.access()?), Refused),
        case("path_trailing_dot", Standard, "/admin.", |m| bearer(m.access()?), Refused),
        case("path_dot_dot", Standard, "/x/../admin", |m| bearer(m.access()?), Refused),
        case("path_absolute_form", Standard, "http://h/admin", |m| bearer(m.access()?), Refused),
        case("path_near_public", Standard, "/healthz", none, Refused),
        case("openapi_bearer_scheme", Standard, "/openapi.json", none, Success(|b| {
            b["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer" && b["paths"]["/"]["get"]["security"] == json!([{"cognito": []}])
        })),
        case("openapi_custom_header_scheme", RawToken, "/openapi.json", none, Success(|b| {
            b["components"]["securitySchemes"]["cognito"]["type"] == "apiKey" && b["components"]["securitySchemes"]["cognito"]["name"] == "X-Token"
        })),
    ]
}

/// The metadata document of `App::Resource`.
fn resource_document() -> Value {
    json!({
        "resource": RESOURCE,
        "authorization_servers": [issuer_of_main()],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["demo/read"],
        "resource_name": "Conformance API",
    })
}

/// The issuer of the pool `main`, as `pools()` sets it (its JWKS server's address is known only
/// once the fixture runs, so rows read it from there).
fn issuer_of_main() -> String {
    MAIN_ISSUER.get().cloned().unwrap_or_default()
}

static MAIN_ISSUER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// What the response to an error of `kind` carries: the status and the start of its
/// `WWW-Authenticate` challenge (`None`: no challenge, a 503 with `Retry-After`).
/// The end of the `insufficient_user_authentication` challenge of `/recent` (RFC 9470).
const STEP_UP: &str = "\", max_age=300";

fn contract(kind: &str) -> (u16, Option<&'static str>) {
    match kind {
        "missing_token" => (401, Some("Bearer")),
        "forbidden_principal" | "forbidden_group" | "forbidden_scope" => {
            (403, Some("Bearer error=\"insufficient_scope\", error_description=\""))
        }
        // Its challenge ends with what a new sign-in must satisfy (see `STEP_UP`).
        "insufficient_user_authentication" => (
            401,
            Some("Bearer error=\"insufficient_user_authentication\", error_description=\""),
        ),
        "jwks_unavailable" => (503, None),
        _ => (401, Some("Bearer error=\"invalid_token\", error_description=\"")),
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    mint: Mint,
    /// (framework, app) -> address.
    apps: Vec<((u8, u8), SocketAddr)>,
    _servers: Vec<JwksServer>,
}

fn key(framework: Framework, app: App) -> (u8, u8) {
    (framework as u8, app as u8)
}

impl Fixture {
    fn start() -> Result<Self, BoxError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (
            servers,
            [
                settings,
                raw_settings,
                alb_down_settings,
                sources_settings,
                resource_settings,
            ],
            mint,
        ) = runtime.block_on(pools())?;
        let mut apps = Vec::new();
        for framework in FRAMEWORKS {
            let variants = [
                (App::Standard, &settings),
                (App::RawToken, &raw_settings),
                (App::AlbDown, &alb_down_settings),
                (App::Sources, &sources_settings),
                (App::Resource, &resource_settings),
            ];
            for (app, settings) in variants {
                apps.push((key(framework, app), spawn_demo(framework, settings)?));
            }
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let fixture = Fixture {
            runtime,
            client,
            mint,
            apps,
            _servers: servers,
        };
        for (_, addr) in &fixture.apps {
            fixture.runtime.block_on(wait_until_up(&fixture.client, *addr))?;
        }
        Ok(fixture)
    }

    /// Runs `case` against `framework`'s demo, under [`LAYER_PREFIX`] if `layered`.
    fn run(&self, case: &Case, framework: Framework, layered: bool) -> Result<(), Failed> {
        let addr = self
            .apps
            .iter()
            .find(|(k, _)| *k == key(framework, case.app))
            .map(|(_, a)| *a)
            .ok_or("no such app")?;
        let headers = (case.headers)(&self.mint).map_err(|e| format!("minting the request: {e}"))?;
        let prefix = if layered { LAYER_PREFIX } else { "" };
        if let Expect::Refused = case.expect {
            let target = match case.path.strip_prefix("http://h") {
                Some(path) => format!("http://h{prefix}{path}"),
                None => format!("{prefix}{}", case.path),
            };
            let (status, head) = self.runtime.block_on(raw_get(addr, &target, &headers))?;
            return match status {
                400 | 401 | 403 | 404 | 405 => Ok(()),
                _ => Err(format!("GET {target} answered {status}: {head}").into()),
            };
        }
        let mut url = format!("http://{addr}{prefix}{}", case.path);
        for (_, value) in headers.iter().filter(|(name, _)| *name == QUERY_TOKEN) {
            url.push_str(std::str::from_utf8(value).map_err(|e| format!("query token: {e}"))?);
        }
        let mut request = match case.action {
            Action::Get => self.client.get(&url),
            Action::Post(body) => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(body),
            Action::Revoked(claim) => {
                self.revoke(addr, prefix, &url, &headers, claim)?;
                self.client.get(&url)
            }
        };
        for (name, value) in headers.iter().filter(|(name, _)| *name != QUERY_TOKEN) {
            let value = reqwest::header::HeaderValue::from_bytes(value).map_err(|e| format!("header {name}: {e}"))?;
            request = request.header(*name, value);
        }
        let expect = match (framework, &case.rocket_differs) {
            (Framework::Rocket, Some(rocket)) => rocket,
            _ => &case.expect,
        };
        let (status, challenge, retry_after, content_type, body) = self.runtime.block_on(async {
            let response = request.send().await?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let parts = (
                response.status().as_u16(),
                header("www-authenticate"),
                header("retry-after"),
                header("content-type"),
            );
            Ok::<_, reqwest::Error>((parts.0, parts.1, parts.2, parts.3, response.text().await?))
        })?;
        let json: Value = serde_json::from_str(&body).map_err(|_| format!("body is not JSON: {body:?}"))?;
        if !content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
        {
            return Err(format!("content-type {content_type:?}").into());
        }
        match expect {
            Expect::Success(check) => {
                if status != 200 || !check(&json) {
                    return Err(format!("expected 200 and a matching body, got {status} {body}").into());
                }
            }
            Expect::Status(expected, error) => {
                if status != *expected || json["error"] != *error {
                    return Err(format!("expected {expected} {error}, got {status} {body}").into());
                }
            }
            Expect::Refused => return Err("sent raw above".into()),
            Expect::Error(kind) | Expect::ErrorAnd(kind, _) | Expect::Challenge(kind, _) => {
                let (expected_status, expected_challenge) = contract(kind);
                if status != expected_status || json["error"] != *kind {
                    return Err(format!("expected {expected_status} {kind}, got {status} {body}").into());
                }
                let challenge_ok = match (expect, expected_challenge, challenge.as_deref()) {
                    (Expect::Challenge(_, check), _, Some(got)) => check(got),
                    (_, Some("Bearer"), Some(got)) => got == "Bearer",
                    (_, Some(prefix), Some(got)) if *kind == "insufficient_user_authentication" => {
                        got.starts_with(prefix) && got.ends_with(STEP_UP)
                    }
                    (_, Some(prefix), Some(got)) => got.starts_with(prefix) && got.ends_with('"'),
                    (_, None, None) => true,
                    _ => false,
                };
                if !challenge_ok {
                    return Err(format!("WWW-Authenticate {challenge:?} for {kind}").into());
                }
                let retry_ok = match status {
                    503 => retry_after
                        .as_deref()
                        .and_then(|s| s.parse::<u64>().ok())
                        .is_some_and(|s| s >= 1),
                    _ => retry_after.is_none(),
                };
                if !retry_ok {
                    return Err(format!("Retry-After {retry_after:?} with status {status}").into());
                }
                let members = json
                    .as_object()
                    .ok_or_else(|| format!("the body is not a JSON object: {body}"))?
                    .len();
                if members != 2 || json["message"].as_str().is_none_or(str::is_empty) {
                    return Err(format!("the body must be exactly {{error, message}}: {body}").into());
                }
                for (_, value) in &headers {
                    let echoed = value
                        .split(|&b| b == b' ')
                        .any(|part| part.len() >= 8 && body.as_bytes().windows(part.len()).any(|w| w == part));
                    if echoed {
                        return Err(format!("the body echoes the request header: {body}").into());
                    }
                }
            }
        }
        if let Expect::ErrorAnd(_, check) = expect {
            check(&self.mint)?;
        }
        Ok(())
    }
}

impl Fixture {
    /// The first half of an [`Action::Revoked`] row: the token (in `headers`) verified three
    /// times on `url` (so the token cache holds it), then revoked by its `claim` through
    /// `POST <prefix>/revoke`.
    fn revoke(&self, addr: SocketAddr, prefix: &str, url: &str, headers: &Headers, claim: &str) -> Result<(), Failed> {
        let (_, authorization) = headers
            .iter()
            .find(|(name, _)| *name == "Authorization")
            .ok_or("a revocation row sends its token in Authorization")?;
        let authorization = std::str::from_utf8(authorization).map_err(|e| e.to_string())?;
        let token = authorization.strip_prefix("Bearer ").ok_or("not a bearer token")?;
        let payload = token.split('.').nth(1).ok_or("not a JWT")?;
        let claims: Value = serde_json::from_slice(&b64_decode(payload)?).map_err(|e| e.to_string())?;
        let id = claims[claim]
            .as_str()
            .ok_or("the token lacks the claim to revoke it by")?;
        let admin = self.mint.own_session(json!(["admin"])).map_err(|e| e.to_string())?;
        self.runtime.block_on(async {
            for round in 1..=3 {
                let status = self
                    .client
                    .get(url)
                    .header("Authorization", authorization)
                    .send()
                    .await?
                    .status();
                if status != 200 {
                    return Err(format!("before the revocation, request {round} answered {status}").into());
                }
            }
            let response = self
                .client
                .post(format!("http://{addr}{prefix}/revoke"))
                .header("Authorization", format!("Bearer {admin}"))
                .header("content-type", "application/json")
                .body(json!({ claim: id }).to_string())
                .send()
                .await?;
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await?)?;
            if status != 200 || body != json!({"revoked": true}) {
                return Err(format!("POST /revoke answered {status} {body}").into());
            }
            Ok::<(), BoxError>(())
        })?;
        Ok(())
    }
}

/// Decodes base64url without padding.
fn b64_decode(text: &str) -> Result<Vec<u8>, String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|&c| c == byte).ok_or("not base64url")? as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// `GET <target>` written on the socket as given (an HTTP client would normalize the path):
/// the status and the response head.
async fn raw_get(addr: SocketAddr, target: &str, headers: &Headers) -> Result<(u16, String), BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(format!("{name}: ").as_bytes());
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(&request).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await??;
    let text = String::from_utf8_lossy(&response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    Ok((status, head))
}

/// Three pools (`main`, `us`, and `down`, whose JWKS server fails), a tenant (`acme`), a load
/// balancer, five settings variants (standard with `alb:` and the tenants file, raw token without, `alb:` whose key server fails,
/// the cookie and query token sources, and a protected resource), and what the rows mint their
/// tokens with.
async fn pools() -> Result<(Vec<JwksServer>, [CognitoSettings; 5], Mint), BoxError> {
    let main_key = SigningKey::generate("main-key")?;
    let us_key = SigningKey::generate("us-key")?;
    let down_key = SigningKey::generate("down-key")?;
    let mut small = main_key.jwk();
    small["kid"] = json!("small-key");
    small["n"] = json!(b64([0xC3u8; 128])); // a 1024-bit modulus
    let main = JwksServer::start(json!({ "keys": [main_key.jwk(), small] })).await?;
    let us = JwksServer::start(jwks(&[&us_key])).await?;
    let down = JwksServer::start(jwks(&[&down_key])).await?;
    let (oidc_ec, oidc_ed) = (EcKey::generate_p256("oidc-ec")?, EdKey::generate("oidc-ed")?);
    let oidc = JwksServer::start(jwk_set([oidc_ec.jwk(), oidc_ed.jwk()])).await?;
    down.set_reply(Reply::Status(500));
    let pool = |name: &str, id: &str, client: &str, server: &JwksServer| {
        format!(
            "  {name}:\n    region: eu-west-1\n    userpool_id: {id}\n    app_client_id: [{client}, client-b]\n    issuer: {}\n    jwks_url: {}\n",
            server.issuer(id),
            server.jwks_url(id)
        )
    };
    let pools = format!(
        "userpools:\n{}{}{}issuers:\n  partners:\n    issuer: {OIDC_ISSUER}\n    audience: [{OIDC_API}]\n    jwks_url: {}\n    algorithms: [RS256, ES256, EdDSA]\n",
        pool("main", "pool_main", CLIENT, &main),
        pool("us", "pool_us", US_CLIENT, &us),
        pool("down", "pool_down", CLIENT, &down),
        oidc.jwks_url("partners")
    );
    let alb_key = AlbKey::generate()?;
    let alb_keys = AlbKeyServer::start(&[&alb_key]).await?;
    let alb_down = AlbKeyServer::start(&[&alb_key]).await?;
    alb_down.set_reply(AlbReply::Status(500));
    let alb = |server: &AlbKeyServer| {
        format!(
            "alb:\n  region: eu-west-1\n  arns: [{ALB_ARN}]\n  client_ids: [{ALB_CLIENT}]\n  key_url: {}\n",
            server.key_url()
        )
    };
    // One tenant, `acme`, served by `main`'s key server under its own pool id and issuer.
    let tenants = std::env::temp_dir().join(format!("cognito-conformance-tenants-{}.yaml", unique_id()));
    let acme = pool("acme", "pool_acme", CLIENT, &main);
    let acme = acme
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect::<String>();
    std::fs::write(&tenants, acme)?;
    let settings = CognitoSettings::from_yaml_str(&format!(
        "{}tenants: {{file: '{}'}}\n{pools}",
        alb(&alb_keys),
        tenants.display()
    ))?;
    let raw_settings =
        CognitoSettings::from_yaml_str(&format!("jwt_header_name: X-Token\njwt_header_prefix: ''\n{pools}"))?;
    let alb_down_settings = CognitoSettings::from_yaml_str(&format!("{}{pools}", alb(&alb_down)))?;
    let sources_settings = CognitoSettings::from_yaml_str(&format!(
        "token_sources: [header, {{cookie: id_token}}, {{query: access_token}}]\n{pools}"
    ))?;
    let resource_settings = CognitoSettings::from_yaml_str(&format!(
        "resource: {{uri: '{RESOURCE}', scopes_supported: [demo/read], name: Conformance API}}\n{pools}"
    ))?;
    let _ = MAIN_ISSUER.set(main.issuer("pool_main"));
    let mint = Mint {
        main_key,
        main_issuer: main.issuer("pool_main"),
        impostor: SigningKey::generate("main-key")?,
        stranger: SigningKey::generate("nobody-knows")?,
        us_key,
        us_issuer: us.issuer("pool_us"),
        down_key,
        down_issuer: down.issuer("pool_down"),
        acme_issuer: main.issuer("pool_acme"),
        alb_key,
        alb_stranger: AlbKey::generate()?,
        alb_keys,
        alb_down,
        oidc_ec,
        oidc_ed,
    };
    Ok((
        vec![main, us, down, oidc],
        [
            settings,
            raw_settings,
            alb_down_settings,
            sources_settings,
            resource_settings,
        ],
        mint,
    ))
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let fixture = match Fixture::start() {
        Ok(fixture) => Arc::new(fixture),
        Err(e) => {
            eprintln!("conformance fixture failed to start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cases = Arc::new(cases());
    let mut names = std::collections::HashSet::new();
    if let Some(twice) = cases.iter().find(|c| !names.insert(c.name)) {
        eprintln!("two conformance cases are named {}", twice.name);
        return std::process::ExitCode::FAILURE;
    }
    let mut trials = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let layered = [(Framework::Axum, true), (Framework::Actix, true)];
        let layered = layered.into_iter().filter(|_| case.layered);
        for (framework, layered) in FRAMEWORKS.map(|f| (f, false)).into_iter().chain(layered) {
            let (fixture, cases) = (Arc::clone(&fixture), Arc::clone(&cases));
            let suffix = if layered { "-layer" } else { "" };
            let name = format!("{}::{}{suffix}", case.name, framework.name());
            trials.push(Trial::test(name, move || match cases.get(index) {
                Some(case) => fixture.run(case, framework, layered),
                None => Err("no such case".into()),
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
