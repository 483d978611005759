//! Single-use tokens and revocation with the in-process stores (and with
//! failing stores): every refusal asserts the exact `Error` variant, status
//! and error code. Redis is tested in `crates/tokengate-redis/tests`.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokengate::store::{
    ReplayStore, Revocation, RevocationStore, StoreFuture, TokenRef, TokenUse, UseOutcome,
};
use tokengate::{
    Algorithm, Error, Issuer, ManualClock, MemoryReplayStore, MemoryRevocationStore, Revoke, RevokeError,
    SingleUse, StandardClaims, StoreError, Validator,
};
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

const INVALID: Option<&str> = Some("invalid_token");
const UNAVAILABLE: Option<&str> = Some("temporarily_unavailable");

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid("k")
}

fn es_issuer(key: &SigningKey) -> Issuer {
    issuer(&[Algorithm::ES256], &[key])
}

/// A replay store whose records began an hour before `NOW`: a server that
/// has been up a while (tokens of the test claims are issued after that).
fn running_store() -> MemoryReplayStore {
    MemoryReplayStore::new().records_since(NOW - 3600)
}

/// Shadows the shared helper: a validator at `NOW` with a running store.
fn validator(issuer: Issuer) -> Validator {
    validator_with(issuer, &ManualClock::new(NOW), running_store())
}

/// A validator on a manual clock at `NOW`, with the given stores.
fn validator_with(issuer: Issuer, clock: &ManualClock, replays: MemoryReplayStore) -> Validator {
    Validator::builder().issuer(issuer).clock(clock.clone()).replay_store(replays).build().expect("valid")
}

#[test]
fn tokens_are_reusable_by_default_and_single_use_on_a_route() {
    let key = key();
    let validator = validator(es_issuer(&key));
    let token = key.token(&good_claims());
    for _ in 0..3 {
        assert!(check(&validator, &token).is_ok(), "reusable until expiry by default");
    }
    use_once(&validator, &token).expect("first use on the single-use route");
    assert_refused(use_once(&validator, &token), Error::Replayed, 401, INVALID, &token);
    assert_eq!(
        use_once(&validator, &token).unwrap_err().description(),
        "the token was already used; this API accepts it only once"
    );
    // Other routes still accept it: single use is the route's rule.
    assert!(check(&validator, &token).is_ok());
    // Another jti is another token.
    let other = key.token(&claims_with(json!({ "jti": "token-2" })));
    use_once(&validator, &other).expect("another jti");

    // validate_token_once = validate_token + use_once.
    let third = key.token(&claims_with(json!({ "jti": "token-3" })));
    let verified =
        block_on(validator.validate_token_once::<StandardClaims>(&third, &SingleUse::new())).expect("first");
    assert!(verified.is_single_use());
    assert_refused(
        block_on(validator.validate_token_once::<StandardClaims>(&third, &SingleUse::new())),
        Error::Replayed,
        401,
        INVALID,
        &third,
    );
}

#[test]
fn single_use_requires_jti_exp_and_a_bounded_lifetime() {
    let key = key();
    let validator = validator(es_issuer(&key).allow_missing_exp().unbounded_lifetime());
    for (changes, expected) in [
        (json!({ "jti": null }), Error::MissingClaim(Cow::Borrowed("jti"))),
        (json!({ "exp": null }), Error::MissingClaim(Cow::Borrowed("exp"))),
        (json!({ "iat": NOW - 10, "exp": NOW - 10 + 3601 }), Error::LifetimeTooLong),
        // Without `iat`, what is left of the token's life is capped instead.
        (json!({ "iat": null, "exp": NOW + 3601 }), Error::LifetimeTooLong),
    ] {
        let token = key.token(&claims_with(changes.clone()));
        assert!(check(&validator, &token).is_ok(), "{changes}: fine when reusable");
        assert_refused(use_once(&validator, &token), expected, 401, INVALID, &token);
    }
    // The policy's own cap.
    let token = key.token(&claims_with(json!({ "jti": "short", "iat": NOW - 10, "exp": NOW + 50 })));
    let strict = SingleUse::new().max_lifetime(Duration::from_secs(59));
    let result = block_on(async {
        let verified = validator.validate_token::<StandardClaims>(&token).await?;
        validator.use_once(&verified, &strict).await
    });
    assert_refused(result, Error::LifetimeTooLong, 401, INVALID, &token);
    // A refused token was not spent.
    use_once(&validator, &token).expect("the default cap accepts it, once");
    // No `iat`, but at most an hour left: single-use works, once.
    let no_iat = key.token(&claims_with(json!({ "jti": "no-iat", "iat": null, "exp": NOW + 3600 })));
    use_once(&validator, &no_iat).expect("no iat, an hour left");
    assert_refused(use_once(&validator, &no_iat), Error::Replayed, 401, INVALID, &no_iat);
}

