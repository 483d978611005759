//! [`ScopeLayer`]: a route's scope requirement, checked behind a [`TokenLayer`](crate::TokenLayer).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tokengate_core::ScopeRequirement;
use tokengate_core::adapter::{Gate, Rejection};
use tower_layer::Layer;
use tower_service::Service;

use crate::render::{DeferToGate, RenderRefusal};

/// A Tower [`Layer`] requiring the verified token to grant scopes
/// (all-of or any-of a list, see [`ScopeRequirement`]).
///
/// Place it *behind* (inside) a [`TokenLayer`](crate::TokenLayer) — with
/// axum, `.route_layer(ScopeLayer::…)` on the route and the `TokenLayer`
/// added after it, or `ServiceBuilder::new().layer(token).layer(scope)`.
/// It works whatever claims type the `TokenLayer` uses.
///
/// - token grants the scopes → the inner service is called;
/// - token lacks them → `403`, `error="insufficient_scope"` and a `scope`
///   attribute naming what is needed;
/// - anonymous request (a `TokenLayer` in optional mode let it through) →
///   `401` as if no token had been sent: this route needs one;
/// - no `TokenLayer` ran at all (a misconfigured stack) → logged with
///   `tracing::error!`, and answered as the renderer's
///   [`render_misconfiguration`](crate::RenderRefusal::render_misconfiguration)
///   says: a `500` with a `text/plain` body naming the mistake by default
///   and with [`JsonRefusal`](crate::JsonRefusal), `grpc-status` 13 with
///   [`GrpcRefusal`](crate::GrpcRefusal), a bare `500` with a closure or a
///   renderer of your own that does not say. It never lets the request through.
///
/// Any response body with a `Default` works: axum's, `String`, `Full`, and
/// gRPC bodies such as tonic's with
/// `.render_with(`[`GrpcRefusal`](crate::GrpcRefusal)`)` (the default
/// renderer writes text, so it needs bodies made `From<String>`).
///
/// Refusals are rendered by the `TokenLayer`'s renderer, unless this layer
/// is given its own with [`ScopeLayer::render_with`].
///
/// ```
/// use tokengate_tower::ScopeLayer;
/// let admin = ScopeLayer::all_of(["admin"]);
/// let readers = ScopeLayer::any_of(["read", "admin"]);
/// # let _ = (admin, readers);
/// ```
#[derive(Clone)]
#[must_use]
pub struct ScopeLayer<R = DeferToGate> {
    requirement: Arc<ScopeRequirement>,
    render: R,
}

impl ScopeLayer {
    /// Requires `requirement`.
    pub fn new(requirement: ScopeRequirement) -> Self {
        ScopeLayer { requirement: Arc::new(requirement), render: DeferToGate }
    }

    /// Requires every scope of `scopes`.
    pub fn all_of<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeLayer::new(ScopeRequirement::all_of(scopes))
    }

    /// Requires at least one scope of `scopes`.
    pub fn any_of<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ScopeLayer::new(ScopeRequirement::any_of(scopes))
    }
}

impl<R> ScopeLayer<R> {
    /// Renders refusals with `render` instead of leaving them to the
    /// `TokenLayer`'s renderer.
    pub fn render_with<Q>(self, render: Q) -> ScopeLayer<Q> {
        ScopeLayer { requirement: self.requirement, render }
    }

    /// The requirement.
    pub fn requirement(&self) -> &ScopeRequirement {
        &self.requirement
    }
}

impl<R> fmt::Debug for ScopeLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeLayer").field("requirement", &self.requirement).finish_non_exhaustive()
    }
}

impl<S, R: Clone> Layer<S> for ScopeLayer<R> {
    type Service = ScopeService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        ScopeService { inner, requirement: self.requirement.clone(), render: self.render.clone() }
    }
}

/// The [`Service`] made by [`ScopeLayer`]; see there.
#[derive(Clone)]
pub struct ScopeService<S, R = DeferToGate> {
    inner: S,
    requirement: Arc<ScopeRequirement>,
    render: R,
}

impl<S, R> ScopeService<S, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, by value.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug, R> fmt::Debug for ScopeService<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeService")
            .field("inner", &self.inner)
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, B, ResBody, R> Service<Request<B>> for ScopeService<S, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: Default,
    R: RenderRefusal<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ScopeFuture<S::Future, Response<ResBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let decision =
            Gate::required(request.extensions().get()).and_then(|gate| gate.require(&self.requirement));
        match decision {
            Ok(()) => ScopeFuture { kind: Kind::Inner { future: self.inner.call(request) } },
            Err(Rejection::Refused { error, refusal }) => {
                ScopeFuture::answer(self.render.render(&error, *refusal))
            }
            Err(Rejection::Misconfigured(mistake)) => {
                tracing::error!("{}", mistake.message());
                let response = self.render.render_misconfiguration(&mistake).unwrap_or_else(|| {
                    let mut bare = Response::new(ResBody::default());
                    *bare.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    bare
                });
                ScopeFuture::answer(response)
            }
        }
    }
}

pin_project! {
    /// The response future of [`ScopeService`]: the inner service's future,
    /// or a refusal that is ready at once.
    pub struct ScopeFuture<F, Res> {
        #[pin]
        kind: Kind<F, Res>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, Res> {
        Inner { #[pin] future: F },
        Answer { response: Option<Res> },
    }
}

impl<F, Res> ScopeFuture<F, Res> {
    fn answer(response: Res) -> Self {
        ScopeFuture { kind: Kind::Answer { response: Some(response) } }
    }
}

impl<F, Res, E> Future for ScopeFuture<F, Res>
where
    F: Future<Output = Result<Res, E>>,
{
    type Output = Result<Res, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Answer { response } => {
                Poll::Ready(Ok(response.take().expect("ScopeFuture polled after completion")))
            }
        }
    }
}

impl<F, Res> fmt::Debug for ScopeFuture<F, Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Answer { .. } => "answer",
        };
        f.debug_struct("ScopeFuture").field("kind", &kind).finish()
    }
}
