//! Every check of the core validator, through real keys and real tokens:
//! each refusal asserts the exact `Error` variant, status and error code.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::json;
use tokengate::{
    Algorithm, Error, Issuer, KeySet, ManualClock, Part, StandardClaims, TokenProblem, TokenTypes, Validator,
    Verified,
};
use tokengate_testkit::{SigningKey, b64};
use tokengate_tests::*;

const INVALID: Option<&str> = Some("invalid_token");

fn es256() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid("ec-1")
}

fn es_validator(key: &SigningKey) -> Validator {
    validator(issuer(&[Algorithm::ES256], &[key]))
}

#[test]
fn every_algorithm_verifies_with_its_key() {
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).with_kid(format!("{alg}-key"));
        let other = SigningKey::generate(alg).with_kid("other");
        let validator = validator(issuer(&[alg], &[&key, &other]));
        let verified = check(&validator, &key.token(&good_claims())).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.algorithm(), Some(alg));
        assert_eq!(verified.key_id(), Some(format!("{alg}-key").as_str()));
        assert_eq!(verified.subject(), Some("user-1"));
        assert_eq!(verified.issuer(), Some(ISS));
        assert_eq!(verified.token_id(), Some("token-1"));
        assert_eq!(verified.client_id(), Some("client-1"));
        assert_eq!(verified.expires_at(), Some(NOW + 300));
        assert_eq!(verified.scopes().iter().collect::<Vec<_>>(), ["read", "write"]);
        assert_eq!(verified.claims().aud, [AUD]);

        // The same token with one signature byte flipped is refused.
        let mut token = key.token(&good_claims()).into_bytes();
        let last = token.len() - 5;
        token[last] = if token[last] == b'A' { b'B' } else { b'A' };
        let token = String::from_utf8(token).unwrap();
        assert_refused(check(&validator, &token), Error::InvalidSignature, 401, INVALID, &token);
    }
}

#[test]
fn rsa_keys_without_alg_serve_both_paddings_and_a_jwk_alg_restricts_them() {
    let key = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let unrestricted = tokengate::Key::from_rsa_der(key.public_der().unwrap()).unwrap().with_kid("rsa");
    let validator = validator(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::RS256, Algorithm::PS256])
            .keys(KeySet::new([unrestricted])),
    );
    assert!(check(&validator, &key.token(&good_claims())).is_ok());
    let pss = key.with_alg(Algorithm::PS256);
    assert!(check(&validator, &pss.token(&good_claims())).is_ok());

    // The JWK says `alg: RS256`: that key can never verify PS256, which the build reports.
    let restricted =
        Validator::builder().issuer(issuer(&[Algorithm::RS256, Algorithm::PS256], &[&pss])).build();
    assert_eq!(
        restricted.unwrap_err(),
        tokengate::BuildError::NoKeyForAlgorithm { issuer: ISS.into(), algorithm: Algorithm::RS256 }
    );
}

#[test]
fn algorithm_outside_the_allow_list_is_refused() {
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let validator = validator(issuer(&[Algorithm::RS256], &[&rsa]));
    let rs512 = SigningKey::generate(Algorithm::RS512).with_kid("rsa");
    let token = rs512.token(&good_claims());
    assert_refused(
        check(&validator, &token),
        Error::AlgorithmNotAllowed(Algorithm::RS512),
        401,
        INVALID,
        &token,
    );
}

#[test]
fn alg_none_and_unknown_names_are_unsupported_in_any_case() {
    let key = es256();
    let validator = es_validator(&key);
    let claims = b64(good_claims().to_string());
    for alg in ["none", "None", "NONE", "nOnE", "es256", "ES512", "HS1", ""] {
        let header = b64(json!({ "alg": alg, "kid": "ec-1" }).to_string());
        for token in [format!("{header}.{claims}.c2ln"), format!("{header}.{claims}.")] {
            let expected = if token.ends_with('.') {
                Error::MalformedToken(TokenProblem::MissingSignature)
            } else {
                Error::UnsupportedAlgorithm
            };
            assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
        }
    }
}

