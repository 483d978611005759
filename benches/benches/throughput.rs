//! Validations per second with 1 and 2 threads sharing one `Validator`, and
//! the 2-thread/1-thread scaling ratio.
//!
//! For ES256 and HS256, three ways:
//!
//! * `cache off`: `token_cache(None)`, a full validation every time;
//! * `cache hit, 1 token`: the default cache, every thread presenting the
//!   same token (every lookup lands on one entry: the worst case for
//!   contention);
//! * `cache hit, 1000 tokens`: the default cache, each thread cycling through
//!   1000 distinct tokens, all cached before the clock starts.
//!
//! Each figure is the median of `ROUNDS` rounds (1 and 2 threads
//! alternating, so that load from other processes hits both alike) of
//! `TOKENGATE_BENCH_SECS` seconds each (default 2; 0.05 when not run by
//! `cargo bench`). Every loop stops at its deadline.

use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, TokenCache, Validator};
use tokengate_testkit::{SigningKey, now};

#[path = "common/peers.rs"]
#[allow(dead_code)] // this bench uses `ready`, `claims` and the constants only
mod peers;
#[path = "common/rates.rs"]
mod rates;

use peers::{AUD, ISS, ready};
use rates::{budget, median, rate};

const ROUNDS: usize = 3;
const ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::HS256];

#[derive(Clone, Copy)]
enum Mode {
    CacheOff,
    HitOne,
    HitMany,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::CacheOff, Mode::HitOne, Mode::HitMany];
    fn name(self) -> &'static str {
        match self {
            Mode::CacheOff => "cache off",
            Mode::HitOne => "cache hit, 1 token",
            Mode::HitMany => "cache hit, 1000 tokens",
        }
    }
}

/// A validator for `alg` and the tokens each thread presents.
fn setup(alg: Algorithm, mode: Mode) -> (Validator, Vec<String>) {
    let key = SigningKey::generate(alg).with_kid("k1");
    let cache = match mode {
        Mode::CacheOff => None,
        Mode::HitOne | Mode::HitMany => Some(TokenCache::new()),
    };
    let validator = Validator::builder()
        .issuer(Issuer::new(ISS).audience(AUD).algorithms([alg]).keys(KeySet::new([key.verification_key()])))
        .token_cache(cache)
        .build()
        .unwrap();
    let count = if matches!(mode, Mode::HitMany) { 1000 } else { 1 };
    let mut claims = peers::claims();
    let tokens: Vec<String> = (0..count)
        .map(|i| {
            claims["jti"] = json!(format!("b6f0c1a2-3d4e-4f50-9a8b-{i:012}"));
            claims["exp"] = json!(now() + 3600);
            key.token(&claims)
        })
        .collect();
    for token in &tokens {
        // Warms the cache (when on) and checks every token is accepted.
        ready(validator.validate_token::<StandardClaims>(token)).unwrap();
    }
    (validator, tokens)
}

fn main() {
    let duration = budget(2.0, 0.05, (0.01, 60.0));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "validations per second, one shared Validator (median of {ROUNDS} rounds of {:.2} s; {cores} CPUs)",
        duration.as_secs_f64()
    );
    println!("{:<6} {:<24} {:>14} {:>14} {:>8}", "alg", "mode", "1 thread", "2 threads", "scaling");
    for alg in ALGORITHMS {
        for mode in Mode::ALL {
            let (validator, tokens) = setup(alg, mode);
            let (mut one, mut two) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                one.push(rate(&validator, &tokens, 1, duration));
                two.push(rate(&validator, &tokens, 2, duration));
            }
            let (one, two) = (median(one), median(two));
            println!(
                "{:<6} {:<24} {:>12.0}/s {:>12.0}/s {:>7.2}×",
                alg.name(),
                mode.name(),
                one,
                two,
                two / one
            );
        }
    }
}
