//! RFC 9728 protected-resource metadata: how a client (an MCP client, say)
//! learns from the resource itself which authorization servers issue its
//! tokens, which scopes exist, and whether tokens must be DPoP-bound.

use serde_json::{Map, Value, json};

use crate::dpop::DpopPolicy;
use crate::validator::Validator;

/// Where the metadata document is served (RFC 9728 §3): this path, or this
/// path followed by the resource's own path (§3.1).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// An RFC 9728 metadata document, built from a validator's configuration.
///
/// ```
/// # fn demo(validator: &tokengate_core::Validator) {
/// use tokengate_core::metadata::ResourceMetadata;
/// let metadata = ResourceMetadata::new("https://api.example.com", validator)
///     .scopes_supported(["orders:read", "orders:write"])
///     .member("resource_documentation", "https://docs.example.com/api");
/// assert_eq!(metadata.document()["resource"], "https://api.example.com");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct ResourceMetadata {
    document: Map<String, Value>,
}

impl ResourceMetadata {
    /// The document for the resource identified by `resource` (an `https`
    /// URL, RFC 9728 §2; often the audience tokens must carry, as an RFC
    /// 8707 resource indicator), protected by `validator`:
    /// `authorization_servers` are its trusted issuers,
    /// `bearer_methods_supported` the token locations it accepts, and with
    /// DPoP on, `dpop_signing_alg_values_supported` and
    /// `dpop_bound_access_tokens_required`.
    pub fn new(resource: impl Into<String>, validator: &Validator) -> Self {
        let servers: Vec<&str> = validator.issuers().iter().filter_map(|issuer| issuer.name()).collect();
        let locations = validator.token_locations();
        let mut methods = vec!["header"];
        if locations.form_body {
            methods.push("body");
        }
        if locations.query {
            methods.push("query");
        }
        let mut document = Map::new();
        document.insert("resource".into(), json!(resource.into()));
        // RFC 9728 §2: a member without a value is omitted (under
        // `any_issuer` or tenants alone, no issuer is named).
        if !servers.is_empty() {
            document.insert("authorization_servers".into(), json!(servers));
        }
        document.insert("bearer_methods_supported".into(), json!(methods));
        if let Some(dpop) = validator.dpop() {
            let algs: Vec<&str> = dpop.proof_algorithms().iter().map(|alg| alg.name()).collect();
            document.insert("dpop_signing_alg_values_supported".into(), json!(algs));
            let required = dpop.default_policy() == DpopPolicy::Required;
            document.insert("dpop_bound_access_tokens_required".into(), json!(required));
        }
        ResourceMetadata { document }
    }

    /// `scopes_supported`: the scopes clients may request for this resource
    /// (none: the member is omitted, RFC 9728 §2).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        if scopes.is_empty() {
            self.document.remove("scopes_supported");
            return self;
        }
        self.member("scopes_supported", scopes)
    }

    /// Any other member (`resource_name`, `resource_documentation`,
    /// `resource_policy_uri`, …), or one of the above replaced.
    pub fn member(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.document.insert(name.into(), value.into());
        self
    }

    /// The document.
    pub fn document(&self) -> &Map<String, Value> {
        &self.document
    }

    /// The document as JSON text, as served.
    pub fn to_json(&self) -> String {
        // A map of JSON values always serializes.
        serde_json::to_string(&self.document).unwrap_or_default()
    }

    /// The paths it is served at: [`WELL_KNOWN_PATH`], and, when the
    /// resource has a path, that path appended (RFC 9728 §3.1).
    pub fn paths(&self) -> Vec<String> {
        let resource = self.document.get("resource").and_then(Value::as_str).unwrap_or_default();
        let path = resource
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
            .map(|path| path.trim_end_matches('/'))
            .unwrap_or_default();
        let mut paths = vec![WELL_KNOWN_PATH.to_owned()];
        if !path.is_empty() {
            paths.push(format!("{WELL_KNOWN_PATH}{path}"));
        }
        paths
    }

    /// The whole answer to a `GET` of the document: 200, `application/json`,
    /// and `Cache-Control: max-age=300` (it changes only with the configuration).
    pub fn response<B: From<String>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.to_json()));
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("max-age=300"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Issuer, Key, KeySet, TokenLocations};

    fn validator() -> Validator {
        Validator::builder()
            .issuer(
                Issuer::new("https://auth.example.com/")
                    .audience("https://api.example.com/v1")
                    .algorithms([Algorithm::HS256])
                    .keys(KeySet::new([Key::hmac_secret([7u8; 32]).unwrap()])),
            )
            .token_locations(TokenLocations { form_body: true, ..Default::default() })
            .build()
            .unwrap()
    }

    #[test]
    fn the_document_follows_the_configuration() {
        let metadata =
            ResourceMetadata::new("https://api.example.com/v1", &validator()).scopes_supported(["a", "b"]);
        assert_eq!(
            Value::Object(metadata.document().clone()),
            json!({
                "resource": "https://api.example.com/v1",
                "authorization_servers": ["https://auth.example.com/"],
                "bearer_methods_supported": ["header", "body"],
                "scopes_supported": ["a", "b"],
            })
        );
        assert_eq!(metadata.paths(), [WELL_KNOWN_PATH.to_owned(), format!("{WELL_KNOWN_PATH}/v1")]);
        let root = ResourceMetadata::new("https://api.example.com", &validator());
        assert_eq!(root.paths(), [WELL_KNOWN_PATH]);
        let response = root.response::<String>();
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(
            serde_json::from_str::<Value>(response.body()).unwrap()["resource"],
            "https://api.example.com"
        );
    }

    /// RFC 9728 §2: members without a value are omitted, not sent empty.
    #[test]
    fn empty_members_are_omitted() {
        let any = Validator::builder()
            .issuer(
                Issuer::any_issuer()
                    .audience("https://api.example.com")
                    .algorithms([Algorithm::HS256])
                    .keys(KeySet::new([Key::hmac_secret([7u8; 32]).unwrap()])),
            )
            .build()
            .unwrap();
        let metadata = ResourceMetadata::new("https://api.example.com", &any)
            .scopes_supported(["a"])
            .scopes_supported(Vec::<String>::new());
        assert_eq!(
            Value::Object(metadata.document().clone()),
            json!({ "resource": "https://api.example.com", "bearer_methods_supported": ["header"] })
        );
    }
}
