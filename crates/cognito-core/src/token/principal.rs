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
