//! [`ValidatorBuilder`]: everything a validator is configured with, checked
//! once by [`ValidatorBuilder::build`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{Inner, Issuers, Validator, warn_unprotected_single_use};
use crate::build_error::BuildError;
use crate::cache::TokenCache;
use crate::clock::{Clock, SystemClock};
use crate::dpop::Dpop;
use crate::issuer::{Issuer, TrustedIssuer};
use crate::parse::jws::{DEFAULT_MAX_TOKEN_BYTES, HeaderCache};
use crate::refusal::Challenge;
use crate::request::TokenLocations;
use crate::sharing::TokenSharing;
use crate::store::{MemoryReplayStore, MemoryRevocationStore, ReplayStore, RevocationStore};
use crate::tenants::{TenantResolver, Tenants};
use crate::verdict::{DEFAULT_VERDICT_QUEUE, Verdict, VerdictHook, VerdictSink};

/// The smallest and largest token-size limits [`ValidatorBuilder::max_token_bytes`] accepts.
pub const TOKEN_SIZE_LIMITS: std::ops::RangeInclusive<usize> = 256..=1024 * 1024;

/// Builds a [`Validator`]; see [`Validator::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ValidatorBuilder {
    issuers: Vec<Issuer>,
    locations: TokenLocations,
    max_token_bytes: usize,
    clock: Arc<dyn Clock>,
    challenge: Challenge,
    resource_metadata: Option<String>,
    replays: Option<Arc<dyn ReplayStore>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    dpop: Option<Dpop>,
    cache: Option<TokenCache>,
    sharing: Option<TokenSharing>,
    tenants: Option<Tenants>,
    verdict_hook: Option<VerdictHook>,
    verdict_queue: usize,
}

impl Default for ValidatorBuilder {
    /// The secure defaults: header tokens only, 8 KiB limit, system clock,
    /// realm `tokengate`, in-memory stores.
    fn default() -> Self {
        ValidatorBuilder {
            issuers: Vec::new(),
            locations: TokenLocations::default(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            clock: Arc::new(SystemClock),
            challenge: Challenge::default(),
            resource_metadata: None,
            replays: None,
            revocations: None,
            dpop: None,
            cache: Some(TokenCache::new()),
            sharing: None,
            tenants: None,
            verdict_hook: None,
            verdict_queue: DEFAULT_VERDICT_QUEUE,
        }
    }
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
        let realm = Challenge::with_realm(realm);
        self.challenge = match self.resource_metadata.clone() {
            Some(url) => realm.resource_metadata(url),
            None => realm,
        };
        self
    }