#[test]
fn header_alg_of_wrong_type_or_missing() {
    let key = es256();
    let validator = es_validator(&key);
    let claims = good_claims().to_string();
    for (header, problem) in [
        (json!({ "alg": 7 }), TokenProblem::InvalidHeaderMember("alg")),
        (json!({ "alg": null }), TokenProblem::InvalidHeaderMember("alg")),
        (json!({ "kid": "ec-1" }), TokenProblem::MissingAlgorithm),
        (json!({ "alg": "ES256", "kid": 1 }), TokenProblem::InvalidHeaderMember("kid")),
        (json!({ "alg": "ES256", "typ": ["JWT"] }), TokenProblem::InvalidHeaderMember("typ")),
        (json!({ "alg": "ES256", "crit": [] }), TokenProblem::InvalidHeaderMember("crit")),
        (json!({ "alg": "ES256", "crit": "exp" }), TokenProblem::InvalidHeaderMember("crit")),
    ] {
        let token = key.sign_raw(&header.to_string(), &claims);
        assert_refused(check(&validator, &token), Error::MalformedToken(problem), 401, INVALID, &token);
    }
}

#[test]
fn unknown_critical_extensions_are_refused() {
    let key = es256();
    let validator = es_validator(&key);
    for crit in [json!(["b64"]), json!(["exp"]), json!(["https://example.com/ext"])] {
        let header = json!({ "alg": "ES256", "kid": "ec-1", "crit": crit, "b64": false });
        let token = key.token_with_header(&header, &good_claims());
        assert_refused(check(&validator, &token), Error::UnknownCriticalHeader, 401, INVALID, &token);
    }
}

#[test]
fn token_types() {
    let key = es256();
    let validator = es_validator(&key);
    for typ in [None, Some("JWT"), Some("at+jwt"), Some("application/at+jwt"), Some("AT+JWT")] {
        let mut header = json!({ "alg": "ES256", "kid": "ec-1" });
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        assert!(check(&validator, &key.token_with_header(&header, &good_claims())).is_ok(), "{typ:?}");
    }
    for typ in ["dpop+jwt", "id_token+jwt", "application/jose", "logout+jwt"] {
        let token =
            key.token_with_header(&json!({ "alg": "ES256", "kid": "ec-1", "typ": typ }), &good_claims());
        assert_refused(check(&validator, &token), Error::UnsupportedTokenType, 401, INVALID, &token);
    }

    let strict =
        validator_for(issuer(&[Algorithm::ES256], &[&key]).token_types(TokenTypes::access_tokens_only()));
    let jwt = key.token(&good_claims());
    assert_refused(check(&strict, &jwt), Error::UnsupportedTokenType, 401, INVALID, &jwt);
    let untyped = key.token_with_header(&json!({ "alg": "ES256", "kid": "ec-1" }), &good_claims());
    assert_refused(check(&strict, &untyped), Error::UnsupportedTokenType, 401, INVALID, &untyped);
    let at =
        key.token_with_header(&json!({ "alg": "ES256", "kid": "ec-1", "typ": "at+jwt" }), &good_claims());
    assert!(check(&strict, &at).is_ok());
}

fn validator_for(issuer: Issuer) -> Validator {
    validator(issuer)
}

#[test]
fn key_selection_by_kid_and_alg() {
    let a = SigningKey::generate(Algorithm::ES256).with_kid("a");
    let b = SigningKey::generate(Algorithm::ES256).with_kid("b");
    let validator = validator(issuer(&[Algorithm::ES256], &[&a, &b]));
    assert!(check(&validator, &a.token(&good_claims())).is_ok());
    assert!(check(&validator, &b.token(&good_claims())).is_ok());

    // A kid of the set with another key's signature.
    let forged = a.token_with_header(&json!({ "alg": "ES256", "kid": "b" }), &good_claims());
    assert_refused(check(&validator, &forged), Error::InvalidSignature, 401, INVALID, &forged);

    // Unknown, empty, traversal, injection and NUL kids.
    for kid in ["c", "", "../../etc/passwd", "' OR 1=1 --", "a\u{0}", "A"] {
        let token = a.token_with_header(&json!({ "alg": "ES256", "kid": kid }), &good_claims());
        assert_refused(check(&validator, &token), Error::NoMatchingKey, 401, INVALID, &token);
    }

    // Without kid, two keys fit: ambiguous, never tried one by one.
    let no_kid = a.token_with_header(&json!({ "alg": "ES256" }), &good_claims());
    assert_refused(check(&validator, &no_kid), Error::AmbiguousKey, 401, INVALID, &no_kid);

    // Without kid and exactly one fitting key: accepted.
    let single = validator_for(issuer(&[Algorithm::ES256], &[&a]));
    assert!(check(&single, &no_kid).is_ok());

    // A kid naming a key of another type.
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("a");
    let mixed = validator_for(issuer(
        &[Algorithm::RS256],
        &[&a, &SigningKey::generate(Algorithm::RS256).with_kid("r")],
    ));
    let token = rsa.token(&good_claims());
    assert_refused(check(&mixed, &token), Error::KeyAlgorithmMismatch, 401, INVALID, &token);
}

