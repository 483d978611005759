//! Where a refusal becomes HTTP: the `WWW-Authenticate` challenge, the JSON
//! body (RFC 6750 §3) and the whole response, shared by every adapter so
//! they all answer identically.

use std::fmt::Write as _;

use http::{HeaderValue, Response, StatusCode};

use crate::error::{Error, ErrorClass};
use crate::request::Scheme;

/// The realm every challenge names unless configured otherwise.
pub const DEFAULT_REALM: &str = "tokengate";

/// How challenges are rendered: the parameters that belong to the API, not
/// to one refusal — the realm, the DPoP proof algorithms (when DPoP is on),
/// and the URL of the RFC 9728 resource metadata (when configured).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    realm: String,
    dpop_algs: Option<String>,
    resource_metadata: Option<String>,
}

impl Default for Challenge {
    fn default() -> Self {
        Challenge::with_realm(DEFAULT_REALM)
    }
}

impl Challenge {
    /// Challenges naming `realm`.
    pub fn with_realm(realm: impl Into<String>) -> Self {
        Challenge { realm: realm.into(), dpop_algs: None, resource_metadata: None }
    }

    /// Also challenges with `DPoP algs=".."` (RFC 9449 §7.1): `algs` is the
    /// space-separated list of accepted proof algorithms.
    pub fn dpop(mut self, algs: impl Into<String>) -> Self {
        self.dpop_algs = Some(algs.into());
        self
    }

    /// Names the resource's RFC 9728 metadata document in every challenge of
    /// a 401 (`resource_metadata=".."`, RFC 9728 §5.1).
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `Bearer` challenge for `error`, for example
    /// `Bearer realm="tokengate", error="invalid_token", error_description="the token has expired"`.
    ///
    /// A request without a token gets the bare `Bearer realm=".."` (RFC 6750
    /// §3.1); a 503 gets `error="temporarily_unavailable"` only; a 403 also
    /// names the `scope` the resource needs.
    pub fn render(&self, error: &Error) -> String {
        self.line(Scheme::Bearer, error, true)
    }

    /// Every challenge for `error` refusing a request presented with
    /// `scheme`, one `WWW-Authenticate` line each: the `Bearer` one, and with
    /// DPoP on the `DPoP` one (RFC 9449 §7.2). The error's attributes go on
    /// the challenge of the scheme the request used — on the `DPoP` one for
    /// a refusal of the proof or of the key binding, whatever the scheme; a
    /// 401 carries both challenges, other refusals only the one with the
    /// error.
    pub fn render_all(&self, error: &Error, scheme: Scheme) -> Vec<String> {
        let Some(_) = &self.dpop_algs else { return vec![self.render(error)] };
        let on_dpop = scheme == Scheme::Dpop || error.concerns_dpop();
        let unauthorized = error.status() == StatusCode::UNAUTHORIZED;
        let mut lines = Vec::with_capacity(2);
        if unauthorized || !on_dpop {
            lines.push(self.line(Scheme::Bearer, error, !on_dpop));
        }
        if unauthorized || on_dpop {
            lines.push(self.line(Scheme::Dpop, error, on_dpop));
        }
        lines
    }

    /// One challenge: the scheme's parameters, then the error's when `with_error`.
    fn line(&self, scheme: Scheme, error: &Error, with_error: bool) -> String {
        let mut out = String::with_capacity(128);
        match scheme {
            Scheme::Bearer => {
                out.push_str("Bearer realm=\"");
                push_escaped(&mut out, &self.realm);
                out.push('"');
            }
            Scheme::Dpop => {
                out.push_str("DPoP algs=\"");
                push_escaped(&mut out, self.dpop_algs.as_deref().unwrap_or_default());
                out.push('"');
            }
        }
        let class = error.class();
        if let Some(code) = class.code().filter(|_| with_error) {
            let _ = write!(out, ", error=\"{code}\"");
            if class != ErrorClass::Unavailable {
                out.push_str(", error_description=\"");
                push_description(&mut out, &error.description());
                out.push('"');
                if let Error::InsufficientScope(required) = error {
                    out.push_str(", scope=\"");
                    push_description(&mut out, &required.scope_attribute());
                    out.push('"');
                }
            }
        }
        // Last, so that the attributes clients match first keep their place.
        if let Some(url) = &self.resource_metadata
            && error.status() == StatusCode::UNAUTHORIZED
        {
            out.push_str(", resource_metadata=\"");
            push_escaped(&mut out, url);
            out.push('"');
        }
        out
    }
}

