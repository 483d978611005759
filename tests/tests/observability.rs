//! What an operator sees: one `tracing` span per validation (at `debug`)
//! naming the outcome and the refusal's cause, the issuer, `sub`, `jti`,
//! the algorithm and `kid`, and a short hash of the token — never the
//! token, a key, or a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokengate::{Algorithm, ManualClock, Presentation, StandardClaims, TokenSharing, Validator};
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

    // Token-sharing detection in report mode: accepted, and a warning.
    let reporting = tokengate::Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(tokengate::ManualClock::new(NOW))
        .token_sharing(tokengate::TokenSharing::report_above(1))
        .build()
        .unwrap();
    for client in ["10.0.0.1", "10.0.0.2"] {
        let presentation = tokengate::Presentation::bearer(good.clone()).from_client(client);
        let verified = block_on(reporting.validate_presentation::<tokengate::StandardClaims>(&presentation));
        assert!(verified.is_ok(), "reported, not refused: {verified:?}");
    }

    let text = logs.text();
    assert!(text.contains("tokengate.validate"), "{text}");
    assert!(text.contains(r#"outcome="accepted""#) || text.contains("outcome=accepted"), "{text}");
    assert!(text.contains("sub=\"user-1\"") || text.contains("sub=user-1"), "{text}");
    assert!(text.contains("kid=\"key-7\"") || text.contains("kid=key-7"), "{text}");
    assert!(text.contains("token refused: the token has expired"), "{text}");
    assert!(text.contains("cause=\"expired\"") || text.contains("cause=expired"), "{text}");
    let shared =
        text.lines().find(|line| line.contains("more distinct clients than allowed")).expect("{text}");
    assert!(
        shared.contains("WARN") && shared.contains("clients=2") && shared.contains("limit=1"),
        "{shared}"
    );
    assert!(!text.contains("10.0.0."), "fingerprints are not logged: {text}");
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
    use metrics_util::debugging::DebuggingRecorder;

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
    let Metrics { counters, histograms, .. } = Metrics::read(&snapshotter);
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
    assert_eq!(histograms.get("tokengate_validation_seconds{outcome=accepted}"), Some(&3));
    assert_eq!(histograms.get("tokengate_validation_seconds{outcome=refused}"), Some(&1));
    // The revocation store is asked once per token that passed every other check.
    assert_eq!(
        counters.get("tokengate_store_operations_total{store=revocation,outcome=ok}"),
        Some(&3),
        "{counters:?}"
    );
    assert_eq!(histograms.get("tokengate_store_seconds{store=revocation}"), Some(&3));

    // Token sharing: one presentation reported, one refused.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        for sharing in [TokenSharing::report_above(1), TokenSharing::refuse_above(1)] {
            let counting = Validator::builder()
                .issuer(issuer(&[Algorithm::ES256], &[&key]))
                .clock(ManualClock::new(NOW))
                .token_sharing(sharing)
                .build()
                .unwrap();
            for client in ["client-1", "client-2"] {
                let presentation = Presentation::bearer(good.clone()).from_client(client);
                drop(block_on(counting.validate_presentation::<StandardClaims>(&presentation)));
            }
        }
    });
    let counters = Metrics::read(&snapshotter).counters;
    for action in ["reported", "refused"] {
        let name = format!("tokengate_token_sharing_total{{action={action}}}");
        assert_eq!(counters.get(&name), Some(&1), "{counters:?}");
    }
    assert_eq!(
        counters.get("tokengate_validations_total{outcome=refused,cause=shared_token,issuer=unknown}"),
        Some(&1),
        "{counters:?}"
    );
}

/// Every metric recorded, by name and labels (`name{k=v,…}`); no label
/// carries the test tokens' `sub` or `jti`.
struct Metrics {
    counters: std::collections::BTreeMap<String, u64>,
    gauges: std::collections::BTreeMap<String, f64>,
    histograms: std::collections::BTreeMap<String, usize>,
}