#[test]
fn embedded_keys_and_key_urls_are_never_used() {
    let trusted = es256();
    let attacker = SigningKey::generate(Algorithm::ES256).with_kid("ec-1");
    let validator = es_validator(&trusted);
    let header = json!({
        "alg": "ES256",
        "kid": "ec-1",
        "jwk": attacker.public_jwk().unwrap(),
        "jku": "http://127.0.0.1:9/jwks.json",
        "x5u": "http://127.0.0.1:9/cert.pem",
    });
    let token = attacker.token_with_header(&header, &good_claims());
    assert_refused(check(&validator, &token), Error::InvalidSignature, 401, INVALID, &token);
}

#[test]
fn expiry_not_before_and_issued_at_with_leeway() {
    let key = es256();
    let clock = ManualClock::new(NOW);
    let validator = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]).leeway(Duration::from_secs(30)))
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = key.token(&good_claims()); // exp = NOW + 300
    assert!(check(&validator, &token).is_ok());
    clock.set(NOW + 300 + 29);
    assert!(check(&validator, &token).is_ok(), "within leeway");
    clock.set(NOW + 300 + 30);
    assert_refused(check(&validator, &token), Error::Expired, 401, INVALID, &token);

    clock.set(NOW);
    let early = key.token(&claims_with(json!({ "nbf": NOW + 31 })));
    assert_refused(check(&validator, &early), Error::NotYetValid, 401, INVALID, &early);
    assert!(check(&validator, &key.token(&claims_with(json!({ "nbf": NOW + 30 })))).is_ok());

    let future = key.token(&claims_with(json!({ "iat": NOW + 31 })));
    assert_refused(check(&validator, &future), Error::IssuedInFuture, 401, INVALID, &future);
    assert!(check(&validator, &key.token(&claims_with(json!({ "iat": NOW + 30 })))).is_ok());
}

#[test]
fn exp_is_required_unless_waived() {
    let key = es256();
    let token = key.token(&claims_with(json!({ "exp": null })));
    assert_refused(
        check(&es_validator(&key), &token),
        Error::MissingClaim(Cow::Borrowed("exp")),
        401,
        INVALID,
        &token,
    );
    // A token without `exp` has no lifetime to cap: the waiver needs the cap lifted too.
    let capped =
        Validator::builder().issuer(issuer(&[Algorithm::ES256], &[&key]).allow_missing_exp()).build();
    assert_eq!(capped.unwrap_err(), tokengate::BuildError::MissingExpWithLifetimeCap(ISS.into()));
    let waived = validator_for(issuer(&[Algorithm::ES256], &[&key]).allow_missing_exp().unbounded_lifetime());
    assert!(check(&waived, &token).is_ok());
}

#[test]
fn maximum_age_and_lifetime() {
    let key = es256();
    let aged = validator_for(
        issuer(&[Algorithm::ES256], &[&key]).max_token_age(Duration::from_secs(60)).leeway(Duration::ZERO),
    );
    assert!(check(&aged, &key.token(&claims_with(json!({ "iat": NOW - 60 })))).is_ok());
    let old = key.token(&claims_with(json!({ "iat": NOW - 61 })));
    assert_refused(check(&aged, &old), Error::TooOld, 401, INVALID, &old);
    let no_iat = key.token(&claims_with(json!({ "iat": null })));
    assert_refused(check(&aged, &no_iat), Error::MissingClaim(Cow::Borrowed("iat")), 401, INVALID, &no_iat);

    let short = validator_for(issuer(&[Algorithm::ES256], &[&key]).max_lifetime(Duration::from_secs(600)));
    assert!(check(&short, &key.token(&claims_with(json!({ "iat": NOW - 10, "exp": NOW + 590 })))).is_ok());
    let long = key.token(&claims_with(json!({ "iat": NOW - 10, "exp": NOW + 591 })));
    assert_refused(check(&short, &long), Error::LifetimeTooLong, 401, INVALID, &long);
    // Without `iat`, what is left of the token's life is capped.
    let left = |exp| key.token(&claims_with(json!({ "iat": null, "exp": exp })));
    assert!(check(&short, &left(NOW + 600)).is_ok());
    assert_refused(check(&short, &left(NOW + 601)), Error::LifetimeTooLong, 401, INVALID, &left(NOW + 601));

    // The default cap is one day; `unbounded_lifetime` lifts it.
    let default = validator_for(issuer(&[Algorithm::ES256], &[&key]));
    let day = key.token(&claims_with(json!({ "iat": NOW, "exp": NOW + 86_400 })));
    let longer = key.token(&claims_with(json!({ "iat": NOW, "exp": NOW + 86_401 })));
    assert!(check(&default, &day).is_ok());
    assert_refused(check(&default, &longer), Error::LifetimeTooLong, 401, INVALID, &longer);
    let unbounded = validator_for(issuer(&[Algorithm::ES256], &[&key]).unbounded_lifetime());
    assert!(check(&unbounded, &longer).is_ok());
}

