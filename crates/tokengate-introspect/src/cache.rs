//! The answer cache: bounded in bytes, keyed by the SHA-256 digest of the
//! token (never the token), each entry valid until a second of the
//! source's clock, checked on every read.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use moka::Expiry;
use tokengate_core::introspection::Introspection;

/// The SHA-256 digest of a token: the cache key, and (its first bytes) the
/// only trace of a token in logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(crate) fn of(token: &str) -> TokenDigest {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        TokenDigest(bytes)
    }

    /// The first 8 bytes, in hex: enough to tell log lines about one token
    /// apart from others, too little to find the token; the same prefix the
    /// validator's span and verdicts name the token by, so that lines about
    /// one token can be joined.
    pub(crate) fn short(&self) -> String {
        self.0[..8].iter().fold(String::with_capacity(16), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
    }
}

/// A cached answer.
#[derive(Debug)]
pub(crate) struct Cached {
    pub(crate) answer: Introspection,
    /// Reused while the clock shows less than this (seconds since the epoch).
    pub(crate) valid_until: u64,
    /// The same, as a duration from insertion, for the cache's own eviction.
    lifetime: Duration,
    weight: u32,
}

/// Per-entry bookkeeping counted on top of the answer's text: the key, the
/// entry, and the cache's own overhead (an estimate).
const ENTRY_OVERHEAD: usize = 128;

impl Cached {
    pub(crate) fn new(answer: Introspection, now: u64, valid_until: u64) -> Cached {
        let text = match &answer {
            Introspection::Active(json) => json.len(),
            Introspection::Inactive => 0,
        };
        Cached {
            answer,
            valid_until,
            lifetime: Duration::from_secs(valid_until.saturating_sub(now)),
            weight: u32::try_from(text + ENTRY_OVERHEAD).unwrap_or(u32::MAX),
        }
    }

    pub(crate) fn fresh_at(&self, now: u64) -> bool {
        now < self.valid_until
    }
}

/// The cache type.
pub(crate) type AnswerCache = moka::future::Cache<TokenDigest, Arc<Cached>>;

/// A cache holding at most `max_bytes` of answers (estimated), evicting
/// each entry when its lifetime ends even if nobody reads it again.
pub(crate) fn new(max_bytes: u64) -> AnswerCache {
    moka::future::Cache::builder()
        .max_capacity(max_bytes)
        .weigher(|_, cached: &Arc<Cached>| cached.weight)
        .expire_after(Lifetime)
        .build()
}

struct Lifetime;

impl Expiry<TokenDigest, Arc<Cached>> for Lifetime {
    fn expire_after_create(&self, _: &TokenDigest, cached: &Arc<Cached>, _: Instant) -> Option<Duration> {
        Some(cached.lifetime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_and_short_prefixes_are_16_hex_digits() {
        let digest = TokenDigest::of("abc");
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(digest.short(), "ba7816bf8f01cfea");
        assert!(TokenDigest::of("abd") != digest);
    }

    #[test]
    fn entries_are_fresh_strictly_before_their_end_and_weigh_their_text() {
        let cached = Cached::new(Introspection::Active(Arc::from(r#"{"active":true}"#)), 100, 130);
        assert!(cached.fresh_at(100) && cached.fresh_at(129) && !cached.fresh_at(130));
        assert_eq!(cached.lifetime, Duration::from_secs(30));
        assert_eq!(cached.weight as usize, 15 + ENTRY_OVERHEAD);
        let past = Cached::new(Introspection::Inactive, 100, 90);
        assert!(!past.fresh_at(100));
        assert_eq!(past.lifetime, Duration::ZERO);
    }
}
