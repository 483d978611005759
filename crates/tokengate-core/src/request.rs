//! Finding the bearer token in a request (RFC 6750 §2).

use std::borrow::Cow;

use crate::dpop::DpopPolicy;
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
            if name.is_empty() || !name.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase()) {
                return Some(format!("token header {name:?} is not a lower-case header name"));
            }
            if matches!(name, "authorization" | "dpop" | "cookie") {
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
    let token = rest.trim_ascii();
    if token.is_empty() {
        return Err(Error::MalformedRequest(RequestProblem::EmptyToken));
    }
    // b64token is ASCII, so anything that is not UTF-8 fails its check anyway.
    std::str::from_utf8(token)
        .map(|token| Some((token, scheme)))
        .map_err(|_| Error::MalformedRequest(RequestProblem::InvalidCharacters))
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

/// The `DPoP` headers of a request, as the validator reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proofs<'a> {
    None,
    One(&'a str),
    /// More than one `DPoP` header (refused, RFC 9449 §4.3 check 1).
    Several,
}

/// What validation reads of a presentation, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Presented<'a> {
    pub(crate) token: &'a str,
    pub(crate) scheme: Scheme,
    pub(crate) proofs: Proofs<'a>,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) policy: Option<DpopPolicy>,
}

impl<'a> Presented<'a> {
    /// A token presented as `Bearer`, without a request around it.
    pub(crate) fn bearer(token: &'a str) -> Self {
        Presented { token, scheme: Scheme::Bearer, proofs: Proofs::None, method: "", path: "", policy: None }
    }
}

/// A token as a request presents it, with what DPoP needs of that request
/// (method, path, the `DPoP` proof), owned: adapters take it from the
/// request, then validate it once the request has moved on
/// ([`Validator::validate_presentation`](crate::Validator::validate_presentation)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    token: String,
    scheme: Scheme,
    proofs: OwnedProofs,
    method: String,
    path: String,
    policy: Option<DpopPolicy>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedProofs {
    None,
    One(String),
    Several,
}

impl Presentation {
    /// A token presented as `Bearer` (obtained some other way: a WebSocket
    /// sub-protocol, a gRPC metadata entry…).
    pub fn bearer(token: impl Into<String>) -> Self {
        Presentation {
            token: token.into(),
            scheme: Scheme::Bearer,
            proofs: OwnedProofs::None,
            method: String::new(),
            path: String::new(),
            policy: None,
        }
    }

    /// A token presented under the `DPoP` scheme with `proof`, for a request
    /// with this `method` and `path` (the URL the proof must name is the
    /// validator's DPoP public URL followed by `path`).
    pub fn dpop(
        token: impl Into<String>,
        proof: impl Into<String>,
        method: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Presentation {
            token: token.into(),
            scheme: Scheme::Dpop,
            proofs: OwnedProofs::One(proof.into()),
            method: method.into(),
            path: path.into(),
            policy: None,
        }
    }

    /// What `request` presents, with its `DPoP` headers when `dpop` is on.
    pub(crate) fn from_request<R: RequestParts + ?Sized>(
        request: &R,
        locations: TokenLocations,
        dpop: bool,
    ) -> Result<Self, Error> {
        let (token, scheme) = extract_credentials(request, locations, dpop)?;
        let mut proofs = OwnedProofs::None;
        if dpop {
            let mut headers = request.header_values("dpop");
            proofs = match (headers.next(), headers.next()) {
                (None, _) => OwnedProofs::None,
                (Some(_), Some(_)) => OwnedProofs::Several,
                // A proof that is not UTF-8 is no JWS: refused as malformed.
                (Some(proof), None) => OwnedProofs::One(String::from_utf8_lossy(proof).into_owned()),
            };
        }
        Ok(Presentation {
            token: token.into_owned(),
            scheme,
            proofs,
            method: request.method().to_owned(),
            path: request.path().to_owned(),
            policy: None,
        })
    }

