//! Turning a refusal into an actix-web response.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use tokengate_core::{Error, Refusal};

/// Renders a refused request as a response.
///
/// The core has already decided everything (status, `WWW-Authenticate`,
/// `Retry-After`, JSON body: [`Refusal`]); a renderer only decides how that
/// becomes an [`HttpResponse`]. The default, [`JsonRefusal`], is exactly the
/// contract's answer. Any `Fn(&Error, Refusal) -> HttpResponse` is a renderer.
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

/// `refusal` as a response: its status, `WWW-Authenticate`, `Retry-After`,
/// and its JSON body with `Content-Type: application/json` (or an empty body).
pub fn refusal_response(refusal: Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(refusal.status.as_u16()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    response.insert_header((WWW_AUTHENTICATE, refusal.www_authenticate));
    if let Some(seconds) = refusal.retry_after {
        response.insert_header((RETRY_AFTER, seconds));
    }
    match refusal.body {
        Some(body) => response.insert_header((CONTENT_TYPE, Refusal::CONTENT_TYPE)).body(body),
        None => response.finish(),
    }
}

/// A `500 Internal Server Error` for a misconfigured app (an extractor or a
/// scope check with no [`TokenGate`](crate::TokenGate) in front of it). The
/// cause is logged, not sent: it is about the server, not the client.
pub(crate) fn misconfigured(message: &str) -> HttpResponse {
    tracing::error!("tokengate: {message}");
    HttpResponse::InternalServerError().finish()
}
