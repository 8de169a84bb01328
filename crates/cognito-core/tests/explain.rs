//! `Verifier::explain` against `Verifier::verify`: for random tokens and settings, the verdict of
//! an explanation is the verification's, and its steps have the promised shape.

// Tests may unwrap, their shared helpers (outside #[test] functions) too: a panic is how a
// failure is reported.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use cognito_core::explain::{Outcome, Step};
use cognito_core::{CognitoSettings, ErrorKind, Require, Verifier};
use cognito_testkit::{JwksServer, SigningKey, access_claims, b64, id_claims, jwks, now};
use proptest::prelude::*;
use serde_json::{Value, json};

const POOL_ID: &str = "eu-west-1_Explain";
const CLIENT: &str = "client-a";

/// A JWKS server shared by every case (keys: `good`, and `enc` published with `use: enc`).
struct World {
    _runtime_server: JwksServer,
    good: SigningKey,
    enc: SigningKey,
    issuer: String,
    jwks_url: String,
    refused_url: String,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let good = SigningKey::generate("good").unwrap();
        let enc = SigningKey::generate("enc").unwrap();
        let mut enc_jwk = enc.jwk();
        enc_jwk["use"] = json!("enc");
        let mut doc = jwks(&[&good]);
        doc["keys"].as_array_mut().unwrap().push(enc_jwk);
        let server = runtime().block_on(JwksServer::start(doc)).unwrap();
        // A port that refuses connections: bound, then closed.
        let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused_url = format!("http://{}/jwks.json", refused.local_addr().unwrap());
        drop(refused);
        World {
            issuer: server.issuer(POOL_ID),
            jwks_url: server.jwks_url(POOL_ID),
            _runtime_server: server,
            good,
            enc,
            refused_url,
        }
    })
}

/// What a random case changes in the token.
#[derive(Debug, Clone)]
enum Shape {
    Valid,
    Id,
    Expired,
    NotYetValid,
    IatFuture,
    WrongIssuer,
    WrongTokenUse,
    WrongClient,
    UnknownKid,
    NoKid,
    AlgHs256,
    AlgNone,
    BadSignature,
    EncKey,
    MissingExp,
    ExpString,
    Junk(String),
    Huge,
    Groups(Vec<String>),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Valid),
        Just(Shape::Id),
        Just(Shape::Expired),
        Just(Shape::NotYetValid),
        Just(Shape::IatFuture),
        Just(Shape::WrongIssuer),
        Just(Shape::WrongTokenUse),
        Just(Shape::WrongClient),
        Just(Shape::UnknownKid),
        Just(Shape::NoKid),
        Just(Shape::AlgHs256),
        Just(Shape::AlgNone),
        Just(Shape::BadSignature),
        Just(Shape::EncKey),
        Just(Shape::MissingExp),
        Just(Shape::ExpString),
        "[A-Za-z0-9_.\\- ]{0,40}".prop_map(Shape::Junk),
        Just(Shape::Huge),
        proptest::collection::vec(prop_oneof![Just("admin".to_owned()), Just("staff".to_owned())], 0..3)
            .prop_map(Shape::Groups),
    ]
}

/// The settings of a random case.
#[derive(Debug, Clone)]
struct Setup {
    token_use: &'static str,
    other_client: bool,
    check_expiration: bool,
    leeway: u64,
    refused_keys: bool,
    require_admin: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![Just("any"), Just("access"), Just("id")],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0u64), Just(600u64)],
        proptest::bool::weighted(0.1),
        any::<bool>(),
    )
        .prop_map(
            |(token_use, other_client, check_expiration, leeway, refused_keys, require_admin)| Setup {
                token_use,
                other_client,
                check_expiration,
                leeway,
                refused_keys,
                require_admin,
            },
        )
}