/// The complete HTTP answer to a refused request, ready for any framework:
/// status, `WWW-Authenticate`, optional `Retry-After` and `DPoP-Nonce`, and
/// body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// 400, 401, 403 or 503.
    pub status: StatusCode,
    /// The `WWW-Authenticate` header values, one challenge each (two when
    /// DPoP is on: `Bearer` and `DPoP`).
    pub www_authenticate: Vec<String>,
    /// The `Retry-After` header value in seconds (503 only).
    pub retry_after: Option<u64>,
    /// The `DPoP-Nonce` header value (`use_dpop_nonce` only).
    pub dpop_nonce: Option<String>,
    /// The JSON body `{"error", "error_description"}`; `None` (an empty body)
    /// when the request carried no token at all.
    pub body: Option<String>,
}

impl Refusal {
    /// The answer to `error`, for a request presenting a `Bearer` token (or none).
    pub fn new(error: &Error, challenge: &Challenge) -> Self {
        Refusal::for_scheme(error, challenge, Scheme::Bearer)
    }

    /// The answer to `error`, for a request presenting its token with `scheme`.
    pub fn for_scheme(error: &Error, challenge: &Challenge, scheme: Scheme) -> Self {
        let body = error.error_code().map(|code| {
            serde_json::json!({ "error": code, "error_description": error.description() }).to_string()
        });
        let dpop_nonce = match error {
            Error::UseDpopNonce { nonce } => Some(nonce.clone()),
            _ => None,
        };
        Refusal {
            status: error.status(),
            www_authenticate: challenge.render_all(error, scheme),
            retry_after: error.retry_after().map(|after| after.as_secs().max(1)),
            dpop_nonce,
            body,
        }
    }

    /// The `Content-Type` of [`Refusal::body`].
    pub const CONTENT_TYPE: &'static str = "application/json";

    /// The headers of the answer, in order: `WWW-Authenticate` (one or two),
    /// then `Retry-After` (503 only), `DPoP-Nonce` (`use_dpop_nonce` only)
    /// and `Content-Type` (when there is a body).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let challenges =
            self.www_authenticate.iter().map(|challenge| ("www-authenticate", challenge.clone()));
        let retry_after = self.retry_after.map(|seconds| ("retry-after", seconds.to_string()));
        let nonce = self.dpop_nonce.clone().map(|nonce| ("dpop-nonce", nonce));
        let content_type = self.body.as_ref().map(|_| ("content-type", Refusal::CONTENT_TYPE.to_owned()));
        challenges.chain(retry_after).chain(nonce).chain(content_type)
    }

    /// The refusal as an `http` response: its status, headers and JSON body
    /// (an empty body when the request carried no token). Any body type that
    /// can be made from a `String` works (axum's `Body`, `Full<Bytes>`,
    /// `String`, `Vec<u8>`…), so a hand-written hyper service answers with
    /// `validator.refusal(&error).into_response()`.
    pub fn into_response<B: From<String>>(self) -> Response<B> {
        let mut response = Response::new(B::from(String::new()));
        *response.status_mut() = self.status;
        for (name, value) in self.headers() {
            // Challenges and nonces are printable ASCII, so this cannot fail.
            if let Ok(value) = HeaderValue::try_from(value) {
                response.headers_mut().append(name, value);
            }
        }
        if let Some(body) = self.body {
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
        assert_eq!(
            refusal.www_authenticate,
            [r#"Bearer realm="tokengate", error="temporarily_unavailable""#]
        );
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
            [format!(
                r#"Bearer realm="tokengate", error="invalid_request", error_description="{}""#,
                body["error_description"].as_str().unwrap()
            )]
        );
    }
}
