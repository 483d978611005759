//! The revocation API: what to revoke ([`Revoke`]), how long it is kept, and
//! why recording it can fail ([`RevokeError`]).

use std::time::Duration;

use super::Validator;
use crate::store::{Revocation, StoreError};

impl Validator {
    /// Records a revocation; from the moment this returns `Ok`, every
    /// validator sharing the [`RevocationStore`](crate::store::RevocationStore)
    /// refuses the tokens it names with [`Error::Revoked`](crate::Error::Revoked),
    /// for as long as they would otherwise be accepted (see [`Revoke`]).
    ///
    /// ```
    /// # use tokengate_core::{Revoke, RevokeError, Validator};
    /// # async fn admin(validator: &Validator) -> Result<(), RevokeError> {
    /// validator.revoke(&Revoke::token_id("5f1c0a")).await?; // one token
    /// validator.revoke(&Revoke::subject("user-42")).await?; // "log out everywhere": issued until now
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, revoke: &Revoke) -> Result<(), RevokeError> {
        let inner = &*self.inner;
        let tenant;
        let issuer = match (&revoke.issuer, inner.issuers.any()) {
            // One key set, one issuer, whatever `iss` its tokens carry: the
            // revocation is kept under the name the checks look it up by.
            (_, Some(any)) => any,
            (Some(name), None) => match inner.issuers.named(name) {
                Some(listed) => listed,
                // A tenant's tokens follow the tenants' template: no need to
                // resolve (and fetch for) the tenant to revoke its tokens.
                None => {
                    let template =
                        inner.issuers.tenants.as_ref().and_then(|tenants| tenants.template_for(name));
                    tenant = template.and_then(Result::ok).ok_or(RevokeError::UnknownIssuer)?;
                    &tenant
                }
            },
            (None, None) => inner.issuers.only().ok_or(RevokeError::IssuerRequired)?,
        };
        let iss = issuer.record_name();
        let now = inner.clock.now();
        // The issuer's clock may run ahead of ours by up to the leeway: a token
        // it issued "now" can carry an `iat` up to now + leeway.
        let cutoff = revoke.cutoff.unwrap_or_else(|| now.saturating_add(issuer.leeway().as_secs()));
        let revocation = match &revoke.target {
            Target::TokenId(jti) => Revocation::Token {
                issuer: iss,
                token_id: jti,
                keep_until: issuer.revocation_kept_until(None, now),
            },
            Target::Subject(sub) => Revocation::Subject {
                issuer: iss,
                subject: sub,
                cutoff,
                keep_until: issuer.revocation_kept_until(Some(cutoff), now),
            },
            Target::Issuer => Revocation::Issuer {
                issuer: iss,
                cutoff,
                keep_until: issuer.revocation_kept_until(Some(cutoff), now),
            },
        };
        inner.revocations.revoke(revocation, now).await.map_err(RevokeError::Store)
    }
}

/// What to revoke, for [`Validator::revoke`].
///
/// A revocation outlives every token it names: it is kept until those
/// tokens would be refused as expired anyway — the issuer's
/// [`max_lifetime`](crate::Issuer::max_lifetime) plus twice its leeway after
/// the latest `iat` it covers — and forever for an issuer with
/// [`unbounded_lifetime`](crate::Issuer::unbounded_lifetime). The one gap:
/// a token without `iat`, revoked while more than `max_lifetime` of its life
/// remained, can outlive the revocation; require `iat` to close it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoke {
    target: Target,
    issuer: Option<String>,
    cutoff: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    TokenId(String),
    Subject(String),
    Issuer,
}

impl Revoke {
    /// The token whose `jti` is `token_id`.
    pub fn token_id(token_id: impl Into<String>) -> Self {
        Revoke { target: Target::TokenId(token_id.into()), issuer: None, cutoff: None }
    }

    /// Every token of `subject` (`sub`) issued at or before now plus the
    /// issuer's leeway ("log out everywhere": the issuer's clock may run that
    /// far ahead of ours, so a token issued a moment ago can carry an `iat`
    /// in our future); tokens issued later are accepted. Tokens without
    /// `iat` cannot show they are later, so they are refused too.
    pub fn subject(subject: impl Into<String>) -> Self {
        Revoke { target: Target::Subject(subject.into()), issuer: None, cutoff: None }
    }

    /// Every token of the issuer issued at or before now plus its leeway
    /// (after a signing-key compromise, say); tokens without `iat` are
    /// refused too.
    pub fn all_tokens() -> Self {
        Revoke { target: Target::Issuer, issuer: None, cutoff: None }
    }

    /// The cut-off for [`Revoke::subject`] and [`Revoke::all_tokens`]: tokens
    /// with `iat` at or before `cutoff` (seconds since the epoch) are refused
    /// (default: now plus the issuer's leeway). Ignored for [`Revoke::token_id`].
    pub fn issued_at_or_before(mut self, cutoff: u64) -> Self {
        self.cutoff = Some(cutoff);
        self
    }

    /// The issuer whose token(s) are meant (its `iss`, exactly): required
    /// when the validator trusts several (a `jti` or `sub` is only unique
    /// within its issuer). Not needed, and not used, with
    /// [`Issuer::any_issuer`](crate::Issuer::any_issuer): its tokens are the
    /// one key set's, whatever `iss` they carry.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
}

/// Why [`Validator::revoke`] did not record a revocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// The validator trusts several issuers: name one with [`Revoke::issuer`].
    #[error("the validator trusts several issuers: name the one meant with Revoke::issuer")]
    IssuerRequired,
    /// [`Revoke::issuer`] names an issuer the validator does not trust.
    #[error("the revocation names an issuer this validator does not trust")]
    UnknownIssuer,
    /// The store did not record it (unreachable, or full); nothing was revoked.
    #[error("the revocation was not recorded: {0}")]
    Store(StoreError),
}

impl RevokeError {
    /// For [`RevokeError::Store`], when a retry has a chance to succeed.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RevokeError::Store(
                StoreError::Unavailable { retry_after } | StoreError::Full { retry_after },
            ) => Some(*retry_after),
            _ => None,
        }
    }
}