impl Metrics {
    fn read(snapshotter: &metrics_util::debugging::Snapshotter) -> Metrics {
        use metrics_util::debugging::DebugValue;
        let mut metrics = Metrics {
            counters: Default::default(),
            gauges: Default::default(),
            histograms: Default::default(),
        };
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let (_, key) = key.into_parts();
            let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            for label in &labels {
                // The subjects and token ids of every test token here.
                assert!(!["user-1", "token-1", "alice"].iter().any(|leak| label.contains(leak)), "{label}");
            }
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            match value {
                DebugValue::Counter(count) => drop(metrics.counters.insert(name, count)),
                DebugValue::Gauge(value) => drop(metrics.gauges.insert(name, value.into_inner())),
                DebugValue::Histogram(samples) => drop(metrics.histograms.insert(name, samples.len())),
            }
        }
        metrics
    }
}

/// Feature `metrics` with JWKS and single use: key-set fetches by outcome,
/// the number of keys and when they were fetched; replay-store calls by
/// outcome (a replay is refused, and counted by its cause).
#[test]
fn key_fetches_and_single_use_are_counted() {
    use metrics_util::debugging::DebuggingRecorder;
    use tokengate::jwks::JwksSource;
    use tokengate::{Issuer, SingleUse, StandardClaims, Validator};
    use tokengate_testkit::{Failure, MockIssuer};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let started = tokengate_testkit::now();
    let issuer_url = metrics::with_local_recorder(&recorder, || {
        // One thread: the key source's fetch tasks record into this recorder.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let idp = MockIssuer::start().await.unwrap();
            let keys = JwksSource::discover(idp.issuer())
                .allow_http_loopback(true)
                .cooldown(std::time::Duration::ZERO)
                .build()
                .unwrap();
            let validator = Validator::builder()
                .issuer(
                    Issuer::new(idp.issuer())
                        .audience(idp.audience())
                        .algorithms([Algorithm::ES256])
                        .key_source(keys.clone())
                        .single_use(SingleUse::new()),
                )
                .build()
                .unwrap();
            // `sub` and `jti` the metrics' leak check looks for.
            let token = idp.token(serde_json::json!({ "sub": "user-1", "jti": "token-1" }));
            validator.validate_token::<StandardClaims>(&token).await.expect("first use");
            let replay = validator.validate_token::<StandardClaims>(&token).await.unwrap_err();
            assert_eq!(replay, tokengate::Error::Replayed);
            idp.fail(Failure::ServerError);
            assert!(keys.refresh_now().await.is_err());
            idp.fail(Failure::None);
            // A tenant's key source: one fixed label, whatever the tenant.
            let per_tenant = JwksSource::discover_per_tenant(|keys| keys.allow_http_loopback(true));
            let tenant = per_tenant(idp.issuer()).expect("a tenant source");
            assert!(tenant.refresh(tokengate::keys::RefreshReason::NoKeysYet).await.is_ok());
            idp.issuer().to_owned()
        })
    });
    let Metrics { counters, gauges, histograms } = Metrics::read(&snapshotter);
    let source = format!("source={issuer_url}");
    // One successful fetch under the URL: the tenant source's fetch of the
    // same issuer is counted under `tenant`, not here.
    assert_eq!(
        counters.get(&format!("tokengate_jwks_fetches_total{{{source},outcome=ok}}")),
        Some(&1),
        "{counters:?}"
    );
    assert_eq!(
        counters.get(&format!("tokengate_jwks_fetches_total{{{source},outcome=error}}")),
        Some(&1),
        "{counters:?}"
    );
    assert_eq!(gauges.get(&format!("tokengate_jwks_keys{{{source}}}")), Some(&1.0), "{gauges:?}");
    assert_eq!(
        counters.get("tokengate_jwks_fetches_total{source=tenant,outcome=ok}"),
        Some(&1),
        "{counters:?}"
    );
    let fetched_at = gauges[&format!("tokengate_jwks_last_success_timestamp_seconds{{{source}}}")];
    assert!(fetched_at >= started as f64 && fetched_at <= tokengate_testkit::now() as f64, "{fetched_at}");
    assert_eq!(
        counters.get("tokengate_store_operations_total{store=replay,outcome=ok}"),
        Some(&2),
        "{counters:?}"
    );
    assert_eq!(histograms.get("tokengate_store_seconds{store=replay}"), Some(&2));
    assert_eq!(
        counters.get("tokengate_validations_total{outcome=refused,cause=replayed,issuer=unknown}"),
        Some(&1),
        "{counters:?}"
    );
}

