//! How long fetched keys are trusted, against a real HTTP issuer on
//! 127.0.0.1: a key the issuer removed stops verifying within a bounded
//! time whether its endpoint answers or not, and the configured default
//! refresh interval is used as given while the issuer's `max-age` is bounded.
//!
//! Time is moved with a `ManualClock`. Real waits: polling for the
//! background task (at most a few seconds), and, where a test shows that a
//! refresh does *not* happen early, one pause of [`LOOP_LOOKS`].

mod support;

use std::time::Duration;

use support::{Mode, TestIssuer, eventually, init_tracing, ready, source_on, token, validate, validator};
use tokengate_core::keys::KeySource as _;
use tokengate_core::{Error, ManualClock};
use tokengate_jwks::{
    DEFAULT_MAX_REFRESH_INTERVAL, DEFAULT_MAX_STALENESS, DEFAULT_MIN_REFRESH_INTERVAL, JwksFetchError,
    JwksSource,
};
use tokengate_testkit::jwk_set;

/// Long enough for the background loop, which looks at the clock at least
/// once a second, to have seen where the clock was set.
const LOOP_LOOKS: Duration = Duration::from_millis(1200);

/// The `kid`s of the keys the source currently trusts.
fn trusted(source: &JwksSource) -> Vec<String> {
    source.current().map(|keys| keys.kids().map(str::to_owned).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_key_stops_verifying_within_the_refresh_interval() {
    init_tracing();
    let (a, b) = (support::es256("A"), support::es256("B"));
    let server = TestIssuer::start(jwk_set([&a, &b])).await;
    // The issuer asks for a day of caching; the default bound lowers it to 1 h.
    server.set_cache_control(Some("max-age=86400"));
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = ready(source_on(&server, &clock), &server).await;
    let interval = DEFAULT_MAX_REFRESH_INTERVAL.as_secs();
    assert_eq!(interval, 3600);
    let fetched_at = source.status().fetched_at.unwrap();
    assert_eq!(source.status().next_refresh_at, fetched_at + interval);
    let validator = validator(&iss, source.clone(), &clock);
    let (ta, tb) = (token(&a, &iss, &clock), token(&b, &iss, &clock));
    validate(&validator, &tb).await.unwrap();

    // The issuer removes B.
    server.publish(jwk_set([&a]));

    // One second before the refresh is due: no fetch, B is still selected.
    clock.set(fetched_at + interval - 1);
    tokio::time::sleep(LOOP_LOOKS).await;
    assert_eq!(server.jwks_hits(), 1);
    assert_eq!(trusted(&source), ["A", "B"]);
    validate(&validator, &tb).await.expect("B verifies until the refresh");

    // The interval has elapsed: the background refresh drops B.
    clock.set(fetched_at + interval);
    assert!(eventually(Duration::from_secs(3), || trusted(&source) == ["A"]).await, "background refresh");
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(validate(&validator, &tb).await, Err(Error::NoMatchingKey));
    validate(&validator, &ta).await.unwrap();
    // The refused B token caused no fetch (cooldown after the refresh).
    assert_eq!(server.jwks_hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_endpoint_fails_keys_stay_usable_for_the_interval_plus_the_staleness_not_a_second_more() {
    init_tracing();
    let (a, b) = (support::es256("A"), support::es256("B"));
    let server = TestIssuer::start(jwk_set([&a, &b])).await;
    server.set_cache_control(Some("max-age=86400"));
    let clock = ManualClock::starting_now();
    let iss = server.base();
    let source = ready(source_on(&server, &clock), &server).await;
    let fetched_at = source.status().fetched_at.unwrap();
    let (interval, staleness) = (DEFAULT_MAX_REFRESH_INTERVAL.as_secs(), DEFAULT_MAX_STALENESS.as_secs());
    assert_eq!((interval, staleness), (3600, 6 * 3600));
    let deadline = fetched_at + interval + staleness;
    assert_eq!(source.status().usable_until, Some(deadline));
    let validator = validator(&iss, source.clone(), &clock);
    let tb = token(&b, &iss, &clock);

    // The issuer removes B, but its endpoint fails from now on.
    server.publish(jwk_set([&a]));
    server.set_mode(Mode::Status(503));
    clock.set(fetched_at + interval);
    assert!(
        eventually(Duration::from_secs(3), || source.status().consecutive_failures >= 1).await,
        "background refresh attempted"
    );
    let error = source.status().last_error.expect("the failure is reported");
    assert!(matches!(*error, JwksFetchError::Status { status: 503, .. }), "{error}");
    validate(&validator, &tb).await.expect("the last good keys still verify");

    // Up to the deadline, inclusive, the last good keys (B included) verify.
    for at in [fetched_at + interval + 1, fetched_at + 3 * interval, deadline - 1, deadline] {
        clock.set(at);
        assert_eq!(trusted(&source), ["A", "B"], "at fetched_at + {}", at - fetched_at);
        validate(&validator, &tb)
            .await
            .unwrap_or_else(|e| panic!("at fetched_at + {}: {e}", at - fetched_at));
    }

    // One second later: no keys at all, every token refused with 503.
    clock.set(deadline + 1);
    assert!(source.current().is_none());
    assert!(source.status().kids.is_empty());
    let error = validate(&validator, &tb).await.unwrap_err();
    assert!(matches!(error, Error::KeysUnavailable { .. }), "{error:?}");
    assert_eq!(error.status(), 503);
    assert!(server.jwks_hits() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_refresh_interval_is_used_as_given_not_raised_to_the_minimum() {
    init_tracing();
    let (k1, k2) = (support::es256("k1"), support::es256("k2"));
    let server = TestIssuer::start(jwk_set([&k1])).await;
    // No Cache-Control: the configured default applies, although it is below
    // the 60 s minimum that bounds an issuer's max-age.
    assert_eq!(DEFAULT_MIN_REFRESH_INTERVAL, Duration::from_secs(60));
    let clock = ManualClock::starting_now();
    let source =
        ready(source_on(&server, &clock).default_refresh_interval(Duration::from_secs(2)), &server).await;
    let fetched_at = source.status().fetched_at.unwrap();
    assert_eq!(source.status().next_refresh_at, fetched_at + 2);
    server.publish(jwk_set([&k2]));

    // After 1 s of clock time: no refresh yet.
    clock.set(fetched_at + 1);
    tokio::time::sleep(LOOP_LOOKS).await;
    assert_eq!(server.jwks_hits(), 1);
    assert_eq!(trusted(&source), ["k1"]);

    // After 2 s: the background task has fetched again, and will in 2 s more.
    clock.set(fetched_at + 2);
    assert!(eventually(Duration::from_secs(3), || trusted(&source) == ["k2"]).await, "background refresh");
    assert_eq!(server.jwks_hits(), 2);
    let status = source.status();
    assert_eq!(status.fetched_at, Some(fetched_at + 2));
    assert_eq!(status.next_refresh_at, fetched_at + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuers_max_age_below_the_minimum_is_still_raised_to_it() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    server.set_cache_control(Some("max-age=2"));
    let clock = ManualClock::starting_now();
    // A 2 s default too, so that only the bound can explain a 60 s interval.
    let source =
        ready(source_on(&server, &clock).default_refresh_interval(Duration::from_secs(2)), &server).await;
    let fetched_at = source.status().fetched_at.unwrap();
    assert_eq!(source.status().next_refresh_at, fetched_at + 60);

    // max-age has passed, the minimum has not: no refresh.
    clock.set(fetched_at + 2);
    tokio::time::sleep(LOOP_LOOKS).await;
    assert_eq!(server.jwks_hits(), 1);

    // The minimum has passed: the background task fetches.
    clock.set(fetched_at + 60);
    assert!(eventually(Duration::from_secs(3), || server.jwks_hits() == 2).await, "background refresh");
}
