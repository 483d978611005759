//! The validator: one per service, immutable, cheap to clone.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::challenge::{Challenge, Refusal};
use crate::claims::RawClaims;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::extract::{RequestParts, TokenLocations, extract_token};
use crate::issuer::{Issuer, MAX_LEEWAY};
use crate::jws::{self, DEFAULT_MAX_TOKEN_BYTES};
use crate::keys::RefreshReason;
use crate::scopes::Scopes;
use crate::store::{
    DEFAULT_REVOCATION_RETENTION, MemoryReplayStore, MemoryRevocationStore, ReplayStore, Revocation,
    RevocationStore, SingleUse, StoreError, TokenRef, TokenUse, UseOutcome,
};
use crate::verified::Verified;

/// The smallest and largest token-size limits [`ValidatorBuilder::max_token_bytes`] accepts.
pub const TOKEN_SIZE_LIMITS: std::ops::RangeInclusive<usize> = 256..=1024 * 1024;

/// A configuration the builder refuses, with what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No issuer was added.
    #[error("no issuer configured: add at least one with ValidatorBuilder::issuer")]
    NoIssuer,
    /// An issuer name is the empty string.
    #[error("an issuer name is empty; use Issuer::any_issuer() to waive the issuer check explicitly")]
    EmptyIssuer,
    /// The same issuer was added twice.
    #[error("issuer `{0}` is configured twice")]
    DuplicateIssuer(String),
    /// [`Issuer::any_issuer`] beside other issuers.
    #[error("Issuer::any_issuer() must be the only issuer of a validator")]
    AnyIssuerNotAlone,
    /// No audience and no explicit waiver.
    #[error(
        "issuer `{0}` has no audience: add one with Issuer::audience, or waive the check with Issuer::skip_audience_check"
    )]
    MissingAudience(String),
    /// An audience is the empty string.
    #[error("issuer `{0}` has an empty audience")]
    EmptyAudience(String),
    /// No algorithm allowed.
    #[error("issuer `{0}` allows no algorithm: list the ones it signs with in Issuer::algorithms")]
    NoAlgorithms(String),
    /// Symmetric and asymmetric algorithms allowed for one key source.
    #[error(
        "issuer `{0}` mixes symmetric (HS*) and asymmetric algorithms; that invites algorithm-confusion attacks"
    )]
    MixedAlgorithms(String),
    /// No keys configured.
    #[error("issuer `{0}` has no keys: use Issuer::keys or Issuer::key_source")]
    MissingKeys(String),
    /// A symmetric algorithm with a source that cannot hold secrets (a JWK Set).
    #[error(
        "issuer `{issuer}` allows {algorithm}, but its key source holds no HMAC secret (a JWK Set never provides one)"
    )]
    SymmetricWithoutSecret {
        /// The issuer.
        issuer: String,
        /// The symmetric algorithm.
        algorithm: Algorithm,
    },
    /// An allowed algorithm that no fixed key can verify.
    #[error(
        "issuer `{issuer}` allows {algorithm}, but none of its keys can verify it (wrong key type, or an HMAC secret too short)"
    )]
    NoKeyForAlgorithm {
        /// The issuer.
        issuer: String,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// Leeway above [`MAX_LEEWAY`].
    #[error("issuer `{0}` has a leeway above the 300 s maximum")]
    LeewayTooLarge(String),
    /// A token-size limit outside [`TOKEN_SIZE_LIMITS`].
    #[error("the token size limit must be between 256 bytes and 1 MiB")]
    TokenSizeLimit,
}

