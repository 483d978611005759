//! One fetch: discovery when needed, the JWK Set, parsed once.

use reqwest::header::{ACCEPT, AGE, CACHE_CONTROL, HeaderMap};
use serde::Deserialize;
use tokengate_core::KeySet;
use url::Url;

use crate::config::{Config, check_transport, parse_url};
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
    let (body, headers) = get(config, url, "application/jwk-set+json, application/json;q=0.9").await?;
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

/// Reads one metadata document and returns its checked `jwks_uri`.
pub(crate) async fn metadata(
    config: &Config,
    url: &Url,
    expected_issuer: &str,
) -> Result<Url, JwksFetchError> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let invalid = |reason: String| JwksFetchError::InvalidMetadata { url: url.to_string(), reason };
    let (body, _) = get(config, url, "application/json").await?;
    let document: Metadata =
        serde_json::from_slice(&body).map_err(|e| invalid(format!("not a JSON metadata document: {e}")))?;
    let issuer = document.issuer.ok_or_else(|| invalid("it has no `issuer`".into()))?;
    if issuer != expected_issuer {
        return Err(JwksFetchError::IssuerMismatch {
            url: url.to_string(),
            expected: expected_issuer.to_owned(),
            found: issuer.chars().take(200).collect(),
        });
    }
    let jwks_uri = document.jwks_uri.ok_or_else(|| invalid("it has no `jwks_uri`".into()))?;
    parse_url(&jwks_uri, config.allow_http_loopback)
        .map_err(|source| JwksFetchError::Refused { url: url.to_string(), source })
}

/// Discovery: OpenID Connect first, then RFC 8414.
pub(crate) async fn discover(
    config: &Config,
    issuer: &str,
    openid_configuration: &Url,
    oauth_authorization_server: &Url,
) -> Result<Url, JwksFetchError> {
    let first = match metadata(config, openid_configuration, issuer).await {
        Ok(jwks_uri) => return Ok(jwks_uri),
        Err(error) => error,
    };
    tracing::debug!(url = %openid_configuration, error = %first, "OpenID Connect discovery failed; trying RFC 8414");
    match metadata(config, oauth_authorization_server, issuer).await {
        Ok(jwks_uri) => Ok(jwks_uri),
        Err(second) => Err(JwksFetchError::Discovery {
            openid_configuration: Box::new(first),
            oauth_authorization_server: Box::new(second),
        }),
    }
}

/// A GET with the timeout, the size cap and the transport rules applied.
async fn get(
    config: &Config,
    url: &Url,
    accept: &'static str,
) -> Result<(Vec<u8>, HeaderMap), JwksFetchError> {
    let timeout = config.request_timeout;
    let limit = config.max_response_bytes;
    let failed = |source: reqwest::Error| {
        if source.is_timeout() {
            JwksFetchError::Timeout { url: url.to_string(), timeout }
        } else {
            JwksFetchError::Request { url: url.to_string(), source }
        }
    };
    tracing::debug!(url = %url, "fetching");
    let mut response = config
        .client
        .get(url.clone())
        .header(ACCEPT, accept)
        .timeout(timeout)
        .send()
        .await
        .map_err(failed)?;
    // A custom client may follow redirects anywhere: check where we ended up.
    check_transport(response.url(), config.allow_http_loopback)
        .map_err(|source| JwksFetchError::Refused { url: url.to_string(), source })?;
    let status = response.status();
    if !status.is_success() {
        return Err(JwksFetchError::Status { url: url.to_string(), status: status.as_u16() });
    }
    let too_large = || JwksFetchError::TooLarge { url: url.to_string(), limit };
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(announced as usize);
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, response.headers().clone()))
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
