//! Metrics (feature `metrics`, through the `metrics` facade); without the
//! feature these are empty functions. The `source` label names the key
//! source: its JWK Set URL without query, or the issuer it discovers from;
//! `tenant` for every source made for a multi-tenant issuer
//! (`JwksSource::discover_per_tenant`), because tokens name tenants, and an
//! attacker naming new ones must not create a series each.
//!
//! | name | kind | labels | meaning |
//! | --- | --- | --- | --- |
//! | `tokengate_jwks_fetches_total` | counter | `source`, `outcome` (`ok`/`error`) | JWK Set fetches (discovery included) |
//! | `tokengate_jwks_keys` | gauge | `source` | keys in the set last fetched |
//! | `tokengate_jwks_last_success_timestamp_seconds` | gauge | `source` | when the keys in use were fetched (Unix time): their age is now minus this |

use crate::config::Config;

/// The `source` label of a key source.
#[cfg(feature = "metrics")]
fn source_label(config: &Config) -> String {
    use crate::config::Target;
    if let Some(fixed) = config.metrics_source {
        return fixed.to_owned();
    }
    match &config.target {
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
pub(crate) fn fetched(config: &Config, keys: usize, now: u64) {
    let source = source_label(config);
    metrics::counter!("tokengate_jwks_fetches_total", "source" => source.clone(), "outcome" => "ok")
        .increment(1);
    metrics::gauge!("tokengate_jwks_keys", "source" => source.clone()).set(keys as f64);
    metrics::gauge!("tokengate_jwks_last_success_timestamp_seconds", "source" => source).set(now as f64);
}

/// A fetch failed.
#[cfg(feature = "metrics")]
pub(crate) fn failed(config: &Config) {
    metrics::counter!("tokengate_jwks_fetches_total", "source" => source_label(config), "outcome" => "error")
        .increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn fetched(_: &Config, _: usize, _: u64) {}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn failed(_: &Config) {}
