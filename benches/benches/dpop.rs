//! What a DPoP proof (RFC 9449) costs on top of validating the token, ES256
//! throughout, in one run:
//!
//! * `floor`: one aws-lc-rs ES256 verification (key parsed once, signature
//!   pre-decoded) — the cost of the token's own signature.
//! * `bearer`: `Validator::validate_token` of a DPoP-bound token (`cnf.jkt`)
//!   on a validator without DPoP: the token alone, `cnf` ignored.
//! * `dpop`: `Validator::validate_presentation` of the same token under the
//!   `DPoP` scheme with a fresh proof: the token, then the proof — parse,
//!   `typ`/`alg`, the `jwk` header made into a key, its signature, `htm`,
//!   `htu` normalisation, `iat`, `ath`, the RFC 7638 thumbprint against
//!   `cnf.jkt` — and its `jti` recorded in the in-memory replay store. Each
//!   iteration gets a proof never used before, made outside the timing.
//! * `bearer-cached`, `dpop-cached`: the same with the verified-token cache
//!   on (the default), the token seen before: what a client reusing its
//!   token costs — the proof is checked on every request.
//! * `jwk-key`: `Key::from_jwk_json` of the proof's `jwk` header alone, the
//!   part of the proof's cost that a token's signature does not have (a
//!   token's key is parsed once, when its key set loads).
//!
//! `bearer` and `dpop` run with the cache off, so that each iteration
//! validates the token in full. A proof carries a signature of its own, so
//! twice the floor is about the least an uncached DPoP request can cost.
//! After the run, each estimate is printed as a ratio to the floor, and the
//! proof's cost as a ratio to the bearer validation.

use std::hint::black_box;

use aws_lc_rs::signature;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, Criterion};
use serde_json::json;
use tokengate::dpop::Dpop;
use tokengate::{Algorithm, Issuer, Key, KeySet, Presentation, StandardClaims, TokenCache, Validator};
use tokengate_testkit::SigningKey;

mod common;
#[path = "common/peers.rs"]
#[allow(dead_code)] // this bench uses the claims set, `ready` and the constants
mod peers;

use peers::{AUD, ISS, ready};

const PUBLIC: &str = "https://api.example.com";
const PATH: &str = "/orders/42";
const GROUP: &str = "dpop-ES256";

fn validator(issuer_key: &SigningKey, other: &SigningKey, dpop: Option<Dpop>, cache: bool) -> Validator {
    let cache = cache.then(TokenCache::new);
    let builder = Validator::builder().token_cache(cache).issuer(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::ES256])
            .keys(KeySet::new([other.verification_key(), issuer_key.verification_key()])),
    );
    match dpop {
        Some(dpop) => builder.dpop(dpop),
        None => builder,
    }
    .build()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let issuer_key = SigningKey::generate(Algorithm::ES256).with_kid("key-2");
    let other = SigningKey::generate(Algorithm::ES256).with_kid("key-1");
    let client = SigningKey::generate(Algorithm::ES256);
    // The bearer baseline: the same claims without `cnf` (a bound token is
    // never accepted as a bearer token), so the bytes differ only by it.
    let unbound = peers::claims();
    let mut bound = unbound.clone();
    bound["cnf"] = json!({ "jkt": client.jwk_thumbprint().unwrap() });
    let token = issuer_key.token(&bound);
    let bearer_token = issuer_key.token(&unbound);
    let bearer = validator(&issuer_key, &other, None, false);
    let dpop = validator(&issuer_key, &other, Some(Dpop::new(PUBLIC)), false);
    let bearer_cached = validator(&issuer_key, &other, None, true);
    let dpop_cached = validator(&issuer_key, &other, Some(Dpop::new(PUBLIC)), true);
    let mut jwk = client.public_jwk().unwrap();
    for member in ["alg", "use"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    let jwk = jwk.to_string();
    let htu = format!("{PUBLIC}{PATH}");
    let proof = || client.dpop_proof("GET", &htu).access_token(&token).sign();
    let presentation = || Presentation::dpop(token.as_str(), proof(), "GET", PATH);

    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let floor = signature::ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        issuer_key.public_der().unwrap(),
    )
    .unwrap();

    assert!(floor.verify_sig(signing_input.as_bytes(), &signature).is_ok());
    let verified = ready(bearer.validate_token::<StandardClaims>(&bearer_token)).unwrap();
    assert_eq!(verified.dpop_thumbprint(), None);
    let verified = ready(dpop.validate_presentation::<StandardClaims>(&presentation())).unwrap();
    assert_eq!(verified.dpop_thumbprint(), client.jwk_thumbprint().as_deref());
    // The cached validators have seen the token once.
    ready(bearer_cached.validate_token::<StandardClaims>(&bearer_token)).unwrap();
    ready(dpop_cached.validate_presentation::<StandardClaims>(&presentation())).unwrap();
    assert!(Key::from_jwk_json(&jwk).is_ok());
    println!("token {} bytes, proof {} bytes", token.len(), proof().len());

    let mut group = c.benchmark_group(GROUP);
    group.bench_function("floor", |b| {
        b.iter(|| {
            assert!(floor.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature)).is_ok())
        })
    });
    group.bench_function("bearer", |b| {
        b.iter(|| ready(bearer.validate_token::<StandardClaims>(black_box(&bearer_token))).unwrap())
    });
    group.bench_function("dpop", |b| {
        b.iter_batched(
            presentation,
            |presentation| {
                ready(dpop.validate_presentation::<StandardClaims>(black_box(&presentation))).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("bearer-cached", |b| {
        b.iter(|| ready(bearer_cached.validate_token::<StandardClaims>(black_box(&bearer_token))).unwrap())
    });
    group.bench_function("dpop-cached", |b| {
        b.iter_batched(
            presentation,
            |presentation| {
                ready(dpop_cached.validate_presentation::<StandardClaims>(black_box(&presentation))).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("jwk-key", |b| b.iter(|| Key::from_jwk_json(black_box(&jwk)).unwrap()));
    group.finish();
}

/// Prints each estimate as a ratio to the floor, and the proof's cost.
fn print_ratios() {
    let estimate = |name| common::estimate(GROUP, name);
    let Some(floor) = estimate("floor") else { return };
    println!("\nES256, ratio to the signature floor (criterion's estimates; lower is better)");
    println!("{:<14} {:>10} {:>8}", "", "time", "ratio");
    for name in ["floor", "bearer", "dpop", "bearer-cached", "dpop-cached", "jwk-key"] {
        if let Some(time) = estimate(name) {
            println!("{name:<14} {:>8.2}µs {:>7.2}×", time / 1e3, time / floor);
        }
    }
    for (bearer, dpop) in [("bearer", "dpop"), ("bearer-cached", "dpop-cached")] {
        if let (Some(bearer_time), Some(dpop_time)) = (estimate(bearer), estimate(dpop)) {
            println!(
                "{dpop}: the proof adds {:.2}µs = {:.2}× the floor; {dpop}/{bearer} = {:.2}×",
                (dpop_time - bearer_time) / 1e3,
                (dpop_time - bearer_time) / floor,
                dpop_time / bearer_time
            );
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    print_ratios();
}