fn token(w: &World, shape: &Shape) -> String {
    let mut claims = access_claims(&w.issuer, CLIENT);
    let header = json!({"kid": "good", "alg": "RS256"});
    let sign = |claims: &Value| w.good.sign(claims).unwrap();
    let with_header = |header: Value, claims: &Value| w.good.sign_with_header(&header, claims).unwrap();
    match shape {
        Shape::Valid => sign(&claims),
        Shape::Id => sign(&id_claims(&w.issuer, CLIENT)),
        Shape::Expired => {
            claims["exp"] = json!(now() - 300);
            sign(&claims)
        }
        Shape::NotYetValid => {
            claims["nbf"] = json!(now() + 1800);
            sign(&claims)
        }
        Shape::IatFuture => {
            claims["iat"] = json!(now() + 1800);
            sign(&claims)
        }
        Shape::WrongIssuer => {
            claims["iss"] = json!("https://cognito-idp.eu-west-1.amazonaws.com/other");
            sign(&claims)
        }
        Shape::WrongTokenUse => {
            claims["token_use"] = json!("refresh");
            sign(&claims)
        }
        Shape::WrongClient => {
            claims["client_id"] = json!("someone-else");
            sign(&claims)
        }
        Shape::UnknownKid => with_header(json!({"kid": "rotated", "alg": "RS256"}), &claims),
        Shape::NoKid => with_header(json!({"alg": "RS256"}), &claims),
        Shape::AlgHs256 => with_header(json!({"kid": "good", "alg": "HS256"}), &claims),
        Shape::AlgNone => format!("{}.{}.", b64(r#"{"alg":"none","kid":"good"}"#), b64(claims.to_string())),
        Shape::BadSignature => {
            let token = sign(&claims);
            let other = w.enc.sign(&claims).unwrap();
            let (input, _) = token.rsplit_once('.').unwrap();
            let (_, sig) = other.rsplit_once('.').unwrap();
            format!("{input}.{sig}")
        }
        Shape::EncKey => w.enc.sign(&claims).unwrap(),
        Shape::MissingExp => {
            claims.as_object_mut().unwrap().remove("exp");
            sign(&claims)
        }
        Shape::ExpString => {
            claims["exp"] = json!("tomorrow");
            sign(&claims)
        }
        Shape::Junk(text) => text.clone(),
        Shape::Huge => {
            claims["padding"] = json!("x".repeat(20_000));
            let _ = header;
            sign(&claims)
        }
        Shape::Groups(groups) => {
            claims["cognito:groups"] = json!(groups);
            sign(&claims)
        }
    }
}

fn verifier(w: &World, s: &Setup) -> Verifier {
    let client = if s.other_client { "client-b" } else { CLIENT };
    let url = if s.refused_keys { &w.refused_url } else { &w.jwks_url };
    let yaml = format!(
        "check_expiration: {}\nleeway_seconds: {}\nuserpools:\n  eu:\n    region: eu-west-1\n    userpool_id: {POOL_ID}\n    app_client_id: [{client}]\n    token_use: {}\n    issuer: {}\n    jwks_url: {url}\n",
        s.check_expiration, s.leeway, s.token_use, w.issuer
    );
    Verifier::new(&CognitoSettings::from_yaml_str(&yaml).unwrap()).unwrap()
}

const ADMIN: Require<'static> = Require::NONE.any_group(&["admin"]);

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_verdict_of_explain_is_the_verifiers(shape in shape(), setup in setup()) {
        let w = world();
        let token = token(w, &shape);
        let verifier = verifier(w, &setup);
        let require = if setup.require_admin { ADMIN } else { Require::NONE };
        let (explained, verified) = runtime().block_on(async {
            let explained = verifier.explain_with(&token, require).await;
            let verified = verifier.verify::<Value>(&token, require).await;
            (explained, verified)
        });
        let verified = verified.map(|_| ()).map_err(|e| e.kind());
        prop_assert_eq!(explained.verdict.as_ref().map(|v| v.as_ref().map(|_| ()).map_err(|e| e.kind())), Some(verified));

        // The shape: every check in order, the header skipped (a bare token), exactly one
        // failure for a refusal and none for a valid token, nothing but skips after it.
        let steps: Vec<Step> = explained.steps.iter().map(|s| s.step).collect();
        prop_assert_eq!(steps, Step::ALL.to_vec());
        prop_assert_eq!(explained.steps[0].outcome, Outcome::Skipped);
        let fails: Vec<usize> = explained.steps.iter().enumerate().filter(|(_, s)| s.outcome == Outcome::Fail).map(|(i, _)| i).collect();
        match verified {
            Ok(()) => {
                prop_assert!(fails.is_empty());
                prop_assert!(explained.steps[1..].iter().all(|s| s.outcome == Outcome::Pass));
            }
            Err(_) => {
                prop_assert_eq!(fails.len(), 1);
                let at = fails[0];
                prop_assert!(explained.steps[1..at].iter().all(|s| s.outcome == Outcome::Pass));
                prop_assert!(explained.steps[at + 1..].iter().all(|s| s.outcome == Outcome::Skipped));
            }
        }
        // Nothing it says holds the signature.
        if let Some((_, sig)) = token.rsplit_once('.').filter(|(_, sig)| sig.len() > 16) {
            for step in &explained.steps {
                prop_assert!(!step.detail.contains(sig));
            }
        }
    }
}

/// Which check fails for each kind a bare token can get.
#[test]
fn each_kind_fails_at_its_check() {
    let w = world();
    let base = Setup {
        token_use: "any",
        other_client: false,
        check_expiration: true,
        leeway: 0,
        refused_keys: false,
        require_admin: false,
    };
    let cases: Vec<(Shape, Setup, ErrorKind, Step)> = vec![
        (Shape::Huge, base.clone(), ErrorKind::TooLarge, Step::Size),
        (Shape::Junk("x".into()), base.clone(), ErrorKind::Malformed, Step::Parse),
        (
            Shape::AlgHs256,
            base.clone(),
            ErrorKind::UnsupportedAlg,
            Step::Algorithm,
        ),
        (Shape::NoKid, base.clone(), ErrorKind::UnknownKid, Step::Algorithm),
        (Shape::WrongIssuer, base.clone(), ErrorKind::WrongIssuer, Step::Issuer),
        (
            Shape::WrongTokenUse,
            base.clone(),
            ErrorKind::WrongTokenUse,
            Step::TokenUse,
        ),
        (Shape::WrongClient, base.clone(), ErrorKind::WrongClient, Step::Client),
        (Shape::Expired, base.clone(), ErrorKind::Expired, Step::Time),
        (Shape::NotYetValid, base.clone(), ErrorKind::NotYetValid, Step::Time),
        (Shape::UnknownKid, base.clone(), ErrorKind::UnknownKid, Step::Key),
        (Shape::EncKey, base.clone(), ErrorKind::InvalidJwk, Step::Key),
        (
            Shape::BadSignature,
            base.clone(),
            ErrorKind::BadSignature,
            Step::Signature,
        ),
        (
            Shape::Groups(vec![]),
            Setup {
                require_admin: true,
                ..base.clone()
            },
            ErrorKind::ForbiddenGroup,
            Step::Requirement,
        ),
        (
            Shape::Valid,
            Setup {
                refused_keys: true,
                ..base.clone()
            },
            ErrorKind::JwksUnavailable,
            Step::Key,
        ),
    ];
    for (shape, setup, kind, step) in cases {
        let verifier = verifier(w, &setup);
        let require = if setup.require_admin { ADMIN } else { Require::NONE };
        let explained = runtime().block_on(verifier.explain_with(&token(w, &shape), require));
        assert_eq!(explained.kind(), Some(kind), "{shape:?}");
        assert_eq!(explained.failed().map(|s| s.step), Some(step), "{shape:?}");
    }
}

/// A header value is judged from the header on; the header check can fail.
#[test]
fn a_header_value_runs_the_header_check() {
    let w = world();
    let verifier = verifier(
        w,
        &Setup {
            token_use: "any",
            other_client: false,
            check_expiration: true,
            leeway: 0,
            refused_keys: false,
            require_admin: false,
        },
    );
    let valid = token(w, &Shape::Valid);
    let ok = runtime().block_on(verifier.explain_header(&format!("Bearer  {valid}"), Require::NONE));
    assert!(ok.valid());
    assert_eq!(ok.steps[0].outcome, Outcome::Pass);
    let wrong = runtime().block_on(verifier.explain_header(&format!("Basic {valid}"), Require::NONE));
    assert_eq!(wrong.kind(), Some(ErrorKind::InvalidHeader));
    assert_eq!(wrong.failed().map(|s| s.step), Some(Step::Header));
    let expired = runtime().block_on(verifier.explain(&token(w, &Shape::Expired)));
    let time = expired.failed().map(|s| s.detail.clone()).unwrap_or_default();
    assert!(time.to_lowercase().contains("expired 5 minutes ago"), "{time}");
}
