//! Where a pool's keys come from, the one place the precedence is written (inline set, pool
//! URL, `AWS_COGNITO_KEYS_URL`, the issuer's own), and the transport rule for key URLs (plain
//! `http` only on loopback unless allowed).

use reqwest::Url;

use super::UserPool;
use crate::error::ConfigError;

/// The env var that overrides the JWKS URL of every pool without its own `jwks_url`.
pub const KEYS_URL_ENV: &str = "AWS_COGNITO_KEYS_URL";

impl UserPool {
    /// The trusted issuers and, for each, where its keys come from:
    /// - issuers: the `issuer` setting, else `https://cognito-idp.<region>.amazonaws.com/<id>`
    ///   and its multi-Region twin `https://issuer-cognito-idp.<region>.amazonaws.com/<id>`;
    /// - keys: `jwks_inline`, else `jwks_url`, else env `AWS_COGNITO_KEYS_URL` (read now),
    ///   else `<issuer>/.well-known/jwks.json`, which for AWS is the default URL.
    pub fn key_sources(&self) -> Result<Vec<(String, KeySource)>, ConfigError> {
        self.key_sources_with_env(keys_url_env().as_deref())
    }

    pub(super) fn key_sources_with_env(&self, env: Option<&str>) -> Result<Vec<(String, KeySource)>, ConfigError> {
        Ok(self
            .resolve_key_sources(env)?
            .into_iter()
            .map(|(issuer, source, _)| (issuer, source))
            .collect())
    }

    /// The precedence itself, the one place it is written: each trusted issuer, its key
    /// source, and the setting that chose that source (the field an error about it names).
    fn resolve_key_sources(&self, env: Option<&str>) -> Result<Vec<(String, KeySource, &'static str)>, ConfigError> {
        let issuers = match &self.issuer {
            Some(issuer) => vec![issuer.trim_end_matches('/').to_owned()],
            None => vec![
                format!("https://cognito-idp.{}.amazonaws.com/{}", self.region, self.userpool_id),
                format!(
                    "https://issuer-cognito-idp.{}.amazonaws.com/{}",
                    self.region, self.userpool_id
                ),
            ],
        };
        // Without an issuer setting the key URL is derived from region and pool id.
        let derived_from = if self.issuer.is_some() { "issuer" } else { "region" };
        let pool = Some(self.name.as_str());
        issuers
            .into_iter()
            .map(|issuer| {
                let (source, field) = if let Some(jwks) = &self.jwks_inline {
                    (Ok(KeySource::Inline(jwks.clone())), "jwks_inline")
                } else if let Some(url) = &self.jwks_url {
                    (KeySource::url(url), "jwks_url")
                } else if let Some(url) = env {
                    (KeySource::url(url), KEYS_URL_ENV)
                } else {
                    (KeySource::url(&format!("{issuer}/.well-known/jwks.json")), derived_from)
                };
                let source = source.map_err(|p| ConfigError::invalid(pool, field, p))?;
                Ok((issuer, source, field))
            })
            .collect()
    }

    /// The key sources, resolved with `env` as the env override, each checked: a plain-HTTP
    /// JWKS URL on a host that is not loopback is refused unless `insecure_ok`, naming the
    /// setting it came from.
    pub(super) fn checked_key_sources(
        &self,
        env: Option<&str>,
        insecure_ok: bool,
    ) -> Result<Vec<(String, KeySource)>, ConfigError> {
        let resolved = self.resolve_key_sources(env)?;
        for (_, source, field) in &resolved {
            if let KeySource::Url(text) = source
                && !insecure_ok
                && let Ok(url) = Url::parse(text)
                && crate::url_rules::is_insecure_key_url(&url)
            {
                return Err(ConfigError::invalid(
                    Some(&self.name),
                    field,
                    crate::url_rules::insecure_key_url_problem("JWKS URL", &url),
                ));
            }
        }
        Ok(resolved
            .into_iter()
            .map(|(issuer, source, _)| (issuer, source))
            .collect())
    }
}

/// A pool's trusted issuers, each with where its keys come from.
pub(crate) type KeySources = Vec<(String, KeySource)>;

/// The env override of JWKS URLs, if set and not empty.
pub(crate) fn keys_url_env() -> Option<String> {
    std::env::var(KEYS_URL_ENV).ok().filter(|v| !v.is_empty())
}

/// Whether the URL's host is loopback: `127.0.0.0/8`, `::1` or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// Where a pool's keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// Fetched over HTTP(S) (or read from a `file://` URL), cached, refreshed: the URL as
    /// validated and normalised at load.
    Url(String),
    /// Given inline; never fetched.
    Inline(serde_json::Value),
}

impl KeySource {
    fn url(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("is not a valid URL ({e})"))?;
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(KeySource::Url(url.into())),
            "file" if url.to_file_path().is_ok() => Ok(KeySource::Url(url.into())),
            _ => Err("must be an http://, https:// or file:// URL".to_owned()),
        }
    }
}
