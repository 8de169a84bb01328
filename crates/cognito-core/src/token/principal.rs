//! What authorization reads of a verified token: its scopes, whether it is a user's or a
//! machine's, and the facts a requirement is checked against.

/// The scopes of a `scope` claim: separated by spaces (RFC 6749 3.3), empty pieces skipped.
/// The one reading of the claim, for the route check and for the claims types.
pub(crate) fn split_scopes(scope: Option<&str>) -> impl Iterator<Item = &str> + Clone {
    scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty())
}

/// Who a verified token speaks for ([`crate::Verified::principal`],
/// [`crate::CognitoToken::principal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// A user: their `sub` and user name (`username`, else `cognito:username`).
    User {
        /// `sub`.
        sub: Option<&'a str>,
        /// `username`, else `cognito:username`.
        username: Option<&'a str>,
    },
    /// An app client acting for itself (client credentials): its `client_id`.
    Machine {
        /// `client_id` (which is also the token's `sub`).
        client_id: &'a str,
    },
}

/// The machine rule, the one place it is written: an access token with no user name whose
/// `sub` is its `client_id`.
pub(crate) fn is_machine(
    token_use: Option<&str>,
    has_username: bool,
    sub: Option<&str>,
    client_id: Option<&str>,
) -> bool {
    token_use == Some("access") && !has_username && sub.is_some() && sub == client_id
}

/// What authorization reads of a verified token, whoever holds it (the parse, a token-cache
/// entry, a [`crate::Verified`]).
pub(crate) struct Facts<'a, G> {
    pub groups: &'a [G],
    pub scope: Option<&'a str>,
    pub machine: bool,
    pub auth_time: Option<f64>,
    pub acr: Option<&'a str>,
}

impl<G: std::ops::Deref<Target = str>> Facts<'_, G> {
    /// The same facts, owned: kept by a token-cache entry and the [`crate::Verified`] it
    /// hands out (one copy, shared), so authorizing a remembered token reads no JSON.
    pub(crate) fn to_owned(&self) -> OwnedFacts {
        OwnedFacts {
            groups: self.groups.iter().map(|g| Box::from(&**g)).collect(),
            scope: self.scope.map(Box::from),
            machine: self.machine,
            auth_time: self.auth_time,
            acr: self.acr.map(Box::from),
        }
    }
}

/// [`Facts`], owned (see [`Facts::to_owned`]): read once, from the claims as the verification
/// read them (so an OpenID Connect token's `scp` is its scope here too).
#[derive(Debug, Default)]
pub(crate) struct OwnedFacts {
    pub groups: Box<[Box<str>]>,
    pub scope: Option<Box<str>>,
    pub machine: bool,
    pub auth_time: Option<f64>,
    pub acr: Option<Box<str>>,
}

impl OwnedFacts {
    /// Borrowed, as authorization reads them.
    pub(crate) fn facts(&self) -> Facts<'_, Box<str>> {
        Facts {
            groups: &self.groups,
            scope: self.scope.as_deref(),
            machine: self.machine,
            auth_time: self.auth_time,
            acr: self.acr.as_deref(),
        }
    }
}
