//! The floor of `benches/lambda/run.sh`: the smallest `lambda_runtime` function, as its
//! documentation writes one (`service_fn` on tokio's default multi-thread runtime, what
//! `#[tokio::main]` builds), answering every event with the same fixed IAM policy: what any
//! Rust authorizer pays before it does any work. With `FLOOR_CURRENT_THREAD` set, the same on
//! a current-thread runtime, as the authorizer runs (the stricter floor).

#![forbid(unsafe_code)]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

fn main() -> Result<(), Error> {
    let mut builder = if std::env::var_os("FLOOR_CURRENT_THREAD").is_some() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()?
        .block_on(lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async {
            Ok::<_, Error>(json!({
                "principalId": "floor",
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}],
                },
            }))
        })))
}
