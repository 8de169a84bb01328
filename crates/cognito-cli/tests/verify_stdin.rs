//! `cognito verify`, run as a process against a JWKS server on 127.0.0.1: every line judged,
//! memory bounded whatever the input.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use cognito_testkit::{DevIssuer, b64};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The default `max_token_bytes` of the settings `DevIssuer` writes.
const MAX_TOKEN_BYTES: usize = 16384;

/// A settings file for `dev`, removed on drop; `name` keeps the tests of this binary apart.
struct SettingsFile(PathBuf);

impl SettingsFile {
    fn write(dev: &DevIssuer, name: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("cognito-cli-verify-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, dev.settings_yaml())?;
        Ok(Self(path))
    }
}

impl Drop for SettingsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn spawn(settings: &SettingsFile) -> std::io::Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_cognito"))
        .arg("verify")
        .arg("--settings")
        .arg(&settings.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
}

/// Runs the filter over `input`; its exit status and its verdicts, one JSON value per line.
async fn run(
    dev: &DevIssuer,
    name: &str,
    input: &[u8],
) -> Result<(ExitStatus, Vec<Value>), Box<dyn std::error::Error>> {
    let settings = SettingsFile::write(dev, name)?;
    let mut child = spawn(&settings)?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    stdin.write_all(input).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    let verdicts = String::from_utf8(output.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    Ok((output.status, verdicts))
}

/// `(valid, kind)` of each verdict.
fn summary(verdicts: &[Value]) -> Vec<(bool, Value)> {
    verdicts
        .iter()
        .map(|v| (v["valid"] == true, v["kind"].clone()))
        .collect()
}

fn rejected(kind: &str) -> (bool, Value) {
    (false, json!(kind))
}

#[tokio::test]
async fn verifies_each_line_and_reports_each_verdict() -> TestResult {
    let dev = DevIssuer::start().await?;
    let mut expired = cognito_testkit::access_claims(&dev.issuer(), DevIssuer::CLIENT_ID);
    expired["exp"] = json!(1);
    let input = format!(
        "{}\n\n{}\nnot-a-token\n{}.{}.\n",
        dev.access_token(&[], "openid")?,
        dev.sign(&expired)?,
        b64(r#"{"alg":"none"}"#),
        b64("{}")
    );
    let (status, verdicts) = run(&dev, "each", input.as_bytes()).await?;
    assert!(status.success());
    assert_eq!(
        summary(&verdicts),
        [
            (true, Value::Null),
            rejected("expired"),
            rejected("malformed"),
            rejected("malformed")
        ]
    );
    assert_eq!(verdicts[0]["username"], "alice");
    Ok(())
}

#[tokio::test]
async fn a_line_that_is_not_utf8_is_malformed_and_the_next_is_still_judged() -> TestResult {
    let dev = DevIssuer::start().await?;
    let (status, verdicts) = run(&dev, "utf8", b"a.b.c\n\xff\xfe\nx.y.z\n").await?;
    assert!(status.success(), "exit status {status}");
    assert_eq!(
        summary(&verdicts),
        [rejected("malformed"), rejected("malformed"), rejected("malformed")]
    );
    assert_eq!(verdicts[1]["message"], "The token is not a well-formed Cognito JWT.");
    Ok(())
}

#[tokio::test]
async fn lines_around_max_token_bytes() -> TestResult {
    let dev = DevIssuer::start().await?;
    let token = dev.access_token(&[], "openid")?;
    let at_max = "a".repeat(MAX_TOKEN_BYTES);
    let one_over = "a".repeat(MAX_TOKEN_BYTES + 1);
    let two_over = "a".repeat(MAX_TOKEN_BYTES + 2);
    // CRLF line ends, a line of exactly the bound, one and two bytes over it (the second
    // overflows the read buffer itself), and a last line without a newline.
    let input = format!("{token}\r\n{at_max}\r\n{one_over}\n{two_over}\r\n{one_over}\r\n{token}");
    let (status, verdicts) = run(&dev, "bound", input.as_bytes()).await?;
    assert!(status.success());
    assert_eq!(
        summary(&verdicts),
        [
            (true, Value::Null),
            rejected("malformed"),
            rejected("too_large"),
            rejected("too_large"),
            rejected("too_large"),
            (true, Value::Null),
        ]
    );
    assert_eq!(verdicts[3]["message"], "The token is larger than this service accepts.");
    Ok(())
}

/// The peak resident set of a running process, in bytes (Linux only).
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .ok_or("no VmHWM in /proc/<pid>/status")?
        .trim()
        .parse::<u64>()?;
    Ok(kib * 1024)
}

#[tokio::test]
async fn a_huge_line_is_too_large_without_being_held_and_the_next_is_still_judged() -> TestResult {
    const HUGE: usize = 10 * 1024 * 1024;
    let dev = DevIssuer::start().await?;
    let settings = SettingsFile::write(&dev, "huge")?;
    let mut child = spawn(&settings)?;
    let pid = child.id().ok_or("no pid")?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut verdicts = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let token = dev.access_token(&[], "openid")?;

    // A first token warms up everything else (runtime, JWKS fetch, key cache), so that what
    // the process holds afterwards is the baseline.
    stdin.write_all(format!("{token}\n").as_bytes()).await?;
    let first: Value = serde_json::from_str(&verdicts.next_line().await?.ok_or("no first verdict")?)?;
    assert_eq!(first["valid"], true);
    #[cfg(target_os = "linux")]
    let baseline = peak_rss(pid)?;

    let mut huge = vec![b'a'; HUGE];
    huge.push(b'\n');
    stdin.write_all(&huge).await?;
    stdin.write_all(format!("{token}\n").as_bytes()).await?;
    let mut next = Vec::new();
    for _ in 0..2 {
        next.push(serde_json::from_str::<Value>(
            &verdicts.next_line().await?.ok_or("missing verdict")?,
        )?);
    }
    assert_eq!(summary(&next), [rejected("too_large"), (true, Value::Null)]);
    assert_eq!(next[1]["username"], "alice");

    // The line is dropped as it is read: the peak resident set grows by far less than the
    // line (measured while the process still runs, before stdin closes).
    #[cfg(target_os = "linux")]
    {
        let growth = peak_rss(pid)?.saturating_sub(baseline);
        assert!(
            growth < (HUGE / 4) as u64,
            "peak RSS grew by {growth} bytes over a {HUGE}-byte line"
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = pid;

    drop(stdin);
    assert_eq!(verdicts.next_line().await?, None);
    assert!(child.wait().await?.success());
    Ok(())
}
