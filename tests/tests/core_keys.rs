//! Loading keys: PEM, DER, JWK, JWK Sets and HMAC secrets, and what is refused.

use serde_json::json;
use tokengate::{Algorithm, AlgorithmSet, Key, KeyError, KeySet};
use tokengate_testkit::{SigningKey, jwk_set};
use tokengate_tests::*;

fn validates(key: Key, signer: &SigningKey) -> bool {
    let validator = validator(
        tokengate::Issuer::new(ISS).audience(AUD).algorithms([signer.alg()]).keys(KeySet::new([key])),
    );
    check(&validator, &signer.token(&good_claims())).is_ok()
}

#[test]
fn pem_and_der_for_every_asymmetric_family() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let signer = SigningKey::generate(alg);
        let pem = signer.public_pem().unwrap();
        let der = signer.public_der().unwrap();
        let (from_pem, from_der) = match alg {
            Algorithm::RS256 => (Key::from_rsa_pem(&pem), Key::from_rsa_der(&der)),
            Algorithm::EdDSA => (Key::from_ed_pem(&pem), Key::from_ed_der(&der)),
            _ => (Key::from_ec_pem(&pem), Key::from_ec_der(&der)),
        };
        assert!(validates(from_pem.unwrap(), &signer), "{alg} PEM");
        assert!(validates(from_der.unwrap(), &signer), "{alg} DER");
        assert!(
            validates(Key::from_jwk_json(signer.public_jwk().unwrap().to_string()).unwrap(), &signer),
            "{alg} JWK"
        );
    }
}

#[test]
fn ec_keys_answer_only_their_curve() {
    let p256 = Key::from_ec_der(SigningKey::generate(Algorithm::ES256).public_der().unwrap()).unwrap();
    assert_eq!(p256.algorithms(), AlgorithmSet::from([Algorithm::ES256]));
    let p384 = Key::from_ec_der(SigningKey::generate(Algorithm::ES384).public_der().unwrap()).unwrap();
    assert_eq!(p384.algorithms(), AlgorithmSet::from([Algorithm::ES384]));
}

#[test]
fn wrong_kinds_of_pem_and_der_are_refused() {
    let rsa = SigningKey::generate(Algorithm::RS256);
    let ec = SigningKey::generate(Algorithm::ES256);
    assert_eq!(
        Key::from_ec_pem(rsa.public_pem().unwrap()).unwrap_err(),
        KeyError::InvalidPem("EC P-256/P-384")
    );
    assert_eq!(Key::from_rsa_der(ec.public_der().unwrap()).unwrap_err(), KeyError::InvalidDer("RSA"));
    assert_eq!(Key::from_ed_der(b"garbage").unwrap_err(), KeyError::InvalidDer("Ed25519"));
    assert_eq!(Key::from_rsa_pem("not pem").unwrap_err(), KeyError::InvalidPem("RSA"));
}

#[test]
fn short_rsa_keys_and_hmac_secrets_are_refused() {
    // A 1024-bit modulus (the top bit set, odd); aws-lc-rs will not generate one.
    let mut n = vec![0xC3u8; 128];
    n[127] |= 1;
    let jwk = json!({ "kty": "RSA", "n": tokengate_testkit::b64(&n), "e": "AQAB" });
    assert_eq!(Key::from_jwk_json(jwk.to_string()).unwrap_err(), KeyError::RsaKeyTooShort { bits: 1024 });
    assert_eq!(Key::hmac_secret([1u8; 31]).unwrap_err(), KeyError::HmacSecretTooShort { len: 31 });
    let hs = Key::hmac_secret([1u8; 48]).unwrap();
    assert_eq!(hs.algorithms(), AlgorithmSet::from([Algorithm::HS256, Algorithm::HS384]));
    let err = tokengate::Validator::builder()
        .issuer(
            tokengate::Issuer::new(ISS).audience(AUD).algorithms([Algorithm::HS512]).keys(KeySet::new([hs])),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        tokengate::BuildError::NoKeyForAlgorithm { issuer: ISS.into(), algorithm: Algorithm::HS512 }
    );
}

