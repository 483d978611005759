//! The transport rules every URL tokengate fetches must obey, and one HTTP
//! exchange under them: public so that other tokengate crates talking to the
//! same authorization server (`tokengate-introspect`) apply exactly the
//! same rules.
//!
//! - `https://` only; `http://` only for a loopback host (`127.0.0.0/8`,
//!   `::1`, `localhost`) and only when allowed; never a URL with a user name
//!   or password in it ([`check_transport`], [`parse_url`]);
//! - a bounded number of redirects, each obeying the same rules
//!   ([`default_client`]); with a custom client, the URL its redirects ended
//!   at is checked ([`Transport::send`]);
//! - a deadline for the whole exchange, from connecting to the last body
//!   byte, and a cap on the body size, enforced before it is all read
//!   ([`Transport::send`], [`Transport::body`]).

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap};
use url::Url;

pub use crate::config::{check_transport, default_client, parse_url};
use crate::error::JwksFetchError;

/// An HTTP client with the transport rules it must apply: the client
/// (usually [`default_client`]), whether loopback `http://` is allowed, the
/// request deadline and the response size cap. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Transport {
    client: reqwest::Client,
    allow_http_loopback: bool,
    request_timeout: Duration,
    max_response_bytes: usize,
}

impl Transport {
    /// The rules, with `client` to apply them with. `request_timeout` is
    /// applied to every request even when the client has its own.
    pub fn new(
        client: reqwest::Client,
        allow_http_loopback: bool,
        request_timeout: Duration,
        max_response_bytes: usize,
    ) -> Transport {
        Transport { client, allow_http_loopback, request_timeout, max_response_bytes }
    }

    /// The HTTP client, to build requests with (then [`Transport::send`] them).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Whether `http://` URLs on loopback hosts are allowed.
    pub fn allows_http_loopback(&self) -> bool {
        self.allow_http_loopback
    }

    /// The deadline of one exchange, from connecting to the last body byte.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The largest response body read, in bytes.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// Parses `text` and applies the transport rules to it.
    pub fn parse_url(&self, text: &str) -> Result<Url, crate::JwksBuildError> {
        parse_url(text, self.allow_http_loopback)
    }

    /// Sends `request` (built with [`Transport::client`] for `url`) with the
    /// request deadline, and checks the URL the response finally came from
    /// (a custom client may follow redirects anywhere). Any status is
    /// returned: the caller decides what a non-2xx answer means.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, JwksFetchError> {
        let response = request.timeout(self.request_timeout).send().await.map_err(|e| self.failed(url, e))?;
        check_transport(response.url(), self.allow_http_loopback)
            .map_err(|source| JwksFetchError::Refused { url: url.to_string(), source })?;
        Ok(response)
    }

    /// Reads the body of `response` (to `url`), refusing it as soon as it
    /// is known to exceed the size cap: from its `Content-Length`, or while
    /// it arrives.
    pub async fn body(&self, mut response: reqwest::Response, url: &Url) -> Result<Vec<u8>, JwksFetchError> {
        let limit = self.max_response_bytes;
        let too_large = || JwksFetchError::TooLarge { url: url.to_string(), limit };
        let announced = response.content_length().unwrap_or(0);
        if announced > limit as u64 {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(announced as usize);
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failed(url, e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A GET of `url` accepting `accept`: a 2xx answer's body (capped) and
    /// headers; any other status is [`JwksFetchError::Status`].
    pub async fn get(&self, url: &Url, accept: &'static str) -> Result<(Vec<u8>, HeaderMap), JwksFetchError> {
        tracing::debug!(url = %url, "fetching");
        let response = self.send(self.client.get(url.clone()).header(ACCEPT, accept), url).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(JwksFetchError::Status { url: url.to_string(), status: status.as_u16() });
        }
        let headers = response.headers().clone();
        Ok((self.body(response, url).await?, headers))
    }

    /// A reqwest failure as a fetch error: a timeout, or any other failure.
    fn failed(&self, url: &Url, source: reqwest::Error) -> JwksFetchError {
        if source.is_timeout() {
            JwksFetchError::Timeout { url: url.to_string(), timeout: self.request_timeout }
        } else {
            JwksFetchError::Request { url: url.to_string(), source }
        }
    }
}
