//! [`TokenGate`]: the middleware that validates every request's token.

use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage};
use serde::de::DeserializeOwned;
use tokengate_core::adapter::{DEFAULT_FORM_LIMIT, Gate, Mode, PendingRefusal, is_form_urlencoded};
use tokengate_core::dpop::DpopPolicy;
use tokengate_core::{Error, Scheme, StandardClaims, Validator};

use crate::render::{JsonRefusal, RenderRefusal};
use crate::request::ActixRequest;

/// actix-web middleware validating each request's bearer token with a
/// [`Validator`], for `App::wrap`, `Scope::wrap` and `Resource::wrap`.
///
/// On success the [`Verified<C>`](tokengate_core::Verified) goes into the request extensions (read it
/// with [`Auth`](crate::Auth)); on refusal the middleware answers itself,
/// with the response the core describes, and the inner service never runs.
/// A refusal made behind it (a [`ScopeGate`](crate::ScopeGate), an
/// extractor, a handler's `?`) is rendered the same way, on its way out.
///
/// ```
/// use actix_web::{App, web};
/// use tokengate_actix::{Auth, TokenGate};
///
/// async fn me(Auth(token): Auth) -> String {
///     format!("hello {}", token.subject().unwrap_or("?"))
/// }
///
/// # fn demo(validator: tokengate_core::Validator) {
/// let app = App::new().service(web::resource("/me").route(web::get().to(me))).wrap(TokenGate::new(validator));
/// # let _ = app;
/// # }
/// ```
#[must_use = "middleware protects nothing until wrapped around an app or scope"]
pub struct TokenGate<C = StandardClaims, R = JsonRefusal> {
    validator: Validator,
    mode: Mode,
    dpop: Option<DpopPolicy>,
    form_limit: Option<usize>,
    render: Arc<R>,
    claims: PhantomData<fn() -> C>,
}

impl TokenGate {
    /// Requires a valid token, with the claims as [`StandardClaims`] and the
    /// contract's refusals.
    pub fn new(validator: Validator) -> Self {
        TokenGate {
            validator,
            mode: Mode::Required,
            dpop: None,
            form_limit: None,
            render: Arc::new(JsonRefusal),
            claims: PhantomData,
        }
    }
}

impl<C, R> TokenGate<C, R> {
    /// Lets requests without a token through anonymously.
    pub fn optional(mut self) -> Self {
        self.mode = Mode::Optional;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Buffers `application/x-www-form-urlencoded` bodies (up to
    /// [`DEFAULT_FORM_LIMIT`]) so that the core sees RFC 6750 §2.2 body
    /// tokens: a token in both the header and the body is then refused
    /// `400 invalid_request`, and a body token is accepted if the validator
    /// allows that location. The body is handed on unchanged. Over the limit:
    /// `413 Payload Too Large`; unreadable: `400 Bad Request` (empty bodies).
    pub fn read_form_bodies(self) -> Self {
        self.form_body_limit(DEFAULT_FORM_LIMIT)
    }

    /// Like [`TokenGate::read_form_bodies`], with another limit in bytes.
    pub fn form_body_limit(mut self, limit: usize) -> Self {
        self.form_limit = Some(limit);
        self
    }

    /// This route's DPoP policy (RFC 9449), instead of the issuer's: e.g.
    /// [`DpopPolicy::Required`] for routes that take sender-constrained
    /// tokens only. Needs DPoP on the validator
    /// ([`ValidatorBuilder::dpop`](tokengate_core::ValidatorBuilder::dpop)).
    pub fn dpop(mut self, policy: DpopPolicy) -> Self {
        self.dpop = Some(policy);
        self
    }

    /// Deserializes the claims as `D` (read them with `Auth<D>`).
    pub fn claims<D>(self) -> TokenGate<D, R> {
        self.with(self.render.clone())
    }

    /// Renders refusals with `render` instead of the contract's JSON answer.
    pub fn render_with<Q: RenderRefusal>(self, render: Q) -> TokenGate<C, Q> {
        self.with(Arc::new(render))
    }

    fn with<D, Q>(&self, render: Arc<Q>) -> TokenGate<D, Q> {
        TokenGate {
            validator: self.validator.clone(),
            mode: self.mode,
            dpop: self.dpop,
            form_limit: self.form_limit,
            render,
            claims: PhantomData,
        }
    }
}

impl<C, R> Clone for TokenGate<C, R> {
    fn clone(&self) -> Self {
        self.with(self.render.clone())
    }
}

impl<S, B, C, R> Transform<S, ServiceRequest> for TokenGate<C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
    R: RenderRefusal + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = TokenGateMiddleware<S, C, R>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TokenGateMiddleware { service: Rc::new(service), gate: self.clone() }))
    }
}

