//! [`TokenLayer`]: validates the bearer token before the inner service runs.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tokengate_core::adapter::{Gate, Mode, PendingRefusal};
use tokengate_core::dpop::DpopPolicy;
use tokengate_core::{Error, Scheme, StandardClaims, Validator, Verified};
use tower_layer::Layer;
use tower_service::Service;

use crate::form::WithForm;
use crate::render::{JsonRefusal, RenderRefusal};

/// A Tower [`Layer`] that validates each request's bearer token with a
/// [`Validator`] before the inner service sees it.
///
/// - On success, the request reaches the inner service with the
///   [`Verified<C>`] in its extensions (`C` is [`StandardClaims`] unless
///   chosen with [`TokenLayer::claims`]).
/// - On refusal, the service answers itself — status, `WWW-Authenticate`,
///   `Retry-After` and JSON body exactly as
///   [`Validator::refusal`] describes them, rendered by [`JsonRefusal`] or
///   your own [`RenderRefusal`] — and the inner service is not called.
/// - A refusal made behind it (a [`ScopeLayer`](crate::ScopeLayer), an
///   extractor, a handler's `?`) is rendered the same way, on its way out.
///
/// Works over `http::Request<B>` for any body type `B` (the body is never
/// read), so it fits `tower::ServiceBuilder`, `axum::Router::layer` /
/// `route_layer`, and plain `hyper` services alike.
///
/// The claims type is a type parameter: handlers get `Verified<C>` back by
/// type. The layer also leaves a [`Gate`] in the extensions, so that
/// [`ScopeLayer`](crate::ScopeLayer) and the axum extractors work for any
/// `C` and can tell an anonymous request from a missing layer.
///
/// ```
/// use tokengate_core::{Validator, Verified};
/// use tokengate_tower::TokenLayer;
/// use tower::ServiceBuilder;
/// # fn demo(validator: Validator) {
/// let service = ServiceBuilder::new()
///     .layer(TokenLayer::new(validator))
///     .service_fn(|request: http::Request<String>| async move {
///         let verified = request.extensions().get::<Verified>().expect("the layer put it there");
///         Ok::<_, std::convert::Infallible>(http::Response::new(format!("hello {:?}", verified.subject())))
///     });
/// # let _ = service;
/// # }
/// ```
#[must_use = "a layer protects nothing until applied to a service"]
pub struct TokenLayer<C = StandardClaims, R = JsonRefusal> {
    validator: Validator,
    mode: Mode,
    dpop: Option<DpopPolicy>,
    render: R,
    _claims: PhantomData<fn() -> C>,
}

struct Shared<R> {
    validator: Validator,
    mode: Mode,
    dpop: Option<DpopPolicy>,
    render: R,
}

impl<R> Shared<R> {
    /// The answer to `error`, refusing a request presented with `scheme`.
    fn refuse<ResBody>(&self, error: &Error, scheme: Scheme) -> Response<ResBody>
    where
        R: RenderRefusal<ResBody>,
    {
        self.render.render(error, self.validator.refusal_to(error, scheme))
    }
}

impl TokenLayer {
    /// A layer requiring a valid token, with [`StandardClaims`] and the
    /// contract's rendering of refusals.
    pub fn new(validator: Validator) -> Self {
        TokenLayer { validator, mode: Mode::Required, dpop: None, render: JsonRefusal, _claims: PhantomData }
    }
}

impl<C, R> TokenLayer<C, R> {
    /// Deserializes the claims of accepted tokens as `D` (any
    /// `serde::Deserialize + Send + Sync` type of yours) instead of
    /// [`StandardClaims`]; handlers then find a `Verified<D>`.
    pub fn claims<D>(self) -> TokenLayer<D, R> {
        let TokenLayer { validator, mode, dpop, render, .. } = self;
        TokenLayer { validator, mode, dpop, render, _claims: PhantomData }
    }

    /// Lets requests without any token through anonymously; see [`Mode::Optional`].
    pub fn optional(self) -> Self {
        self.mode(Mode::Optional)
    }

    /// Sets the mode (default [`Mode::Required`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Renders refusals with `render` (a [`RenderRefusal`], e.g. a closure
    /// `Fn(&Error, Refusal) -> Response<B>`) instead of [`JsonRefusal`].
    pub fn render_with<Q>(self, render: Q) -> TokenLayer<C, Q> {
        TokenLayer {
            validator: self.validator,
            mode: self.mode,
            dpop: self.dpop,
            render,
            _claims: PhantomData,
        }
    }

    /// This route's DPoP policy (RFC 9449), instead of the issuer's: e.g.
    /// [`DpopPolicy::Required`] for routes that take sender-constrained
    /// tokens only. Needs DPoP on the validator
    /// ([`ValidatorBuilder::dpop`](tokengate_core::ValidatorBuilder::dpop)).
    pub fn dpop(mut self, policy: DpopPolicy) -> Self {
        self.dpop = Some(policy);
        self
    }

    /// The validator.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The mode.
    pub fn get_mode(&self) -> Mode {
        self.mode
    }
}

impl<C, R: Clone> Clone for TokenLayer<C, R> {
    fn clone(&self) -> Self {
        TokenLayer {
            validator: self.validator.clone(),
            mode: self.mode,
            dpop: self.dpop,
            render: self.render.clone(),
            _claims: PhantomData,
        }
    }
}

impl<C, R> fmt::Debug for TokenLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenLayer")
            .field("validator", &self.validator)
            .field("mode", &self.mode)
            .field("claims", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}

