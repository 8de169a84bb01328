//! Protected-resource metadata (RFC 9728): a service that names its resource (`resource:` in
//! the settings) tells OAuth clients, MCP clients among them, which authorization server
//! issues its tokens and which scopes it knows, at a well-known URL every client can find.
//!
//! ```yaml
//! resource:
//!   uri: https://api.example.com/mcp      # the resource identifier; an access token's aud must equal it
//!   scopes_supported: [mcp/read, mcp/admin]
//!   name: Example MCP server               # optional
//!   documentation: https://example.com/docs  # optional
//!   # authorization_servers: [...]         # default: the default pool's issuer
//! ```
//!
//! With it, the service:
//! - answers `GET /.well-known/oauth-protected-resource` and
//!   `GET /.well-known/oauth-protected-resource<path of uri>` without authentication with
//!   [`ProtectedResource::document`] (the tower layer does it itself; each framework adapter
//!   has one way to mount it);
//! - adds `resource_metadata="<absolute URL of the document>"` to every 401 (and 403)
//!   `WWW-Authenticate` challenge, so a client refused for want of a token finds where to get
//!   one;
//! - takes, on its default pool, access tokens whose `aud` equals `uri` only (Cognito binds an
//!   access token to the resource the client asked for): another audience is `wrong_client`,
//!   an ID token `wrong_token_use`.
//!
//! ```
//! use cognito_core::{CognitoAuth, CognitoSettings};
//! let settings = CognitoSettings::from_yaml_str(r#"
//! resource:
//!   uri: https://api.example.com/mcp
//!   scopes_supported: [mcp/read]
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
//! "#)?;
//! let auth = CognitoAuth::new(&settings)?;
//! let resource = auth.resource().ok_or("no resource")?;
//! assert_eq!(
//!     resource.metadata_url(),
//!     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
//! );
//! assert!(resource.serves("/.well-known/oauth-protected-resource"));
//! assert!(resource.serves("/.well-known/oauth-protected-resource/mcp"));
//! let document: serde_json::Value = serde_json::from_str(resource.document())?;
//! assert_eq!(document["authorization_servers"][0], "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A");
//! assert_eq!(document["bearer_methods_supported"][0], "header");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::settings::{CognitoSettings, UserPool, is_loopback};

/// The well-known path of the metadata (RFC 9728 3).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The protected resource this service is (`resource:` in the settings).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceSettings {
    /// The resource identifier (required): an absolute `https` URL (plain `http` on a loopback
    /// host only), without a query or fragment. An access token of the default pool must have
    /// it as its `aud`.
    pub uri: String,
    /// The scopes this resource knows, as the metadata lists them (default: none).
    pub scopes_supported: Vec<String>,
    /// A human-readable name (`resource_name` in the metadata; default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A page for developers (`resource_documentation`; default: none); an absolute http(s) URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// The issuers whose tokens this resource takes (default: the default pool's issuer, its
    /// `issuer` setting, else `https://cognito-idp.<region>.amazonaws.com/<userpool_id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
}

impl ResourceSettings {
    /// Every rule of the section, each error naming its field (`resource.uri`, ...).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, problem: &str| ConfigError::invalid(None, field, problem.to_owned());
        let uri = Url::parse(&self.uri).map_err(|_| {
            invalid(
                "resource.uri",
                "must be an absolute https URL (http on a loopback host)",
            )
        })?;
        if !web_url(&uri, true) {
            return Err(invalid(
                "resource.uri",
                "must be an absolute https URL (http on a loopback host)",
            ));
        }
        if uri.query().is_some() || uri.fragment().is_some() {
            return Err(invalid("resource.uri", "must have no query and no fragment"));
        }
        if self.scopes_supported.iter().any(|s| !is_scope_token(s)) {
            return Err(invalid(
                "resource.scopes_supported",
                "a scope must be non-empty visible ASCII without spaces, '\"' or '\\'",
            ));
        }
        if let Some(name) = &self.name
            && name.trim().is_empty()
        {
            return Err(invalid("resource.name", "must not be empty (leave it out instead)"));
        }
        if let Some(docs) = &self.documentation
            && !Url::parse(docs).is_ok_and(|u| web_url(&u, false))
        {
            return Err(invalid("resource.documentation", "must be an absolute http(s) URL"));
        }
        if let Some(servers) = &self.authorization_servers {
            if servers.is_empty() {
                return Err(invalid(
                    "resource.authorization_servers",
                    "must name at least one issuer (leave it out for the default pool's)",
                ));
            }
            if !servers.iter().all(|s| Url::parse(s).is_ok_and(|u| web_url(&u, true))) {
                return Err(invalid(
                    "resource.authorization_servers",
                    "each must be an absolute https URL (http on a loopback host)",
                ));
            }
        }
        Ok(())
    }
}

