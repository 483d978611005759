//! The in-process stores.
//!
//! Why not moka: its expiry follows its own clock (not the validator's
//! injectable [`Clock`](crate::Clock)), and on reaching capacity it evicts,
//! which for a replay record means letting a replay through. These stores
//! expire by the validator's time, account for capacity themselves, and
//! refuse instead of evicting.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;

use super::{
    RecordKey, RecordKind, ReplayStore, Revocation, RevocationStore, StoreError, StoreFuture, TokenRef,
    TokenUse, UseOutcome,
};

/// [`MemoryReplayStore`]'s default capacity: one million records (about
/// 40 MB at the measured cost per record, see `docs/single-use.md`).
pub const DEFAULT_REPLAY_CAPACITY: usize = 1_000_000;
/// [`MemoryRevocationStore`]'s default capacity: 100 000 revocations.
pub const DEFAULT_REVOCATION_CAPACITY: usize = 100_000;

const SHARDS: usize = 64;
/// Each shard drops its expired records at most this often (in clock seconds).
const SWEEP_INTERVAL: u64 = 1;

/// `RecordKey`s are already uniform (SHA-256): hash them by their first 8 bytes.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }
}

type KeyMap<V> = HashMap<RecordKey, V, BuildHasherDefault<KeyHasher>>;

struct Shard {
    /// Record key → keep until (seconds).
    records: KeyMap<u64>,
    next_sweep: u64,
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
/// - **Restarts**: records are lost when the process ends. So that no token
///   can be used once before a restart and once after, tokens issued (`iat`)
///   before the store was created are refused ([`UseOutcome::IssuedBeforeRecords`]).
///   Share a store across processes with `tokengate-redis` instead.
///
/// Cheap to clone; clones share the records.
#[derive(Clone)]
pub struct MemoryReplayStore {
    inner: Arc<ReplayInner>,
}

struct ReplayInner {
    shards: Box<[Mutex<Shard>]>,
    len: AtomicUsize,
    capacity: usize,
    since: u64,
    /// While the store is full: the clock second before which no record
    /// expires, so refusals need no scan.
    full_until: AtomicU64,
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        MemoryReplayStore::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }
}

impl MemoryReplayStore {
    /// A store of [`DEFAULT_REPLAY_CAPACITY`] records.
    ///
    /// Its records live in this process: after a restart, a single-use token
    /// used before it could be used once more until it expires (at most the
    /// policy's maximum lifetime). Use [`MemoryReplayStore::records_since`]
    /// to close that gap, or a shared store (Redis) for a fleet.
    pub fn new() -> Self {
        MemoryReplayStore::default()
    }

