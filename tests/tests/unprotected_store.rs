//! Invariant 5 of `docs/single-use.md`: the default in-memory replay store
//! has no restart protection — a spent token is accepted once more by a
//! restarted process, as documented — and single use on it is warned about.
//! Alone in its test binary: it installs the process-wide log subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokengate::{Algorithm, Error, ManualClock, MemoryReplayStore, SingleUse, Validator};
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

const INVALID: Option<&str> = Some("invalid_token");

/// 5: the default in-memory store has no restart protection — a spent
/// token is accepted once more by a restarted process, as documented — and
/// single use on it is warned about, once, at build (issuer-wide single
/// use) or at the first route-level use.
#[test]
fn the_default_store_forgets_uses_on_restart_and_says_so() {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let clock = ManualClock::new(NOW);
    let logs = Captured::default();
    // Global, not per-thread: `tracing` caches each callsite's interest
    // process-wide, and another test's thread may register it first.
    tracing::subscriber::set_global_default(logs.subscriber())
        .expect("the only subscriber of this test binary");

    let first = on_clock(issuer(&[Algorithm::ES256], &[&key]), &clock);
    let token = key.token(&good_claims());
    assert_eq!(logs.count(WARNING), 0, "no single use yet, no warning");
    use_once(&first, &token).unwrap();
    assert_refused(use_once(&first, &token), Error::Replayed, 401, INVALID, &token);
    assert_eq!(logs.count(WARNING), 1, "warned once, at the first route-level use");

    let restarted = on_clock(issuer(&[Algorithm::ES256], &[&key]), &clock);
    assert!(use_once(&restarted, &token).is_ok(), "documented: an unprotected store forgets on restart");

    let issuer_wide = issuer(&[Algorithm::ES256], &[&key]).single_use(SingleUse::new());
    let _built = on_clock(issuer_wide, &clock);
    assert_eq!(logs.count(WARNING), 3, "and at build for an issuer-wide policy");

    let protected = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]).single_use(SingleUse::new()))
        .replay_store(MemoryReplayStore::new().records_since(NOW - 60))
        .clock(clock.clone())
        .build()
        .unwrap();
    assert!(check(&protected, &key.token(&claims_with(json!({ "jti": "p" })))).is_ok());
    assert_eq!(logs.count(WARNING), 3, "no warning with restart protection");
}

const WARNING: &str = "single use runs on an in-memory replay store without restart protection";

/// Log lines written by a `tracing` subscriber, for counting warnings.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish()
    }

    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap()).matches(needle).count()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
