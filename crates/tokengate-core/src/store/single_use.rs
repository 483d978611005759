//! Where single use is decided: the policy, the lifetime rule that keeps
//! records finite, and the one function that spends a token in a
//! [`ReplayStore`].

use std::borrow::Cow;
use std::time::Duration;

use super::{ReplayStore, TokenUse, UseOutcome};
use crate::error::Error;
use crate::verified::TokenFacts;

/// How long a single-use token may live (`exp - iat`) unless configured
/// otherwise: one hour. Records are kept until `exp` + leeway, so this bounds
/// how long any record lives.
pub const DEFAULT_SINGLE_USE_MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// The single-use policy: a token's `jti` is accepted once per issuer, and
/// every later presentation is refused [`Error::Replayed`](crate::Error::Replayed)
/// until the token expires.
///
/// Single use requires `jti` and `exp`, and a lifetime (`exp - iat`, or
/// without `iat` what is left of it, `exp - now`) of at most
/// [`SingleUse::max_lifetime`]: that bound is what keeps the
/// records finite. Apply it to every token of an issuer with
/// [`Issuer::single_use`](crate::Issuer::single_use), or to one route with
/// [`Validator::use_once`](crate::Validator::use_once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SingleUse {
    max_lifetime: Duration,
}

impl Default for SingleUse {
    fn default() -> Self {
        SingleUse { max_lifetime: DEFAULT_SINGLE_USE_MAX_LIFETIME }
    }
}

impl SingleUse {
    /// Single use, with tokens living at most [`DEFAULT_SINGLE_USE_MAX_LIFETIME`].
    pub fn new() -> Self {
        SingleUse::default()
    }

    /// Refuses single-use tokens whose lifetime `exp - iat` exceeds
    /// `max_lifetime` ([`Error::LifetimeTooLong`](crate::Error::LifetimeTooLong)).
    /// Shorter is safer and cheaper: a record lives as long as its token.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// The maximum lifetime of a single-use token.
    pub fn lifetime(&self) -> Duration {
        self.max_lifetime
    }
}

/// The single-use lifetime rule: `exp` required; `exp - iat` capped, or,
/// without `iat`, what is left of the token's life (`exp - now`), so that a
/// record never outlives the cap either way. Returns `exp` and the earliest
/// moment the token can have been issued (`iat`, else `exp` minus the cap),
/// which the replay store compares with the moment its records begin.
pub(crate) fn check_lifetime(policy: &SingleUse, facts: &TokenFacts, now: u64) -> Result<(u64, u64), Error> {
    let exp = facts.expires_at.ok_or(Error::MissingClaim(Cow::Borrowed("exp")))?;
    let iat = facts.issued_at;
    let cap = policy.lifetime().as_secs();
    if exp.saturating_sub(iat.unwrap_or(now)) > cap {
        return Err(Error::LifetimeTooLong);
    }
    Ok((exp, iat.unwrap_or(exp.saturating_sub(cap))))
}

/// Spends the token described by `facts` under `policy`, atomically, in
/// `store`: recorded under `issuer` (the name the token's issuer keeps its
/// records under) until `exp` + `leeway`, when the token is refused as
/// expired anyway.
pub(crate) async fn spend(
    store: &dyn ReplayStore,
    policy: &SingleUse,
    issuer: &str,
    leeway: u64,
    facts: &TokenFacts,
    now: u64,
) -> Result<(), Error> {
    let jti = facts.token_id.as_deref().ok_or(Error::MissingClaim(Cow::Borrowed("jti")))?;
    let (exp, iat) = check_lifetime(policy, facts, now)?;
    let keep_until = exp.saturating_add(leeway);
    let token = TokenUse::new(issuer, jti, iat, keep_until, now);
    record_once(store, token, Error::Replayed, Error::PossiblyReplayed).await
}

/// Records `token` in `store`, which says atomically whether it was seen:
/// `Ok` the first time, else `replayed`, or `possibly_replayed` when it
/// predates the records (a token's `jti`, a DPoP proof's).
pub(crate) async fn record_once(
    store: &dyn ReplayStore,
    token: TokenUse<'_>,
    replayed: Error,
    possibly_replayed: Error,
) -> Result<(), Error> {
    match crate::observe::store_call("replay", store.record_use(token)).await? {
        UseOutcome::First => Ok(()),
        UseOutcome::AlreadyUsed => Err(replayed),
        UseOutcome::IssuedBeforeRecords => Err(possibly_replayed),
    }
}
