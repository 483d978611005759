//! One fetch: discovery when needed, the JWK Set, parsed once.

use reqwest::header::{AGE, CACHE_CONTROL, HeaderMap};
use tokengate_core::KeySet;
use url::Url;

use crate::config::Config;
use crate::discovery;
use crate::error::JwksFetchError;

/// A key set obtained by one successful fetch.
pub(crate) struct Fetched {
    pub(crate) keys: KeySet,
    /// The response's usable `max-age` (already reduced by `Age`), if any.
    pub(crate) max_age: Option<u64>,
    /// Where it came from.
    pub(crate) url: Url,
}

/// Fetches and parses the JWK Set at `url`.
pub(crate) async fn jwk_set(config: &Config, url: &Url) -> Result<Fetched, JwksFetchError> {
    let (body, headers) =
        config.transport().get(url, "application/jwk-set+json, application/json;q=0.9").await?;
    let (keys, skipped) = KeySet::parse_jwk_set(&body)
        .map_err(|source| JwksFetchError::InvalidJwkSet { url: url.to_string(), source })?;
    for skip in &skipped {
        tracing::warn!(url = %url, kid = ?skip.kid, reason = %skip.reason, "skipping unusable key in JWK Set");
    }
    if keys.is_empty() {
        return Err(JwksFetchError::NoUsableKeys { url: url.to_string(), skipped: skipped.len() });
    }
    Ok(Fetched { keys, max_age: usable_max_age(&headers), url: url.clone() })
}

/// Discovery of the `jwks_uri`: OpenID Connect first, then RFC 8414.
pub(crate) async fn discover(
    config: &Config,
    issuer: &str,
    openid_configuration: &Url,
    oauth_authorization_server: &Url,
) -> Result<Url, JwksFetchError> {
    let transport = config.transport();
    discovery::discover_at(&transport, issuer, openid_configuration, oauth_authorization_server, "jwks_uri")
        .await
}

/// `max-age` from `Cache-Control`, minus `Age`, unless `no-store` or
/// `no-cache` is present (RFC 9111 §5.2.2). Several `max-age`s: the smallest.
pub(crate) fn usable_max_age(headers: &HeaderMap) -> Option<u64> {
    let mut max_age: Option<u64> = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let value = value.to_str().ok()?;
        for directive in value.split(',') {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return None;
            }
            if name.eq_ignore_ascii_case("max-age") {
                let seconds = argument?.parse::<u64>().ok()?;
                max_age = Some(max_age.map_or(seconds, |m| m.min(seconds)));
            }
        }
    }
    let age = headers.get(AGE).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok()).unwrap_or(0);
    max_age.map(|m| m.saturating_sub(age))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(usable_max_age(&headers(&[])), None);
        assert_eq!(usable_max_age(&headers(&[("cache-control", "max-age=600")])), Some(600));
        assert_eq!(usable_max_age(&headers(&[("cache-control", "public, Max-Age=\"120\"")])), Some(120));
        assert_eq!(usable_max_age(&headers(&[("cache-control", "max-age=600, no-cache")])), None);
        assert_eq!(
            usable_max_age(&headers(&[("cache-control", "no-store"), ("cache-control", "max-age=9")])),
            None
        );
        assert_eq!(usable_max_age(&headers(&[("cache-control", "max-age=abc")])), None);
        assert_eq!(usable_max_age(&headers(&[("cache-control", "max-age=600"), ("age", "100")])), Some(500));
        assert_eq!(usable_max_age(&headers(&[("cache-control", "max-age=600, max-age=60")])), Some(60));
        assert_eq!(usable_max_age(&headers(&[("cache-control", "s-maxage=600")])), None);
    }
}
