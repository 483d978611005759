//! Single-use tokens and revocation: the policy, the two store traits, and
//! what the validator hands to them.
//!
//! A store answers one question atomically: [`ReplayStore::record_use`]
//! records a token's use *and* says whether it was the first, in one step,
//! so two concurrent presentations can never both be first. Stores are
//! pluggable the way [`KeySource`](crate::keys::KeySource) is: boxed futures, no
//! `async-trait` crate; the in-memory stores answer with a ready future that
//! allocates nothing.

mod memory;
mod record_key;
mod single_use;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub use self::memory::{
    DEFAULT_REPLAY_CAPACITY, DEFAULT_REVOCATION_CAPACITY, DEFAULT_SIGHTING_CAPACITY, MemoryReplayStore,
    MemoryRevocationStore,
};
pub(crate) use self::record_key::hex;
pub use self::record_key::{RecordKey, RecordKind};
pub use self::single_use::{DEFAULT_SINGLE_USE_MAX_LIFETIME, SingleUse};
pub(crate) use self::single_use::{check_lifetime, record_once, spend};
use crate::error::Error;

/// A store could not answer; the token is refused, never waved through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached (Redis down, a timeout): answered 503
    /// [`Error::StoreUnavailable`].
    #[error("the single-use / revocation store is unavailable; retry in {retry_after:?}")]
    Unavailable {
        /// When a retry has a chance to succeed.
        retry_after: Duration,
    },
    /// The store holds as many records as it is allowed to: new single-use
    /// tokens are refused (503 [`Error::ReplayStoreFull`])
    /// rather than an old record forgotten, which would let a replay through.
    #[error("the single-use / revocation store is full; retry in {retry_after:?}")]
    Full {
        /// When the earliest record expires and frees room.
        retry_after: Duration,
    },
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable { retry_after } => Error::StoreUnavailable { retry_after },
            StoreError::Full { retry_after } => Error::ReplayStoreFull { retry_after },
        }
    }
}

/// The future returned by store methods: ready at once for in-memory stores
/// (no allocation), boxed for stores that do I/O.
#[must_use = "a store future does nothing unless awaited"]
pub struct StoreFuture<'a, T> {
    inner: Inner<'a, T>,
}

enum Inner<'a, T> {
    Ready(Option<Result<T, StoreError>>),
    Pending(Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>),
}

impl<'a, T> StoreFuture<'a, T> {
    /// An answer known without waiting.
    pub fn ready(result: Result<T, StoreError>) -> Self {
        StoreFuture { inner: Inner::Ready(Some(result)) }
    }

    /// An answer that needs I/O.
    pub fn boxed(future: impl Future<Output = Result<T, StoreError>> + Send + 'a) -> Self {
        StoreFuture { inner: Inner::Pending(Box::pin(future)) }
    }
}

impl<T: Unpin> Future for StoreFuture<'_, T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Inner::Ready(result) => Poll::Ready(result.take().expect("StoreFuture polled after completion")),
            Inner::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> fmt::Debug for StoreFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.inner {
            Inner::Ready(_) => "StoreFuture::Ready",
            Inner::Pending(_) => "StoreFuture::Pending",
        })
    }
}

/// One presentation of a single-use token — or one DPoP proof — as the
/// validator hands it to a [`ReplayStore`]. Times are seconds since the
/// epoch, from the validator's [`Clock`](crate::Clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenUse<'a> {
    /// The token's `iss` (as the validator keeps its records: empty for
    /// [`Issuer::any_issuer`](crate::Issuer::any_issuer)); for a DPoP proof,
    /// the thumbprint of its key.
    pub issuer: &'a str,
    /// The token's (or the proof's) `jti`.
    pub token_id: &'a str,
    /// The token's `iat`; without one, the earliest moment it can have been
    /// issued under the single-use lifetime cap (`exp` minus the cap).
    pub issued_at: u64,
    /// Until when the record must be kept: the token's `exp` plus the
    /// issuer's leeway (for a proof, the end of its window), the moment it
    /// is refused anyway.
    pub keep_until: u64,
    /// Now.
    pub now: u64,
    /// What is recorded: [`RecordKind::Use`] or [`RecordKind::DpopProof`].
    pub kind: RecordKind,
}

impl<'a> TokenUse<'a> {
    /// Describes a use (stores are given these by the validator; tests and
    /// other callers may build them too).
    pub fn new(issuer: &'a str, token_id: &'a str, issued_at: u64, keep_until: u64, now: u64) -> Self {
        TokenUse { issuer, token_id, issued_at, keep_until, now, kind: RecordKind::Use }
    }

