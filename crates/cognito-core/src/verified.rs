//! [`Verified`]: a token that passed verification, as custom checks read it and as the
//! router-wide layer and middleware leave it in a request's extensions for the extractors.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{AuthError, ErrorKind};
use crate::token::{Facts, OwnedFacts, Principal};

/// A verified token: its pool, its JOSE header and its claims, as JSON. Cheap to clone.
///
/// Only this crate makes one, after every check of the token has passed; an extractor that
/// finds one in a request's extensions reads the claims from it instead of verifying again.
/// Its `Debug` shows the pool and the `sub`, never a claim value of any other kind.
#[derive(Clone)]
pub struct Verified(Arc<Inner>);

struct Inner {
    pool: Box<str>,
    header: Value,
    claims: Value,
    /// What authorization reads, as the verification read it (shared with the token-cache
    /// entry that holds this token): authorizing it again reads no JSON.
    facts: Arc<OwnedFacts>,
}

impl Verified {
    pub(crate) fn new(pool: &str, header: Value, claims: Value, facts: Arc<OwnedFacts>) -> Self {
        Verified(Arc::new(Inner {
            pool: pool.into(),
            header,
            claims,
            facts,
        }))
    }

    /// The name of the pool that verified it.
    pub fn pool(&self) -> &str {
        &self.0.pool
    }

    /// The claims (a JSON object).
    pub fn claims(&self) -> &Value {
        &self.0.claims
    }

    /// The JOSE header (a JSON object: `alg`, `kid`, ...).
    pub fn header(&self) -> &Value {
        &self.0.header
    }

    /// One claim, by name (`"sub"`, `"custom:tenant"`).
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.0.claims.get(name)
    }

    /// `sub`.
    pub fn sub(&self) -> Option<&str> {
        self.claim("sub").and_then(Value::as_str)
    }

    /// The groups of `cognito:groups`, as requirements read them.
    pub fn groups(&self) -> Vec<&str> {
        self.0.facts.groups.iter().map(|g| &**g).collect()
    }

    /// The scopes the token grants, as requirements read them: `scope` (or, for an OpenID
    /// Connect issuer's token without one, `scp`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> + Clone {
        crate::token::split_scopes(self.0.facts.scope.as_deref())
    }

    /// Who the token speaks for: an app client of its own ([`Principal::Machine`], a
    /// client-credentials access token: no user name, `sub` equal to `client_id`), else a
    /// user ([`Principal::User`]).
    pub fn principal(&self) -> Principal<'_> {
        let text = |name| self.claim(name).and_then(Value::as_str);
        let username = text("username").or_else(|| text("cognito:username"));
        let client_id = text("client_id");
        let machine = crate::token::is_machine(
            text("token_use"),
            self.claim("username").is_some() || self.claim("cognito:username").is_some(),
            self.sub(),
            client_id,
        );
        match (machine, client_id) {
            (true, Some(client_id)) => Principal::Machine { client_id },
            _ => Principal::User {
                sub: self.sub(),
                username,
            },
        }
    }

    /// What authorization reads of it.
    pub(crate) fn facts(&self) -> Facts<'_, Box<str>> {
        self.0.facts.facts()
    }

    /// The claims as the caller's type; a type they do not fit is `malformed`, as for a
    /// verification.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        // Types that only deserialize from text (`serde_json::value::RawValue`) get the text.
        T::deserialize(&self.0.claims)
            .or_else(|_| serde_json::from_str(&self.0.claims.to_string()))
            .map_err(|_| misfit())
    }
}

pub(crate) fn misfit() -> AuthError {
    AuthError::with_message(
        ErrorKind::Malformed,
        "The token's claims do not fit the claims type this service expects.",
    )
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("pool", &self.pool())
            .field("sub", &self.sub())
            .finish_non_exhaustive()
    }
}
