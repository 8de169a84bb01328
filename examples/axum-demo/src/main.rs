//! The axum demo server: `cargo run -p cognito-axum-demo` (SPEC section 6).

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("axum demo", cognito_axum_demo::serve)
}