    /// This route's DPoP policy, instead of the issuer's.
    pub fn with_dpop_policy(mut self, policy: DpopPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The scheme it was presented with.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub(crate) fn presented(&self) -> Presented<'_> {
        Presented {
            token: &self.token,
            scheme: self.scheme,
            proofs: match &self.proofs {
                OwnedProofs::None => Proofs::None,
                OwnedProofs::One(proof) => Proofs::One(proof),
                OwnedProofs::Several => Proofs::Several,
            },
            method: &self.method,
            path: &self.path,
            policy: self.policy,
        }
    }
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

/// The whole value of the header `name`; twice is an error.
fn custom_header<'r, R: RequestParts + ?Sized>(
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
fn cookie<'r, R: RequestParts + ?Sized>(
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

/// A token's bytes as text: empty is `EmptyToken`, not UTF-8 is
/// `InvalidCharacters` (the `b64token` check follows).
fn token_text(value: &[u8]) -> Result<&str, Error> {
    if value.is_empty() {
        return Err(Error::MalformedRequest(RequestProblem::EmptyToken));
    }
    std::str::from_utf8(value).map_err(|_| Error::MalformedRequest(RequestProblem::InvalidCharacters))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn check_b64token(token: &str) -> Result<(), Error> {
    let bytes = token.as_bytes();
    let body = bytes.len() - bytes.iter().rev().take_while(|b| **b == b'=').count();
    let valid = body > 0
        && bytes[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
    if valid { Ok(()) } else { Err(Error::MalformedRequest(RequestProblem::InvalidCharacters)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[&str], uri: &str) -> http::Request<()> {
        let mut builder = http::Request::get(uri);
        for value in headers {
            builder = builder.header("authorization", *value);
        }
        builder.body(()).unwrap()
    }

    fn extract(headers: &[&str], uri: &str, locations: TokenLocations) -> Result<String, Error> {
        extract_token(&request(headers, uri), locations).map(Cow::into_owned)
    }

    const DEFAULT: TokenLocations =
        TokenLocations { query: false, form_body: false, header: None, cookie: None };
    const QUERY: TokenLocations = TokenLocations { query: true, ..DEFAULT };

    #[test]
    fn header_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc", "Bearer abc "] {
            assert_eq!(extract(&[value], "/", DEFAULT).unwrap(), "abc", "{value}");
        }
    }

    #[test]
    fn other_schemes_and_no_header_are_missing_tokens() {
        for headers in [&[][..], &["Basic dXNlcjpwYXNz"], &["Bearerabc"], &["DPoP abc"], &["Bearer-x abc"]] {
            assert_eq!(extract(headers, "/", DEFAULT), Err(Error::MissingToken), "{headers:?}");
        }
    }

    #[test]
    fn a_bearer_header_without_a_space_after_the_scheme_is_malformed() {
        let malformed = Err(Error::MalformedRequest(RequestProblem::MalformedCredentials));
        for value in [&b"Bearer\tabc"[..], b"bearer\xc2\xa0abc", b"Bearer,abc", b"BEARER/abc"] {
            let mut request = request(&[], "/");
            request.headers_mut().insert("authorization", http::HeaderValue::from_bytes(value).unwrap());
            assert_eq!(extract_token(&request, DEFAULT).map(Cow::into_owned), malformed, "{value:?}");
        }
    }

    #[test]
    fn malformed_presentations_are_invalid_requests() {
        let problem = |p| Err(Error::MalformedRequest(p));
        assert_eq!(extract(&["Bearer"], "/", DEFAULT), problem(RequestProblem::EmptyToken));
        assert_eq!(extract(&["Bearer   "], "/", DEFAULT), problem(RequestProblem::EmptyToken));
        assert_eq!(extract(&["Bearer a b"], "/", DEFAULT), problem(RequestProblem::InvalidCharacters));
        assert_eq!(extract(&["Bearer a\"b"], "/", DEFAULT), problem(RequestProblem::InvalidCharacters));
        assert_eq!(extract(&["Bearer ==="], "/", DEFAULT), problem(RequestProblem::InvalidCharacters));
        assert_eq!(
            extract(&["Bearer a", "Bearer a"], "/", DEFAULT),
            problem(RequestProblem::MultipleAuthorizationHeaders)
        );
        // A second method is an error even while query tokens are disabled.
        assert_eq!(
            extract(&["Bearer a"], "/?access_token=b", DEFAULT),
            problem(RequestProblem::MultipleTokens)
        );
        assert_eq!(
            extract(&[], "/?access_token=a&access_token=b", QUERY),
            problem(RequestProblem::MultipleTokens)
        );
        assert_eq!(extract(&[], "/?access_token=", QUERY), problem(RequestProblem::EmptyToken));
    }

    #[test]
    fn query_tokens_only_when_enabled() {
        assert_eq!(extract(&[], "/?access_token=a.b-c_d", DEFAULT), Err(Error::MissingToken));
        assert_eq!(extract(&[], "/?x=1&access_token=a.b-c_d", QUERY).unwrap(), "a.b-c_d");
        assert_eq!(extract(&["Basic x"], "/?access_token=t", QUERY).unwrap(), "t");
        let mut request = request(&[], "/");
        request.headers_mut().insert("authorization", http::HeaderValue::from_bytes(b"Bearer \xff").unwrap());
        assert_eq!(
            extract_token(&request, DEFAULT),
            Err(Error::MalformedRequest(RequestProblem::InvalidCharacters))
        );
    }

    /// A request with a buffered form body.
    struct WithBody(http::Request<()>, &'static str);

    impl RequestParts for WithBody {
        type HeaderValues<'a> = HeaderIter<'a>;
        fn header_values(&self, name: &'static str) -> HeaderIter<'_> {
            self.0.header_values(name)
        }
        fn method(&self) -> &str {
            self.0.method().as_str()
        }
        fn path(&self) -> &str {
            self.0.uri().path()
        }
        fn query(&self) -> Option<&str> {
            self.0.uri().query()
        }
        fn form_body(&self) -> Option<&[u8]> {
            Some(self.1.as_bytes())
        }
    }

    #[test]
    fn form_body_tokens_need_a_method_with_content_semantics() {
        const FORM: TokenLocations = TokenLocations { form_body: true, ..DEFAULT };
        let with = |method: &str| {
            let request = http::Request::builder().method(method).uri("/").body(()).unwrap();
            extract_token(&WithBody(request, "x=1&access_token=abc"), FORM).map(Cow::into_owned)
        };
        for method in ["POST", "PUT", "PATCH"] {
            assert_eq!(with(method).as_deref(), Ok("abc"), "{method}");
        }
        for method in ["GET", "HEAD", "DELETE", "OPTIONS"] {
            assert_eq!(
                with(method),
                Err(Error::MalformedRequest(RequestProblem::FormTokenMethod)),
                "{method}"
            );
        }
        // Where body tokens are not accepted, a GET's body token is no token at all.
        let request = http::Request::get("/").body(()).unwrap();
        assert_eq!(extract_token(&WithBody(request, "access_token=abc"), DEFAULT), Err(Error::MissingToken));
    }

    /// A GET request with these `(name, value)` headers.
    fn with_headers(headers: &[(&str, &str)]) -> http::Request<()> {
        let mut builder = http::Request::get("/");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    const COOKIE: TokenLocations = TokenLocations { cookie: Some("tg"), ..DEFAULT };
    const HEADER: TokenLocations = TokenLocations { header: Some("x-api-token"), ..DEFAULT };

    fn malformed(problem: RequestProblem) -> Result<String, Error> {
        Err(Error::MalformedRequest(problem))
    }

    #[test]
    fn cookie_tokens_only_when_enabled_and_only_once() {
        let extract = |headers: &[(&str, &str)], locations| {
            extract_token(&with_headers(headers), locations).map(Cow::into_owned)
        };
        let cookie = |value| [("cookie", value)];
        assert_eq!(extract(&cookie("a=1; tg=abc.def; b=2"), COOKIE), Ok("abc.def".to_owned()));
        assert_eq!(extract(&cookie("tg=\"abc\""), COOKIE), Ok("abc".to_owned()), "a quoted value");
        assert_eq!(extract(&[("cookie", "a=1"), ("cookie", "tg=abc")], COOKIE), Ok("abc".to_owned()));
        // Off by default, another name, a name that only contains ours: no token.
        assert_eq!(extract(&cookie("tg=abc"), DEFAULT), Err(Error::MissingToken));
        assert_eq!(extract(&cookie("TG=abc; xtg=abc; tg2=abc"), COOKIE), Err(Error::MissingToken));
        // Twice (one header or two), or beside another presentation: refused.
        assert_eq!(extract(&cookie("tg=abc; tg=def"), COOKIE), malformed(RequestProblem::MultipleTokens));
        assert_eq!(
            extract(&[("cookie", "tg=abc"), ("cookie", "tg=abc")], COOKIE),
            malformed(RequestProblem::MultipleTokens)
        );
        assert_eq!(
            extract(&[("cookie", "tg=abc"), ("authorization", "Bearer abc")], COOKIE),
            malformed(RequestProblem::MultipleTokens)
        );
        // Empty (cleared): no token, and the Authorization header decides;
        // outside b64token: refused.
        assert_eq!(extract(&cookie("tg="), COOKIE), Err(Error::MissingToken));
        assert_eq!(extract(&cookie("tg=\"\""), COOKIE), Err(Error::MissingToken));
        assert_eq!(extract(&cookie("tg=; tg=abc"), COOKIE), Ok("abc".to_owned()));
        assert_eq!(
            extract(&[("cookie", "tg="), ("authorization", "Bearer abc")], COOKIE),
            Ok("abc".to_owned())
        );
        assert_eq!(extract(&cookie("tg=a,b"), COOKIE), malformed(RequestProblem::InvalidCharacters));
        // The Authorization header still works beside an unrelated cookie.
        assert_eq!(
            extract(&[("cookie", "session=1"), ("authorization", "Bearer abc")], COOKIE),
            Ok("abc".to_owned())
        );
    }

    #[test]
    fn custom_header_tokens_only_when_enabled_and_only_once() {
        let extract = |headers: &[(&str, &str)], locations| {
            extract_token(&with_headers(headers), locations).map(Cow::into_owned)
        };
        assert_eq!(extract(&[("x-api-token", " abc.def ")], HEADER), Ok("abc.def".to_owned()));
        assert_eq!(extract(&[("x-api-token", "abc")], DEFAULT), Err(Error::MissingToken));
        assert_eq!(
            extract(&[("x-api-token", "abc"), ("x-api-token", "abc")], HEADER),
            malformed(RequestProblem::MultipleTokens)
        );
        assert_eq!(
            extract(&[("x-api-token", "abc"), ("authorization", "Bearer abc")], HEADER),
            malformed(RequestProblem::MultipleTokens)
        );
        assert_eq!(extract(&[("x-api-token", "")], HEADER), malformed(RequestProblem::EmptyToken));
        // The scheme is not stripped: the whole value is the token.
        assert_eq!(
            extract(&[("x-api-token", "Bearer abc")], HEADER),
            malformed(RequestProblem::InvalidCharacters)
        );
        let both = TokenLocations { cookie: Some("tg"), ..HEADER };
        assert_eq!(
            extract(&[("x-api-token", "abc"), ("cookie", "tg=abc")], both),
            malformed(RequestProblem::MultipleTokens)
        );
    }

    #[test]
    fn unusable_header_and_cookie_names_are_named() {
        for header in ["X-Api-Token", "authorization", "dpop", "cookie", "", "x api"] {
            let locations = TokenLocations { header: Some(header), ..DEFAULT };
            assert!(locations.problem().is_some(), "{header:?}");
        }
        for cookie in ["", "a b", "a;b", "a=b"] {
            let locations = TokenLocations { cookie: Some(cookie), ..DEFAULT };
            assert!(locations.problem().is_some(), "{cookie:?}");
        }
        assert_eq!(TokenLocations { cookie: Some("__Host-token"), ..HEADER }.problem(), None);
    }

    #[test]
    fn b64token_allows_its_alphabet_and_trailing_padding() {
        assert!(check_b64token("aZ09-._~+/==").is_ok());
        assert!(check_b64token("a=b").is_err());
        assert!(check_b64token("=").is_err());
    }
}
