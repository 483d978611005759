//! The JWK Set source against a real HTTP issuer on 127.0.0.1: single-flight
//! fetches, the unknown-`kid` cooldown, rotation, outages.
//!
//! Time that would need waiting is moved with a `ManualClock`; the only real
//! waits are a server delay (to hold a fetch in flight), a request timeout
//! of 300 ms, and polling for the background task (at most a few seconds).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{
    Mode, TestIssuer, eventually, forged_token, init_tracing, ready_source, source_on, token, validate,
    validator,
};
use tokengate_core::keys::{KeySource as _, RefreshReason};
use tokengate_core::{Clock as _, Error, ManualClock};
use tokengate_jwks::JwksFetchError;
use tokengate_testkit::jwk_set;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_cache_1000_concurrent_validations_cause_exactly_one_fetch() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    // Hold the fetch in flight long enough for every request to arrive.
    server.set_delay(Duration::from_millis(300));
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = source_on(&server, &clock).build().unwrap();
    assert!(source.current().is_none(), "build must not wait for the first fetch");
    let validator = validator(&iss, source, &clock);
    let token = token(&k1, &iss, &clock);

    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..1000 {
        let (validator, token) = (validator.clone(), token.clone());
        tasks.spawn(async move { validate(&validator, &token).await });
    }
    let mut ok = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap().expect("every request validates once the keys arrive");
        ok += 1;
    }
    eprintln!("1000 concurrent cold-cache validations: {:?}", started.elapsed());
    assert_eq!(ok, 1000);
    assert_eq!(server.jwks_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_fetches_at_most_once_per_cooldown() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = ready_source(&server, &clock).await;
    let validator = validator(&iss, source, &clock);
    assert_eq!(server.jwks_hits(), 1);

    let mut seed = clock.now() ^ 0x9E37_79B9_7F4A_7C15;
    for round in 0..3u64 {
        let tokens: Vec<String> = (0..10_000)
            .map(|_| {
                // xorshift: random-looking kids, never repeated
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                forged_token(&format!("{seed:016x}"), &iss, &clock)
            })
            .collect();
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for chunk in tokens.chunks(500) {
            let (validator, chunk) = (validator.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for token in chunk {
                    assert_eq!(validate(&validator, &token).await, Err(Error::NoMatchingKey));
                }
            });
        }
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
        }
        eprintln!("round {round}: 10,000 unknown kids refused in {:?}", started.elapsed());
        // Round 0 falls within the cooldown of the start-up fetch; each
        // later round starts right after a cooldown has passed.
        assert_eq!(server.jwks_hits(), 1 + round as usize, "round {round}");
        // A real token still validates, without a fetch.
        validate(&validator, &token(&k1, &iss, &clock)).await.unwrap();
        assert_eq!(server.jwks_hits(), 1 + round as usize);
        clock.advance(Duration::from_secs(31));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_survive_an_outage_for_the_staleness_window_then_503() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = source_on(&server, &clock)
        .default_refresh_interval(Duration::from_secs(300))
        .max_staleness(Duration::from_secs(3600))
        .backoff(Duration::from_secs(1), Duration::from_secs(60))
        .build()
        .unwrap();
    source.refresh(RefreshReason::NoKeysYet).await.unwrap();
    let fetched_at = source.status().fetched_at.unwrap();
    assert_eq!(source.status().usable_until, Some(fetched_at + 300 + 3600));
    let validator = validator(&iss, source.clone(), &clock);
    let token = token(&k1, &iss, &clock);
    validate(&validator, &token).await.unwrap();

    server.set_mode(Mode::Status(503));
    clock.set(fetched_at + 301);
    let error = source.refresh_now().await.unwrap_err();
    assert!(matches!(*error, JwksFetchError::Status { status: 503, .. }), "{error}");
    validate(&validator, &token).await.expect("stale keys still verify");

    // Walk through the staleness window: every check passes.
    for at in [fetched_at + 1000, fetched_at + 2500, fetched_at + 300 + 3600] {
        clock.set(at);
        validate(&validator, &token).await.expect("within the staleness window");
    }
    assert!(source.status().consecutive_failures >= 1);

    // One second past it: no keys, 503 with Retry-After.
    clock.set(fetched_at + 300 + 3600 + 1);
    let error = validate(&validator, &token).await.unwrap_err();
    assert!(matches!(error, Error::KeysUnavailable { .. }), "{error:?}");
    assert_eq!(error.status(), 503);
    assert!(error.retry_after().unwrap() >= Duration::from_secs(1));
    assert!(source.current().is_none());

    // The endpoint recovers: once the backoff allows, the next request fetches.
    // (Let a background retry that may have met the 503 finish first.)
    server.set_mode(Mode::Serve);
    assert!(eventually(Duration::from_secs(3), || !source.status().fetching).await);
    clock.advance(Duration::from_secs(61));
    validate(&validator, &token).await.expect("keys fetched again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_keys_ever_is_503_and_the_next_request_after_the_backoff_tries_again() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    server.set_mode(Mode::Status(500));
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source =
        source_on(&server, &clock).backoff(Duration::from_secs(10), Duration::from_secs(60)).build().unwrap();
    let validator = validator(&iss, source.clone(), &clock);
    let token = token(&k1, &iss, &clock);

    // Joins the start-up fetch, which fails.
    let error = validate(&validator, &token).await.unwrap_err();
    assert_eq!(error, Error::KeysUnavailable { retry_after: Duration::from_secs(10) });
    assert_eq!(error.status(), 503);
    assert_eq!(server.jwks_hits(), 1);

    // Within the backoff: refused at once, no fetch.
    clock.advance(Duration::from_secs(4));
    assert_eq!(
        validate(&validator, &token).await,
        Err(Error::KeysUnavailable { retry_after: Duration::from_secs(6) })
    );
    assert_eq!(server.jwks_hits(), 1);

    // After the backoff the next request fetches; still failing: the delay doubles.
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        validate(&validator, &token).await,
        Err(Error::KeysUnavailable { retry_after: Duration::from_secs(20) })
    );
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(source.status().consecutive_failures, 2);

    // The endpoint recovers; after the backoff one request fetches and validates.
    server.set_mode(Mode::Serve);
    clock.advance(Duration::from_secs(20));
    validate(&validator, &token).await.expect("keys arrived");
    assert_eq!(server.jwks_hits(), 3);
    assert_eq!(source.status().consecutive_failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_new_kid_validates_on_first_need_and_removed_key_stops_after_refresh() {
    init_tracing();
    let (k1, k2) = (support::es256("k1"), support::es256("k2"));
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = ready_source(&server, &clock).await;
    let validator = validator(&iss, source.clone(), &clock);
    let (t1, t2) = (token(&k1, &iss, &clock), token(&k2, &iss, &clock));
    validate(&validator, &t1).await.unwrap();

    // The issuer adds k2. Within the cooldown of the start-up fetch a k2
    // token is refused without a fetch (cooldown rule).
    server.publish(jwk_set([&k1, &k2]));
    assert_eq!(validate(&validator, &t2).await, Err(Error::NoMatchingKey));
    assert_eq!(server.jwks_hits(), 1);

    // Past the cooldown, the first requests that need k2 fetch once, together.
    clock.advance(Duration::from_secs(30));
    let mut tasks = JoinSet::new();
    for _ in 0..200 {
        let (validator, t2) = (validator.clone(), t2.clone());
        tasks.spawn(async move { validate(&validator, &t2).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().expect("k2 validates on the first request that needs it");
    }
    assert_eq!(server.jwks_hits(), 2);

    // The issuer removes k1; it verifies until the next refresh, then never.
    server.publish(jwk_set([&k2]));
    validate(&validator, &t1).await.expect("k1 still cached");
    // The background task performs the next scheduled refresh (300 s).
    clock.advance(Duration::from_secs(300));
    assert!(
        eventually(Duration::from_secs(3), || source.status().kids == ["k2"]).await,
        "background refresh"
    );
    assert_eq!(validate(&validator, &t1).await, Err(Error::NoMatchingKey));
    validate(&validator, &t2).await.unwrap();
    // The refused k1 token caused no extra fetch (cooldown after the refresh).
    assert_eq!(server.jwks_hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_refresh_follows_cache_control_within_bounds() {
    init_tracing();
    let (k1, k2) = (support::es256("k1"), support::es256("k2"));
    let server = TestIssuer::start(jwk_set([&k1])).await;
    server.set_cache_control(Some("public, max-age=120"));
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = ready_source(&server, &clock).await;
    let status = source.status();
    assert_eq!(status.next_refresh_at, status.fetched_at.unwrap() + 120);

    // The background task refreshes on its own once max-age has passed.
    server.publish(jwk_set([&k2]));
    clock.advance(Duration::from_secs(121));
    assert!(eventually(Duration::from_secs(3), || server.jwks_hits() == 2).await, "background refresh");
    assert!(eventually(Duration::from_secs(1), || source.status().kids == ["k2"]).await);
    let validator = validator(&iss, source.clone(), &clock);
    validate(&validator, &token(&k2, &iss, &clock)).await.unwrap();
    assert_eq!(server.jwks_hits(), 2);

    // max-age is clamped to 60 s – 1 h; no-store / no-cache mean "use the default".
    for (header, interval) in [
        (Some("max-age=5"), 60),
        (Some("max-age=1000000000"), 3600),
        (Some("no-store, max-age=600"), 300),
        (Some("max-age=600, no-cache"), 300),
        (None, 300),
    ] {
        server.set_cache_control(header);
        source.refresh_now().await.unwrap();
        let status = source.status();
        assert_eq!(status.next_refresh_at - status.fetched_at.unwrap(), interval, "{header:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_refreshes_keep_the_previous_keys() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = source_on(&server, &clock).request_timeout(Duration::from_millis(300)).build().unwrap();
    source.refresh(RefreshReason::NoKeysYet).await.unwrap();
    let validator = validator(&iss, source.clone(), &clock);
    let token = token(&k1, &iss, &clock);

    let rsa_1024 = json!({ "keys": [{ "kty": "RSA", "kid": "weak", "n": tokengate_testkit::b64([0xC1u8; 128]), "e": "AQAB" }] });
    type Case = (&'static str, Box<dyn Fn(&TestIssuer)>, fn(&JwksFetchError) -> bool);
    let cases: Vec<Case> = vec![
        ("500", Box::new(|s| s.set_mode(Mode::Status(500))), |e| {
            matches!(e, JwksFetchError::Status { status: 500, .. })
        }),
        ("garbage", Box::new(|s| s.set_mode(Mode::Garbage)), |e| {
            matches!(e, JwksFetchError::InvalidJwkSet { .. })
        }),
        ("oversized", Box::new(|s| s.set_mode(Mode::Oversized)), |e| {
            matches!(e, JwksFetchError::TooLarge { .. })
        }),
        ("oversized, chunked", Box::new(|s| s.set_mode(Mode::OversizedChunked)), |e| {
            matches!(e, JwksFetchError::TooLarge { .. })
        }),
        ("hang", Box::new(|s| s.set_mode(Mode::Hang)), |e| matches!(e, JwksFetchError::Timeout { .. })),
        (
            "empty set",
            Box::new(|s| {
                s.set_mode(Mode::Serve);
                s.publish(json!({ "keys": [] }));
            }),
            |e| matches!(e, JwksFetchError::NoUsableKeys { skipped: 0, .. }),
        ),
        (
            "only unusable keys",
            Box::new(move |s| {
                s.set_mode(Mode::Serve);
                s.publish(rsa_1024.clone());
            }),
            |e| matches!(e, JwksFetchError::NoUsableKeys { skipped: 1, .. }),
        ),
        (
            "not a JWK Set",
            Box::new(|s| {
                s.set_mode(Mode::Serve);
                s.publish(json!({ "issuer": "x" }));
            }),
            |e| matches!(e, JwksFetchError::InvalidJwkSet { .. }),
        ),
    ];
    for (name, setup, expected) in cases {
        setup(&server);
        let started = Instant::now();
        let error = source.refresh_now().await.expect_err(name);
        assert!(expected(&error), "{name}: {error}");
        assert!(started.elapsed() < Duration::from_secs(3), "{name} took {:?}", started.elapsed());
        validate(&validator, &token).await.unwrap_or_else(|e| panic!("{name}: previous keys lost: {e}"));
        assert_eq!(source.status().kids, ["k1"], "{name}");
        assert!(source.status().last_error.is_some(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_task_ends_when_the_last_source_is_dropped() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = ready_source(&server, &clock).await;
    let validator = validator(&iss, source.clone(), &clock);
    drop(source);
    drop(validator);
    // Far past any refresh time: a living task would fetch within a second.
    clock.advance(Duration::from_secs(10 * 86_400));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.jwks_hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_request_does_not_cancel_the_shared_fetch() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    server.set_delay(Duration::from_millis(400));
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = source_on(&server, &clock).build().unwrap();
    let validator = validator(&iss, source, &clock);
    let token = token(&k1, &iss, &clock);
    // A client that gives up while the start-up fetch is in flight...
    let gave_up = tokio::time::timeout(Duration::from_millis(50), validate(&validator, &token)).await;
    assert!(gave_up.is_err());
    // ...does not stop it: the next request waits for the same fetch.
    validate(&validator, &token).await.unwrap();
    assert_eq!(server.jwks_hits(), 1);
}
