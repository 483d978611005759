//! Finding the bearer token in a request (RFC 6750 §2): the request as the
//! validator sees it ([`RequestParts`]), the places a token may be
//! ([`locations`](TokenLocations)), and what a presentation carries for
//! validation ([`Presentation`]).

mod locations;
mod presentation;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

pub use self::locations::TokenLocations;
use self::locations::{cookie, custom_header};
pub(crate) use self::locations::{is_header_name, is_reserved_header};
pub use self::presentation::Presentation;
pub(crate) use self::presentation::{Presented, Proofs};
use crate::error::{Error, RequestProblem};

/// What the validator needs to see of an HTTP request, whatever framework
/// it comes from. Implemented for `http::Request<B>` and
/// `http::request::Parts`; adapters implement it for their own types.
pub trait RequestParts {
    /// The values of one header, in order.
    type HeaderValues<'a>: Iterator<Item = &'a [u8]>
    where
        Self: 'a;

    /// Every value of the header `name` (given in lower case).
    fn header_values(&self, name: &'static str) -> Self::HeaderValues<'_>;

    /// The request method (`GET`, `POST`, …).
    fn method(&self) -> &str;

    /// The request path, without the query.
    fn path(&self) -> &str;

    /// The raw query string, without `?`.
    fn query(&self) -> Option<&str>;

    /// The `application/x-www-form-urlencoded` body, when the adapter has
    /// buffered it (only then can RFC 6750 §2.2 form tokens be seen).
    fn form_body(&self) -> Option<&[u8]> {
        None
    }
}

type HeaderIter<'a> =
    std::iter::Map<http::header::ValueIter<'a, http::HeaderValue>, fn(&'a http::HeaderValue) -> &'a [u8]>;

impl<B> RequestParts for http::Request<B> {
    type HeaderValues<'a>
        = HeaderIter<'a>
    where
        B: 'a;

    fn header_values(&self, name: &'static str) -> HeaderIter<'_> {
        self.headers().get_all(name).iter().map(http::HeaderValue::as_bytes)
    }
    fn method(&self) -> &str {
        self.method().as_str()
    }
    fn path(&self) -> &str {
        self.uri().path()
    }
    fn query(&self) -> Option<&str> {
        self.uri().query()
    }
}

impl RequestParts for http::request::Parts {
    type HeaderValues<'a> = HeaderIter<'a>;