/// Decides whether a request's bearer token is good for this API.
///
/// Built once with [`Validator::builder`]; immutable afterwards, `Send + Sync`,
/// and cheap to clone (an `Arc` inside).
///
/// ```
/// use tokengate_core::{Algorithm, Issuer, Key, KeySet, Validator, StandardClaims};
/// # async fn demo(secret: &[u8], request: http::Request<()>) -> Result<(), Box<dyn std::error::Error>> {
/// let validator = Validator::builder()
///     .issuer(
///         Issuer::new("https://auth.example.com/")
///             .audience("https://api.example.com")
///             .algorithms([Algorithm::HS256])
///             .keys(KeySet::new([Key::hmac_secret(secret)?])),
///     )
///     .build()?;
///
/// match validator.validate_request::<StandardClaims, _>(&request).await {
///     Ok(verified) => println!("hello {:?}", verified.subject()),
///     Err(refused) => println!("{} {}", refused.status(), refused.challenge()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<Issuer>,
    locations: TokenLocations,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    challenge: Challenge,
    replays: Arc<dyn ReplayStore>,
    revocations: Arc<dyn RevocationStore>,
    revocation_retention: Duration,
}

/// Builds a [`Validator`]; see [`Validator::builder`].
#[derive(Debug)]
pub struct ValidatorBuilder {
    issuers: Vec<Issuer>,
    locations: TokenLocations,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    challenge: Challenge,
    replays: Option<Arc<dyn ReplayStore>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    revocation_retention: Duration,
}

impl ValidatorBuilder {
    /// Trusts `issuer`. Several issuers may be added; a token's `iss` picks
    /// one, and only that issuer's keys and rules apply to it.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Where tokens are accepted besides the `Authorization` header (default: nowhere).
    pub fn token_locations(mut self, locations: TokenLocations) -> Self {
        self.locations = locations;
        self
    }

    /// Refuses longer tokens before decoding anything (default 8 KiB).
    pub fn max_token_bytes(mut self, limit: usize) -> Self {
        self.max_token_bytes = limit;
        self
    }

    /// The clock `exp`, `nbf` and `iat` are compared with (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The realm named in `WWW-Authenticate` challenges (default `tokengate`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.challenge = Challenge::with_realm(realm);
        self
    }

    /// Where single-use records live (default: a [`MemoryReplayStore`] of
    /// this process, whose records begin when [`build`](ValidatorBuilder::build)
    /// runs, by the validator's clock: single-use tokens issued earlier are
    /// refused [`Error::PossiblyReplayed`]). Give validators of several processes one shared store
    /// (`tokengate-redis`) so that a token is accepted once across all of them.
    pub fn replay_store(self, store: impl ReplayStore) -> Self {
        self.shared_replay_store(Arc::new(store))
    }

    /// A replay store shared with other validators.
    pub fn shared_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replays = Some(store);
        self
    }

    /// Where revocations live (default: a [`MemoryRevocationStore`] of this
    /// process). Every validated token is checked against it; when it cannot
    /// be reached, every token is refused with 503.
    pub fn revocation_store(self, store: impl RevocationStore) -> Self {
        self.shared_revocation_store(Arc::new(store))
    }

    /// A revocation store shared with other validators.
    pub fn shared_revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// One store for both single-use records and revocations (such as
    /// `tokengate_redis::RedisStore`).
    pub fn stores<S: ReplayStore + RevocationStore>(self, store: S) -> Self {
        let store = Arc::new(store);
        self.shared_replay_store(store.clone()).shared_revocation_store(store)
    }

    /// How long a revocation is kept for an issuer with no maximum token
    /// lifetime (neither [`Issuer::max_lifetime`] nor [`Issuer::single_use`]);
    /// default [`DEFAULT_REVOCATION_RETENTION`]. It must be at least the
    /// longest lifetime of that issuer's tokens, or a long-lived revoked token
    /// is accepted again once its revocation is forgotten.
    pub fn revocation_retention(mut self, retention: Duration) -> Self {
        self.revocation_retention = retention;
        self
    }

    /// Checks the configuration and builds the validator.
    pub fn build(self) -> Result<Validator, BuildError> {
        if self.issuers.is_empty() {
            return Err(BuildError::NoIssuer);
        }
        if !TOKEN_SIZE_LIMITS.contains(&self.max_token_bytes) {
            return Err(BuildError::TokenSizeLimit);
        }
        for (index, issuer) in self.issuers.iter().enumerate() {
            check_issuer(issuer)?;
            match &issuer.name {
                None if self.issuers.len() > 1 => return Err(BuildError::AnyIssuerNotAlone),
                Some(name) if self.issuers[..index].iter().any(|i| i.name.as_ref() == Some(name)) => {
                    return Err(BuildError::DuplicateIssuer(name.clone()));
                }
                _ => {}
            }
        }
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers: self.issuers,
                locations: self.locations,
                max_token_bytes: self.max_token_bytes,
                clock: self.clock,
                challenge: self.challenge,
                // The default store vouches for uses since this process began
                // only on request (`MemoryReplayStore::records_since`): refusing
                // every older single-use token after each deploy surprises more
                // than it protects a single process.
                replays: self.replays.unwrap_or_else(|| Arc::new(MemoryReplayStore::new())),
                revocations: self.revocations.unwrap_or_else(|| Arc::new(MemoryRevocationStore::new())),
                revocation_retention: self.revocation_retention,
            }),
        })
    }
}

