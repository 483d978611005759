//! `RedisStore` against a real `redis-server` started by the tests (no
//! mocks): atomicity under a race, two validators sharing one Redis, an
//! outage and a restart, a hung server, record expiry, key hygiene, sizing,
//! configuration errors.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::raw_connection;
use support::redis_server::RedisServer;
use tokengate_core::store::{
    RecordKey, RecordKind, Revocation, RevocationStore, StoreError, TokenRef, UseOutcome,
};
use tokengate_core::{
    Algorithm, Error, Issuer, KeySet, Presentation, Revoke, SingleUse, StandardClaims, TokenSharing,
    Validator,
};
use tokengate_redis::{ConnectError, DEFAULT_RETRY_AFTER, RedisStore};
use tokengate_testkit::{SigningKey, now};

const ISS: &str = "https://issuer.test/";
const AUD: &str = "https://api.test";

fn signing_key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid("k")
}

fn issuer(key: &SigningKey) -> Issuer {
    Issuer::new(ISS).audience(AUD).algorithms([Algorithm::ES256]).keys(KeySet::new([key.verification_key()]))
}

fn claims(jti: &str, extra: Value) -> Value {
    let now = now();
    let mut claims =
        json!({ "iss": ISS, "aud": AUD, "sub": "user-1", "jti": jti, "iat": now, "exp": now + 300 });
    for (name, value) in extra.as_object().unwrap() {
        match value {
            Value::Null => drop(claims.as_object_mut().unwrap().remove(name)),
            value => claims[name] = value.clone(),
        }
    }
    claims
}

async fn connect(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::builder(server.url())
        .key_prefix(prefix)
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("Redis is up")
}

fn validator(issuer: Issuer, store: RedisStore) -> Validator {
    Validator::builder().issuer(issuer).stores(store).build().expect("valid")
}

async fn use_once(validator: &Validator, token: &str) -> Result<(), Error> {
    let verified = validator.validate_token::<StandardClaims>(token).await?;
    validator.use_once(&verified, &SingleUse::new()).await
}

/// A plain (reusable) route: still consults the revocation store.
async fn plain(validator: &Validator, token: &str) -> Result<(), Error> {
    validator.validate_token::<StandardClaims>(token).await.map(drop)
}

