//! Metrics (feature `metrics`, through the `metrics` facade); without the
//! feature these are empty functions. The `source` label names the key
//! source: its JWK Set URL without query, or the issuer it discovers from.
//!
//! | name | kind | labels | meaning |
//! | --- | --- | --- | --- |
//! | `tokengate_jwks_fetches_total` | counter | `source`, `outcome` (`ok`/`error`) | JWK Set fetches (discovery included) |
//! | `tokengate_jwks_keys` | gauge | `source` | keys in the set last fetched |
//! | `tokengate_jwks_last_success_timestamp_seconds` | gauge | `source` | when the keys in use were fetched (Unix time): their age is now minus this |

use crate::config::Target;

/// The `source` label of a key source.
#[cfg(feature = "metrics")]
fn source_label(target: &Target) -> String {
    match target {
        Target::JwksUrl(url) => {
            let mut url = url.clone();
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Target::Discover { issuer, .. } => issuer.clone(),
    }
}

/// A fetch succeeded at `now` (Unix seconds) with `keys` keys.
#[cfg(feature = "metrics")]
pub(crate) fn fetched(target: &Target, keys: usize, now: u64) {
    let source = source_label(target);
    metrics::counter!("tokengate_jwks_fetches_total", "source" => source.clone(), "outcome" => "ok")
        .increment(1);
    metrics::gauge!("tokengate_jwks_keys", "source" => source.clone()).set(keys as f64);
    metrics::gauge!("tokengate_jwks_last_success_timestamp_seconds", "source" => source).set(now as f64);
}

/// A fetch failed.
#[cfg(feature = "metrics")]
pub(crate) fn failed(target: &Target) {
    metrics::counter!("tokengate_jwks_fetches_total", "source" => source_label(target), "outcome" => "error")
        .increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn fetched(_: &Target, _: usize, _: u64) {}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn failed(_: &Target) {}
