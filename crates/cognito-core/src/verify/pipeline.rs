//! The per-pool pipeline, in its order: 1. header, 2. parse, 3. header policy (`alg`,
//! `kid`), 4. the claims that need no key (issuer, token use, client, exp, nbf / iat), then
//! 5. the key, 6. the signature, and 7. revocation and the route's requirement, then the
//! custom checks; 8. `jwks_unavailable` when no usable keys can be had. Everything before the
//! key lookup is pure CPU, so junk tokens cost no I/O and no RSA. The step numbers below are
//! these.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use super::Verifier;
use super::answer::{ClaimsType, Material, Source, sealed::Sealed};
use super::explain::{Recorder, Step};
use crate::check::{self, Checker};
use crate::error::{AuthError, ErrorKind};
use crate::jose::Algorithm;
use crate::jwks::{JwksCache, Loaded, Miss};
use crate::jws::JwsAlgorithm;
use crate::policy::{Require, Requirement, RequirementRef};
use crate::source::RequestView;
use crate::time::{Times, unix_now};
use crate::token::{self, ClaimsView, Facts, Token};
use crate::token_cache::Entry;
use crate::verified::Verified;

/// What a verification asks beyond a valid token, once routed: a route's const rules and an
/// owned requirement (with its checks), either of which may be empty.
#[derive(Clone, Copy)]
pub(crate) struct Needs<'a> {
    pub(super) require: Require<'a>,
    pub(super) owned: Option<&'a Requirement>,
}

impl<'a> Needs<'a> {
    /// A const requirement's needs.
    pub(super) fn of(require: Require<'a>) -> Self {
        Needs { require, owned: None }
    }

    /// Step 7: both requirements' principal, groups, scopes and sign-in.
    pub(super) fn authorize<G: std::ops::Deref<Target = str>>(&self, facts: &Facts<'_, G>) -> Result<(), AuthError> {
        self.require.check(facts)?;
        match self.owned {
            Some(owned) => owned.authorize(facts),
            None => Ok(()),
        }
    }

    pub(super) fn checks(&self) -> &[Checker] {
        self.owned.map(Requirement::checks).unwrap_or_default()
    }
}

/// Where the keys come from: fetched if need be, or only the cached ones.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Keys {
    MayFetch,
    CachedOnly,
}

/// What steps 2-4 found: enough to fetch the key and check the signature.
pub(super) struct Prechecked<'t> {
    pub(super) alg: JwsAlgorithm,
    pub(super) kid: token::Str<'t>,
    /// The index of the token's issuer in `Inner::issuers`.
    pub(super) issuer: usize,
    pub(super) cache: &'t Arc<JwksCache>,
    pub(super) claims: ClaimsView<'t>,
}

