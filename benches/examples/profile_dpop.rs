//! A fixed amount of DPoP validation work for instruction-level profiling,
//! the companion of `benches/dpop.rs`:
//! `valgrind --tool=callgrind --toggle-collect='*measured*' target/release/examples/profile_dpop dpop 300`
//! counts instructions, which stay the same whatever else the machine does.
//!
//! Modes (ES256 throughout, the token and claims of `benches/dpop.rs`):
//! `floor` (one ES256 verification), `bearer` (the bound token as a bearer
//! token, DPoP off), `dpop` (the token with a fresh proof), `jwk-key` (the
//! proof's `jwk` header made into a key); `bearer` and `dpop` run with the
//! verified-token cache off, `bearer-cached` and `dpop-cached` with it on
//! (the token seen before). Proofs are made before the measured loop.

use base64::Engine as _;
use serde_json::json;
use tokengate::dpop::Dpop;
use tokengate::{Algorithm, Issuer, Key, KeySet, Presentation, StandardClaims, TokenCache, Validator};
use tokengate_testkit::SigningKey;

#[path = "../benches/common/peers.rs"]
#[allow(dead_code)] // this driver uses the claims set, `ready` and the constants
mod peers;

use peers::{AUD, ISS, ready};

const PUBLIC: &str = "https://api.example.com";
const PATH: &str = "/orders/42";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "dpop".into());
    let iterations: usize = args.next().as_deref().unwrap_or("300").parse().expect("a count");
    let issuer_key = SigningKey::generate(Algorithm::ES256).with_kid("key-2");
    let other = SigningKey::generate(Algorithm::ES256).with_kid("key-1");
    let client = SigningKey::generate(Algorithm::ES256);
    let cached = mode.ends_with("-cached");
    let dpop = mode.starts_with("dpop");
    // The claims of the criterion benches; bound to the client's key for the
    // DPoP modes only (a bound token is never accepted as a bearer token).
    let mut claims = peers::claims();
    if dpop {
        claims["cnf"] = json!({ "jkt": client.jwk_thumbprint().unwrap() });
    }
    let token = issuer_key.token(&claims);
    let mut builder = Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([other.verification_key(), issuer_key.verification_key()])),
        )
        .token_cache(cached.then(TokenCache::new));
    if dpop {
        builder = builder.dpop(Dpop::new(PUBLIC));
    }
    let validator = builder.build().expect("valid configuration");
    let presentation = || {
        let proof = client.dpop_proof("GET", &format!("{PUBLIC}{PATH}")).access_token(&token).sign();
        Presentation::dpop(token.as_str(), proof, "GET", PATH)
    };

    match mode.as_str() {
        "floor" => {
            use aws_lc_rs::signature;
            let (signing_input, sig) = token.rsplit_once('.').unwrap();
            let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
            let key = signature::ParsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                issuer_key.public_der().unwrap(),
            )
            .unwrap();
            let work = vec![(); iterations];
            measured(&work, &|()| assert!(key.verify_sig(signing_input.as_bytes(), &sig).is_ok()));
        }
        "jwk-key" => {
            let jwk = client.public_jwk().unwrap().to_string();
            let work = vec![(); iterations];
            measured(&work, &|()| assert!(Key::from_jwk_json(&jwk).is_ok()));
        }
        "bearer" | "bearer-cached" => {
            ready(validator.validate_token::<StandardClaims>(&token)).unwrap();
            let work = vec![(); iterations];
            measured(&work, &|()| {
                assert!(ready(validator.validate_token::<StandardClaims>(&token)).is_ok());
            });
        }
        "dpop" | "dpop-cached" => {
            ready(validator.validate_presentation::<StandardClaims>(&presentation())).unwrap();
            let work: Vec<Presentation> = (0..iterations).map(|_| presentation()).collect();
            measured(&work, &|presentation| {
                assert!(ready(validator.validate_presentation::<StandardClaims>(presentation)).is_ok());
            });
        }
        other => panic!("unknown mode {other}: floor, jwk-key, bearer, bearer-cached, dpop, dpop-cached"),
    }
}

/// The measured loop, one call of `work` per input; profile only this with
/// `valgrind --tool=callgrind --toggle-collect='*measured*' ...`.
#[inline(never)]
fn measured<T>(inputs: &[T], work: &dyn Fn(&T)) {
    for input in inputs {
        work(input);
    }
}