/// An http(s) URL with a host; with `secure`, plain http only on loopback.
fn web_url(url: &Url, secure: bool) -> bool {
    url.host().is_some()
        && match url.scheme() {
            "https" => true,
            "http" => !secure || is_loopback(url),
            _ => false,
        }
}

/// A scope token of RFC 6749 3.3 (`%x21 / %x23-5B / %x5D-7E`).
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty() && scope.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// The resource as served: its metadata document, the paths it answers on and the absolute
/// URL of the document that challenges name. Built once from the settings
/// ([`CognitoAuth::resource`](crate::CognitoAuth::resource)); cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource(Arc<Built>);

#[derive(Debug, PartialEq, Eq)]
struct Built {
    uri: String,
    document: String,
    metadata_url: Arc<str>,
    /// The bare well-known path and, when the uri has a path, the path-suffixed one.
    paths: Vec<String>,
}

impl ProtectedResource {
    /// The resource of `settings`, if it names one (the settings are validated first).
    pub fn from_settings(settings: &CognitoSettings) -> Result<Option<Self>, ConfigError> {
        settings.validate()?;
        let Some(resource) = &settings.resource else {
            return Ok(None);
        };
        let pool = settings.default_pool()?;
        Self::build(resource, pool).map(Some)
    }

    pub(crate) fn build(resource: &ResourceSettings, pool: &UserPool) -> Result<Self, ConfigError> {
        let url = Url::parse(&resource.uri)
            .map_err(|e| ConfigError::invalid(None, "resource.uri", format!("is not a valid URL ({e})")))?;
        let path = url.path().trim_end_matches('/');
        let mut paths = vec![WELL_KNOWN_PATH.to_owned()];
        if !path.is_empty() {
            paths.push(format!("{WELL_KNOWN_PATH}{}", url.path()));
        }
        // RFC 9728 3.1: the well-known path goes between the host and the resource's path.
        let Some(suffixed) = paths.last() else {
            return Err(ConfigError::invalid(None, "resource.uri", "has no path"));
        };
        let metadata_url = format!("{}{suffixed}", url.origin().ascii_serialization());
        Ok(ProtectedResource(Arc::new(Built {
            uri: resource.uri.clone(),
            document: metadata(resource, pool).to_string(),
            metadata_url: metadata_url.into(),
            paths,
        })))
    }

    /// The resource identifier (`resource.uri`), as configured.
    pub fn uri(&self) -> &str {
        &self.0.uri
    }

    /// The metadata document as JSON text (see [`metadata`]): the body of the well-known
    /// routes, served as `application/json`.
    pub fn document(&self) -> &str {
        &self.0.document
    }

    /// The absolute URL of the document, as challenges name it: the well-known path inserted
    /// between the uri's host and its path
    /// (`https://api.example.com/.well-known/oauth-protected-resource/mcp`).
    pub fn metadata_url(&self) -> &str {
        &self.0.metadata_url
    }

    pub(crate) fn metadata_url_shared(&self) -> Arc<str> {
        Arc::clone(&self.0.metadata_url)
    }

    /// The request paths the document is served on: `/.well-known/oauth-protected-resource`
    /// and, when the uri has a path, `/.well-known/oauth-protected-resource<path>`.
    pub fn paths(&self) -> &[String] {
        &self.0.paths
    }

    /// Whether a `GET` of `path` is answered with the document.
    pub fn serves(&self, path: &str) -> bool {
        self.0.paths.iter().any(|p| p == path)
    }
}

