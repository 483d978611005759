//! `RedisStore` against a real `redis-server` started by the tests (no
//! mocks): atomicity under a race, two validators sharing one Redis, an
//! outage and a restart, record expiry, key hygiene.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::redis_server::RedisServer;
use tokengate_core::{
    Algorithm, Error, Issuer, KeySet, RecordKey, RecordKind, Revoke, SingleUse, StandardClaims, Validator,
};
use tokengate_redis::{ConnectError, RedisStore};
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

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
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

    // Revocation keys expire too: the jti's revocation lives for the retention (1 day) + leeway.
    let mut redis = raw(&server).await;
    let revoked_key =
        format!("svc:revoked:jti:{}", RecordKey::new(RecordKind::RevokedToken, ISS, "me-1").to_hex());
    let ttl: i64 = redis::cmd("TTL").arg(&revoked_key).query_async(&mut redis).await.unwrap();
    assert!((24 * 3600..=24 * 3600 + 31).contains(&ttl), "TTL {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_refuses_with_503_and_restarted_resumes_without_accepting_anything_twice() {
    let mut server = RedisServer::start();
    let key = signing_key();
    let validator = validator(issuer(&key), connect(&server, "fleet:").await);
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
    // Tokens issued from now on work as usual: once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
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

    let record = store.key(RecordKind::Use, &RecordKey::new(RecordKind::Use, ISS, "short"));
    assert!(record.starts_with("ttl:use:") && !record.contains("short"));
    let mut redis = raw(&server).await;
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

    // Nothing else is left but the marker; no key holds token text.
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut redis).await.unwrap();
    assert_eq!(keys, [store.marker_key().to_owned()]);
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
    let server_side: Vec<String> =
        redis::cmd("KEYS").arg("iss:use:*").query_async(&mut raw(&server).await).await.unwrap();
    assert_eq!(server_side.len(), 1);
}
