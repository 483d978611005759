//! actix-web requests as the core sees them.

use actix_web::HttpRequest;
use actix_web::http::header::HeaderValue;
use tokengate_core::RequestParts;

/// An actix-web request, viewed through [`RequestParts`] so that the core
/// extracts the token from it exactly as from an `http::Request`.
#[derive(Clone, Copy, Debug)]
pub struct ActixRequest<'a>(pub &'a HttpRequest);

type Values<'a> = std::iter::Map<std::slice::Iter<'a, HeaderValue>, fn(&'a HeaderValue) -> &'a [u8]>;

impl RequestParts for ActixRequest<'_> {
    type HeaderValues<'b>
        = Values<'b>
    where
        Self: 'b;

    fn header_values(&self, name: &'static str) -> Values<'_> {
        self.0.headers().get_all(name).map(HeaderValue::as_bytes)
    }
    fn method(&self) -> &str {
        self.0.method().as_str()
    }
    fn path(&self) -> &str {
        self.0.path()
    }
    fn query(&self) -> Option<&str> {
        Some(self.0.query_string()).filter(|query| !query.is_empty())
    }
}
