//! Metrics (feature `metrics`, through the `metrics` facade: install any
//! recorder — Prometheus, StatsD, OpenTelemetry). Without the feature these
//! are empty functions. No label ever carries a token, a `sub` or a `jti`.
//!
//! | name | kind | labels | meaning |
//! | --- | --- | --- | --- |
//! | `tokengate_validations_total` | counter | `outcome` (`accepted`/`refused`), `cause` (`Error::cause`, `none` when accepted), `issuer` (configured `iss` when accepted, else `unknown`) | validations |
//! | `tokengate_validation_seconds` | histogram | `outcome` | time from presentation to verdict |
//! | `tokengate_token_cache_total` | counter | `result` (`hit`/`miss`) | verified-token cache lookups |
//! | `tokengate_store_operations_total` | counter | `store` (`replay`/`revocation`), `outcome` (`ok`/`unavailable`/`full`) | calls to the replay and revocation stores on the validation path |
//! | `tokengate_store_seconds` | histogram | `store` | time of each of those calls |
//! | `tokengate_token_sharing_total` | counter | `action` (`reported`/`refused`) | presentations of a token seen from more clients than [`TokenSharing`](crate::TokenSharing) allows |

#[cfg(feature = "metrics")]
mod enabled {
    use std::future::Future;
    use std::time::Instant;

    use crate::error::Error;
    use crate::store::StoreError;

    /// When a validation started.
    pub(crate) struct Started(Instant);

    pub(crate) fn start() -> Started {
        Started(Instant::now())
    }

    pub(crate) fn validation(started: Started, result: Result<Option<&str>, &Error>) {
        let seconds = started.0.elapsed().as_secs_f64();
        // A refusal's label is static: nothing allocated per refused request.
        let (outcome, cause, issuer): (_, _, metrics::SharedString) = match result {
            Ok(issuer) => ("accepted", "none", issuer.unwrap_or("any").to_owned().into()),
            Err(error) => ("refused", error.cause(), "unknown".into()),
        };
        metrics::counter!("tokengate_validations_total", "outcome" => outcome, "cause" => cause, "issuer" => issuer)
            .increment(1);
        metrics::histogram!("tokengate_validation_seconds", "outcome" => outcome).record(seconds);
    }

    pub(crate) fn cache_lookup(hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        metrics::counter!("tokengate_token_cache_total", "result" => result).increment(1);
    }

    pub(crate) fn token_shared(refused: bool) {
        let action = if refused { "refused" } else { "reported" };
        metrics::counter!("tokengate_token_sharing_total", "action" => action).increment(1);
    }

    /// Awaits a call to the `store` (`replay`/`revocation`), counting it by
    /// outcome and timing it.
    pub(crate) async fn store_call<T>(
        store: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(StoreError::Unavailable { .. }) => "unavailable",
            Err(StoreError::Full { .. }) => "full",
        };
        metrics::counter!("tokengate_store_operations_total", "store" => store, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("tokengate_store_seconds", "store" => store)
            .record(started.elapsed().as_secs_f64());
        result
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

    #[inline(always)]
    pub(crate) fn token_shared(_: bool) {}

    /// The call itself: nothing to count.
    #[inline(always)]
    pub(crate) fn store_call<F>(_: &'static str, call: F) -> F {
        call
    }
}

pub(crate) use enabled::{cache_lookup, start, store_call, token_shared, validation};