#[test]
fn jwk_hygiene() {
    let ec = SigningKey::generate(Algorithm::ES256).with_kid("ec");
    let jwk = ec.public_jwk().unwrap();
    let with = |changes: serde_json::Value| Key::from_jwk_json(merged(jwk.clone(), &changes).to_string());
    assert!(with(json!({ "use": null, "alg": null })).is_ok());
    assert!(with(json!({ "key_ops": ["verify"] })).is_ok());
    let invalid = |reason: &str| KeyError::InvalidJwk(reason.to_owned());
    for (bad, expected) in [
        (json!({ "use": "enc" }), invalid("its `use` is not `sig`")),
        (json!({ "key_ops": ["encrypt"] }), invalid("its `key_ops` do not include `verify`")),
        (json!({ "alg": "RSA-OAEP" }), invalid("its `alg` is not a supported JWS signature algorithm")),
        (json!({ "alg": "XX999" }), invalid("its `alg` is not a supported JWS signature algorithm")),
        (json!({ "alg": "ES384" }), KeyError::AlgorithmMismatch(Algorithm::ES384)),
        (json!({ "alg": "RS256" }), KeyError::AlgorithmMismatch(Algorithm::RS256)),
        (json!({ "crv": "P-521" }), invalid("its EC curve is not P-256 or P-384")),
        (json!({ "x": "!!" }), invalid("its `x` is not base64url")),
        (json!({ "x": "AAAA" }), invalid("its EC coordinates have the wrong length for the curve")),
        (json!({ "kty": "XYZ" }), invalid("its `kty` is not RSA, EC or OKP")),
    ] {
        assert_eq!(with(bad.clone()).unwrap_err(), expected, "{bad}");
    }
    // An `oct` JWK is never a key source: its `k` is a published secret.
    let oct = json!({ "kty": "oct", "k": tokengate_testkit::b64([7u8; 32]), "alg": "HS256" });
    assert_eq!(
        Key::from_jwk_json(oct.to_string()).unwrap_err(),
        KeyError::PrivateKeyPublished { member: "k" }
    );
}

/// A JWK carrying private key material was published by mistake: refused,
/// with an error that says so (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2),
/// and skipped in a JWK Set without disturbing the other keys.
#[test]
fn jwks_with_private_members_are_refused() {
    let ec = SigningKey::generate(Algorithm::ES256).with_kid("ec");
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let ed = SigningKey::generate(Algorithm::EdDSA).with_kid("ed");
    let private = |key: &SigningKey, member: &str| {
        let mut jwk = key.public_jwk().unwrap();
        jwk[member] = json!("AQAB");
        jwk
    };
    let cases = [
        (private(&ec, "d"), "d"),
        (private(&ed, "d"), "d"),
        (private(&rsa, "d"), "d"),
        (private(&rsa, "p"), "p"),
        (private(&rsa, "q"), "q"),
        (private(&rsa, "dp"), "dp"),
        (private(&rsa, "dq"), "dq"),
        (private(&rsa, "qi"), "qi"),
        (private(&rsa, "oth"), "oth"),
    ];
    for (jwk, member) in &cases {
        let error = Key::from_jwk_json(jwk.to_string()).unwrap_err();
        assert_eq!(error, KeyError::PrivateKeyPublished { member }, "{jwk}");
        assert!(error.to_string().contains("a private key was published"), "{error}");
    }
    let public = SigningKey::generate(Algorithm::ES256).with_kid("public");
    let mut doc = jwk_set([&public]);
    doc["keys"].as_array_mut().unwrap().push(cases[0].0.clone());
    let (set, skipped) = KeySet::parse_jwk_set(doc.to_string().as_bytes()).unwrap();
    assert_eq!(set.kids().collect::<Vec<_>>(), ["public"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].kid.as_deref(), Some("ec"));
    assert!(skipped[0].reason.contains("private key was published"), "{}", skipped[0].reason);
}

#[test]
fn jwk_sets_skip_unusable_keys_without_disturbing_the_others() {
    let a = SigningKey::generate(Algorithm::ES256).with_kid("a");
    let b = SigningKey::generate(Algorithm::EdDSA).with_kid("b");
    let mut doc = jwk_set([&a, &b]);
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.push(json!({ "kty": "XYZ", "kid": "unknown-kty" }));
    keys.push(json!({ "kty": "oct", "kid": "secret", "k": "c2VjcmV0" }));
    keys.push(json!({ "kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256", "x": "AA", "y": "AA" }));
    keys.push(json!("not even an object"));
    let (set, skipped) = KeySet::parse_jwk_set(doc.to_string().as_bytes()).unwrap();
    assert_eq!(set.kids().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(skipped.len(), 4);
    assert_eq!(skipped[0].kid.as_deref(), Some("unknown-kty"));
    let set = KeySet::from_jwk_set_json(doc.to_string()).unwrap();
    assert_eq!(set.len(), 2);

    assert!(matches!(
        KeySet::from_jwk_set_json(r#"{"keys":[{"kty":"XYZ"}]}"#),
        Err(KeyError::NoUsableKeys { skipped: 1 })
    ));
    for not_a_set in ["[]", "{}", r#"{"keys":{}}"#, "garbage"] {
        assert!(matches!(KeySet::from_jwk_set_json(not_a_set), Err(KeyError::NotAJwkSet(_))), "{not_a_set}");
    }
}

#[test]
fn key_debug_output_has_no_key_material() {
    let key = SigningKey::generate(Algorithm::HS256).with_kid("hs");
    let printed = format!("{:?}", key.verification_key());
    assert!(printed.contains("hs") && printed.contains("HS256"), "{printed}");
    let secret = key.secret().unwrap();
    assert!(!printed.contains(&format!("{:?}", &secret[..4])), "{printed}");
}
