//! actix-web requests as the core sees them.

use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;
use tokengate_core::RequestParts;

/// An actix-web request, viewed through [`RequestParts`] so that the core
/// extracts the token from it exactly as from an `http::Request`.
#[derive(Clone, Copy, Debug)]
pub struct ActixRequest<'a> {
    /// The request.
    pub request: &'a HttpRequest,
    /// Its buffered form body, when the gate read it.
    pub form_body: Option<&'a [u8]>,
}

type Values<'a> = std::iter::Map<std::slice::Iter<'a, HeaderValue>, fn(&'a HeaderValue) -> &'a [u8]>;

impl RequestParts for ActixRequest<'_> {
    type HeaderValues<'b>
        = Values<'b>
    where
        Self: 'b;

    fn header_values(&self, name: &'static str) -> Values<'_> {
        self.request.headers().get_all(name).map(HeaderValue::as_bytes)
    }
    fn method(&self) -> &str {
        self.request.method().as_str()
    }
    fn path(&self) -> &str {
        self.request.path()
    }
    fn query(&self) -> Option<&str> {
        Some(self.request.query_string()).filter(|query| !query.is_empty())
    }
    fn form_body(&self) -> Option<&[u8]> {
        self.form_body
    }
}
