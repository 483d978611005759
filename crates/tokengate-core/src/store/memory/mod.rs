//! The in-process stores, and the bounded, expiring record table they share.
//!
//! Why not moka: its expiry follows its own clock (not the validator's
//! injectable [`Clock`](crate::Clock)), and on reaching capacity it evicts,
//! which for a replay record means letting a replay through and for a
//! revocation letting a revoked token back in. These stores expire by the
//! validator's time, account for capacity themselves, and refuse instead of
//! evicting.

mod replay;
mod revocation;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use self::replay::{DEFAULT_REPLAY_CAPACITY, DEFAULT_SIGHTING_CAPACITY, MemoryReplayStore};
pub use self::revocation::{DEFAULT_REVOCATION_CAPACITY, MemoryRevocationStore};
use super::{RecordKey, StoreError};

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

/// A record that lives until a moment of the validator's clock.
trait Expiring: Copy {
    /// The last second (exclusive) at which the record counts.
    fn keep_until(&self) -> u64;
}

/// One shard: its records, and when it is next swept.
struct Shard<V> {
    records: KeyMap<V>,
    next_sweep: u64,
    /// No record expires before this (exact after a sweep, lowered by each
    /// insert; `u64::MAX` when empty): a shard with nothing expired is not
    /// swept, and a full store finds its next expiry without a scan.
    earliest: u64,
}

/// Records keyed by [`RecordKey`], in 64 shards each behind its own lock
/// (one hash-map operation per critical section, nothing awaits), dropped
/// when they expire, and bounded: at capacity a new record is refused, never
/// made room for by evicting a live one.
struct Records<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    len: AtomicUsize,
    capacity: usize,
    /// While full: the clock second before which no record expires, so that
    /// refusals cost no scan.
    full_until: AtomicU64,
}

impl<V: Expiring> Records<V> {
    fn with_capacity(capacity: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| Mutex::new(Shard { records: KeyMap::default(), next_sweep: 0, earliest: u64::MAX }))
            .collect();
        Records { shards, len: AtomicUsize::new(0), capacity, full_until: AtomicU64::new(0) }
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The shard of `key`, locked, with its expired records dropped if due.
    fn shard(&self, key: &RecordKey, now: u64) -> MutexGuard<'_, Shard<V>> {
        let mut shard = lock(&self.shards[usize::from(key.as_bytes()[15]) % SHARDS]);
        if now >= shard.next_sweep && now >= shard.earliest {
            self.sweep(&mut shard, now);
        }
        shard
    }

    /// The live record of `key`, if any.
    fn get(&self, key: &RecordKey, now: u64) -> Option<V> {
        self.shard(key, now).records.get(key).copied().filter(|record| record.keep_until() > now)
    }

    /// Inserts `record` under `key` in `shard` (locked by the caller), when
    /// capacity allows: `Err` when full.
    fn insert(&self, shard: &mut Shard<V>, key: RecordKey, record: V, now: u64) -> Result<(), StoreError> {
        if let Some(slot) = shard.records.get_mut(&key) {
            // An update, or a record expired but not swept yet: the slot is
            // reused, the count unchanged.
            *slot = record;
            shard.earliest = shard.earliest.min(record.keep_until());
            return Ok(());
        }
        if !self.reserve(now, shard) {
            return Err(StoreError::Full { retry_after: self.retry_after(now) });
        }
        shard.earliest = shard.earliest.min(record.keep_until());
        shard.records.insert(key, record);
        Ok(())
    }

    /// Drops every expired record; returns how many are left.
    fn purge_expired(&self, now: u64) -> usize {
        for shard in self.shards.iter() {
            self.sweep(&mut lock(shard), now);
        }
        self.len()
    }

    fn sweep(&self, shard: &mut Shard<V>, now: u64) {
        let before = shard.records.len();
        let mut earliest = u64::MAX;
        shard.records.retain(|_, record| {
            let keep = record.keep_until() > now;
            if keep {
                earliest = earliest.min(record.keep_until());
            }
            keep
        });
        shard.earliest = earliest;
        let dropped = before - shard.records.len();
        if dropped > 0 {
            self.len.fetch_sub(dropped, Ordering::AcqRel);
        }
        shard.next_sweep = now.saturating_add(SWEEP_INTERVAL);
    }

    /// Takes one unit of capacity; when none is left, drops expired records
    /// everywhere (once per clock second at most, or not before the earliest
    /// record expires) and tries again.
    fn reserve(&self, now: u64, current: &mut Shard<V>) -> bool {
        if self.take_slot() {
            return true;
        }
        if now < self.full_until.load(Ordering::Acquire) {
            return false;
        }
        // Full: sweep the shards that may hold expired records, this one
        // (already locked) and the others one lock at a time; the others'
        // `earliest` says when their first record expires, without a scan.
        if now >= current.earliest {
            self.sweep(current, now);
        }
        let mut first_expiry = current.earliest;
        for shard in self.shards.iter() {
            // `try_lock`: the current shard (held here) and busy ones are skipped;
            // they drop their expired records on their own next use.
            let Ok(mut other) = shard.try_lock() else { continue };
            if now >= other.earliest {
                self.sweep(&mut other, now);
            }
            first_expiry = first_expiry.min(other.earliest);
        }
        if self.take_slot() {
            return true;
        }
        // No scan again before the earliest record seen expires (at least a second).
        let until = if first_expiry == u64::MAX { now + 1 } else { first_expiry.max(now + 1) };
        self.full_until.store(until, Ordering::Release);
        tracing::warn!(
            capacity = self.capacity,
            "an in-memory token-state store is full: new records are refused until records expire"
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

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // No critical section can leave a shard inconsistent; a panic elsewhere
    // while holding it does not make its records wrong.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
