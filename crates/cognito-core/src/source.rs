//! Where a request's token comes from: the configured [`TokenSource`]s, tried in order, over
//! a [`RequestView`] of the request.
//!
//! Each adapter implements [`RequestView`] for its framework's request; it is implemented here
//! for `http`'s [`Request`](http::Request), [`request::Parts`](http::request::Parts) and
//! [`HeaderMap`](http::HeaderMap) (which has no query string), so a hyper or tower service can
//! hand its request to a verifier as it is:
//!
//! ```
//! use cognito_core::{CognitoAuth, CognitoSettings, ErrorKind, Requirement};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CognitoSettings::from_yaml_str(r#"
//! token_sources: [header, {cookie: id_token}]
//! userpools:
//!   eu: {region: eu-west-1, userpool_id: eu-west-1_A, app_client_id: a}
//! "#)?;
//! let auth = CognitoAuth::new(&settings)?;
//! let request = http::Request::get("/").header("cookie", "theme=dark; id_token=x.y.z").body(())?;
//! let refused = auth.authenticate::<cognito_core::Verified>(&request, &Requirement::new()).await.unwrap_err();
//! assert_eq!(refused.kind(), Some(ErrorKind::Malformed)); // the cookie's token was read, and judged
//! # Ok(()) }
//! ```

use std::borrow::Cow;

use crate::error::{AuthError, ErrorKind};
use crate::settings::TokenSource;
use crate::token;

/// What token sources read of a request: its headers and its query string.
pub trait RequestView {
    /// Every value of the header `name` (given in ASCII lowercase), in request order.
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]>;

    /// The query string after `?`, as sent (still percent-encoded), if the request has one.
    fn query(&self) -> Option<&str>;
}

impl RequestView for http::HeaderMap {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.get_all(name).iter().map(http::HeaderValue::as_bytes)
    }

    /// A header map has no query string.
    fn query(&self) -> Option<&str> {
        None
    }
}

impl RequestView for http::request::Parts {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.headers.header_values(name)
    }

    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
}

impl<B> RequestView for http::Request<B> {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.headers().header_values(name)
    }

    fn query(&self) -> Option<&str> {
        self.uri().query()
    }
}

/// Header name-value pairs, names in any case, and no query string: the request of a
/// framework without an adapter, or of a test.
///
/// ```
/// # use cognito_core::source::RequestView;
/// let request = [("Authorization", "Bearer x.y.z")];
/// assert_eq!(request.header_values("authorization").collect::<Vec<_>>(), [b"Bearer x.y.z"]);
/// ```
impl<K: AsRef<str>, V: AsRef<[u8]>> RequestView for [(K, V)] {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.iter()
            .filter(move |(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }

    fn query(&self) -> Option<&str> {
        None
    }
}

/// As for a slice of pairs.
impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> RequestView for [(K, V); N] {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.as_slice().header_values(name)
    }

    fn query(&self) -> Option<&str> {
        None
    }
}

/// How a verifier reads tokens: its sources in order, the header's lowercase name and scheme,
/// and the size cap (the header rule applies it; every token, whatever its source, meets it
/// again as the verification's first check).
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub(crate) order: Vec<TokenSource>,
    pub(crate) header_name: String,
    pub(crate) header_prefix: String,
    pub(crate) max_token_bytes: usize,
}

impl Sources {
    /// The sources of `settings`: `token_sources`, the header's name and scheme, the size cap.
    pub(crate) fn of(settings: &crate::settings::CognitoSettings) -> Self {
        Sources {
            order: settings.token_sources.clone(),
            header_name: settings.jwt_header_name.to_ascii_lowercase(),
            header_prefix: settings.jwt_header_prefix.clone(),
            max_token_bytes: settings.max_token_bytes,
        }
    }

