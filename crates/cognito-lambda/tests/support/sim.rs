//! A simulation of API Gateway's authorizer cache: API Gateway keys an answer by the identity
//! source (the `Authorization` header) and reuses it, for minutes, for other routes. For each
//! user and each pair of routes (first, second), the answer of a fresh invocation for the first
//! route is evaluated as API Gateway would for the second (an IAM policy as IAM evaluates it,
//! a simple response as is), and must decide as a fresh invocation for the second route does.
//! Shared by `cognito-lambda`'s tests and the demo's.

use cognito_lambda::{Authorizer, AuthorizerError};
use serde_json::{Value, json};

/// The event kinds whose answers are cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Token,
    Request,
    /// HTTP API payload 2.0, answered as the authorizer is configured.
    HttpApi,
}

/// What API Gateway does with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Allow,
    Deny,
    Unauthorized,
}

pub(crate) fn arn(method: &str, path: &str) -> String {
    format!("arn:aws:execute-api:eu-west-1:123456789012:cacheapi/prod/{method}{path}")
}

fn sample(name: &str) -> Result<Value, String> {
    let text = match name {
        "token" => include_str!("../events/token.json"),
        "request" => include_str!("../events/request.json"),
        _ => include_str!("../events/http-api-v2.json"),
    };
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The sample event of `kind` (the shape API Gateway sends) for `METHOD path` with this
/// `Authorization` value.
pub(crate) fn event(kind: Kind, method: &str, path: &str, authorization: &str) -> Result<Value, String> {
    Ok(match kind {
        Kind::Token => {
            let mut e = sample("token")?;
            e["methodArn"] = json!(arn(method, path));
            e["authorizationToken"] = json!(authorization);
            e
        }
        Kind::Request => {
            let mut e = sample("request")?;
            e["methodArn"] = json!(arn(method, path));
            e["httpMethod"] = json!(method);
            e["path"] = json!(path);
            e["headers"]["Authorization"] = json!(authorization);
            e["multiValueHeaders"]["Authorization"] = json!([authorization]);
            e
        }
        Kind::HttpApi => {
            let mut e = sample("http")?;
            e["routeArn"] = json!(arn(method, path));
            e["rawPath"] = json!(path);
            e["requestContext"]["http"]["method"] = json!(method);
            e["requestContext"]["http"]["path"] = json!(path);
            e["headers"]["authorization"] = json!(authorization);
            e["identitySource"] = json!([authorization]);
            e
        }
    })
}

/// IAM's evaluation of a policy for one resource ARN: an explicit `Deny` wins, then any
/// `Allow`, else deny. In a resource, `*` matches any run of characters and `?` one;
/// everything else itself, case-sensitively.
pub(crate) fn iam_allows(answer: &Value, resource: &str) -> Result<bool, String> {
    let statements = answer["policyDocument"]["Statement"]
        .as_array()
        .ok_or(format!("no statements: {answer}"))?;
    let mut allowed = false;
    for statement in statements {
        let action = &statement["Action"];
        if action != &json!(["execute-api:Invoke"]) && action != &json!("execute-api:Invoke") {
            return Err(format!("action: {statement}"));
        }
        let resources: Vec<&str> = match &statement["Resource"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            other => return Err(format!("resource {other}")),
        };
        let hit = resources.iter().any(|r| wildcard(r.as_bytes(), resource.as_bytes()));
        match statement["Effect"].as_str() {
            Some("Deny") if hit => return Ok(false),
            Some("Deny") => {}
            Some("Allow") => allowed |= hit,
            other => return Err(format!("effect {other:?}")),
        }
    }
    Ok(allowed)
}

/// `*` any run, `?` one character: greedy, backtracking to the last `*` only (enough for
/// wildcards, and at most pattern length times text length steps).
fn wildcard(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == b'?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// What API Gateway does with `answer` (the answer of an invocation) for `METHOD path`.
pub(crate) fn apply(answer: &Result<Value, AuthorizerError>, method: &str, path: &str) -> Result<Outcome, String> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(AuthorizerError::Unauthorized(_)) => return Ok(Outcome::Unauthorized),
        Err(other) => return Err(format!("the invocation failed: {other:?}")),
    };
    let allow = match answer.get("isAuthorized") {
        Some(simple) => simple.as_bool().ok_or(format!("isAuthorized: {answer}"))?,
        None => iam_allows(answer, &arn(method, path))?,
    };
    Ok(if allow { Outcome::Allow } else { Outcome::Deny })
}

/// For every user, every first and second route, and every kind: the fresh answer for the
/// first route, reused for the second, decides as the fresh answer for the second. Returns the
/// number of (user, first, second) triples checked, or the first disagreement.
pub(crate) async fn check_reuse(
    authorizer: &Authorizer,
    kinds: &[Kind],
    users: &[(&str, &str)],
    requests: &[(&str, &str)],
) -> Result<usize, String> {
    let mut checked = 0;
    for &kind in kinds {
        for (user, token) in users {
            let mut answers = Vec::with_capacity(requests.len());
            for (method, path) in requests {
                answers.push(authorizer.handle(event(kind, method, path, token)?).await);
            }
            for (first, answer) in requests.iter().zip(&answers) {
                for (second, second_answer) in requests.iter().zip(&answers) {
                    let reused = apply(answer, second.0, second.1)?;
                    let fresh = apply(second_answer, second.0, second.1)?;
                    if reused != fresh {
                        return Err(format!(
                            "{kind:?}, user {user}: the answer for {} {} reused for {} {} says {reused:?}, a \
                             fresh invocation {fresh:?}\nreused answer: {}",
                            first.0,
                            first.1,
                            second.0,
                            second.1,
                            answer.as_ref().map(Value::to_string).unwrap_or_default()
                        ));
                    }
                    checked += 1;
                }
            }
        }
    }
    Ok(checked)
}