/// The service [`TokenGate`] wraps around the inner one.
pub struct TokenGateMiddleware<S, C, R> {
    service: Rc<S>,
    gate: TokenGate<C, R>,
}

impl<S, B, C, R> Service<ServiceRequest> for TokenGateMiddleware<S, C, R>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    C: DeserializeOwned + Send + Sync + 'static,
    R: RenderRefusal + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let gate = self.gate.clone();
        Box::pin(async move {
            let form = match gate.form_limit {
                Some(limit) if is_form(&request) => match buffer_body(&mut request, limit).await {
                    Ok(body) => Some(body),
                    Err(status) => {
                        let response = actix_web::HttpResponse::new(status);
                        return Ok(request.into_response(response).map_into_right_body());
                    }
                },
                _ => None,
            };
            let presentation = {
                let http_request = ActixRequest { request: request.request(), form_body: form.as_deref() };
                Gate::extract(&gate.validator, &http_request, gate.mode)
            };
            let scheme = match &presentation {
                Ok(Some(presentation)) => presentation.scheme(),
                _ => Scheme::Bearer,
            };
            let render = |error: &Error| gate.render.render(error, gate.validator.refusal_to(error, scheme));
            let outcome = match presentation {
                Ok(Some(presentation)) => {
                    let presentation = match gate.dpop {
                        Some(policy) => presentation.with_dpop_policy(policy),
                        None => presentation,
                    };
                    gate.validator.validate_presentation::<C>(&presentation).await.map(Some)
                }
                Ok(None) => Ok(None),
                Err(error) => Err(error),
            };
            let verified = match outcome {
                Ok(verified) => verified,
                Err(error) => return Ok(request.into_response(render(&error)).map_into_right_body()),
            };
            {
                let mut extensions = request.extensions_mut();
                match verified {
                    Some(verified) => {
                        extensions.insert(Gate::authenticated(gate.validator.clone(), scheme, &verified));
                        extensions.insert(verified);
                    }
                    None => {
                        extensions.insert(Gate::anonymous(gate.validator.clone()));
                    }
                }
            }
            let mut response = service.call(request).await?;
            // A refusal made behind the gate is rendered as the gate renders its own.
            let pending = response.response_mut().extensions_mut().remove::<PendingRefusal>();
            Ok(match pending {
                Some(PendingRefusal(error)) => {
                    let (request, _) = response.into_parts();
                    ServiceResponse::new(request, render(&error)).map_into_right_body()
                }
                None => response.map_into_left_body(),
            })
        })
    }
}

fn is_form(request: &ServiceRequest) -> bool {
    request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|value| is_form_urlencoded(value.as_bytes()))
}

/// Reads the body (at most `limit` bytes) and puts it back for the handler.
async fn buffer_body(request: &mut ServiceRequest, limit: usize) -> Result<Bytes, StatusCode> {
    let (http_request, payload) = request.parts_mut();
    let Ok(payload) = actix_web::web::Payload::from_request(http_request, payload).await else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let body = match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(StatusCode::BAD_REQUEST),
        Err(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE),
    };
    request.set_payload(body.clone().into());
    Ok(body)
}
