//! [`ScopeGate`]: a route's scope requirement, behind a [`TokenGate`](crate::TokenGate).

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage, HttpResponse};
use tokengate_core::ScopeRequirement;
use tokengate_core::adapter::{Gate, Rejection};

use crate::render::{DeferToGate, RenderRefusal, from_http};

/// Middleware requiring scopes of the verified token: 403
/// `insufficient_scope` (with the `scope` attribute) when they are missing,
/// 401 when the request is anonymous (an optional [`TokenGate`](crate::TokenGate)),
/// and 500 (with a `text/plain` body naming the mistake) when no
/// `TokenGate` ran at all.
///
/// Wrap it *inside* a `TokenGate` (actix runs the last `wrap` first, so
/// wrap the resource with `ScopeGate` and the app or scope with `TokenGate`).
/// Refusals are rendered by the `TokenGate`'s renderer, unless this gate is
/// given its own with [`ScopeGate::render_with`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ScopeGate<R = DeferToGate> {
    requirement: Rc<ScopeRequirement>,
    render: Rc<R>,
}

impl ScopeGate {
    /// Requires `requirement`.
    pub fn new(requirement: ScopeRequirement) -> Self {
        ScopeGate { requirement: Rc::new(requirement), render: Rc::new(DeferToGate) }
    }

    /// Requires every one of `scopes`.
    pub fn all_of<I: IntoIterator<Item = S>, S: AsRef<str>>(scopes: I) -> Self {
        ScopeGate::new(ScopeRequirement::all_of(scopes))
    }

    /// Requires at least one of `scopes`.
    pub fn any_of<I: IntoIterator<Item = S>, S: AsRef<str>>(scopes: I) -> Self {
        ScopeGate::new(ScopeRequirement::any_of(scopes))
    }
}

impl<R> ScopeGate<R> {
    /// Renders refusals with `render` instead of leaving them to the
    /// `TokenGate`'s renderer.
    pub fn render_with<Q: RenderRefusal>(self, render: Q) -> ScopeGate<Q> {
        ScopeGate { requirement: self.requirement, render: Rc::new(render) }
    }

    /// The requirement.
    pub fn requirement(&self) -> &ScopeRequirement {
        &self.requirement
    }
}

impl<S, B, R> Transform<S, ServiceRequest> for ScopeGate<R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    R: RenderRefusal + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ScopeGateMiddleware<S, R>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ScopeGateMiddleware {
            service: Rc::new(service),
            requirement: Rc::clone(&self.requirement),
            render: Rc::clone(&self.render),
        }))
    }
}

/// The service [`ScopeGate`] wraps around the inner one.
pub struct ScopeGateMiddleware<S, R = DeferToGate> {
    service: Rc<S>,
    requirement: Rc<ScopeRequirement>,
    render: Rc<R>,
}

impl<S, B, R> Service<ServiceRequest> for ScopeGateMiddleware<S, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    R: RenderRefusal + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let refusal = self.refusal(&request);
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            match refusal {
                None => service.call(request).await.map(ServiceResponse::map_into_left_body),
                Some(response) => Ok(request.into_response(response).map_into_right_body()),
            }
        })
    }
}

impl<S, R: RenderRefusal> ScopeGateMiddleware<S, R> {
    /// The response refusing `request`, or `None` when its token has the scopes.
    fn refusal(&self, request: &ServiceRequest) -> Option<HttpResponse> {
        let extensions = request.extensions();
        match Gate::required(extensions.get()).and_then(|gate| gate.require(&self.requirement)) {
            Ok(()) => None,
            Err(Rejection::Refused { error, refusal }) => Some(self.render.render(&error, *refusal)),
            Err(Rejection::Misconfigured(mistake)) => Some(from_http(mistake.into_response())),
        }
    }
}
