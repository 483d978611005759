//! DPoP interoperability: proofs minted by independent JOSE implementations
//! — PyJWT and jwcrypto (Python), jose (Node) — with keys generated here
//! (tokengate-testkit, handed over as PKCS#8 PEM files). Each library
//! exports the public key into the proof's `jwk` header itself, computes
//! `ath` and signs; jwcrypto and jose also compute the key's RFC 7638
//! thumbprint, which must equal the testkit's (the token's `cnf.jkt`).
//!
//! - Their proofs for `GET {public URL}/resource` are accepted by the
//!   validator, for ES256, ES384, RS256, PS256 and EdDSA, and report the
//!   proven key's thumbprint; the same proof again is a replay.
//! - Their proofs for another URL, or another method, are refused.
//!
//! The scripts are `tests/interop/dpop.py` and `tests/interop/dpop.mjs`
//! (libraries installed by `tests/interop/install.sh`). Without python3,
//! node, or the installed packages, each library is skipped loudly; with
//! `TOKENGATE_REQUIRE_INTEROP=1` (set in CI) that is a failure.

use serde_json::{Value, json};
use tokengate::dpop::{Dpop, DpopProblem};
use tokengate::{Algorithm, Error, Issuer, KeySet, Presentation, StandardClaims, Validator, Verified};
use tokengate_testkit::{SigningKey, now};
use tokengate_tests::interop::{Lib, TempDir};
use tokengate_tests::{AUD, ISS, block_on};

/// The public URL of the API the proofs are made for.
const PUBLIC: &str = "https://api.example.test";

/// Mints the proofs of `jobs` with `lib`; each answer is `{"proof", "jkt"}`.
fn mint(lib: Lib, jobs: &[Value]) -> Vec<Value> {
    let answers = lib.run("dpop", &json!({ "proofs": jobs }));
    let answers = answers.as_array().expect("an array of proofs").clone();
    assert_eq!(answers.len(), jobs.len(), "{}: one proof per job", lib.name());
    answers
}

/// What a proof is made for, and what the validator must make of it.
struct Case {
    label: &'static str,
    htm: &'static str,
    htu: String,
    want: Option<DpopProblem>,
}

fn cases() -> Vec<Case> {
    let resource = format!("{PUBLIC}/resource");
    vec![
        Case { label: "for this request", htm: "GET", htu: resource.clone(), want: None },
        Case {
            label: "with a query and fragment in htu",
            htm: "GET",
            htu: format!("{resource}?page=2#top"),
            want: None,
        },
        Case {
            label: "for another URL",
            htm: "GET",
            htu: format!("{PUBLIC}/other"),
            want: Some(DpopProblem::UrlMismatch),
        },
        Case {
            label: "for another host",
            htm: "GET",
            htu: "https://elsewhere.example.test/resource".into(),
            want: Some(DpopProblem::UrlMismatch),
        },
        Case {
            label: "for another method",
            htm: "POST",
            htu: resource,
            want: Some(DpopProblem::MethodMismatch),
        },
    ]
}

/// The API: the testkit issuer's tokens, DPoP on for [`PUBLIC`], the system clock.
fn validator(issuer_key: &SigningKey) -> Validator {
    Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([issuer_key.alg()])
                .keys(KeySet::new([issuer_key.verification_key()])),
        )
        .dpop(Dpop::new(PUBLIC))
        .build()
        .unwrap()
}

fn present(validator: &Validator, token: &str, proof: &str) -> Result<Verified<StandardClaims>, Error> {
    block_on(validator.validate_presentation(&Presentation::dpop(token, proof, "GET", "/resource")))
}

#[test]
fn proofs_minted_by_pyjwt_jwcrypto_and_jose_are_accepted_for_their_request_only() {
    let dir = TempDir::new("dpop");
    let issuer_key = SigningKey::generate(Algorithm::ES256).with_kid("issuer");
    let validator = validator(&issuer_key);
    let algorithms =
        [Algorithm::ES256, Algorithm::ES384, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA];
    let clients: Vec<(SigningKey, String)> = algorithms
        .iter()
        .map(|&alg| {
            let key = SigningKey::generate(alg);
            let file = dir.write(&format!("{alg}.key.pem"), key.private_pkcs8_pem().unwrap());
            (key, file)
        })
        .collect();
    let mut accepted = 0;
    for lib in Lib::ALL {
        if !lib.available("dpop") {
            continue;
        }
        for (client, key_file) in &clients {
            let alg = client.alg();
            let jkt = client.jwk_thumbprint().unwrap();
            let token = issuer_key.token(&json!({
                "iss": ISS, "aud": AUD, "sub": "interop-user", "iat": now(), "exp": now() + 600,
                "cnf": { "jkt": jkt },
            }));
            let jobs: Vec<Value> = cases()
                .iter()
                .enumerate()
                .map(|(index, case)| {
                    json!({
                        "lib": lib.name(),
                        "alg": alg.name(),
                        "key_file": key_file,
                        "htm": case.htm,
                        "htu": case.htu,
                        "iat": now(),
                        "jti": format!("{}-{alg}-{index}", lib.name()),
                        "access_token": token,
                    })
                })
                .collect();
            let proofs = mint(lib, &jobs);
            for (case, answer) in cases().iter().zip(&proofs) {
                let label = format!("{} {alg} proof {}", lib.name(), case.label);
                assert_eq!(answer["jkt"], jkt.as_str(), "{label}: their thumbprint of the key is ours");
                let proof = answer["proof"].as_str().unwrap();
                match case.want {
                    None => {
                        let verified = present(&validator, &token, proof)
                            .unwrap_or_else(|e| panic!("{label}: refused: {e:?}"));
                        assert_eq!(verified.dpop_thumbprint(), Some(jkt.as_str()), "{label}");
                        assert_eq!(verified.subject(), Some("interop-user"), "{label}");
                        assert_eq!(
                            present(&validator, &token, proof).err(),
                            Some(Error::InvalidDpopProof(DpopProblem::Replayed)),
                            "{label}, sent twice"
                        );
                        accepted += 1;
                    }
                    Some(problem) => assert_eq!(
                        present(&validator, &token, proof).err(),
                        Some(Error::InvalidDpopProof(problem)),
                        "{label}"
                    ),
                }
            }
            // Their good proof, with a token bound to another key: the key binding decides.
            let stranger = SigningKey::generate(Algorithm::ES256).jwk_thumbprint().unwrap();
            let other_token = issuer_key.token(&json!({
                "iss": ISS, "aud": AUD, "iat": now(), "exp": now() + 600, "cnf": { "jkt": stranger },
            }));
            let job = json!({
                "lib": lib.name(), "alg": alg.name(), "key_file": key_file, "htm": "GET",
                "htu": format!("{PUBLIC}/resource"), "iat": now(),
                "jti": format!("{}-{alg}-stranger", lib.name()), "access_token": other_token,
            });
            let proof = mint(lib, &[job]).remove(0);
            assert_eq!(
                present(&validator, &other_token, proof["proof"].as_str().unwrap()).err(),
                Some(Error::DpopKeyMismatch),
                "{} {alg}: a proof by a key the token is not bound to",
                lib.name()
            );
        }
        eprintln!(
            "{}: DPoP proofs for {} algorithms accepted, mismatches refused",
            lib.name(),
            algorithms.len()
        );
    }
    eprintln!("DPoP interop: {accepted} independently minted proofs accepted");
}
