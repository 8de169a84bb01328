//! The axum demo server: `cargo run -p cognito-axum-demo` (settings from `COGNITO_SETTINGS`,
//! or a development issuer; listens on `BIND`, default 127.0.0.1:3000).

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("axum demo", cognito_axum_demo::serve)
}
