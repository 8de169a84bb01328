//! A `lambda_http` function (behind API Gateway, an ALB or a function URL) that verifies the
//! Cognito token itself, with `cognito-core`'s `CognitoAuth` called from the handler: the
//! same rule, status, headers and JSON body as the web adapters answer.
//!
//! ```text
//! USERPOOLS='{"eu": {"region": "eu-west-1", "userpool_id": "eu-west-1_AbCdEf123", "app_client_id": "client-a"}}' \
//!     cargo lambda watch --example lambda_http -p cognito-lambda
//! ```

use cognito_core::{CognitoAuth, CognitoSettings, CognitoToken, Require};
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let auth = CognitoAuth::new(&CognitoSettings::from_env()?)?;
    for status in auth.prefetch().await {
        eprintln!("{status}");
    }
    lambda_http::run(service_fn(move |request: Request| {
        let auth = auth.clone();
        async move { handle(&auth, request).await }
    }))
    .await
}

/// `{"sub", "username"}` of a valid token of the default pool; otherwise the error response
/// of the contract (401 / 403 / 503 with their headers and JSON body).
async fn handle(auth: &CognitoAuth, request: Request) -> Result<Response<Body>, Error> {
    let (status, headers, body) = match auth
        .default_pool()
        .authenticate::<CognitoToken>(&request, Require::NONE)
        .await
    {
        Ok(token) => (
            200,
            vec![("content-type", "application/json".to_owned())],
            serde_json::json!({ "sub": token.sub, "username": token.username() }).to_string(),
        ),
        Err(e) => {
            eprintln!("refused {}: {}", request.uri().path(), e.kind());
            (e.status(), e.headers(), e.body())
        }
    };
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Body::from(body))?)
}
