//! The `cognito` command as a user runs it: snapshots of its output (ports, tokens, paths and
//! relative times filtered out) and its exit statuses, against JWKS servers on 127.0.0.1.

// Tests may unwrap, their shared helpers (outside #[test] functions) too: a panic is how a
// failure is reported.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;
use cognito_testkit::{JwksServer, Reply, SigningKey, access_claims, b64, id_claims, jwks, now};
use serde_json::{Value, json};

const POOL_ID: &str = "eu-west-1_Cli";
const CLIENT: &str = "client-a";

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

/// A pool served by a JWKS server with a good key (`key-1`) and one published for
/// encryption (`enc`), its settings file, and a settings file whose keys cannot be had.
struct World {
    server: JwksServer,
    key: SigningKey,
    enc: SigningKey,
    issuer: String,
    settings: PathBuf,
    unavailable: PathBuf,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = SigningKey::generate("key-1").unwrap();
        let enc = SigningKey::generate("enc").unwrap();
        let mut doc = jwks(&[&key]);
        let mut enc_jwk = enc.jwk();
        enc_jwk["use"] = json!("enc");
        doc["keys"].as_array_mut().unwrap().push(enc_jwk);
        let server = runtime().block_on(JwksServer::start(doc)).unwrap();
        let issuer = server.issuer(POOL_ID);
        let dir = std::env::temp_dir().join(format!("cognito-cli-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = dir.join("cognito.yaml");
        std::fs::write(&settings, settings_yaml(&issuer, &server.jwks_url(POOL_ID))).unwrap();
        // A port that refuses connections: bound, then closed.
        let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused_url = format!("http://{}/jwks.json", refused.local_addr().unwrap());
        drop(refused);
        let unavailable = dir.join("unavailable.yaml");
        std::fs::write(&unavailable, settings_yaml(&issuer, &refused_url)).unwrap();
        World {
            server,
            key,
            enc,
            issuer,
            settings,
            unavailable,
        }
    })
}

fn settings_yaml(issuer: &str, jwks_url: &str) -> String {
    format!(
        "userpools:\n  eu:\n    region: eu-west-1\n    userpool_id: {POOL_ID}\n    app_client_id: [{CLIENT}]\n    issuer: {issuer}\n    jwks_url: {jwks_url}\n"
    )
}

fn cognito() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cognito"));
    cmd.env_remove("COGNITO_SETTINGS").env("NO_COLOR", "1");
    cmd
}