#[test]
fn numeric_claims_of_the_wrong_type_are_refused_not_coerced() {
    let key = es256();
    let validator = es_validator(&key);
    for claim in ["exp", "nbf", "iat"] {
        for value in [
            json!("1800000100"),
            json!(1_800_000_100.5),
            json!(-1),
            json!(true),
            json!(null),
            json!(1e300),
            json!([1]),
        ] {
            let mut claims = good_claims();
            claims[claim] = value.clone();
            let token = key.token(&claims);
            let expected = Error::InvalidClaim {
                claim: Cow::Borrowed(claim),
                expected: "a non-negative integer NumericDate (seconds since 1970, at most year 9999)",
            };
            assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
        }
    }
    // An out-of-range integer written by hand (serde_json cannot produce it from u64).
    let token = key.sign_raw(
        &key.header().to_string(),
        &format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":99999999999999999999999}}"#),
    );
    assert!(matches!(check(&validator, &token), Err(Error::InvalidClaim { .. })));
}

#[test]
fn issuer_is_exact_required_and_typed() {
    let key = es256();
    let validator = es_validator(&key);
    for iss in [
        "https://issuer.test",
        "https://ISSUER.test/",
        "https://issuer.test//",
        " https://issuer.test/",
        "https://evil.test/",
    ] {
        let token = key.token(&claims_with(json!({ "iss": iss })));
        assert_refused(check(&validator, &token), Error::UntrustedIssuer, 401, INVALID, &token);
    }
    let missing = key.token(&claims_with(json!({ "iss": null })));
    assert_refused(
        check(&validator, &missing),
        Error::MissingClaim(Cow::Borrowed("iss")),
        401,
        INVALID,
        &missing,
    );
    for bad in [json!(7), json!([ISS]), json!({ "iss": ISS })] {
        let token = key.token(&claims_with(json!({ "iss": bad })));
        let expected = Error::InvalidClaim { claim: Cow::Borrowed("iss"), expected: "a string" };
        assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
    }
}

#[test]
fn audience_as_string_or_array_required_and_typed() {
    let key = es256();
    let validator = es_validator(&key);
    assert!(check(&validator, &key.token(&claims_with(json!({ "aud": [ "other", AUD ] })))).is_ok());
    for aud in [json!("https://api.test/"), json!("HTTPS://API.TEST"), json!([]), json!(["other"])] {
        let token = key.token(&claims_with(json!({ "aud": aud })));
        assert_refused(check(&validator, &token), Error::WrongAudience, 401, INVALID, &token);
    }
    let missing = key.token(&claims_with(json!({ "aud": null })));
    assert_refused(
        check(&validator, &missing),
        Error::MissingClaim(Cow::Borrowed("aud")),
        401,
        INVALID,
        &missing,
    );
    for aud in [json!(7), json!([7]), json!({ "a": AUD }), json!(true)] {
        let token = key.token(&claims_with(json!({ "aud": aud })));
        let expected =
            Error::InvalidClaim { claim: Cow::Borrowed("aud"), expected: "a string or an array of strings" };
        assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
    }
    // Waived: no aud is fine, a mistyped aud still is not.
    let waived = validator_for(
        Issuer::new(ISS)
            .skip_audience_check()
            .algorithms([Algorithm::ES256])
            .keys(KeySet::new([key.verification_key()])),
    );
    assert!(check(&waived, &missing).is_ok());
    let mistyped = key.token(&claims_with(json!({ "aud": 7 })));
    let expected =
        Error::InvalidClaim { claim: Cow::Borrowed("aud"), expected: "a string or an array of strings" };
    assert_refused(check(&waived, &mistyped), expected, 401, INVALID, &mistyped);
}

