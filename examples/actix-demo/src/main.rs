//! The actix-web demo server: `cargo run -p cognito-actix-demo` (settings from
//! `COGNITO_SETTINGS`, or a development issuer; listens on `BIND`, default 127.0.0.1:3000).

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("actix demo", cognito_actix_demo::serve)
}
