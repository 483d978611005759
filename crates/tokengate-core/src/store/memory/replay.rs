//! [`MemoryReplayStore`]: single-use records in this process's memory.

use std::sync::Arc;

use super::{Expiring, Records};
use crate::sharing::MAX_SHARING_LIMIT;
use crate::store::{ClientSighting, ReplayStore, StoreError, StoreFuture, TokenUse, UseOutcome};

/// [`MemoryReplayStore`]'s default capacity: one million records (about
/// 55 MB at the measured cost per record, see `docs/single-use.md`).
pub const DEFAULT_REPLAY_CAPACITY: usize = 1_000_000;

/// [`MemoryReplayStore`]'s default capacity for token-sharing detection:
/// the clients of 100,000 tokens (about 21 MB: 211 bytes per token measured
/// by `benches/examples/memory.rs`, a 144-byte record, its key and the
/// table's overhead).
pub const DEFAULT_SIGHTING_CAPACITY: usize = 100_000;

/// A use record: kept until this second.
#[derive(Clone, Copy)]
struct KeepUntil(u64);

impl Expiring for KeepUntil {
    fn keep_until(&self) -> u64 {
        self.0
    }
}

/// How many clients a token's record holds at most: one more than the
/// largest limit.
const KEPT: usize = MAX_SHARING_LIMIT as usize + 1;

/// The clients that presented one token (for token-sharing detection).
#[derive(Clone, Copy)]
struct Clients {
    keep_until: u64,
    seen: [u64; KEPT],
    len: u8,
}

impl Expiring for Clients {
    fn keep_until(&self) -> u64 {
        self.keep_until
    }
}

/// Single-use records in this process's memory: the default
/// [`ReplayStore`].
///
/// - **Atomic**: the check and the insert happen under one shard's lock
///   (64 shards, a hash-map operation per critical section; nothing awaits).
/// - **Exact expiry**: a record counts until its token's `exp` + leeway by
///   the validator's clock, then is gone; expired records are dropped from
///   memory within a clock second of the next use of their shard.
/// - **Bounded, fail closed**: at [`capacity`](MemoryReplayStore::with_capacity)
///   records, after dropping expired ones, a new single-use token is refused
///   with [`StoreError::Full`] (503); no record is ever evicted early.
/// - **Restarts**: records are lost when the process ends. By default
///   nothing notices: a single-use token used before a restart is accepted
///   once more after it, until it expires (the validator logs a warning when
///   single use runs on such a store). [`MemoryReplayStore::records_since`]
///   closes that gap, at a cost; a store shared by the fleet
///   (`tokengate-redis`) closes it for every instance.
///
/// Cheap to clone; clones share the records.
#[derive(Clone)]
pub struct MemoryReplayStore {
    inner: Arc<Inner>,
}

struct Inner {
    records: Records<KeepUntil>,
    /// Token-sharing detection's records, one per token, bounded apart.
    sightings: Records<Clients>,
    since: u64,
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        MemoryReplayStore::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }
}

impl MemoryReplayStore {
    /// A store of [`DEFAULT_REPLAY_CAPACITY`] records, without restart
    /// protection (see [`MemoryReplayStore::records_since`]).
    pub fn new() -> Self {
        MemoryReplayStore::default()
    }

