//! The layer with `resource:` in the settings: it answers the protected-resource metadata
//! itself, and its refusals name the metadata (and, for scopes, the scopes required).

use cognito_core::{CognitoAuth, CognitoSettings, Guard, Requirement};
use cognito_testkit::{DevIssuer, access_claims};
use cognito_tower::CognitoLayer;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const URI: &str = "http://127.0.0.1:9/mcp";
const METADATA: &str = "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp";

type Answer = (StatusCode, Option<String>, Value);

/// The layer's answer, or a teapot (a status no row expects) if the request could not be made.
async fn call(layer: &CognitoLayer, method: Method, path: &str, token: Option<&str>) -> Answer {
    answer(layer, method, path, token)
        .await
        .unwrap_or((StatusCode::IM_A_TEAPOT, None, Value::Null))
}

async fn answer(
    layer: &CognitoLayer,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> Result<Answer, Box<dyn std::error::Error>> {
    let service = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service_fn(|_: Request<String>| async {
            Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
                b"{\"inner\":true}",
            ))))
        }));
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = service.oneshot(request.body(String::new())?).await?;
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, challenge, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

#[tokio::test]
async fn the_layer_serves_the_metadata_and_names_it_in_challenges() {
    let dev = DevIssuer::start().await.unwrap();
    let yaml = format!(
        "resource: {{uri: '{URI}', scopes_supported: [mcp/read, mcp/admin]}}\n{}",
        dev.settings_yaml()
    );
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&yaml).unwrap()).unwrap();
    let layer = CognitoLayer::new(Guard::new(auth).route("/admin", Requirement::new().any_scope(["mcp/admin"])));
    let token = |aud: &str, scope: &str| {
        let mut claims = access_claims(&dev.issuer(), DevIssuer::CLIENT_ID);
        claims["aud"] = json!(aud);
        claims["scope"] = json!(scope);
        dev.sign(&claims).unwrap()
    };

    let document = json!({
        "resource": URI,
        "authorization_servers": [dev.issuer()],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["mcp/read", "mcp/admin"],
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        assert_eq!(
            call(&layer, Method::GET, path, None).await,
            (StatusCode::OK, None, document.clone())
        );
    }
    let (status, _, _) = call(&layer, Method::HEAD, "/.well-known/oauth-protected-resource/mcp", None).await;
    assert_eq!(status, StatusCode::OK);
    // Only GET and HEAD, only those paths.
    let (status, _, _) = call(&layer, Method::POST, "/.well-known/oauth-protected-resource/mcp", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&layer, Method::GET, "/.well-known/oauth-protected-resource/x", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, challenge, body) = call(&layer, Method::GET, "/mcp", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.unwrap(), format!("Bearer resource_metadata=\"{METADATA}\""));
    assert_eq!(body["error"], "missing_token");

    let (status, challenge, body) = call(
        &layer,
        Method::GET,
        "/mcp",
        Some(&token("https://elsewhere.example", "mcp/read")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": "wrong_client", "message": "The token's audience is not accepted here."})
    );
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"The token's audience is not accepted here.\", resource_metadata=\"{METADATA}\""
        )
    );

    let reader = token(URI, "mcp/read");
    let (status, _, body) = call(&layer, Method::GET, "/mcp", Some(&reader)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"inner": true})));
    let (status, challenge, body) = call(&layer, Method::GET, "/admin", Some(&reader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "forbidden_scope");
    assert_eq!(
        challenge.unwrap(),
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"The token carries none of the scopes this resource requires.\", scope=\"mcp/admin\", resource_metadata=\"{METADATA}\""
        )
    );
    let (status, _, _) = call(&layer, Method::GET, "/admin", Some(&token(URI, "mcp/read mcp/admin"))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn without_resource_nothing_changes_but_the_scope_attribute() {
    let dev = DevIssuer::start().await.unwrap();
    let auth = CognitoAuth::new(&CognitoSettings::from_yaml_str(&dev.settings_yaml()).unwrap()).unwrap();
    assert!(auth.resource().is_none());
    let layer = CognitoLayer::new(Guard::new(auth).route("/admin", Requirement::new().any_scope(["a", "b"])));
    let (status, challenge, _) = call(&layer, Method::GET, "/.well-known/oauth-protected-resource", None).await;
    assert_eq!(
        (status, challenge.as_deref()),
        (StatusCode::UNAUTHORIZED, Some("Bearer"))
    );
    let token = dev.access_token(&[], "c").unwrap();
    let (status, challenge, _) = call(&layer, Method::GET, "/admin", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.unwrap().ends_with(", scope=\"a b\""));
}
