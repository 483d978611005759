//! Where a refusal becomes HTTP: the `WWW-Authenticate` challenge, the JSON
//! body (RFC 6750 §3) and the whole response, shared by every adapter so
//! they all answer identically.

use std::fmt::Write as _;

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

use crate::error::{Error, ErrorClass};

/// The realm every challenge names unless configured otherwise.
pub const DEFAULT_REALM: &str = "tokengate";

/// How challenges are rendered: the parameters that belong to the API, not
/// to one refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    realm: String,
}

impl Default for Challenge {
    fn default() -> Self {
        Challenge { realm: DEFAULT_REALM.to_owned() }
    }
}

impl Challenge {
    /// Challenges naming `realm`.
    pub fn with_realm(realm: impl Into<String>) -> Self {
        Challenge { realm: realm.into() }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `WWW-Authenticate` value for `error`, for example
    /// `Bearer realm="tokengate", error="invalid_token", error_description="the token has expired"`.
    ///
    /// A request without a token gets the bare `Bearer realm=".."` (RFC 6750
    /// §3.1); a 503 gets `error="temporarily_unavailable"` only; a 403 also
    /// names the `scope` the resource needs.
    pub fn render(&self, error: &Error) -> String {
        let mut out = String::with_capacity(128);
        out.push_str("Bearer realm=\"");
        push_escaped(&mut out, &self.realm);
        out.push('"');
        let class = error.class();
        let Some(code) = class.code() else { return out };
        let _ = write!(out, ", error=\"{code}\"");
        if class == ErrorClass::Unavailable {
            return out;
        }
        out.push_str(", error_description=\"");
        push_description(&mut out, &error.description());
        out.push('"');
        if let Error::InsufficientScope(required) = error {
            out.push_str(", scope=\"");
            push_description(&mut out, &required.scope_attribute());
            out.push('"');
        }
        out
    }
}

/// The complete HTTP answer to a refused request, ready for any framework:
/// status, `WWW-Authenticate`, optional `Retry-After`, and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 401, 403 or 503.
    pub status: StatusCode,
    /// The `WWW-Authenticate` header value.
    pub www_authenticate: String,
    /// The `Retry-After` header value in seconds (503 only).
    pub retry_after: Option<u64>,
    /// The JSON body `{"error", "error_description"}`; `None` (an empty body)
    /// when the request carried no token at all.
    pub body: Option<String>,
}

impl Refusal {
    /// The answer to `error` under `challenge`.
    pub fn new(error: &Error, challenge: &Challenge) -> Self {
        let body = error.error_code().map(|code| {
            serde_json::json!({ "error": code, "error_description": error.description() }).to_string()
        });
        Refusal {
            status: error.status(),
            www_authenticate: challenge.render(error),
            retry_after: error.retry_after().map(|after| after.as_secs().max(1)),
            body,
        }
    }

    /// The `Content-Type` of [`Refusal::body`].
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// The headers of the answer, in order: `WWW-Authenticate`, then
    /// `Retry-After` (503 only) and `Content-Type` (when there is a body).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let challenge = std::iter::once(("www-authenticate", self.www_authenticate.clone()));
        let retry_after = self.retry_after.map(|seconds| ("retry-after", seconds.to_string()));
        let content_type = self.body.as_ref().map(|_| ("content-type", Refusal::CONTENT_TYPE.to_owned()));
        challenge.chain(retry_after).chain(content_type)
    }

    /// The refusal as an `http` response: its status, headers and JSON body
    /// (an empty body when the request carried no token). Any body type that
    /// can be made from a `String` works (axum's `Body`, `Full<Bytes>`,
    /// `String`, `Vec<u8>`…), so a hand-written hyper service answers with
    /// `validator.refusal(&error).into_response()`.
    pub fn into_response<B: From<String>>(self) -> Response<B> {
        let mut response = Response::new(B::from(String::new()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        // Challenges are rendered as printable ASCII, so these cannot fail.
        if let Ok(challenge) = HeaderValue::try_from(&self.www_authenticate) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(body) = self.body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(Refusal::CONTENT_TYPE));
            *response.body_mut() = B::from(body);
        }
        response
    }
}

impl Error {
    /// The full `WWW-Authenticate` value with the default realm
    /// (`tokengate`), exactly as the refusal table of the contract shows it.
    /// Use [`Challenge`] (or [`Validator::refusal`](crate::Validator::refusal))
    /// for the validator's own realm.
    pub fn challenge(&self) -> String {
        Challenge::default().render(self)
    }
}

/// Escapes a quoted-string (RFC 9110 §5.6.4).
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
}

/// RFC 6750 §3 limits `error_description` and `scope` to printable ASCII
/// without `"` and `\`; anything else is replaced rather than escaped.
fn push_description(out: &mut String, value: &str) {
    for c in value.chars() {
        out.push(match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RequestProblem;
    use std::time::Duration;

    #[test]
    fn no_token_has_no_error_attribute() {
        assert_eq!(Error::MissingToken.challenge(), r#"Bearer realm="tokengate""#);
        assert_eq!(Refusal::new(&Error::MissingToken, &Challenge::default()).body, None);
    }

    #[test]
    fn realm_is_escaped_and_descriptions_are_sanitised() {
        let challenge = Challenge::with_realm(r#"a "quoted" \ realm"#);
        let error = Error::ClaimCheckFailed("tenant \"x\" \\ is é not allowed".into());
        assert_eq!(
            challenge.render(&error),
            r#"Bearer realm="a \"quoted\" \\ realm", error="invalid_token", error_description="tenant 'x' / is ? not allowed""#
        );
    }

    #[test]
    fn unavailable_has_only_the_error_code_and_a_retry_after() {
        let error = Error::KeysUnavailable { retry_after: Duration::from_millis(200) };
        let refusal = Refusal::new(&error, &Challenge::default());
        assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refusal.www_authenticate, r#"Bearer realm="tokengate", error="temporarily_unavailable""#);
        assert_eq!(refusal.retry_after, Some(1));
        let body: serde_json::Value = serde_json::from_str(refusal.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }

    #[test]
    fn invalid_request_body_and_header_agree() {
        let error = Error::MalformedRequest(RequestProblem::MultipleTokens);
        let refusal = Refusal::new(&error, &Challenge::default());
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_str(refusal.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(
            refusal.www_authenticate,
            format!(
                r#"Bearer realm="tokengate", error="invalid_request", error_description="{}""#,
                body["error_description"].as_str().unwrap()
            )
        );
    }
}