/// Exit status, stdout and stderr in one text.
fn shown(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Snapshots `text` with everything that changes from run to run filtered out.
macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            filters => vec![
                (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
                (r"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*", "[token]"),
                (r"\b1\d{9}\b", "[time]"),
                (r"\d+ (second|minute|hour|day)s?\b", "[n] ${1}s"),
                (r"\b\d+ bytes, within", "[n] bytes, within"),
                (r"It is \d+ bytes", "It is [n] bytes"),
                (r"/[^\s]*cognito-cli-tests-\d+/", "[dir]/"),
            ],
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

fn claims() -> Value {
    access_claims(&world().issuer, CLIENT)
}

fn sign(claims: &Value) -> String {
    world().key.sign(claims).unwrap()
}

fn explain(args: &[&str]) -> Output {
    cognito()
        .arg("explain")
        .arg("--settings")
        .arg(&world().settings)
        .args(args)
        .output()
        .unwrap()
}

/// One explanation per error kind: the text for people, and the exit status.
#[test]
fn explains_every_error_kind() {
    let w = world();
    let valid = sign(&claims());
    let mut expired = claims();
    expired["exp"] = json!(now() - 200);
    let mut future = claims();
    future["nbf"] = json!(now() + 3000);
    let mut wrong_issuer = claims();
    wrong_issuer["iss"] = json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other");
    let mut wrong_use = claims();
    wrong_use["token_use"] = json!("refresh");
    let mut wrong_client = claims();
    wrong_client["client_id"] = json!("client-z");
    let mut stale_sign_in = claims();
    stale_sign_in["auth_time"] = json!(now() - 3600);
    let mut huge = claims();
    huge["padding"] = json!("x".repeat(17_000));
    let (input, _) = valid.rsplit_once('.').unwrap();
    let forged_sig = w.enc.sign(&claims()).unwrap();
    let bad_signature = format!("{input}.{}", forged_sig.rsplit_once('.').unwrap().1);
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("missing_token", vec!["--header".into(), String::new()]),
        ("invalid_header", vec!["--header".into(), format!("Basic {valid}")]),
        ("too_large", vec![sign(&huge)]),
        ("malformed", vec!["not-a-jwt".into()]),
        (
            "unsupported_alg",
            vec![format!(
                "{}.{}.",
                b64(r#"{"alg":"none","kid":"key-1"}"#),
                b64(claims().to_string())
            )],
        ),
        ("wrong_issuer", vec![sign(&wrong_issuer)]),
        ("wrong_token_use", vec![sign(&wrong_use)]),
        ("wrong_client", vec![sign(&wrong_client)]),
        ("expired", vec![sign(&expired)]),
        ("not_yet_valid", vec![sign(&future)]),
        (
            "unknown_kid",
            vec![
                w.key
                    .sign_with_header(&json!({"kid": "rotated", "alg": "RS256"}), &claims())
                    .unwrap(),
            ],
        ),
        ("invalid_jwk", vec![w.enc.sign(&claims()).unwrap()]),
        ("bad_signature", vec![bad_signature]),
        (
            "forbidden_group",
            vec!["--group".into(), "admin,staff".into(), valid.clone()],
        ),
        (
            "forbidden_scope",
            vec!["--scope".into(), "demo/write".into(), valid.clone()],
        ),
        (
            "forbidden_principal",
            vec!["--principal".into(), "machine".into(), valid.clone()],
        ),
        (
            "insufficient_user_authentication",
            vec!["--max-auth-age".into(), "60".into(), sign(&stale_sign_in)],
        ),
    ];
    for (kind, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = explain(&args);
        let text = shown(&output);
        assert_eq!(output.status.code(), Some(1), "{kind}: {text}");
        assert!(text.contains(&format!("refused: {kind} (")), "{kind}: {text}");
        snapshot!(format!("explain_{kind}"), text);
    }
    // The keys cannot be had: exit 3.
    let output = cognito()
        .args(["explain", "--settings"])
        .arg(&w.unavailable)
        .arg(&valid)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    snapshot!("explain_jwks_unavailable", shown(&output));
}

#[test]
fn explains_a_valid_token_and_exits_0() {
    let mut claims = claims();
    claims["cognito:groups"] = json!(["admin"]);
    let output = explain(&["--group", "admin", &sign(&claims)]);
    assert_eq!(output.status.code(), Some(0));
    snapshot!("explain_valid", shown(&output));
}

#[test]
fn explains_json_with_every_check_in_order() {
    let w = world();
    let mut expired = claims();
    expired["exp"] = json!(now() - 200);
    let token = sign(&expired);
    let output = explain(&["--json", &token]);
    assert_eq!(output.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["kind"], "expired");
    assert_eq!(json["pool"], "eu");
    let checks: Vec<&str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "header",
            "size",
            "parse",
            "algorithm",
            "issuer",
            "token_use",
            "client",
            "time",
            "key",
            "signature",
            "requirement"
        ]
    );
    let outcomes: Vec<&str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "skipped", "pass", "pass", "pass", "pass", "pass", "pass", "fail", "skipped", "skipped", "skipped"
        ]
    );
    // The claims are what the token holds, and nothing shows its signature.
    assert_eq!(json["claims"], expired);
    let signature = token.rsplit_once('.').unwrap().1;
    assert!(!String::from_utf8_lossy(&output.stdout).contains(signature));
    let _ = w;
    snapshot!("explain_json_expired", shown(&output));
}