fn check_issuer(issuer: &Issuer) -> Result<(), BuildError> {
    if issuer.name.as_deref() == Some("") {
        return Err(BuildError::EmptyIssuer);
    }
    let name = issuer.display_name();
    if issuer.audiences.is_empty() && !issuer.audience_waived {
        return Err(BuildError::MissingAudience(name));
    }
    if issuer.audiences.iter().any(String::is_empty) {
        return Err(BuildError::EmptyAudience(name));
    }
    let algorithms = issuer.algorithms;
    if algorithms.is_empty() {
        return Err(BuildError::NoAlgorithms(name));
    }
    if algorithms.has_symmetric() && algorithms.has_asymmetric() {
        return Err(BuildError::MixedAlgorithms(name));
    }
    let Some(source) = &issuer.keys else { return Err(BuildError::MissingKeys(name)) };
    if let Some(algorithm) = algorithms.iter().find(|alg| alg.is_symmetric())
        && !source.provides_secrets()
    {
        return Err(BuildError::SymmetricWithoutSecret { issuer: name, algorithm });
    }
    if let Some(usable) = issuer.static_key_algorithms
        && let Some(algorithm) = algorithms.iter().find(|alg| !usable.contains(*alg))
    {
        return Err(BuildError::NoKeyForAlgorithm { issuer: name, algorithm });
    }
    if issuer.leeway > MAX_LEEWAY {
        return Err(BuildError::LeewayTooLarge(name));
    }
    Ok(())
}