    /// Describes a DPoP proof with `jti`, made with the key whose thumbprint
    /// is `thumbprint`.
    pub fn dpop_proof(thumbprint: &'a str, jti: &'a str, issued_at: u64, keep_until: u64, now: u64) -> Self {
        TokenUse { kind: RecordKind::DpopProof, ..TokenUse::new(thumbprint, jti, issued_at, keep_until, now) }
    }

    /// The record's key.
    pub fn key(&self) -> RecordKey {
        RecordKey::new(self.kind, self.issuer, self.token_id)
    }

    /// How long the record must live from `now` on (at least one second).
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.keep_until.saturating_sub(self.now).max(1))
    }
}

/// One client presenting a token, as the validator hands it to
/// [`ReplayStore::note_client`] when [`TokenSharing`](crate::TokenSharing)
/// is on. Times are seconds since the epoch, from the validator's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientSighting {
    /// The token's record ([`RecordKind::Sighting`]).
    pub token: RecordKey,
    /// The client: the first 64 bits of SHA-256 over its fingerprint.
    pub client: u64,
    /// The most clients the store need keep for this token: once it holds
    /// this many, a new client is answered `cap` and not recorded.
    pub cap: u32,
    /// Until when the record must be kept (the token is refused on time from then on).
    pub keep_until: u64,
    /// Now.
    pub now: u64,
}

impl ClientSighting {
    /// Describes a sighting (stores are given these by the validator; tests
    /// and other callers may build them too).
    pub fn new(token: RecordKey, client: u64, cap: u32, keep_until: u64, now: u64) -> Self {
        ClientSighting { token, client, cap, keep_until, now }
    }

    /// How long the record must live from `now` on (at least one second).
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.keep_until.saturating_sub(self.now).max(1))
    }

    /// The cap every store applies: [`cap`](Self::cap) within 1 and one
    /// more than [`MAX_SHARING_LIMIT`](crate::MAX_SHARING_LIMIT).
    pub fn kept(&self) -> u32 {
        self.cap.clamp(1, crate::MAX_SHARING_LIMIT + 1)
    }
}

/// What a [`ReplayStore`] answers to [`ReplayStore::record_use`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UseOutcome {
    /// The first use: recorded now; the token is accepted.
    First,
    /// A record exists: the token was used before and is refused.
    AlreadyUsed,
    /// The token was issued before the store's records begin (the process
    /// restarted, or Redis lost its data): a use before then cannot be ruled
    /// out, so the token is refused. Nothing is recorded.
    IssuedBeforeRecords,
}

/// Where single-use records live: in this process ([`MemoryReplayStore`])
/// or shared by a fleet (`tokengate-redis`).
///
/// # Contract
///
/// - [`record_use`](ReplayStore::record_use) is **atomic**: of any number of
///   concurrent calls for the same key, exactly one answers
///   [`UseOutcome::First`] (an insert-if-absent, never a read then a write).
/// - A record lives at least until [`TokenUse::keep_until`]; it is never
///   evicted earlier to make room. When full, answer [`StoreError::Full`].
/// - A store that cannot vouch for uses before some moment (it lost its
///   records) answers [`UseOutcome::IssuedBeforeRecords`] for tokens issued
///   before that moment.
/// - When the store cannot answer, [`StoreError::Unavailable`]: the token is
///   refused with 503, never accepted.
pub trait ReplayStore: Send + Sync + fmt::Debug + 'static {
    /// Records `token`'s use, atomically, and says whether it was the first.
    fn record_use<'a>(&'a self, token: TokenUse<'a>) -> StoreFuture<'a, UseOutcome>;

    /// Whether uses recorded before a restart of this process can be lost
    /// without the store noticing (an in-memory store without restart
    /// protection); the validator then warns when single use runs on it.
    fn may_forget_uses(&self) -> bool {
        false
    }

    /// Records that `sighting.client` presented `sighting.token`, atomically,
    /// and answers how many distinct clients have presented it while its
    /// record lives, this one included: at most
    /// [`sighting.cap`](ClientSighting::cap) are kept, and a new client
    /// beyond them is answered `cap` without being recorded.
    ///
    /// Only called when [`counts_clients`](Self::counts_clients) says so (the
    /// validator's builder refuses [`TokenSharing`](crate::TokenSharing)
    /// otherwise); this default answers [`StoreError::Unavailable`].
    fn note_client(&self, sighting: ClientSighting) -> StoreFuture<'_, u32> {
        let _ = sighting;
        StoreFuture::ready(Err(StoreError::Unavailable { retry_after: Duration::from_secs(1) }))
    }

    /// Whether this store implements [`note_client`](Self::note_client).
    fn counts_clients(&self) -> bool {
        false
    }
}