    /// Where the token is: the first source that holds one answers (its problem too: a
    /// present but broken token never falls through to the next source); `missing_token` when
    /// none does. A cookie or query token is read decoded, as the frameworks read it.
    pub(crate) fn find<'a>(&'a self, request: &'a (impl RequestView + ?Sized)) -> Result<Cow<'a, str>, AuthError> {
        for source in &self.order {
            let found = match source {
                TokenSource::Header => token::from_header(
                    request.header_values(&self.header_name),
                    &self.header_prefix,
                    self.max_token_bytes,
                )
                .map(Cow::Borrowed),
                TokenSource::Cookie(name) => cookie(request, name),
                TokenSource::Query(name) if is_websocket_upgrade(request) => query(request, name),
                TokenSource::Query(_) => Err(ErrorKind::MissingToken.into()),
            };
            match found {
                Err(e) if e.kind() == ErrorKind::MissingToken => continue,
                other => return other,
            }
        }
        Err(ErrorKind::MissingToken.into())
    }
}

/// The one value of `name` among `pairs` (names and values decoded): absent or empty ->
/// `missing_token`; twice -> `invalid_header` (which of two tokens is meant cannot be known).
fn single<'a>(
    pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    name: &str,
    twice: &'static str,
) -> Result<Cow<'a, str>, AuthError> {
    let mut found = None;
    for (key, value) in pairs {
        if key == name {
            if found.is_some() {
                return Err(AuthError::with_message(ErrorKind::InvalidHeader, twice));
            }
            found = Some(value);
        }
    }
    match found {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ErrorKind::MissingToken.into()),
    }
}

/// The cookie `name` from every `Cookie` header (HTTP/2 may split them): `a=b; c=d`, a value
/// optionally in double quotes (RFC 6265 4.2.1), names and values trimmed and percent-decoded
/// as the `cookie` crate's `parse_encoded` reads them (axum-extra's, actix-web's and rocket's
/// cookie jars), so `id%5Ftoken` is the cookie `id_token`. A `Cookie` header that is not UTF-8
/// is `invalid_header`: skipping it could hide a second token cookie from the "twice" rule.
fn cookie<'a>(request: &'a (impl RequestView + ?Sized), name: &str) -> Result<Cow<'a, str>, AuthError> {
    let mut headers = Vec::new();
    for value in request.header_values("cookie") {
        let value = std::str::from_utf8(value)
            .map_err(|_| AuthError::with_message(ErrorKind::InvalidHeader, "A cookie header is not UTF-8."))?;
        headers.push(value);
    }
    let pairs = headers
        .into_iter()
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (decode(key.trim(), false), decode(value, false))
        });
    single(pairs, name, "The token cookie appears more than once.")
}

/// The query parameter `name`: names and values form-decoded (`%XX`, and `+` as a space) as
/// the frameworks' query parsers read them, so `access%5Ftoken` is `access_token` (and counts
/// for the "twice" rule) and the token verified is the one a handler would read.
fn query<'a>(request: &'a (impl RequestView + ?Sized), name: &str) -> Result<Cow<'a, str>, AuthError> {
    let pairs = request
        .query()
        .unwrap_or_default()
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(key, value)| (decode(key, true), decode(value, true)));
    single(pairs, name, "The token parameter appears more than once.")
}