#[test]
fn the_claims_are_shown_exactly_as_the_token_holds_them() {
    // Member order and number spelling kept: nothing reordered or rewritten.
    let w = world();
    let now = now();
    let text = format!(
        r#"{{"token_use":"access","iss":"{}","client_id":"{CLIENT}","exp":{},"iat":{now},"big":12345678901234567890,"f":1.50}}"#,
        w.issuer,
        now + 600
    );
    let token = w
        .key
        .sign_parts("RS256", r#"{"kid":"key-1","alg":"RS256"}"#, &text)
        .unwrap();
    let output = explain(&["--json", &token]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!(r#""claims":{text}"#)), "{stdout}");
}

#[test]
fn explains_without_settings_what_it_can() {
    let token = sign(&claims());
    let output = cognito().args(["explain", &token]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    snapshot!("explain_without_settings", shown(&output));
    let output = cognito().args(["explain", "--json", "a.b"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    snapshot!("explain_without_settings_malformed", shown(&output));
}

#[test]
fn explain_reads_stdin() {
    let output = cognito()
        .args(["explain", "--settings"])
        .arg(&world().settings)
        .arg("-")
        .write_stdin(format!("{}\n", sign(&claims())))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
}

#[test]
fn usage_and_settings_errors_exit_2() {
    let dir = std::env::temp_dir().join(format!("cognito-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "userpools: {}\n").unwrap();
    let token = sign(&claims());
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "bad_settings",
            vec![
                "explain".into(),
                "--settings".into(),
                bad.display().to_string(),
                token.clone(),
            ],
        ),
        (
            "unknown_pool",
            vec![
                "explain".into(),
                "--settings".into(),
                world().settings.display().to_string(),
                "--pool".into(),
                "moon".into(),
                token.clone(),
            ],
        ),
        ("unknown_flag", vec!["explain".into(), "--colour".into()]),
        (
            "missing_settings_file",
            vec!["verify".into(), "--settings".into(), "/nonexistent/cognito.yaml".into()],
        ),
    ];
    for (name, args) in cases {
        let output = cognito().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}: {}", shown(&output));
        snapshot!(format!("usage_{name}"), shown(&output));
    }
}

#[test]
fn verify_answers_one_line_per_token_and_exits_0() {
    let mut expired = claims();
    expired["exp"] = json!(1);
    let mut input = format!("{}\n\n{}\nnot-a-token\n", sign(&claims()), sign(&expired)).into_bytes();
    input.extend_from_slice(b"\xff\xfe\n");
    let output = cognito()
        .args(["verify", "--settings"])
        .arg(&world().settings)
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    snapshot!("verify_lines", shown(&output));
}

#[test]
fn jwks_reports_keys_and_problems() {
    let w = world();
    // A set with a good key, a duplicate kid, a short key and one meant for encryption.
    let good = w.key.jwk();
    let mut short = good.clone();
    short["kid"] = json!("short");
    short["n"] = json!(b64([0xc5u8; 128]));
    let mut enc = w.enc.jwk();
    enc["use"] = json!("enc");
    let dup = w.enc.with_kid("dup").unwrap().jwk();
    let server = runtime()
        .block_on(JwksServer::start(json!({"keys": [good, short, enc, dup.clone(), dup]})))
        .unwrap();
    let url = server.jwks_url("pool");
    let output = cognito().args(["jwks", &url]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    snapshot!("jwks_problems", shown(&output));
    let output = cognito().args(["jwks", "--json", &url]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    snapshot!("jwks_problems_json", shown(&output));

    // The pool's own set, from the settings: clean but for the encryption key.
    let output = cognito()
        .args(["jwks", "--settings"])
        .arg(&w.settings)
        .args(["--pool", "eu"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    snapshot!("jwks_settings", shown(&output));

    // A server answering 500: keys unavailable, exit 3.
    server.set_reply(Reply::Status(500));
    let output = cognito().args(["jwks", &url]).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    snapshot!("jwks_unavailable", shown(&output));
    let _ = &w.server;
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["explain", "verify", "jwks", "dev", "token", "completions"] {
        let output = cognito().args([sub, "--help"]).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(text.contains("Example"), "{sub}: {text}");
        snapshot!(format!("help_{sub}"), text);
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = cognito().args(["completions", shell]).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&output.stdout).contains("explain"), "{shell}");
    }
}

/// `cognito dev` prints its URL, settings and a token; `cognito token` mints from it.
#[test]
fn dev_issuer_and_token_minting() {
    use std::io::{BufRead as _, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cognito"))
        .arg("dev")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let url = printed.lines().nth(1).unwrap().to_owned();
    let yaml: String = printed
        .lines()
        .skip_while(|l| !l.starts_with("userpools:"))
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let settings = std::env::temp_dir().join(format!("cognito-cli-tests-dev-{}.yaml", std::process::id()));
    std::fs::write(&settings, &yaml).unwrap();

    let minted = cognito()
        .args([
            "token",
            "--dev",
            &url,
            "--user",
            "bob",
            "--groups",
            "admin,staff",
            "--ttl",
            "120",
            "--id",
        ])
        .output()
        .unwrap();
    assert_eq!(minted.status.code(), Some(0), "{}", shown(&minted));
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
    assert_eq!(claims["cognito:username"], "bob");
    assert_eq!(claims["token_use"], "id");
    assert_eq!(claims["cognito:groups"], json!(["admin", "staff"]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 120);

    // Both the printed token and the minted one verify against the printed settings.
    let printed_token = printed.lines().find(|l| l.starts_with("eyJ")).unwrap().to_owned();
    for token in [&printed_token, &token] {
        let output = cognito()
            .args(["explain", "--settings"])
            .arg(&settings)
            .arg(token)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(&settings);
    snapshot!("dev", printed);

    // No issuer there: exit 3.
    let output = cognito()
        .args(["token", "--dev", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

#[test]
fn id_tokens_are_explained_too() {
    let token = sign(&id_claims(&world().issuer, CLIENT));
    let output = explain(&[&token]);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains(r#"aud "client-a" is one of the pool's app clients."#));
}
