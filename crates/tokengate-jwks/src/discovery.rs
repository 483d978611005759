//! Authorization-server metadata: OpenID Connect Discovery, then RFC 8414.
//! Public so that other tokengate crates locate their endpoints (for
//! instance `introspection_endpoint`) exactly as the key source locates
//! `jwks_uri`.
//!
//! A metadata document is used only when its `issuer` member equals the
//! configured issuer exactly (OpenID Connect Discovery §4.3, RFC 8414 §3.3),
//! and the endpoint it names must obey the transport rules.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::{JwksBuildError, JwksFetchError};
use crate::transport::{Transport, parse_url};

/// Where an issuer's metadata documents live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataUrls {
    issuer: String,
    openid_configuration: Url,
    oauth_authorization_server: Url,
}

impl MetadataUrls {
    /// The metadata locations of `issuer`, checked by the transport rules:
    /// `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery
    /// §4, after removing a terminating `/`), and
    /// `/.well-known/oauth-authorization-server` inserted between the host
    /// and the issuer's path (RFC 8414 §3.1). An issuer with a query or
    /// fragment is refused (RFC 8414 §2).
    pub fn for_issuer(issuer: &str, allow_http_loopback: bool) -> Result<MetadataUrls, JwksBuildError> {
        let invalid = |reason| JwksBuildError::InvalidIssuer { issuer: issuer.to_owned(), reason };
        let url = parse_url(issuer, allow_http_loopback)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("an issuer identifier has no query or fragment (RFC 8414 §2)"));
        }
        // OpenID Connect Discovery §4: remove a terminating "/", append the suffix.
        let openid =
            format!("{}/.well-known/openid-configuration", issuer.strip_suffix('/').unwrap_or(issuer));
        let openid_configuration = parse_url(&openid, allow_http_loopback)?;
        // RFC 8414 §3.1: insert the well-known segment between host and path,
        // after removing a terminating "/" from the path.
        let mut oauth_authorization_server = url.clone();
        let path = url.path().strip_suffix('/').unwrap_or(url.path());
        oauth_authorization_server.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
        Ok(MetadataUrls { issuer: issuer.to_owned(), openid_configuration, oauth_authorization_server })
    }

    /// The issuer, exactly as configured: the documents' `issuer` must equal it.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn openid_configuration(&self) -> &Url {
        &self.openid_configuration
    }

    /// The RFC 8414 §3.1 location.
    pub fn oauth_authorization_server(&self) -> &Url {
        &self.oauth_authorization_server
    }

    pub(crate) fn into_parts(self) -> (String, Url, Url) {
        (self.issuer, self.openid_configuration, self.oauth_authorization_server)
    }
}

/// The URL of the metadata member `endpoint` (`"jwks_uri"`,
/// `"introspection_endpoint"`, …) of the issuer's first usable metadata
/// document: OpenID Connect's, else RFC 8414's. A document is usable when
/// it is a JSON object whose `issuer` equals the configured one exactly and
/// which names `endpoint`; the URL must obey the transport rules, or the
/// document is refused ([`JwksFetchError::Refused`]). When neither document
/// is usable, [`JwksFetchError::Discovery`] holds both failures.
pub async fn discover(
    transport: &Transport,
    urls: &MetadataUrls,
    endpoint: &str,
) -> Result<Url, JwksFetchError> {
    discover_at(
        transport,
        &urls.issuer,
        &urls.openid_configuration,
        &urls.oauth_authorization_server,
        endpoint,
    )
    .await
}

/// [`discover`], from the parts.
pub(crate) async fn discover_at(
    transport: &Transport,
    issuer: &str,
    openid_configuration: &Url,
    oauth_authorization_server: &Url,
    endpoint: &str,
) -> Result<Url, JwksFetchError> {
    let first = match metadata(transport, openid_configuration, issuer, endpoint).await {
        Ok(url) => return Ok(url),
        Err(error) => error,
    };
    tracing::debug!(url = %openid_configuration, error = %first, "OpenID Connect discovery failed; trying RFC 8414");
    match metadata(transport, oauth_authorization_server, issuer, endpoint).await {
        Ok(url) => Ok(url),
        Err(second) => Err(JwksFetchError::Discovery {
            openid_configuration: Box::new(first),
            oauth_authorization_server: Box::new(second),
        }),
    }
}

/// Reads one metadata document and returns its checked `endpoint`.
async fn metadata(
    transport: &Transport,
    url: &Url,
    expected_issuer: &str,
    endpoint: &str,
) -> Result<Url, JwksFetchError> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        #[serde(flatten)]
        members: serde_json::Map<String, Value>,
    }
    let invalid = |reason: String| JwksFetchError::InvalidMetadata { url: url.to_string(), reason };
    let (body, _) = transport.get(url, "application/json").await?;
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
    let named = match document.members.get(endpoint) {
        None | Some(Value::Null) => return Err(invalid(format!("it has no `{endpoint}`"))),
        Some(Value::String(named)) => named,
        Some(_) => return Err(invalid(format!("its `{endpoint}` is not a string"))),
    };
    transport.parse_url(named).map_err(|source| JwksFetchError::Refused { url: url.to_string(), source })
}
