//! [`FormBodyLayer`]: lets the token layer see `application/x-www-form-urlencoded`
//! bodies (RFC 6750 §2.2), so that a token sent in the body is found — and a
//! token sent both in the header and in the body is refused `invalid_request`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use pin_project_lite::pin_project;
use tokengate_core::RequestParts;
use tokengate_core::adapter::is_form_urlencoded;
use tower_layer::Layer;
use tower_service::Service;

/// The buffered `application/x-www-form-urlencoded` body of a request, left
/// in its extensions by [`FormBodyLayer`] for [`TokenLayer`](crate::TokenLayer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormBody(pub Bytes);

pub use tokengate_core::adapter::DEFAULT_FORM_LIMIT;

/// A Tower [`Layer`] that buffers `application/x-www-form-urlencoded` request
/// bodies (up to a limit) so that the [`TokenLayer`](crate::TokenLayer)
/// behind it sees them.
///
/// The token layer never reads bodies by itself. Put this layer *in front of*
/// it when RFC 6750 §2.2 matters to you: a token presented both in the
/// `Authorization` header and as an `access_token` form parameter is then
/// refused `400 invalid_request` as the RFC requires, and — if the
/// validator accepts form-body tokens
/// ([`TokenLocations::form_body`](tokengate_core::TokenLocations)) — a token
/// sent only in the body is found. Which of these applies is decided by the
/// core, as always.
///
/// Only form-encoded requests are buffered; the body is handed on unchanged
/// (rebuilt from the buffered bytes, so the request body type must be
/// `From<Bytes>`, as axum's `Body` is). A body over the limit is answered
/// `413 Payload Too Large`, an unreadable one `400 Bad Request`, both with an
/// empty body.
///
/// ```
/// use axum::{Router, routing::post};
/// use tokengate_tower::{FormBodyLayer, TokenLayer};
/// # fn demo(validator: tokengate_core::Validator) -> Router {
/// Router::new()
///     .route("/transfer", post(|| async { "ok" }))
///     .route_layer(TokenLayer::new(validator))
///     .route_layer(FormBodyLayer::new()) // added last: runs first
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
#[must_use = "a layer does nothing until applied to a service"]
pub struct FormBodyLayer {
    limit: usize,
}

impl FormBodyLayer {
    /// Buffers form bodies up to [`DEFAULT_FORM_LIMIT`].
    pub fn new() -> Self {
        FormBodyLayer { limit: DEFAULT_FORM_LIMIT }
    }

    /// Buffers form bodies up to `limit` bytes.
    pub fn limit(limit: usize) -> Self {
        FormBodyLayer { limit }
    }
}

impl Default for FormBodyLayer {
    fn default() -> Self {
        FormBodyLayer::new()
    }
}

impl<S> Layer<S> for FormBodyLayer {
    type Service = FormBodyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FormBodyService { inner, limit: self.limit }
    }
}

/// The [`Service`] made by [`FormBodyLayer`]; see there.
#[derive(Clone, Debug)]
pub struct FormBodyService<S> {
    inner: S,
    limit: usize,
}

fn is_form(headers: &http::HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|value| is_form_urlencoded(value.as_bytes()))
}

type Buffering<Res, E> = Pin<Box<dyn Future<Output = Result<Res, E>> + Send>>;

impl<S, B, ResBody> Service<Request<B>> for FormBodyService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = FormBodyFuture<S::Future, Response<ResBody>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if !is_form(request.headers()) {
            return FormBodyFuture { kind: Kind::Inner { future: self.inner.call(request) } };
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit;
        let buffering = Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) => {
                    let status = if error.is::<http_body_util::LengthLimitError>() {
                        StatusCode::PAYLOAD_TOO_LARGE
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    let mut response = Response::new(ResBody::default());
                    *response.status_mut() = status;
                    return Ok(response);
                }
            };
            parts.extensions.insert(FormBody(bytes.clone()));
            inner.call(Request::from_parts(parts, B::from(bytes))).await
        });
        FormBodyFuture { kind: Kind::Buffering { future: buffering } }
    }
}

pin_project! {
    /// The response future of [`FormBodyService`].
    pub struct FormBodyFuture<F, Res, E> {
        #[pin]
        kind: Kind<F, Res, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, Res, E> {
        Inner { #[pin] future: F },
        Buffering { future: Buffering<Res, E> },
    }
}

impl<F, Res, E> Future for FormBodyFuture<F, Res, E>
where
    F: Future<Output = Result<Res, E>>,
{
    type Output = Result<Res, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Buffering { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, Res, E> fmt::Debug for FormBodyFuture<F, Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormBodyFuture").finish_non_exhaustive()
    }
}

/// A request seen with its buffered form body, if [`FormBodyLayer`] left one.
pub(crate) struct WithForm<'r, B> {
    pub(crate) request: &'r Request<B>,
}

impl<B> RequestParts for WithForm<'_, B> {
    type HeaderValues<'a>
        = <Request<B> as RequestParts>::HeaderValues<'a>
    where
        Self: 'a;

    fn header_values(&self, name: &'static str) -> Self::HeaderValues<'_> {
        self.request.header_values(name)
    }
    fn method(&self) -> &str {
        RequestParts::method(self.request)
    }
    fn path(&self) -> &str {
        RequestParts::path(self.request)
    }
    fn query(&self) -> Option<&str> {
        RequestParts::query(self.request)
    }
    fn form_body(&self) -> Option<&[u8]> {
        self.request.extensions().get::<FormBody>().map(|body| &*body.0)
    }
}
