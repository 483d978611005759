//! Turning a refusal into an actix-web response.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use tokengate_core::adapter::PendingRefusal;
use tokengate_core::{Error, Refusal};

/// Renders a refused request as a response.
///
/// The core has already decided everything (status, `WWW-Authenticate`,
/// `Retry-After`, JSON body: [`Refusal`]); a renderer only decides how that
/// becomes an [`HttpResponse`]. The default, [`JsonRefusal`], is exactly the
/// contract's answer. Any `Fn(&Error, Refusal) -> HttpResponse` is a renderer.
///
/// The renderer of a [`TokenGate`](crate::TokenGate) also renders the
/// refusals made behind it: by a [`ScopeGate`](crate::ScopeGate) without a
/// renderer of its own, by the extractors, and by handlers returning an
/// [`AuthRejection`](crate::AuthRejection) made from an [`Error`].
pub trait RenderRefusal {
    /// The response to a request refused with `error`.
    fn render(&self, error: &Error, refusal: Refusal) -> HttpResponse;
}

impl<F: Fn(&Error, Refusal) -> HttpResponse> RenderRefusal for F {
    fn render(&self, error: &Error, refusal: Refusal) -> HttpResponse {
        self(error, refusal)
    }
}

/// The default renderer: [`refusal_response`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonRefusal;

impl RenderRefusal for JsonRefusal {
    fn render(&self, _: &Error, refusal: Refusal) -> HttpResponse {
        refusal_response(refusal)
    }
}

/// The default renderer of a [`ScopeGate`](crate::ScopeGate): renders like
/// [`JsonRefusal`] and leaves the refusal for the
/// [`TokenGate`](crate::TokenGate) in front, which renders it again with
/// its own renderer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeferToGate;

impl RenderRefusal for DeferToGate {
    fn render(&self, error: &Error, refusal: Refusal) -> HttpResponse {
        let mut response = refusal_response(refusal);
        response.extensions_mut().insert(PendingRefusal(error.clone()));
        response
    }
}

/// `refusal` as a response: its status, `WWW-Authenticate`, `Retry-After`,
/// and its JSON body with `Content-Type: application/json` (or an empty
/// body); [`Refusal::into_response`], in actix-web's types.
pub fn refusal_response(refusal: Refusal) -> HttpResponse {
    from_http(refusal.into_response())
}

/// An `http` response (as the core renders refusals and misconfigurations)
/// as an actix-web one: status, headers, body, and a [`PendingRefusal`].
pub(crate) fn from_http(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        // Both crates check header names and values alike: these conversions cannot fail.
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_str().as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
        {
            builder.append_header((name, value));
        }
    }
    let mut response = if body.is_empty() { builder.finish() } else { builder.body(body) };
    if let Some(pending) = parts.extensions.get::<PendingRefusal>() {
        response.extensions_mut().insert(pending.clone());
    }
    response
}
