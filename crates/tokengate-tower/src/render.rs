//! Turning a refusal into an HTTP response.

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response};
use tokengate_core::{Error, Refusal};

/// Renders a refused request as a response.
///
/// The core has already decided everything about the refusal: `refusal` is
/// [`Validator::refusal`](tokengate_core::Validator::refusal) of `error`
/// (status, `WWW-Authenticate`, `Retry-After`, JSON body). A renderer only
/// decides how that becomes a [`Response`] — e.g. to add headers, log, or
/// use another body format. The default, [`JsonRefusal`], is exactly the
/// answer of the contract (`shared/CONTRACT.md`).
///
/// Any `Fn(&Error, Refusal) -> Response<B>` is a renderer:
///
/// ```
/// use http::Response;
/// use tokengate_tower::TokenLayer;
/// # fn demo(validator: tokengate_core::Validator) {
/// let layer = TokenLayer::new(validator).render_with(|error: &tokengate_core::Error, refusal: tokengate_core::Refusal| {
///     let mut response = tokengate_tower::refusal_response::<String>(refusal);
///     response.headers_mut().insert("x-refused-because", error.class().code().unwrap_or("no_token").parse().unwrap());
///     response
/// });
/// # }
/// ```
pub trait RenderRefusal<ResBody> {
    /// The response to a request refused with `error`.
    fn render(&self, error: &Error, refusal: Refusal) -> Response<ResBody>;
}

impl<F, ResBody> RenderRefusal<ResBody> for F
where
    F: Fn(&Error, Refusal) -> Response<ResBody>,
{
    fn render(&self, error: &Error, refusal: Refusal) -> Response<ResBody> {
        self(error, refusal)
    }
}

/// The default renderer: the refusal exactly as the core describes it —
/// status, `WWW-Authenticate`, `Retry-After` (503 only), and
/// `Content-Type: application/json` with the body `{"error",
/// "error_description"}` (an empty body, without `Content-Type`, when the
/// request carried no token). See [`refusal_response`].
///
/// Works for every response body type that can be made from a `String`
/// (axum's `Body`, `http_body_util::Full<Bytes>`, `String`, `Vec<u8>`…).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonRefusal;

impl<ResBody: From<String>> RenderRefusal<ResBody> for JsonRefusal {
    fn render(&self, _: &Error, refusal: Refusal) -> Response<ResBody> {
        refusal_response(refusal)
    }
}

/// `refusal` as a response: its status, `WWW-Authenticate`, `Retry-After`,
/// and its JSON body with `Content-Type: application/json` (or an empty body).
pub fn refusal_response<ResBody: From<String>>(refusal: Refusal) -> Response<ResBody> {
    let body = refusal.body.unwrap_or_default();
    let has_body = !body.is_empty();
    let mut response = Response::new(ResBody::from(body));
    *response.status_mut() = refusal.status;
    let headers = response.headers_mut();
    // The core renders challenges as printable ASCII, so this cannot fail.
    let challenge = HeaderValue::try_from(refusal.www_authenticate)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
    headers.insert(WWW_AUTHENTICATE, challenge);
    if let Some(seconds) = refusal.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if has_body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(Refusal::CONTENT_TYPE));
    }
    response
}

/// A `500 Internal Server Error` for a misconfigured stack (e.g. a scope
/// check with no [`TokenLayer`](crate::TokenLayer) in front of it). The
/// cause is logged, not sent: it is about the server, not the client.
pub(crate) fn misconfigured<ResBody: Default>(message: &str) -> Response<ResBody> {
    tracing::error!("tokengate: {message}");
    let mut response = Response::new(ResBody::default());
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}
