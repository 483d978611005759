//! Shared helpers for tokengate's cross-crate tests: a baseline issuer, its
//! keys and claims, and assertions on refusals.
#![forbid(unsafe_code)]

pub mod interop;

use serde_json::{Value, json};
use tokengate::{Algorithm, Error, Issuer, KeySet, ManualClock, StandardClaims, Validator, Verified};
use tokengate_testkit::SigningKey;

/// The issuer the tests trust.
pub const ISS: &str = "https://issuer.test/";
/// The audience the tests expect.
pub const AUD: &str = "https://api.test";
/// A fixed "now" for the manual clock.
pub const NOW: u64 = 1_800_000_000;

/// Claims that pass every default check at [`NOW`].
pub fn good_claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "user-1",
        "aud": AUD,
        "iat": NOW - 10,
        "exp": NOW + 300,
        "jti": "token-1",
        "client_id": "client-1",
        "scope": "read write",
    })
}

/// `good_claims()` with `changes` merged in (`null` removes a member).
pub fn claims_with(changes: Value) -> Value {
    merged(good_claims(), &changes)
}

/// The object `base` with the members of `changes` set (`null` removes one).
pub fn merged(mut base: Value, changes: &Value) -> Value {
    let object = base.as_object_mut().expect("an object to change");
    for (name, value) in changes.as_object().expect("an object of changes") {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    base
}

/// An issuer trusting `keys` for `algorithms`, with the test audience.
pub fn issuer(algorithms: &[Algorithm], keys: &[&SigningKey]) -> Issuer {
    Issuer::new(ISS)
        .audience(AUD)
        .algorithms(algorithms.iter().copied().collect::<tokengate::AlgorithmSet>())
        .keys(KeySet::new(keys.iter().map(|k| k.verification_key())))
}

/// A validator for one issuer, on a manual clock at [`NOW`].
pub fn validator(issuer: Issuer) -> Validator {
    Validator::builder().issuer(issuer).clock(ManualClock::new(NOW)).build().expect("valid configuration")
}

/// Validates `token` on a current-thread runtime.
pub fn check(validator: &Validator, token: &str) -> Result<Verified<StandardClaims>, Error> {
    block_on(validator.validate_token(token))
}

/// A validator trusting `issuer` whose time is `clock`.
pub fn on_clock(issuer: Issuer, clock: &ManualClock) -> Validator {
    Validator::builder().issuer(issuer).clock(clock.clone()).build().expect("valid")
}

/// Validates `token`, then spends it once (`Validator::use_once`).
pub fn use_once(validator: &Validator, token: &str) -> Result<(), Error> {
    block_on(async {
        let verified = validator.validate_token::<StandardClaims>(token).await?;
        validator.use_once(&verified, &tokengate::SingleUse::new()).await
    })
}

/// Runs a future to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

/// Asserts that `result` is the refusal `expected` with RFC 6750 `status` and `code`,
/// and that nothing of `token` leaks into the challenge or the body.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, Error>,
    expected: Error,
    status: u16,
    code: Option<&str>,
    token: &str,
) {
    let error = result.expect_err("the token must be refused");
    assert_eq!(error, expected);
    assert_eq!(error.status().as_u16(), status, "status of {error:?}");
    assert_eq!(error.error_code(), code, "error code of {error:?}");
    let challenge = error.challenge();
    match code {
        Some(code) => assert!(challenge.contains(&format!("error=\"{code}\"")), "{challenge}"),
        None => assert_eq!(challenge, r#"Bearer realm="tokengate""#),
    }
    let refusal = tokengate::Refusal::new(&error, &tokengate::Challenge::default());
    for segment in token.split('.').filter(|s| s.len() > 8) {
        assert!(!challenge.contains(segment), "challenge leaks the token: {challenge}");
        assert!(!refusal.body.as_deref().unwrap_or("").contains(segment), "body leaks the token");
    }
}
