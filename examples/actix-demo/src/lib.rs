//! The actix-web demo server (`/health`, `/ready`, `/metrics`, `/`, `/optional`, `/admin`,
//! `/scoped`, `/machine`, `/recent`, `/all-scopes`, `POST /revoke`, `/custom`, `/pools/{name}`, `/alb`, `/tenant`, `/openapi.json`, `/docs`, and
//! `/guarded/{rest}` behind the router-wide middleware), as a library so the conformance suite
//! can serve it. The same routes are served again under `/layer`, behind the middleware.

#![forbid(unsafe_code)]

use actix_web::dev::Service as _;
use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, HttpServer, get, post, web};
use cognito_actix::{
    ActixRequest, Auth, AuthRejection, CognitoAuth, CognitoMiddleware, CognitoToken, OptionalAuth, Verified,
};
use cognito_demo_support::{self as demo, Admins, Machines, PoolRefusal, ReadWriters, Readers, Recent, TenantClaims};
use std::sync::Arc;
use utoipa_swagger_ui::SwaggerUi;

/// Serves the demo on `listener` until the process ends (its own actix system).
pub fn serve(listener: std::net::TcpListener, auth: CognitoAuth) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        demo::prometheus();
        actix_web::rt::spawn(demo::prefetch(auth.clone()));
        let openapi = demo::openapi(&auth);
        // Shared, not owned: a document held by value in the handler would be deep-copied for
        // every request it serves.
        let layered_openapi = Arc::new(openapi.clone());
        let (guarded, layered) = (demo::guarded(&auth), demo::layer_guard(&auth));
        let auth = web::Data::new(auth);
        HttpServer::new(move || {
            let layered_openapi = Arc::clone(&layered_openapi);
            App::new()
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                .route("/docs", web::get().to(|| async { web::Redirect::to("/docs/") }))
                .app_data(auth.clone())
                .configure(cognito_actix::resource_metadata(auth.get_ref()))
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
                .service(
                    web::scope("/guarded")
                        .wrap(CognitoMiddleware::new(guarded.clone()))
                        .route("/{rest}", web::get().to(guarded_route)),
                )
                .service(
                    web::scope(demo::LAYER_PREFIX)
                        .wrap(CognitoMiddleware::new(layered.clone()))
                        .route(
                            "/openapi.json",
                            web::get().to(move || {
                                let doc = Arc::clone(&layered_openapi);
                                async move { HttpResponse::Ok().json(&*doc) }
                            }),
                        )
                        .configure(routes),
                )
                .configure(routes)
        })
        .listen(listener)?
        .run()
        .await
    })
}

/// The demo's routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(health)
        .service(ready)
        .service(metrics)
        .service(me)
        .service(optional)
        .service(admin)
        .service(scoped)
        .service(machine)
        .service(recent)
        .service(all_scopes)
        .service(revoke)
        .service(custom)
        .service(pool)
        .service(alb)
        .service(tenant);
}

/// `/guarded/{rest}`: the middleware's verified token, read straight from the request.
async fn guarded_route(req: HttpRequest) -> Result<HttpResponse, AuthRejection> {
    let verified = req.extensions().get::<Verified>().cloned();
    let verified = verified.ok_or_else(|| {
        AuthRejection(cognito_actix::Rejection::Misconfigured(
            "the middleware did not run".to_owned(),
        ))
    })?;
    Ok(HttpResponse::Ok().json(demo::guarded_body(&verified)?))
}

#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(demo::health_body())
}

#[get("/ready")]
async fn ready(auth: web::Data<CognitoAuth>) -> HttpResponse {
    let (status, body) = demo::ready(&auth);
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
    HttpResponse::build(status).json(body)
}

#[get("/metrics")]
async fn metrics(auth: web::Data<CognitoAuth>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(demo::METRICS_CONTENT_TYPE)
        .body(demo::metrics_text(&auth))
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

#[get("/machine")]
async fn machine(token: Auth<CognitoToken, Machines>) -> HttpResponse {
    HttpResponse::Ok().json(demo::machine_body(&token))
}

#[get("/recent")]
async fn recent(user: Auth<CognitoToken, Recent>) -> HttpResponse {
    HttpResponse::Ok().json(demo::user_body(&user))
}

#[get("/all-scopes")]
async fn all_scopes(user: Auth<CognitoToken, ReadWriters>) -> HttpResponse {
    HttpResponse::Ok().json(demo::user_body(&user))
}

/// Authenticated (an admin) before the body is read.
#[post("/revoke")]
async fn revoke(_admin: Auth<CognitoToken, Admins>, auth: web::Data<CognitoAuth>, body: web::Bytes) -> HttpResponse {
    let (status, body) = demo::revoke(&auth, &body).await;
    let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(body)
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
    let verified = req.extensions().get::<Verified>().cloned();
    let answer = match demo::named_pool_verified(&name, verified.as_ref()) {
        Some(answer) => answer,
        None => demo::named_pool(&auth, &name, &ActixRequest(&req)).await,
    };
    refusal_or(answer)
}

#[get("/tenant")]
async fn tenant(req: HttpRequest, auth: web::Data<CognitoAuth>) -> Result<HttpResponse, AuthRejection> {
    let verified = req.extensions().get::<Verified>().cloned();
    let answer = match demo::tenant_verified(verified.as_ref()) {
        Some(answer) => answer,
        None => demo::tenant_user(&auth, &ActixRequest(&req)).await,
    };
    refusal_or(answer)
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
