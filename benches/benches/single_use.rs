//! What single use and revocation add to a request, with the in-process
//! stores and with Redis (a real `redis-server` on loopback, started here).
//!
//! * `memory/record_use`: one atomic check-and-record in `MemoryReplayStore`
//!   (SHA-256 of issuer and `jti`, a shard lock, a hash-map insert), in a
//!   steady state where older records expire as new ones arrive.
//! * `memory/record_key`: the SHA-256 naming a record, alone.
//! * `memory/is_revoked_empty`, `memory/is_revoked_1000`: the revocation
//!   check every request pays, with no revocation held and with 1000.
//! * `memory/validate` vs `memory/validate_use_once`: a whole ES256
//!   validation, without and with the route-level single-use check.
//! * `redis/record_use`, `redis/is_revoked`: one round trip each to Redis
//!   on loopback (sequential; latency, not throughput).
//!
//! Before the benchmarks, the memory cost of a single-use record is measured
//! (resident set growth over one million records) and printed.

#[allow(dead_code)] // `restart` is for the tests
#[path = "../../crates/tokengate-redis/tests/support/redis_server.rs"]
mod redis_server;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use serde_json::json;
use tokengate::redis::RedisStore;
use tokengate::store::{
    RecordKey, RecordKind, ReplayStore, Revocation, RevocationStore, TokenRef, TokenUse, UseOutcome,
};
use tokengate::{
    Algorithm, Issuer, KeySet, ManualClock, MemoryReplayStore, MemoryRevocationStore, SingleUse,
    StandardClaims, Validator,
};
use tokengate_testkit::SigningKey;

#[path = "common/peers.rs"]
#[allow(dead_code)] // `ready` only
mod peers;
use peers::ready;

const ISS: &str = "https://login.example.com/tenant-42/v2.0";
const AUD: &str = "https://api.example.com";
const NOW: u64 = 1_800_000_000;
const POOL: usize = 100_000;

fn jtis() -> Vec<String> {
    (0..POOL).map(|i| format!("b6f0c1a2-3d4e-4f50-9a8b-{i:012}")).collect()
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<usize>().ok()).unwrap_or(0) * 4096
}

/// Resident-set growth per record over `n` records.
fn bytes_per_record(n: usize) -> f64 {
    let store = MemoryReplayStore::with_capacity(n).records_since(0);
    let ids: Vec<String> = (0..n).map(|i| format!("{i:016x}")).collect();
    let before = resident_bytes();
    for id in &ids {
        let outcome = ready(store.record_use(TokenUse::new(ISS, id, NOW, NOW + 600, NOW)));
        assert_eq!(outcome, Ok(UseOutcome::First));
    }
    let after = resident_bytes();
    drop(store);
    (after.saturating_sub(before)) as f64 / n as f64
}

fn memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("single_use/memory");
    let jtis = jtis();

    let store = MemoryReplayStore::with_capacity(4 * POOL).records_since(0);
    let mut i = 0;
    group.bench_function("record_use", |b| {
        b.iter(|| {
            // Each pass over the pool is one clock second later, and the
            // previous pass's records expire: insert, sweep and reuse all count.
            let now = NOW + (i / POOL) as u64 * 2;
            let jti = &jtis[i % POOL];
            i += 1;
            let outcome = ready(store.record_use(TokenUse::new(ISS, jti, NOW, now + 1, now)));
            black_box(outcome)
        })
    });

    group.bench_function("record_key", |b| {
        b.iter(|| RecordKey::new(RecordKind::Use, black_box(ISS), black_box(&jtis[7])))
    });

    let revocations = MemoryRevocationStore::new();
    let token = TokenRef::new(ISS, Some("token-1"), Some("user-1"), Some(NOW - 10), NOW);
    group.bench_function("is_revoked_empty", |b| b.iter(|| ready(revocations.is_revoked(black_box(token)))));
    for n in 0..1000 {
        let jti = format!("revoked-{n}");
        ready(
            revocations
                .revoke(Revocation::Token { issuer: ISS, token_id: &jti, keep_until: NOW + 3600 }, NOW),
        )
        .unwrap();
    }
    group.bench_function("is_revoked_1000", |b| b.iter(|| ready(revocations.is_revoked(black_box(token)))));

    // Whole validations: the same token, reusable; then distinct tokens,
    // each spent once by the route-level check.
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let validator = Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([key.verification_key()])),
        )
        .clock(ManualClock::new(NOW))
        .replay_store(MemoryReplayStore::with_capacity(4 * POOL).records_since(0))
        .build()
        .unwrap();
    let claims = |jti: &str| json!({ "iss": ISS, "aud": AUD, "sub": "user-1", "jti": jti, "iat": NOW - 10, "exp": NOW + 600, "scope": "transfer" });
    let reusable = key.token(&claims("reusable"));
    group.bench_function("validate", |b| {
        b.iter(|| ready(validator.validate_token::<StandardClaims>(black_box(&reusable))).unwrap())
    });
    let mut n = 0u64;
    group.bench_function("validate_use_once", |b| {
        b.iter_batched(
            || {
                n += 1;
                key.token(&claims(&format!("once-{n}")))
            },
            |token| {
                ready(async {
                    let verified = validator.validate_token::<StandardClaims>(&token).await?;
                    validator.use_once(&verified, &SingleUse::new()).await
                })
                .expect("a fresh token is accepted once")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn redis(c: &mut Criterion) {
    let server = redis_server::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = runtime.block_on(RedisStore::builder(server.url()).key_prefix("bench:").connect()).unwrap();
    let now = tokengate_testkit::now();
    let jtis = jtis();
    let mut group = c.benchmark_group("single_use/redis");
    let mut i = 0usize;
    group.bench_function("record_use", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    let jti = format!("{}-{i}", jtis[i % POOL]);
                    i += 1;
                    let outcome = store.record_use(TokenUse::new(ISS, &jti, now, now + 5, now)).await;
                    assert_eq!(outcome, Ok(UseOutcome::First));
                }
                started.elapsed()
            })
        })
    });
    let token = TokenRef::new(ISS, Some("token-1"), Some("user-1"), Some(now - 10), now);
    group.bench_function("is_revoked", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    assert_eq!(store.is_revoked(token).await, Ok(false));
                }
                started.elapsed()
            })
        })
    });
    group.finish();
    drop(store);
    drop(server);
}

fn main() {
    let n = 1_000_000;
    let started = Instant::now();
    let per_record = bytes_per_record(n);
    eprintln!(
        "MemoryReplayStore: {per_record:.1} bytes per record (resident set growth over {n} records, {:?})",
        started.elapsed()
    );
    let mut criterion = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    memory(&mut criterion);
    redis(&mut criterion);
    criterion.final_summary();
}