#[test]
fn issuer_wide_single_use_spends_at_validation() {
    let key = key();
    let validator =
        validator(es_issuer(&key).single_use(SingleUse::new().max_lifetime(Duration::from_secs(600))));
    let token = key.token(&good_claims());
    let verified = check(&validator, &token).expect("first presentation");
    assert!(verified.is_single_use());
    // The route-level call after an issuer-level spend does not spend twice.
    block_on(validator.use_once(&verified, &SingleUse::new())).expect("already spent by this verification");
    assert_refused(check(&validator, &token), Error::Replayed, 401, INVALID, &token);

    let no_jti = key.token(&claims_with(json!({ "jti": null })));
    assert_refused(
        check(&validator, &no_jti),
        Error::MissingClaim(Cow::Borrowed("jti")),
        401,
        INVALID,
        &no_jti,
    );
    let long = key.token(&claims_with(json!({ "jti": "long", "exp": NOW - 10 + 601 })));
    assert_refused(check(&validator, &long), Error::LifetimeTooLong, 401, INVALID, &long);
    // A token refused for another reason first is not spent.
    let wrong_aud = key.token(&claims_with(json!({ "jti": "aud", "aud": "other" })));
    assert_refused(check(&validator, &wrong_aud), Error::WrongAudience, 401, INVALID, &wrong_aud);
}

#[test]
fn the_same_jti_from_another_issuer_is_another_token() {
    let (a, b) = (key(), SigningKey::generate(Algorithm::ES256).with_kid("b"));
    let other_iss = "https://other.test/";
    let validator = Validator::builder()
        .issuer(es_issuer(&a))
        .issuer(
            Issuer::new(other_iss)
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(tokengate::KeySet::new([b.verification_key()])),
        )
        .clock(ManualClock::new(NOW))
        .replay_store(running_store())
        .build()
        .unwrap();
    use_once(&validator, &a.token(&good_claims())).unwrap();
    use_once(&validator, &b.token(&claims_with(json!({ "iss": other_iss }))))
        .expect("same jti, other issuer");
}

#[test]
fn sixty_four_tasks_race_the_same_jti_and_exactly_one_wins() {
    let key = key();
    let validator = validator(es_issuer(&key));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    for round in 0..20 {
        let token = Arc::new(key.token(&claims_with(json!({ "jti": format!("race-{round}") }))));
        let start = Arc::new(tokio::sync::Barrier::new(64));
        let results: Vec<Result<(), Error>> = runtime.block_on(async {
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let (validator, token, start) = (validator.clone(), token.clone(), start.clone());
                    tokio::spawn(async move {
                        let verified = validator.validate_token::<StandardClaims>(&token).await?;
                        start.wait().await;
                        validator.use_once(&verified, &SingleUse::new()).await
                    })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap());
            }
            results
        });
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}");
        assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| *e == Error::Replayed));
    }
}

#[test]
fn a_record_lives_until_exp_plus_leeway_then_goes_away() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let store = running_store();
    let validator = validator_with(es_issuer(&key).leeway(Duration::from_secs(30)), &clock, store.clone());
    let token = key.token(&claims_with(json!({ "exp": NOW + 60 })));
    use_once(&validator, &token).unwrap();
    assert_eq!(store.len(), 1);

    clock.set(NOW + 60 + 29); // past exp, within leeway: still valid, still a replay
    assert_refused(use_once(&validator, &token), Error::Replayed, 401, INVALID, &token);
    assert_eq!(store.purge_expired(clock.now()), 1, "kept until exp + leeway");

    clock.set(NOW + 60 + 30); // exp + leeway: the token is expired, the record goes away
    assert_refused(use_once(&validator, &token), Error::Expired, 401, INVALID, &token);
    assert_eq!(store.purge_expired(clock.now()), 0, "dropped exactly at exp + leeway");

    // Records are also dropped by ordinary traffic, without purge calls.
    let later: Vec<String> = (0..200)
        .map(|i| {
            key.token(&claims_with(json!({ "jti": format!("t{i}"), "iat": NOW + 100, "exp": NOW + 110 })))
        })
        .collect();
    clock.set(NOW + 100);
    for token in &later {
        use_once(&validator, token).unwrap();
    }
    assert_eq!(store.len(), 200);
    clock.set(NOW + 200);
    let fresh: Vec<String> = (0..200)
        .map(|i| {
            key.token(&claims_with(json!({ "jti": format!("f{i}"), "iat": NOW + 200, "exp": NOW + 260 })))
        })
        .collect();
    for token in &fresh {
        use_once(&validator, token).unwrap();
    }
    assert!(store.len() < 400, "expired records were swept on use: {}", store.len());
}

