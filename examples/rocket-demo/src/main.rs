//! The rocket demo server: `cargo run -p cognito-rocket-demo` (SPEC section 6).

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("rocket demo", cognito_rocket_demo::serve)
}