    /// A store holding at most `capacity` records at once.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryReplayStore::build(capacity, DEFAULT_SIGHTING_CAPACITY, 0)
    }

    /// The same store, holding the clients of at most `capacity` tokens for
    /// [`TokenSharing`](crate::TokenSharing) (default
    /// [`DEFAULT_SIGHTING_CAPACITY`]). When full, a token not seen before is
    /// refused with 503 where sharing is refused, and accepted uncounted
    /// where it is only reported; nothing live is evicted.
    pub fn sighting_capacity(self, capacity: usize) -> Self {
        MemoryReplayStore::build(self.inner.records.capacity, capacity, self.inner.since)
    }

    /// **Restart protection**: the same store, vouching only for uses since
    /// `since` (seconds since the epoch, by the validator's clock): single-use
    /// tokens issued (`iat`) before it are refused as possibly used
    /// ([`Error::PossiblyReplayed`](crate::Error::PossiblyReplayed)), since
    /// their use before a restart would have left no record here.
    ///
    /// Pass the process start **plus a clock-skew allowance**, the issuer's
    /// leeway for instance: an issuer whose clock runs ahead of ours stamps
    /// tokens with an `iat` in our future, so a token used just before the
    /// restart can carry an `iat` after the start. The cost: every
    /// single-use token issued before `since` — all those handed out before
    /// the restart, and, for the allowance, those issued just after it — is
    /// refused once (the client asks for a new one), and so are DPoP proofs
    /// made in that window.
    ///
    /// ```
    /// use tokengate_core::{Clock, MemoryReplayStore, SystemClock};
    /// let started = SystemClock.now();
    /// let store = MemoryReplayStore::new().records_since(started + 30);
    /// # assert!(store.since() > started);
    /// ```
    pub fn records_since(self, since: u64) -> Self {
        MemoryReplayStore::build(self.inner.records.capacity, self.inner.sightings.capacity, since)
    }

    fn build(capacity: usize, sighting_capacity: usize, since: u64) -> Self {
        let (records, sightings) =
            (Records::with_capacity(capacity), Records::with_capacity(sighting_capacity));
        MemoryReplayStore { inner: Arc::new(Inner { records, sightings, since }) }
    }

    /// How many records are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.inner.records.capacity
    }

    /// How many tokens' clients are held for token-sharing detection.
    pub fn sightings_len(&self) -> usize {
        self.inner.sightings.len()
    }

    /// When the records begin (seconds since the epoch; `0` without restart protection).
    pub fn since(&self) -> u64 {
        self.inner.since
    }

    /// Drops every record expired at `now`; returns how many single-use
    /// records are left.
    pub fn purge_expired(&self, now: u64) -> usize {
        self.inner.sightings.purge_expired(now);
        self.inner.records.purge_expired(now)
    }

    fn record(&self, token: TokenUse<'_>) -> Result<UseOutcome, StoreError> {
        let inner = &*self.inner;
        if token.issued_at < inner.since {
            return Ok(UseOutcome::IssuedBeforeRecords);
        }
        let (key, now) = (token.key(), token.now);
        let mut shard = inner.records.shard(&key, now);
        if shard.records.get(&key).is_some_and(|record| record.0 > now) {
            return Ok(UseOutcome::AlreadyUsed);
        }
        inner.records.insert(&mut shard, key, KeepUntil(token.keep_until), now)?;
        Ok(UseOutcome::First)
    }

    fn sight(&self, sighting: ClientSighting) -> Result<u32, StoreError> {
        let sightings = &self.inner.sightings;
        let (key, now) = (sighting.token, sighting.now);
        let cap = sighting.kept();
        let mut shard = sightings.shard(&key, now);
        let mut clients = match shard.records.get(&key) {
            Some(clients) if clients.keep_until > now => *clients,
            _ => Clients { keep_until: sighting.keep_until, seen: [0; KEPT], len: 0 },
        };
        if clients.seen[..usize::from(clients.len)].contains(&sighting.client) {
            return Ok(u32::from(clients.len));
        }
        if u32::from(clients.len) >= cap {
            return Ok(cap);
        }
        clients.seen[usize::from(clients.len)] = sighting.client;
        clients.len += 1;
        sightings.insert(&mut shard, key, clients, now)?;
        Ok(u32::from(clients.len))
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record_use<'a>(&'a self, token: TokenUse<'a>) -> StoreFuture<'a, UseOutcome> {
        StoreFuture::ready(self.record(token))
    }

    fn may_forget_uses(&self) -> bool {
        self.inner.since == 0
    }

    fn note_client(&self, sighting: ClientSighting) -> StoreFuture<'_, u32> {
        StoreFuture::ready(self.sight(sighting))
    }

    fn counts_clients(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("sightings", &self.sightings_len())
            .field("since", &self.inner.since)
            .finish()
    }
}
