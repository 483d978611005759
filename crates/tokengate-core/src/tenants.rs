//! Multi-tenant issuers, resolved on demand: a SaaS API that accepts tokens
//! from each customer's identity provider trusts issuers by a rule rather
//! than by a list, and creates an issuer — its key source by discovery, its
//! rules from a template — the first time one of its tokens arrives.
//!
//! Only issuers the rule admits ever cause a fetch; new tenants are admitted
//! at a bounded rate, with a bounded number whose keys are still being
//! fetched; tenants whose keys could not be obtained are remembered for a
//! while (so that forged tokens naming random tenants do not each turn into
//! a fetch); and the tenants held are a bounded cache, evicting the least
//! used (an evicted tenant comes back, discovered again, on its next token).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::error::Error;
use crate::issuer::{Issuer, TrustedIssuer};
use crate::keys::KeySource;

/// How many tenants are held unless configured otherwise.
pub const DEFAULT_TENANT_CAPACITY: u64 = 1_000;
/// How many new tenants may be admitted per second unless configured otherwise.
pub const DEFAULT_NEW_TENANTS_PER_SECOND: u32 = 10;
/// How many admitted tenants may still be fetching their first keys.
pub const DEFAULT_TENANTS_IN_FLIGHT: usize = 16;
/// How long a tenant whose keys could not be obtained is refused without a fetch.
pub const DEFAULT_FAILURE_MEMORY: Duration = Duration::from_secs(60);

/// Decides whether an `iss` is a trusted tenant.
pub type TenantRule = Arc<dyn Fn(&str) -> bool + Send + Sync>;
/// Creates the key source of a tenant's issuer (e.g. discovery from it, or
/// a source shared by every tenant); `Err` with a reason refuses the tenant.
pub type TenantKeys = Arc<dyn Fn(&str) -> Result<Arc<dyn KeySource>, String> + Send + Sync>;

/// Issuers trusted by a rule, resolved on demand
/// ([`ValidatorBuilder::tenants`](crate::ValidatorBuilder::tenants)).
///
/// ```
/// use std::sync::Arc;
/// use tokengate_core::keys::KeySource;
/// use tokengate_core::tenants::Tenants;
/// use tokengate_core::{Algorithm, Issuer};
/// # fn discovered(iss: &str) -> Arc<dyn KeySource> { unimplemented!() }
/// // Entra ID: one issuer per tenant, `https://login.microsoftonline.com/{tenant}/v2.0`.
/// let tenants = Tenants::new(
///     Tenants::pattern("https://login.microsoftonline.com/{}/v2.0"),
///     Issuer::any_issuer().audience("api://orders").algorithms([Algorithm::RS256]),
///     |iss: &str| Ok(discovered(iss)),
/// )
/// .capacity(5_000)
/// .new_tenants_per_second(20);
/// # let _ = tenants;
/// ```
#[derive(Clone)]
#[must_use]
pub struct Tenants {
    rule: TenantRule,
    template: Issuer,
    keys: TenantKeys,
    capacity: u64,
    per_second: u32,
    in_flight: usize,
    failure_memory: Duration,
}

impl Tenants {
    /// Tenants whose `iss` satisfies `rule`, each an issuer made from
    /// `template` (its audiences, algorithms, leeway and every other rule;
    /// its name and keys are the tenant's) with the key source `keys`
    /// creates for it.
    pub fn new<R, K>(rule: R, template: Issuer, keys: K) -> Self
    where
        R: Fn(&str) -> bool + Send + Sync + 'static,
        K: Fn(&str) -> Result<Arc<dyn KeySource>, String> + Send + Sync + 'static,
    {
        Tenants {
            rule: Arc::new(rule),
            template,
            keys: Arc::new(keys),
            capacity: DEFAULT_TENANT_CAPACITY,
            per_second: DEFAULT_NEW_TENANTS_PER_SECOND,
            in_flight: DEFAULT_TENANTS_IN_FLIGHT,
            failure_memory: DEFAULT_FAILURE_MEMORY,
        }
    }

    /// A rule matching `pattern` with its one `{}` standing for a tenant id:
    /// 1 to 64 characters of `[A-Za-z0-9._-]` (no `/`, so a tenant cannot
    /// name a path of another), the rest compared exactly.
    ///
    /// ```
    /// use tokengate_core::tenants::Tenants;
    /// let rule = Tenants::pattern("https://login.microsoftonline.com/{}/v2.0");
    /// assert!(rule("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"));
    /// assert!(!rule("https://login.microsoftonline.com/a/b/v2.0"));
    /// assert!(!rule("https://evil.example/72f988bf/v2.0"));
    /// ```
    pub fn pattern(pattern: &str) -> impl Fn(&str) -> bool + Send + Sync + 'static {
        let (prefix, suffix) = pattern.split_once("{}").expect("a tenant pattern has one `{}`");
        let (prefix, suffix) = (prefix.to_owned(), suffix.to_owned());
        move |iss: &str| {
            let Some(tenant) = iss.strip_prefix(&*prefix).and_then(|rest| rest.strip_suffix(&*suffix)) else {
                return false;
            };
            (1..=64).contains(&tenant.len())
                && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        }
    }

    /// At most `capacity` tenants are held (default [`DEFAULT_TENANT_CAPACITY`]);
    /// the least used are evicted, and come back on their next token.
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// At most `count` new tenants are admitted per second (default
    /// [`DEFAULT_NEW_TENANTS_PER_SECOND`]); tokens of tenants beyond it are
    /// answered 503 (retry) without any fetch.
    pub fn new_tenants_per_second(mut self, count: u32) -> Self {
        self.per_second = count;
        self
    }

    /// At most `count` admitted tenants may still be fetching their first
    /// keys (default [`DEFAULT_TENANTS_IN_FLIGHT`]); beyond it, 503.
    pub fn max_in_flight(mut self, count: usize) -> Self {
        self.in_flight = count;
        self
    }

    /// How long a tenant whose keys could not be obtained is refused without
    /// trying again (default [`DEFAULT_FAILURE_MEMORY`]).
    pub fn remember_failures_for(mut self, duration: Duration) -> Self {
        self.failure_memory = duration;
        self
    }
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field("template", &self.template)
            .field("capacity", &self.capacity)
            .field("new_tenants_per_second", &self.per_second)
            .field("max_in_flight", &self.in_flight)
            .field("failure_memory", &self.failure_memory)
            .finish_non_exhaustive()
    }
}

