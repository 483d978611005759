//! Metrics (feature `metrics`, through the `metrics` facade: install any
//! recorder — Prometheus, StatsD, OpenTelemetry). Without the feature these
//! are empty functions. No label ever carries a token, a `sub` or a `jti`.
//!
//! | name | kind | labels | meaning |
//! | --- | --- | --- | --- |
//! | `tokengate_validations_total` | counter | `outcome` (`accepted`/`refused`), `cause` (`Error::cause`, `none` when accepted), `issuer` (configured `iss` when accepted, else `unknown`) | validations |
//! | `tokengate_validation_seconds` | histogram | `outcome` | time from presentation to verdict |
//! | `tokengate_token_cache_total` | counter | `result` (`hit`/`miss`) | verified-token cache lookups |

#[cfg(feature = "metrics")]
mod enabled {
    use std::time::Instant;

    use crate::error::Error;

    /// When a validation started.
    pub(crate) struct Started(Instant);

    pub(crate) fn start() -> Started {
        Started(Instant::now())
    }

    pub(crate) fn validation(started: Started, result: Result<Option<&str>, &Error>) {
        let seconds = started.0.elapsed().as_secs_f64();
        let (outcome, cause, issuer) = match result {
            Ok(issuer) => ("accepted", "none", issuer.unwrap_or("any").to_owned()),
            Err(error) => ("refused", error.cause(), "unknown".to_owned()),
        };
        metrics::counter!("tokengate_validations_total", "outcome" => outcome, "cause" => cause, "issuer" => issuer)
            .increment(1);
        metrics::histogram!("tokengate_validation_seconds", "outcome" => outcome).record(seconds);
    }

    pub(crate) fn cache_lookup(hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        metrics::counter!("tokengate_token_cache_total", "result" => result).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod enabled {
    use crate::error::Error;

    pub(crate) struct Started;

    #[inline(always)]
    pub(crate) fn start() -> Started {
        Started
    }

    #[inline(always)]
    pub(crate) fn validation(_: Started, _: Result<Option<&str>, &Error>) {}

    #[inline(always)]
    pub(crate) fn cache_lookup(_: bool) {}
}

pub(crate) use enabled::{cache_lookup, start, validation};