/// `input` percent-decoded: `%XX` (two hex digits) is that byte, any other `%` stays, and `+`
/// is a space if `plus_is_space` (form encoding); bytes that are not UTF-8 become U+FFFD. This
/// is how `form_urlencoded` (under serde_urlencoded, axum's and actix-web's `Query`) reads a
/// query string. Borrowed when there is nothing to decode.
fn decode(input: &str, plus_is_space: bool) -> Cow<'_, str> {
    let bytes = input.as_bytes();
    if !bytes.iter().any(|&b| b == b'%' || (plus_is_space && b == b'+')) {
        return Cow::Borrowed(input);
    }
    let hex = |b: Option<&u8>| {
        b.and_then(|&b| char::from(b).to_digit(16))
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                if let (Some(high), Some(low)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                    out.push((high << 4) | low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// An HTTP/1.1 WebSocket opening handshake (RFC 6455 4.1): `Upgrade` names `websocket` and
/// `Connection` names `upgrade`, each among comma-separated tokens, in any case.
fn is_websocket_upgrade(request: &(impl RequestView + ?Sized)) -> bool {
    let names = |header: &'static str, token: &'static str| {
        request.header_values(header).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    names("upgrade", "websocket") && names("connection", "upgrade")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(order: Vec<TokenSource>) -> Sources {
        Sources {
            order,
            header_name: "authorization".into(),
            header_prefix: "Bearer".into(),
            max_token_bytes: 64,
        }
    }

    fn all() -> Sources {
        sources(vec![
            TokenSource::Header,
            TokenSource::Cookie("id_token".into()),
            TokenSource::Query("access_token".into()),
        ])
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut builder = http::Request::get(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    const UPGRADE: [(&str, &str); 2] = [("upgrade", "websocket"), ("connection", "keep-alive, Upgrade")];

    fn kind(result: Result<Cow<'_, str>, AuthError>) -> Result<String, ErrorKind> {
        result.map(Cow::into_owned).map_err(|e| e.kind())
    }

    fn ok(token: &str) -> Result<String, ErrorKind> {
        Ok(token.to_owned())
    }

    #[test]
    fn the_first_source_holding_a_token_answers() {
        let s = all();
        let both = request("/", &[("authorization", "Bearer a.b.c"), ("cookie", "id_token=d.e.f")]);
        assert_eq!(kind(s.find(&both)), ok("a.b.c"));
        let cookie = request("/", &[("cookie", "theme=dark; id_token=\"d.e.f\"; x=1")]);
        assert_eq!(kind(s.find(&cookie)), ok("d.e.f"));
        // A broken header token does not fall through to the cookie.
        let broken = request("/", &[("authorization", "Basic a.b.c"), ("cookie", "id_token=d.e.f")]);
        assert_eq!(kind(s.find(&broken)), Err(ErrorKind::InvalidHeader));
        assert_eq!(kind(s.find(&request("/", &[]))), Err(ErrorKind::MissingToken));
    }

    #[test]
    fn cookies_are_matched_by_whole_name_across_headers() {
        let s = all();
        let split = request("/", &[("cookie", "a=1"), ("cookie", "my_id_token=x; id_token=g.h.i")]);
        assert_eq!(kind(s.find(&split)), ok("g.h.i"));
        let twice = request("/", &[("cookie", "id_token=a.b.c"), ("cookie", "id_token=d.e.f")]);
        assert_eq!(kind(s.find(&twice)), Err(ErrorKind::InvalidHeader));
        let empty = request("/", &[("cookie", "id_token=")]);
        assert_eq!(kind(s.find(&empty)), Err(ErrorKind::MissingToken));
    }

    #[test]
    fn a_query_token_counts_on_websocket_upgrades_only() {
        let s = all();
        let plain = request("/ws?access_token=a.b.c", &[]);
        assert_eq!(kind(s.find(&plain)), Err(ErrorKind::MissingToken));
        let upgrade = request("/ws?x=1&access_token=a.b.c", &UPGRADE);
        assert_eq!(kind(s.find(&upgrade)), ok("a.b.c"));
        let not_websocket = request(
            "/ws?access_token=a.b.c",
            &[("upgrade", "h2c"), ("connection", "upgrade")],
        );
        assert_eq!(kind(s.find(&not_websocket)), Err(ErrorKind::MissingToken));
        let twice = request("/ws?access_token=a.b.c&access_token=d.e.f", &UPGRADE);
        assert_eq!(kind(s.find(&twice)), Err(ErrorKind::InvalidHeader));
        let prefixed = request("/ws?my_access_token=a.b.c", &UPGRADE);
        assert_eq!(kind(s.find(&prefixed)), Err(ErrorKind::MissingToken));
    }

    #[test]
    fn only_the_configured_sources_are_read() {
        let header_only = sources(vec![TokenSource::Header]);
        let cookie = request(
            "/ws?access_token=a.b.c",
            &[("cookie", "id_token=d.e.f"), UPGRADE[0], UPGRADE[1]],
        );
        assert_eq!(kind(header_only.find(&cookie)), Err(ErrorKind::MissingToken));
        let cookie_first = sources(vec![TokenSource::Cookie("id_token".into()), TokenSource::Header]);
        let both = request("/", &[("authorization", "Bearer a.b.c"), ("cookie", "id_token=d.e.f")]);
        assert_eq!(kind(cookie_first.find(&both)), ok("d.e.f"));
    }

    #[test]
    fn a_cookie_header_that_is_not_utf8_is_invalid_not_skipped() {
        let s = all();
        let mut request = request("/", &[("cookie", "id_token=d.e.f")]);
        let not_utf8 = http::HeaderValue::from_bytes(b"x=\xff; id_token=a.b.c").unwrap();
        request.headers_mut().insert("cookie", not_utf8);
        request
            .headers_mut()
            .append("cookie", http::HeaderValue::from_static("id_token=d.e.f"));
        assert_eq!(kind(s.find(&request)), Err(ErrorKind::InvalidHeader));
        // Alone too: a header that cannot be read is not "no cookie".
        request.headers_mut().remove("cookie");
        let alone = http::HeaderValue::from_bytes(b"id_token=\xff").unwrap();
        request.headers_mut().insert("cookie", alone);
        assert_eq!(kind(s.find(&request)), Err(ErrorKind::InvalidHeader));
        // Only read when the cookie source is: a header token before it answers first, and a
        // verifier without a cookie source never reads the cookie header.
        request
            .headers_mut()
            .insert("authorization", http::HeaderValue::from_static("Bearer a.b.c"));
        assert_eq!(kind(s.find(&request)), ok("a.b.c"));
        request.headers_mut().remove("authorization");
        assert_eq!(
            kind(sources(vec![TokenSource::Header]).find(&request)),
            Err(ErrorKind::MissingToken)
        );
    }

    #[test]
    fn cookie_names_and_values_are_read_as_cookie_jars_read_them() {
        let s = all();
        let encoded = request("/", &[("cookie", "id%5Ftoken=a.b.c")]);
        assert_eq!(kind(s.find(&encoded)), ok("a.b.c"));
        let hidden = request("/", &[("cookie", "id%5Ftoken=a.b.c; id_token=d.e.f")]);
        assert_eq!(kind(s.find(&hidden)), Err(ErrorKind::InvalidHeader));
        let spaced = request("/", &[("cookie", "id_token =a.b.c;id_token= d.e.f")]);
        assert_eq!(kind(s.find(&spaced)), Err(ErrorKind::InvalidHeader));
        let value = request("/", &[("cookie", "id_token=a%2Eb.c")]);
        assert_eq!(kind(s.find(&value)), ok("a.b.c"));
        // No form decoding in cookies: `+` stays.
        let plus = request("/", &[("cookie", "id+token=a.b.c")]);
        assert_eq!(kind(s.find(&plus)), Err(ErrorKind::MissingToken));
    }

    #[test]
    fn query_names_and_values_are_form_decoded() {
        let s = all();
        let hidden = request("/ws?access_token=a.b.c&access%5Ftoken=d.e.f", &UPGRADE);
        assert_eq!(kind(s.find(&hidden)), Err(ErrorKind::InvalidHeader));
        let lowercase_hex = request("/ws?access%5ftoken=a.b.c&access_token=d.e.f", &UPGRADE);
        assert_eq!(kind(s.find(&lowercase_hex)), Err(ErrorKind::InvalidHeader));
        let encoded = request("/ws?%61ccess_token=a.b.c", &UPGRADE);
        assert_eq!(kind(s.find(&encoded)), ok("a.b.c"));
        let value = request("/ws?access_token=a%2Eb%2ec", &UPGRADE);
        assert_eq!(kind(s.find(&value)), ok("a.b.c"));
        // `+` is a space, in names and values; a `%` without two hex digits stays.
        let plus = sources(vec![TokenSource::Query("access token".into())]);
        let spaced = request("/ws?access+token=a.b.c+x&access%20token=d", &UPGRADE);
        assert_eq!(kind(plus.find(&spaced)), Err(ErrorKind::InvalidHeader));
        let spaced = request("/ws?access+token=a.b.c+x", &UPGRADE);
        assert_eq!(kind(plus.find(&spaced)), ok("a.b.c x"));
        let stray = request("/ws?access_token=a.b%zz%4", &UPGRADE);
        assert_eq!(kind(s.find(&stray)), ok("a.b%zz%4"));
    }

    #[test]
    fn decoding_borrows_when_there_is_nothing_to_decode() {
        assert!(matches!(decode("a.b.c", true), Cow::Borrowed("a.b.c")));
        assert!(matches!(decode("a+b", false), Cow::Borrowed("a+b")));
        assert_eq!(decode("a+b%20c%", true), "a b c%");
        assert_eq!(decode("%ff%C3%A9", true), "\u{fffd}\u{e9}");
    }
}
