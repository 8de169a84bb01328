//! The key cache of an OpenID Connect issuer found by discovery: the cache fetches the
//! discovery document, then its `jwks_uri` (see `Fetcher::Discovery`), so discovery shares
//! the JWKS fetch's deadline, body cap, backoff, refresh and stale-while-error.

use std::sync::{Arc, PoisonError, Weak};

use reqwest::Url;

use super::{Fetcher, JwksCache, REGISTRY, http_client};
use crate::observe::SourceObserver;
use crate::settings::JwksSettings;

impl JwksCache {
    /// The cache of an OpenID Connect issuer's keys found by discovery at `url` (checked by
    /// the settings): shared per discovery URL and tuning as [`JwksCache::shared`] shares per
    /// JWKS URL, its own with the caller's `client`.
    pub(crate) fn discovered(
        url: &str,
        issuer: &str,
        tuning: &JwksSettings,
        insecure_ok: bool,
        client: Option<&reqwest::Client>,
    ) -> Result<Arc<Self>, String> {
        let url = Url::parse(url).map_err(|e| format!("is not a valid URL ({e})"))?;
        let build = |client: reqwest::Client| {
            let fetcher = Fetcher::Discovery {
                client,
                url: url.clone(),
                issuer: issuer.to_owned(),
                insecure_ok,
            };
            Self::new(fetcher, Some(SourceObserver::new(url.as_str())), tuning.clone())
        };
        if let Some(client) = client {
            return Ok(Arc::new(build(client.clone())));
        }
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        // Not a JWKS URL: its own key space, so a JWKS served at the same URL is another cache.
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
