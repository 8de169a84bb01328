//! `cognito dev` (a development issuer on 127.0.0.1: the testkit's `DevIssuer`) and
//! `cognito token` (mints from one over HTTP).

use cognito_testkit::{DevIssuer, MintRequest};

use crate::output::{DIM, HEAD, paint};
use crate::{EXIT_VALID, Failure};

/// `cognito dev`.
#[derive(Debug, clap::Args)]
pub(crate) struct DevArgs {
    /// The port on 127.0.0.1 (default: any free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// `cognito token`.
#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    /// The development issuer's URL, as `cognito dev` prints it.
    #[arg(long)]
    dev: String,
    /// The user (`username`, or `cognito:username` of an ID token).
    #[arg(long, default_value = "alice")]
    user: String,
    /// Groups (`cognito:groups`), comma separated.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Scopes, space separated (access tokens).
    #[arg(long, default_value = "openid")]
    scope: String,
    /// Lifetime in seconds (`exp - iat`).
    #[arg(long, default_value_t = 3600)]
    ttl: i64,
    /// An ID token instead of an access token.
    #[arg(long)]
    id: bool,
}

pub(crate) async fn run_dev(args: DevArgs) -> Result<u8, Failure> {
    let dev = DevIssuer::start_on_port(args.port)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let token = dev
        .mint(&MintRequest::default())
        .map_err(|e| Failure::usage(format!("cannot mint a token: {e}")))?;
    let text = format!(
        "{}\n{}\n\n{}\n{}\n\n{}\n{token}\n\n{}\n  cognito token --dev {} --user bob --groups admin --ttl 600\n{}\n",
        paint(
            HEAD,
            "Development issuer (127.0.0.1 only; its key lives as long as this process)"
        ),
        dev.base_url(),
        paint(HEAD, "Settings (paste into your settings file):"),
        dev.settings_yaml().trim_end(),
        paint(HEAD, "A token (user alice, valid 1 hour):"),
        paint(HEAD, "More tokens:"),
        dev.base_url(),
        paint(DIM, "Press Ctrl-C to stop."),
    );
    anstream::print!("{text}");
    std::io::Write::flush(&mut anstream::stdout()).map_err(|e| Failure::io(&e))?;
    tokio::signal::ctrl_c().await.map_err(|e| Failure::io(&e))?;
    Ok(EXIT_VALID)
}

pub(crate) async fn run_token(args: TokenArgs) -> Result<u8, Failure> {
    let request = MintRequest {
        user: args.user,
        groups: args.groups.into_iter().filter(|g| !g.is_empty()).collect(),
        scope: args.scope,
        ttl: args.ttl,
        id: args.id,
    };
    let url = format!("{}/mint?{}", args.dev.trim_end_matches('/'), request.to_query());
    let fetch = async {
        let response = reqwest::get(&url).await.map_err(|e| {
            Failure::unavailable(format!(
                "the development issuer at {} cannot be reached ({e})",
                args.dev
            ))
        })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| Failure::unavailable(format!("the development issuer's answer broke off ({e})")))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(Failure::usage(format!("the development issuer refused: {body}")))
        }
    };
    let token = crate::with_spinner("minting", fetch).await?;
    anstream::println!("{}", token.trim());
    Ok(EXIT_VALID)
}
