//! The actix demo server: `cargo run -p cognito-actix-demo` (SPEC section 6).

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("actix demo", cognito_actix_demo::serve)
}
