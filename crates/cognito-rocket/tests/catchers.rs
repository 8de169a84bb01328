//! The ways to put this crate's catchers in a rocket: `fairing` alone, or `manage` with an
//! app's own catchers, `catchers()` and `rejection_for`. In-process, through rocket's local
//! client (no socket, no key fetch: the requests carry no token).

use cognito_rocket::{Auth, AuthRejection, CognitoAuth, CognitoSettings, CognitoToken, Policy};
use rocket::http::Status;
use rocket::local::blocking::{Client, LocalResponse};
use rocket::{Build, Request, Rocket, catch, catchers, get, routes};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A policy naming a pool the settings lack: a route that is not set up, a 500.
struct Nowhere;
impl Policy for Nowhere {
    const POOL: Option<&'static str> = Some("nowhere");
}

#[get("/me")]
fn me(user: Auth) -> String {
    format!("{:?}", user.sub)
}

#[get("/misconfigured")]
fn misconfigured(user: Auth<CognitoToken, Nowhere>) -> String {
    format!("{:?}", user.sub)
}

/// An error of the app's own, with a status our guards use too.
#[get("/boom")]
fn boom() -> Status {
    Status::InternalServerError
}

#[catch(500)]
fn internal(status: Status, req: &Request<'_>) -> Result<AuthRejection, &'static str> {
    cognito_rocket::rejection_for(status, req).ok_or("the app's own 500 page")
}

#[catch(401)]
fn sign_in() -> &'static str {
    "the app's own sign-in page"
}

fn auth() -> Result<CognitoAuth, cognito_rocket::ConfigError> {
    let settings = CognitoSettings::from_yaml_str(
        "userpools: {eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: client-a}}",
    )?;
    CognitoAuth::new(&settings)
}

fn build() -> Rocket<Build> {
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    };
    rocket::custom(config)
}

/// The status and the body's `error` member (`None`: not a JSON error body).
fn answer(response: LocalResponse<'_>) -> (Status, Option<String>) {
    let status = response.status();
    let body = response.into_string().unwrap_or_default();
    let error = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|body| body["error"].as_str().map(str::to_owned));
    (status, error)
}

#[test]
fn fairing_answers_refusals_and_leaves_other_errors_to_rocket() -> TestResult {
    let rocket = build()
        .attach(cognito_rocket::fairing(auth()?))
        .mount("/", routes![me, misconfigured, boom]);
    let client = Client::tracked(rocket)?;
    let response = client.get("/me").dispatch();
    assert_eq!(response.headers().get_one("www-authenticate"), Some("Bearer"));
    assert_eq!(
        answer(response),
        (Status::Unauthorized, Some("missing_token".to_owned()))
    );
    let response = client.get("/misconfigured").dispatch();
    assert_eq!(
        answer(response),
        (Status::InternalServerError, Some("server_misconfigured".to_owned()))
    );
    // Not a refusal of ours: rocket's default catcher, whose body is not our JSON.
    assert_eq!(
        answer(client.get("/boom").dispatch()),
        (Status::InternalServerError, None)
    );
    Ok(())
}

#[test]
fn an_apps_own_catcher_renders_our_refusals_with_rejection_for() -> TestResult {
    let mut ours = cognito_rocket::catchers();
    ours.retain(|catcher| catcher.code != Some(500));
    let rocket = build()
        .attach(cognito_rocket::manage(auth()?))
        .register("/", catchers![internal])
        .register("/", ours)
        .mount("/", routes![me, misconfigured, boom]);
    let client = Client::tracked(rocket)?;
    let response = client.get("/misconfigured").dispatch();
    assert_eq!(
        answer(response),
        (Status::InternalServerError, Some("server_misconfigured".to_owned()))
    );
    let response = client.get("/boom").dispatch();
    assert_eq!(response.status(), Status::InternalServerError);
    assert_eq!(response.into_string().as_deref(), Some("the app's own 500 page"));
    // 401 is still ours.
    assert_eq!(
        answer(client.get("/me").dispatch()),
        (Status::Unauthorized, Some("missing_token".to_owned()))
    );
    Ok(())
}

#[test]
fn catchers_at_a_base_of_the_apps_choice() -> TestResult {
    let rocket = build()
        .attach(cognito_rocket::manage(auth()?))
        .register("/", catchers![sign_in])
        .register("/api", cognito_rocket::catchers())
        .mount("/", routes![me])
        .mount("/api", routes![me]);
    let client = Client::tracked(rocket)?;
    let response = client.get("/api/me").dispatch();
    assert_eq!(
        answer(response),
        (Status::Unauthorized, Some("missing_token".to_owned()))
    );
    let response = client.get("/me").dispatch();
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(response.into_string().as_deref(), Some("the app's own sign-in page"));
    Ok(())
}

#[test]
fn without_managed_state_a_guard_is_a_500() -> TestResult {
    let rocket = build()
        .register("/", cognito_rocket::catchers())
        .mount("/", routes![me]);
    let client = Client::tracked(rocket)?;
    let response = client.get("/me").dispatch();
    assert_eq!(
        answer(response),
        (Status::InternalServerError, Some("server_misconfigured".to_owned()))
    );
    Ok(())
}

#[test]
fn fairing_collides_with_an_apps_own_catcher_for_the_same_code() -> TestResult {
    let rocket = build()
        .attach(cognito_rocket::fairing(auth()?))
        .register("/", catchers![internal])
        .mount("/", routes![me]);
    // Display marks rocket's launch error as handled (unhandled, it panics when dropped).
    let error = Client::tracked(rocket).err().map(|error| error.to_string());
    assert_eq!(error.as_deref(), Some("collisions detected"));
    Ok(())
}
