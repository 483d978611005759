//! The one policy every framework adapter shares, so that the Tower/axum and
//! the actix-web adapters (and yours) are framework glue only.
//!
//! A *token gate* (`TokenLayer`, `TokenGate`) runs in front of a route:
//!
//! 1. it reads what the request presents with [`Gate::extract`] under a
//!    [`Mode`] (reading `application/x-www-form-urlencoded` bodies first,
//!    when asked, as [`is_form_urlencoded`] decides);
//! 2. it validates it ([`Validator::validate_presentation`]) or answers the
//!    [`Refusal`] itself ([`Validator::refusal_to`], for the scheme used);
//! 3. it leaves a [`Gate`] in the request (and the [`Verified<C>`]), which
//!    is all that scope checks and extractors behind it read:
//!    [`Gate::verified`], [`Gate::scopes`] and [`Gate::require`] decide what
//!    they get, and a missing gate is a [`Misconfiguration`], answered 500;
//! 4. a refusal made behind it (an extractor, a scope check, a handler's
//!    `?` on an [`Error`]) travels on its response as a [`PendingRefusal`],
//!    and the gate renders it as it renders its own, with the validator's
//!    realm and the gate's renderer.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use http::header::CONTENT_TYPE;

use crate::error::Error;
use crate::refusal::{Challenge, Refusal};
use crate::request::{Presentation, RequestParts, Scheme};
use crate::scopes::{ScopeRequirement, Scopes};
use crate::validator::Validator;
use crate::verified::{Presentation as VerifiedPresentation, TokenFacts, Verified};

/// Whether a request that presents no token at all may pass a gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every request must present a valid token (the default).
    #[default]
    Required,
    /// A request presenting no token passes through anonymously (no
    /// `Verified` in its extensions). A request presenting a token that is
    /// malformed or invalid is still refused: a bad token is never treated
    /// as no token.
    Optional,
}

/// The default limit on the form bodies a gate reads (RFC 6750 §2.2): 64 KiB.
pub const DEFAULT_FORM_LIMIT: usize = 64 * 1024;

/// Whether a `Content-Type` value is `application/x-www-form-urlencoded`:
/// its media type (before any `;` parameters), without surrounding
/// whitespace, compared case-insensitively (RFC 9110 §8.3.1). Other types
/// that merely start with it are not forms.
///
/// ```
/// use tokengate_core::adapter::is_form_urlencoded;
/// assert!(is_form_urlencoded(b"application/x-www-form-urlencoded"));
/// assert!(is_form_urlencoded(b"Application/X-WWW-Form-URLEncoded; charset=UTF-8"));
/// assert!(!is_form_urlencoded(b"application/x-www-form-urlencodedx"));
/// assert!(!is_form_urlencoded(b"multipart/form-data"));
/// ```
pub fn is_form_urlencoded(content_type: &[u8]) -> bool {
    let essence = content_type.split(|b| *b == b';').next().unwrap_or_default();
    essence.trim_ascii().eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
}

/// What a token gate leaves in a request for the scope checks and
/// extractors behind it: the validator, and the verified token (or that the
/// request is anonymous), readable whatever the claims type.
#[derive(Clone)]
pub struct Gate {
    validator: Validator,
    scheme: Scheme,
    token: Option<GateToken>,
}

/// The verified token, type-erased: the claims are downcast on demand.
#[derive(Clone)]
struct GateToken {
    facts: Arc<TokenFacts>,
    claims: Arc<dyn Any + Send + Sync>,
    presentation: VerifiedPresentation,
    claims_type: &'static str,
}

