//! The validator: one per service, immutable, cheap to clone. This module
//! holds the validation path; the builder, and the revocation API, live
//! beside it.

mod builder;
mod revoke;
mod verify;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::DeserializeOwned;

pub use self::builder::{TOKEN_SIZE_LIMITS, ValidatorBuilder};
pub use self::revoke::{Revoke, RevokeError};
use crate::cache::TokenCache;
use crate::clock::Clock;
use crate::dpop::Dpop;
use crate::error::Error;
use crate::issuer::TrustedIssuer;
use crate::keys::RefreshReason;
use crate::parse::jws::HeaderCache;
use crate::refusal::{Challenge, Refusal};
use crate::request::{Presentation, Presented, RequestParts, Scheme, TokenLocations, extract_token};
use crate::sharing::TokenSharing;
use crate::store::{ReplayStore, RevocationStore, SingleUse, check_lifetime, spend};
use crate::tenants::TenantResolver;
use crate::verdict::VerdictSink;
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
    /// The JOSE headers of recent tokens, parsed.
    headers: HeaderCache,
    clock: Arc<dyn Clock>,
    challenge: Challenge,
    replays: Arc<dyn ReplayStore>,
    revocations: Arc<dyn RevocationStore>,
    dpop: Option<Dpop>,
    cache: Option<TokenCache>,
    sharing: Option<TokenSharing>,
    /// Where verdicts go, when a hook is registered.
    verdicts: Option<VerdictSink>,
    /// Whether the route-level warning about an unprotected replay store is still due.
    warn_unprotected: AtomicBool,
}

/// The trusted issuers, and an index of them by name.
pub(super) struct Issuers {
    list: Vec<TrustedIssuer>,
    by_name: HashMap<String, usize>,
    /// The issuer that introspects opaque tokens, if any.
    introspecting: Option<usize>,
    /// Issuers trusted by a rule, resolved on demand.
    tenants: Option<TenantResolver>,
}

/// The issuer a token resolved to: one of the validator's list, or a tenant
/// resolved on demand.
pub(super) enum IssuerRef<'a> {
    Listed(usize, &'a TrustedIssuer),
    Tenant(Arc<TrustedIssuer>),
}