    fn header_values(&self, name: &'static str) -> HeaderIter<'_> {
        self.headers.get_all(name).iter().map(http::HeaderValue::as_bytes)
    }
    fn method(&self) -> &str {
        self.method.as_str()
    }
    fn path(&self) -> &str {
        self.uri.path()
    }
    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
}

/// The bearer token a request presents.
///
/// Returns [`Error::MissingToken`] when there is none (also when the only
/// token is in a disabled location), and `invalid_request` errors for
/// several `Authorization` headers, tokens in several places, an empty
/// token or characters outside `b64token`.
pub fn extract_token<R: RequestParts + ?Sized>(
    request: &R,
    locations: TokenLocations,
) -> Result<Cow<'_, str>, Error> {
    extract_credentials(request, locations, false).map(|(token, _)| token)
}

/// The token a request presents and its scheme: `Bearer`, or, when `dpop`
/// is on, `DPoP` (RFC 9449 §7.1; only in the `Authorization` header).
pub(crate) fn extract_credentials<R: RequestParts + ?Sized>(
    request: &R,
    locations: TokenLocations,
    dpop: bool,
) -> Result<(Cow<'_, str>, Scheme), Error> {
    let mut headers = request.header_values("authorization");
    let header = headers.next();
    if headers.next().is_some() {
        return Err(Error::MalformedRequest(RequestProblem::MultipleAuthorizationHeaders));
    }
    let from_header = header.map(|value| credentials(value, dpop)).transpose()?.flatten();
    let from_query = request.query().map(|q| access_token_param(q.as_bytes())).transpose()?.flatten();
    let from_body = request.form_body().map(access_token_param).transpose()?.flatten();
    let from_custom = locations.header.map(|name| custom_header(request, name)).transpose()?.flatten();
    let from_cookie = locations.cookie.map(|name| cookie(request, name)).transpose()?.flatten();

    let presented = [
        from_header.is_some(),
        from_query.is_some(),
        from_body.is_some(),
        from_custom.is_some(),
        from_cookie.is_some(),
    ];
    if presented.into_iter().filter(|p| *p).count() > 1 {
        return Err(Error::MalformedRequest(RequestProblem::MultipleTokens));
    }
    let from_body = from_body.filter(|_| locations.form_body);
    // RFC 6750 §2.2: only with a method whose request content has defined
    // semantics; "the GET method MUST NOT be used".
    if from_body.is_some() && !matches!(request.method(), "POST" | "PUT" | "PATCH") {
        return Err(Error::MalformedRequest(RequestProblem::FormTokenMethod));
    }
    let (token, scheme) = match from_header {
        Some((token, scheme)) => (Cow::Borrowed(token), scheme),
        None => {
            let token = from_query
                .filter(|_| locations.query)
                .or(from_body)
                .or(from_custom.map(Cow::Borrowed))
                .or(from_cookie.map(Cow::Borrowed))
                .ok_or(Error::MissingToken)?;
            (token, Scheme::Bearer)
        }
    };
    check_b64token(&token)?;
    Ok((token, scheme))
}

/// `Bearer <token>` (or, with DPoP on, `DPoP <token>`) → the token and its
/// scheme; another scheme → `None`. The scheme is the header's leading
/// `token` (RFC 9110 §11.1): a header that names the scheme but does not
/// follow it with a space (a tab, a non-breaking space, a comma…) is
/// malformed, not "another scheme", so that it is refused as
/// `invalid_request` even where requests without credentials may pass.
fn credentials(value: &[u8], dpop: bool) -> Result<Option<(&str, Scheme)>, Error> {
    let scheme_len = value.iter().position(|b| !is_tchar(*b)).unwrap_or(value.len());
    let scheme = match &value[..scheme_len] {
        name if name.eq_ignore_ascii_case(b"bearer") => Scheme::Bearer,
        name if dpop && name.eq_ignore_ascii_case(b"dpop") => Scheme::Dpop,
        _ => return Ok(None),
    };
    let rest = &value[scheme_len..];
    if rest.first().is_some_and(|b| *b != b' ') {
        return Err(Error::MalformedRequest(RequestProblem::MalformedCredentials));
    }
    token_text(rest.trim_ascii()).map(|token| Some((token, scheme)))
}

/// The authentication scheme a token was presented with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `Authorization: Bearer` (or a query or form-body token): RFC 6750.
    #[default]
    Bearer,
    /// `Authorization: DPoP`, with a proof in the `DPoP` header: RFC 9449.
    Dpop,
}

/// RFC 9110 §5.6.2 `tchar`: the characters of an authentication scheme name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The `access_token` parameter of a query or form body; twice is an error.
fn access_token_param(encoded: &[u8]) -> Result<Option<Cow<'_, str>>, Error> {
    let mut found = None;
    for (name, value) in form_urlencoded::parse(encoded) {
        if name == "access_token" {
            if found.is_some() {
                return Err(Error::MalformedRequest(RequestProblem::MultipleTokens));
            }
            found = Some(value);
        }
    }
    match found {
        Some(token) if token.is_empty() => Err(Error::MalformedRequest(RequestProblem::EmptyToken)),
        found => Ok(found),
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn check_b64token(token: &str) -> Result<(), Error> {
    let bytes = token.as_bytes();
    let body = bytes.len() - bytes.iter().rev().take_while(|b| **b == b'=').count();
    // Arithmetic, no table and no branch per byte (a good token is read to
    // its end anyway): this runs over every presented token.
    // `-` `.` `/` and the digits are one run (0x2D..=0x39), the letters
    // another once case is folded: two range checks and three bytes.
    let allowed = |b: u8| {
        (b.wrapping_sub(b'-') <= b'9' - b'-')
            | ((b | 0x20).wrapping_sub(b'a') < 26)
            | (b == b'_')
            | (b == b'~')
            | (b == b'+')
    };
    let valid = body > 0 && bytes[..body].iter().fold(true, |valid, b| valid & allowed(*b));
    if valid { Ok(()) } else { Err(Error::MalformedRequest(RequestProblem::InvalidCharacters)) }
}

/// A token's bytes as text: empty is `EmptyToken`, not UTF-8 is
/// `InvalidCharacters` (the `b64token` check follows).
fn token_text(value: &[u8]) -> Result<&str, Error> {
    if value.is_empty() {
        return Err(Error::MalformedRequest(RequestProblem::EmptyToken));
    }
    std::str::from_utf8(value).map_err(|_| Error::MalformedRequest(RequestProblem::InvalidCharacters))
}