impl Validator {
    /// A builder with the secure defaults: header tokens only, 8 KiB limit,
    /// system clock, realm `tokengate`.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder {
            issuers: Vec::new(),
            locations: TokenLocations::default(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock),
            challenge: Challenge::default(),
            replays: None,
            revocations: None,
            revocation_retention: DEFAULT_REVOCATION_RETENTION,
        }
    }

    /// Finds the request's bearer token (RFC 6750 §2) and validates it.
    ///
    /// A request without a token is refused [`Error::MissingToken`]; see
    /// [`Validator::validate_request_optional`] for routes that allow anonymous access.
    pub async fn validate_request<C, R>(&self, request: &R) -> Result<Verified<C>, Error>
    where
        C: DeserializeOwned,
        R: RequestParts + ?Sized,
    {
        let token = self.extract_token(request)?;
        self.validate_token(&token).await
    }

    /// Like [`Validator::validate_request`], but a request presenting no token
    /// at all is `Ok(None)`. A request presenting a bad token is still refused.
    pub async fn validate_request_optional<C, R>(&self, request: &R) -> Result<Option<Verified<C>>, Error>
    where
        C: DeserializeOwned,
        R: RequestParts + ?Sized,
    {
        match self.extract_token(request) {
            Ok(token) => self.validate_token(&token).await.map(Some),
            Err(Error::MissingToken) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The request's bearer token, per RFC 6750 and the configured locations.
    pub fn extract_token<'r, R: RequestParts + ?Sized>(&self, request: &'r R) -> Result<Cow<'r, str>, Error> {
        extract_token(request, self.inner.locations)
    }

    /// Validates a token obtained some other way (a WebSocket sub-protocol,
    /// a gRPC metadata entry, …).
    pub async fn validate_token<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, Error> {
        let inner = &*self.inner;
        let jws = jws::parse(token, inner.max_token_bytes)?;
        let claims = RawClaims::parse(&jws.payload)?;
        let issuer = inner.issuer_for(&claims)?;

        let alg = jws.header.alg;
        if !issuer.algorithms.contains(alg) {
            return Err(Error::AlgorithmNotAllowed(alg));
        }
        if !issuer.token_types.allows(jws.header.typ.as_deref()) {
            return Err(Error::UnsupportedTokenType);
        }

        let source = issuer.keys.as_deref().expect("the builder requires keys");
        let kid = jws.header.kid.as_deref();
        let mut keys = match source.current() {
            Some(keys) => keys,
            None => source
                .refresh(RefreshReason::NoKeysYet)
                .await
                .map_err(|unavailable| Error::KeysUnavailable { retry_after: unavailable.retry_after })?,
        };
        if let Err(Error::NoMatchingKey) = keys.select(alg, kid) {
            // The only refresh a token can cause; the source rate-limits it. Its
            // failure means "unknown key", unless the keys went stale meanwhile.
            keys = source.refresh(RefreshReason::UnknownKey { kid }).await.map_err(
                |unavailable| match source.current() {
                    Some(_) => Error::NoMatchingKey,
                    None => Error::KeysUnavailable { retry_after: unavailable.retry_after },
                },
            )?;
        }
        if !keys.select(alg, kid)?.verify(jws.signing_input, &jws.signature) {
            return Err(Error::InvalidSignature);
        }

        let now = inner.clock.now();
        let registered = issuer.check_claims(&claims, now)?;
        let typed = serde_json::from_str(&jws.payload).map_err(|_| Error::UnexpectedClaims)?;

        // Last, so that no refusal above spends a single-use token.
        let iss = registered.issuer.as_deref().unwrap_or("");
        let token = TokenRef::new(
            iss,
            registered.token_id.as_deref(),
            registered.subject.as_deref(),
            registered.issued_at,
            now,
        );
        if inner.revocations.is_revoked(token).await? {
            return Err(Error::Revoked);
        }
        let used_once = match &issuer.single_use {
            Some(policy) => {
                inner
                    .spend(
                        issuer,
                        policy,
                        iss,
                        registered.token_id.as_deref(),
                        registered.expires_at,
                        registered.issued_at,
                        now,
                    )
                    .await?;
                true
            }
            None => false,
        };
        Ok(Verified {
            claims: typed,
            scopes: registered.scopes,
            issuer: registered.issuer,
            subject: registered.subject,
            token_id: registered.token_id,
            client_id: registered.client_id,
            expires_at: registered.expires_at,
            issued_at: registered.issued_at,
            algorithm: alg,
            key_id: jws.header.kid,
            used_once,
        })
    }

    /// Validates `token` and spends it under `policy`: the route-level
    /// single use in one call ([`Validator::validate_token`], then
    /// [`Validator::use_once`]).
    pub async fn validate_token_once<C: DeserializeOwned>(
        &self,
        token: &str,
        policy: &SingleUse,
    ) -> Result<Verified<C>, Error> {
        let mut verified = self.validate_token(token).await?;
        self.use_once(&verified, policy).await?;
        verified.used_once = true;
        Ok(verified)
    }

    /// Spends a verified token under `policy`: **the** single-use check for a
    /// route, the one function every adapter calls after validation (and,
    /// usually, after the route's scope check, so that a token lacking the
    /// scope is not spent).
    ///
    /// Refuses with [`Error::MissingClaim`] without `jti` or `exp`,
    /// [`Error::LifetimeTooLong`] when the token's lifetime (`exp - iat`, or
    /// without `iat` what is left of it) exceeds the policy's maximum, [`Error::Replayed`] when the token (same `iss` and `jti`) was
    /// spent before and has not expired, [`Error::PossiblyReplayed`] when it
    /// was issued before the store's records begin, and 503
    /// ([`Error::StoreUnavailable`], [`Error::ReplayStoreFull`]) when the store
    /// cannot record it — never accepting a token it could not record.
    ///
    /// `Ok` at once when this verification already spent the token (its
    /// issuer is single-use). Calling it twice for one verification refuses
    /// the second call: the first spent the token.
    ///
    /// ```
    /// # use tokengate_core::{Error, ScopeRequirement, SingleUse, Validator, Verified};
    /// # async fn transfer(validator: &Validator, verified: &Verified) -> Result<(), Error> {
    /// verified.require(&ScopeRequirement::all_of(["transfer"]))?;
    /// validator.use_once(verified, &SingleUse::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn use_once<C>(&self, verified: &Verified<C>, policy: &SingleUse) -> Result<(), Error> {
        let inner = &*self.inner;
        let issuer = inner.issuer_named(verified.issuer())?;
        if verified.used_once {
            // Spent by the issuer's own policy; the route's lifetime cap still applies.
            let now = inner.clock.now();
            return check_lifetime(policy, verified.expires_at, verified.issued_at, now).map(drop);
        }
        let iss = verified.issuer().unwrap_or("");
        let now = inner.clock.now();
        inner
            .spend(issuer, policy, iss, verified.token_id(), verified.expires_at, verified.issued_at, now)
            .await
    }

    /// Records a revocation; from the moment this returns `Ok`, every
    /// validator sharing the [`RevocationStore`] refuses the tokens it names
    /// with [`Error::Revoked`].
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
        let issuer = match &revoke.issuer {
            Some(name) => inner
                .issuers
                .iter()
                .find(|issuer| issuer.name.as_deref() == Some(name.as_str()))
                .or_else(|| inner.any_issuer())
                .ok_or(RevokeError::UnknownIssuer)?,
            None => match &inner.issuers[..] {
                [only] => only,
                _ => return Err(RevokeError::IssuerRequired),
            },
        };
        let iss = revoke.issuer.as_deref().or(issuer.name.as_deref()).unwrap_or("");
        let now = inner.clock.now();
        let retention = issuer
            .max_lifetime
            .into_iter()
            .chain(issuer.single_use.map(|policy| policy.lifetime()))
            .min()
            .unwrap_or(inner.revocation_retention)
            .as_secs()
            .saturating_add(issuer.leeway.as_secs());
        let cutoff = revoke.cutoff.unwrap_or(now);
        let revocation = match &revoke.target {
            Target::TokenId(jti) => {
                Revocation::Token { issuer: iss, token_id: jti, keep_until: now.saturating_add(retention) }
            }
            Target::Subject(sub) => Revocation::Subject {
                issuer: iss,
                subject: sub,
                cutoff,
                keep_until: cutoff.max(now).saturating_add(retention),
            },
            Target::Issuer => Revocation::Issuer {
                issuer: iss,
                cutoff,
                keep_until: cutoff.max(now).saturating_add(retention),
            },
        };
        inner.revocations.revoke(revocation, now).await.map_err(RevokeError::Store)
    }

    /// The complete HTTP answer (status, `WWW-Authenticate`, body) to `error`.
    pub fn refusal(&self, error: &Error) -> Refusal {
        Refusal::new(error, &self.inner.challenge)
    }

    /// How challenges are rendered.
    pub fn challenge(&self) -> &Challenge {
        &self.inner.challenge
    }

    /// The trusted issuers.
    pub fn issuers(&self) -> &[Issuer] {
        &self.inner.issuers
    }
}

