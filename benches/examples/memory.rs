//! Heap bytes per entry of tokengate's in-process caches and stores,
//! counted by a global allocator wrapper (`stats_alloc`: bytes requested
//! from the allocator and still live, and live allocations; the system
//! allocator adds its own few bytes per allocation on top), with the
//! resident-set growth over the same work as a cross-check.
//!
//! ```sh
//! cargo run --release -p tokengate-benches --example memory
//! ```
//!
//! * **verified-token cache**: a validator with the default `TokenCache`
//!   validates N distinct tokens (the 15-claim token of `benches/validate.rs`
//!   with a distinct `jti`); the growth between N = 2,000 and N = 8,000,
//!   divided by 6,000 (so that fixed costs, such as the cache's own tables,
//!   cancel). The token strings themselves are allocated before counting.
//! * **cached key**: a `KeySet` of N keys parsed from JWKs (what a
//!   `JwksSource` holds for each key of the issuer's JWK Set).
//! * **single-use record**: a `MemoryReplayStore` holding N records
//!   (N = 1,000,000, its default capacity), from an empty store.
//! * **sighting record**: the same store holding the clients of N tokens for
//!   token-sharing detection (N = 100,000, the default sighting capacity),
//!   two clients each.

use std::alloc::System;

use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokengate::store::{ClientSighting, RecordKey, RecordKind, ReplayStore as _, TokenUse, UseOutcome};
use tokengate::{Algorithm, Issuer, Key, KeySet, MemoryReplayStore, StandardClaims, TokenCache, Validator};
use tokengate_testkit::{SigningKey, now};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ISS: &str = "https://login.example.com/tenant-42/v2.0";
const AUD: &str = "https://api.example.com";

/// Live requested bytes and live allocations right now.
fn live() -> (i64, i64) {
    let stats = GLOBAL.stats();
    (
        stats.bytes_allocated as i64 - stats.bytes_deallocated as i64,
        stats.allocations as i64 - stats.deallocations as i64,
    )
}

fn resident_bytes() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<i64>().ok()).unwrap_or(0) * 4096
}

/// Growth of (bytes, allocations, resident bytes) across `work`.
fn growth(work: impl FnOnce()) -> (i64, i64, i64) {
    let (bytes, allocations) = live();
    let resident = resident_bytes();
    work();
    let (bytes_after, allocations_after) = live();
    (bytes_after - bytes, allocations_after - allocations, resident_bytes() - resident)
}

fn poll<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("in-memory work must not wait"),
    }
}

fn row(what: &str, n: usize, (bytes, allocations, resident): (i64, i64, i64)) {
    let n = n as f64;
    println!(
        "{what:<44} {:>10.0} B {:>8.1} allocs {:>12.0} B",
        bytes as f64 / n,
        allocations as f64 / n,
        resident as f64 / n
    );
}

fn token_cache(alg: Algorithm) {
    const FIRST: usize = 2_000;
    const LAST: usize = 8_000;
    let key = SigningKey::generate(alg).with_kid("key-2");
    let validator = Validator::builder()
        .issuer(Issuer::new(ISS).audience(AUD).algorithms([alg]).keys(KeySet::new([key.verification_key()])))
        .token_cache(Some(TokenCache::new()))
        .build()
        .unwrap();
    let now = now();
    let tokens: Vec<String> = (0..LAST)
        .map(|i| {
            key.token(&json!({
                "iss": ISS, "sub": "248289761001", "aud": [AUD, "https://other.example.com"],
                "exp": now + 3600, "nbf": now - 10, "iat": now - 10,
                "jti": format!("b6f0c1a2-3d4e-4f50-9a8b-{i:012}"), "client_id": "s6BhdRkqt3",
                "scope": "openid profile email read:orders write:orders",
                "email": "jane.doe@example.com", "name": "Jane Doe", "roles": ["admin", "billing"],
                "tenant": "tenant-42", "auth_time": now - 120, "acr": "urn:mace:incommon:iap:silver"
            }))
        })
        .collect();
    let cache = validator.token_cache().expect("the cache is on");
    let validate = |range: std::ops::Range<usize>| {
        for token in &tokens[range] {
            poll(validator.validate_token::<StandardClaims>(token)).unwrap();
        }
        cache.entry_count(); // applies moka's pending work
    };
    validate(0..FIRST);
    let measured = growth(|| validate(FIRST..LAST));
    assert_eq!(cache.entry_count(), LAST as u64, "every token is held");
    row(&format!("verified-token cache, {alg} token ({} B)", tokens[0].len()), LAST - FIRST, measured);
    // For comparison: what a validation leaves behind with the cache off (nothing, expected).
    let uncached = Validator::builder()
        .issuer(Issuer::new(ISS).audience(AUD).algorithms([alg]).keys(KeySet::new([key.verification_key()])))
        .token_cache(None)
        .build()
        .unwrap();
    poll(uncached.validate_token::<StandardClaims>(&tokens[0])).unwrap();
    let left = growth(|| {
        for token in &tokens[FIRST..LAST] {
            poll(uncached.validate_token::<StandardClaims>(token)).unwrap();
        }
    });
    row(&format!("  (same validations, cache off: {alg})"), LAST - FIRST, left);
}