impl Verifier {
    /// Required authentication of a request: its token from the configured sources (the
    /// header by default; see [`RequestView`]), then every verification step and
    /// `requirement` (a [`Require`], a `&`[`Requirement`] whose pool is this verifier's,
    /// whatever it names, or [`RequirementRef::NONE`]). `T` is the claims type, or
    /// [`Verified`].
    pub async fn authenticate<'r, T: ClaimsType>(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: impl Into<RequirementRef<'r>>,
    ) -> Result<T, AuthError> {
        match self.needs(requirement.into()) {
            Ok(needs) => self.authenticate_needs(request, needs).await,
            Err(e) => self.answered(Err(e)),
        }
    }

    /// Optional authentication: `Ok(None)` when the request carries no token (header absent or
    /// empty, no token cookie, ...); a present but invalid token is the same error as for
    /// [`Verifier::authenticate`], never anonymous.
    pub async fn authenticate_optional<'r, T: ClaimsType>(
        &self,
        request: &(impl RequestView + ?Sized),
        requirement: impl Into<RequirementRef<'r>>,
    ) -> Result<Option<T>, AuthError> {
        match self.needs(requirement.into()) {
            Ok(needs) => self.authenticate_optional_needs(request, needs).await,
            Err(e) => self.answered(Err(e)),
        }
    }

    /// Verifies a bare token (no header, no scheme) and `requirement`, as
    /// [`Verifier::authenticate`] does.
    pub async fn verify<'r, T: ClaimsType>(
        &self,
        token: &str,
        requirement: impl Into<RequirementRef<'r>>,
    ) -> Result<T, AuthError> {
        match self.needs(requirement.into()) {
            Ok(needs) => self.verify_core(token, needs, Keys::MayFetch).await,
            Err(e) => self.answered(Err(e)),
        }
    }

    /// Like [`Verifier::verify`] but never waits for I/O: if the key is not cached, the
    /// answer is `unknown_kid` (keys cached, kid not among them) or `jwks_unavailable` (no
    /// usable keys; call [`Verifier::prefetch`] first). Called inside a Tokio runtime, it still
    /// starts the background refresh of keys older than `jwks.refresh_secs`, as the full path
    /// does; outside one, keys are never refreshed.
    ///
    /// The custom checks and an external revocation store run too; an asynchronous one that
    /// does not answer at once (it would have to wait) makes the answer `rejected`.
    pub fn verify_cached<'r, T: ClaimsType>(
        &self,
        token: &str,
        requirement: impl Into<RequirementRef<'r>>,
    ) -> Result<T, AuthError> {
        let needs = match self.needs(requirement.into()) {
            Ok(needs) => needs,
            Err(e) => return self.answered(Err(e)),
        };
        // Without fetching, the only things that can wait are asynchronous checks and stores.
        match check::poll_once(self.verify_core(token, needs, Keys::CachedOnly)) {
            Some(answer) => answer,
            None => Err(AuthError::rejected(
                "A check of this service cannot answer without waiting.",
            )),
        }
    }

    /// Authorizes a token this pool already verified (the [`Verified`] the router-wide layer
    /// leaves in a request) against `requirement`, with no second verification: its
    /// principal, groups, scopes and sign-in, then its custom checks (this verifier's own
    /// already ran when the token was verified). A token of another pool is `wrong_issuer`.
    pub async fn authorize<'r, T: ClaimsType>(
        &self,
        verified: &Verified,
        requirement: impl Into<RequirementRef<'r>>,
    ) -> Result<T, AuthError> {
        let answer = match self.needs(requirement.into()) {
            Ok(needs) => self.authorize_needs(verified, needs).await,
            Err(e) => Err(e),
        };
        answer.map_err(|e| self.challenge(e))
    }

    /// What `requirement` asks of this pool's tokens. A verifier has no registry of named
    /// requirements (a [`crate::CognitoAuth`] has): a policy that names one is refused, never
    /// served without it.
    fn needs<'r>(&self, requirement: RequirementRef<'r>) -> Result<Needs<'r>, AuthError> {
        let (_, require, owned, named) = requirement.parts();
        match named {
            Some(name) => Err(AuthError::with_message(
                ErrorKind::Rejected,
                "This service cannot check the route's requirement.",
            )
            .with_detail(format!(
                "the route's policy names requirement {name:?}, which only a CognitoAuth can look up"
            ))),
            None => Ok(Needs { require, owned }),
        }
    }

    pub(super) async fn authorize_needs<T: ClaimsType>(
        &self,
        verified: &Verified,
        needs: Needs<'_>,
    ) -> Result<T, AuthError> {
        if verified.pool() != self.pool() {
            return Err(AuthError::with_message(
                ErrorKind::WrongIssuer,
                "The token was verified for another pool.",
            ));
        }
        needs.authorize(&verified.facts())?;
        check::run(needs.checks().iter(), verified).await?;
        T::answer(Material(Source::Verified(verified.clone())))
    }

    pub(super) async fn authenticate_needs<T: ClaimsType>(
        &self,
        request: &(impl RequestView + ?Sized),
        needs: Needs<'_>,
    ) -> Result<T, AuthError> {
        match self.inner.sources.find(request) {
            Ok(token) => self.verify_core(&token, needs, Keys::MayFetch).await,
            Err(e) => self.answered(Err(e)),
        }
    }

    pub(super) async fn authenticate_optional_needs<T: ClaimsType>(
        &self,
        request: &(impl RequestView + ?Sized),
        needs: Needs<'_>,
    ) -> Result<Option<T>, AuthError> {
        match self.token_of(request, true)? {
            Some(token) => self.verify_core(&token, needs, Keys::MayFetch).await.map(Some),
            None => Ok(None),
        }
    }

    /// The token `request` carries. Without one: `None` when `optional` (no token is no
    /// verification: an anonymous request is not counted), else the refusal, counted and
    /// logged as any answer; likewise a token that cannot be read.
    fn token_of<'a>(
        &'a self,
        request: &'a (impl RequestView + ?Sized),
        optional: bool,
    ) -> Result<Option<Cow<'a, str>>, AuthError> {
        match self.inner.sources.find(request) {
            Ok(token) => Ok(Some(token)),
            Err(e) if optional && e.kind() == ErrorKind::MissingToken => Ok(None),
            Err(e) => self.answered(Err(e)),
        }
    }

    /// Every step, in order, then the custom checks (the verifier's, then the route's).
    /// Counted and logged once (see `observe`), whatever path answers.
    pub(super) async fn verify_core<T: ClaimsType>(
        &self,
        token: &str,
        needs: Needs<'_>,
        keys: Keys,
    ) -> Result<T, AuthError> {
        let result = self.verify_unobserved(token, needs, keys).await;
        self.answered(result)
    }

    /// Counts and logs one answer (see `observe`), and gives it back.
    #[inline]
    fn answered<T>(&self, result: Result<T, AuthError>) -> Result<T, AuthError> {
        self.inner.observer.answer(&self.inner.pool, &result);
        result.map_err(|e| self.challenge(e))
    }

    /// A refusal as this verifier's challenge has it: with `resource:` configured, a 401 or
    /// 403 names the protected-resource metadata.
    pub(super) fn challenge(&self, error: AuthError) -> AuthError {
        match &self.inner.resource_metadata {
            Some(url) if matches!(error.status(), 401 | 403) && error.resource_metadata().is_none() => {
                error.with_resource_metadata(Arc::clone(url))
            }
            _ => error,
        }
    }

    /// The span of a verification that is not a token-cache hit (hits stay span-free).
    fn span(&self) -> tracing::Span {
        tracing::debug_span!("cognito_verify", pool = self.inner.pool.as_str())
    }

    /// Whether an answer needs a [`Verified`] for custom checks.
    fn has_checks(&self, needs: &Needs<'_>) -> bool {
        !self.checks.is_empty() || !needs.checks().is_empty()
    }

    /// A token-cache hit, else the full path (timed, in the pool's span).
    async fn verify_unobserved<T: ClaimsType>(
        &self,
        token: &str,
        needs: Needs<'_>,
        keys: Keys,
    ) -> Result<T, AuthError> {
        token::check_size(token, self.inner.sources.max_token_bytes)?;
        if let Some(hit) = self.cache_hit(token) {
            self.revocations.check(hit.ids()).await?;
            let material = self.authorized_hit(token, &hit, &needs)?;
            if !self.has_checks(&needs) {
                return T::answer(material);
            }
            return Box::pin(self.conclude(needs, Verified::answer(material)?)).await;
        }
        let started = self.inner.observer.start();
        // Boxed: its state (the parse, the key lookup, the checks) would otherwise make every
        // verification's future, hits included, several times the size it needs, moved and
        // allocated as such by every caller; a miss costs an RSA check, beside which the
        // allocation is nothing.
        let full = Box::pin(self.verify_full(token, needs, keys, ()));
        let result = tracing::Instrument::instrument(full, self.span()).await;
        self.inner.observer.timed(started);
        result
    }

    /// A token-cache hit's requirement (step 7, after revocation), then what it answers from.
    fn authorized_hit<'a>(
        &'a self,
        token: &'a str,
        hit: &'a Entry,
        needs: &Needs<'_>,
    ) -> Result<Material<'a>, AuthError> {
        needs.authorize(&hit.facts())?;
        Ok(Material(Source::Hit {
            token,
            entry: hit,
            pool: &self.inner.pool,
        }))
    }

    /// A request's verification (as by `authenticate_needs`, or `authenticate_optional_needs`
    /// when `optional`) when it can be answered without waiting: no token, a token too large,
    /// or a token-cache hit with the built-in revocation store and no custom checks. Else
    /// `None`, with nothing done that shows (no hit or answer counted, no key fetched), so the
    /// caller goes the asynchronous way. The answer is counted and logged as any other.
    pub(super) fn authenticate_now<T: ClaimsType>(
        &self,
        request: &(impl RequestView + ?Sized),
        needs: Needs<'_>,
        optional: bool,
    ) -> Option<Result<Option<T>, AuthError>> {
        let token = match self.token_of(request, optional) {
            Ok(Some(token)) => token,
            Ok(None) => return Some(Ok(None)),
            Err(e) => return Some(Err(e)),
        };
        let answer = match token::check_size(&token, self.inner.sources.max_token_bytes) {
            Err(e) => Err(e),
            Ok(()) => {
                // Only what cannot wait, decided before the cache is asked (which counts a hit).
                let revoked = self.revocations.check_now()?;
                if self.has_checks(&needs) {
                    return None;
                }
                let hit = self.cache_hit(&token)?;
                revoked(hit.ids()).and_then(|()| self.authorized_hit(&token, &hit, &needs).and_then(T::answer))
            }
        };
        Some(self.answered(answer).map(Some))
    }

    /// Every step past the token cache, in order, then the custom checks.
    pub(super) async fn verify_full<T: ClaimsType>(
        &self,
        token: &str,
        needs: Needs<'_>,
        keys: Keys,
        mut rec: impl Recorder,
    ) -> Result<T, AuthError> {
        rec.enter(Step::Parse);
        let parsed = Token::decode(token)?;
        let checked = self.precheck(&parsed, &mut rec)?;
        rec.enter(Step::Key);
        rec.key_source(checked.cache);
        let loaded = match keys {
            Keys::MayFetch => checked.cache.lookup(&checked.kid).await?,
            Keys::CachedOnly => checked.cache.cached(&checked.kid).map_err(|miss| match miss {
                Miss::UnknownKid => AuthError::new(ErrorKind::UnknownKid),
                Miss::NoKeys => AuthError::new(ErrorKind::JwksUnavailable),
            })?,
        };
        self.finish(token, &parsed, &checked, &loaded, &mut rec)?;
        // The application's own refusals (revocation, the route's requirement) come last.
        rec.enter(Step::Requirement);
        self.revocations.check(checked.claims.ids()).await?;
        needs.authorize(&checked.claims.facts())?;
        let material = Material(Source::Decoded {
            pool: &self.inner.pool,
            header: parsed.header_json(),
            payload: parsed.payload(),
            claims: &checked.claims,
        });
        if !self.has_checks(&needs) {
            return T::answer(material);
        }
        self.conclude(needs, Verified::answer(material)?).await
    }

    /// The custom checks (the verifier's, then the route's), then the answer.
    async fn conclude<T: ClaimsType>(&self, needs: Needs<'_>, verified: Verified) -> Result<T, AuthError> {
        check::run(self.checks.iter().chain(needs.checks()), &verified).await?;
        T::answer(Material(Source::Verified(verified)))
    }

    /// Steps 2-4: parse, header policy, and the claims that need no key.
    fn precheck<'t>(&'t self, parsed: &'t Token<'_>, rec: &mut impl Recorder) -> Result<Prechecked<'t>, AuthError> {
        if let Some(rules) = &self.inner.oidc {
            return self.precheck_oidc(rules, parsed, rec);
        }
        let header = parsed.header()?;
        let claims = parsed.claims()?;
        rec.enter(Step::Algorithm);
        let alg = header
            .alg
            .as_deref()
            .and_then(Algorithm::from_jose)
            .filter(|a| self.inner.algorithms.contains(a))
            .ok_or(ErrorKind::UnsupportedAlg)?;
        let alg = JwsAlgorithm::from_jose(alg.as_str()).ok_or(ErrorKind::UnsupportedAlg)?;
        let kid = header.kid.ok_or(ErrorKind::UnknownKid)?;
        let (issuer, cache) = self.check_claims(&claims, rec)?;
        Ok(Prechecked {
            alg,
            kid,
            issuer,
            cache,
            claims,
        })
    }

    /// Step 4, in order: issuer, token use, client, exp, nbf / iat.
    fn check_claims(&self, c: &ClaimsView<'_>, rec: &mut impl Recorder) -> Result<(usize, &Arc<JwksCache>), AuthError> {
        let inner = &*self.inner;
        rec.enter(Step::Issuer);
        let iss = c.iss.as_deref().unwrap_or_default();
        let (index, (_, cache)) = inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, (issuer, _))| issuer == iss)
            .ok_or(ErrorKind::WrongIssuer)?;
        rec.issuer(index);
        rec.enter(Step::TokenUse);
        let token_use = c.token_use.as_deref().unwrap_or_default();
        if !inner.token_use.allows(token_use) {
            return Err(ErrorKind::WrongTokenUse.into());
        }
        rec.enter(Step::Client);
        let client = if token_use == "access" { &c.client_id } else { &c.aud };
        if !client
            .as_deref()
            .is_some_and(|id| inner.clients.iter().any(|c| c == id))
        {
            return Err(ErrorKind::WrongClient.into());
        }
        // An access token bound to a resource carries it as `aud` (ID tokens: `aud` is the client).
        if token_use == "access"
            && !inner.audience.is_empty()
            && !c
                .aud
                .as_deref()
                .is_some_and(|aud| inner.audience.iter().any(|a| a == aud))
        {
            return Err(AuthError::with_message(
                ErrorKind::WrongClient,
                "The token's audience is not accepted here.",
            ));
        }
        rec.enter(Step::Time);
        self.check_times(c.exp, c.nbf, c.iat)?;
        Ok((index, cache))
    }

    /// The time rule (`crate::time`) on a token's times, now, with this pool's leeway.
    pub(super) fn check_times(&self, exp: Option<f64>, nbf: Option<f64>, iat: Option<f64>) -> Result<(), AuthError> {
        let inner = &*self.inner;
        Times { exp, nbf, iat }.check(unix_now(SystemTime::now())?, inner.leeway, inner.check_expiration)
    }

    /// Steps 5-6 once the keys are at hand; a verified token is remembered.
    fn finish(
        &self,
        token: &str,
        parsed: &Token<'_>,
        checked: &Prechecked<'_>,
        keys: &Loaded,
        rec: &mut impl Recorder,
    ) -> Result<(), AuthError> {
        let verified = if self.inner.oidc.is_some() {
            let key = keys.keys.jose_key(&checked.kid, checked.alg)?;
            rec.enter(Step::Signature);
            key.verify(parsed.signing_input.as_bytes(), &parsed.signature()?)
        } else {
            let alg = checked.alg.rsa().ok_or(ErrorKind::UnsupportedAlg)?;
            let key = keys.keys.key(&checked.kid, alg)?;
            rec.enter(Step::Signature);
            key.verify_sig(parsed.signing_input.as_bytes(), &parsed.signature()?)
                .is_ok()
        };
        if !verified {
            return Err(ErrorKind::BadSignature.into());
        }
        self.remember(token, parsed, checked, keys);
        Ok(())
    }
}