/// A presented token, as the validator hands it to a [`RevocationStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRef<'a> {
    /// The token's `iss` (empty when absent).
    pub issuer: &'a str,
    /// `jti`.
    pub token_id: Option<&'a str>,
    /// `sub`.
    pub subject: Option<&'a str>,
    /// `iat`. A token without it is caught by every cut-off of its subject
    /// or issuer (it cannot show it was issued after).
    pub issued_at: Option<u64>,
    /// Now.
    pub now: u64,
}

impl<'a> TokenRef<'a> {
    /// Describes a presented token.
    pub fn new(
        issuer: &'a str,
        token_id: Option<&'a str>,
        subject: Option<&'a str>,
        issued_at: Option<u64>,
        now: u64,
    ) -> Self {
        TokenRef { issuer, token_id, subject, issued_at, now }
    }

    /// Whether a cut-off (tokens issued at or before it are revoked) applies.
    pub fn caught_by(&self, cutoff: u64) -> bool {
        self.issued_at.is_none_or(|iat| iat <= cutoff)
    }
}

/// A revocation, resolved by the validator ([`Validator::revoke`](crate::Validator::revoke))
/// and handed to a [`RevocationStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation<'a> {
    /// Refuse the token `token_id` of `issuer`.
    Token {
        /// The issuer.
        issuer: &'a str,
        /// The `jti`.
        token_id: &'a str,
        /// Keep the revocation until then (every such token has expired).
        keep_until: u64,
    },
    /// Refuse every token of `subject` from `issuer` issued at or before `cutoff`.
    Subject {
        /// The issuer.
        issuer: &'a str,
        /// The `sub`.
        subject: &'a str,
        /// `iat` at or before this is refused. A later cut-off for the same
        /// subject replaces an earlier one, never the reverse.
        cutoff: u64,
        /// Keep the revocation until then.
        keep_until: u64,
    },
    /// Refuse every token of `issuer` issued at or before `cutoff`.
    Issuer {
        /// The issuer.
        issuer: &'a str,
        /// `iat` at or before this is refused (the later cut-off wins).
        cutoff: u64,
        /// Keep the revocation until then.
        keep_until: u64,
    },
}

impl Revocation<'_> {
    /// The record's key.
    pub fn key(&self) -> RecordKey {
        match *self {
            Revocation::Token { issuer, token_id, .. } => {
                RecordKey::new(RecordKind::RevokedToken, issuer, token_id)
            }
            Revocation::Subject { issuer, subject, .. } => {
                RecordKey::new(RecordKind::RevokedSubject, issuer, subject)
            }
            Revocation::Issuer { issuer, .. } => RecordKey::new(RecordKind::RevokedIssuer, issuer, ""),
        }
    }

    /// The cut-off, or `None` for a single token.
    pub fn cutoff(&self) -> Option<u64> {
        match *self {
            Revocation::Token { .. } => None,
            Revocation::Subject { cutoff, .. } | Revocation::Issuer { cutoff, .. } => Some(cutoff),
        }
    }

    /// Until when the record must be kept.
    pub fn keep_until(&self) -> u64 {
        match *self {
            Revocation::Token { keep_until, .. }
            | Revocation::Subject { keep_until, .. }
            | Revocation::Issuer { keep_until, .. } => keep_until,
        }
    }
}

/// Where revocations live: in this process ([`MemoryRevocationStore`]) or
/// shared by a fleet (`tokengate-redis`). Every validated token is checked
/// against it.
///
/// # Contract
///
/// - A revocation holds, for every instance sharing the store, from the
///   moment [`revoke`](RevocationStore::revoke) returns `Ok` until its
///   `keep_until`.
/// - For cut-offs, the later one wins.
/// - When the store cannot answer, [`StoreError::Unavailable`]: the token is
///   refused with 503, never accepted.
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Whether `token` is revoked (by `jti`, by subject cut-off, or by issuer cut-off).
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> StoreFuture<'a, bool>;

    /// Records a revocation (`now`: the validator's clock, seconds since the epoch).
    fn revoke<'a>(&'a self, revocation: Revocation<'a>, now: u64) -> StoreFuture<'a, ()>;
}
