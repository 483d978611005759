//! The validator: one per service, immutable, cheap to clone. This module
//! holds the validation path; the builder, and the revocation API, live
//! beside it.

mod builder;
mod revoke;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use self::builder::{TOKEN_SIZE_LIMITS, ValidatorBuilder};
pub use self::revoke::{Revoke, RevokeError};
use crate::algorithm::Algorithm;
use crate::clock::Clock;
use crate::dpop::{Dpop, DpopProblem};
use crate::error::Error;
use crate::error::TokenProblem;
use crate::introspection::Introspection;
use crate::issuer::{Origin, TrustedIssuer};
use crate::keys::{KeySet, KeySource, RefreshReason};
use crate::parse::claims::RawClaims;
use crate::parse::jws;
use crate::refusal::{Challenge, Refusal};
use crate::request::{Presentation, Presented, RequestParts, Scheme, TokenLocations, extract_token};
use crate::store::{
    ReplayStore, RevocationStore, SingleUse, TokenRef, TokenUse, UseOutcome, check_lifetime, spend,
};
use crate::verified::{TokenFacts, Verified};

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

pub(super) struct Inner {
    issuers: Issuers,
    locations: TokenLocations,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    challenge: Challenge,
    replays: Arc<dyn ReplayStore>,
    revocations: Arc<dyn RevocationStore>,
    dpop: Option<Dpop>,
    /// Whether the route-level warning about an unprotected replay store is still due.
    warn_unprotected: AtomicBool,
}

/// The trusted issuers, and an index of them by name.
pub(super) struct Issuers {
    list: Vec<TrustedIssuer>,
    by_name: HashMap<String, usize>,
    /// The issuer that introspects opaque tokens, if any.
    introspecting: Option<usize>,
}

impl Issuers {
    /// The sole [`Issuer::any_issuer`](crate::Issuer::any_issuer), if that
    /// is how this validator is configured.
    fn any(&self) -> Option<&TrustedIssuer> {
        match &self.list[..] {
            [only] if only.name().is_none() => Some(only),
            _ => None,
        }
    }

    /// The issuer whose opaque tokens are introspected (the only one with an
    /// introspection source; the builder allows one).
    fn introspecting(&self) -> Option<&TrustedIssuer> {
        self.introspecting.map(|index| &self.list[index])
    }

    /// The issuer trusted under exactly this name.
    fn named(&self, name: &str) -> Option<&TrustedIssuer> {
        self.by_name.get(name).map(|&index| &self.list[index])
    }

    /// The issuer, when only one is trusted.
    fn only(&self) -> Option<&TrustedIssuer> {
        match &self.list[..] {
            [only] => Some(only),
            _ => None,
        }
    }

    /// The issuer whose rules apply to a token with this `iss`.
    fn for_token(&self, iss: Option<&str>) -> Result<&TrustedIssuer, Error> {
        if let Some(any) = self.any() {
            return Ok(any);
        }
        let iss = iss.ok_or(Error::MissingClaim(Cow::Borrowed("iss")))?;
        self.named(iss).ok_or(Error::UntrustedIssuer)
    }
}

