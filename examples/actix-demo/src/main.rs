//! The actix demo server: `cargo run -p cognito-actix-demo` (SPEC section 6).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = cognito_demo_support::start("actix demo")?;
    let listener = std::net::TcpListener::bind(demo.bind)?;
    cognito_actix_demo::serve(listener, demo.auth)?;
    Ok(())
}
