//! The testkit's `MockIssuer`, as a user's integration test would use it: a
//! validator configured by discovery against it, its good and bad tokens,
//! a key rotation, and an outage.

use std::time::Duration;

use serde_json::json;
use tokengate::dpop::Dpop;
use tokengate::jwks::JwksSource;
use tokengate::{Algorithm, Error, Issuer, Presentation, StandardClaims, Validator};
use tokengate_testkit::{Failure, MockIssuer, SigningKey};

fn validator_for(idp: &MockIssuer) -> Validator {
    let keys = JwksSource::discover(idp.issuer())
        .allow_http_loopback(true)
        .cooldown(Duration::ZERO)
        .build()
        .expect("a valid source");
    Validator::builder()
        .issuer(
            Issuer::new(idp.issuer())
                .audience(idp.audience())
                .algorithms([Algorithm::ES256])
                .key_source(keys),
        )
        .build()
        .expect("a valid validator")
}

async fn check(validator: &Validator, token: &str) -> Result<(), Error> {
    validator.validate_token::<StandardClaims>(token).await.map(drop)
}

/// `Issuer::discover`: the issuer written once, keys by discovery.
#[tokio::test]
async fn an_issuer_is_discovered_from_its_url_alone() {
    use tokengate::IssuerDiscovery as _;
    let idp = MockIssuer::start().await.unwrap();
    let validator = Validator::builder()
        .issuer(
            Issuer::discover_with(idp.issuer(), |keys| keys.allow_http_loopback(true))
                .expect("a valid source")
                .audience(idp.audience())
                .algorithms([Algorithm::ES256]),
        )
        .build()
        .unwrap();
    validator.warm_up().await.expect("keys by discovery");
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (1, 1));
    assert!(check(&validator, &idp.valid_token()).await.is_ok());
    // Without the loopback waiver, `http://` is refused when building, with a hint.
    let refused = Issuer::discover(idp.issuer()).expect_err("http:// refused");
    assert!(format!("{refused:?}").contains("allow_http_loopback"), "{refused:?}");
}

#[tokio::test]
async fn a_mock_issuer_stands_in_for_a_real_provider() {
    let idp = MockIssuer::start().await.unwrap();
    let validator = validator_for(&idp);
    validator.warm_up().await.expect("keys by discovery");
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (1, 1));

    let verified =
        validator.validate_token::<StandardClaims>(&idp.token(json!({ "scope": "read" }))).await.unwrap();
    assert_eq!((verified.subject(), verified.scopes().contains("read")), (Some("alice"), true));
    assert_eq!(check(&validator, &idp.expired_token()).await, Err(Error::Expired));
    assert_eq!(check(&validator, &idp.wrong_audience_token()).await, Err(Error::WrongAudience));
    assert_eq!(check(&validator, &idp.wrong_key_token()).await, Err(Error::InvalidSignature));
    let client = SigningKey::generate(Algorithm::ES256);
    let bound = idp.bound_token(&client, json!({}));
    // Bound to the client's key: never good as a bearer token, good with its proof.
    assert_eq!(check(&validator, &bound).await, Err(Error::BoundTokenAsBearer));
    let with_dpop = Validator::builder()
        .issuer(Issuer::new(idp.issuer()).audience(idp.audience()).algorithms([Algorithm::ES256]).key_source(
            JwksSource::discover(idp.issuer()).allow_http_loopback(true).build().expect("a valid source"),
        ))
        .dpop(Dpop::new("https://api.example.com"))
        .build()
        .expect("a valid validator");
    let proof = client.dpop_proof("GET", "https://api.example.com/me").access_token(&bound).sign();
    let verified = with_dpop
        .validate_presentation::<StandardClaims>(&Presentation::dpop(&bound, &proof, "GET", "/me"))
        .await
        .expect("the bound token with its proof");
    assert_eq!(verified.dpop_thumbprint(), client.jwk_thumbprint().as_deref());

    // A rotation: the new key's tokens are accepted once the set is fetched again.
    let old = idp.valid_token();
    let kid = idp.rotate();
    let new = idp.valid_token();
    assert!(new.len() > 20 && idp.signing_key().kid() == Some(kid.as_str()));
    check(&validator, &new).await.expect("the unknown kid triggers a refresh");
    check(&validator, &old).await.expect("the old key is still published");
    idp.retire_old_keys();

    // An outage: a validator with no keys yet answers 503, never a verdict.
    idp.fail(Failure::ServerError);
    let cold = validator_for(&idp);
    let refused = check(&cold, &new).await.unwrap_err();
    assert!(matches!(refused, Error::KeysUnavailable { .. }), "{refused:?}");
    assert_eq!(refused.status().as_u16(), 503);
    assert!(matches!(cold.warm_up().await, Err(Error::KeysUnavailable { .. })));
    idp.fail(Failure::None);
}