    /// A store holding at most `capacity` records at once.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryReplayStore::build(capacity, 0)
    }

    /// **Restart protection**: the same store, vouching only for uses since
    /// `since` (seconds since the epoch; e.g. the process start): single-use
    /// tokens issued before are refused as possibly used
    /// ([`Error::PossiblyReplayed`](crate::Error::PossiblyReplayed)), since
    /// their use before a restart would have left no record here.
    pub fn records_since(self, since: u64) -> Self {
        MemoryReplayStore::build(self.inner.capacity, since)
    }

    fn build(capacity: usize, since: u64) -> Self {
        let shards =
            (0..SHARDS).map(|_| Mutex::new(Shard { records: KeyMap::default(), next_sweep: 0 })).collect();
        MemoryReplayStore {
            inner: Arc::new(ReplayInner {
                shards,
                len: AtomicUsize::new(0),
                capacity,
                since,
                full_until: AtomicU64::new(0),
            }),
        }
    }

    /// How many records are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Acquire)
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// When the records begin (seconds since the epoch).
    pub fn since(&self) -> u64 {
        self.inner.since
    }

    /// Drops every record expired at `now`; returns how many are left.
    pub fn purge_expired(&self, now: u64) -> usize {
        for shard in self.inner.shards.iter() {
            self.inner.sweep(&mut lock(shard), now);
        }
        self.len()
    }

    fn record(&self, token: TokenUse<'_>) -> Result<UseOutcome, StoreError> {
        let inner = &*self.inner;
        let now = token.now;
        if token.issued_at < inner.since {
            return Ok(UseOutcome::IssuedBeforeRecords);
        }
        let key = token.key();
        let mut shard = lock(&inner.shards[usize::from(key.as_bytes()[15]) % SHARDS]);
        if now >= shard.next_sweep {
            inner.sweep(&mut shard, now);
        }
        if let Some(until) = shard.records.get_mut(&key) {
            if *until > now {
                return Ok(UseOutcome::AlreadyUsed);
            }
            // Expired but not swept yet: the slot is reused, the count unchanged.
            *until = token.keep_until;
            return Ok(UseOutcome::First);
        }
        if !inner.reserve(now, &mut shard) {
            return Err(StoreError::Full { retry_after: inner.retry_after(now) });
        }
        shard.records.insert(key, token.keep_until);
        Ok(UseOutcome::First)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No critical section can leave a shard inconsistent; a panic elsewhere
    // while holding it does not make its records wrong.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ReplayInner {
    fn sweep(&self, shard: &mut Shard, now: u64) {
        let before = shard.records.len();
        shard.records.retain(|_, until| *until > now);
        let dropped = before - shard.records.len();
        if dropped > 0 {
            self.len.fetch_sub(dropped, Ordering::AcqRel);
        }
        shard.next_sweep = now.saturating_add(SWEEP_INTERVAL);
    }

    /// Takes one unit of capacity; when none is left, drops expired records
    /// everywhere (once per clock second at most) and tries again.
    fn reserve(&self, now: u64, current: &mut Shard) -> bool {
        if self.take_slot() {
            return true;
        }
        if now < self.full_until.load(Ordering::Acquire) {
            return false;
        }
        // Full: sweep this shard (already locked) and the others, one lock at a time.
        self.sweep(current, now);
        let mut earliest = current.records.values().copied().min().unwrap_or(u64::MAX);
        for shard in self.shards.iter() {
            // `try_lock`: the current shard (held here) and busy ones are skipped;
            // they drop their expired records on their own next use.
            let Ok(mut other) = shard.try_lock() else { continue };
            self.sweep(&mut other, now);
            earliest = earliest.min(other.records.values().copied().min().unwrap_or(u64::MAX));
        }
        if self.take_slot() {
            return true;
        }
        // No scan again before the earliest record expires (or one second).
        let until = if earliest == u64::MAX { now + 1 } else { earliest.max(now + 1) };
        self.full_until.store(until, Ordering::Release);
        tracing::warn!(
            capacity = self.capacity,
            "single-use record store is full: new single-use tokens are refused until records expire"
        );
        false
    }

    fn take_slot(&self) -> bool {
        self.len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |len| (len < self.capacity).then_some(len + 1))
            .is_ok()
    }

    fn retry_after(&self, now: u64) -> Duration {
        let until = self.full_until.load(Ordering::Acquire);
        Duration::from_secs(until.saturating_sub(now).clamp(1, 3600))
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record_use<'a>(&'a self, token: TokenUse<'a>) -> StoreFuture<'a, UseOutcome> {
        StoreFuture::ready(self.record(token))
    }
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("len", &self.len())
            .field("capacity", &self.inner.capacity)
            .field("since", &self.inner.since)
            .finish()
    }
}

#[derive(Clone, Copy, Debug)]
struct Revoked {
    /// `None`: the token itself; `Some`: tokens issued at or before.
    cutoff: Option<u64>,
    keep_until: u64,
}

/// Revocations in this process's memory: the default [`RevocationStore`].
///
/// Reads (every validated token) are lock-free: one atomic load of an
/// immutable map, and nothing more while no revocation is held. Revocations
/// copy the map (they are rare, administrative events), dropping expired
/// entries as they go. At [`capacity`](MemoryRevocationStore::with_capacity)
/// live revocations a new one fails with [`StoreError::Full`] — it is never
/// silently dropped. Revocations are lost when the process ends; share them
/// across processes and restarts with `tokengate-redis`.
#[derive(Clone)]
pub struct MemoryRevocationStore {
    inner: Arc<RevocationInner>,
}