/// The verdict hook gets every outcome — accepted with who and what,
/// refused with why — named by a short hash, never the token.
#[test]
fn the_verdict_hook_sees_every_outcome_without_the_token() {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k1");
    let (sender, verdicts) = std::sync::mpsc::channel();
    let sender = Mutex::new(sender);
    let validator = tokengate::Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(tokengate::ManualClock::new(NOW))
        .on_verdict(move |verdict| sender.lock().unwrap().send(verdict.clone()).unwrap())
        .build()
        .unwrap();
    let good = key.token(&good_claims());
    let expired = key.token(&claims_with(json!({ "exp": NOW - 3600 })));
    assert!(check(&validator, &good).is_ok());
    assert!(check(&validator, &expired).is_err());
    let wait = std::time::Duration::from_secs(5);
    let accepted = verdicts.recv_timeout(wait).expect("a verdict for the good token");
    assert_eq!(accepted.outcome, Ok(()));
    assert_eq!(accepted.issuer.as_deref(), Some(ISS));
    assert_eq!(accepted.subject.as_deref(), Some("user-1"));
    assert_eq!(accepted.token_id.as_deref(), Some("token-1"));
    assert_eq!(accepted.client_id.as_deref(), Some("client-1"));
    assert_eq!((accepted.algorithm, accepted.key_id.as_deref()), (Some(Algorithm::ES256), Some("k1")));
    assert_eq!(accepted.at, NOW);
    let refused = verdicts.recv_timeout(wait).expect("a verdict for the expired token");
    assert_eq!(refused.outcome, Err(tokengate::Error::Expired));
    assert_eq!((&refused.subject, &refused.issuer), (&None, &None), "nothing is vouched for a refused token");
    for (verdict, token) in [(&accepted, &good), (&refused, &expired)] {
        assert_eq!(verdict.token_hash.len(), 16);
        assert!(verdict.token_hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!format!("{verdict:?}").contains(token.as_str()));
        assert!(!token.contains(&verdict.token_hash));
    }
    assert_ne!(accepted.token_hash, refused.token_hash);
    assert_eq!(validator.verdicts_dropped(), 0);
}

/// A slow hook never slows a request: verdicts beyond the queue are
/// dropped and counted, and a panicking hook loses one verdict, not the rest.
#[test]
fn a_slow_or_panicking_hook_delays_no_request() {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k1");
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = Mutex::new(released);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let validator = tokengate::Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(tokengate::ManualClock::new(NOW))
        .verdict_queue(2)
        .on_verdict(move |verdict| {
            let jti = verdict.token_id.clone().unwrap_or_default();
            if jti == "panics" {
                panic!("a hook that panics");
            }
            // Blocks until the test releases it (at most 10 s).
            let _ = released.lock().unwrap().recv_timeout(std::time::Duration::from_secs(10));
            record.lock().unwrap().push(jti);
        })
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    for i in 0..20 {
        let token = key.token(&claims_with(json!({ "jti": format!("t-{i}") })));
        assert!(check(&validator, &token).is_ok());
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "no request waited for the hook");
    // One verdict in the hook, two queued, the rest dropped.
    assert!(validator.verdicts_dropped() >= 17, "{} dropped", validator.verdicts_dropped());
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seen.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(seen.lock().unwrap().len(), 3, "the hook saw what was queued");
    // A panic in the hook: that verdict is lost, the next one arrives.
    let dropped = validator.verdicts_dropped();
    assert!(check(&validator, &key.token(&claims_with(json!({ "jti": "panics" })))).is_ok());
    assert!(check(&validator, &key.token(&claims_with(json!({ "jti": "after" })))).is_ok());
    release.send(()).unwrap();
    while !seen.lock().unwrap().contains(&"after".to_owned()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(seen.lock().unwrap().contains(&"after".to_owned()), "the thread survived the panic");
    assert_eq!(validator.verdicts_dropped(), dropped);
}
