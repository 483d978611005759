//! "Can this token be reused?" — the invariants of `docs/single-use.md`,
//! each with the case a review reproduced against the earlier code, on a
//! `ManualClock` (no sleeping). Every refusal asserts the exact `Error`
//! variant, status and error code.
//!
//! 1. A revocation outlives every token it names.
//! 2. `Validator::revoke` never returns `Ok` for a revocation that cannot match.
//! 3. Clock skew cannot reopen a revoked subject, nor a spent token after
//!    the store lost its records.
//! 5. What a restart does to the in-memory store is what the docs say, and
//!    single use on an unprotected in-memory store is warned about
//!    (`unprotected_store.rs`: alone in its binary, since it listens to logs).

use std::time::Duration;

use serde_json::json;
use tokengate::{Algorithm, Error, Issuer, ManualClock, MemoryReplayStore, Revoke, SingleUse, Validator};
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

const INVALID: Option<&str> = Some("invalid_token");
const DAY: u64 = 24 * 3600;

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid("k")
}

/// 1(a): the demo's settings (no configured cap). A token living three days
/// used to be accepted until its revocation was forgotten after a day; now
/// the default one-day cap refuses it outright, and a token within the cap
/// stays revoked until it expires.
#[test]
fn a_revocation_outlives_a_long_lived_token_under_the_default_cap() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator = on_clock(issuer(&[Algorithm::ES256], &[&key]), &clock);
    let three_days = key.token(&claims_with(json!({ "jti": "long", "iat": NOW, "exp": NOW + 3 * DAY })));
    assert_refused(check(&validator, &three_days), Error::LifetimeTooLong, 401, INVALID, &three_days);

    // The longest token the default cap accepts, revoked at once.
    let day = key.token(&claims_with(json!({ "jti": "day", "iat": NOW, "exp": NOW + DAY })));
    assert!(check(&validator, &day).is_ok());
    block_on(validator.revoke(&Revoke::token_id("day"))).unwrap();
    for at in [NOW + 1, NOW + DAY / 2, NOW + DAY + 29] {
        clock.set(at);
        assert_refused(check(&validator, &day), Error::Revoked, 401, INVALID, &day);
    }
    clock.set(NOW + DAY + 30);
    assert_refused(check(&validator, &day), Error::Expired, 401, INVALID, &day);

    // A longer cap keeps revocations longer.
    let clock = ManualClock::new(NOW);
    let generous =
        on_clock(issuer(&[Algorithm::ES256], &[&key]).max_lifetime(Duration::from_secs(4 * DAY)), &clock);
    assert!(check(&generous, &three_days).is_ok());
    block_on(generous.revoke(&Revoke::token_id("long"))).unwrap();
    for at in [NOW + DAY + 31, NOW + 2 * DAY, NOW + 3 * DAY + 29] {
        clock.set(at);
        assert_refused(check(&generous, &three_days), Error::Revoked, 401, INVALID, &three_days);
    }
}

/// 1(b): an issuer-wide single-use policy (1 h cap), a token without `iat`
/// expiring in 3 h: refused at first (too long for the policy), revoked,
/// and no longer accepted once what is left of it fits the policy.
#[test]
fn a_revoked_token_without_iat_stays_refused_when_it_later_fits_the_single_use_cap() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let policy = SingleUse::new().max_lifetime(Duration::from_secs(3600));
    let validator = on_clock(issuer(&[Algorithm::ES256], &[&key]).single_use(policy), &clock);
    let token = key.token(&claims_with(json!({ "jti": "no-iat", "iat": null, "exp": NOW + 3 * 3600 })));
    assert_refused(check(&validator, &token), Error::LifetimeTooLong, 401, INVALID, &token);
    block_on(validator.revoke(&Revoke::token_id("no-iat"))).unwrap();
    for at in [NOW + 2 * 3600 + 1, NOW + 3 * 3600 + 29] {
        clock.set(at);
        assert_refused(check(&validator, &token), Error::Revoked, 401, INVALID, &token);
    }
}

/// 1(c): `max_lifetime(1h)`, 30 s leeway, a token with `iat` = T0 + 30 (the
/// issuer's clock ahead): revoked at T0, it used to be accepted again from
/// T0 + 3630 s to T0 + 3659 s. The revocation now lasts until it expires.
#[test]
fn a_revocation_covers_a_token_issued_in_our_future_until_it_expires() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator =
        on_clock(issuer(&[Algorithm::ES256], &[&key]).max_lifetime(Duration::from_secs(3600)), &clock);
    let token = key.token(&claims_with(json!({ "jti": "ahead", "iat": NOW + 30, "exp": NOW + 30 + 3600 })));
    assert!(check(&validator, &token).is_ok());
    block_on(validator.revoke(&Revoke::token_id("ahead"))).unwrap();
    for at in [NOW + 3630, NOW + 3645, NOW + 3659] {
        clock.set(at);
        assert_refused(check(&validator, &token), Error::Revoked, 401, INVALID, &token);
    }
    clock.set(NOW + 3660);
    assert_refused(check(&validator, &token), Error::Expired, 401, INVALID, &token);
}

