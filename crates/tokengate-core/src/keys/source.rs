//! Where an issuer's keys come from.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::KeySet;

/// The future returned by [`KeySource::refresh`].
pub type KeysFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<KeySet>, KeysUnavailable>> + Send + 'a>>;

/// Why the validator asks a [`KeySource`] for keys beyond
/// [`KeySource::current`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshReason<'a> {
    /// No key set was ever obtained.
    NoKeysYet,
    /// A token names a `kid` (or, without `kid`, needs an `alg`) that the
    /// current set lacks. Sources rate-limit these refreshes: the `kid` comes
    /// from an unauthenticated token.
    UnknownKey {
        /// The token's `kid`.
        kid: Option<&'a str>,
    },
}

/// Keys could not be obtained; the request is answered 503 with `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the issuer's keys are unavailable; retry in {retry_after:?}")]
pub struct KeysUnavailable {
    /// When the next attempt is allowed.
    pub retry_after: Duration,
}

/// A provider of one issuer's verification keys.
///
/// Implementations must never fetch anything a token names (`jku`, `x5u`):
/// the validator only ever tells them *that* a key is missing.
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// The keys to verify with right now, without waiting; `None` until a
    /// first set has been obtained.
    fn current(&self) -> Option<Arc<KeySet>>;

    /// Obtains keys, for the given reason. May answer with the current set
    /// unchanged (a source decides how often it really fetches).
    fn refresh(&self, reason: RefreshReason<'_>) -> KeysFuture<'_>;

    /// Whether the source can hold HMAC secrets. A JWK Set never does:
    /// symmetric algorithms are refused at build time for such sources.
    fn provides_secrets(&self) -> bool {
        false
    }
}

/// A fixed key set, configured at start-up.
#[derive(Debug, Clone)]
pub struct StaticKeys(Arc<KeySet>);

impl StaticKeys {
    /// Wraps a key set.
    pub fn new(keys: KeySet) -> Self {
        StaticKeys(Arc::new(keys))
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.0
    }
}

impl From<KeySet> for StaticKeys {
    fn from(keys: KeySet) -> Self {
        StaticKeys::new(keys)
    }
}

impl KeySource for StaticKeys {
    fn current(&self) -> Option<Arc<KeySet>> {
        Some(self.0.clone())
    }

    fn refresh(&self, _: RefreshReason<'_>) -> KeysFuture<'_> {
        let keys = self.0.clone();
        Box::pin(async move { Ok(keys) })
    }

    fn provides_secrets(&self) -> bool {
        self.0.has_secrets()
    }
}
