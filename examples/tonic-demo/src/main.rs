//! The tonic demo server: `cargo run -p cognito-tonic-demo` (settings from `COGNITO_SETTINGS`,
//! or a development issuer; gRPC over cleartext HTTP/2 on `BIND`, default 127.0.0.1:3000).

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("tonic demo", cognito_tonic_demo::serve)
}