impl std::ops::Deref for IssuerRef<'_> {
    type Target = TrustedIssuer;
    fn deref(&self) -> &TrustedIssuer {
        match self {
            IssuerRef::Listed(_, issuer) => issuer,
            IssuerRef::Tenant(issuer) => issuer,
        }
    }
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
    fn introspecting(&self) -> Option<(usize, &TrustedIssuer)> {
        self.introspecting.map(|index| (index, &self.list[index]))
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

    /// The issuer whose rules apply to a token with this `iss`: listed, or a
    /// tenant admitted now.
    fn for_token(&self, iss: Option<&str>, now: u64) -> Result<IssuerRef<'_>, Error> {
        if let Some(any) = self.any() {
            return Ok(IssuerRef::Listed(0, any));
        }
        let iss = iss.ok_or(Error::MissingClaim(Cow::Borrowed("iss")))?;
        if let Some(&index) = self.by_name.get(iss) {
            return Ok(IssuerRef::Listed(index, &self.list[index]));
        }
        match &self.tenants {
            Some(tenants) => tenants.resolve(iss, now).map(IssuerRef::Tenant),
            None => Err(Error::UntrustedIssuer),
        }
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
        C: DeserializeOwned + Send + Sync + 'static,
        R: RequestParts + ?Sized,
    {
        let presentation = self.presentation(request)?;
        self.validate_presentation(&presentation).await
    }

    /// Like [`Validator::validate_request`], but a request presenting no token
    /// at all is `Ok(None)`. A request presenting a bad token is still refused.
    pub async fn validate_request_optional<C, R>(&self, request: &R) -> Result<Option<Verified<C>>, Error>
    where
        C: DeserializeOwned + Send + Sync + 'static,
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
        let client_header = self.inner.sharing.and_then(|sharing| sharing.header());
        Presentation::from_request(request, self.inner.locations, self.inner.dpop.is_some(), client_header)
    }

    /// Validates a presentation ([`Validator::presentation`], or made with
    /// [`Presentation::bearer`] / [`Presentation::dpop`]).
    pub async fn validate_presentation<C: DeserializeOwned + Send + Sync + 'static>(
        &self,
        presentation: &Presentation,
    ) -> Result<Verified<C>, Error> {
        self.verify(presentation.presented()).await
    }

    /// Validates a token obtained some other way (a WebSocket sub-protocol,
    /// a gRPC metadata entry, …), as a bearer token.
    pub async fn validate_token<C: DeserializeOwned + Send + Sync + 'static>(
        &self,
        token: &str,
    ) -> Result<Verified<C>, Error> {
        self.verify(Presented::bearer(token)).await
    }

    /// Validates `token` and spends it under `policy`: the route-level
    /// single use in one call ([`Validator::validate_token`], then
    /// [`Validator::use_once`]).
    pub async fn validate_token_once<C: DeserializeOwned + Send + Sync + 'static>(
        &self,
        token: &str,
        policy: &SingleUse,
    ) -> Result<Verified<C>, Error> {
        let mut verified = self.verify(Presented::bearer(token)).await?;
        self.use_once(&verified, policy).await?;
        verified.presentation_mut().used_once = true;
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
        self.spend(verified.facts(), verified.is_single_use(), policy).await
    }

    /// The route-level single use of a verified token.
    async fn spend(&self, facts: &TokenFacts, already_spent: bool, policy: &SingleUse) -> Result<(), Error> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let issuer = inner.issuers.for_token(facts.issuer.as_deref(), now)?;
        if already_spent {
            // Spent by the issuer's own policy; the route's lifetime cap still applies.
            return check_lifetime(policy, facts, now).map(drop);
        }
        if inner.warn_unprotected.swap(false, Ordering::Relaxed) {
            warn_unprotected_single_use();
        }
        let leeway = issuer.leeway().as_secs();
        spend(&*inner.replays, policy, issuer.record_name(), leeway, facts, now).await
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

    /// Obtains every issuer's keys now (each key source's first fetch, or
    /// the fetch in flight), and fails with the first issuer's
    /// [`Error::KeysUnavailable`] when one cannot provide any: for services
    /// that prefer to fail at start-up over answering 503 until the issuer
    /// answers. Validation never needs it.
    ///
    /// ```no_run
    /// # async fn start(validator: tokengate_core::Validator) -> Result<(), tokengate_core::Error> {
    /// validator.warm_up().await?; // before listening
    /// # Ok(()) }
    /// ```
    pub async fn warm_up(&self) -> Result<(), Error> {
        for issuer in &self.inner.issuers.list {
            let Some(source) = issuer.keys() else { continue };
            if source.current().is_none() {
                source
                    .refresh(RefreshReason::NoKeysYet)
                    .await
                    .map_err(|unavailable| Error::KeysUnavailable { retry_after: unavailable.retry_after })?;
            }
        }
        Ok(())
    }

    /// How many tenants (issuers trusted by a rule) are held now; `None`
    /// without [`ValidatorBuilder::tenants`].
    pub fn tenants_held(&self) -> Option<u64> {
        self.inner.issuers.tenants.as_ref().map(TenantResolver::held)
    }

    /// How many verdicts were dropped because the hook's queue was full
    /// ([`ValidatorBuilder::on_verdict`]); 0 without a hook.
    pub fn verdicts_dropped(&self) -> u64 {
        self.inner.verdicts.as_ref().map_or(0, VerdictSink::dropped)
    }

    /// The verified-token cache, when on.
    pub fn token_cache(&self) -> Option<&TokenCache> {
        self.inner.cache.as_ref()
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
            .field("token_cache", &self.inner.cache)
            .finish()
    }
}