/// What to revoke, for [`Validator::revoke`].
///
/// Revocations are kept for the longest lifetime a token of the issuer may
/// have (its [`Issuer::max_lifetime`] or single-use lifetime, else
/// [`ValidatorBuilder::revocation_retention`]) plus its leeway: by then every
/// token they name has expired anyway.
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

    /// Every token of `subject` (`sub`) issued at or before now ("log out
    /// everywhere"); tokens issued later are accepted. Tokens without `iat`
    /// cannot show they are later, so they are refused too.
    pub fn subject(subject: impl Into<String>) -> Self {
        Revoke { target: Target::Subject(subject.into()), issuer: None, cutoff: None }
    }

    /// Every token of the issuer issued at or before now (after a signing-key
    /// compromise, say); tokens without `iat` are refused too.
    pub fn all_tokens() -> Self {
        Revoke { target: Target::Issuer, issuer: None, cutoff: None }
    }

    /// The cut-off for [`Revoke::subject`] and [`Revoke::all_tokens`]: tokens
    /// with `iat` at or before `cutoff` (seconds since the epoch) are refused
    /// (default: now). Ignored for [`Revoke::token_id`].
    pub fn issued_at_or_before(mut self, cutoff: u64) -> Self {
        self.cutoff = Some(cutoff);
        self
    }

    /// The issuer whose token(s) are meant (its `iss`, exactly): required
    /// when the validator trusts several (a `jti` or `sub` is only unique
    /// within its issuer), and with [`Issuer::any_issuer`] whenever the
    /// tokens carry an `iss`.
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

