//! What the router-wide middleware costs by itself, for the HTTP benchmark's instruction
//! counts (`benches/http/run.sh`; see BENCHMARKS.md): one handler (the demo's `/`: the `Auth`
//! extractor and the user body), served in three scopes of the same shape so that only the
//! protection differs:
//!
//! - `/e/`: the extractor verifies the token;
//! - `/n/`: the same, in a scope wrapped in a middleware that does nothing (actix-web's
//!   `Identity`): what actix's wrapping of a scope in any middleware costs;
//! - `/l/`: in a scope wrapped in the [`CognitoMiddleware`] (required, any user of the default
//!   pool), whose verified token the extractor then takes instead of verifying again.
//!
//! Settings and `BIND` as for the demo; `/health` as the demo's.

use actix_web::middleware::Identity;
use actix_web::{App, HttpResponse, HttpServer, web};
use cognito_actix::{Auth, CognitoAuth, CognitoMiddleware};
use cognito_demo_support as demo;

async fn me(user: Auth) -> HttpResponse {
    HttpResponse::Ok().json(demo::user_body(&user))
}

fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let middleware = CognitoMiddleware::new(auth.clone());
        let auth = web::Data::new(auth);
        HttpServer::new(move || {
            App::new()
                .app_data(auth.clone())
                .route(
                    "/health",
                    web::get().to(|| async { HttpResponse::Ok().json(demo::health_body()) }),
                )
                .service(web::scope("/e").route("/", web::get().to(me)))
                .service(web::scope("/n").wrap(Identity::default()).route("/", web::get().to(me)))
                .service(web::scope("/l").wrap(middleware.clone()).route("/", web::get().to(me)))
        })
        .listen(listener)?
        .run()
        .await
    })
}

fn main() -> std::process::ExitCode {
    demo::run("actix middleware cost", serve)
}