#[track_caller]
fn assert_503(result: Result<(), Error>) {
    let error = result.expect_err("refused while Redis is down");
    assert!(matches!(error, Error::StoreUnavailable { .. }), "{error:?}");
    assert_eq!(error.status().as_u16(), 503);
    assert_eq!(error.error_code(), Some("temporarily_unavailable"));
    assert_eq!(error.challenge(), r#"Bearer realm="tokengate", error="temporarily_unavailable""#);
    assert!(error.retry_after().is_some());
}

#[track_caller]
fn assert_401(result: Result<(), Error>, expected: Error) {
    let error = result.expect_err("refused");
    assert_eq!(error, expected);
    assert_eq!(error.status().as_u16(), 401);
    assert_eq!(error.error_code(), Some("invalid_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_tasks_race_one_jti_across_two_validators_and_exactly_one_wins() {
    let server = RedisServer::start();
    let key = signing_key();
    let a = validator(issuer(&key), connect(&server, "race:").await);
    let b = validator(issuer(&key), connect(&server, "race:").await);
    for round in 0..10 {
        let token = key.token(&claims(&format!("race-{round}"), json!({})));
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let validator = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (token, start) = (token.clone(), start.clone());
                tokio::spawn(async move {
                    let verified = validator.validate_token::<StandardClaims>(&token).await?;
                    start.wait().await;
                    validator.use_once(&verified, &SingleUse::new()).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap());
        }
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {results:?}");
        assert!(
            results.iter().filter_map(|r| r.as_ref().err()).all(|e| *e == Error::Replayed),
            "{results:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_validators_sharing_redis_see_each_others_uses_and_revocations() {
    let server = RedisServer::start();
    let key = signing_key();
    let a = validator(issuer(&key), connect(&server, "svc:").await);
    let b = validator(issuer(&key), connect(&server, "svc:").await);

    // Single use on A is refused on B.
    let transfer = key.token(&claims("transfer-1", json!({})));
    use_once(&a, &transfer).await.expect("first use, on A");
    assert_401(use_once(&b, &transfer).await, Error::Replayed);
    assert_401(use_once(&a, &transfer).await, Error::Replayed);
    // Another service (another prefix) keeps its own records.
    let other_service = validator(issuer(&key), connect(&server, "other:").await);
    use_once(&other_service, &transfer).await.expect("another prefix, another namespace");

    // Revocation by jti through A holds on B.
    let token = key.token(&claims("me-1", json!({})));
    plain(&b, &token).await.expect("valid before");
    a.revoke(&Revoke::token_id("me-1")).await.unwrap();
    assert_401(plain(&b, &token).await, Error::Revoked);
    assert_401(plain(&a, &token).await, Error::Revoked);

    // By subject: issued at or before the cut-off refused, later accepted.
    let now = now();
    let old = key.token(&claims("u2-old", json!({ "sub": "user-2", "iat": now - 60 })));
    let at_cutoff = key.token(&claims("u2-at", json!({ "sub": "user-2", "iat": now - 30 })));
    let later = key.token(&claims("u2-new", json!({ "sub": "user-2", "iat": now - 29 })));
    let no_iat = key.token(&claims("u2-none", json!({ "sub": "user-2", "iat": null })));
    a.revoke(&Revoke::subject("user-2").issued_at_or_before(now - 30)).await.unwrap();
    assert_401(plain(&b, &old).await, Error::Revoked);
    assert_401(plain(&b, &at_cutoff).await, Error::Revoked);
    plain(&b, &later).await.expect("issued after the cut-off");
    assert_401(plain(&b, &no_iat).await, Error::Revoked); // cannot show it is later
    // An earlier cut-off does not undo the later one.
    b.revoke(&Revoke::subject("user-2").issued_at_or_before(now - 1000)).await.unwrap();
    assert_401(plain(&a, &at_cutoff).await, Error::Revoked);
    plain(&a, &later).await.expect("still after the cut-off");

    // Issuer-wide cut-off.
    let before = key.token(&claims("iss-old", json!({ "sub": "user-3", "iat": now - 10 })));
    let after = key.token(&claims("iss-new", json!({ "sub": "user-3", "iat": now - 5 })));
    b.revoke(&Revoke::all_tokens().issued_at_or_before(now - 10)).await.unwrap();
    assert_401(plain(&a, &before).await, Error::Revoked);
    plain(&a, &after).await.expect("issued after the issuer-wide cut-off");

    // Revocation keys expire too: the jti's revocation lives for the retention
    // (1 day) + twice the leeway (the issuer's clock may run ahead by it).
    let mut redis = raw_connection(&server.url()).await;
    // All revocations of an issuer share one hash slot: `{r:<8 hex of the issuer>}`.
    let issuer_tag = &RecordKey::new(RecordKind::RevokedIssuer, ISS, "").to_hex()[..8];
    let revoked_key = format!(
        "svc:{{r:{issuer_tag}}}:revoked:jti:{}",
        RecordKey::new(RecordKind::RevokedToken, ISS, "me-1").to_hex()
    );
    assert_eq!(connect(&server, "svc:").await.key(RecordKind::RevokedToken, ISS, "me-1"), revoked_key);
    let ttl: i64 = redis::cmd("TTL").arg(&revoked_key).query_async(&mut redis).await.unwrap();
    assert!((24 * 3600..=24 * 3600 + 2 * 30 + 1).contains(&ttl), "TTL {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_refuses_with_503_and_restarted_resumes_without_accepting_anything_twice() {
    let mut server = RedisServer::start();
    let key = signing_key();
    // A short clock skew allowance: tokens issued within it after the loss
    // is detected are refused too (see `after` below).
    let store = RedisStore::builder(server.url())
        .key_prefix("fleet:")
        .timeout(Duration::from_millis(300))
        .clock_skew_allowance(Duration::from_secs(1))
        .connect()
        .await
        .expect("Redis is up");
    let validator = validator(issuer(&key), store);
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut attempt = |jti: &str, result: &Result<(), Error>| {
        if result.is_ok() {
            *accepted.entry(jti.to_owned()).or_default() += 1;
        }
    };

    let before = key.token(&claims("before", json!({})));
    let result = use_once(&validator, &before).await;
    attempt("before", &result);
    result.expect("accepted while Redis is up");

    server.kill();
    let during = key.token(&claims("during", json!({})));
    for _ in 0..10 {
        let started = Instant::now();
        for (jti, token) in [("before", &before), ("during", &during)] {
            let result = use_once(&validator, token).await;
            attempt(jti, &result);
            assert_503(result);
        }
        // Every protected route consults the revocation store: 503 as well.
        assert_503(plain(&validator, &during).await);
        assert!(started.elapsed() < Duration::from_secs(3), "refusals are bounded by the timeout");
    }
    // Revoking during the outage fails loudly.
    let error = validator.revoke(&Revoke::token_id("x")).await.unwrap_err();
    assert!(error.retry_after().is_some(), "{error:?}");

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match plain(&validator, &during).await {
            Ok(()) => break,
            Err(error) => assert!(matches!(error, Error::StoreUnavailable { .. }), "{error:?}"),
        }
        assert!(Instant::now() < deadline, "service did not resume within 15 s of Redis returning");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The restarted Redis lost every record: tokens issued before that are
    // refused, so `before` cannot be accepted a second time.
    for (jti, token) in [("before", &before), ("during", &during)] {
        let result = use_once(&validator, token).await;
        attempt(jti, &result);
        assert_401(result, Error::PossiblyReplayed);
    }
    // Tokens issued once the allowance has passed work as usual: once.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = key.token(&claims("after", json!({})));
    for _ in 0..3 {
        let result = use_once(&validator, &after).await;
        attempt("after", &result);
    }
    assert_eq!(accepted.get("before"), Some(&1));
    assert_eq!(accepted.get("during"), None);
    assert_eq!(accepted.get("after"), Some(&1), "accepted once after the restart: {accepted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_use_record_expires_in_redis_with_its_token() {
    let server = RedisServer::start();
    let key = signing_key();
    let store = connect(&server, "ttl:").await;
    let validator = validator(issuer(&key).leeway(Duration::ZERO), store.clone());
    let now = now();
    let token = key.token(&claims("short", json!({ "iat": now, "exp": now + 2 })));
    use_once(&validator, &token).await.unwrap();

    let record = store.key(RecordKind::Use, ISS, "short");
    let record_key = RecordKey::new(RecordKind::Use, ISS, "short");
    let group = store.layout().use_group(&record_key);
    assert_eq!(record, format!("ttl:{{u:{group:02x}}}:use:{}", record_key.to_hex()));
    assert!(!record.contains("short"));
    let mut redis = raw_connection(&server.url()).await;
    let pttl: i64 = redis::cmd("PTTL").arg(&record).query_async(&mut redis).await.unwrap();
    assert!((1..=2000).contains(&pttl), "the record expires with the token (exp + leeway): PTTL {pttl} ms");
    assert_401(use_once(&validator, &token).await, Error::Replayed);

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let exists: i64 = redis::cmd("EXISTS").arg(&record).query_async(&mut redis).await.unwrap();
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the record outlived its token by seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_401(use_once(&validator, &token).await, Error::Expired);

    // Nothing else is left but the groups' markers and the used group's
    // counter; no key holds token text.
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut redis).await.unwrap();
    keys.sort();
    let mut expected = store.marker_keys();
    expected.push(store.layout().counter(group));
    expected.sort();
    assert_eq!(keys, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_sharing_is_counted_across_the_fleet_in_one_small_expiring_set() {
    let server = RedisServer::start();
    let key = signing_key();
    let sharing = TokenSharing::refuse_above(2);
    let fleet = |store: RedisStore| {
        Validator::builder().issuer(issuer(&key)).stores(store).token_sharing(sharing).build().expect("valid")
    };
    let (a, b) = (fleet(connect(&server, "share:").await), fleet(connect(&server, "share:").await));
    let token = key.token(&claims("shared", json!({})));
    let from = |validator: &Validator, client: &str| {
        let presentation = Presentation::bearer(token.clone()).from_client(client.as_bytes());
        let validator = validator.clone();
        async move { validator.validate_presentation::<StandardClaims>(&presentation).await }
    };
    assert_eq!(from(&a, "10.0.0.1").await.unwrap().clients_seen(), Some(1));
    assert_eq!(from(&b, "10.0.0.1").await.unwrap().clients_seen(), Some(1), "one client, two instances");
    assert_eq!(from(&b, "10.0.0.2").await.unwrap().clients_seen(), Some(2));
    assert_401(from(&a, "10.0.0.3").await.map(drop), Error::SharedToken);
    assert_401(from(&b, "10.0.0.1").await.map(drop), Error::SharedToken);
    for client in 4..20 {
        assert_401(from(&a, &format!("10.0.0.{client}")).await.map(drop), Error::SharedToken);
    }

    // One set per token, holding at most limit + 1 hashes (no address), expiring with the token.
    let mut redis = raw_connection(&server.url()).await;
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("share:{c:*").query_async(&mut redis).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let set = keys.pop().unwrap();
    assert_eq!(set, a_store_key(&token));
    let members: Vec<String> = redis::cmd("SMEMBERS").arg(&set).query_async(&mut redis).await.unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m.parse::<u64>().is_ok() && !m.contains("10.0.0")), "{members:?}");
    let pttl: i64 = redis::cmd("PTTL").arg(&set).query_async(&mut redis).await.unwrap();
    // exp is now + 300, plus the default leeway of 30 s.
    assert!((295_000..=331_000).contains(&pttl), "the set expires with the token: PTTL {pttl} ms");

    // Redis gone: refused with 503, never waved through.
    drop(server);
    let error = from(&a, "10.0.0.1").await.expect_err("no Redis");
    assert!(matches!(error, Error::StoreUnavailable { .. }), "{error:?}");
}

/// The Redis key of `token`'s sightings under the prefix `share:`.
fn a_store_key(token: &str) -> String {
    format!("share:{{c:{}}}:clients", RecordKey::new(RecordKind::Sighting, ISS, token).to_hex())
}

#[tokio::test]
async fn redis_unreachable_at_start_up_is_a_configuration_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let result = RedisStore::builder(format!("redis://127.0.0.1:{port}/"))
        .timeout(Duration::from_millis(200))
        .connect()
        .await;
    assert!(matches!(result, Err(ConnectError::Unreachable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(RedisStore::connect("http://nope").await, Err(ConnectError::InvalidUrl(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_wide_single_use_through_redis() {
    let server = RedisServer::start();
    let key = signing_key();
    let a = validator(issuer(&key).single_use(SingleUse::new()), connect(&server, "iss:").await);
    let b = validator(issuer(&key).single_use(SingleUse::new()), connect(&server, "iss:").await);
    let token = key.token(&claims("once", json!({})));
    assert!(plain(&a, &token).await.is_ok());
    assert_401(plain(&b, &token).await, Error::Replayed);
    let server_side: Vec<String> = redis::cmd("KEYS")
        .arg("iss:{u:??}:use:*")
        .query_async(&mut raw_connection(&server.url()).await)
        .await
        .unwrap();
    assert_eq!(server_side.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_is_refused_with_503_within_the_timeout_and_answers_again_when_it_resumes() {
    let server = RedisServer::start();
    let timeout = Duration::from_millis(300);
    // What a loaded 2-core CI machine may add to the timeout.
    const MARGIN: Duration = Duration::from_millis(500);
    let store = RedisStore::builder(server.url())
        .key_prefix("hung:")
        .timeout(timeout)
        .connect()
        .await
        .expect("Redis is up");
    let now = now();
    assert_eq!(support::use_jti(&store, "before", now).await, Ok(UseOutcome::First));

    // SIGSTOP: the kernel still accepts bytes, the server answers nothing.
    let pid = server.pid().expect("running");
    assert!(support::signal(pid, "STOP"), "SIGSTOP");
    struct Resume(u32); // SIGCONT even if an assertion fails
    impl Drop for Resume {
        fn drop(&mut self) {
            support::signal(self.0, "CONT");
        }
    }
    let resume = Resume(pid);
    let mut slowest = Duration::ZERO;
    let unavailable = Err(StoreError::Unavailable { retry_after: DEFAULT_RETRY_AFTER });
    for jti in ["hung-1", "hung-2", "before"] {
        let started = Instant::now();
        assert_eq!(support::use_jti(&store, jti, now).await, unavailable, "{jti}");
        let elapsed = started.elapsed();
        assert!(elapsed < timeout + MARGIN, "{jti}: 503 after {elapsed:?}");
        slowest = slowest.max(elapsed);
        let started = Instant::now();
        let check =
            store.is_revoked(TokenRef::new(support::ISS, Some(jti), Some("user-1"), Some(now), now)).await;
        assert_eq!(check, Err(StoreError::Unavailable { retry_after: DEFAULT_RETRY_AFTER }));
        assert!(started.elapsed() < timeout + MARGIN, "revocation check: {:?}", started.elapsed());
    }

    println!("hung Redis: slowest 503 after {slowest:?} (timeout {timeout:?})");

    // SIGCONT: the same store answers again, without a reconnect.
    drop(resume);
    let deadline = Instant::now() + Duration::from_secs(5);
    for attempt in 0.. {
        // A fresh jti per attempt: a timed-out attempt may still have run.
        match support::use_jti(&store, &format!("after-{attempt}"), now).await {
            Ok(outcome) => {
                assert_eq!(outcome, UseOutcome::First);
                break;
            }
            Err(error) => assert_eq!(Err::<(), _>(error), unavailable.map(drop)),
        }
        assert!(Instant::now() < deadline, "no answer within 5 s of SIGCONT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The uses sent while Redis was stopped ran when it resumed: refused
    // with 503 then, spent now: never accepted.
    for jti in ["hung-1", "hung-2", "before"] {
        assert_eq!(support::use_jti(&store, jti, now).await, Ok(UseOutcome::AlreadyUsed), "{jti}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizing_memory_usage_of_records() {
    let server = RedisServer::start();
    let store = RedisStore::builder(server.url()).connect().await.expect("Redis is up");
    let mut redis = raw_connection(&server.url()).await;
    let now = now();
    let memory = |key: String| {
        let mut redis = redis.clone();
        async move {
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .arg("SAMPLES")
                .arg(0)
                .query_async(&mut redis)
                .await
                .unwrap();
            bytes.unwrap_or_else(|| panic!("{key} exists"))
        }
    };
    assert_eq!(support::use_jti(&store, "sized", now).await, Ok(UseOutcome::First));
    let iss = support::ISS;
    store
        .revoke(Revocation::Token { issuer: iss, token_id: "sized", keep_until: now + 300 }, now)
        .await
        .unwrap();
    store
        .revoke(
            Revocation::Subject { issuer: iss, subject: "user-1", cutoff: now, keep_until: now + 300 },
            now,
        )
        .await
        .unwrap();
    let group = store.layout().use_group(&RecordKey::new(RecordKind::Use, iss, "sized"));
    let use_record = memory(store.key(RecordKind::Use, iss, "sized")).await;
    let revoked_jti = memory(store.key(RecordKind::RevokedToken, iss, "sized")).await;
    let revoked_sub = memory(store.key(RecordKind::RevokedSubject, iss, "user-1")).await;
    let marker = memory(store.layout().marker(group)).await;
    let counter = memory(store.layout().counter(group)).await;

    // Many records: what the whole server grows by (keyspace and expiry
    // tables included), per record.
    let used_memory = |redis: &mut redis::aio::MultiplexedConnection| {
        let mut redis = redis.clone();
        async move {
            let info: String = redis::cmd("INFO").arg("memory").query_async(&mut redis).await.unwrap();
            info.lines()
                .find_map(|line| line.strip_prefix("used_memory:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .expect("used_memory")
        }
    };
    const N: u64 = 20_000;
    const TASKS: u64 = 16; // concurrent on the multiplexed connection
    let bulk = |revoke: bool| {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in (task..N).step_by(TASKS as usize) {
                        let jti = format!("bulk-{i}");
                        if revoke {
                            let revocation =
                                Revocation::Token { issuer: iss, token_id: &jti, keep_until: now + 300 };
                            store.revoke(revocation, now).await.unwrap();
                        } else {
                            assert_eq!(support::use_jti(&store, &jti, now).await, Ok(UseOutcome::First));
                        }
                    }
                })
            })
            .collect();
        async move {
            for task in tasks {
                task.await.unwrap();
            }
        }
    };
    let before = used_memory(&mut redis).await;
    bulk(false).await;
    let per_use = (used_memory(&mut redis).await - before) / N;
    let before = used_memory(&mut redis).await;
    bulk(true).await;
    let per_revocation = (used_memory(&mut redis).await - before) / N;

    println!(
        "MEMORY USAGE (bytes): use record {use_record}, revoked jti {revoked_jti}, subject cut-off {revoked_sub}, \
         group marker {marker}, group counter {counter}; used_memory growth over {N}: \
         {per_use} per use record, {per_revocation} per jti revocation"
    );
    for (what, bytes) in
        [("use record", use_record), ("revoked jti", revoked_jti), ("subject cut-off", revoked_sub)]
    {
        assert!((40..=200).contains(&bytes), "{what}: {bytes} bytes");
    }
    assert!((40..=300).contains(&per_use), "{per_use} bytes per use record");
    assert!((40..=300).contains(&per_revocation), "{per_revocation} bytes per revocation");
}

#[tokio::test]
async fn configuration_errors_are_reported_at_connect() {
    let server = RedisServer::start();
    let result = RedisStore::builder(server.url()).key_prefix("svc{a}:").connect().await;
    assert!(matches!(result, Err(ConnectError::InvalidConfig(ref m)) if m.contains("brace")), "{result:?}");
    let result = RedisStore::builder(server.url()).ca_certificate_pem(b"junk".to_vec()).connect().await;
    assert!(
        matches!(result, Err(ConnectError::InvalidConfig(ref m)) if m.contains("rediss://")),
        "{result:?}"
    );
    let result = RedisStore::builder_from_list(" , ").connect().await;
    assert!(matches!(result, Err(ConnectError::InvalidUrl(_))), "{result:?}");
    let mixed = format!("{},rediss://127.0.0.1:1/", server.url());
    let result = RedisStore::builder_from_list(&mixed).connect().await;
    assert!(
        matches!(result, Err(ConnectError::InvalidConfig(ref m)) if m.contains("rediss://")),
        "{result:?}"
    );
    let result = RedisStore::builder("rediss://127.0.0.1:1/#insecure").connect().await;
    assert!(
        matches!(result, Err(ConnectError::InvalidConfig(ref m)) if m.contains("#insecure")),
        "{result:?}"
    );
    // A cluster client against a plain node: not a cluster.
    let result =
        RedisStore::builder_from_urls([server.url()]).timeout(Duration::from_millis(300)).connect().await;
    assert!(
        matches!(result, Err(ConnectError::InvalidConfig(ref m)) if m.contains("not a cluster")),
        "{result:?}"
    );
    // One URL in the list form is a single node.
    let single =
        RedisStore::builder_from_list(&format!(" {} ", server.url())).connect().await.expect("single node");
    assert!(!single.is_cluster());
}
