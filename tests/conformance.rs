//! The cross-framework conformance suite: ONE table of HTTP cases, each run against the axum,
//! actix-web and rocket demos (the verification order, the error responses and the demo
//! routes of docs/contract.md), served in-process on ephemeral ports of 127.0.0.1 and talking
//! to real JWKS servers with real RSA keys.
//!
//! Each case becomes one test named `<case>::<framework>`, so a row added to `cases()` runs in
//! all three frameworks. Where rocket knowingly answers otherwise (a limit documented in
//! cognito-rocket), the row states rocket's answer too, so the difference fails loudly if it
//! ever changes. For every error row the suite checks the status, the `error` kind, the
//! `WWW-Authenticate` challenge of that kind, `Retry-After` on 503, a JSON body
//! of exactly `error` and `message`, and that the request's header value is not echoed.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cognito_core::CognitoSettings;
use cognito_testkit::{
    JwksServer, Reply, SigningKey, access_claims, b64, client_credentials_claims, id_claims, jwks, now,
};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};

use support::{BoxError, FRAMEWORKS, Framework, spawn_demo, wait_until_up};

const CLIENT: &str = "client-a";
const US_CLIENT: &str = "client-us";

/// Which configuration of the demo a case talks to.
#[derive(Clone, Copy)]
enum App {
    /// `Authorization: Bearer <token>`.
    Standard,
    /// `X-Token: <token>`: a custom header name and an empty prefix (the raw token).
    RawToken,
}

