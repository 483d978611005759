//! The answer cache and single flight, counting calls at a real endpoint on
//! 127.0.0.1. Time is moved with a `ManualClock`: expiry is decided by the
//! source's clock, whatever the cache's own eviction thinks.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Endpoint, Mode, active, init_tracing, source_on};
use tokengate_core::{Clock as _, ManualClock};
use tokengate_introspect::{Introspection, IntrospectionSource, Introspector as _};
use tokio::task::JoinSet;

const TOKEN: &str = "opaque-token-1";

async fn is_active(source: &IntrospectionSource, token: &str) -> bool {
    matches!(source.introspect(token).await.expect("an answer"), Introspection::Active(_))
}

#[tokio::test]
async fn a_second_validation_is_served_from_the_cache() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));
    let source = source_on(&endpoint, &clock).build().unwrap();

    let started = Instant::now();
    assert!(is_active(&source, TOKEN).await);
    let miss = started.elapsed();
    let started = Instant::now();
    const HITS: u32 = 1000;
    for _ in 0..HITS {
        assert!(is_active(&source, TOKEN).await);
    }
    let hit = started.elapsed() / HITS;
    eprintln!("introspection: miss (loopback HTTP call) {miss:?}, cache hit {hit:?}");
    assert_eq!(endpoint.calls(), 1);
    // Another token is another entry.
    endpoint.answer("opaque-token-2", active("bob", clock.now() + 600));
    assert!(is_active(&source, "opaque-token-2").await);
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test]
async fn an_active_answer_is_reused_until_its_exp() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 10));
    let source = source_on(&endpoint, &clock).build().unwrap();

    assert!(is_active(&source, TOKEN).await);
    clock.advance(Duration::from_secs(9));
    assert!(is_active(&source, TOKEN).await);
    assert_eq!(endpoint.calls(), 1, "reused before its exp");
    clock.advance(Duration::from_secs(1));
    endpoint.answer(TOKEN, json!({ "active": false }));
    assert_eq!(source.introspect(TOKEN).await, Ok(Introspection::Inactive), "asked again at its exp");
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test]
async fn an_active_answer_is_reused_for_at_most_the_max_age() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 3600));
    endpoint.answer("no-exp", json!({ "active": true, "sub": "bob" }));
    endpoint.answer("bad-exp", json!({ "active": true, "exp": "soon" }));
    let source = source_on(&endpoint, &clock).build().unwrap();

    for token in [TOKEN, "no-exp", "bad-exp"] {
        assert!(is_active(&source, token).await);
    }
    clock.advance(Duration::from_secs(29));
    for token in [TOKEN, "no-exp", "bad-exp"] {
        assert!(is_active(&source, token).await);
    }
    assert_eq!(endpoint.calls(), 4, "an `exp` that is no NumericDate is never reused");
    clock.advance(Duration::from_secs(1));
    for token in [TOKEN, "no-exp"] {
        assert!(is_active(&source, token).await);
    }
    assert_eq!(endpoint.calls(), 6, "both asked again after 30 s");

    // A configured max age; zero reuses nothing.
    let short = source_on(&endpoint, &clock).cache_max_age(Duration::from_secs(5)).build().unwrap();
    assert!(is_active(&short, TOKEN).await);
    clock.advance(Duration::from_secs(4));
    assert!(is_active(&short, TOKEN).await);
    clock.advance(Duration::from_secs(1));
    assert!(is_active(&short, TOKEN).await);
    assert_eq!(endpoint.calls(), 8);
    let none = source_on(&endpoint, &clock).cache_max_age(Duration::ZERO).build().unwrap();
    assert!(is_active(&none, TOKEN).await);
    assert!(is_active(&none, TOKEN).await);
    assert_eq!(endpoint.calls(), 10);
}