use tokengate::Clock as _;

#[test]
fn capacity_reached_fails_closed_with_a_clear_error_and_recovers_when_records_expire() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let store = MemoryReplayStore::with_capacity(100).records_since(NOW - 3600);
    let validator = validator_with(es_issuer(&key).leeway(Duration::ZERO), &clock, store.clone());
    let token = |i: usize, exp: u64| key.token(&claims_with(json!({ "jti": format!("c{i}"), "exp": exp })));
    for i in 0..100 {
        use_once(&validator, &token(i, NOW + 60 + i as u64)).unwrap();
    }
    assert_eq!(store.len(), 100);
    let refused = token(100, NOW + 300);
    let error = use_once(&validator, &refused).unwrap_err();
    assert_eq!(error, Error::ReplayStoreFull { retry_after: Duration::from_secs(60) });
    assert_refused(use_once(&validator, &refused), error.clone(), 503, UNAVAILABLE, &refused);
    assert_eq!(error.description(), "the single-use token store is full; retry later");
    let refusal = validator.refusal(&error);
    assert_eq!(refusal.www_authenticate, [r#"Bearer realm="tokengate", error="temporarily_unavailable""#]);
    assert_eq!(refusal.retry_after, Some(60));
    // Old records are never evicted to make room: every one still refuses its replay.
    for i in 0..100 {
        let replay = token(i, NOW + 60 + i as u64);
        assert_refused(use_once(&validator, &replay), Error::Replayed, 401, INVALID, &replay);
    }
    // Reusable routes are unaffected.
    assert!(check(&validator, &refused).is_ok());
    // Once the earliest record expires, there is room again.
    clock.set(NOW + 61);
    use_once(&validator, &refused).expect("room after the first record expired");
    assert_eq!(store.len(), 99, "two expired records dropped, one added");
}

#[test]
fn a_restart_loses_no_guarantee_tokens_issued_before_the_records_begin_are_refused() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let token = key.token(&good_claims()); // iat NOW - 10
    let before_restart =
        validator_with(es_issuer(&key), &clock, MemoryReplayStore::new().records_since(NOW - 20));
    use_once(&before_restart, &token).unwrap();

    // The process restarts: a new store, whose records begin now.
    let after_restart = validator_with(es_issuer(&key), &clock, MemoryReplayStore::new().records_since(NOW));
    assert_refused(use_once(&after_restart, &token), Error::PossiblyReplayed, 401, INVALID, &token);
    // Tokens issued since are accepted once.
    let fresh = key.token(&claims_with(json!({ "jti": "fresh", "iat": NOW })));
    use_once(&after_restart, &fresh).unwrap();
    assert_refused(use_once(&after_restart, &fresh), Error::Replayed, 401, INVALID, &fresh);
}

#[test]
fn the_default_store_accepts_tokens_issued_before_it_and_still_refuses_replays() {
    let key = key();
    let clock = ManualClock::new(NOW);
    // No replay store configured: the default one, without restart protection.
    let validator = Validator::builder().issuer(es_issuer(&key)).clock(clock.clone()).build().unwrap();
    let older = key.token(&good_claims()); // iat NOW - 10
    use_once(&validator, &older).unwrap();
    assert_refused(use_once(&validator, &older), Error::Replayed, 401, INVALID, &older);
    assert!(check(&validator, &older).is_ok(), "reusable routes are unaffected");
}

