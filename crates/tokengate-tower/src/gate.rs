//! What [`TokenLayer`](crate::TokenLayer) leaves in the request extensions
//! for the layers and extractors behind it, whatever the claims type.

use http::Extensions;
use tokengate_core::{Scopes, Validator, Verified};

/// The record of a [`TokenLayer`](crate::TokenLayer) having run on a request.
///
/// It is inserted beside the `Verified<C>` (on success) or alone (an
/// anonymous request in optional mode), so that scope checks and extractors
/// can tell "anonymous" from "no layer at all" and render refusals with the
/// validator's realm. `scopes_of` reads the `Verified<C>` without knowing
/// `C`: a type-erased accessor, monomorphised by the layer.
#[derive(Clone)]
pub(crate) struct Gate {
    pub(crate) validator: Validator,
    pub(crate) authenticated: bool,
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) claims_type: &'static str,
    scopes_of: fn(&Extensions) -> Option<&Scopes>,
}

impl Gate {
    pub(crate) fn new<C: Send + Sync + 'static>(validator: Validator, authenticated: bool) -> Self {
        Gate { validator, authenticated, claims_type: std::any::type_name::<C>(), scopes_of: scopes_of::<C> }
    }

    /// The gate a layer left on this request, if any.
    pub(crate) fn of(extensions: &Extensions) -> Option<&Gate> {
        extensions.get::<Gate>()
    }

    /// The verified token's scopes; `None` for an anonymous request.
    pub(crate) fn scopes<'e>(&self, extensions: &'e Extensions) -> Option<&'e Scopes> {
        if self.authenticated { (self.scopes_of)(extensions) } else { None }
    }
}

fn scopes_of<C: Send + Sync + 'static>(extensions: &Extensions) -> Option<&Scopes> {
    extensions.get::<Verified<C>>().map(Verified::scopes)
}

/// Why a scope check or an extractor found no usable token.
#[derive(Debug)]
pub(crate) enum Missing {
    /// No `TokenLayer` ran on this request.
    Layer,
    /// The layer validated into another claims type than the one asked for.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    ClaimsType { layer: &'static str, wanted: &'static str },
}

impl Missing {
    pub(crate) fn message(&self) -> String {
        match self {
            Missing::Layer => "a route requires a verified token, but no TokenLayer ran on this request: \
                 add `.layer(TokenLayer::new(validator))` (or `route_layer`) in front of it"
                .to_owned(),
            Missing::ClaimsType { layer, wanted } => format!(
                "the TokenLayer validates claims into `{layer}`, but `{wanted}` was asked for: \
                 use `TokenLayer::new(validator).claims::<{wanted}>()` or the layer's type"
            ),
        }
    }
}
