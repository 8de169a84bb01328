//! The MCP demo over real HTTP on 127.0.0.1, with a development issuer: its public routes, the
//! protected-resource metadata, the challenges, resource-bound tokens, and the MCP handshake
//! and tool calls as raw JSON-RPC (the official SDK's view is tests/mcp).

use cognito_axum::{CognitoAuth, CognitoSettings};
use cognito_mcp_demo::{admin_scope, app, with_resource};
use cognito_testkit::{DevIssuer, access_claims, id_claims};
use reqwest::StatusCode;
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Demo {
    base: String,
    dev: DevIssuer,
    client: reqwest::Client,
}

impl Demo {
    async fn start() -> Result<Demo, BoxError> {
        let dev = DevIssuer::start().await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let bind = listener.local_addr()?;
        let settings = with_resource(CognitoSettings::from_yaml_str(&dev.settings_yaml())?, bind)?;
        let auth = CognitoAuth::new(&settings)?;
        let admin = admin_scope(&settings);
        assert_eq!(admin, "mcp/admin");
        tokio::spawn(async move { axum::serve(listener, app(auth, &admin)).await });
        Ok(Demo {
            base: format!("http://{bind}"),
            dev,
            client: reqwest::Client::new(),
        })
    }

    fn resource(&self) -> String {
        format!("{}/mcp", self.base)
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.base)
    }

    /// An access token bound to the demo's resource, with these scopes.
    fn token(&self, scope: &str) -> Result<String, BoxError> {
        self.token_for(&self.resource(), scope)
    }

    fn token_for(&self, aud: &str, scope: &str) -> Result<String, BoxError> {
        let mut claims = access_claims(&self.dev.issuer(), DevIssuer::CLIENT_ID);
        claims["aud"] = json!(aud);
        claims["scope"] = json!(scope);
        Ok(self.dev.sign(&claims)?)
    }

    /// A JSON-RPC request to /mcp: the status, the headers and the JSON-RPC message (from a JSON
    /// body or the first SSE `data:` line).
    async fn rpc(
        &self,
        token: Option<&str>,
        session: Option<&str>,
        body: Value,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Value), BoxError> {
        let mut request = self
            .client
            .post(self.resource())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        let response = request.send().await?;
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await?;
        let message = text
            .lines()
            .find_map(|line| line.strip_prefix("data:").map(str::trim).filter(|d| !d.is_empty()))
            .map_or_else(|| serde_json::from_str(&text), serde_json::from_str)
            .unwrap_or(Value::Null);
        Ok((status, headers, message))
    }

    /// initialize + notifications/initialized: the session id.
    async fn session(&self, token: &str) -> Result<String, BoxError> {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}});
        let (status, headers, message) = self.rpc(Some(token), None, init).await?;
        assert_eq!(status, StatusCode::OK, "{message}");
        assert_eq!(message["result"]["serverInfo"]["name"], "cognito-mcp-demo");
        let session = headers
            .get("mcp-session-id")
            .ok_or("no session id")?
            .to_str()?
            .to_owned();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let (status, _, _) = self.rpc(Some(token), Some(&session), note).await?;
        assert!(status.is_success(), "{status}");
        Ok(session)
    }

    async fn call(&self, token: &str, session: &str, tool: &str, arguments: Value) -> Result<Value, BoxError> {
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
        let (status, _, message) = self.rpc(Some(token), Some(session), call).await?;
        assert_eq!(status, StatusCode::OK, "{message}");
        Ok(message)
    }
}

#[tokio::test]
async fn health_and_metadata_need_no_token() {
    let demo = Demo::start().await.unwrap();
    let health = demo.client.get(format!("{}/health", demo.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let expected = json!({
        "resource": demo.resource(),
        "authorization_servers": [demo.dev.issuer()],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["mcp/read", "mcp/admin"],
        "resource_name": "cognito-rs MCP demo",
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = demo.client.get(format!("{}{path}", demo.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.json::<Value>().await.unwrap(), expected, "{path}");
    }
    // Other well-known paths are not the metadata (and need a token like everything else).
    let other = demo
        .client
        .get(format!("{}/.well-known/oauth-protected-resource/other", demo.base))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_401_names_the_metadata() {
    let demo = Demo::start().await.unwrap();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
    let metadata = format!("resource_metadata=\"{}\"", demo.metadata_url());

    let (status, headers, body) = demo.rpc(None, None, init.clone()).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], format!("Bearer {metadata}"));
    assert_eq!(body["error"], "missing_token");

    // Bound to another resource: wrong_client, with its own sentence.
    let elsewhere = demo.token_for("https://other.example.com/mcp", "mcp/read").unwrap();
    let (status, headers, body) = demo.rpc(Some(&elsewhere), None, init.clone()).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": "wrong_client", "message": "The token's audience is not accepted here."})
    );
    assert_eq!(
        headers["www-authenticate"],
        format!(
            "Bearer error=\"invalid_token\", error_description=\"The token's audience is not accepted here.\", {metadata}"
        )
    );

    // An access token bound to no resource at all, and an ID token: refused here.
    let mut unbound = access_claims(&demo.dev.issuer(), DevIssuer::CLIENT_ID);
    unbound["scope"] = json!("mcp/read");
    let unbound = demo.dev.sign(&unbound).unwrap();
    let (status, _, body) = demo.rpc(Some(&unbound), None, init.clone()).await.unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("wrong_client"))
    );
    let id = demo
        .dev
        .sign(&id_claims(&demo.dev.issuer(), DevIssuer::CLIENT_ID))
        .unwrap();
    let (status, headers, body) = demo.rpc(Some(&id), None, init).await.unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("wrong_token_use"))
    );
    assert!(headers["www-authenticate"].to_str().unwrap().ends_with(&metadata));
}

#[tokio::test]
async fn tools_answer_by_scope() {
    let demo = Demo::start().await.unwrap();
    let admin = demo.token("mcp/read mcp/admin").unwrap();
    let session = demo.session(&admin).await.unwrap();

    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let (_, _, listed) = demo.rpc(Some(&admin), Some(&session), list).await.unwrap();
    let mut names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin_echo", "whoami"]);

    let who = demo.call(&admin, &session, "whoami", json!({})).await.unwrap();
    let text = who["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "username": "alice",
            "client_id": DevIssuer::CLIENT_ID,
            "scopes": ["mcp/read", "mcp/admin"],
        })
    );
    let echoed = demo
        .call(&admin, &session, "admin_echo", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(echoed["result"]["content"][0]["text"], "hi");

    // Without mcp/admin: a JSON-RPC error (not a tool result) whose message starts forbidden_scope:.
    let reader = demo.token("mcp/read").unwrap();
    let session = demo.session(&reader).await.unwrap();
    let refused = demo
        .call(&reader, &session, "admin_echo", json!({"text": "hi"}))
        .await
        .unwrap();
    assert!(refused.get("result").is_none(), "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("forbidden_scope:"), "{message}");
    assert_eq!(
        refused["error"]["data"],
        json!({"error": "forbidden_scope", "scope": "mcp/admin"})
    );
}