#[test]
fn registered_string_claims_are_typed() {
    let key = es256();
    let validator = es_validator(&key);
    for claim in ["sub", "jti", "client_id"] {
        let mut claims = good_claims();
        claims[claim] = json!(42);
        let token = key.token(&claims);
        let expected = Error::InvalidClaim { claim: Cow::Borrowed(claim), expected: "a string" };
        assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
    }
}

#[test]
fn scope_claims_of_other_types_are_refused() {
    let key = es256();
    let validator = es_validator(&key);
    for (changes, claim) in [
        (json!({ "scope": ["read"] }), "scope"),
        (json!({ "scope": null, "scp": 5 }), "scp"),
        (json!({ "scope": null, "permissions": "read" }), "permissions"),
    ] {
        let token = key.token(&claims_with(changes));
        assert!(
            matches!(check(&validator, &token), Err(Error::InvalidClaim { claim: c, .. }) if c == claim),
            "{claim}"
        );
    }
    let scp =
        check(&validator, &key.token(&claims_with(json!({ "scope": null, "scp": ["b", "a"] })))).unwrap();
    assert_eq!(scp.scopes().iter().collect::<Vec<_>>(), ["a", "b"]);
    let perms =
        check(&validator, &key.token(&claims_with(json!({ "scope": null, "permissions": ["read:x"] }))))
            .unwrap();
    assert!(perms.scopes().contains("read:x"));
}

#[test]
fn required_claims_and_custom_checks() {
    let key = es256();
    let validator =
        validator_for(issuer(&[Algorithm::ES256], &[&key]).require_claim("tenant").check(|claims| {
            match claims.str("tenant").as_deref() {
                Some("acme") => Ok(()),
                _ => Err("the token is not for tenant acme".into()),
            }
        }));
    let missing = key.token(&good_claims());
    assert_refused(
        check(&validator, &missing),
        Error::MissingClaim(Cow::Owned("tenant".into())),
        401,
        INVALID,
        &missing,
    );
    let wrong = key.token(&claims_with(json!({ "tenant": "globex" })));
    assert_refused(
        check(&validator, &wrong),
        Error::ClaimCheckFailed(Cow::Borrowed("the token is not for tenant acme")),
        401,
        INVALID,
        &wrong,
    );
    assert!(
        Error::ClaimCheckFailed("the token is not for tenant acme".into())
            .challenge()
            .contains(r#"error_description="the token is not for tenant acme""#)
    );
    assert!(check(&validator, &key.token(&claims_with(json!({ "tenant": "acme" })))).is_ok());
}

#[test]
fn custom_claim_types() {
    #[derive(Debug, serde::Deserialize)]
    struct Mine {
        sub: String,
        roles: Vec<String>,
    }
    let key = es256();
    let validator = es_validator(&key);
    let token = key.token(&claims_with(json!({ "roles": ["a", "b"] })));
    let verified = block_on(validator.validate_token::<Mine>(&token)).unwrap();
    assert_eq!(verified.claims().sub, "user-1");
    assert_eq!(verified.claims().roles, ["a", "b"]);
    let wrong_shape = key.token(&claims_with(json!({ "roles": "a" })));
    let result = block_on(validator.validate_token::<Mine>(&wrong_shape));
    assert_refused(result, Error::UnexpectedClaims, 401, INVALID, &wrong_shape);
    let map =
        block_on(validator.validate_token::<serde_json::Map<String, serde_json::Value>>(&token)).unwrap();
    assert_eq!(map.claims()["roles"], json!(["a", "b"]));
}

#[test]
fn several_issuers_never_share_keys_even_with_colliding_kids() {
    let key_a = SigningKey::generate(Algorithm::ES256).with_kid("same");
    let key_b = SigningKey::generate(Algorithm::ES256).with_kid("same");
    let validator = Validator::builder()
        .issuer(
            Issuer::new("https://a.test/")
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([key_a.verification_key()])),
        )
        .issuer(
            Issuer::new("https://b.test/")
                .audience("https://other-api")
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([key_b.verification_key()])),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let a = key_a.token(&claims_with(json!({ "iss": "https://a.test/" })));
    assert!(check(&validator, &a).is_ok());
    let b = key_b.token(&claims_with(json!({ "iss": "https://b.test/", "aud": "https://other-api" })));
    assert!(check(&validator, &b).is_ok());
    // Issuer B's key signing a token that claims issuer A: A's keys decide.
    let cross = key_b.token(&claims_with(json!({ "iss": "https://a.test/" })));
    assert_refused(check(&validator, &cross), Error::InvalidSignature, 401, INVALID, &cross);
    // Each issuer's own audience applies.
    let wrong_aud = key_b.token(&claims_with(json!({ "iss": "https://b.test/" })));
    assert_refused(check(&validator, &wrong_aud), Error::WrongAudience, 401, INVALID, &wrong_aud);
}