impl Validator {
    /// A builder with the secure defaults: header tokens only, 8 KiB limit,
    /// system clock, realm `tokengate`.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder::default()
    }

    /// Finds the request's token (RFC 6750 §2; with DPoP on, also the `DPoP`
    /// scheme and its proof, RFC 9449 §7) and validates it.
    ///
    /// A request without a token is refused [`Error::MissingToken`]; see
    /// [`Validator::validate_request_optional`] for routes that allow anonymous access.
    pub async fn validate_request<C, R>(&self, request: &R) -> Result<Verified<C>, Error>
    where
        C: DeserializeOwned,
        R: RequestParts + ?Sized,
    {
        let presentation = self.presentation(request)?;
        self.validate_presentation(&presentation).await
    }

    /// Like [`Validator::validate_request`], but a request presenting no token
    /// at all is `Ok(None)`. A request presenting a bad token is still refused.
    pub async fn validate_request_optional<C, R>(&self, request: &R) -> Result<Option<Verified<C>>, Error>
    where
        C: DeserializeOwned,
        R: RequestParts + ?Sized,
    {
        match self.presentation(request) {
            Ok(presentation) => self.validate_presentation(&presentation).await.map(Some),
            Err(Error::MissingToken) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The request's bearer token, per RFC 6750 and the configured locations.
    pub fn extract_token<'r, R: RequestParts + ?Sized>(&self, request: &'r R) -> Result<Cow<'r, str>, Error> {
        extract_token(request, self.inner.locations)
    }

    /// What the request presents — the token, its scheme, and, with DPoP on,
    /// what the proof check needs of the request — owned, to validate later
    /// with [`Validator::validate_presentation`] (as the adapters do).
    pub fn presentation<R: RequestParts + ?Sized>(&self, request: &R) -> Result<Presentation, Error> {
        Presentation::from_request(request, self.inner.locations, self.inner.dpop.is_some())
    }

    /// Validates a presentation ([`Validator::presentation`], or made with
    /// [`Presentation::bearer`] / [`Presentation::dpop`]).
    pub async fn validate_presentation<C: DeserializeOwned>(
        &self,
        presentation: &Presentation,
    ) -> Result<Verified<C>, Error> {
        let (facts, claims) = self.verify(presentation.presented()).await?;
        Ok(Verified::new(facts, claims))
    }

    /// Validates a token obtained some other way (a WebSocket sub-protocol,
    /// a gRPC metadata entry, …), as a bearer token.
    pub async fn validate_token<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, Error> {
        let (facts, claims) = self.verify(Presented::bearer(token)).await?;
        Ok(Verified::new(facts, claims))
    }

    /// Validates `token` and spends it under `policy`: the route-level
    /// single use in one call ([`Validator::validate_token`], then
    /// [`Validator::use_once`]).
    pub async fn validate_token_once<C: DeserializeOwned>(
        &self,
        token: &str,
        policy: &SingleUse,
    ) -> Result<Verified<C>, Error> {
        let (mut facts, claims) = self.verify(Presented::bearer(token)).await?;
        self.spend(&facts, policy).await?;
        facts.used_once = true;
        Ok(Verified::new(facts, claims))
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
        self.spend(verified.facts(), policy).await
    }

    /// The route-level single use of a verified token.
    async fn spend(&self, facts: &TokenFacts, policy: &SingleUse) -> Result<(), Error> {
        let inner = &*self.inner;
        let issuer = inner.issuers.for_token(facts.issuer.as_deref())?;
        let now = inner.clock.now();
        if facts.used_once {
            // Spent by the issuer's own policy; the route's lifetime cap still applies.
            return check_lifetime(policy, facts, now).map(drop);
        }
        if inner.warn_unprotected.swap(false, Ordering::Relaxed) {
            warn_unprotected_single_use();
        }
        let leeway = issuer.leeway().as_secs();
        spend(&*inner.replays, policy, issuer.record_name(), leeway, facts, now).await
    }

    /// Every check, in order: the token's claims (a JWT verified locally, or
    /// an introspection answer), the claims type, the DPoP binding and
    /// proof, revocation, then the records — the proof's `jti`, the issuer's
    /// own single use — last, so that no other refusal spends a proof or a token.
    async fn verify<C: DeserializeOwned>(&self, presented: Presented<'_>) -> Result<(TokenFacts, C), Error> {
        let inner = &*self.inner;
        let (issuer, mut facts, typed) =
            match inner.issuers.introspecting().filter(|_| !jws::is_compact(presented.token)) {
                Some(issuer) => self.introspected(issuer, presented.token).await?,
                None => self.local(presented.token).await?,
            };
        let now = inner.clock.now();
        let proof = match &inner.dpop {
            Some(dpop) => {
                let policy = presented.policy.or(issuer.dpop()).unwrap_or(dpop.default_policy());
                dpop.bind(policy, &presented, facts.bound_to.as_deref(), now)?
            }
            None => None,
        };

        let iss = issuer.record_name();
        let revocable =
            TokenRef::new(iss, facts.token_id.as_deref(), facts.subject.as_deref(), facts.issued_at, now);
        if inner.revocations.is_revoked(revocable).await? {
            return Err(Error::Revoked);
        }
        if let (Some(proof), Some(dpop)) = (&proof, &inner.dpop) {
            let keep_until = dpop.proof_kept_until(proof);
            let record = TokenUse::dpop_proof(&proof.thumbprint, &proof.jti, proof.iat, keep_until, now);
            match inner.replays.record_use(record).await? {
                UseOutcome::First => facts.proven = true,
                UseOutcome::AlreadyUsed => return Err(Error::InvalidDpopProof(DpopProblem::Replayed)),
                UseOutcome::IssuedBeforeRecords => {
                    return Err(Error::InvalidDpopProof(DpopProblem::PossiblyReplayed));
                }
            }
        }
        if let Some(policy) = issuer.single_use() {
            spend(&*inner.replays, policy, iss, issuer.leeway().as_secs(), &facts, now).await?;
            facts.used_once = true;
        }
        Ok((facts, typed))
    }

    /// A JWT, verified here: parse, issuer, algorithm and `typ`, key,
    /// signature, claims (or, for an issuer whose JWTs are introspected, the
    /// introspection answer).
    async fn local<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(&TrustedIssuer, TokenFacts, C), Error> {
        let inner = &*self.inner;
        let jws = jws::parse(token, inner.max_token_bytes)?;
        let claims = RawClaims::parse(&jws.payload)?;
        let issuer = inner.issuers.for_token(claims.string("iss")?.as_deref())?;
        let Some(keys) = issuer.keys() else { return self.introspected(issuer, token).await };

        let alg = jws.header.alg;
        if !issuer.algorithms().contains(alg) {
            return Err(Error::AlgorithmNotAllowed(alg));
        }
        if !issuer.rules().token_types.allows(jws.header.typ.as_deref()) {
            return Err(Error::UnsupportedTokenType);
        }
        let keys = keys_for(keys, alg, jws.header.kid.as_deref()).await?;
        if !keys.select(alg, jws.header.kid.as_deref())?.verify(jws.signing_input, &jws.signature) {
            return Err(Error::InvalidSignature);
        }
        let now = inner.clock.now();
        let facts =
            issuer.check_claims(&claims, now, Origin::Jwt { algorithm: alg, key_id: jws.header.kid })?;
        let typed = serde_json::from_str(&jws.payload).map_err(|_| Error::UnexpectedClaims)?;
        Ok((issuer, facts, typed))
    }

    /// A token the issuer's authorization server vouches for (RFC 7662):
    /// `active: true`, then the issuer's claim rules on its answer.
    async fn introspected<'v, C: DeserializeOwned>(
        &'v self,
        issuer: &'v TrustedIssuer,
        token: &str,
    ) -> Result<(&'v TrustedIssuer, TokenFacts, C), Error> {
        let introspector = issuer.introspector().ok_or(Error::MalformedToken(TokenProblem::NotCompact))?;
        if token.len() > self.inner.max_token_bytes {
            return Err(Error::TokenTooLarge { limit: self.inner.max_token_bytes });
        }
        let unavailable = |retry_after| Error::IntrospectionUnavailable { retry_after };
        let answer = introspector.introspect(token).await.map_err(|u| unavailable(u.retry_after))?;
        let Introspection::Active(json) = answer else { return Err(Error::InactiveToken) };
        // An answer that is not a strict JSON object with `"active": true` is
        // garbage from the server: never a verdict on the token.
        let garbage = || unavailable(Duration::from_secs(1));
        let claims = RawClaims::parse(&json).map_err(|_| garbage())?;
        if claims.view().raw("active") != Some("true") {
            return Err(garbage());
        }
        let now = self.inner.clock.now();
        let facts = issuer.check_claims(&claims, now, Origin::Introspection)?;
        let typed = serde_json::from_str(&json).map_err(|_| Error::UnexpectedClaims)?;
        Ok((issuer, facts, typed))
    }

    /// The complete HTTP answer (status, `WWW-Authenticate`, body) to
    /// `error`, for a request presenting a `Bearer` token (or none).
    pub fn refusal(&self, error: &Error) -> Refusal {
        Refusal::new(error, &self.inner.challenge)
    }

    /// The complete HTTP answer to `error`, for a request presenting its
    /// token with `scheme` (with DPoP on, the error's attributes go on the
    /// challenge of that scheme).
    pub fn refusal_to(&self, error: &Error, scheme: Scheme) -> Refusal {
        Refusal::for_scheme(error, &self.inner.challenge, scheme)
    }

    /// DPoP, when configured.
    pub fn dpop(&self) -> Option<&Dpop> {
        self.inner.dpop.as_ref()
    }

    /// Where tokens are accepted besides the `Authorization` header.
    pub fn token_locations(&self) -> TokenLocations {
        self.inner.locations
    }

    /// How challenges are rendered.
    pub fn challenge(&self) -> &Challenge {
        &self.inner.challenge
    }

    /// The trusted issuers.
    pub fn issuers(&self) -> &[TrustedIssuer] {
        &self.inner.issuers.list
    }
}

