//! The floor of `benches/lambda/run.sh`: the smallest `lambda_runtime` function, as its
//! documentation writes one (`#[tokio::main]`, `service_fn`), answering every event with the
//! same fixed IAM policy. What any Rust authorizer pays before it does any work.

#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({
            "principalId": "floor",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
            },
        }))
    }))
    .await
}
