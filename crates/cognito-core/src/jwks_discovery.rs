//! The key cache of an OpenID Connect issuer found by discovery: each fetch of the cache reads
//! the discovery document, checks that it names the issuer, then fetches its `jwks_uri`. Both
//! go through the shared fetcher (`crate::fetch`: deadline, body cap, same-origin redirects),
//! and the cache's one fetcher state decides backoff, cool-down, events and health, so
//! discovery fails, recovers and refreshes exactly as a JWKS URL does.

use std::sync::{Arc, PoisonError, Weak};

use reqwest::Url;

use super::{JwksCache, REGISTRY, Remote, WHAT};
use crate::fetch::{Attempt, Body, Document, Fetcher, Location, http_client};
use crate::observe::SourceObserver;
use crate::settings::JwksSettings;

/// How the discovery document is named in errors.
const DISCOVERY: &str = "the discovery document";

/// What a cache found by discovery needs beyond its document's location.
pub(super) struct Discovery {
    /// The issuer the document must name (OpenID Connect Discovery 1.0, 4.3).
    issuer: String,
    /// Whether a plain-`http` `jwks_uri` off loopback is allowed.
    insecure_ok: bool,
    tuning: JwksSettings,
}

impl Discovery {
    /// One fetch of the keys: the discovery document at the remote's location, then its
    /// `jwks_uri` with the same client. The attempt reported is the last one made.
    pub(super) async fn fetch_keys(&self, remote: &Remote) -> (Body, Attempt) {
        let (doc, attempt) = crate::fetch::get(DISCOVERY, Document::Json, &self.tuning, &remote.location).await;
        let doc = match doc {
            Ok(doc) => doc.unwrap_or_default(),
            Err(error) => return (Err(error), attempt),
        };
        let jwks_uri = crate::issuer::jwks_uri_of_discovery(&doc, &self.issuer, self.insecure_ok)
            .and_then(|uri| Url::parse(&uri).map_err(|e| format!("the jwks_uri is not a valid URL ({e})")));
        let location = match (jwks_uri, &remote.location) {
            (Ok(url), Location::Http { client, .. }) => Location::Http {
                client: client.clone(),
                url,
            },
            // Not made by `discovered`, which gives the client; a lazy client would be built
            // per fetch here, so refuse rather than load trust roots every time.
            (Ok(_), Location::Lazy { .. }) => return (Err("discovery needs its client".to_owned()), attempt),
            (Ok(_), Location::File(_)) => return (Err("discovery is over HTTP only".to_owned()), attempt),
            (Err(error), _) => return (Err(error), attempt),
        };
        remote.fetcher.get(&location).await
    }
}

impl JwksCache {
    /// The cache of an OpenID Connect issuer's keys found by discovery at `url` (checked by
    /// the settings): shared per discovery URL, issuer and tuning as [`JwksCache::shared`]
    /// shares per JWKS URL; its own with the caller's `client`.
    pub(crate) fn discovered(
        url: &str,
        issuer: &str,
        tuning: &JwksSettings,
        insecure_ok: bool,
        client: Option<&reqwest::Client>,
    ) -> Result<Arc<Self>, String> {
        let url = Url::parse(url).map_err(|e| format!("is not a valid URL ({e})"))?;
        let build = |client: reqwest::Client| {
            let remote = Remote {
                fetcher: Fetcher::new(WHAT, Document::Json, tuning, SourceObserver::new(url.as_str())),
                location: Location::Http {
                    client,
                    url: url.clone(),
                },
                discovery: Some(Discovery {
                    issuer: issuer.to_owned(),
                    insecure_ok,
                    tuning: tuning.clone(),
                }),
            };
            Self::new(Some(remote), tuning.clone())
        };
        if let Some(client) = client {
            return Ok(Arc::new(build(client.clone())));
        }
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        // Not a JWKS URL: a key space of its own, so a JWKS served at the same URL is another cache.
        let key = (format!("discovery {url} {issuer}"), tuning.clone());
        if let Some(cache) = registry.get(&key).and_then(Weak::upgrade) {
            return Ok(cache);
        }
        let cache = Arc::new(build(http_client(tuning)?));
        registry.retain(|_, weak| weak.strong_count() > 0);
        registry.insert(key, Arc::downgrade(&cache));
        Ok(cache)
    }
}