#[test]
fn revocation_by_jti_by_subject_and_issuer_wide() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator = validator_with(es_issuer(&key), &clock, running_store());
    let token = key.token(&good_claims());
    let sibling = key.token(&claims_with(json!({ "jti": "token-2" })));
    assert!(check(&validator, &token).is_ok());

    block_on(validator.revoke(&Revoke::token_id("token-1"))).unwrap();
    assert_refused(check(&validator, &token), Error::Revoked, 401, INVALID, &token);
    assert_eq!(check(&validator, &token).unwrap_err().description(), "the token has been revoked");
    assert!(check(&validator, &sibling).is_ok(), "only that jti");

    // "Log out everywhere": tokens of user-2 issued at or before now plus the
    // leeway (30 s: the issuer's clock may run ahead of ours).
    let user2_old = key.token(&claims_with(json!({ "sub": "user-2", "jti": "u2-old", "iat": NOW - 100 })));
    let user2_now = key.token(&claims_with(json!({ "sub": "user-2", "jti": "u2-now", "iat": NOW })));
    let user2_skewed = key.token(&claims_with(json!({ "sub": "user-2", "jti": "u2-skew", "iat": NOW + 30 })));
    let user2_no_iat = key.token(&claims_with(json!({ "sub": "user-2", "jti": "u2-none", "iat": null })));
    block_on(validator.revoke(&Revoke::subject("user-2"))).unwrap();
    for refused in [&user2_old, &user2_now, &user2_skewed, &user2_no_iat] {
        assert_refused(check(&validator, refused), Error::Revoked, 401, INVALID, refused);
    }
    clock.set(NOW + 1);
    let user2_later = key.token(&claims_with(json!({ "sub": "user-2", "jti": "u2-new", "iat": NOW + 31 })));
    assert!(check(&validator, &user2_later).is_ok(), "issued after the cut-off");
    assert!(check(&validator, &sibling).is_ok(), "another subject");
    // An earlier cut-off does not undo a later one.
    block_on(validator.revoke(&Revoke::subject("user-2").issued_at_or_before(NOW - 1000))).unwrap();
    assert_refused(check(&validator, &user2_now), Error::Revoked, 401, INVALID, &user2_now);

    // Issuer-wide cut-off.
    block_on(validator.revoke(&Revoke::all_tokens().issued_at_or_before(NOW - 5))).unwrap();
    assert_refused(check(&validator, &sibling), Error::Revoked, 401, INVALID, &sibling); // iat NOW - 10
    assert!(check(&validator, &user2_later).is_ok());

    // Revocations go away once every token they name has expired: the default
    // one-day lifetime cap plus twice the leeway after the revocation.
    let day = 24 * 3600;
    let fresh_clone = key.token(&claims_with(json!({ "iat": NOW + day, "exp": NOW + day + 300 })));
    clock.set(NOW + day + 59);
    assert_refused(check(&validator, &fresh_clone), Error::Revoked, 401, INVALID, &fresh_clone);
    clock.set(NOW + day + 60);
    assert!(
        check(&validator, &fresh_clone).is_ok(),
        "jti token-1 may be reissued after its revocation expired"
    );
}

#[test]
fn revocations_are_kept_for_the_issuers_maximum_lifetime() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator =
        validator_with(es_issuer(&key).max_lifetime(Duration::from_secs(600)), &clock, running_store());
    block_on(validator.revoke(&Revoke::token_id("token-1"))).unwrap();
    let token = key.token(&good_claims());
    // Kept for the lifetime cap plus twice the leeway (a token issued up to
    // 30 s in our future lives until 600 s after that, and is accepted for
    // another 30 s past its `exp`).
    clock.set(NOW + 600 + 59);
    let reissued = key.token(&claims_with(json!({ "iat": NOW + 600, "exp": NOW + 1000 })));
    assert_refused(check(&validator, &reissued), Error::Revoked, 401, INVALID, &reissued);
    clock.set(NOW + 600 + 60);
    assert!(check(&validator, &reissued).is_ok());
    assert_refused(check(&validator, &token), Error::Expired, 401, INVALID, &token);
}

