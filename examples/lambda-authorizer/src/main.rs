//! `cognito-lambda-authorizer-demo`: serves the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`),
//! so `cargo lambda watch` / `cargo lambda invoke` drive it locally and Lambda runs it as a
//! `provided.al2023` function. Settings from `COGNITO_SETTINGS` (a `.yaml`, `.yml` or `.json`
//! file); without it a development issuer starts on 127.0.0.1 and a token is printed.
//! HTTP API events are answered with an IAM policy for the whole route table;
//! `HTTP_API_RESPONSE=simple_cache_key_includes_route` answers them with the simple response,
//! for an authorizer whose identity source includes `$context.routeKey` (or whose cache is off).
//! `JWKS_SEED_FILE` names the default pool's JWKS saved in advance (say, deployed with the
//! function): init then fetches nothing, and the keys are refreshed as usual later.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use cognito_core::CognitoAuth;
use cognito_lambda_authorizer_demo::{authorizer, http_api_response};

const NAME: &str = "cognito-lambda-authorizer-demo";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let settings = cognito_demo_support::settings(NAME, |token| {
        println!("cargo lambda invoke {NAME} --data-ascii '{{\"type\":\"TOKEN\",\"authorizationToken\":\"Bearer {token}\",\"methodArn\":\"arn:aws:execute-api:eu-west-1:123456789012:demo/prod/GET/admin\"}}'\n");
    })
    .map_err(|e| e.to_string())?;
    let response = http_api_response(std::env::var("HTTP_API_RESPONSE").ok().as_deref())?;
    let auth = CognitoAuth::new(&settings)?;
    if let Ok(path) = std::env::var("JWKS_SEED_FILE") {
        let jwks = std::fs::read(&path).map_err(|e| format!("JWKS_SEED_FILE {path:?}: {e}"))?;
        let pool = auth.default_pool().pool().to_owned();
        auth.seed_keys(&pool, &jwks)?;
    }
    let authorizer = authorizer(auth, response)?;
    cognito_lambda::run(authorizer).await
}