impl Gate {
    /// What the request presents under `mode`: `Ok(None)` for a request
    /// presenting no token that may pass anonymously, a refusal for one that
    /// presents a malformed one (or none, in [`Mode::Required`]).
    pub fn extract<R: RequestParts + ?Sized>(
        validator: &Validator,
        request: &R,
        mode: Mode,
    ) -> Result<Option<Presentation>, Error> {
        match validator.presentation(request) {
            Ok(presentation) => Ok(Some(presentation)),
            Err(Error::MissingToken) if mode == Mode::Optional => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The gate of a request let through anonymously.
    pub fn anonymous(validator: Validator) -> Gate {
        Gate { validator, scheme: Scheme::Bearer, token: None }
    }

    /// The gate of a request whose token, presented with `scheme`, is `verified`.
    pub fn authenticated<C: Send + Sync + 'static>(
        validator: Validator,
        scheme: Scheme,
        verified: &Verified<C>,
    ) -> Gate {
        let (facts, claims, presentation) = verified.parts();
        let claims: Arc<dyn Any + Send + Sync> = claims;
        let token = GateToken { facts, claims, presentation, claims_type: std::any::type_name::<C>() };
        Gate { validator, scheme, token: Some(token) }
    }

    /// The gate a request passed, if any: a missing one is a
    /// misconfiguration (a route reading a token no gate checked).
    pub fn required(gate: Option<&Gate>) -> Result<&Gate, Rejection> {
        gate.ok_or(Rejection::Misconfigured(Misconfiguration::NoGate))
    }

    /// The validator that checked the request.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The scheme the request presented its token with.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Whether the request presented a valid token (not anonymous).
    pub fn is_authenticated(&self) -> bool {
        self.token.is_some()
    }

    /// The verified token with claims of type `C`; `None` for an anonymous
    /// request; a misconfiguration when the gate validated claims into
    /// another type.
    pub fn verified<C: Send + Sync + 'static>(&self) -> Result<Option<Verified<C>>, Rejection> {
        let Some(token) = &self.token else { return Ok(None) };
        match token.claims.clone().downcast::<C>() {
            Ok(claims) => Ok(Some(Verified::from_parts(token.facts.clone(), claims, token.presentation))),
            Err(_) => Err(Rejection::Misconfigured(Misconfiguration::ClaimsType {
                gate: token.claims_type,
                wanted: std::any::type_name::<C>(),
            })),
        }
    }

    /// The verified token with claims of type `C`; an anonymous request is
    /// refused as carrying no token.
    pub fn require_verified<C: Send + Sync + 'static>(&self) -> Result<Verified<C>, Rejection> {
        self.verified()?.ok_or_else(|| self.refuse(Error::MissingToken))
    }

    /// The granted scopes; `None` for an anonymous request.
    pub fn scopes(&self) -> Option<&Scopes> {
        self.token.as_ref().map(|token| &token.facts.scopes)
    }

    /// The route's scope check: `Ok` when the token grants `requirement`;
    /// 403 `insufficient_scope` when it does not; 401 (no token) for an
    /// anonymous request, since the route needs one.
    pub fn require(&self, requirement: &ScopeRequirement) -> Result<(), Rejection> {
        match self.scopes() {
            Some(granted) if requirement.is_met_by(granted) => Ok(()),
            Some(_) => Err(self.refuse(Error::InsufficientScope(requirement.clone()))),
            None => Err(self.refuse(Error::MissingToken)),
        }
    }

    /// `error` as this gate's validator answers it.
    pub fn refuse(&self, error: Error) -> Rejection {
        let refusal = Box::new(self.validator.refusal_to(&error, self.scheme));
        Rejection::Refused { error, refusal }
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("authenticated", &self.is_authenticated())
            .field("claims_type", &self.token.as_ref().map(|token| token.claims_type))
            .finish_non_exhaustive()
    }
}

/// Why something behind a gate could not give a route what it asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The request is refused: 401, 403 (or 400, 503), rendered as the
    /// validator renders every refusal.
    Refused {
        /// Why.
        error: Error,
        /// The answer (boxed: rejections travel in `Result`s).
        refusal: Box<Refusal>,
    },
    /// The server is misconfigured: 500, whatever the request.
    Misconfigured(Misconfiguration),
}

