//! The axum demo server: `cargo run -p cognito-axum-demo` (SPEC section 6).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = cognito_demo_support::start("axum demo")?;
    let listener = std::net::TcpListener::bind(demo.bind)?;
    cognito_axum_demo::serve(listener, demo.auth)?;
    Ok(())
}
