//! The verified-token cache: a token presented again skips parsing, the
//! key, the signature and the claim rules — and nothing else. Every test
//! runs on a `ManualClock`; each refusal asserts its exact `Error`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokengate::keys::{KeySource, KeysFuture, RefreshReason};
use tokengate::{
    Algorithm, Error, Issuer, KeySet, ManualClock, Revoke, SingleUse, StandardClaims, TokenCache, Validator,
};
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

const INVALID: Option<&str> = Some("invalid_token");

fn key(kid: &str) -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid(kid)
}

/// A validator whose issuer counts its custom check's runs: one per full
/// verification, none for a cache hit.
fn counting(issuer: Issuer, clock: &ManualClock) -> (Validator, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let issuer = issuer.check(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    (Validator::builder().issuer(issuer).clock(clock.clone()).build().unwrap(), runs)
}

#[test]
fn a_token_presented_again_skips_verification_but_not_time() {
    let key = key("k");
    let clock = ManualClock::new(NOW);
    let (validator, runs) = counting(issuer(&[Algorithm::ES256], &[&key]), &clock);
    let token = key.token(&good_claims()); // exp NOW + 300
    for _ in 0..5 {
        let verified = check(&validator, &token).unwrap();
        assert_eq!(verified.subject(), Some("user-1"));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "verified once, served from the cache four times");
    assert_eq!(validator.token_cache().unwrap().entry_count(), 1);
    // `exp` still counts: refused once past it (plus the 30 s leeway).
    clock.set(NOW + 329);
    assert!(check(&validator, &token).is_ok());
    clock.set(NOW + 330);
    assert_refused(check(&validator, &token), Error::Expired, 401, INVALID, &token);
    // Without the cache, every presentation is verified.
    let uncached = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(ManualClock::new(NOW))
        .token_cache(None)
        .build()
        .unwrap();
    assert!(uncached.token_cache().is_none());
    assert!(check(&uncached, &token).is_ok());
}

#[test]
fn a_cached_token_still_meets_the_maximum_age_revocation_and_single_use() {
    let key = key("k");
    let clock = ManualClock::new(NOW);
    let aged = issuer(&[Algorithm::ES256], &[&key]).max_token_age(Duration::from_secs(60));
    let (validator, runs) = counting(aged, &clock);
    let token = key.token(&good_claims()); // iat NOW - 10
    assert!(check(&validator, &token).is_ok());
    clock.set(NOW - 10 + 90); // 60 s age + 30 s leeway
    assert!(check(&validator, &token).is_ok());
    clock.set(NOW - 10 + 91);
    assert_refused(check(&validator, &token), Error::TooOld, 401, INVALID, &token);

    let clock = ManualClock::new(NOW);
    let (validator, runs_before) = counting(issuer(&[Algorithm::ES256], &[&key]), &clock);
    assert!(check(&validator, &token).is_ok());
    block_on(validator.revoke(&Revoke::token_id("token-1"))).unwrap();
    assert_refused(check(&validator, &token), Error::Revoked, 401, INVALID, &token);
    assert_eq!(runs_before.load(Ordering::SeqCst), 1, "the revocation was caught on a cache hit");

    let (single, _) = counting(issuer(&[Algorithm::ES256], &[&key]).single_use(SingleUse::new()), &clock);
    let verified = check(&single, &token).unwrap();
    assert!(verified.is_single_use());
    assert_refused(check(&single, &token), Error::Replayed, 401, INVALID, &token);
    drop(runs);
}

/// A key source whose key set the test replaces (a rotation, a removal).
#[derive(Debug)]
struct Swappable(Mutex<Arc<KeySet>>);

impl KeySource for Swappable {
    fn current(&self) -> Option<Arc<KeySet>> {
        Some(self.0.lock().unwrap().clone())
    }
    fn refresh(&self, _: RefreshReason<'_>) -> KeysFuture<'_> {
        let keys = self.current();
        Box::pin(async move {
            keys.ok_or(tokengate::keys::KeysUnavailable { retry_after: Duration::from_secs(1) })
        })
    }
}

#[test]
fn entries_verified_with_a_key_that_is_gone_are_not_used() {
    let (a, b) = (key("a"), key("b"));
    let source =
        Arc::new(Swappable(Mutex::new(Arc::new(KeySet::new([a.verification_key(), b.verification_key()])))));
    let issuer =
        Issuer::new(ISS).audience(AUD).algorithms([Algorithm::ES256]).shared_key_source(source.clone());
    let clock = ManualClock::new(NOW);
    let (validator, runs) = counting(issuer, &clock);
    let token = b.token(&good_claims());
    assert!(check(&validator, &token).is_ok());
    assert!(check(&validator, &token).is_ok());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The issuer removed key b: the cached verification is not used.
    *source.0.lock().unwrap() = Arc::new(KeySet::new([a.verification_key()]));
    assert_refused(check(&validator, &token), Error::NoMatchingKey, 401, INVALID, &token);
    // A refreshed set (even with the same keys) means verifying again, once.
    *source.0.lock().unwrap() = Arc::new(KeySet::new([a.verification_key(), b.verification_key()]));
    assert!(check(&validator, &token).is_ok());
    assert!(check(&validator, &token).is_ok());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[test]
fn refusals_are_not_cached_and_other_claims_types_are_verified_again() {
    let (key, stranger) = (key("k"), key("k"));
    let clock = ManualClock::new(NOW);
    let (validator, runs) = counting(issuer(&[Algorithm::ES256], &[&key]), &clock);
    let forged = stranger.token(&good_claims());
    for _ in 0..3 {
        assert_refused(check(&validator, &forged), Error::InvalidSignature, 401, INVALID, &forged);
    }
    assert_eq!(validator.token_cache().unwrap().entry_count(), 0, "refusals are not cached");
    // One byte more or less is another token.
    let token = key.token(&good_claims());
    assert!(check(&validator, &token).is_ok());
    let truncated = &token[..token.len() - 1];
    assert!(check(&validator, truncated).is_err());
    // The same token asked for as another claims type: verified again.
    let as_map =
        block_on(validator.validate_token::<serde_json::Map<String, serde_json::Value>>(&token)).unwrap();
    assert_eq!(as_map.claims()["sub"], "user-1");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let again: tokengate::Verified<StandardClaims> = check(&validator, &token).unwrap();
    assert_eq!(again.claims().sub.as_deref(), Some("user-1"));
}

#[test]
fn the_cache_is_bounded() {
    let key = key("k");
    let validator = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(ManualClock::new(NOW))
        .token_cache(Some(TokenCache::bounded(16, 1024 * 1024)))
        .build()
        .unwrap();
    for i in 0..200 {
        let token = key.token(&claims_with(json!({ "jti": format!("t-{i}") })));
        assert!(check(&validator, &token).is_ok());
    }
    let held = validator.token_cache().unwrap().entry_count();
    assert!(held <= 16, "{held} entries held, at most 16 allowed");
    // A byte bound below entries × size also holds.
    let small = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(ManualClock::new(NOW))
        .token_cache(Some(TokenCache::bounded(1000, 8 * 1024)))
        .build()
        .unwrap();
    for i in 0..200 {
        let token = key.token(&claims_with(json!({ "jti": format!("t-{i}") })));
        assert!(check(&small, &token).is_ok());
    }
    let held = small.token_cache().unwrap().entry_count();
    assert!(held <= 8 * 1024 / 600, "{held} entries of ~600+ bytes in 8 KiB");
}