#[test]
fn structural_problems() {
    let key = es256();
    let validator = es_validator(&key);
    let token = key.token(&good_claims());
    let (h, rest) = token.split_once('.').unwrap();
    let (c, s) = rest.split_once('.').unwrap();
    let malformed = |p| Error::MalformedToken(p);
    let cases: Vec<(String, Error)> = vec![
        (format!("{h}.{c}"), malformed(TokenProblem::NotCompact)),
        (format!("{h}.{c}.{s}.{s}"), malformed(TokenProblem::NotCompact)),
        (format!("{h}.{c}.{s}.{s}.{s}"), malformed(TokenProblem::Encrypted)),
        ("{\"payload\":\"x\"}".into(), malformed(TokenProblem::JsonSerialization)),
        (format!("{h}.{c}.{s}="), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h} .{c}.{s}"), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h}.{c}.+{}", &s[1..]), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h}.{c}.{}/", &s[..s.len() - 1]), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h}.{c}."), malformed(TokenProblem::MissingSignature)),
        (
            format!("{h}.{c}.{}", &s[..s.len() - 1]),
            malformed(TokenProblem::NonCanonicalBase64(Part::Signature)),
        ),
        (format!("{h}.{c}.A"), malformed(TokenProblem::NonCanonicalBase64(Part::Signature))),
        (format!("{}.{c}.{s}", b64("not json")), malformed(TokenProblem::InvalidJson(Part::Header))),
        (format!("{}.{c}.{s}", b64("[1]")), malformed(TokenProblem::InvalidJson(Part::Header))),
        (format!(".{c}.{s}"), malformed(TokenProblem::InvalidJson(Part::Header))),
        (format!("{h}.{}.{s}", b64("[]")), malformed(TokenProblem::InvalidJson(Part::Claims))),
        (format!("{h}..{s}"), malformed(TokenProblem::InvalidJson(Part::Claims))),
    ];
    for (token, expected) in cases {
        assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
    }
}

#[test]
fn non_canonical_base64_trailing_bits_are_refused() {
    let key = es256();
    let validator = es_validator(&key);
    // "e30" is "{}"; "e31" decodes to the same bytes with non-zero trailing bits.
    let header_b64 = b64(key.header().to_string());
    let claims_b64 = b64(good_claims().to_string());
    let signing_input = format!("{header_b64}.{claims_b64}");
    let signature = b64(key.sign(signing_input.as_bytes()));
    assert!(check(&validator, &format!("{signing_input}.{signature}")).is_ok());
    // Flip the unused low bits of the last signature character (64-byte ES256
    // signatures leave 4 of them).
    let mut bad = signature.clone().into_bytes();
    let last = bad.len() - 1;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|c| *c == bad[last]).unwrap();
    bad[last] = alphabet[index ^ 1];
    let token = format!("{signing_input}.{}", String::from_utf8(bad).unwrap());
    assert_refused(
        check(&validator, &token),
        Error::MalformedToken(TokenProblem::NonCanonicalBase64(Part::Signature)),
        401,
        INVALID,
        &token,
    );
}

#[test]
fn duplicate_members_are_refused_in_header_and_claims() {
    let key = es256();
    let validator = es_validator(&key);
    let claims = good_claims().to_string();
    let dup_header = key.sign_raw(r#"{"alg":"ES256","kid":"ec-1","kid":"ec-2"}"#, &claims);
    assert_refused(
        check(&validator, &dup_header),
        Error::MalformedToken(TokenProblem::DuplicateMember(Part::Header)),
        401,
        INVALID,
        &dup_header,
    );
    let header = key.header().to_string();
    for dup in [
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"sub":"a","sub":"admin"}}"#, NOW + 60),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"exp":{}}}"#, NOW - 60, NOW + 60),
        format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"x":{{"a":1,"a":2}}}}"#, NOW + 60),
    ] {
        let token = key.sign_raw(&header, &dup);
        assert_refused(
            check(&validator, &token),
            Error::MalformedToken(TokenProblem::DuplicateMember(Part::Claims)),
            401,
            INVALID,
            &token,
        );
    }
}

