//! This package turns on both of jsonwebtoken's crypto backends (as a user's
//! dependency graph may). jsonwebtoken then panics when asked for its
//! process-wide provider; tokengate never asks, so it keeps working.
//!
//! This file is its own test binary (its own process): nothing here installs
//! a jsonwebtoken provider before the assertions run.

use tokengate::Algorithm;
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

#[test]
fn tokengate_validates_while_jsonwebtoken_alone_would_panic() {
    let key = SigningKey::generate(Algorithm::RS256).with_kid("k");
    let token = key.token(&good_claims());

    // Raw jsonwebtoken in the same process, same build: no provider can be chosen.
    let decoding = jsonwebtoken::DecodingKey::from_rsa_pem(key.public_pem().unwrap().as_bytes()).unwrap();
    let raw = std::panic::catch_unwind(|| {
        jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &decoding,
            &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256),
        )
    });
    assert!(raw.is_err(), "jsonwebtoken should panic with both backends enabled and no provider installed");

    // tokengate verifies on aws-lc-rs directly.
    let validator = validator(issuer(&[Algorithm::RS256], &[&key]));
    let verified = check(&validator, &token).expect("tokengate does not depend on jsonwebtoken's provider");
    assert_eq!(verified.subject(), Some("user-1"));
}
