//! Turning a refusal into an HTTP response.

use http::Response;
use tokengate_core::adapter::{Misconfiguration, PendingRefusal};
use tokengate_core::{Error, Refusal};

/// Renders a refused request as a response.
///
/// The core has already decided everything about the refusal: `refusal` is
/// [`Validator::refusal`](tokengate_core::Validator::refusal) of `error`
/// (status, `WWW-Authenticate`, `Retry-After`, JSON body). A renderer only
/// decides how that becomes a [`Response`] — e.g. to add headers, log, or
/// use another body format. The default, [`JsonRefusal`], is exactly the
/// answer of the contract (`docs/demo-servers.md`).
///
/// The renderer of a [`TokenLayer`](crate::TokenLayer) also renders the
/// refusals made behind it: by a [`ScopeLayer`](crate::ScopeLayer) without a
/// renderer of its own, by the axum extractors, and by handlers returning
/// an [`AuthRejection`](crate::axum::AuthRejection) made from an [`Error`].
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

    /// The answer when a [`ScopeLayer`](crate::ScopeLayer) finds no
    /// [`TokenLayer`](crate::TokenLayer) in front of it (a misconfigured
    /// stack; the mistake is logged with `tracing::error!` before this is
    /// asked). `None`, the default, makes it a bare `500` with an empty
    /// body; [`JsonRefusal`] and [`DeferToGate`] name the mistake in a
    /// `text/plain` body, [`GrpcRefusal`](crate::GrpcRefusal) answers
    /// `grpc-status` 13 (`INTERNAL`).
    fn render_misconfiguration(&self, mistake: &Misconfiguration) -> Option<Response<ResBody>> {
        let _ = mistake;
        None
    }
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

    fn render_misconfiguration(&self, mistake: &Misconfiguration) -> Option<Response<ResBody>> {
        Some(mistake.text_response())
    }
}

/// The default renderer of a [`ScopeLayer`](crate::ScopeLayer): renders like
/// [`JsonRefusal`] and leaves the refusal for the
/// [`TokenLayer`](crate::TokenLayer) in front, which renders it again with
/// its own renderer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeferToGate;

impl<ResBody: From<String>> RenderRefusal<ResBody> for DeferToGate {
    fn render(&self, error: &Error, refusal: Refusal) -> Response<ResBody> {
        let mut response = refusal_response(refusal);
        response.extensions_mut().insert(PendingRefusal(error.clone()));
        response
    }

    fn render_misconfiguration(&self, mistake: &Misconfiguration) -> Option<Response<ResBody>> {
        Some(mistake.text_response())
    }
}

/// `refusal` as a response: its status, `WWW-Authenticate`, `Retry-After`,
/// and its JSON body with `Content-Type: application/json` (or an empty
/// body); [`Refusal::into_response`].
pub fn refusal_response<ResBody: From<String>>(refusal: Refusal) -> Response<ResBody> {
    refusal.into_response()
}
