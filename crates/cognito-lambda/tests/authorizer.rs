//! Every decision for each event type, through `Authorizer::handle`, from events in the exact
//! shape API Gateway sends. `tests/events/` holds the sample events of the `aws_lambda_events`
//! crate (its `src/fixtures`: `example-apigw-custom-auth-request.json` for TOKEN,
//! `example-apigw-custom-auth-request-type-request.json` for REQUEST,
//! `example-apigw-v2-custom-authorizer-v2-request.json` for HTTP API payload 2.0), which
//! follow AWS's documentation of the authorizer input; each test sets only the token header
//! and the method / route ARN on a copy. The tokens are real, signed by a real RSA key whose
//! JWKS a server on 127.0.0.1 serves.

use cognito_core::{CognitoAuth, CognitoSettings};
use cognito_lambda::{Authorizer, AuthorizerError, HttpApiResponse, Requirement};
use cognito_testkit::{JwksServer, Reply, SigningKey, access_claims, id_claims, jwks, now};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type BoxError = Box<dyn std::error::Error>;

const POOL_ID: &str = "eu-west-1_Lambda";
const CLIENT: &str = "client-a";
const SUB: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

fn event(name: &str) -> Result<Value, BoxError> {
    let path = format!("{}/tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

/// The three event kinds (and the two HTTP API answers).
#[derive(Clone, Copy, Debug)]
enum Kind {
    Token,
    Request,
    HttpApiSimple,
    HttpApiPolicy,
}

const KINDS: [Kind; 4] = [Kind::Token, Kind::Request, Kind::HttpApiSimple, Kind::HttpApiPolicy];

fn arn(method: &str, resource: &str) -> String {
    format!("arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/{method}{resource}",)
}

/// The sample event of `kind` for `METHOD /resource`, carrying `authorization` if given.
fn shaped(kind: Kind, method: &str, resource: &str, authorization: Option<&str>) -> Result<Value, BoxError> {
    let mut e = match kind {
        Kind::Token => event("token.json")?,
        Kind::Request => event("request.json")?,
        Kind::HttpApiSimple | Kind::HttpApiPolicy => event("http-api-v2.json")?,
    };
    match kind {
        Kind::Token => {
            e["methodArn"] = json!(arn(method, resource));
            e["authorizationToken"] = authorization.map_or(json!(""), |a| json!(a));
        }
        Kind::Request => {
            e["methodArn"] = json!(arn(method, resource));
            e["httpMethod"] = json!(method);
            e["path"] = json!(resource);
            e["resource"] = json!(resource);
            if let Some(value) = authorization {
                e["headers"]["Authorization"] = json!(value);
                e["multiValueHeaders"]["Authorization"] = json!([value]);
            }
        }
        Kind::HttpApiSimple | Kind::HttpApiPolicy => {
            e["routeArn"] = json!(arn(method, resource));
            e["rawPath"] = json!(resource);
            e["requestContext"]["http"]["method"] = json!(method);
            e["requestContext"]["http"]["path"] = json!(resource);
            if let Some(value) = authorization {
                // HTTP APIs send header names in lower case.
                e["headers"]["authorization"] = json!(value);
                e["identitySource"] = json!([value]);
            }
        }
    }
    Ok(e)
}

struct Fixture {
    key: SigningKey,
    server: JwksServer,
    issuer: String,
    settings: CognitoSettings,
}

impl Fixture {
    async fn new() -> Result<Self, BoxError> {
        let key = SigningKey::generate("lambda-key")?;
        let server = JwksServer::start(jwks(&[&key])).await?;
        let issuer = server.issuer(POOL_ID);
        let settings = CognitoSettings::from_yaml_str(&format!(
            "userpools:\n  main:\n    region: eu-west-1\n    userpool_id: {POOL_ID}\n    app_client_id: {CLIENT}\n    issuer: {issuer}\n    jwks_url: {}\n",
            server.jwks_url(POOL_ID)
        ))?;
        Ok(Self {
            key,
            server,
            issuer,
            settings,
        })
    }

    /// The demo's requirements.
    fn authorizer(&self, kind: Kind) -> Result<Authorizer, BoxError> {
        let response = match kind {
            Kind::HttpApiSimple => HttpApiResponse::SimpleCacheKeyIncludesRoute,
            _ => HttpApiResponse::IamPolicy,
        };
        Ok(Authorizer::new(CognitoAuth::new(&self.settings)?)
            .route("* /admin/*", Requirement::new().any_group(["admin"]))?
            .route("GET /scoped", Requirement::new().any_scope(["demo/read"]))?
            .http_api_response(response)?)
    }

    fn token(&self, groups: &[&str], scope: &str) -> Result<String, BoxError> {
        let mut claims = access_claims(&self.issuer, CLIENT);
        claims["cognito:groups"] = json!(groups);
        claims["scope"] = json!(scope);
        Ok(format!("Bearer {}", self.key.sign(&claims)?))
    }
}

/// IAM's evaluation of a policy answer for one resource ARN: an explicit `Deny` wins, then
/// any `Allow`, else deny. `*` matches any run of characters, `?` one; case-sensitive.
fn iam_allows(answer: &Value, resource: &str) -> Result<bool, String> {
    let statements = answer["policyDocument"]["Statement"]
        .as_array()
        .ok_or(format!("no statements: {answer}"))?;
    let mut allowed = false;
    for statement in statements {
        if statement["Action"] != json!(["execute-api:Invoke"]) {
            return Err(format!("action: {statement}"));
        }
        let resources = statement["Resource"]
            .as_array()
            .ok_or(format!("resources: {statement}"))?;
        let hit = resources.iter().any(|r| {
            r.as_str()
                .is_some_and(|glob| wildcard(glob.as_bytes(), resource.as_bytes()))
        });
        match statement["Effect"].as_str() {
            Some("Deny") if hit => return Ok(false),
            Some("Allow") => allowed |= hit,
            Some("Deny") => {}
            other => return Err(format!("effect {other:?}")),
        }
    }
    Ok(allowed)
}

fn wildcard(p: &[u8], t: &[u8]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], t) || (!t.is_empty() && wildcard(p, &t[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &t[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &t[1..]),
        _ => false,
    }
}

/// The decision in an answer: `true` Allow, `false` Deny, with the context; the shape of each
/// kind's answer is checked on the way.
fn decision(kind: Kind, answer: &Value, method: &str, resource: &str) -> Result<(bool, Value), String> {
    match kind {
        Kind::HttpApiSimple => {
            assert_eq!(answer.as_object().map(|o| o.len()), Some(2), "{answer}");
            let allow = answer["isAuthorized"]
                .as_bool()
                .ok_or(format!("no isAuthorized: {answer}"))?;
            Ok((allow, answer["context"].clone()))
        }
        _ => {
            assert_eq!(answer["policyDocument"]["Version"], "2012-10-17");
            assert_eq!(answer["principalId"], SUB);
            Ok((iam_allows(answer, &arn(method, resource))?, answer["context"].clone()))
        }
    }
}

async fn ask(
    f: &Fixture,
    kind: Kind,
    method: &str,
    resource: &str,
    token: Option<&str>,
) -> Result<Value, AuthorizerError> {
    let authorizer = f
        .authorizer(kind)
        .map_err(|e| AuthorizerError::InvalidEvent(e.to_string()))?;
    let event = shaped(kind, method, resource, token).map_err(|e| AuthorizerError::InvalidEvent(e.to_string()))?;
    authorizer.handle(event).await
}

#[tokio::test]
async fn allow_with_the_users_context_for_every_event_kind() -> TestResult {
    let f = Fixture::new().await?;
    let user = f.token(&[], "aws.cognito.signin.user.admin")?;
    for kind in KINDS {
        let answer = ask(&f, kind, "GET", "/request", Some(&user)).await?;
        let (allow, context) = decision(kind, &answer, "GET", "/request")?;
        assert!(allow, "{kind:?}: {answer}");
        assert_eq!(
            context,
            json!({"sub": SUB, "username": "alice", "token_use": "access", "client_id": CLIENT, "groups": ""}),
            "{kind:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn groups_are_comma_joined_and_id_tokens_name_their_client() -> TestResult {
    let f = Fixture::new().await?;
    let mut claims = id_claims(&f.issuer, CLIENT);
    claims["cognito:groups"] = json!(["admin", "ops"]);
    let token = format!("Bearer {}", f.key.sign(&claims)?);
    for kind in KINDS {
        let answer = ask(&f, kind, "GET", "/admin", Some(&token)).await?;
        let (allow, context) = decision(kind, &answer, "GET", "/admin")?;
        assert!(allow, "{kind:?}");
        assert_eq!(context["groups"], "admin,ops");
        assert_eq!(
            (context["token_use"].as_str(), context["client_id"].as_str()),
            (Some("id"), Some(CLIENT))
        );
        assert!(
            context.as_object().unwrap().values().all(Value::is_string),
            "flat: {context}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn route_requirements_allow_and_deny_for_every_event_kind() -> TestResult {
    let f = Fixture::new().await?;
    let user = f.token(&[], "")?;
    let admin = f.token(&["admin"], "")?;
    let reader = f.token(&[], "openid demo/read")?;
    #[rustfmt::skip]
    let table: [(&str, &str, &str, bool); 17] = [
        ("GET", "/admin", &user, false),
        ("GET", "/admin", &admin, true),
        ("DELETE", "/admin/users/7", &user, false),
        ("DELETE", "/admin/users/7", &admin, true),
        ("POST", "/admin/a/b/c", &admin, true),
        // `* /admin/*` covers /admin itself, for any method.
        ("POST", "/admin", &user, false),
        ("HEAD", "/admin", &user, false),
        ("GET", "/scoped", &user, false),
        // `GET` covers `HEAD`.
        ("HEAD", "/scoped", &user, false),
        ("HEAD", "/scoped", &reader, true),
        ("GET", "/scoped", &reader, true),
        ("GET", "/scoped", &admin, false),
        ("POST", "/scoped", &user, true),
        ("GET", "/", &user, true),
        ("GET", "/administrators", &user, true),
        ("GET", "/x/admin", &user, true),
        ("GET", "/.well-known/jwks.json", &user, true),
    ];
    for kind in KINDS {
        for (method, resource, token, expected) in table {
            let answer = ask(&f, kind, method, resource, Some(token)).await?;
            let (allow, context) = decision(kind, &answer, method, resource)?;
            assert_eq!(allow, expected, "{kind:?} {method} {resource}: {answer}");
            // A Deny still says whom it denied.
            assert_eq!(context["sub"], SUB);
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_401_kind_fails_the_invocation_with_exactly_unauthorized() -> TestResult {
    let f = Fixture::new().await?;
    let mut expired = access_claims(&f.issuer, CLIENT);
    expired["exp"] = json!(now() - 60);
    let mut wrong_client = access_claims(&f.issuer, CLIENT);
    wrong_client["client_id"] = json!("someone-else");
    let forged = SigningKey::generate("lambda-key")?.sign(&access_claims(&f.issuer, CLIENT))?;
    let stranger = SigningKey::generate("nobody")?.sign(&access_claims(&f.issuer, CLIENT))?;
    let tokens = [
        None,
        Some(String::new()),
        Some("Basic abc".to_owned()),
        Some("Bearer not-a-jwt".to_owned()),
        Some(format!("Bearer {}", f.key.sign(&expired)?)),
        Some(format!("Bearer {}", f.key.sign(&wrong_client)?)),
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {stranger}")),
    ];
    for kind in KINDS {
        for (i, token) in tokens.iter().enumerate() {
            // On an admin route too: authentication comes before the route's requirement.
            for (method, resource) in [("GET", "/request"), ("GET", "/admin")] {
                let err = ask(&f, kind, method, resource, token.as_deref()).await.err();
                assert!(
                    matches!(err, Some(AuthorizerError::Unauthorized(_))),
                    "{kind:?} token {i} {resource}: {err:?}"
                );
                let diagnostic = Diagnostic::from(err.unwrap());
                assert_eq!(diagnostic.error_message, "Unauthorized");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn jwks_unavailable_fails_with_another_message() -> TestResult {
    let f = Fixture::new().await?;
    f.server.set_reply(Reply::Status(500));
    let user = f.token(&[], "")?;
    for kind in KINDS {
        let err = ask(&f, kind, "GET", "/request", Some(&user)).await.err();
        let Some(AuthorizerError::Unavailable(inner)) = &err else {
            panic!("{kind:?}: {err:?}");
        };
        assert_eq!(inner.kind().as_str(), "jwks_unavailable");
        let diagnostic = Diagnostic::from(err.clone().unwrap());
        assert_ne!(diagnostic.error_message, "Unauthorized");
        assert_eq!(diagnostic.error_type, "JwksUnavailable");
        assert!(
            !diagnostic.error_message.contains(&user[7..]),
            "the token is never echoed"
        );
    }
    Ok(())
}

#[tokio::test]
async fn keys_are_prefetched_at_init_so_the_first_invocation_fetches_nothing() -> TestResult {
    let f = Fixture::new().await?;
    let authorizer = f.authorizer(Kind::Token)?;
    let report = authorizer.prefetch().await;
    assert!(report.iter().all(|s| s.result.is_ok()), "{report:?}");
    assert_eq!(f.server.hits(), 1);
    let answer = authorizer
        .handle(shaped(Kind::Token, "GET", "/request", Some(&f.token(&[], "")?))?)
        .await?;
    assert!(decision(Kind::Token, &answer, "GET", "/request")?.0);
    assert_eq!(f.server.hits(), 1);
    Ok(())
}

#[tokio::test]
async fn the_first_matching_pattern_wins_and_a_table_one_policy_cannot_express_is_refused() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings)?;
    // An open route before a closed one it overlaps: a cached policy would say Allow and
    // Deny for GET /admin/public, and IAM lets the Deny win. Refused, naming both routes.
    let err = Authorizer::new(auth.clone())
        .route("GET /admin/public", Requirement::new())?
        .route("* /admin/*", Requirement::new().any_group(["admin"]))
        .err()
        .ok_or("an open route before a closed one was accepted")?;
    assert_eq!(err.pattern(), "* /admin/*");
    assert!(err.to_string().contains("\"GET /admin/public\""), "{err}");
    // Other pools, other groups, other scopes: none implies the other.
    for (first, second) in [
        (
            Requirement::new().any_group(["admin"]),
            Requirement::new().any_group(["ops"]),
        ),
        (
            Requirement::new().any_group(["admin", "ops"]),
            Requirement::new().any_group(["ops"]),
        ),
        (
            Requirement::new().any_scope(["a"]),
            Requirement::new().any_group(["admin"]),
        ),
        (Requirement::new(), Requirement::new().any_scope(["a"])),
    ] {
        let refused = Authorizer::new(auth.clone())
            .route("/a/*", first.clone())?
            .route("GET /a/b", second.clone())
            .is_err();
        assert!(refused, "{first:?} then {second:?}");
    }
    // Implied: admins, then any user of the same pool; disjoint routes need nothing.
    let strict_first = Authorizer::new(auth.clone())
        .route("* /admin/*", Requirement::new().any_group(["admin"]))?
        .route("GET /admin/public", Requirement::new())?
        .route("/a/*", Requirement::new().any_group(["admin"]))?
        .route("/a/b", Requirement::new().any_group(["admin", "ops"]).in_pool("main"))?
        .route("/b", Requirement::new().any_group(["ops"]))?;
    let event = shaped(Kind::Token, "GET", "/admin/public", Some(&f.token(&[], "")?))?;
    let strict = strict_first.handle(event).await?;
    assert!(!decision(Kind::Token, &strict, "GET", "/admin/public")?.0);
    Ok(())
}

#[tokio::test]
async fn a_simple_response_that_names_no_route_is_refused_unless_the_cache_key_has_the_route() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings)?;
    // Routes first, then the answer kind.
    let err = Authorizer::new(auth.clone())
        .route("GET /open", Requirement::new().in_pool("main"))?
        .route("* /admin/*", Requirement::new().any_group(["admin"]))?
        .http_api_response(HttpApiResponse::Simple)
        .err()
        .ok_or("a simple response over routes that differ was accepted")?;
    assert_eq!(err.pattern(), "* /admin/*");
    assert!(err.to_string().contains("SimpleCacheKeyIncludesRoute"), "{err}");
    // The answer kind first, then the routes.
    let err = Authorizer::new(auth.clone())
        .http_api_response(HttpApiResponse::Simple)?
        .route("GET /open", Requirement::new())?
        .route("GET /scoped", Requirement::new().any_scope(["demo/read"]))
        .err()
        .ok_or("a route that differs was added to a simple-response authorizer")?;
    assert_eq!(err.pattern(), "GET /scoped");
    // Routes that all require what the default route requires: nothing to confuse.
    Authorizer::new(auth.clone())
        .route("GET /open", Requirement::new())?
        .http_api_response(HttpApiResponse::Simple)?;
    // Stated: the identity source includes the route (or the cache is off).
    let keyed = Authorizer::new(auth)
        .route("* /admin/*", Requirement::new().any_group(["admin"]))?
        .http_api_response(HttpApiResponse::SimpleCacheKeyIncludesRoute)?;
    let answer = keyed
        .handle(shaped(Kind::HttpApiSimple, "GET", "/admin", Some(&f.token(&[], "")?))?)
        .await?;
    assert_eq!(answer["isAuthorized"], false);
    Ok(())
}

#[tokio::test]
async fn ambiguous_paths_are_denied() -> TestResult {
    let f = Fixture::new().await?;
    let user = f.token(&[], "")?;
    let admin = f.token(&["admin"], "")?;
    for kind in KINDS {
        for path in [
            "/Admin",
            "/x/../admin",
            "//admin",
            "/%61dmin",
            "/admin;x",
            "/admin.",
            "/ADMIN/users",
        ] {
            let answer = ask(&f, kind, "GET", path, Some(&user)).await?;
            assert!(!decision(kind, &answer, "GET", path)?.0, "{kind:?} {path}: {answer}");
        }
        // Where no reading changes the route, a route-keyed simple response allows; an IAM
        // answer, which cannot tell, denies every percent-encoded path.
        let answer = ask(&f, kind, "GET", "/users/J%C3%B6rg", Some(&admin)).await?;
        let allowed = decision(kind, &answer, "GET", "/users/J%C3%B6rg")?.0;
        assert_eq!(allowed, matches!(kind, Kind::HttpApiSimple), "{kind:?}: {answer}");
    }
    Ok(())
}

#[tokio::test]
async fn a_route_may_name_another_pool_and_a_missing_pool_is_refused_up_front() -> TestResult {
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings)?;
    assert!(
        Authorizer::new(auth.clone())
            .route("GET /x", Requirement::new().in_pool("moon"))
            .is_err()
    );
    assert!(
        Authorizer::new(auth.clone())
            .route("GET x", Requirement::new())
            .is_err()
    );
    let authorizer = Authorizer::new(auth).route("GET /x", Requirement::new().in_pool("main"))?;
    // Core's pattern errors come through as route errors naming the pattern.
    let err = Authorizer::new(CognitoAuth::new(&f.settings)?)
        .route("GET /a?b", Requirement::new())
        .err()
        .ok_or("a ? in a route was accepted")?;
    assert_eq!(err.pattern(), "GET /a?b");
    let answer = authorizer
        .handle(shaped(Kind::Token, "GET", "/x", Some(&f.token(&[], "")?))?)
        .await?;
    assert!(decision(Kind::Token, &answer, "GET", "/x")?.0);
    Ok(())
}

#[tokio::test]
async fn events_that_are_not_authorizer_events_are_invalid() -> TestResult {
    let f = Fixture::new().await?;
    let authorizer = f.authorizer(Kind::Token)?;
    let user = f.token(&[], "")?;
    let mut no_arn = shaped(Kind::Token, "GET", "/", Some(&user))?;
    no_arn.as_object_mut().map(|o| o.remove("methodArn"));
    for bad in [json!({}), json!({"type": "OTHER"}), json!([1]), no_arn] {
        let err = authorizer.handle(bad.clone()).await.err();
        assert!(matches!(err, Some(AuthorizerError::InvalidEvent(_))), "{bad}: {err:?}");
        assert_ne!(err.map(|e| e.to_string()).as_deref(), Some("Unauthorized"));
    }
    Ok(())
}

#[tokio::test]
async fn request_events_with_the_header_twice_are_unauthorized() -> TestResult {
    let f = Fixture::new().await?;
    let authorizer = f.authorizer(Kind::Request)?;
    let user = f.token(&[], "")?;
    let mut e = shaped(Kind::Request, "GET", "/request", Some(&user))?;
    e["multiValueHeaders"]["Authorization"] = json!([user, user]);
    let err = authorizer.handle(e).await.err();
    assert!(
        matches!(&err, Some(AuthorizerError::Unauthorized(inner)) if inner.kind().as_str() == "invalid_header"),
        "{err:?}"
    );
    Ok(())
}

/// Principals, all-of scopes and the sign-in's age and context, judged for the whole table in
/// one IAM answer; out-of-range values refused when the route is added; a revoked token is
/// unauthorized (401).
#[tokio::test]
async fn principals_all_of_scopes_sign_in_and_revocation() -> TestResult {
    use cognito_core::PrincipalKind;
    let f = Fixture::new().await?;
    let auth = CognitoAuth::new(&f.settings)?;
    let authorizer = Authorizer::new(auth.clone())
        .route("GET /machine", Requirement::new().principal(PrincipalKind::Machine))?
        .route("GET /people", Requirement::new().principal(PrincipalKind::User))?
        .route("GET /recent", Requirement::new().max_auth_age_secs(300))?
        .route("GET /both", Requirement::new().all_scopes(["a", "b"]))?
        .route("GET /mfa", Requirement::new().acr_values(["mfa"]))?;
    let sign = |changes: Value| -> Result<String, BoxError> {
        let mut claims = access_claims(&f.issuer, CLIENT);
        cognito_testkit::merge_claims(&mut claims, &changes);
        Ok(format!("Bearer {}", f.key.sign(&claims)?))
    };
    let machine = format!(
        "Bearer {}",
        f.key
            .sign(&cognito_testkit::client_credentials_claims(&f.issuer, CLIENT))?
    );
    let fresh = sign(json!({"auth_time": now() - 10, "scope": "a", "acr": "pwd"}))?;
    let stale = sign(json!({"auth_time": now() - 600, "scope": "b a", "acr": "mfa"}))?;
    let routes = ["/machine", "/people", "/recent", "/both", "/mfa", "/other"];
    #[rustfmt::skip]
    let table: [(&str, [bool; 6]); 3] = [
        (&machine, [true, false, true, false, false, true]),
        (&fresh, [false, true, true, false, false, true]),
        (&stale, [false, true, false, true, true, true]),
    ];
    for (token, expected) in table {
        let answer = authorizer
            .handle(shaped(Kind::Token, "GET", "/other", Some(token))?)
            .await?;
        for (route, allowed) in routes.iter().zip(expected) {
            assert_eq!(iam_allows(&answer, &arn("GET", route))?, allowed, "{route}: {answer}");
        }
    }
    // Values that cannot work are refused when the route is added.
    let err = Authorizer::new(auth.clone())
        .route("GET /x", Requirement::new().max_auth_age_secs(0))
        .map(|_| ())
        .unwrap_err();
    assert!(err.to_string().contains("max_auth_age_secs"), "{err}");
    // A stricter route before an overlapping laxer one is fine; the other way round is not.
    Authorizer::new(auth.clone())
        .route("GET /pay/now", Requirement::new().max_auth_age_secs(60))?
        .route("GET /pay/*", Requirement::new().max_auth_age_secs(300))?;
    assert!(
        Authorizer::new(auth.clone())
            .route("GET /pay/*", Requirement::new().max_auth_age_secs(300))?
            .route("GET /pay/now", Requirement::new().max_auth_age_secs(60))
            .is_err()
    );
    // Revoked: unauthorized, whatever the route.
    auth.revocations().revoke_user_now(SUB).await?;
    let refused = authorizer
        .handle(shaped(Kind::Token, "GET", "/other", Some(&fresh))?)
        .await;
    match refused {
        Err(AuthorizerError::Unauthorized(e)) => assert_eq!(e.kind(), cognito_core::ErrorKind::Revoked),
        other => return Err(format!("expected unauthorized, got {other:?}").into()),
    }
    Ok(())
}
