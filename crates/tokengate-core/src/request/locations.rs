//! Where a token may be besides the `Authorization` header: the query and
//! form body (RFC 6750 §2.2, §2.3), a custom header, a cookie.

use super::{RequestParts, is_tchar, token_text};
use crate::error::{Error, RequestProblem};

/// Where tokens are accepted besides the `Authorization` header.
///
/// All are off by default: tokens in URLs end up in logs and browser
/// history (RFC 6750 §5.3), and a token in a cookie is sent by the browser
/// on every request, including forged cross-site ones. Whatever is enabled,
/// a request presenting a token in more than one place (or twice in one) is
/// refused `invalid_request`.
///
/// ```
/// use tokengate_core::TokenLocations;
/// // The `Authorization` header, or the `access_token` cookie of a browser app.
/// let locations = TokenLocations { cookie: Some("access_token"), ..TokenLocations::default() };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenLocations {
    /// Accept `?access_token=` (RFC 6750 §2.3).
    pub query: bool,
    /// Accept an `access_token` form-body parameter (RFC 6750 §2.2).
    pub form_body: bool,
    /// Accept the token as the whole value of this header (e.g.
    /// `x-api-token`; no scheme in front). Lower case; not `authorization`
    /// or `dpop` (the builder refuses them). Only `Bearer` semantics: a
    /// DPoP-bound token is never accepted from it.
    pub header: Option<&'static str>,
    /// Accept the token as the value of the cookie of this name (compared
    /// exactly, as RFC 6265 does; an empty value is no token). Only for
    /// same-site cookies: a browser sends the cookie with cross-site
    /// requests unless `SameSite` says otherwise, so protect state-changing
    /// routes against CSRF. Prefer a `__Host-` name: a sibling subdomain
    /// cannot set it, so it cannot plant a second cookie of that name (which
    /// makes every request `invalid_request`).
    pub cookie: Option<&'static str>,
}

impl TokenLocations {
    /// Why these locations cannot be used, if so: a header or cookie name
    /// that is not an RFC 9110 token (or a header name not in lower case),
    /// or a header the validator reads for something else.
    pub(crate) fn problem(&self) -> Option<String> {
        if let Some(name) = self.header {
            if !is_header_name(name) {
                return Some(format!("token header {name:?} is not a lower-case header name"));
            }
            if is_reserved_header(name) {
                return Some(format!("token header {name:?} already has a meaning"));
            }
        }
        if let Some(name) = self.cookie
            && (name.is_empty() || !name.bytes().all(is_tchar))
        {
            return Some(format!("token cookie {name:?} is not a cookie name"));
        }
        None
    }
}

/// Whether `name` is a header the validator reads for something else
/// (credentials): no token location and no client fingerprint.
pub(crate) fn is_reserved_header(name: &str) -> bool {
    matches!(name, "authorization" | "dpop" | "cookie")
}

/// Whether `name` is a header name as the validator is configured with
/// them: an RFC 9110 token, in lower case.
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase())
}

/// The whole value of the header `name`; twice is an error.
pub(super) fn custom_header<'r, R: RequestParts + ?Sized>(
    request: &'r R,
    name: &'static str,
) -> Result<Option<&'r str>, Error> {
    let mut values = request.header_values(name);
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(Error::MalformedRequest(RequestProblem::MultipleTokens));
    }
    token_text(value.trim_ascii()).map(Some)
}

/// The value of the cookie `name` across every `Cookie` header (RFC 6265
/// §4.2.1: `name=value` pairs separated by `; `; a value may be quoted).
/// The same name twice is an error: which one the browser meant is unknown.
/// An empty value (a cleared cookie, the usual "logged out") is no token.
pub(super) fn cookie<'r, R: RequestParts + ?Sized>(
    request: &'r R,
    name: &'static str,
) -> Result<Option<&'r str>, Error> {
    let mut found = None;
    for header in request.header_values("cookie") {
        for pair in header.split(|b| *b == b';') {
            let Some(at) = pair.iter().position(|b| *b == b'=') else { continue };
            if pair[..at].trim_ascii() != name.as_bytes() {
                continue;
            }
            let value = pair[at + 1..].trim_ascii();
            let value = value.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(value);
            if value.is_empty() {
                continue;
            }
            if found.is_some() {
                return Err(Error::MalformedRequest(RequestProblem::MultipleTokens));
            }
            found = Some(value);
        }
    }
    found.map(token_text).transpose()
}
