//! Shared fixtures: a real JWKS server on 127.0.0.1, real RSA keys, real signed tokens.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use cognito_core::{AuthError, CognitoSettings, CognitoToken, ErrorKind, Require, Verifier};
use cognito_testkit::{JwksServer, SigningKey, jwks};
use serde_json::json;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;
pub(crate) type BoxError = Box<dyn std::error::Error>;

pub(crate) const POOL_ID: &str = "eu-west-1_Test1";
pub(crate) const CLIENT_A: &str = "client-a";
pub(crate) const CLIENT_B: &str = "client-b";

/// A pool whose keys come from a local server: one signing key, one server.
pub(crate) struct Fixture {
    pub key: SigningKey,
    pub server: JwksServer,
    pub issuer: String,
}

impl Fixture {
    pub(crate) async fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let key = SigningKey::generate("key-1")?;
        let server = JwksServer::start(jwks(&[&key])).await?;
        let issuer = server.issuer(POOL_ID);
        Ok(Self { key, server, issuer })
    }

    /// The pool `main`: this server's issuer and keys, both clients.
    pub(crate) fn pool(&self) -> serde_json::Value {
        json!({
            "region": "eu-west-1",
            "userpool_id": POOL_ID,
            "app_client_id": [CLIENT_A, CLIENT_B],
            "issuer": self.issuer,
            "jwks_url": self.server.jwks_url(POOL_ID),
        })
    }

    /// Settings YAML for the one pool `main`, with extra top-level lines.
    pub(crate) fn yaml(&self, extra: &str) -> Result<String, serde_yaml::Error> {
        settings_yaml(extra, &[("main", self.pool())])
    }

    pub(crate) fn settings(&self, extra: &str) -> Result<CognitoSettings, BoxError> {
        Ok(CognitoSettings::from_yaml_str(&self.yaml(extra)?)?)
    }

    pub(crate) fn verifier(&self, extra: &str) -> Result<Verifier, BoxError> {
        Ok(Verifier::new(&self.settings(extra)?)?)
    }

    pub(crate) fn access(&self) -> serde_json::Value {
        cognito_testkit::access_claims(&self.issuer, CLIENT_A)
    }

    pub(crate) fn access_token(&self) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.key.sign(&self.access())?)
    }

    /// A token over these claims, signed by the fixture's key.
    pub(crate) fn sign(&self, claims: &serde_json::Value) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.key.sign(claims)?)
    }
}

/// Settings YAML: `extra` top-level lines, then `userpools` with these pools, in this order
/// (the first is the default).
pub(crate) fn settings_yaml(extra: &str, pools: &[(&str, serde_json::Value)]) -> Result<String, serde_yaml::Error> {
    let mut userpools = serde_yaml::Mapping::new();
    for (name, pool) in pools {
        userpools.insert((*name).into(), serde_yaml::to_value(pool)?);
    }
    let settings = serde_yaml::Mapping::from_iter([("userpools".into(), userpools.into())]);
    Ok(format!("{extra}\n{}", serde_yaml::to_string(&settings)?))
}

/// The kind a verification failed with, or `None` if it passed.
pub(crate) async fn kind_of(verifier: &Verifier, token: &str) -> Option<ErrorKind> {
    verifier
        .verify::<CognitoToken>(token, Require::NONE)
        .await
        .err()
        .map(|e| e.kind())
}

pub(crate) async fn kind_with(verifier: &Verifier, token: &str, require: Require<'_>) -> Option<ErrorKind> {
    verifier
        .verify::<CognitoToken>(token, require)
        .await
        .err()
        .map(|e: AuthError| e.kind())
}

/// Polls `done` every `every` until it holds or `within` has passed; whether it held.
pub(crate) async fn eventually(within: Duration, every: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if done().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(every).await;
    }
}

/// Waits (at most 5 s) until the server has seen `n` requests; whether it has.
pub(crate) async fn wait_for_hits(server: &JwksServer, n: usize) -> bool {
    eventually(Duration::from_secs(5), Duration::from_millis(10), async || {
        server.hits() >= n
    })
    .await
}
