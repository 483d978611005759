//! What an operator sees: one `tracing` span per validation (at `debug`)
//! naming the outcome and the refusal's cause, the issuer, `sub`, `jti`,
//! the algorithm and `kid`, and a short hash of the token — never the
//! token, a key, or a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokengate::Algorithm;
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

/// Everything a `debug` subscriber writes, with span fields on each event.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
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

#[test]
fn each_validation_is_one_span_and_each_refusal_says_why_without_the_token() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    // Global, not per-thread: `tracing` caches each callsite's interest
    // process-wide, and another test's thread may register it first.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");

    let key = SigningKey::generate(Algorithm::ES256).with_kid("key-7");
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let good = key.token(&good_claims());
    let expired = key.token(&claims_with(json!({ "exp": NOW - 3600, "jti": "old-1" })));
    assert!(check(&validator, &good).is_ok());
    assert!(check(&validator, &expired).is_err());

    let text = logs.text();
    assert!(text.contains("tokengate.validate"), "{text}");
    assert!(text.contains(r#"outcome="accepted""#) || text.contains("outcome=accepted"), "{text}");
    assert!(text.contains("sub=\"user-1\"") || text.contains("sub=user-1"), "{text}");
    assert!(text.contains("kid=\"key-7\"") || text.contains("kid=key-7"), "{text}");
    assert!(text.contains("token refused: the token has expired"), "{text}");
    assert!(text.contains("cause=\"expired\"") || text.contains("cause=expired"), "{text}");
    for token in [&good, &expired] {
        for segment in token.split('.') {
            assert!(!text.contains(segment), "a token segment leaked into the logs: {text}");
        }
    }
}

/// Feature `metrics`: a counter per validation by outcome and cause, a
/// latency histogram, and cache hits and misses — no label carries a token,
/// a `sub` or a `jti`.
#[test]
fn validations_and_cache_lookups_are_counted() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let key = SigningKey::generate(Algorithm::ES256).with_kid("key-7");
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let good = key.token(&good_claims());
    let expired = key.token(&claims_with(json!({ "exp": NOW - 3600 })));
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..3 {
            assert!(check(&validator, &good).is_ok());
        }
        assert!(check(&validator, &expired).is_err());
    });
    let mut counters = std::collections::BTreeMap::new();
    let mut histograms = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (kind, key) = key.into_parts();
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        for label in &labels {
            assert!(!label.contains("user-1") && !label.contains("token-1"), "{label}");
        }
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        match value {
            DebugValue::Counter(count) => drop(counters.insert(name, count)),
            DebugValue::Histogram(samples) => histograms += samples.len(),
            DebugValue::Gauge(_) => {}
        }
        let _ = kind;
    }
    assert_eq!(
        counters.get(&format!("tokengate_validations_total{{outcome=accepted,cause=none,issuer={ISS}}}")),
        Some(&3),
        "{counters:?}"
    );
    assert_eq!(
        counters.get("tokengate_validations_total{outcome=refused,cause=expired,issuer=unknown}"),
        Some(&1),
        "{counters:?}"
    );
    assert_eq!(counters.get("tokengate_token_cache_total{result=hit}"), Some(&2), "{counters:?}");
    assert_eq!(counters.get("tokengate_token_cache_total{result=miss}"), Some(&2), "{counters:?}");
    assert_eq!(histograms, 4);
}
