//! The rules settings are checked against as a whole, and the one pass that gives each pool's
//! key sources.

use super::keys::{KeySources, keys_url_env};
use super::types::is_tchar;
use super::{CognitoSettings, TokenUse, UserPool};
use crate::error::ConfigError;

impl CognitoSettings {
    /// Checks every settings rule: at least one pool, unique pool names, each pool's required
    /// fields and URLs (https unless loopback or `allow_insecure_jwks_url`), a valid header
    /// name and prefix, a non-empty `algorithms` list, every tuning value within its range.
    /// The loaders call it; call it yourself on settings built in code (a verifier does).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(drop)
    }

    /// [`CognitoSettings::validate`], giving each pool's trusted issuers and key sources in
    /// settings order: the one pass a verifier is built from (the env override read once).
    pub(crate) fn resolve(&self) -> Result<Vec<(&UserPool, KeySources)>, ConfigError> {
        self.default_pool()?;
        let env = keys_url_env();
        let mut resolved = Vec::with_capacity(self.userpools.len());
        for (i, pool) in self.userpools.iter().enumerate() {
            if self.userpools[..i].iter().any(|p| p.name == pool.name) {
                return Err(ConfigError::invalid(
                    Some(&pool.name),
                    "userpools",
                    "the pool name appears twice",
                ));
            }
            pool.validate()?;
            resolved.push((
                pool,
                pool.checked_key_sources(env.as_deref(), self.allow_insecure_jwks_url)?,
            ));
        }
        crate::issuer::validate_issuers(&self.issuers, self.pool_names(), self.allow_insecure_jwks_url)?;
        let header_ok = !self.jwt_header_name.is_empty() && self.jwt_header_name.bytes().all(is_tchar);
        if !header_ok {
            return Err(ConfigError::invalid(
                None,
                "jwt_header_name",
                "must be a valid HTTP header name",
            ));
        }
        if !self.jwt_header_prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::invalid(
                None,
                "jwt_header_prefix",
                "must be a single word of visible ASCII (or empty for a raw token)",
            ));
        }
        if self.token_sources.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "token_sources",
                "must list at least one source",
            ));
        }
        for (i, source) in self.token_sources.iter().enumerate() {
            source
                .validate()
                .map_err(|problem| ConfigError::invalid(None, "token_sources", problem))?;
            if self.token_sources[..i].contains(source) {
                return Err(ConfigError::invalid(None, "token_sources", "lists a source twice"));
            }
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "algorithms",
                "must allow at least one algorithm",
            ));
        }
        self.check_tuning()?;
        if let Some(tenants) = &self.tenants {
            tenants.validate()?;
        }
        if let Some(alb) = &self.alb {
            alb.validate(self.allow_insecure_jwks_url)?;
        }
        if let Some(resource) = &self.resource {
            resource.validate()?;
            // A resource server takes access tokens only: its default pool cannot be for ID tokens.
            if let Some(pool) = self.userpools.first()
                && pool.token_use == TokenUse::Id
            {
                return Err(ConfigError::invalid(
                    Some(&pool.name),
                    "token_use",
                    "is id, but with resource: set the default pool takes access tokens only (use access or any)",
                ));
            }
        }
        Ok(resolved)
    }

    /// Every tuning value within its range, the one table of them: a value beyond its range
    /// is a mistake (a deadline of centuries, a cache larger than memory), and some would
    /// overflow a clock's arithmetic at request time.
    fn check_tuning(&self) -> Result<(), ConfigError> {
        let (j, t) = (&self.jwks, &self.token_cache);
        if t.enabled && t.max_entries == 0 {
            return Err(ConfigError::invalid(
                None,
                "token_cache.max_entries",
                "must be positive (set token_cache.enabled: false to switch the cache off)",
            ));
        }
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        // A switched-off cache leaves its sizes unused: 0 is fine there.
        let cache_least = u64::from(t.enabled);
        let table: [(&str, u64, u64, u64); 9] = [
            ("leeway_seconds", self.leeway_seconds, 0, 3_600),
            ("max_token_bytes", wide(self.max_token_bytes), 1, 1 << 20),
            ("jwks.timeout_ms", j.timeout_ms, 1, 60_000),
            ("jwks.max_bytes", wide(j.max_bytes), 1, 16 << 20),
            ("jwks.refresh_secs", j.refresh_secs, 1, 7 * 86_400),
            ("jwks.cooldown_secs", j.cooldown_secs, 0, 86_400),
            ("jwks.max_stale_secs", j.max_stale_secs, 1, 30 * 86_400),
            ("token_cache.max_entries", wide(t.max_entries), cache_least, 1_000_000),
            ("token_cache.max_bytes", wide(t.max_bytes), cache_least, 1 << 30),
        ];
        for (field, value, least, most) in table {
            if value < least || value > most {
                return Err(ConfigError::invalid(
                    None,
                    field,
                    format!("must be between {least} and {most} (got {value})"),
                ));
            }
        }
        Ok(())
    }
}