#[test]
fn deep_nesting_and_oversized_tokens_are_refused_without_harm() {
    let key = es256();
    let validator = es_validator(&key);
    let deep = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"x":{}1{}}}"#,
        NOW + 60,
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let token = key.sign_raw(&key.header().to_string(), &deep);
    let limit = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .max_token_bytes(64 * 1024)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    assert_refused(
        check(&limit, &token),
        Error::MalformedToken(TokenProblem::InvalidJson(Part::Claims)),
        401,
        INVALID,
        &token,
    );
    let big = key.token(&claims_with(json!({ "pad": "x".repeat(9000) })));
    assert_refused(check(&validator, &big), Error::TokenTooLarge { limit: 8192 }, 401, INVALID, &big);
    assert!(check(&limit, &big).is_ok());
    // Still serving afterwards.
    assert!(check(&validator, &key.token(&good_claims())).is_ok());
}

#[test]
fn hmac_tokens_and_algorithm_confusion() {
    let secret = SigningKey::generate(Algorithm::HS256).with_kid("hs");
    let validator = validator(issuer(&[Algorithm::HS256], &[&secret]));
    assert!(check(&validator, &secret.token(&good_claims())).is_ok());

    // An RSA issuer: tokens HMAC-signed with the public key's PEM, DER or JWK bytes.
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let rsa_validator = validator_for(issuer(&[Algorithm::RS256], &[&rsa]));
    for public in [
        rsa.public_pem().unwrap().into_bytes(),
        rsa.public_der().unwrap(),
        rsa.public_jwk().unwrap().to_string().into_bytes(),
    ] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let forger = SigningKey::hmac(alg, public.clone()).with_kid("rsa");
            let token = forger.token(&good_claims());
            assert_refused(
                check(&rsa_validator, &token),
                Error::AlgorithmNotAllowed(alg),
                401,
                INVALID,
                &token,
            );
        }
    }
}

#[test]
fn default_claims_type_reads_the_registered_claims() {
    let key = es256();
    let verified =
        check(&es_validator(&key), &key.token(&claims_with(json!({ "aud": ["x", AUD], "nbf": NOW - 5 }))))
            .unwrap();
    assert_eq!(
        *verified.claims(),
        StandardClaims {
            iss: Some(ISS.into()),
            sub: Some("user-1".into()),
            aud: vec!["x".into(), AUD.into()],
            exp: Some(NOW + 300),
            nbf: Some(NOW - 5),
            iat: Some(NOW - 10),
            jti: Some("token-1".into()),
            client_id: Some("client-1".into()),
        }
    );
}

/// `StandardClaims` is built from what the claim rules read, not parsed
/// again: for every accepted shape it must equal what serde reads from the
/// token's JSON, and a claims type of the caller's own still gets serde's.
#[test]
fn standard_claims_are_exactly_what_serde_reads() {
    let key = es256();
    let validator = es_validator(&key);
    let shapes = [
        good_claims(),
        claims_with(json!({ "aud": [AUD, "https://other.test"], "nbf": NOW - 5 })),
        claims_with(json!({ "sub": null, "jti": null, "client_id": null, "iat": null, "scope": null })),
        claims_with(
            json!({ "sub": "caf\u{e9} \"quoted\" \\ /", "jti": "a\u{1F600}b", "extra": { "deep": [1, 2] } }),
        ),
        claims_with(json!({ "nbf": 0, "iat": NOW - 100, "client_id": "" })),
    ];
    for claims in shapes {
        let token = key.token(&claims);
        let verified = check(&validator, &token).unwrap_or_else(|e| panic!("{claims}: {e}"));
        let expected: StandardClaims = serde_json::from_value(claims.clone()).unwrap();
        assert_eq!(verified.claims(), &expected, "{claims}");
        let own: Verified<serde_json::Value> = block_on(validator.validate_token(&token)).unwrap();
        assert_eq!(own.claims(), &claims, "another claims type is still read by serde");
    }
}
