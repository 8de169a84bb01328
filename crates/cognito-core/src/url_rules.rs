//! How a key URL is shown to the outside: in metric labels, health reports, error messages and
//! events. A JWKS URL may carry credentials (`https://user:password@host/...`) or a signed
//! query (`?X-Amz-Signature=...` of a presigned S3 URL); those must never leave the process.
//! [`redact`] is the one rule, and every place that shows a key URL goes through it.

use reqwest::Url;

/// Whether keys fetched from `url` could be swapped by anyone on the network path: plain
/// `http` to a host that is not loopback (`127.0.0.0/8`, `::1`, `localhost`: emulators, tests).
/// Such a URL is refused at load unless the settings allow insecure key URLs.
pub(crate) fn is_insecure_key_url(url: &Url) -> bool {
    url.scheme() == "http" && !crate::settings::is_loopback(url)
}

/// The one wording of why an insecure key URL ([`is_insecure_key_url`]) is refused.
pub(crate) fn insecure_key_url_problem(what: &str, url: &Url) -> String {
    format!(
        "the {what} {} is plain http on a host that is not loopback; use https \
         (or set allow_insecure_jwks_url: true on a network you trust end to end)",
        redact(url.as_str())
    )
}

/// What stands in for `{kid}` while a key URL template is parsed (a UUID, as kids are).
const KID_SAMPLE: &str = "00000000-0000-0000-0000-000000000000";

/// `url` as it may be shown: scheme, host, port and path; no user name, password, query or
/// fragment. Text that is not such a URL is cut the same way, by hand.
///
/// ```text
/// http://svc:hunter2@keys.example:8080/jwks.json?X-Amz-Signature=abc#x
///   -> http://keys.example:8080/jwks.json
/// ```
pub(crate) fn redact(url: &str) -> String {
    match Url::parse(url) {
        // `a:b@c` parses too, as a path without a host: such text goes by hand.
        Ok(mut parsed) if !parsed.cannot_be_a_base() => {
            // Neither fails on a URL with a host; a URL without one has no user info anyway.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.into()
        }
        _ => redact_text(url),
    }
}

/// [`redact`] for a key URL template holding `{kid}` (a load balancer's key URL): the
/// template redacted with `{kid}` kept in place, so it can name the source as a whole.
pub(crate) fn redact_template(template: &str) -> String {
    redact(&template.replace("{kid}", KID_SAMPLE)).replace(KID_SAMPLE, "{kid}")
}

/// The by-hand rule for text that does not parse: cut at the first `?` or `#`, and drop
/// everything up to the last `@` of the authority.
fn redact_text(text: &str) -> String {
    let text = text.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_query_and_fragment_go() {
        for (given, shown) in [
            (
                "http://svc:hunter2@keys.example:8080/jwks.json?X-Amz-Signature=abc#frag",
                "http://keys.example:8080/jwks.json",
            ),
            ("https://user@keys.example/a/b", "https://keys.example/a/b"),
            (
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A/.well-known/jwks.json",
            ),
            (
                "http://127.0.0.1:9/jwks.json?token=secret",
                "http://127.0.0.1:9/jwks.json",
            ),
            ("file:///etc/keys/jwks.json?x=1", "file:///etc/keys/jwks.json"),
            // Not URLs: cut by hand.
            ("http://a:pw@[bad/x?q=1", "http://[bad/x"),
            ("a:pw@host?q", "host"),
        ] {
            assert_eq!(redact(given), shown, "{given}");
        }
    }

    #[test]
    fn a_template_keeps_its_kid_placeholder() {
        assert_eq!(
            redact_template("http://u:hunter2@127.0.0.1:8080/keys/{kid}?sig=abc"),
            "http://127.0.0.1:8080/keys/{kid}"
        );
        assert_eq!(
            redact_template("https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}"),
            "https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}"
        );
    }
}
