//! [`Rejection`]: why an adapter refused a request, an authentication error or a server that
//! is not set up for the route, with the status, headers and body of the answer.

use super::{AuthError, ErrorKind, json_content_type};

/// Why an adapter refused a request: an [`AuthError`], or a server that is not set up for the
/// route (a policy naming a pool the settings lack, no `CognitoAuth` in the app's state): a
/// deployment mistake, answered with a 500 whose body reveals nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The token was missing, invalid, or lacks a required group or scope.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The server is not set up for this route; the text says how, for the operator's log.
    #[error("authentication is misconfigured: {0}")]
    Misconfigured(String),
    /// The request path could be read as another route than the one it would be judged
    /// for (an encoded character, a dot or empty segment, a `;` parameter, a trailing dot,
    /// letter case): refused with 400 `ambiguous_path`, before any token is read.
    #[error("the request path could be read as another route")]
    AmbiguousPath,
}

const MISCONFIGURED_MESSAGE: &str = "This route's authentication is not configured on the server.";
const AMBIGUOUS_PATH_MESSAGE: &str =
    "The request path has a form that could reach another route than the one it was checked for.";

impl Rejection {
    /// The authentication error kind, if this is one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Rejection::Auth(e) => Some(e.kind()),
            Rejection::Misconfigured(_) | Rejection::AmbiguousPath => None,
        }
    }

    /// The `error` member of the body: the kind's stable name, `"server_misconfigured"` or
    /// `"ambiguous_path"`.
    pub fn error_code(&self) -> &'static str {
        match self {
            Rejection::Auth(e) => e.kind().as_str(),
            Rejection::Misconfigured(_) => "server_misconfigured",
            Rejection::AmbiguousPath => "ambiguous_path",
        }
    }

    /// One line for a log or an error chain, the same from every adapter:
    /// `authentication refused: <status> <error code>`; the reason is this rejection itself.
    pub fn summary(&self) -> String {
        format!("authentication refused: {} {}", self.status(), self.error_code())
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Auth(e) => e.status(),
            Rejection::Misconfigured(_) => 500,
            Rejection::AmbiguousPath => 400,
        }
    }

    /// The headers to send (see [`AuthError::headers`]).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Rejection::Auth(e) => e.headers(),
            Rejection::Misconfigured(_) | Rejection::AmbiguousPath => vec![json_content_type()],
        }
    }

    /// The sentence of the body: the error's message, or for a server that is not set up and
    /// an ambiguous path, a fixed sentence that reveals nothing of the server.
    pub fn message(&self) -> &str {
        match self {
            Rejection::Auth(e) => e.message(),
            Rejection::Misconfigured(_) => MISCONFIGURED_MESSAGE,
            Rejection::AmbiguousPath => AMBIGUOUS_PATH_MESSAGE,
        }
    }

    /// Seconds for `Retry-After` (see [`AuthError::retry_after_secs`]).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Rejection::Auth(e) => e.retry_after_secs(),
            Rejection::Misconfigured(_) | Rejection::AmbiguousPath => None,
        }
    }

    /// The JSON body (see [`AuthError::body`]).
    pub fn body(&self) -> String {
        match self {
            Rejection::Auth(e) => e.body(),
            Rejection::Misconfigured(_) | Rejection::AmbiguousPath => {
                serde_json::json!({ "error": self.error_code(), "message": self.message() }).to_string()
            }
        }
    }
}