#[test]
fn revoke_names_the_issuer_when_there_are_several() {
    let (key, other_key) = (key(), SigningKey::generate(Algorithm::ES256).with_kid("b"));
    let validator = Validator::builder()
        .issuer(es_issuer(&key))
        .issuer(
            Issuer::new("https://b.test/")
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(tokengate::KeySet::new([other_key.verification_key()])),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    assert_eq!(block_on(validator.revoke(&Revoke::token_id("token-1"))), Err(RevokeError::IssuerRequired));
    assert_eq!(
        block_on(validator.revoke(&Revoke::token_id("token-1").issuer("https://nobody.test/"))),
        Err(RevokeError::UnknownIssuer)
    );
    block_on(validator.revoke(&Revoke::token_id("token-1").issuer(ISS))).unwrap();
    let token = key.token(&good_claims());
    assert_refused(check(&validator, &token), Error::Revoked, 401, INVALID, &token);
    let other = other_key.token(&claims_with(json!({ "iss": "https://b.test/" })));
    assert!(check(&validator, &other).is_ok(), "same jti, other issuer");
}

#[test]
fn revocation_capacity_reached_is_an_error_not_a_silent_drop() {
    let key = key();
    let validator = Validator::builder()
        .issuer(es_issuer(&key))
        .clock(ManualClock::new(NOW))
        .revocation_store(MemoryRevocationStore::with_capacity(2))
        .build()
        .unwrap();
    block_on(validator.revoke(&Revoke::token_id("a"))).unwrap();
    block_on(validator.revoke(&Revoke::token_id("b"))).unwrap();
    block_on(validator.revoke(&Revoke::token_id("a"))).expect("renewing one held is fine");
    let error = block_on(validator.revoke(&Revoke::token_id("c"))).unwrap_err();
    assert!(matches!(error, RevokeError::Store(StoreError::Full { .. })), "{error:?}");
    assert!(error.retry_after().is_some());
}

/// A store that is down.
#[derive(Debug, Default)]
struct Down {
    calls: AtomicUsize,
}

impl ReplayStore for Down {
    fn record_use<'a>(&'a self, _: TokenUse<'a>) -> StoreFuture<'a, UseOutcome> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        StoreFuture::boxed(async {
            Err(StoreError::Unavailable { retry_after: Duration::from_millis(1500) })
        })
    }
}

impl RevocationStore for Down {
    fn is_revoked<'a>(&'a self, _: TokenRef<'a>) -> StoreFuture<'a, bool> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        StoreFuture::ready(Err(StoreError::Unavailable { retry_after: Duration::from_secs(2) }))
    }

    fn revoke<'a>(&'a self, _: Revocation<'a>, _: u64) -> StoreFuture<'a, ()> {
        StoreFuture::ready(Err(StoreError::Unavailable { retry_after: Duration::from_secs(2) }))
    }
}

#[test]
fn an_unavailable_replay_store_refuses_single_use_with_503_and_nothing_else() {
    let key = key();
    let validator = Validator::builder()
        .issuer(es_issuer(&key))
        .clock(ManualClock::new(NOW))
        .replay_store(Down::default())
        .build()
        .unwrap();
    let token = key.token(&good_claims());
    let expected = Error::StoreUnavailable { retry_after: Duration::from_millis(1500) };
    assert_refused(use_once(&validator, &token), expected.clone(), 503, UNAVAILABLE, &token);
    let refusal = validator.refusal(&expected);
    assert_eq!(refusal.www_authenticate, [r#"Bearer realm="tokengate", error="temporarily_unavailable""#]);
    assert_eq!(refusal.retry_after, Some(1));
    let body: serde_json::Value = serde_json::from_str(refusal.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(check(&validator, &token).is_ok(), "reusable routes do not need the replay store");
}

#[test]
fn an_unavailable_revocation_store_refuses_every_token_with_503() {
    let key = key();
    let validator = Validator::builder()
        .issuer(es_issuer(&key))
        .clock(ManualClock::new(NOW))
        .revocation_store(Down::default())
        .build()
        .unwrap();
    let token = key.token(&good_claims());
    let expected = Error::StoreUnavailable { retry_after: Duration::from_secs(2) };
    assert_refused(check(&validator, &token), expected, 503, UNAVAILABLE, &token);
    assert!(matches!(
        block_on(validator.revoke(&Revoke::subject("user-1"))),
        Err(RevokeError::Store(StoreError::Unavailable { .. }))
    ));
    // Invalid tokens are still refused for what they are, before the store is asked.
    let expired = key.token(&claims_with(json!({ "exp": NOW - 100 })));
    assert_refused(check(&validator, &expired), Error::Expired, 401, INVALID, &expired);
}

#[test]
fn the_memory_stores_answer_without_waiting() {
    // With warm keys and the in-memory stores, validation never suspends:
    // one poll completes it (no runtime needed at all).
    let key = key();
    let validator = validator(es_issuer(&key).single_use(SingleUse::new()));
    let token = key.token(&good_claims());
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let started = Instant::now();
    let mut future = std::pin::pin!(validator.validate_token::<StandardClaims>(&token));
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => assert!(result.is_ok()),
        std::task::Poll::Pending => panic!("validation with in-memory stores waited"),
    }
    let revoke = Revoke::token_id("x");
    let mut again = std::pin::pin!(validator.revoke(&revoke));
    assert!(again.as_mut().poll(&mut cx).is_ready());
    assert!(started.elapsed() < Duration::from_secs(5));
}

use std::future::Future as _;
