//! Refusals as gRPC answers: a gRPC client reads `grpc-status` and
//! `grpc-message`, not the HTTP status or a JSON body.

use std::fmt::Write as _;

use http::{HeaderValue, Response, StatusCode};
use tokengate_core::adapter::Misconfiguration;
use tokengate_core::{Error, Refusal};

use crate::render::RenderRefusal;

/// A renderer for gRPC services behind a [`TokenLayer`](crate::TokenLayer)
/// (e.g. a `tonic` server: `Server::builder().layer(TokenLayer::new(validator).render_with(GrpcRefusal))`).
/// See [`grpc_refusal_response`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrpcRefusal;

impl<ResBody: Default> RenderRefusal<ResBody> for GrpcRefusal {
    fn render(&self, error: &Error, refusal: Refusal) -> Response<ResBody> {
        grpc_refusal_response(error, refusal)
    }

    /// `INTERNAL` (13), naming the mistake in `grpc-message`.
    fn render_misconfiguration(&self, mistake: &Misconfiguration) -> Option<Response<ResBody>> {
        Some(trailers_only(grpc_status(StatusCode::INTERNAL_SERVER_ERROR), &mistake.message()))
    }
}

/// The gRPC status code of a refusal: `UNAUTHENTICATED` (16) for no, a
/// malformed or a bad token (HTTP 400 and 401), `PERMISSION_DENIED` (7) for
/// missing scopes (403), `UNAVAILABLE` (14) for 503, `INTERNAL` (13) for a
/// misconfigured route (500).
pub fn grpc_status(status: StatusCode) -> u16 {
    match status {
        StatusCode::FORBIDDEN => 7,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED => 16,
        _ => 13,
    }
}

/// `refusal` as a gRPC "Trailers-Only" answer: HTTP 200, `content-type:
/// application/grpc`, [`grpc-status`](grpc_status), `grpc-message` (the
/// refusal's description, percent-encoded as the gRPC spec asks), an empty
/// body, and the refusal's `www-authenticate`, `retry-after` and
/// `dpop-nonce` as response metadata.
pub fn grpc_refusal_response<B: Default>(error: &Error, refusal: Refusal) -> Response<B> {
    let mut response = trailers_only(grpc_status(refusal.status), &error.description());
    let headers = response.headers_mut();
    for (name, value) in refusal.headers().filter(|(name, _)| *name != "content-type") {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.append(name, value);
        }
    }
    response
}

/// A gRPC "Trailers-Only" answer: HTTP 200, `content-type:
/// application/grpc`, `grpc-status` and `grpc-message`, an empty body.
fn trailers_only<B: Default>(status: u16, message: &str) -> Response<B> {
    let mut response = Response::new(B::default());
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from(status));
    if let Ok(message) = HeaderValue::try_from(percent_encode(message)) {
        headers.insert("grpc-message", message);
    }
    response
}

/// gRPC's `grpc-message` encoding: bytes outside printable ASCII, and `%`,
/// as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}"); // writing to a String cannot fail
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_percent_encoded() {
        assert_eq!(percent_encode("the token has expired"), "the token has expired");
        assert_eq!(percent_encode("100% — é"), "100%25 %E2%80%94 %C3%A9");
    }

    #[test]
    fn a_scope_refusal_is_permission_denied_with_its_challenge() {
        use tokengate_core::{Challenge, ScopeRequirement};
        let error = Error::InsufficientScope(ScopeRequirement::all_of(["orders:read"]));
        let response: Response<String> =
            grpc_refusal_response(&error, Refusal::new(&error, &Challenge::default()));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/grpc");
        assert_eq!(response.headers()["grpc-status"], "7");
        assert_eq!(
            response.headers()["grpc-message"],
            "the token lacks the scope this resource requires (orders:read)"
        );
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="insufficient_scope""#) && challenge.contains("orders:read"),
            "{challenge}"
        );
        assert!(response.body().is_empty(), "Trailers-Only: no message");
    }

    #[test]
    fn an_unavailable_store_is_unavailable_with_its_retry_after() {
        use tokengate_core::Challenge;
        let error = Error::StoreUnavailable { retry_after: std::time::Duration::from_secs(7) };
        let response: Response<String> =
            grpc_refusal_response(&error, Refusal::new(&error, &Challenge::default()));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(response.headers()["grpc-message"], "the token-state store is unavailable; retry later");
        assert!(
            response
                .headers()
                .get_all("content-type")
                .iter()
                .eq([HeaderValue::from_static("application/grpc")].iter())
        );
    }

    #[test]
    fn statuses_map_to_grpc_codes() {
        for (http, grpc) in [(400, 16), (401, 16), (403, 7), (503, 14), (500, 13)] {
            assert_eq!(grpc_status(StatusCode::from_u16(http).unwrap()), grpc, "{http}");
        }
    }
}
