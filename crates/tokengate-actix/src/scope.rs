//! [`ScopeGate`]: a route's scope requirement, behind a [`TokenGate`](crate::TokenGate).

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use tokengate_core::{Error, ScopeRequirement};

use crate::middleware::{Gate, NO_GATE};
use crate::render::{misconfigured, refusal_response};

/// Middleware requiring scopes of the verified token: 403
/// `insufficient_scope` (with the `scope` attribute) when they are missing,
/// 401 when the request is anonymous (an optional [`TokenGate`](crate::TokenGate)).
///
/// Wrap it *inside* a `TokenGate` (actix runs the last `wrap` first, so
/// wrap the resource with `ScopeGate` and the app or scope with `TokenGate`).
#[derive(Clone, Debug)]
pub struct ScopeGate {
    requirement: Rc<ScopeRequirement>,
}

impl ScopeGate {
    /// Requires `requirement`.
    pub fn new(requirement: ScopeRequirement) -> Self {
        ScopeGate { requirement: Rc::new(requirement) }
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

impl<S, B> Transform<S, ServiceRequest> for ScopeGate
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ScopeGateMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ScopeGateMiddleware {
            service: Rc::new(service),
            requirement: Rc::clone(&self.requirement),
        }))
    }
}

/// The service [`ScopeGate`] wraps around the inner one.
pub struct ScopeGateMiddleware<S> {
    service: Rc<S>,
    requirement: Rc<ScopeRequirement>,
}

impl<S, B> Service<ServiceRequest> for ScopeGateMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let refusal = refusal(&request, &self.requirement);
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            match refusal {
                None => service.call(request).await.map(ServiceResponse::map_into_left_body),
                Some(response) => Ok(request.into_response(response).map_into_right_body()),
            }
        })
    }
}

/// The response refusing `request`, or `None` when its token has the scopes.
fn refusal(request: &ServiceRequest, requirement: &ScopeRequirement) -> Option<actix_web::HttpResponse> {
    let extensions = request.extensions();
    let Some(gate) = extensions.get::<Gate>() else { return Some(misconfigured(NO_GATE)) };
    let result = match gate.scopes(&extensions) {
        Some(scopes) => requirement.check(scopes),
        None => Err(Error::MissingToken),
    };
    result.err().map(|error| refusal_response(gate.validator.refusal(&error)))
}
