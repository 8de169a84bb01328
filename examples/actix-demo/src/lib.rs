//! The actix-web demo server (`/health`, `/`, `/optional`, `/admin`, `/scoped`, `/custom`,
//! `/pools/{name}`, `/alb`, `/openapi.json`, `/docs`), as a library so the conformance suite can
//! serve it.

#![forbid(unsafe_code)]

use actix_web::dev::Service as _;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get, web};
use cognito_actix::{Auth, AuthRejection, CognitoAuth, CognitoToken, OptionalAuth};
use cognito_demo_support::{self as demo, Admins, PoolRefusal, Readers, TenantClaims};
use utoipa_swagger_ui::SwaggerUi;

/// Serves the demo on `listener` until the process ends (its own actix system).
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        actix_web::rt::spawn(demo::prefetch(auth.clone()));
        let openapi = demo::openapi(&auth);
        let auth = web::Data::new(auth);
        HttpServer::new(move || {
            App::new()
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                .route("/docs", web::get().to(|| async { web::Redirect::to("/docs/") }))
                .app_data(auth.clone())
                .wrap_fn(|req, service| {
                    let (method, path) = (req.method().clone(), req.path().to_owned());
                    let response = service.call(req);
                    async move {
                        let response = response.await?;
                        let rejection = response.response().error().and_then(|e| e.as_error::<AuthRejection>());
                        if let Some(AuthRejection(rejection)) = rejection {
                            demo::log_rejection(method.as_str(), &path, rejection);
                        }
                        Ok(response)
                    }
                })
                .configure(routes)
        })
        .workers(2)
        .listen(listener)?
        .run()
        .await
    })
}

/// The demo's routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(health)
        .service(me)
        .service(optional)
        .service(admin)
        .service(scoped)
        .service(custom)
        .service(pool)
        .service(alb);
}

#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(demo::health_body())
}

#[get("/")]
async fn me(user: Auth) -> HttpResponse {
    HttpResponse::Ok().json(demo::user_body(&user))
}

#[get("/optional")]
async fn optional(user: OptionalAuth) -> HttpResponse {
    HttpResponse::Ok().json(demo::optional_body(user.as_ref()))
}

#[get("/admin")]
async fn admin(user: Auth<CognitoToken, Admins>) -> HttpResponse {
    HttpResponse::Ok().json(demo::user_body(&user))
}

#[get("/scoped")]
async fn scoped(user: Auth<CognitoToken, Readers>) -> HttpResponse {
    HttpResponse::Ok().json(demo::user_body(&user))
}

#[get("/custom")]
async fn custom(claims: Auth<TenantClaims>) -> HttpResponse {
    HttpResponse::Ok().json(demo::custom_body(&claims))
}

#[get("/pools/{name}")]
async fn pool(
    req: HttpRequest,
    name: web::Path<String>,
    auth: web::Data<CognitoAuth>,
) -> Result<HttpResponse, AuthRejection> {
    let values = req.headers().get_all(auth.header_name()).map(|v| v.as_bytes());
    refusal_or(demo::named_pool(&auth, &name, values).await)
}

#[get("/alb")]
async fn alb(req: HttpRequest, auth: web::Data<CognitoAuth>) -> Result<HttpResponse, AuthRejection> {
    let values = req.headers().get_all(demo::ALB_HEADER).map(|v| v.as_bytes());
    refusal_or(demo::alb_user(&auth, values).await)
}

fn refusal_or(result: Result<serde_json::Value, PoolRefusal>) -> Result<HttpResponse, AuthRejection> {
    match result {
        Ok(body) => Ok(HttpResponse::Ok().json(body)),
        Err(PoolRefusal::NotFound) => Ok(HttpResponse::NotFound().json(demo::not_found_body())),
        Err(PoolRefusal::Rejected(rejection)) => Err(AuthRejection(rejection)),
    }
}
