//! What `tests/lambda/run.sh` drives the demo under `cargo lambda watch` with: a JWKS server
//! on 127.0.0.1 (and one that answers 500), the settings of each, and authorizer events for
//! every decision, written into a directory; then it serves until killed.
//!
//! ```text
//! cargo run -p cognito-lambda-authorizer-demo --example lambda_fixture -- OUT_DIR EVENTS_DIR
//! ```
//!
//! With a third argument `N` (for `benches/lambda/run.sh`), it also writes `bench.json`: the
//! pool (issuer, JWKS URL, client), `N` distinct valid tokens of `alice`, and the JWKS itself.
//!
//! `EVENTS_DIR` holds the sample events (`token.json`, `request.json`, `http-api-v2.json`,
//! the shapes API Gateway sends); each written event is one of them with the token header and
//! the method / route ARN set, named `<kind>-<expected answer>-<what>.json`, where the answer
//! is `allow`, `deny`, `unauthorized` or `unavailable`. `OUT_DIR/settings.yaml` trusts the
//! working JWKS server, `OUT_DIR/settings-down.yaml` the failing one; `OUT_DIR/ready` appears
//! last.

use std::path::{Path, PathBuf};

use cognito_testkit::{JwksServer, Reply, SigningKey, access_claims, jwks, now, unique_id};
use serde_json::{Value, json};

const POOL_ID: &str = "eu-west-1_LambdaCi";
const CLIENT: &str = "lambda-ci-client";

fn read(dir: &Path, name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(dir.join(name))?)?)
}

fn arn(method: &str, resource: &str) -> String {
    format!("arn:aws:execute-api:eu-west-1:123456789012:ci0api/prod/{method}{resource}")
}

/// The sample event of `kind` for `METHOD /resource` with this `Authorization` value.
fn event(
    events: &Path,
    kind: &str,
    method: &str,
    resource: &str,
    authorization: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(match kind {
        "token" => {
            let mut e = read(events, "token.json")?;
            e["methodArn"] = json!(arn(method, resource));
            e["authorizationToken"] = json!(authorization);
            e
        }
        "request" => {
            let mut e = read(events, "request.json")?;
            e["methodArn"] = json!(arn(method, resource));
            e["httpMethod"] = json!(method);
            e["path"] = json!(resource);
            e["resource"] = json!(resource);
            e["headers"]["Authorization"] = json!(authorization);
            e["multiValueHeaders"]["Authorization"] = json!([authorization]);
            e
        }
        _ => {
            let mut e = read(events, "http-api-v2.json")?;
            e["routeArn"] = json!(arn(method, resource));
            e["rawPath"] = json!(resource);
            e["requestContext"]["http"]["method"] = json!(method);
            e["requestContext"]["http"]["path"] = json!(resource);
            e["headers"]["authorization"] = json!(authorization);
            e["identitySource"] = json!([authorization]);
            e
        }
    })
}

fn settings(server: &JwksServer) -> String {
    format!(
        "userpools:\n  ci:\n    region: eu-west-1\n    userpool_id: {POOL_ID}\n    app_client_id: {CLIENT}\n    issuer: {}\n    jwks_url: {}\n",
        server.issuer(POOL_ID),
        server.jwks_url(POOL_ID)
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(events)) = (args.next(), args.next()) else {
        return Err("usage: lambda_fixture OUT_DIR EVENTS_DIR".into());
    };
    let distinct = match args.next() {
        Some(n) => n.parse::<usize>().map_err(|e| format!("N: {e}"))?,
        None => 0,
    };
    let (out, events) = (PathBuf::from(out), PathBuf::from(events));
    std::fs::create_dir_all(&out)?;
    let key = SigningKey::generate("lambda-ci-key")?;
    let up = JwksServer::start(jwks(&[&key])).await?;
    let down = JwksServer::start(jwks(&[&key])).await?;
    down.set_reply(Reply::Status(500));
    std::fs::write(out.join("settings.yaml"), settings(&up))?;
    std::fs::write(out.join("settings-down.yaml"), settings(&down))?;
    let token = |issuer: &str, groups: &[&str], scope: &str, exp: i64| {
        let mut claims = access_claims(issuer, CLIENT);
        claims["cognito:groups"] = json!(groups);
        claims["scope"] = json!(scope);
        claims["exp"] = json!(exp);
        key.sign(&claims).map(|t| format!("Bearer {t}"))
    };
    let issuer = up.issuer(POOL_ID);
    let later = now() + 6 * 3600;
    let user = token(&issuer, &[], "", later)?;
    let admin = token(&issuer, &["admin"], "", later)?;
    let reader = token(&issuer, &[], "demo/read", later)?;
    let expired = token(&issuer, &[], "", now() - 60)?;
    let forged = SigningKey::generate("lambda-ci-key")?
        .sign(&access_claims(&issuer, CLIENT))
        .map(|t| format!("Bearer {t}"))?;
    let down_user = token(&down.issuer(POOL_ID), &[], "", later)?;
    let cases: [(&str, &str, &str, &str, &str); 14] = [
        ("allow", "user", "GET", "/", &user),
        ("allow", "admin", "GET", "/admin", &admin),
        ("allow", "admin-subtree", "DELETE", "/admin/users/7", &admin),
        ("allow", "reader", "GET", "/scoped", &reader),
        ("deny", "user-on-admin", "GET", "/admin", &user),
        ("deny", "user-on-admin-subtree", "POST", "/admin/users", &user),
        ("deny", "no-scope", "GET", "/scoped", &admin),
        // `* /admin/*` covers /admin itself, for any method.
        ("deny", "user-post-on-admin", "POST", "/admin", &user),
        ("deny", "user-dot-segments", "GET", "/x/../admin", &user),
        ("allow", "user-head", "HEAD", "/", &user),
        ("unauthorized", "expired", "GET", "/", &expired),
        ("unauthorized", "forged", "GET", "/admin", &forged),
        ("unauthorized", "not-a-jwt", "GET", "/", "Bearer not-a-jwt"),
        ("unavailable", "jwks-down", "GET", "/", &down_user),
    ];
    for kind in ["token", "request", "http"] {
        for (answer, what, method, resource, authorization) in cases {
            let e = event(&events, kind, method, resource, authorization)?;
            std::fs::write(out.join(format!("{kind}-{answer}-{what}.json")), e.to_string())?;
        }
    }
    if distinct > 0 {
        // Distinct tokens: a fresh jti each, so none is served from a verified-token cache.
        let tokens = (0..distinct)
            .map(|_| {
                let mut claims = access_claims(&issuer, CLIENT);
                claims["jti"] = json!(unique_id());
                claims["exp"] = json!(later);
                key.sign(&claims)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bench = json!({
            "issuer": issuer,
            "jwks_url": up.jwks_url(POOL_ID),
            "client_id": CLIENT,
            "settings": out.join("settings.yaml"),
            "tokens": tokens,
            "jwks": jwks(&[&key]),
        });
        std::fs::write(out.join("bench.json"), bench.to_string())?;
    }
    std::fs::write(out.join("ready"), "")?;
    println!("lambda fixture ready in {}", out.display());
    std::future::pending::<()>().await;
    Ok(())
}
