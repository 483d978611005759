//! What a handler receives for an accepted token.

use crate::algorithm::Algorithm;
use crate::claims::StandardClaims;
use crate::error::Error;
use crate::scopes::{ScopeRequirement, Scopes};

/// A token that passed every check, with its claims as the caller's type `C`
/// (any `serde::Deserialize` type; [`StandardClaims`] by default) and the
/// registered claims tokengate itself read and checked.
#[derive(Clone, Debug)]
pub struct Verified<C = StandardClaims> {
    /// The claims, deserialized as `C`.
    pub claims: C,
    pub(crate) scopes: Scopes,
    pub(crate) issuer: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) token_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) expires_at: Option<u64>,
    pub(crate) issued_at: Option<u64>,
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: Option<String>,
    /// This verification already spent the token (its issuer is single-use).
    pub(crate) used_once: bool,
}

impl<C> Verified<C> {
    /// The granted scopes (from `scope`, `scp` or `permissions`).
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// `Ok` when the scopes meet `requirement`, else a 403 [`Error::InsufficientScope`].
    pub fn require(&self, requirement: &ScopeRequirement) -> Result<(), Error> {
        requirement.check(&self.scopes)
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// `jti`.
    pub fn token_id(&self) -> Option<&str> {
        self.token_id.as_deref()
    }

    /// `client_id` (RFC 9068).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// `exp`, seconds since the epoch.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// `iat`, seconds since the epoch.
    pub fn issued_at(&self) -> Option<u64> {
        self.issued_at
    }

    /// The algorithm the signature was verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` of the key that verified the token, when the token named one.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Whether this verification spent the token: its single use was recorded
    /// (an issuer-wide [`SingleUse`](crate::SingleUse) policy, or
    /// [`Validator::use_once`](crate::Validator::use_once) through
    /// [`Validator::validate_token_once`](crate::Validator::validate_token_once)).
    pub fn is_single_use(&self) -> bool {
        self.used_once
    }

    /// The claims, by value.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// The same verification with the claims mapped to another type.
    pub fn map<D>(self, f: impl FnOnce(C) -> D) -> Verified<D> {
        Verified {
            claims: f(self.claims),
            scopes: self.scopes,
            issuer: self.issuer,
            subject: self.subject,
            token_id: self.token_id,
            client_id: self.client_id,
            expires_at: self.expires_at,
            issued_at: self.issued_at,
            algorithm: self.algorithm,
            key_id: self.key_id,
            used_once: self.used_once,
        }
    }
}
