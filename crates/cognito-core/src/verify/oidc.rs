//! A named OpenID Connect issuer as a pool's verifier: how one is built (its keys from
//! `jwks_url` or discovery) and its steps 2-4, which replace the pool's header and claims
//! rules. Everything else (sources, key cache, signature, token cache, requirements, checks,
//! metrics, health) is the pool's own pipeline in the parent module.

use std::sync::Arc;

use super::Verifier;
use super::explain::{Recorder, Step};
use super::pipeline::Prechecked;
use super::verifier::Inner;
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::issuer::{OidcClaims, OidcIssuer, OidcRules};
use crate::jwks::JwksCache;
use crate::observe::PoolObserver;
use crate::revocation::Revocations;
use crate::settings::{CognitoSettings, TokenUse};
use crate::source::Sources;
use crate::token::Token;
use crate::token_cache::TokenCache;

impl Verifier {
    /// A verifier for the OpenID Connect issuer `oidc` of `settings`: its keys from its
    /// `jwks_url`, else by discovery; the settings' sources, times and caches as a pool's.
    pub(super) fn from_issuer(
        settings: &CognitoSettings,
        oidc: &OidcIssuer,
        client: Option<&reqwest::Client>,
    ) -> Result<Self, ConfigError> {
        let (cache, field) = match (oidc.key_source(), oidc.discovery_url()) {
            (Some(source), _) => (JwksCache::shared(&source, &settings.jwks, client), "jwks_url"),
            (None, Some(url)) => (
                JwksCache::discovered(
                    &url,
                    &oidc.issuer,
                    &settings.jwks,
                    settings.allow_insecure_jwks_url,
                    client,
                ),
                "issuer",
            ),
            (None, None) => (Err("has no key source".to_owned()), "jwks_url"),
        };
        let cache = cache.map_err(|p| ConfigError::invalid(Some(&oidc.name), field, p))?;
        Ok(Verifier {
            inner: Arc::new(Inner {
                pool: oidc.name.clone(),
                issuers: vec![(oidc.issuer.clone(), cache)],
                clients: Vec::new(),
                audience: oidc.audience.clone(),
                token_use: TokenUse::Any,
                check_expiration: settings.check_expiration,
                leeway: settings.leeway_seconds as f64,
                algorithms: Vec::new(),
                sources: Sources::of(settings),
                header_name: settings.jwt_header_name.clone(),
                token_cache: TokenCache::new(&settings.token_cache),
                observer: PoolObserver::new(&oidc.name),
                resource_metadata: None,
                oidc: Some(oidc.rules()),
            }),
            checks: Arc::from([]),
            revocations: Revocations::in_memory(std::time::Duration::from_secs(settings.leeway_seconds)),
        })
    }

    /// Steps 2-4 for an OpenID Connect issuer's token: its own parse of the claims (`aud` may
    /// be an array, scopes may be `scp`), its header rules (`alg`, `typ`), then issuer,
    /// audience and the time rule. No Cognito rule (`token_use`, `client_id`) applies.
    pub(super) fn precheck_oidc<'t>(
        &'t self,
        rules: &OidcRules,
        parsed: &'t Token<'_>,
        rec: &mut impl Recorder,
    ) -> Result<Prechecked<'t>, AuthError> {
        let inner = &*self.inner;
        let header = parsed.header()?;
        let typ = crate::issuer::header_typ(parsed.header_json())?;
        let claims = OidcClaims::parse(parsed.payload())?;
        rec.enter(Step::Algorithm);
        let alg = rules.check_header(header.alg.as_deref(), typ.as_deref())?;
        let kid = header.kid.ok_or(ErrorKind::UnknownKid)?;
        rec.enter(Step::Issuer);
        let (_, cache) = inner.issuers.first().ok_or(ErrorKind::WrongIssuer)?;
        rec.issuer(0);
        rec.enter(Step::Client);
        rules.check_claims(claims.iss.as_deref(), claims.aud.iter())?;
        rec.enter(Step::Time);
        self.check_times(claims.exp, claims.nbf, claims.iat)?;
        Ok(Prechecked {
            alg,
            kid,
            issuer: 0,
            cache,
            claims: claims.into_view(),
        })
    }
}
