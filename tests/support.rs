//! What the conformance and emulator tests share: the three demos, served in-process on
//! ephemeral ports of 127.0.0.1.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use cognito_core::{CognitoAuth, CognitoSettings};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framework {
    Axum,
    Actix,
    Rocket,
}

pub(crate) const FRAMEWORKS: [Framework; 3] = [Framework::Axum, Framework::Actix, Framework::Rocket];

impl Framework {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Framework::Axum => "axum",
            Framework::Actix => "actix",
            Framework::Rocket => "rocket",
        }
    }
}

/// Starts the framework's demo with `settings` on a thread of its own; its address.
pub(crate) fn spawn_demo(framework: Framework, settings: &CognitoSettings) -> Result<SocketAddr, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let auth = CognitoAuth::new(settings)?;
    std::thread::spawn(move || match framework {
        Framework::Axum => cognito_axum_demo::serve(listener, auth),
        Framework::Actix => cognito_actix_demo::serve(listener, auth),
        Framework::Rocket => cognito_rocket_demo::serve(listener, auth),
    });
    Ok(addr)
}

/// Waits (at most 30 s) until the demo on `addr` answers `/health`.
pub(crate) async fn wait_until_up(client: &reqwest::Client, addr: SocketAddr) -> Result<(), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.get(format!("http://{addr}/health")).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            _ if Instant::now() > deadline => return Err(format!("the demo on {addr} did not start").into()),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
