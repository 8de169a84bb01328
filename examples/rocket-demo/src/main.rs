//! The rocket demo server: `cargo run -p cognito-rocket-demo` (SPEC section 6).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = cognito_demo_support::start("rocket demo")?;
    let listener = std::net::TcpListener::bind(demo.bind)?;
    cognito_rocket_demo::serve(listener, demo.auth)?;
    Ok(())
}