/// 2: under `Issuer::any_issuer`, a revocation without `.issuer(..)` used
/// to be stored under `""` while the check used the token's `iss`: `Ok`,
/// and the token stayed accepted. Both paths now match.
#[test]
fn revocations_under_any_issuer_match_the_tokens_they_name() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let any = Issuer::any_issuer()
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .keys(tokengate::KeySet::new([key.verification_key()]));
    let validator = on_clock(any, &clock);
    let by_jti = key.token(&claims_with(json!({ "jti": "j-1", "sub": "s-1" })));
    let by_sub = key.token(&claims_with(json!({ "jti": "j-2", "sub": "s-2" })));
    let no_iss = key.token(&claims_with(json!({ "jti": "j-3", "sub": "s-3", "iss": null })));
    for token in [&by_jti, &by_sub, &no_iss] {
        assert!(check(&validator, token).is_ok());
    }
    block_on(validator.revoke(&Revoke::token_id("j-1"))).unwrap();
    block_on(validator.revoke(&Revoke::subject("s-2"))).unwrap();
    // Naming an issuer changes nothing: the key set is the issuer.
    block_on(validator.revoke(&Revoke::token_id("j-3").issuer("https://whoever.test/"))).unwrap();
    for token in [&by_jti, &by_sub, &no_iss] {
        assert_refused(check(&validator, token), Error::Revoked, 401, INVALID, token);
    }
    // Single use, too, is one namespace per key set.
    let spend = key.token(&claims_with(json!({ "jti": "once" })));
    let same_jti_other_iss = key.token(&claims_with(json!({ "jti": "once", "iss": "https://other.test/" })));
    use_once(&validator, &spend).unwrap();
    assert_refused(
        use_once(&validator, &same_jti_other_iss),
        Error::Replayed,
        401,
        INVALID,
        &same_jti_other_iss,
    );
}

/// 3: a subject revocation's cut-off is now plus the leeway, so a token of
/// that subject whose `iat` runs up to the leeway ahead of our clock is
/// caught; one issued later passes.
#[test]
fn clock_skew_cannot_reopen_a_revoked_subject() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator = on_clock(issuer(&[Algorithm::ES256], &[&key]), &clock);
    let ahead = key.token(&claims_with(json!({ "sub": "bob", "jti": "b-1", "iat": NOW + 25 })));
    let at_edge = key.token(&claims_with(json!({ "sub": "bob", "jti": "b-2", "iat": NOW + 30 })));
    assert!(check(&validator, &ahead).is_ok() && check(&validator, &at_edge).is_ok());
    block_on(validator.revoke(&Revoke::subject("bob"))).unwrap();
    assert_refused(check(&validator, &ahead), Error::Revoked, 401, INVALID, &ahead);
    assert_refused(check(&validator, &at_edge), Error::Revoked, 401, INVALID, &at_edge);
    clock.set(NOW + 5);
    let later = key.token(&claims_with(json!({ "sub": "bob", "jti": "b-3", "iat": NOW + 31 })));
    assert!(check(&validator, &later).is_ok(), "issued after the cut-off");
}

/// 3: a spent single-use token whose `iat` runs ahead of our clock, then
/// the store's records lost (a restart): a store protecting restarts with a
/// skew allowance refuses it, where `since` alone would not.
#[test]
fn clock_skew_cannot_reopen_a_spent_token_after_a_restart() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let token = key.token(&claims_with(json!({ "jti": "ahead", "iat": NOW + 20 })));
    let before = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(clock.clone())
        .replay_store(MemoryReplayStore::new().records_since(NOW - 3600))
        .build()
        .unwrap();
    use_once(&before, &token).unwrap();

    // The process restarts at NOW + 5: its records are gone.
    clock.set(NOW + 5);
    let without_allowance = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(clock.clone())
        .replay_store(MemoryReplayStore::new().records_since(NOW + 5))
        .build()
        .unwrap();
    assert!(use_once(&without_allowance, &token).is_ok(), "the gap the allowance closes");
    let with_allowance = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(clock.clone())
        .replay_store(MemoryReplayStore::new().records_since(NOW + 5 + 30))
        .build()
        .unwrap();
    assert_refused(use_once(&with_allowance, &token), Error::PossiblyReplayed, 401, INVALID, &token);
    // Its cost: a token issued just after the restart is refused once too…
    let fresh = key.token(&claims_with(json!({ "jti": "fresh", "iat": NOW + 6 })));
    assert_refused(use_once(&with_allowance, &fresh), Error::PossiblyReplayed, 401, INVALID, &fresh);
    // …and one issued after the allowance passes.
    clock.set(NOW + 40);
    let later = key.token(&claims_with(json!({ "jti": "later", "iat": NOW + 40 })));
    use_once(&with_allowance, &later).unwrap();
}
