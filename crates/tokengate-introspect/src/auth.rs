//! How the resource server authenticates to the introspection endpoint
//! (RFC 7662 §2.1, with the client authentication of RFC 6749 §2.3.1).
//! The secret never appears in `Debug` output or in logs.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::HeaderValue;

/// A client secret: kept out of `Debug` output.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

/// The configured client authentication.
#[derive(Clone)]
pub(crate) enum ClientAuth {
    /// `client_secret_basic`: the `Authorization: Basic` header, made once
    /// (and marked sensitive, so HTTP tooling does not print it).
    Basic { client_id: String, header: HeaderValue },
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post { client_id: String, secret: Secret },
}

impl ClientAuth {
    /// `client_secret_basic`: the identifier and the secret, each
    /// form-urlencoded (RFC 6749 §2.3.1), joined by `:` and base64-encoded.
    pub(crate) fn basic(client_id: &str, secret: &str) -> Result<ClientAuth, &'static str> {
        check(client_id, secret)?;
        let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let credentials = STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret)));
        let mut header = HeaderValue::try_from(format!("Basic {credentials}"))
            .map_err(|_| "unusable client credentials")?;
        header.set_sensitive(true);
        Ok(ClientAuth::Basic { client_id: client_id.to_owned(), header })
    }

    /// `client_secret_post`.
    pub(crate) fn post(client_id: &str, secret: &str) -> Result<ClientAuth, &'static str> {
        check(client_id, secret)?;
        Ok(ClientAuth::Post { client_id: client_id.to_owned(), secret: Secret(secret.to_owned()) })
    }

    /// The method's name, as in RFC 8414's `introspection_endpoint_auth_methods_supported`.
    pub(crate) fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
        }
    }

    pub(crate) fn client_id(&self) -> &str {
        match self {
            ClientAuth::Basic { client_id, .. } | ClientAuth::Post { client_id, .. } => client_id,
        }
    }

    /// Adds the credentials to the request: the header, or the form members.
    pub(crate) fn apply(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut form_urlencoded::Serializer<'_, String>,
    ) -> reqwest::RequestBuilder {
        match self {
            ClientAuth::Basic { header, .. } => {
                request.header(reqwest::header::AUTHORIZATION, header.clone())
            }
            ClientAuth::Post { client_id, secret } => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", &secret.0);
                request
            }
        }
    }
}

fn check(client_id: &str, secret: &str) -> Result<(), &'static str> {
    if client_id.is_empty() {
        return Err("the client identifier is empty");
    }
    if secret.is_empty() {
        return Err("the client secret is empty");
    }
    Ok(())
}

impl fmt::Debug for ClientAuth {
    /// The method and the client identifier; never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("method", &self.method())
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_then_base64() {
        let auth = ClientAuth::basic("my client", "p@ss:word/é").unwrap();
        let ClientAuth::Basic { header, .. } = &auth else { unreachable!() };
        assert!(header.is_sensitive());
        let encoded = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aword%2F%C3%A9");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        for auth in [
            ClientAuth::basic("api", "s3cr3t-value").unwrap(),
            ClientAuth::post("api", "s3cr3t-value").unwrap(),
        ] {
            let debug = format!("{auth:?}");
            assert!(!debug.contains("s3cr3t"), "{debug}");
            assert!(debug.contains("api") && debug.contains("client_secret_"), "{debug}");
        }
        assert_eq!(format!("{:?}", Secret("s3cr3t".into())), "\"[redacted]\"");
    }

    #[test]
    fn empty_credentials_are_refused() {
        assert!(ClientAuth::basic("", "x").is_err());
        assert!(ClientAuth::post("api", "").is_err());
    }
}
