//! The verified-token cache: a token presented again skips parsing, key
//! lookup, signature verification and the claim rules — the parts whose
//! answer cannot change for the same bytes under the same keys — and
//! nothing else: expiry, revocation, DPoP and single use are checked on
//! every request.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Weak};

use crate::issuer::TrustedIssuer;
use crate::keys::KeySet;
use crate::verified::TokenFacts;

/// How many verified tokens the cache keeps unless configured otherwise.
pub const DEFAULT_TOKEN_CACHE_ENTRIES: u64 = 10_000;
/// How many bytes (tokens and their claims) it keeps at most unless
/// configured otherwise.
pub const DEFAULT_TOKEN_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// A bounded cache of verification results
/// ([`ValidatorBuilder::token_cache`](crate::ValidatorBuilder::token_cache)).
///
/// - **Keyed by the whole token**, compared byte for byte on a hit (no
///   digest collision can let a token in), in a hash table keyed with a
///   random per-process key (SipHash), so an attacker cannot aim many tokens
///   at one bucket. (The whole token is hashed: an issuer that an attacker
///   controls — a tenant of a multi-tenant rule — can give many verified
///   tokens the same signature, so no part of a token alone will do.)
/// - **Bounded** in entries and in bytes; the least useful entries are
///   evicted (TinyLFU): an eviction only costs a full validation next time.
/// - **What a hit skips**: parsing, the key, the signature, the claim rules
///   (custom checks included: they run once per entry). **What it never
///   skips**: `exp` and the maximum token age against the current time,
///   revocation, DPoP (the proof is per request), single use, the route's
///   scopes. An entry is used only while its issuer's key set is the one
///   that verified it: after a key-set refresh (a rotation, a removed key)
///   each token is verified again.
/// - **Refusals are not cached**: a flood of one bad token costs what it
///   costs without the cache, and cannot evict good entries.
/// - Introspected (opaque) tokens have their own cache in the
///   introspection source, bounded by the answer's `exp`.
#[derive(Clone)]
pub struct TokenCache {
    entries: moka::sync::Cache<Arc<str>, Arc<Entry>>,
}

/// One verified token.
pub(crate) struct Entry {
    /// The issuer whose rules accepted it.
    pub(crate) issuer: Held,
    /// The key set that verified it.
    pub(crate) keys: Arc<KeySet>,
    pub(crate) facts: Arc<TokenFacts>,
    /// The claims, as the type the validation that cached them asked for.
    pub(crate) claims: Arc<dyn Any + Send + Sync>,
}

/// The issuer of a cached token: listed (its index), or a tenant, held
/// weakly so that an evicted tenant's entries are not used.
pub(crate) enum Held {
    Listed(usize),
    Tenant(Weak<TrustedIssuer>),
}

impl TokenCache {
    /// A cache of [`DEFAULT_TOKEN_CACHE_ENTRIES`] tokens and
    /// [`DEFAULT_TOKEN_CACHE_BYTES`] bytes at most.
    pub fn new() -> Self {
        TokenCache::bounded(DEFAULT_TOKEN_CACHE_ENTRIES, DEFAULT_TOKEN_CACHE_BYTES)
    }

    /// A cache of at most `entries` tokens and `bytes` bytes.
    pub fn bounded(entries: u64, bytes: u64) -> Self {
        // One weight bound for both: an entry weighs its size, but never less
        // than its share of the bytes, so neither bound can be exceeded.
        let share = (bytes / entries.max(1)).max(1);
        let entries = moka::sync::Cache::builder()
            .max_capacity(bytes)
            .weigher(move |token: &Arc<str>, entry: &Arc<Entry>| {
                let size = (token.len() + entry.facts.approximate_size() + ENTRY_OVERHEAD) as u64;
                u32::try_from(size.max(share)).unwrap_or(u32::MAX)
            })
            .build();
        TokenCache { entries }
    }

    /// The entry for `token`, if one is held.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<Entry>> {
        self.entries.get(token)
    }

    /// Keeps `entry` for `token`.
    pub(crate) fn insert(&self, token: &str, entry: Entry) {
        self.entries.insert(Arc::from(token), Arc::new(entry));
    }

    /// How many tokens are held (after applying pending evictions).
    pub fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new()
    }
}

/// What an entry costs beyond the token and its facts: the claims, the
/// cache's own bookkeeping (an estimate; the claims type is the caller's).
const ENTRY_OVERHEAD: usize = 256;

impl Entry {
    /// The claims as `C`, when the entry holds that type.
    pub(crate) fn claims<C: Send + Sync + 'static>(&self) -> Option<Arc<C>> {
        // Checked before cloning the `Arc`: a miss costs no reference count.
        if !self.claims.is::<C>() {
            return None;
        }
        self.claims.clone().downcast::<C>().ok()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache").field("entries", &self.entry_count()).finish_non_exhaustive()
    }
}
