//! Redis going back in time, against a real `redis-server` started by the
//! tests: a restart from an older RDB snapshot (the marker survives, the
//! use records after it do not) and a FLUSHALL while running. A token used
//! before the loss must never be accepted again.

mod support;

use std::time::{Duration, Instant};

use support::redis_server::RedisServer;
use support::{ISS, raw_connection, use_jti};
use tokengate_core::store::{RecordKey, RecordKind, StoreError, UseOutcome};
use tokengate_redis::{DEFAULT_CLOCK_SKEW_ALLOWANCE, RedisStore};
use tokengate_testkit::now;

const TIMEOUT: Duration = Duration::from_millis(300);

async fn connect(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::builder(server.url())
        .key_prefix(prefix)
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect("Redis is up")
}

async fn get(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> Option<u64> {
    redis::cmd("GET").arg(key).query_async(redis).await.unwrap()
}

/// A `jti` whose record falls in use group `group`.
fn jti_in_group(store: &RedisStore, group: usize, name: &str) -> String {
    (0..)
        .map(|i| format!("{name}-{i}"))
        .find(|jti| store.layout().use_group(&RecordKey::new(RecordKind::Use, ISS, jti)) == group)
        .unwrap()
}

fn group_of(store: &RedisStore, jti: &str) -> usize {
    store.layout().use_group(&RecordKey::new(RecordKind::Use, ISS, jti))
}

/// Uses `jti` until Redis answers (it is coming back): 503 until then.
async fn use_when_back(store: &RedisStore, jti: &str, iat: u64) -> UseOutcome {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match use_jti(store, jti, iat).await {
            Ok(outcome) => return outcome,
            Err(error) => assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}"),
        }
        assert!(Instant::now() < deadline, "Redis did not answer within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_from_an_older_snapshot_refuses_the_replay_as_issued_before_records() {
    let mut server = RedisServer::start();
    let store = connect(&server, "snap:").await;
    let mut redis = raw_connection(&server.url()).await;
    let allowance = DEFAULT_CLOCK_SKEW_ALLOWANCE.as_secs();
    let iat = now(); // not before the connect: a fresh Redis vouches for nothing earlier
    let spent = "spent";
    let group = group_of(&store, spent);
    let (marker, counter) = (store.layout().marker(group), store.layout().counter(group));

    // A use before the snapshot: the snapshot holds the marker and a counter.
    let earlier = jti_in_group(&store, group, "earlier");
    assert_eq!(use_jti(&store, &earlier, iat).await, Ok(UseOutcome::First));
    let () = redis::cmd("SAVE").query_async(&mut redis).await.unwrap();
    let snapshot_marker = get(&mut redis, &marker).await.expect("marker set at connect");
    assert_eq!(get(&mut redis, &counter).await, Some(1));

    // After the snapshot: a use, and its replay refused.
    assert_eq!(use_jti(&store, spent, iat).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&store, spent, iat).await, Ok(UseOutcome::AlreadyUsed));

    // kill -9 and restart from the snapshot: the marker is there (a
    // missing-marker check alone accepts the replay), the record is not.
    server.restart();
    let mut redis = raw_connection(&server.url()).await;
    assert_eq!(get(&mut redis, &marker).await, Some(snapshot_marker), "restarted from the snapshot");
    assert_eq!(get(&mut redis, &counter).await, Some(1), "restarted from the snapshot");
    let record = store.key(RecordKind::Use, ISS, spent);
    let exists: bool = redis::cmd("EXISTS").arg(&record).query_async(&mut redis).await.unwrap();
    assert!(!exists, "the use record was lost");

    let detected_at = now();
    assert_eq!(use_when_back(&store, spent, iat).await, UseOutcome::IssuedBeforeRecords);
    // The marker moved to the detection + the allowance; the counter past
    // what the store had seen (3: earlier, spent, its replay).
    let moved = get(&mut redis, &marker).await.unwrap();
    assert!((detected_at + allowance..=now() + allowance).contains(&moved), "marker {moved}");
    assert!(get(&mut redis, &counter).await.unwrap() > 3);
    assert_eq!(use_jti(&store, spent, iat).await, Ok(UseOutcome::IssuedBeforeRecords));
    assert_eq!(use_jti(&store, &earlier, iat).await, Ok(UseOutcome::IssuedBeforeRecords));

    // The detection is in Redis: an instance started after it refuses too.
    let late = connect(&server, "snap:").await;
    assert_eq!(use_jti(&late, spent, iat).await, Ok(UseOutcome::IssuedBeforeRecords));

    // Tokens issued within the allowance after the detection are refused
    // once; from the marker on, they are accepted once.
    let within = jti_in_group(&store, group, "within");
    assert_eq!(use_jti(&store, &within, moved - 1).await, Ok(UseOutcome::IssuedBeforeRecords));
    let fresh = jti_in_group(&store, group, "fresh");
    assert_eq!(use_jti(&store, &fresh, moved).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&late, &fresh, moved).await, Ok(UseOutcome::AlreadyUsed));
    // No further detection: the marker stays where it is.
    assert_eq!(get(&mut redis, &marker).await, Some(moved));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushall_while_running_refuses_the_replay_and_accepts_tokens_issued_after_the_allowance() {
    let server = RedisServer::start();
    let store = connect(&server, "flush:").await;
    let mut redis = raw_connection(&server.url()).await;
    let allowance = DEFAULT_CLOCK_SKEW_ALLOWANCE.as_secs();
    let iat = now();
    assert_eq!(use_jti(&store, "spent", iat).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&store, "spent", iat).await, Ok(UseOutcome::AlreadyUsed));

    let () = redis::cmd("FLUSHALL").query_async(&mut redis).await.unwrap();
    let detected_at = now();
    assert_eq!(use_jti(&store, "spent", iat).await, Ok(UseOutcome::IssuedBeforeRecords));
    let group = group_of(&store, "spent");
    let marker = get(&mut redis, &store.layout().marker(group)).await.expect("marker set again");
    assert!((detected_at + allowance..=now() + allowance).contains(&marker), "marker {marker}");

    // The detection sweeps every other group in the background: each
    // marker is set again, from the same moment on.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut markers = Vec::new();
        for key in store.marker_keys() {
            markers.push(get(&mut redis, &key).await);
        }
        if markers
            .iter()
            .all(|m| m.is_some_and(|m| (detected_at + allowance..=now() + allowance).contains(&m)))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the other groups were not swept: {markers:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other = jti_in_group(&store, (group + 1) % tokengate_redis::USE_GROUPS, "other");
    assert_eq!(use_jti(&store, &other, iat).await, Ok(UseOutcome::IssuedBeforeRecords));

    // An issuer clock ahead by less than the allowance: a token stamped
    // in our future but used before the loss is still refused.
    let ahead = jti_in_group(&store, group, "ahead");
    assert_eq!(use_jti(&store, &ahead, iat + allowance - 1).await, Ok(UseOutcome::IssuedBeforeRecords));
    // A fresh token issued at now + allowance + 1: accepted, once.
    let fresh_iat = detected_at + allowance + 1;
    assert_eq!(use_jti(&store, "fresh", fresh_iat).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&store, "fresh", fresh_iat).await, Ok(UseOutcome::AlreadyUsed));
}
