//! [`MemoryRevocationStore`]: revocations in this process's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Expiring, Records};
use crate::store::{RecordKey, RecordKind, Revocation, RevocationStore, StoreError, StoreFuture, TokenRef};

/// [`MemoryRevocationStore`]'s default capacity: one million revocations.
pub const DEFAULT_REVOCATION_CAPACITY: usize = 1_000_000;

/// A revocation: for a subject or an issuer, the cut-off (`iat` at or
/// before it is refused); kept until `keep_until`. 16 bytes.
#[derive(Clone, Copy)]
struct Revoked {
    cutoff: u64,
    keep_until: u64,
}

impl Expiring for Revoked {
    fn keep_until(&self) -> u64 {
        self.keep_until
    }
}

/// Revocations in this process's memory: the default [`RevocationStore`].
///
/// - **Checks** (every validated token): nothing but one atomic load while
///   no revocation is held, and one locked hash lookup per kind of
///   revocation held (token, subject, issuer) otherwise.
/// - **Revocations**: one locked hash insert (64 shards), whatever the count.
/// - **Exact expiry**: a revocation counts until its `keep_until` by the
///   validator's clock (when every token it names has expired), then is
///   dropped; a later cut-off for the same subject or issuer replaces an
///   earlier one, never the reverse.
/// - **Bounded, fail closed**: at [`capacity`](MemoryRevocationStore::with_capacity)
///   live revocations a new one fails with [`StoreError::Full`] — it is
///   never silently dropped, and no live one is evicted.
///
/// Revocations are lost when the process ends; share them across processes
/// and restarts with `tokengate-redis`. Cheap to clone; clones share the
/// revocations.
#[derive(Clone)]
pub struct MemoryRevocationStore {
    inner: Arc<Inner>,
}

struct Inner {
    records: Records<Revoked>,
    /// Which kinds occur (never reset), so a check hashes only what can match.
    tokens: AtomicBool,
    subjects: AtomicBool,
    issuers: AtomicBool,
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
            inner: Arc::new(Inner {
                records: Records::with_capacity(capacity),
                tokens: AtomicBool::new(false),
                subjects: AtomicBool::new(false),
                issuers: AtomicBool::new(false),
            }),
        }
    }

    /// How many revocations are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.records.len()
    }

    /// Whether no revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every revocation expired at `now`; returns how many are left.
    pub fn purge_expired(&self, now: u64) -> usize {
        self.inner.records.purge_expired(now)
    }

    fn check(&self, token: TokenRef<'_>) -> bool {
        let inner = &*self.inner;
        if inner.records.len() == 0 {
            return false;
        }
        let live = |kind, value| inner.records.get(&RecordKey::new(kind, token.issuer, value), token.now);
        let held = |flag: &AtomicBool| flag.load(Ordering::Acquire);
        if held(&inner.tokens)
            && let Some(jti) = token.token_id
            && live(RecordKind::RevokedToken, jti).is_some()
        {
            return true;
        }
        let cut = |revoked: Revoked| token.caught_by(revoked.cutoff);
        if held(&inner.subjects)
            && let Some(sub) = token.subject
            && live(RecordKind::RevokedSubject, sub).is_some_and(cut)
        {
            return true;
        }
        held(&inner.issuers) && live(RecordKind::RevokedIssuer, "").is_some_and(cut)
    }

    fn insert(&self, revocation: Revocation<'_>, now: u64) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let key = revocation.key();
        let new = Revoked { cutoff: revocation.cutoff().unwrap_or(0), keep_until: revocation.keep_until() };
        let kind = match revocation {
            Revocation::Token { .. } => &inner.tokens,
            Revocation::Subject { .. } => &inner.subjects,
            Revocation::Issuer { .. } => &inner.issuers,
        };
        let mut shard = inner.records.shard(&key, now);
        match shard.records.get_mut(&key) {
            Some(old) if old.keep_until > now => {
                // The later cut-off and the longer retention win.
                old.cutoff = old.cutoff.max(new.cutoff);
                old.keep_until = old.keep_until.max(new.keep_until);
            }
            _ => inner.records.insert(&mut shard, key, new, now)?,
        }
        kind.store(true, Ordering::Release);
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
            .field("capacity", &self.inner.records.capacity)
            .finish()
    }
}