/// The metadata document of RFC 9728 for `resource`, whose default issuer is `pool`'s:
/// `resource`, `authorization_servers` (as configured, else the pool's `issuer` setting, else
/// `https://cognito-idp.<region>.amazonaws.com/<userpool_id>`),
/// `bearer_methods_supported: ["header"]`, `scopes_supported`, and `resource_name` /
/// `resource_documentation` when set.
pub fn metadata(resource: &ResourceSettings, pool: &UserPool) -> serde_json::Value {
    let servers = match &resource.authorization_servers {
        Some(servers) => servers.clone(),
        None => vec![match &pool.issuer {
            Some(issuer) => issuer.trim_end_matches('/').to_owned(),
            None => format!("https://cognito-idp.{}.amazonaws.com/{}", pool.region, pool.userpool_id),
        }],
    };
    let mut document = serde_json::json!({
        "resource": resource.uri,
        "authorization_servers": servers,
        "bearer_methods_supported": ["header"],
        "scopes_supported": resource.scopes_supported,
    });
    if let Some(object) = document.as_object_mut() {
        if let Some(name) = &resource.name {
            object.insert("resource_name".into(), name.clone().into());
        }
        if let Some(docs) = &resource.documentation {
            object.insert("resource_documentation".into(), docs.clone().into());
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(resource: &str) -> Result<CognitoSettings, ConfigError> {
        CognitoSettings::from_yaml_str(&format!(
            "resource: {resource}\nuserpools:\n  eu: {{region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: c}}"
        ))
    }

    #[test]
    fn paths_and_url_follow_the_uri() -> Result<(), ConfigError> {
        for (uri, url, paths) in [
            (
                "https://api.example.com/mcp",
                "https://api.example.com/.well-known/oauth-protected-resource/mcp",
                &[
                    "/.well-known/oauth-protected-resource",
                    "/.well-known/oauth-protected-resource/mcp",
                ][..],
            ),
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
                &["/.well-known/oauth-protected-resource"][..],
            ),
            (
                "http://127.0.0.1:3000/a/b/",
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/a/b/",
                &[
                    "/.well-known/oauth-protected-resource",
                    "/.well-known/oauth-protected-resource/a/b/",
                ][..],
            ),
        ] {
            let s = settings(&format!("{{uri: '{uri}'}}"))?;
            let r = ProtectedResource::from_settings(&s)?.ok_or(ConfigError::no_pools())?;
            assert_eq!(r.metadata_url(), url);
            assert_eq!(r.paths(), paths);
        }
        Ok(())
    }

    #[test]
    fn the_document_has_every_member() -> Result<(), ConfigError> {
        let s = settings(
            "{uri: 'https://api.example.com/mcp', scopes_supported: [mcp/read], name: Demo, documentation: 'https://example.com/docs'}",
        )?;
        let r = ProtectedResource::from_settings(&s)?.ok_or(ConfigError::no_pools())?;
        let doc: serde_json::Value =
            serde_json::from_str(r.document()).map_err(|e| ConfigError::invalid(None, "test", e.to_string()))?;
        assert_eq!(
            doc,
            serde_json::json!({
                "resource": "https://api.example.com/mcp",
                "authorization_servers": ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A"],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["mcp/read"],
                "resource_name": "Demo",
                "resource_documentation": "https://example.com/docs",
            })
        );
        Ok(())
    }

    #[test]
    fn the_default_pool_cannot_be_for_id_tokens() {
        let err = CognitoSettings::from_yaml_str(
            "resource: {uri: 'https://a.example/mcp'}\nuserpools:\n  eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: c, token_use: id}",
        )
        .err();
        let named = err.as_ref().map(|e| (e.pool(), e.field()));
        assert_eq!(named, Some((Some("eu"), Some("token_use"))), "{err:?}");
    }

    #[test]
    fn bad_resources_fail_at_load_naming_the_field() {
        for (resource, field) in [
            ("{uri: 'http://api.example.com/mcp'}", "resource.uri"),
            ("{uri: 'ftp://127.0.0.1/mcp'}", "resource.uri"),
            ("{uri: '/mcp'}", "resource.uri"),
            ("{uri: ''}", "resource.uri"),
            ("{scopes_supported: [a]}", "resource.uri"),
            ("{uri: 'https://a.example/mcp?x=1'}", "resource.uri"),
            ("{uri: 'https://a.example/mcp#x'}", "resource.uri"),
            (
                "{uri: 'https://a.example/mcp', scopes_supported: ['a b']}",
                "resource.scopes_supported",
            ),
            ("{uri: 'https://a.example/mcp', name: ' '}", "resource.name"),
            (
                "{uri: 'https://a.example/mcp', documentation: 'docs'}",
                "resource.documentation",
            ),
            (
                "{uri: 'https://a.example/mcp', authorization_servers: []}",
                "resource.authorization_servers",
            ),
            (
                "{uri: 'https://a.example/mcp', authorization_servers: ['http://idp.example']}",
                "resource.authorization_servers",
            ),
        ] {
            let err = settings(resource).err();
            assert_eq!(
                err.as_ref().and_then(ConfigError::field),
                Some(field),
                "{resource}: {err:?}"
            );
        }
    }
}
