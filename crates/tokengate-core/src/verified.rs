//! What a handler receives for an accepted token.

use std::fmt;
use std::sync::Arc;

use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::issuer::Origin;
use crate::parse::claims::StandardClaims;
use crate::scopes::{ScopeRequirement, Scopes};

/// The registered claims tokengate itself read and checked, and how the
/// token was verified: filled in once by the issuer's claim rules, then
/// shared (never copied) by every [`Verified`] of the token.
#[derive(Debug)]
pub(crate) struct TokenFacts {
    pub(crate) scopes: Scopes,
    pub(crate) issuer: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) token_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) expires_at: Option<u64>,
    pub(crate) issued_at: Option<u64>,
    /// The first second at which the token is refused on time alone (`exp`
    /// plus the leeway, or the end of its maximum age; `u64::MAX`: never).
    pub(crate) refused_from: u64,
    pub(crate) origin: Origin,
    /// `cnf.jkt`: the thumbprint of the key the token is bound to (DPoP).
    pub(crate) bound_to: Option<String>,
}

impl TokenFacts {
    /// What the facts take in memory, roughly (for the token cache's bound).
    pub(crate) fn approximate_size(&self) -> usize {
        let strings = [&self.issuer, &self.subject, &self.token_id, &self.client_id, &self.bound_to];
        let text: usize = strings.iter().map(|s| s.as_ref().map_or(0, String::len)).sum();
        let scopes: usize = self.scopes.iter().map(|scope| scope.len() + 16).sum();
        std::mem::size_of::<TokenFacts>() + text + scopes
    }
}

/// What one presentation of a token established, beyond the token's facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Presentation {
    /// A DPoP proof of the token's key came with it.
    pub(crate) proven: bool,
    /// It spent the token (the issuer's single-use policy, or `use_once`).
    pub(crate) used_once: bool,
    /// With token-sharing detection: the distinct clients that presented
    /// the token so far, this one included.
    pub(crate) clients: Option<u32>,
}

/// A token that passed every check, with its claims as the caller's type `C`
/// (any `serde::Deserialize` type; [`StandardClaims`] by default) and the
/// registered claims tokengate itself read and checked.
///
/// Cheap to clone whatever `C` is (two `Arc`s inside): adapters and
/// extractors hand the same verification around without copying claims,
/// and `C` need not implement `Clone`.
pub struct Verified<C = StandardClaims> {
    facts: Arc<TokenFacts>,
    claims: Arc<C>,
    presentation: Presentation,
}

impl<C> Clone for Verified<C> {
    fn clone(&self) -> Self {
        Verified { facts: self.facts.clone(), claims: self.claims.clone(), presentation: self.presentation }
    }
}

impl<C: fmt::Debug> fmt::Debug for Verified<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("facts", &self.facts)
            .field("claims", &self.claims)
            .field("presentation", &self.presentation)
            .finish()
    }
}

impl<C> Verified<C> {
    pub(crate) fn from_parts(facts: Arc<TokenFacts>, claims: Arc<C>, presentation: Presentation) -> Self {
        Verified { facts, claims, presentation }
    }

    pub(crate) fn parts(&self) -> (Arc<TokenFacts>, Arc<C>, Presentation) {
        (self.facts.clone(), self.claims.clone(), self.presentation)
    }

    pub(crate) fn presentation_mut(&mut self) -> &mut Presentation {
        &mut self.presentation
    }

    pub(crate) fn facts(&self) -> &TokenFacts {
        &self.facts
    }

    /// The claims, deserialized as `C`.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The granted scopes (from `scope`, `scp` or `permissions`).
    pub fn scopes(&self) -> &Scopes {
        &self.facts.scopes
    }

    /// `Ok` when the scopes meet `requirement`, else a 403 [`Error::InsufficientScope`].
    pub fn require(&self, requirement: &ScopeRequirement) -> Result<(), Error> {
        if requirement.is_met_by(self.scopes()) {
            Ok(())
        } else {
            Err(Error::InsufficientScope(requirement.clone()))
        }
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.facts.issuer.as_deref()
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.facts.subject.as_deref()
    }

    /// `jti`.
    pub fn token_id(&self) -> Option<&str> {
        self.facts.token_id.as_deref()
    }

    /// `client_id` (RFC 9068).
    pub fn client_id(&self) -> Option<&str> {
        self.facts.client_id.as_deref()
    }

    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> Option<u64> {
        self.facts.expires_at
    }

    /// `iat`, seconds since the epoch.
    pub fn issued_at(&self) -> Option<u64> {
        self.facts.issued_at
    }

    /// The algorithm the signature was verified with; `None` for a token
    /// the authorization server vouched for by introspection.
    pub fn algorithm(&self) -> Option<Algorithm> {
        match &self.facts.origin {
            Origin::Jwt { algorithm, .. } => Some(*algorithm),
            Origin::Introspection => None,
        }
    }

    /// The `kid` of the key that verified the token, when the token named one.
    pub fn key_id(&self) -> Option<&str> {
        match &self.facts.origin {
            Origin::Jwt { key_id, .. } => key_id.as_deref(),
            Origin::Introspection => None,
        }
    }

    /// Whether the token was introspected (RFC 7662) rather than verified locally.
    pub fn is_introspected(&self) -> bool {
        self.facts.origin == Origin::Introspection
    }

    /// The RFC 7638 thumbprint of the key this request proved it holds (its
    /// DPoP proof), which is the key the token is bound to (`cnf.jkt`);
    /// `None` for a bearer presentation.
    pub fn dpop_thumbprint(&self) -> Option<&str> {
        self.facts.bound_to.as_deref().filter(|_| self.presentation.proven)
    }

    /// Whether this verification spent the token: its single use was recorded
    /// (an issuer-wide [`SingleUse`](crate::SingleUse) policy, or
    /// [`Validator::use_once`](crate::Validator::use_once) through
    /// [`Validator::validate_token_once`](crate::Validator::validate_token_once)).
    pub fn is_single_use(&self) -> bool {
        self.presentation.used_once
    }

    /// With [`TokenSharing`](crate::TokenSharing) on: how many distinct
    /// clients have presented this token, this one included (counted up to
    /// one above the limit; above it only when the token is reported rather
    /// than refused). `None` when sharing detection is off.
    pub fn clients_seen(&self) -> Option<u32> {
        self.presentation.clients
    }

    /// The claims, by value: moved out when this is the only handle on them,
    /// cloned otherwise.
    pub fn into_claims(self) -> C
    where
        C: Clone,
    {
        Arc::unwrap_or_clone(self.claims)
    }

    /// The same verification with the claims mapped to another type.
    pub fn map<D>(&self, f: impl FnOnce(&C) -> D) -> Verified<D> {
        Verified {
            facts: self.facts.clone(),
            claims: Arc::new(f(&self.claims)),
            presentation: self.presentation,
        }
    }
}