impl<S, C, R: Clone> Layer<S> for TokenLayer<C, R> {
    type Service = TokenService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        let shared = Shared {
            validator: self.validator.clone(),
            mode: self.mode,
            dpop: self.dpop,
            render: self.render.clone(),
        };
        TokenService { inner, shared: Arc::new(shared), _claims: PhantomData }
    }
}

/// The [`Service`] made by [`TokenLayer`]; see there.
pub struct TokenService<S, C = StandardClaims, R = JsonRefusal> {
    inner: S,
    shared: Arc<Shared<R>>,
    _claims: PhantomData<fn() -> C>,
}

impl<S, C, R> TokenService<S, C, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, by value.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C, R> Clone for TokenService<S, C, R> {
    fn clone(&self) -> Self {
        TokenService { inner: self.inner.clone(), shared: self.shared.clone(), _claims: PhantomData }
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for TokenService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("inner", &self.inner)
            .field("mode", &self.shared.mode)
            .field("claims", &std::any::type_name::<C>())
            .finish_non_exhaustive()
    }
}

impl<S, B, ResBody, C, R> Service<Request<B>> for TokenService<S, C, R>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone,
    C: DeserializeOwned + Send + Sync + 'static,
    R: RenderRefusal<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B, C, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let shared = &*self.shared;
        // Extraction is synchronous: requests without a usable token are
        // answered here, without allocating a validation future.
        let presentation =
            match Gate::extract(&shared.validator, &WithForm { request: &request }, shared.mode) {
                Ok(Some(presentation)) => match shared.dpop {
                    Some(policy) => presentation.with_dpop_policy(policy),
                    None => presentation,
                },
                Ok(None) => {
                    request.extensions_mut().insert(Gate::anonymous(shared.validator.clone()));
                    let future = self.inner.call(request);
                    let (shared, scheme) = (self.shared.clone(), Scheme::Bearer);
                    return ResponseFuture { state: State::Calling { future, shared, scheme } };
                }
                Err(error) => return ResponseFuture::refused(shared.refuse(&error, Scheme::Bearer)),
            };
        // The inner service is called only after validation, from the
        // future: take the instance that was driven to readiness and leave a
        // fresh clone behind (tower's "clone in call" pattern).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let validator = shared.validator.clone();
        let scheme = presentation.scheme();
        let validation: Validation<C> =
            Box::pin(async move { validator.validate_presentation::<C>(&presentation).await });
        ResponseFuture {
            state: State::Validating {
                validation,
                scheme,
                request: Some(request),
                inner: Some(inner),
                shared: self.shared.clone(),
            },
        }
    }
}

type Validation<C> = Pin<Box<dyn Future<Output = Result<Verified<C>, Error>> + Send>>;

pin_project! {
    /// The response future of [`TokenService`]: validates the token (at
    /// most one boxed future, for the asynchronous part of validation), then
    /// runs the inner service's future, or yields the rendered refusal.
    ///
    /// It is `Send` when the request body, the inner service and its future are.
    pub struct ResponseFuture<S, B, C, R>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B, C, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B, C, R>
    where
        S: Service<Request<B>>,
    {
        Validating {
            validation: Validation<C>,
            scheme: Scheme,
            request: Option<Request<B>>,
            inner: Option<S>,
            shared: Arc<Shared<R>>,
        },
        Calling {
            #[pin]
            future: S::Future,
            shared: Arc<Shared<R>>,
            scheme: Scheme,
        },
        Refused {
            response: Option<S::Response>,
        },
    }
}

impl<S, B, C, R> ResponseFuture<S, B, C, R>
where
    S: Service<Request<B>>,
{
    fn refused(response: S::Response) -> Self {
        ResponseFuture { state: State::Refused { response: Some(response) } }
    }
}

impl<S, B, ResBody, C, R> Future for ResponseFuture<S, B, C, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    C: Send + Sync + 'static,
    R: RenderRefusal<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Validating { validation, scheme, request, inner, shared } => {
                    let outcome = ready!(validation.as_mut().poll(cx));
                    let mut request = request.take().expect("ResponseFuture polled after completion");
                    let scheme = *scheme;
                    match outcome {
                        Ok(verified) => {
                            let extensions = request.extensions_mut();
                            extensions.insert(Gate::authenticated(
                                shared.validator.clone(),
                                scheme,
                                &verified,
                            ));
                            extensions.insert(verified);
                            let mut inner = inner.take().expect("ResponseFuture polled after completion");
                            let future = inner.call(request);
                            let shared = shared.clone();
                            state.set(State::Calling { future, shared, scheme });
                        }
                        Err(error) => return Poll::Ready(Ok(shared.refuse(&error, scheme))),
                    }
                }
                StateProj::Calling { future, shared, scheme } => {
                    let mut response = ready!(future.poll(cx))?;
                    // A refusal made behind the layer is rendered as the layer renders its own.
                    if let Some(PendingRefusal(error)) = response.extensions_mut().remove::<PendingRefusal>()
                    {
                        response = shared.refuse(&error, *scheme);
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Refused { response } => {
                    return Poll::Ready(Ok(response.take().expect("ResponseFuture polled after completion")));
                }
            }
        }
    }
}

impl<S, B, C, R> fmt::Debug for ResponseFuture<S, B, C, R>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Validating { .. } => "validating",
            State::Calling { .. } => "calling",
            State::Refused { .. } => "refused",
        };
        f.debug_struct("ResponseFuture").field("state", &state).finish()
    }
}