    /// Names the resource's RFC 9728 metadata document (its URL, e.g.
    /// `https://api.example.com/.well-known/oauth-protected-resource`) in
    /// every challenge of a 401 (`resource_metadata=".."`, RFC 9728 §5.1), so
    /// that a client without a token learns where to get one. Serve the
    /// document itself with [`metadata::ResourceMetadata`](crate::metadata::ResourceMetadata).
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.resource_metadata = Some(url.clone());
        self.challenge = self.challenge.resource_metadata(url);
        self
    }

    /// Where single-use records live (default: a [`MemoryReplayStore`] of
    /// this process, **without** restart protection: after a restart, a
    /// single-use token used before it is accepted once more until it
    /// expires; a warning is logged when single use first runs on it). Give
    /// validators of several processes one shared store (`tokengate-redis`)
    /// so that a token is accepted once across all of them, or a
    /// [`MemoryReplayStore::records_since`] store to close the restart gap.
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

    /// Turns on DPoP (RFC 9449): tokens bound to a key (`cnf.jkt`) are
    /// accepted only under the `DPoP` scheme with a proof of that key, and
    /// every 401 also challenges with `DPoP algs=".."`. Each issuer's policy
    /// is [`Dpop::policy`] unless it sets its own ([`Issuer::dpop`]). Proofs
    /// are remembered in the replay store: share it across a fleet.
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// The verified-token cache (default: on, [`TokenCache::new`]); `None`
    /// turns it off. A token presented again skips parsing, the key, the
    /// signature and the claim rules; expiry, revocation, DPoP, single use
    /// and scopes are checked on every request. See [`TokenCache`] for what
    /// it keeps and for how long.
    pub fn token_cache(mut self, cache: Option<TokenCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Counts the distinct clients that present each token, in the replay
    /// store, and reports or refuses a token presented by more of them than
    /// allowed; see [`TokenSharing`]. Off by default.
    pub fn token_sharing(mut self, sharing: TokenSharing) -> Self {
        self.sharing = Some(sharing);
        self
    }

    /// Also trusts issuers by a rule, resolved when their first token
    /// arrives (multi-tenant APIs); see [`Tenants`]. Listed issuers are
    /// matched first.
    pub fn tenants(mut self, tenants: Tenants) -> Self {
        self.tenants = Some(tenants);
        self
    }

    /// Hands every validation's [`Verdict`] to `hook` — an audit log, anomaly
    /// detection — on a thread of its own, off the request's critical path:
    /// verdicts wait in a bounded queue (see
    /// [`verdict_queue`](Self::verdict_queue)), and when it is full they are
    /// dropped, never waited for ([`Validator::verdicts_dropped`]).
    ///
    /// ```
    /// # use tokengate_core::{Algorithm, Issuer, Key, KeySet, Validator};
    /// # fn demo() -> Result<(), tokengate_core::BuildError> {
    /// # let issuer = Issuer::new("https://auth.example.com/").audience("api")
    /// #     .algorithms([Algorithm::HS256]).keys(KeySet::new([Key::hmac_secret([7; 32]).unwrap()]));
    /// let validator = Validator::builder()
    ///     .issuer(issuer)
    ///     .on_verdict(|verdict| match &verdict.outcome {
    ///         Ok(()) => println!("accepted {} for {:?}", verdict.token_hash, verdict.subject),
    ///         Err(error) => println!("refused {}: {}", verdict.token_hash, error.cause()),
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_verdict(mut self, hook: impl Fn(&Verdict) + Send + Sync + 'static) -> Self {
        self.verdict_hook = Some(VerdictHook(Arc::new(hook)));
        self
    }

    /// How many verdicts may wait for the hook (default
    /// [`DEFAULT_VERDICT_QUEUE`]).
    pub fn verdict_queue(mut self, capacity: usize) -> Self {
        self.verdict_queue = capacity;
        self
    }

    /// Checks the configuration and builds the validator.
    pub fn build(self) -> Result<Validator, BuildError> {
        if self.issuers.is_empty() && self.tenants.is_none() {
            return Err(BuildError::NoIssuer);
        }
        if !TOKEN_SIZE_LIMITS.contains(&self.max_token_bytes) {
            return Err(BuildError::TokenSizeLimit);
        }
        if let Some(problem) = self.locations.problem() {
            return Err(BuildError::TokenLocation(problem));
        }
        let mut issuers = resolve(self.issuers)?;
        if let Some(tenants) = self.tenants {
            if issuers.list.iter().any(|issuer| issuer.name().is_none()) {
                return Err(BuildError::AnyIssuerNotAlone);
            }
            issuers.tenants = Some(TenantResolver::new(tenants)?);
        }
        let verdicts = match self.verdict_hook {
            None => None,
            Some(_) if self.verdict_queue == 0 => {
                return Err(BuildError::VerdictHook("the queue needs room for at least one verdict".into()));
            }
            Some(hook) => Some(
                VerdictSink::start(hook, self.verdict_queue)
                    .map_err(|error| BuildError::VerdictHook(format!("cannot start its thread: {error}")))?,
            ),
        };
        let dpop = self.dpop.map(Dpop::checked).transpose().map_err(BuildError::InvalidDpop)?;
        let challenge = match &dpop {
            Some(dpop) => self.challenge.dpop(dpop.algs()),
            None => self.challenge,
        };
        // The default store vouches for uses since this process began only on
        // request (`MemoryReplayStore::records_since`): that protection refuses
        // every single-use token issued before each start, and DPoP proofs
        // made just before it. Without it, a restart forgets — said loudly.
        let replays = self.replays.unwrap_or_else(|| Arc::new(MemoryReplayStore::new()));
        let sharing = self.sharing.map(|sharing| sharing.checked(&*replays, self.locations)).transpose()?;
        let unprotected = replays.may_forget_uses();
        if unprotected && issuers.list.iter().any(|issuer| issuer.single_use().is_some()) {
            warn_unprotected_single_use();
        }
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers,
                locations: self.locations,
                max_token_bytes: self.max_token_bytes,
                headers: HeaderCache::new(),
                clock: self.clock,
                challenge,
                replays,
                revocations: self.revocations.unwrap_or_else(|| Arc::new(MemoryRevocationStore::new())),
                dpop,
                cache: self.cache,
                sharing,
                verdicts,
                warn_unprotected: AtomicBool::new(unprotected),
            }),
        })
    }
}

/// Checks every issuer and indexes them by name (one hash lookup per token,
/// however many issuers are trusted).
fn resolve(configured: Vec<Issuer>) -> Result<Issuers, BuildError> {
    let count = configured.len();
    let mut list = Vec::with_capacity(count);
    let mut by_name = HashMap::with_capacity(count);
    for issuer in configured {
        let issuer = TrustedIssuer::resolve(issuer)?;
        match issuer.name() {
            None if count > 1 => return Err(BuildError::AnyIssuerNotAlone),
            Some(name) if by_name.insert(name.to_owned(), list.len()).is_some() => {
                return Err(BuildError::DuplicateIssuer(name.to_owned()));
            }
            _ => {}
        }
        list.push(issuer);
    }
    let mut introspecting = list.iter().enumerate().filter(|(_, issuer)| issuer.introspector().is_some());
    let first = introspecting.next().map(|(index, _)| index);
    if introspecting.next().is_some() {
        return Err(BuildError::SeveralIntrospectingIssuers);
    }
    Ok(Issuers { list, by_name, introspecting: first, tenants: None })
}
