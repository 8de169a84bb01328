//! `cognito`: explain why a Cognito token is accepted or refused, verify tokens on stdin,
//! inspect a pool's JWKS, and run a development issuer, all through cognito-core's own code.
//!
//! Exit status: 0 valid, 1 refused, 2 usage or settings error, 3 keys unavailable.

mod dev;
mod explain;
mod jwks;
mod output;
mod verify;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};
use cognito_core::{CognitoAuth, CognitoSettings};

/// The token is valid (or every line was judged).
pub(crate) const EXIT_VALID: u8 = 0;
/// The token is refused.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// A usage or settings error.
pub(crate) const EXIT_USAGE: u8 = 2;
/// The keys (or the development issuer) cannot be had.
pub(crate) const EXIT_UNAVAILABLE: u8 = 3;

/// Explain, verify and mint AWS Cognito tokens, with the cognito-rs library's own rules.
#[derive(Debug, Parser)]
#[command(name = "cognito", version, about, long_about = None)]
#[command(after_help = "Exit status: 0 valid, 1 refused, 2 usage or settings error, 3 keys unavailable.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a token and say how each check of the verification goes, and why.
    #[command(after_help = "Examples:
  cognito explain --settings cognito.yaml eyJraWQiOi...
  pbpaste | cognito explain --settings cognito.yaml --json -
  cognito explain eyJraWQiOi...            # no settings: decodes and checks what it can")]
    Explain(explain::Args),
    /// Verify tokens read on stdin, one per line: one JSON verdict per line.
    #[command(after_help = "Example:
  cognito verify --settings cognito.yaml < tokens.txt
  # {\"valid\":false,\"kind\":\"expired\",\"message\":\"The token has expired.\"}")]
    Verify(verify::Args),
    /// Fetch a pool's key set(s) and report every key and every problem.
    #[command(after_help = "Examples:
  cognito jwks https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json
  cognito jwks --settings cognito.yaml --pool eu --json")]
    Jwks(jwks::Args),
    /// Run a development issuer on 127.0.0.1 (JWKS and token minting) until interrupted.
    #[command(after_help = "Example:
  cognito dev --port 9229       # prints its URL, settings YAML to paste, and a token")]
    Dev(dev::DevArgs),
    /// Mint a token from a running development issuer (`cognito dev`).
    #[command(after_help = "Example:
  cognito token --dev http://127.0.0.1:9229 --user bob --groups admin,staff --scope demo/read --ttl 600")]
    Token(dev::TokenArgs),
    /// Print shell completions.
    #[command(after_help = "Example:
  cognito completions bash > /etc/bash_completion.d/cognito")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Explain(args) => run(explain::run(args)),
        Command::Verify(args) => run(verify::run(args)),
        Command::Jwks(args) => run(jwks::run(args)),
        Command::Dev(args) => run(dev::run_dev(args)),
        Command::Token(args) => run(dev::run_token(args)),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "cognito", &mut std::io::stdout());
            EXIT_VALID
        }
    };
    ExitCode::from(code)
}

/// Runs a command on a single-threaded runtime; its failure is a sentence on stderr.
fn run(command: impl Future<Output = Result<u8, Failure>>) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            output::error(&format!("cannot start the runtime: {e}"));
            return EXIT_USAGE;
        }
    };
    match runtime.block_on(command) {
        Ok(code) => code,
        Err(failure) => {
            output::error(&failure.message);
            failure.code
        }
    }
}

/// Why a command could not do its job, and its exit status.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A usage or settings error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// Something on the network could not be had (exit 3).
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_UNAVAILABLE,
            message: message.into(),
        }
    }

    /// Reading or writing the standard streams failed (exit 1).
    pub(crate) fn io(e: &std::io::Error) -> Self {
        Self {
            code: EXIT_REFUSED,
            message: format!("input/output error: {e}"),
        }
    }
}

/// The settings file: `.json` is JSON, anything else YAML.
pub(crate) fn load_settings(path: &PathBuf) -> Result<CognitoSettings, Failure> {
    let loaded = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        CognitoSettings::from_json(path)
    } else {
        CognitoSettings::from_yaml(path)
    };
    loaded.map_err(|e| Failure::usage(format!("settings {}: {e}", path.display())))
}

/// Every pool's verifier of `settings` (the settings are validated).
pub(crate) fn auth(settings: &CognitoSettings) -> Result<CognitoAuth, Failure> {
    CognitoAuth::new(settings).map_err(|e| Failure::usage(format!("settings: {e}")))
}

/// A spinner on stderr while `work` waits on the network (only when stderr is a terminal).
pub(crate) async fn with_spinner<T>(message: &str, work: impl Future<Output = T>) -> T {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(message.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let result = work.await;
    spinner.finish_and_clear();
    result
}
