//! Configurations the builder refuses, each with its precise error.

use std::time::Duration;

use tokengate::{Algorithm, BuildError, Issuer, KeySet, Validator};
use tokengate_testkit::{SigningKey, jwk_set};
use tokengate_tests::{AUD, ISS};

fn build(issuers: Vec<Issuer>) -> Result<Validator, BuildError> {
    issuers.into_iter().fold(Validator::builder(), |b, i| b.issuer(i)).build()
}

fn es_keys() -> KeySet {
    KeySet::new([SigningKey::generate(Algorithm::ES256).verification_key()])
}

fn good() -> Issuer {
    Issuer::new(ISS).audience(AUD).algorithms([Algorithm::ES256]).keys(es_keys())
}

#[test]
fn refused_configurations() {
    let iss = || ISS.to_owned();
    let cases: Vec<(Vec<Issuer>, BuildError)> = vec![
        (vec![], BuildError::NoIssuer),
        (
            vec![Issuer::new("").audience(AUD).algorithms([Algorithm::ES256]).keys(es_keys())],
            BuildError::EmptyIssuer,
        ),
        (vec![good(), good()], BuildError::DuplicateIssuer(iss())),
        (
            vec![good(), Issuer::any_issuer().audience(AUD).algorithms([Algorithm::ES256]).keys(es_keys())],
            BuildError::AnyIssuerNotAlone,
        ),
        (
            vec![Issuer::new(ISS).algorithms([Algorithm::ES256]).keys(es_keys())],
            BuildError::MissingAudience(iss()),
        ),
        (
            vec![Issuer::new(ISS).audience("").algorithms([Algorithm::ES256]).keys(es_keys())],
            BuildError::EmptyAudience(iss()),
        ),
        (vec![Issuer::new(ISS).audience(AUD).keys(es_keys())], BuildError::NoAlgorithms(iss())),
        (
            vec![
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([Algorithm::ES256, Algorithm::HS256])
                    .keys(es_keys()),
            ],
            BuildError::MixedAlgorithms(iss()),
        ),
        (vec![Issuer::new(ISS).audience(AUD).algorithms([Algorithm::ES256])], BuildError::MissingKeys(iss())),
        (
            vec![Issuer::new(ISS).audience(AUD).algorithms([Algorithm::HS256]).keys(es_keys())],
            BuildError::SymmetricWithoutSecret { issuer: iss(), algorithm: Algorithm::HS256 },
        ),
        (
            vec![
                Issuer::new(ISS).audience(AUD).algorithms([Algorithm::HS256]).keys(
                    KeySet::from_jwk_set_json(jwk_set([&SigningKey::generate(Algorithm::ES256)]).to_string())
                        .unwrap(),
                ),
            ],
            BuildError::SymmetricWithoutSecret { issuer: iss(), algorithm: Algorithm::HS256 },
        ),
        (
            vec![
                Issuer::new(ISS)
                    .audience(AUD)
                    .algorithms([Algorithm::ES256, Algorithm::RS256])
                    .keys(es_keys()),
            ],
            BuildError::NoKeyForAlgorithm { issuer: iss(), algorithm: Algorithm::RS256 },
        ),
        (vec![good().leeway(Duration::from_secs(301))], BuildError::LeewayTooLarge(iss())),
    ];
    for (issuers, expected) in cases {
        let error = build(issuers).unwrap_err();
        assert_eq!(error, expected);
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(
        Validator::builder().issuer(good()).max_token_bytes(10).build().unwrap_err(),
        BuildError::TokenSizeLimit
    );
    assert_eq!(
        Validator::builder().issuer(good()).max_token_bytes(2 * 1024 * 1024).build().unwrap_err(),
        BuildError::TokenSizeLimit
    );
}

#[test]
fn accepted_configurations() {
    assert!(build(vec![good()]).is_ok());
    assert!(build(vec![good().leeway(Duration::from_secs(300))]).is_ok());
    assert!(
        build(vec![
            Issuer::any_issuer().skip_audience_check().algorithms([Algorithm::ES256]).keys(es_keys())
        ])
        .is_ok()
    );
    let validator = build(vec![
        good(),
        Issuer::new("https://other.test/").audience(AUD).algorithms([Algorithm::ES256]).keys(es_keys()),
    ])
    .unwrap();
    assert_eq!(validator.issuers().len(), 2);
    let _clone_is_cheap: Validator = validator.clone();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Validator>();
}

#[test]
fn any_issuer_accepts_tokens_without_iss() {
    let key = SigningKey::generate(Algorithm::ES256);
    let validator = Validator::builder()
        .issuer(
            Issuer::any_issuer()
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([key.verification_key()])),
        )
        .clock(tokengate::ManualClock::new(tokengate_tests::NOW))
        .build()
        .unwrap();
    let token = key.token(&tokengate_tests::claims_with(serde_json::json!({ "iss": null })));
    assert!(tokengate_tests::check(&validator, &token).is_ok());
}

#[test]
fn unusable_token_locations_fail_the_build_naming_the_name() {
    for locations in [
        tokengate::TokenLocations { header: Some("cookie"), ..Default::default() },
        tokengate::TokenLocations { cookie: Some("a b"), ..Default::default() },
    ] {
        match Validator::builder().issuer(good()).token_locations(locations).build() {
            Err(BuildError::TokenLocation(problem)) => {
                let name = locations.header.or(locations.cookie).unwrap();
                assert!(problem.contains(&format!("{name:?}")), "{problem}");
            }
            other => panic!("expected BuildError::TokenLocation, got {:?}", other.map(drop)),
        }
    }
}