/// The revocations held, and which kinds occur among them (so a check
/// hashes only what can match).
#[derive(Default)]
struct Revocations {
    map: KeyMap<Revoked>,
    tokens: bool,
    subjects: bool,
    issuers: bool,
}

struct RevocationInner {
    map: ArcSwap<Revocations>,
    writer: Mutex<()>,
    capacity: usize,
}

impl Default for MemoryRevocationStore {
    fn default() -> Self {
        MemoryRevocationStore::with_capacity(DEFAULT_REVOCATION_CAPACITY)
    }
}

impl MemoryRevocationStore {
    /// A store of [`DEFAULT_REVOCATION_CAPACITY`] revocations.
    pub fn new() -> Self {
        MemoryRevocationStore::default()
    }

    /// A store holding at most `capacity` live revocations.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryRevocationStore {
            inner: Arc::new(RevocationInner {
                map: ArcSwap::from_pointee(Revocations::default()),
                writer: Mutex::new(()),
                capacity,
            }),
        }
    }

    /// How many revocations are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.map.load().map.len()
    }

    /// Whether no revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, token: TokenRef<'_>) -> bool {
        let held = self.inner.map.load();
        if held.map.is_empty() {
            return false;
        }
        let live = |key: RecordKey| held.map.get(&key).filter(|revoked| revoked.keep_until > token.now);
        if held.tokens
            && let Some(jti) = token.token_id
            && live(RecordKey::new(RecordKind::RevokedToken, token.issuer, jti)).is_some()
        {
            return true;
        }
        let cut = |revoked: &Revoked| revoked.cutoff.is_some_and(|cutoff| token.caught_by(cutoff));
        if held.subjects
            && let Some(sub) = token.subject
            && live(RecordKey::new(RecordKind::RevokedSubject, token.issuer, sub)).is_some_and(cut)
        {
            return true;
        }
        held.issuers && live(RecordKey::new(RecordKind::RevokedIssuer, token.issuer, "")).is_some_and(cut)
    }

    fn insert(&self, revocation: Revocation<'_>, now: u64) -> Result<(), StoreError> {
        let _writer = lock(&self.inner.writer);
        let current = self.inner.map.load_full();
        let mut map: KeyMap<Revoked> = current
            .map
            .iter()
            .filter(|(_, revoked)| revoked.keep_until > now)
            .map(|(k, v)| (*k, *v))
            .collect();
        let key = revocation.key();
        let new = Revoked { cutoff: revocation.cutoff(), keep_until: revocation.keep_until() };
        let merged = match map.get(&key) {
            Some(old) => {
                Revoked { cutoff: old.cutoff.max(new.cutoff), keep_until: old.keep_until.max(new.keep_until) }
            }
            None if map.len() >= self.inner.capacity => {
                let earliest = map.values().map(|r| r.keep_until).min().unwrap_or(now + 1);
                return Err(StoreError::Full {
                    retry_after: Duration::from_secs(earliest.saturating_sub(now).clamp(1, 3600)),
                });
            }
            None => new,
        };
        map.insert(key, merged);
        let (mut tokens, mut subjects, mut issuers) = (current.tokens, current.subjects, current.issuers);
        match revocation {
            Revocation::Token { .. } => tokens = true,
            Revocation::Subject { .. } => subjects = true,
            Revocation::Issuer { .. } => issuers = true,
        }
        self.inner.map.store(Arc::new(Revocations { map, tokens, subjects, issuers }));
        Ok(())
    }
}

impl RevocationStore for MemoryRevocationStore {
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> StoreFuture<'a, bool> {
        StoreFuture::ready(Ok(self.check(token)))
    }

    fn revoke<'a>(&'a self, revocation: Revocation<'a>, now: u64) -> StoreFuture<'a, ()> {
        StoreFuture::ready(self.insert(revocation, now))
    }
}

impl std::fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("len", &self.len())
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}
