//! `alb:`: which load balancers' user claims are trusted, and where their keys are.

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::keys::is_loopback;
use super::pool::one_or_many;
use crate::error::ConfigError;

/// Where AWS publishes a region's load-balancer keys, one PEM per kid.
const AWS_KEY_URL: &str = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}";

/// The settings of `alb:`: which load balancers' user claims are trusted.
///
/// ```
/// use cognito_core::alb::AlbSettings;
/// let alb: AlbSettings = serde_yaml::from_str(r#"
/// region: eu-west-1
/// arns: arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188
/// client_ids: [my-app-client]
/// "#).unwrap();
/// assert_eq!(alb.arns.len(), 1);
/// assert_eq!(
///     alb.key_url_for("11111111-2222-3333-4444-555555555555").ok(),
///     Some("https://public-keys.auth.elb.eu-west-1.amazonaws.com/11111111-2222-3333-4444-555555555555".to_owned())
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbSettings {
    /// The load balancers' AWS region, e.g. `eu-west-1` (it names the key URL).
    pub region: String,
    /// The ARNs of the trusted load balancers (one or more; a string or a list in settings):
    /// a token whose `signer` is none of them is `wrong_issuer`.
    #[serde(deserialize_with = "one_or_many")]
    pub arns: Vec<String>,
    /// The accepted app clients (the token header's `client`); empty (the default) accepts any.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// The expected `iss` (the identity provider); `None` (the default) accepts any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Where the keys are, a URL template with `{kid}` (for tests and emulators); by default
    /// `https://public-keys.auth.elb.<region>.amazonaws.com/{kid}`. Plain `http` only on
    /// loopback, unless `allow_insecure_jwks_url` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_url: Option<String>,
    /// The most keys kept (default 64; 1 to 4096): keys a signature has verified with, the
    /// least recently used out first.
    #[serde(default = "default_max_keys")]
    pub max_keys: usize,
}

fn default_max_keys() -> usize {
    64
}

impl AlbSettings {
    /// Settings that trust these load balancers of `region`, any client and issuer, AWS's keys.
    pub fn new(region: impl Into<String>, arns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            region: region.into(),
            arns: arns.into_iter().map(Into::into).collect(),
            client_ids: Vec::new(),
            issuer: None,
            key_url: None,
            max_keys: default_max_keys(),
        }
    }

    pub(crate) fn template(&self) -> String {
        match &self.key_url {
            Some(url) => url.clone(),
            None => AWS_KEY_URL.replace("{region}", &self.region),
        }
    }

    /// Every rule of `alb:`; `allow_insecure` is the top-level `allow_insecure_jwks_url`.
    pub(crate) fn validate(&self, allow_insecure: bool) -> Result<(), ConfigError> {
        let invalid = |field, problem: &str| ConfigError::invalid(None, field, problem.to_owned());
        if self.region.is_empty() || !self.region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid("alb.region", "must be an AWS region (letters, digits and '-')"));
        }
        if self.arns.is_empty() || self.arns.iter().any(String::is_empty) {
            return Err(invalid(
                "alb.arns",
                "must name at least one load balancer ARN, none empty",
            ));
        }
        if self.client_ids.iter().any(String::is_empty) {
            return Err(invalid("alb.client_ids", "an app client id must not be empty"));
        }
        if let Some(issuer) = &self.issuer
            && issuer.is_empty()
        {
            return Err(invalid("alb.issuer", "must not be empty (leave it out to accept any)"));
        }
        if !(1..=4096).contains(&self.max_keys) {
            return Err(invalid(
                "alb.max_keys",
                &format!("must be between 1 and 4096 (got {})", self.max_keys),
            ));
        }
        let template = self.template();
        if template.matches("{kid}").count() != 1 {
            return Err(invalid("alb.key_url", "must hold {kid} exactly once"));
        }
        // A kid is a UUID: check the URL with one in place of {kid}.
        let sample = template.replace("{kid}", "00000000-0000-0000-0000-000000000000");
        let url = Url::parse(&sample).map_err(|e| invalid("alb.key_url", &format!("is not a valid URL ({e})")))?;
        match url.scheme() {
            "https" if url.host().is_some() => Ok(()),
            "http" if url.host().is_some() && (allow_insecure || is_loopback(&url)) => Ok(()),
            "http" if url.host().is_some() => Err(invalid(
                "alb.key_url",
                "is plain http on a host that is not loopback; use https (or set \
                 allow_insecure_jwks_url: true on a network you trust end to end)",
            )),
            _ => Err(invalid("alb.key_url", "must be an http(s) URL")),
        }
    }
}