/// What the response must be.
enum Expect {
    /// 200, and this check of the JSON body.
    Ok(fn(&Value) -> bool),
    /// An error of this kind; status and challenge follow from the kind (see `contract`).
    Error(&'static str),
    /// This status with this `error` member (responses the demos give before any auth).
    Status(u16, &'static str),
}

/// Request headers: name and raw value (bytes, so a value need not be UTF-8).
type Headers = Vec<(&'static str, Vec<u8>)>;

struct Case {
    name: &'static str,
    app: App,
    path: &'static str,
    /// The request headers, built from the tokens of the fixture.
    headers: fn(&Tokens) -> Headers,
    expect: Expect,
    /// Rocket's answer where it knowingly differs from axum and actix (a limit documented in
    /// cognito-rocket); `None`: the same as theirs.
    rocket_differs: Option<Expect>,
}

/// Real tokens for every situation of the table.
struct Tokens {
    access: String,
    id: String,
    client_credentials: String,
    admin: String,
    reader: String,
    tenant: String,
    too_large: String,
    unsupported_alg: String,
    wrong_issuer: String,
    wrong_token_use: String,
    wrong_client: String,
    expired: String,
    not_yet_valid: String,
    unknown_kid: String,
    invalid_jwk: String,
    bad_signature: String,
    us_pool: String,
    down_pool: String,
}

fn bearer(token: &str) -> Headers {
    vec![("Authorization", format!("Bearer {token}").into())]
}

/// A value that is not UTF-8.
const NOT_UTF8: &[u8] = b"Bearer \xff\xfe";

fn none(_: &Tokens) -> Headers {
    Vec::new()
}

#[rustfmt::skip] // a table reads best as one row per line
fn cases() -> Vec<Case> {
    use App::{RawToken, Standard};
    use Expect::{Error, Ok, Status};
    let case = |name, app, path, headers, expect| Case { name, app, path, headers, expect, rocket_differs: None };
    let rocket_differs = |name, app, path, headers, expect, rocket| Case { name, app, path, headers, expect, rocket_differs: Some(rocket) };
    vec![
        case("health", Standard, "/health", none, Ok(|b| b == &json!({"status": "ok"}))),
        // Accepted tokens, and the demo's user body.
        case("access_token", Standard, "/", |t| bearer(&t.access), Ok(|b| {
            b["username"] == "alice" && b["client_id"] == CLIENT && b["token_use"] == "access" && b["groups"] == json!([])
                && b["sub"].is_string()
        })),
        case("id_token", Standard, "/", |t| bearer(&t.id), Ok(|b| {
            b["username"] == "alice" && b["client_id"] == CLIENT && b["token_use"] == "id"
        })),
        case("client_credentials_token", Standard, "/", |t| bearer(&t.client_credentials), Ok(|b| {
            b["username"].is_null() && b["client_id"] == CLIENT && b["sub"] == CLIENT
        })),
        // Header edge cases.
        case("lowercase_scheme", Standard, "/", |t| vec![("Authorization", format!("bearer {}", t.access).into())], Ok(|b| b["username"] == "alice")),
        case("repeated_spaces", Standard, "/", |t| vec![("Authorization", format!("Bearer    {}", t.access).into())], Ok(|b| b["username"] == "alice")),
        case("missing_token", Standard, "/", none, Error("missing_token")),
        case("empty_header", Standard, "/", |_| vec![("Authorization", Vec::new())], Error("missing_token")),
        case("basic_scheme", Standard, "/", |t| vec![("Authorization", format!("Basic {}", t.access).into())], Error("invalid_header")),
        case("bearer_alone", Standard, "/", |_| vec![("Authorization", "Bearer".into())], Error("invalid_header")),
        case("extra_parts", Standard, "/", |t| vec![("Authorization", format!("Bearer {} extra", t.access).into())], Error("invalid_header")),
        case("header_twice", Standard, "/", |t| {
            vec![("Authorization", format!("Bearer {}", t.access).into()), ("Authorization", format!("Bearer {}", t.access).into())]
        }, Error("invalid_header")),
        // Values that are not UTF-8: rocket 0.5 drops them before any guard runs (a limit
        // documented in cognito-rocket), so it sees no header, or only the valid one.
        rocket_differs("not_utf8", Standard, "/", |_| vec![("Authorization", NOT_UTF8.into())], Error("invalid_header"), Error("missing_token")),
        rocket_differs("header_twice_second_not_utf8", Standard, "/", |t| {
            vec![("Authorization", format!("Bearer {}", t.access).into()), ("Authorization", NOT_UTF8.into())]
        }, Error("invalid_header"), Ok(|b| b["username"] == "alice")),
        case("markup_is_not_echoed", Standard, "/", |_| vec![("Authorization", "<script>alert(1)</script> x".into())], Error("invalid_header")),
        case("raw_token_in_custom_header", RawToken, "/", |t| vec![("X-Token", t.access.clone().into())], Ok(|b| b["username"] == "alice")),
        case("raw_token_app_rejects_a_scheme", RawToken, "/", |t| vec![("X-Token", format!("Bearer {}", t.access).into())], Error("invalid_header")),
        case("raw_token_app_ignores_authorization", RawToken, "/", |t| bearer(&t.access), Error("missing_token")),
        // One row per remaining error kind.
        case("too_large", Standard, "/", |t| bearer(&t.too_large), Error("too_large")),
        case("malformed", Standard, "/", |_| bearer("not.a.jwt"), Error("malformed")),
        case("unsupported_alg", Standard, "/", |t| bearer(&t.unsupported_alg), Error("unsupported_alg")),
        case("wrong_issuer", Standard, "/", |t| bearer(&t.wrong_issuer), Error("wrong_issuer")),
        case("wrong_token_use", Standard, "/", |t| bearer(&t.wrong_token_use), Error("wrong_token_use")),
        case("wrong_client", Standard, "/", |t| bearer(&t.wrong_client), Error("wrong_client")),
        case("expired", Standard, "/", |t| bearer(&t.expired), Error("expired")),
        case("not_yet_valid", Standard, "/", |t| bearer(&t.not_yet_valid), Error("not_yet_valid")),
        case("unknown_kid", Standard, "/", |t| bearer(&t.unknown_kid), Error("unknown_kid")),
        case("invalid_jwk", Standard, "/", |t| bearer(&t.invalid_jwk), Error("invalid_jwk")),
        case("bad_signature", Standard, "/", |t| bearer(&t.bad_signature), Error("bad_signature")),
        case("jwks_unavailable", Standard, "/pools/down", |t| bearer(&t.down_pool), Error("jwks_unavailable")),
        // Groups and scopes.
        case("forbidden_group", Standard, "/admin", |t| bearer(&t.access), Error("forbidden_group")),
        case("admin_group", Standard, "/admin", |t| bearer(&t.admin), Ok(|b| b["groups"] == json!(["admin"]))),
        case("forbidden_scope", Standard, "/scoped", |t| bearer(&t.access), Error("forbidden_scope")),
        case("reader_scope", Standard, "/scoped", |t| bearer(&t.reader), Ok(|b| b["username"] == "alice")),
        case("admin_route_without_token", Standard, "/admin", none, Error("missing_token")),
        case("admin_route_with_a_forged_admin", Standard, "/admin", |t| bearer(&t.bad_signature), Error("bad_signature")),
        // Optional authentication.
        case("optional_absent", Standard, "/optional", none, Ok(|b| b == &json!({"authenticated": false}))),
        case("optional_empty", Standard, "/optional", |_| vec![("Authorization", Vec::new())], Ok(|b| b == &json!({"authenticated": false}))),
        case("optional_valid", Standard, "/optional", |t| bearer(&t.access), Ok(|b| b["authenticated"] == true && b["sub"].is_string())),
        case("optional_expired_is_not_anonymous", Standard, "/optional", |t| bearer(&t.expired), Error("expired")),
        case("optional_forged_is_not_anonymous", Standard, "/optional", |t| bearer(&t.bad_signature), Error("bad_signature")),
        case("optional_bad_scheme_is_not_anonymous", Standard, "/optional", |t| vec![("Authorization", format!("Basic {}", t.access).into())], Error("invalid_header")),
        rocket_differs("optional_not_utf8_is_not_anonymous", Standard, "/optional", |_| vec![("Authorization", NOT_UTF8.into())], Error("invalid_header"), Ok(|b| b == &json!({"authenticated": false}))),
        // A custom claims type with a `custom:` attribute.
        case("custom_claims", Standard, "/custom", |t| bearer(&t.tenant), Ok(|b| b["tenant"] == "acme" && b["sub"].is_string())),
        case("custom_claims_absent_attribute", Standard, "/custom", |t| bearer(&t.access), Ok(|b| b["tenant"].is_null())),
        case("custom_claims_expired", Standard, "/custom", |t| bearer(&t.expired), Error("expired")),
        // The second pool.
        case("second_pool", Standard, "/pools/us", |t| bearer(&t.us_pool), Ok(|b| b["client_id"] == US_CLIENT)),
        case("second_pool_rejects_the_first_pools_token", Standard, "/pools/us", |t| bearer(&t.access), Error("wrong_issuer")),
        case("first_pool_rejects_the_second_pools_token", Standard, "/", |t| bearer(&t.us_pool), Error("wrong_issuer")),
        case("named_default_pool", Standard, "/pools/main", |t| bearer(&t.access), Ok(|b| b["username"] == "alice")),
        case("unknown_pool_is_404_before_auth", Standard, "/pools/nope", none, Status(404, "not_found")),
        // The OpenAPI document: the security scheme behind Swagger UI's Authorize button.
        case("openapi_bearer_scheme", Standard, "/openapi.json", none, Ok(|b| {
            b["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer" && b["paths"]["/"]["get"]["security"] == json!([{"cognito": []}])
        })),
        case("openapi_custom_header_scheme", RawToken, "/openapi.json", none, Ok(|b| {
            b["components"]["securitySchemes"]["cognito"]["type"] == "apiKey" && b["components"]["securitySchemes"]["cognito"]["name"] == "X-Token"
        })),
    ]
}

/// What the response to an error of `kind` carries: the status and the start of its
/// `WWW-Authenticate` challenge (`None`: no challenge, a 503 with `Retry-After`).
fn contract(kind: &str) -> (u16, Option<&'static str>) {
    match kind {
        "missing_token" => (401, Some("Bearer")),
        "forbidden_group" | "forbidden_scope" => {
            (403, Some("Bearer error=\"insufficient_scope\", error_description=\""))
        }
        "jwks_unavailable" => (503, None),
        _ => (401, Some("Bearer error=\"invalid_token\", error_description=\"")),
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    tokens: Tokens,
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
        let (servers, settings, raw_settings, tokens) = runtime.block_on(pools_and_tokens())?;
        let mut apps = Vec::new();
        for framework in FRAMEWORKS {
            for (app, settings) in [(App::Standard, &settings), (App::RawToken, &raw_settings)] {
                apps.push((key(framework, app), spawn_demo(framework, settings)?));
            }
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let fixture = Fixture {
            runtime,
            client,
            tokens,
            apps,
            _servers: servers,
        };
        for (_, addr) in &fixture.apps {
            fixture.runtime.block_on(wait_until_up(&fixture.client, *addr))?;
        }
        Ok(fixture)
    }

    fn run(&self, case: &Case, framework: Framework) -> Result<(), Failed> {
        let addr = self
            .apps
            .iter()
            .find(|(k, _)| *k == key(framework, case.app))
            .map(|(_, a)| *a)
            .ok_or("no such app")?;
        let headers = (case.headers)(&self.tokens);
        let mut request = self.client.get(format!("http://{addr}{}", case.path));
        for (name, value) in &headers {
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
            Expect::Ok(check) => {
                if status != 200 || !check(&json) {
                    return Err(format!("expected 200 and a matching body, got {status} {body}").into());
                }
            }
            Expect::Status(expected, error) => {
                if status != *expected || json["error"] != *error {
                    return Err(format!("expected {expected} {error}, got {status} {body}").into());
                }
            }
            Expect::Error(kind) => {
                let (expected_status, expected_challenge) = contract(kind);
                if status != expected_status || json["error"] != *kind {
                    return Err(format!("expected {expected_status} {kind}, got {status} {body}").into());
                }
                let challenge_ok = match (expected_challenge, challenge.as_deref()) {
                    (Some("Bearer"), Some(got)) => got == "Bearer",
                    (Some(prefix), Some(got)) => got.starts_with(prefix) && got.ends_with('"'),
                    (None, None) => true,
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
        Ok(())
    }
}

/// Three pools (`main`, `us`, and `down`, whose JWKS server fails), two settings variants, and
/// every token of the table.
async fn pools_and_tokens() -> Result<(Vec<JwksServer>, CognitoSettings, CognitoSettings, Tokens), BoxError> {
    let main_key = SigningKey::generate("main-key")?;
    let us_key = SigningKey::generate("us-key")?;
    let down_key = SigningKey::generate("down-key")?;
    let mut small = main_key.jwk();
    small["kid"] = json!("small-key");
    small["n"] = json!(b64([0xC3u8; 128])); // a 1024-bit modulus
    let main = JwksServer::start(json!({ "keys": [main_key.jwk(), small] })).await?;
    let us = JwksServer::start(jwks(&[&us_key])).await?;
    let down = JwksServer::start(jwks(&[&down_key])).await?;
    down.set_reply(Reply::Status(500));
    let pool = |name: &str, id: &str, client: &str, server: &JwksServer| {
        format!(
            "  {name}:\n    region: eu-west-1\n    userpool_id: {id}\n    app_client_id: [{client}, client-b]\n    issuer: {}\n    jwks_url: {}\n",
            server.issuer(id),
            server.jwks_url(id)
        )
    };
    let pools = format!(
        "userpools:\n{}{}{}",
        pool("main", "pool_main", CLIENT, &main),
        pool("us", "pool_us", US_CLIENT, &us),
        pool("down", "pool_down", CLIENT, &down)
    );
    let settings = CognitoSettings::from_yaml_str(&pools)?;
    let raw_settings =
        CognitoSettings::from_yaml_str(&format!("jwt_header_name: X-Token\njwt_header_prefix: ''\n{pools}"))?;

    let issuer = main.issuer("pool_main");
    let access = access_claims(&issuer, CLIENT);
    let with = |changes: Value| {
        let mut claims = access.clone();
        for (k, v) in changes.as_object().into_iter().flatten() {
            claims[k] = v.clone();
        }
        main_key.sign(&claims)
    };
    // Same kid, another key: a forged admin.
    let mut forged_admin = access.clone();
    forged_admin["cognito:groups"] = json!(["admin"]);
    let tokens = Tokens {
        access: main_key.sign(&access)?,
        id: main_key.sign(&id_claims(&issuer, CLIENT))?,
        client_credentials: main_key.sign(&client_credentials_claims(&issuer, CLIENT))?,
        admin: with(json!({"cognito:groups": ["admin"]}))?,
        reader: with(json!({"scope": "openid demo/read"}))?,
        tenant: with(json!({"custom:tenant": "acme"}))?,
        too_large: with(json!({"padding": "x".repeat(17_000)}))?,
        unsupported_alg: main_key.sign_with_header(&json!({"alg": "HS256", "kid": "main-key"}), &access)?,
        wrong_issuer: with(json!({"iss": us.issuer("pool_us")}))?,
        wrong_token_use: with(json!({"token_use": "refresh"}))?,
        wrong_client: with(json!({"client_id": "someone-else"}))?,
        expired: with(json!({"exp": now() - 60}))?,
        not_yet_valid: with(json!({"nbf": now() + 3600}))?,
        unknown_kid: SigningKey::generate("nobody-knows")?.sign(&access)?,
        invalid_jwk: main_key.sign_with_header(&json!({"alg": "RS256", "kid": "small-key"}), &access)?,
        bad_signature: SigningKey::generate("main-key")?.sign(&forged_admin)?,
        us_pool: us_key.sign(&access_claims(&us.issuer("pool_us"), US_CLIENT))?,
        down_pool: down_key.sign(&access_claims(&down.issuer("pool_down"), CLIENT))?,
    };
    Ok((vec![main, us, down], settings, raw_settings, tokens))
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
    let mut trials = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        for framework in FRAMEWORKS {
            let (fixture, cases) = (Arc::clone(&fixture), Arc::clone(&cases));
            let name = format!("{}::{}", case.name, framework.name());
            trials.push(Trial::test(name, move || match cases.get(index) {
                Some(case) => fixture.run(case, framework),
                None => Err("no such case".into()),
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
