//! The tonic demo with every method public: the same server, the same layer in front, no
//! token asked for. The HTTP benchmark's baseline for an authenticated `Check`
//! (`cargo run -p cognito-tonic-demo --example open`; `COGNITO_SETTINGS` and `BIND` as for
//! the demo).

use cognito_core::Guard;

fn main() -> std::process::ExitCode {
    cognito_demo_support::run("tonic demo, every method public", |listener, auth| {
        let guard = Guard::new(auth.clone()).public("/*");
        cognito_tonic_demo::serve_guarded(listener, auth, guard)
    })
}