/// The single-use lifetime rule: `exp` required; `exp - iat` capped, or,
/// without `iat`, what is left of the token's life (`exp - now`), so that a
/// record never outlives the cap either way. Returns the earliest moment the
/// token can have been issued (`iat`, else `exp` minus the cap), which the
/// replay store compares with the moment its records begin.
fn check_lifetime(
    policy: &SingleUse,
    exp: Option<u64>,
    iat: Option<u64>,
    now: u64,
) -> Result<(u64, u64), Error> {
    let exp = exp.ok_or(Error::MissingClaim(Cow::Borrowed("exp")))?;
    let cap = policy.lifetime().as_secs();
    if exp.saturating_sub(iat.unwrap_or(now)) > cap {
        return Err(Error::LifetimeTooLong);
    }
    Ok((exp, iat.unwrap_or(exp.saturating_sub(cap))))
}

impl Inner {
    /// Records a single use, atomically, in the replay store.
    #[allow(clippy::too_many_arguments)]
    async fn spend(
        &self,
        issuer: &Issuer,
        policy: &SingleUse,
        iss: &str,
        jti: Option<&str>,
        exp: Option<u64>,
        iat: Option<u64>,
        now: u64,
    ) -> Result<(), Error> {
        let jti = jti.ok_or(Error::MissingClaim(Cow::Borrowed("jti")))?;
        let (exp, iat) = check_lifetime(policy, exp, iat, now)?;
        let keep_until = exp.saturating_add(issuer.leeway.as_secs());
        match self.replays.record_use(TokenUse::new(iss, jti, iat, keep_until, now)).await? {
            UseOutcome::First => Ok(()),
            UseOutcome::AlreadyUsed => Err(Error::Replayed),
            UseOutcome::IssuedBeforeRecords => Err(Error::PossiblyReplayed),
        }
    }

    /// The sole [`Issuer::any_issuer`], if that is how this validator is configured.
    fn any_issuer(&self) -> Option<&Issuer> {
        match &self.issuers[..] {
            [only] if only.name.is_none() => Some(only),
            _ => None,
        }
    }