fn key_set(alg: Algorithm) {
    const N: usize = 1_000;
    let key = SigningKey::generate(alg);
    let jwks: Vec<String> = (0..N)
        .map(|i| match key.public_jwk() {
            Some(mut jwk) => {
                jwk["kid"] = json!(format!("key-{i:04}"));
                jwk.to_string()
            }
            None => String::new(),
        })
        .collect();
    let mut set = None;
    let measured = growth(|| {
        let keys = jwks.iter().enumerate().map(|(i, jwk)| match key.public_jwk() {
            Some(_) => Key::from_jwk_json(jwk).unwrap(),
            None => Key::hmac_secret(key.secret().unwrap()).unwrap().with_kid(format!("key-{i:04}")),
        });
        set = Some(KeySet::new(keys));
    });
    assert_eq!(set.as_ref().map(KeySet::len), Some(N));
    let what = match alg {
        Algorithm::RS256 => "cached key, RSA 2048 (RS256/PS256)",
        Algorithm::ES256 => "cached key, EC P-256",
        Algorithm::ES384 => "cached key, EC P-384",
        Algorithm::EdDSA => "cached key, Ed25519",
        _ => "cached key, HMAC 256-bit secret",
    };
    row(what, N, measured);
}

fn replay_store() {
    const N: usize = 1_000_000;
    const NOW: u64 = 1_800_000_000;
    let ids: Vec<String> = (0..N).map(|i| format!("b6f0c1a2-3d4e-4f50-9a8b-{i:012}")).collect();
    let mut store = None;
    let measured = growth(|| {
        let replay = MemoryReplayStore::with_capacity(N);
        for id in &ids {
            let outcome = poll(replay.record_use(TokenUse::new(ISS, id, NOW, NOW + 600, NOW)));
            assert_eq!(outcome, Ok(UseOutcome::First));
        }
        store = Some(replay);
    });
    assert_eq!(store.as_ref().map(MemoryReplayStore::len), Some(N));
    row("single-use record (MemoryReplayStore, 1M held)", N, measured);
}

fn sightings() {
    const N: usize = tokengate::store::DEFAULT_SIGHTING_CAPACITY;
    const NOW: u64 = 1_800_000_000;
    let tokens: Vec<RecordKey> =
        (0..N).map(|i| RecordKey::new(RecordKind::Sighting, ISS, &format!("token-{i:012}"))).collect();
    let mut store = None;
    let measured = growth(|| {
        let replay = MemoryReplayStore::new();
        for token in &tokens {
            for client in [1, 2] {
                let clients =
                    poll(replay.note_client(ClientSighting::new(*token, client, 3, NOW + 600, NOW)));
                assert_eq!(clients, Ok(u32::try_from(client).unwrap()));
            }
        }
        store = Some(replay);
    });
    assert_eq!(store.as_ref().map(MemoryReplayStore::sightings_len), Some(N));
    row("sighting record (token sharing, 100k held)", N, measured);
}

fn main() {
    println!("heap per entry: requested bytes still live, live allocations, resident-set growth");
    println!("{:<44} {:>12} {:>15} {:>14}", "what", "bytes", "allocations", "RSS");
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        token_cache(alg);
    }
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::HS256] {
        key_set(alg);
    }
    replay_store();
    sightings();
}