/// Single use on a store that forgets uses when the process restarts: said
/// once, loudly, since the replay it allows leaves no trace.
pub(super) fn warn_unprotected_single_use() {
    tracing::warn!(
        "single use runs on an in-memory replay store without restart protection: after this process \
         restarts, a single-use token used before the restart is accepted once more until it expires; \
         use MemoryReplayStore::records_since, or a store shared by the fleet (tokengate-redis)"
    );
}

/// The issuer's keys able to verify `alg` (and `kid`): the current set, or,
/// when it lacks them, the set after the one refresh a token may cause.
async fn keys_for(source: &dyn KeySource, alg: Algorithm, kid: Option<&str>) -> Result<Arc<KeySet>, Error> {
    let keys = match source.current() {
        Some(keys) => keys,
        None => source
            .refresh(RefreshReason::NoKeysYet)
            .await
            .map_err(|unavailable| Error::KeysUnavailable { retry_after: unavailable.retry_after })?,
    };
    if !matches!(keys.select(alg, kid), Err(Error::NoMatchingKey)) {
        return Ok(keys);
    }
    // The source rate-limits this refresh. Its failure means "unknown key",
    // unless the keys went stale meanwhile.
    source.refresh(RefreshReason::UnknownKey { kid }).await.map_err(|unavailable| match source.current() {
        Some(_) => Error::NoMatchingKey,
        None => Error::KeysUnavailable { retry_after: unavailable.retry_after },
    })
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("issuers", &self.inner.issuers.list)
            .field("locations", &self.inner.locations)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .field("clock", &self.inner.clock)
            .field("challenge", &self.inner.challenge)
            .field("replay_store", &self.inner.replays)
            .field("revocation_store", &self.inner.revocations)
            .field("dpop", &self.inner.dpop)
            .finish()
    }
}