/// The tenants of a built validator.
pub(crate) struct TenantResolver {
    config: Tenants,
    held: moka::sync::Cache<String, Arc<TrustedIssuer>>,
    failed: moka::sync::Cache<String, ()>,
    /// Tenants admitted whose first keys may still be in flight.
    pending: Mutex<Vec<Weak<TrustedIssuer>>>,
    /// Admissions in the current second: (second << 32) | count.
    admissions: AtomicU64,
}

impl TenantResolver {
    /// Checks the template once, by making an issuer of it.
    pub(crate) fn new(config: Tenants) -> Result<Self, crate::BuildError> {
        TrustedIssuer::resolve(keyless(&config, "https://tenant.check/")).map(drop)?;
        Ok(TenantResolver {
            held: moka::sync::Cache::builder().max_capacity(config.capacity).build(),
            failed: moka::sync::Cache::builder()
                .max_capacity(config.capacity.saturating_mul(10).max(1_000))
                .time_to_live(config.failure_memory)
                .build(),
            pending: Mutex::new(Vec::new()),
            admissions: AtomicU64::new(0),
            config,
        })
    }

    /// The tenant issuer for `iss`, admitted now if the rule and the bounds allow.
    pub(crate) fn resolve(&self, iss: &str, now: u64) -> Result<Arc<TrustedIssuer>, Error> {
        if let Some(issuer) = self.held.get(iss) {
            return Ok(issuer);
        }
        if !(self.config.rule)(iss) {
            return Err(Error::UntrustedIssuer);
        }
        let busy = || Error::KeysUnavailable { retry_after: Duration::from_secs(1) };
        if self.failed.contains_key(iss) {
            return Err(Error::KeysUnavailable { retry_after: self.config.failure_memory });
        }
        // Concurrent first tokens of one tenant share one admission.
        self.held
            .try_get_with(iss.to_owned(), || {
                // Held from the admission to the registration of the new
                // tenant as in flight, so that concurrent admissions of
                // different tenants cannot overshoot the bound.
                let mut pending = self.lock_pending();
                if !self.admit(&mut pending, now) {
                    tracing::debug!(
                        iss,
                        "new tenant refused for now: admission rate or in-flight bound reached"
                    );
                    return Err(busy());
                }
                let keys = (self.config.keys)(iss).map_err(|reason| {
                    tracing::warn!(iss, %reason, "no key source for tenant");
                    self.failed.insert(iss.to_owned(), ());
                    Error::UntrustedIssuer
                })?;
                let issuer = self.config.template.clone().renamed(iss).shared_key_source(keys);
                let issuer = Arc::new(TrustedIssuer::resolve(issuer).map_err(|_| Error::UntrustedIssuer)?);
                pending.push(Arc::downgrade(&issuer));
                tracing::info!(iss, "new tenant admitted");
                Ok(issuer)
            })
            .map_err(|error: Arc<Error>| (*error).clone())
    }

    /// Forgets a tenant whose keys could not be obtained, and refuses it
    /// without a fetch for a while.
    pub(crate) fn failed(&self, iss: &str) {
        self.held.invalidate(iss);
        self.failed.insert(iss.to_owned(), ());
    }

    /// Whether a tenant may be admitted now: one more in this second's
    /// budget, and room among those still fetching their first keys.
    fn admit(&self, pending: &mut Vec<Weak<TrustedIssuer>>, now: u64) -> bool {
        pending.retain(|issuer| {
            issuer.upgrade().is_some_and(|issuer| issuer.keys().is_some_and(|keys| keys.current().is_none()))
        });
        if pending.len() >= self.config.in_flight {
            return false;
        }
        let limit = u64::from(self.config.per_second);
        let this_second = now & 0xffff_ffff;
        self.admissions
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                let (second, count) = (state >> 32, state & 0xffff_ffff);
                if second != this_second {
                    (limit > 0).then_some((this_second << 32) | 1)
                } else if count < limit {
                    Some(state + 1)
                } else {
                    None
                }
            })
            .is_ok()
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Vec<Weak<TrustedIssuer>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many tenants are held (after applying pending evictions).
    pub(crate) fn held(&self) -> u64 {
        self.held.run_pending_tasks();
        self.held.entry_count()
    }

    /// The template's rules, for revocations of a tenant's tokens.
    pub(crate) fn template_for(&self, iss: &str) -> Option<Result<TrustedIssuer, crate::BuildError>> {
        if !(self.config.rule)(iss) {
            return None;
        }
        Some(TrustedIssuer::resolve(keyless(&self.config, iss)))
    }
}

/// The template named `iss`, with an empty key set: its rules without a
/// key source (to check the template, and to revoke without discovery).
fn keyless(config: &Tenants, iss: &str) -> Issuer {
    config
        .template
        .clone()
        .renamed(iss)
        .shared_key_source(Arc::new(crate::keys::StaticKeys::new(crate::KeySet::default())))
}

impl fmt::Debug for TenantResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantResolver").field("config", &self.config).finish_non_exhaustive()
    }
}