    /// The issuer configuration behind a verified token's `iss`.
    fn issuer_named(&self, iss: Option<&str>) -> Result<&Issuer, Error> {
        self.any_issuer()
            .or_else(|| {
                self.issuers.iter().find(|issuer| issuer.name.is_some() && issuer.name.as_deref() == iss)
            })
            .ok_or(Error::UntrustedIssuer)
    }

    /// The issuer a token names. Before the signature is checked, only `iss`
    /// is read from the claims.
    fn issuer_for(&self, claims: &RawClaims<'_>) -> Result<&Issuer, Error> {
        let iss = claims.string("iss")?;
        if let [only] = &self.issuers[..]
            && only.name.is_none()
        {
            return Ok(only);
        }
        let iss = iss.ok_or(Error::MissingClaim(Cow::Borrowed("iss")))?;
        self.issuers.iter().find(|issuer| issuer.name.as_deref() == Some(&*iss)).ok_or(Error::UntrustedIssuer)
    }
}

/// The registered claims, read and checked.
pub(crate) struct Registered {
    pub(crate) scopes: Scopes,
    pub(crate) issuer: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) token_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) expires_at: Option<u64>,
    pub(crate) issued_at: Option<u64>,
}

impl Issuer {
    /// Every claims rule of this issuer, in a fixed order: time, audience,
    /// required claims, types of the other registered claims, custom checks.
    pub(crate) fn check_claims(&self, claims: &RawClaims<'_>, now: u64) -> Result<Registered, Error> {
        let missing = |name: &'static str| Error::MissingClaim(Cow::Borrowed(name));
        let leeway = self.leeway.as_secs();
        let exp = claims.numeric_date("exp")?;
        let nbf = claims.numeric_date("nbf")?;
        let iat = claims.numeric_date("iat")?;

        match exp {
            None if self.require_exp || self.max_lifetime.is_some() => return Err(missing("exp")),
            Some(exp) if now >= exp.saturating_add(leeway) => return Err(Error::Expired),
            _ => {}
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(Error::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(Error::IssuedInFuture);
        }
        if let Some(max_age) = self.max_age {
            let iat = iat.ok_or_else(|| missing("iat"))?;
            if now.saturating_sub(iat) > max_age.as_secs().saturating_add(leeway) {
                return Err(Error::TooOld);
            }
        }
        if let Some(max_lifetime) = self.max_lifetime {
            let (exp, iat) = (exp.ok_or_else(|| missing("exp"))?, iat.ok_or_else(|| missing("iat"))?);
            if exp.saturating_sub(iat) > max_lifetime.as_secs() {
                return Err(Error::LifetimeTooLong);
            }
        }

        // The type of `aud` is checked even when the audience check is waived.
        let audiences = claims.audiences()?;
        if !self.audience_waived {
            let audiences = audiences.ok_or_else(|| missing("aud"))?;
            if !audiences.iter().any(|aud| self.audiences.iter().any(|ours| ours == aud)) {
                return Err(Error::WrongAudience);
            }
        }
        if let Some(name) = self.required_claims.iter().find(|name| !claims.contains(name)) {
            return Err(Error::MissingClaim(Cow::Owned(name.clone())));
        }
        let registered = Registered {
            scopes: claims.scopes()?,
            issuer: claims.string("iss")?.map(Cow::into_owned),
            subject: claims.string("sub")?.map(Cow::into_owned),
            token_id: claims.string("jti")?.map(Cow::into_owned),
            client_id: claims.string("client_id")?.map(Cow::into_owned),
            expires_at: exp,
            issued_at: iat,
        };
        let view = claims.view();
        for check in &self.checks {
            check(&view).map_err(Error::ClaimCheckFailed)?;
        }
        Ok(registered)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("issuers", &self.inner.issuers)
            .field("locations", &self.inner.locations)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .field("clock", &self.inner.clock)
            .field("challenge", &self.inner.challenge)
            .field("replay_store", &self.inner.replays)
            .field("revocation_store", &self.inner.revocations)
            .finish()
    }
}
