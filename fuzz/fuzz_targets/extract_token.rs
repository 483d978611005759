//! `tokengate_core::extract_token` on arbitrary requests: the input is cut
//! at 0xFF bytes into `Authorization` values, a query and a form body.
//! Never panics; a token it hands out is always an RFC 6750 `b64token`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate_core::{Error, RequestParts, TokenLocations, extract_token};

struct RawRequest<'a> {
    authorization: Vec<&'a [u8]>,
    query: Option<&'a str>,
    body: Option<&'a [u8]>,
}

impl RequestParts for RawRequest<'_> {
    type HeaderValues<'b>
        = Box<dyn Iterator<Item = &'b [u8]> + 'b>
    where
        Self: 'b;

    fn header_values(&self, name: &'static str) -> Self::HeaderValues<'_> {
        match name {
            "authorization" => Box::new(self.authorization.iter().copied()),
            _ => Box::new(std::iter::empty()),
        }
    }
    fn method(&self) -> &str {
        "POST"
    }
    fn path(&self) -> &str {
        "/"
    }
    fn query(&self) -> Option<&str> {
        self.query
    }
    fn form_body(&self) -> Option<&[u8]> {
        self.body
    }
}

fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xFF);
    let flags = parts.next().and_then(|p| p.first().copied()).unwrap_or(0);
    let query = parts.next().and_then(|q| std::str::from_utf8(q).ok());
    let body = parts.next();
    let authorization: Vec<&[u8]> = parts.take(3).collect();
    let request = RawRequest {
        authorization,
        query: query.filter(|_| flags & 1 != 0),
        body: body.filter(|_| flags & 2 != 0),
    };
    let locations = TokenLocations { query: flags & 4 != 0, form_body: flags & 8 != 0 };
    match extract_token(&request, locations) {
        Ok(token) => assert!(is_b64token(&token), "not a b64token: {token:?}"),
        Err(Error::MissingToken | Error::MalformedRequest(_)) => {}
        Err(other) => panic!("extraction refused with a non-request error: {other:?}"),
    }
});