impl Rejection {
    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Refused { refusal, .. } => refusal.status,
            Rejection::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Why the request was refused; `None` for a misconfigured server.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Rejection::Refused { error, .. } => Some(error),
            Rejection::Misconfigured(_) => None,
        }
    }

    /// The refusal as the core renders it; `None` for a misconfigured server.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Rejection::Refused { refusal, .. } => Some(refusal),
            Rejection::Misconfigured(_) => None,
        }
    }

    /// The answer: the refusal (marked as a [`PendingRefusal`] for the gate
    /// in front), or `500` with a `text/plain` body naming the mistake,
    /// which is also logged with `tracing::error!`.
    pub fn into_response<B: From<String>>(self) -> http::Response<B> {
        match self {
            Rejection::Refused { error, refusal } => {
                let mut response = (*refusal).into_response();
                response.extensions_mut().insert(PendingRefusal(error));
                response
            }
            Rejection::Misconfigured(mistake) => mistake.into_response(),
        }
    }
}

impl From<Error> for Rejection {
    /// A refusal made without a gate at hand (a handler's): rendered with the
    /// default realm here, and again by the gate in front, which finds it as
    /// a [`PendingRefusal`] on the response.
    fn from(error: Error) -> Self {
        let refusal = Box::new(Refusal::new(&error, &Challenge::default()));
        Rejection::Refused { error, refusal }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Refused { error, .. } => fmt::Display::fmt(error, f),
            Rejection::Misconfigured(mistake) => fmt::Display::fmt(mistake, f),
        }
    }
}

impl std::error::Error for Rejection {}

/// A server mistake a gate's extractors and scope checks detect at run
/// time: answered 500, never by letting the request through.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misconfiguration {
    /// A route reads a verified token, but no token gate ran on the request.
    NoGate,
    /// The gate validated the claims into `gate`, but `wanted` was asked for.
    ClaimsType {
        /// The gate's claims type.
        gate: &'static str,
        /// The type the route asked for.
        wanted: &'static str,
    },
}

impl Misconfiguration {
    /// `500 Internal Server Error` with a `text/plain` body naming the
    /// mistake (it shows on the first request in development; it names no
    /// secret), logged with `tracing::error!`.
    pub fn into_response<B: From<String>>(self) -> http::Response<B> {
        tracing::error!("{}", self.message());
        self.text_response()
    }

    /// The same answer, without logging (for a caller that logged already).
    pub fn text_response<B: From<String>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.message()));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
        response
    }
}

impl Misconfiguration {
    /// What is logged and answered: `tokengate: ` and the mistake.
    pub fn message(&self) -> String {
        format!("tokengate: {self}")
    }
}

impl fmt::Display for Misconfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misconfiguration::NoGate => f.write_str(
                "a route requires a verified token, but no token gate ran on this request: put \
                 tokengate's TokenLayer (Tower, axum) or TokenGate (actix-web) in front of it",
            ),
            Misconfiguration::ClaimsType { gate, wanted } => write!(
                f,
                "the token gate validates claims into `{gate}`, but `{wanted}` was asked for: \
                 configure the gate with `.claims::<{wanted}>()`, or ask for its type"
            ),
        }
    }
}

/// A refusal made behind a gate, carried on its response (in the response
/// extensions) so that the gate renders it the way it renders its own
/// refusals: with the validator's challenge and the gate's renderer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRefusal(pub Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_detection_is_one_exact_rule() {
        for form in [
            &b"application/x-www-form-urlencoded"[..],
            b"APPLICATION/X-WWW-FORM-URLENCODED",
            b"application/x-www-form-urlencoded;charset=utf-8",
            b" application/x-www-form-urlencoded ; charset=utf-8",
        ] {
            assert!(is_form_urlencoded(form), "{}", String::from_utf8_lossy(form));
        }
        for other in [
            &b""[..],
            b"application/json",
            b"application/x-www-form-urlencodedx",
            b"application/x-www-form-urlencoded-evil; x=1",
            b"text/application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
        ] {
            assert!(!is_form_urlencoded(other), "{}", String::from_utf8_lossy(other));
        }
    }
}
