//! Extraction, location by location.

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

const DEFAULT: TokenLocations = TokenLocations { query: false, form_body: false, header: None, cookie: None };
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
    assert_eq!(extract(&["Bearer a"], "/?access_token=b", DEFAULT), problem(RequestProblem::MultipleTokens));
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
        assert_eq!(with(method), Err(Error::MalformedRequest(RequestProblem::FormTokenMethod)), "{method}");
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
    assert_eq!(extract(&[("cookie", "tg="), ("authorization", "Bearer abc")], COOKIE), Ok("abc".to_owned()));
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
    for (header, why) in [
        ("X-Api-Token", "not a lower-case header name"),
        ("", "not a lower-case header name"),
        ("x api", "not a lower-case header name"),
        ("authorization", "already has a meaning"),
        ("dpop", "already has a meaning"),
        ("cookie", "already has a meaning"),
    ] {
        let problem = TokenLocations { header: Some(header), ..DEFAULT }.problem().expect(header);
        assert!(problem.contains(&format!("{header:?}")) && problem.contains(why), "{problem}");
    }
    for cookie in ["", "a b", "a;b", "a=b"] {
        let problem = TokenLocations { cookie: Some(cookie), ..DEFAULT }.problem().expect(cookie);
        assert!(
            problem.contains(&format!("{cookie:?}")) && problem.contains("not a cookie name"),
            "{problem}"
        );
    }
    assert_eq!(TokenLocations { cookie: Some("__Host-token"), ..HEADER }.problem(), None);
}

#[test]
fn b64token_allows_its_alphabet_and_trailing_padding() {
    assert!(check_b64token("aZ09-._~+/==").is_ok());
    assert!(check_b64token("a=b").is_err());
    assert!(check_b64token("=").is_err());
}

#[test]
fn b64token_decides_every_byte_as_rfc_6750_says() {
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
    for byte in 0..=u8::MAX {
        // Alone, and early and late in a token long enough for a vectorised scan.
        let text = [byte];
        let Ok(alone) = std::str::from_utf8(&text) else { continue };
        let expected = alphabet(byte);
        assert_eq!(check_b64token(alone).is_ok(), expected, "{byte:#04x}");
        for (before, after) in [(3, 60), (60, 3)] {
            let long = format!("{}{alone}{}", "a".repeat(before), "b".repeat(after));
            assert_eq!(check_b64token(&long).is_ok(), expected, "{byte:#04x} at {before}");
        }
    }
    // Bytes above ASCII come as UTF-8; none is in the alphabet.
    assert!(check_b64token(&format!("{}é", "a".repeat(40))).is_err());
}

#[test]
fn a_presentation_debug_form_shows_no_credential() {
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLWJ5dGVz";
    let presentation =
        Presentation::dpop(token, "proof.with.secret-ish-bytes", "GET", "/me").from_client("10.1.2.3");
    let debug = format!("{presentation:?}");
    for secret in
        ["eyJhbGciOiJFUzI1NiJ9", "eyJzdWIiOiJhIn0", "c2lnbmF0dXJlLWJ5dGVz", "secret-ish", "10.1.2.3"]
    {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("sha256:") && debug.contains("\"/me\"") && debug.contains("8 bytes"), "{debug}");
}