#[tokio::test]
async fn an_inactive_answer_is_reused_briefly() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let source = source_on(&endpoint, &clock).build().unwrap();

    assert_eq!(source.introspect(TOKEN).await, Ok(Introspection::Inactive));
    clock.advance(Duration::from_secs(4));
    assert_eq!(source.introspect(TOKEN).await, Ok(Introspection::Inactive));
    assert_eq!(endpoint.calls(), 1, "reused for 5 s");
    // Became active at the server (rare): seen once the 5 s are over.
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));
    clock.advance(Duration::from_secs(1));
    assert!(is_active(&source, TOKEN).await);
    assert_eq!(endpoint.calls(), 2);

    let configured = source_on(&endpoint, &clock).inactive_max_age(Duration::from_secs(60)).build().unwrap();
    assert_eq!(configured.introspect("dead").await, Ok(Introspection::Inactive));
    clock.advance(Duration::from_secs(59));
    assert_eq!(configured.introspect("dead").await, Ok(Introspection::Inactive));
    assert_eq!(endpoint.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_validations_of_one_uncached_token_make_one_call() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));
    // Hold the call in flight long enough for every request to arrive.
    endpoint.set_delay(Duration::from_millis(300));
    let source = source_on(&endpoint, &clock).build().unwrap();

    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let source = source.clone();
        tasks.spawn(async move { is_active(&source, TOKEN).await });
    }
    while let Some(active) = tasks.join_next().await {
        assert!(active.unwrap());
    }
    assert_eq!(endpoint.calls(), 1);

    // A failure is shared by the requests waiting for it, and not kept.
    endpoint.set_mode(Mode::Status(500, None));
    let mut tasks = JoinSet::new();
    for _ in 0..50 {
        let source = source.clone();
        tasks.spawn(async move { source.introspect("uncached").await });
    }
    while let Some(answer) = tasks.join_next().await {
        assert!(answer.unwrap().is_err());
    }
    assert_eq!(endpoint.calls(), 2, "one call for the 50 waiting requests");
    assert!(source.introspect("uncached").await.is_err());
    assert_eq!(endpoint.calls(), 3, "failures are not cached");
}

#[tokio::test]
async fn the_cache_is_bounded_in_bytes() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let padding = "x".repeat(900);
    for index in 0..100 {
        endpoint.answer(
            &format!("t{index}"),
            json!({ "active": true, "exp": clock.now() + 600, "pad": padding }),
        );
    }
    let source = source_on(&endpoint, &clock).cache_max_bytes(20 * 1024).build().unwrap();
    for index in 0..100 {
        assert!(is_active(&source, &format!("t{index}")).await);
    }
    // Let the cache settle its bookkeeping.
    let settled = support::eventually(Duration::from_secs(5), || {
        let status = source.status();
        status.cached_bytes <= 20 * 1024 && status.cached_answers < 100
    })
    .await;
    let status = source.status();
    assert!(settled || status.cached_bytes <= 20 * 1024, "{status:?}");
    eprintln!("cache bounded at 20 KiB: {} answers, {} bytes", status.cached_answers, status.cached_bytes);
}

/// A `tracing` writer collecting everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_a_digest_prefix_never_the_token_or_the_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter("tokengate_introspect=trace,tokengate_jwks=trace")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let token = "secret-opaque-token-value";
    endpoint.answer(token, active("alice", clock.now() + 600));
    for source in [
        source_on(&endpoint, &clock).build().unwrap(),
        IntrospectionSource::from_url(&endpoint.url())
            .allow_http_loopback(true)
            .client_secret_post(support::CLIENT_ID, support::CLIENT_SECRET)
            .build()
            .unwrap(),
    ] {
        assert!(is_active(&source, token).await);
        endpoint.set_mode(Mode::Status(500, None));
        assert!(source.introspect("another-secret-token").await.is_err());
        endpoint.set_mode(Mode::Serve);
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("token introspection failed"), "{logs}");
    assert!(!logs.contains("secret-opaque-token") && !logs.contains("another-secret-token"), "{logs}");
    assert!(!logs.contains(support::CLIENT_SECRET), "{logs}");
    // The 16-hex-digit SHA-256 prefix stands for the token, as in the validator's span.
    for logged in [token, "another-secret-token"] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, logged.as_bytes());
        let prefix: String = digest.as_ref()[..8].iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(logs.contains(&format!("token_sha256={prefix} ")), "{logs}");
    }
}
