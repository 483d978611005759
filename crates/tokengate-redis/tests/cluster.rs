//! `RedisStore` on a real Redis Cluster (three masters started and joined by
//! the test): shared uses, revocations and token sightings across two stores, atomicity under
//! a race, a hung then a dead master answered 503 (never accepted), and its
//! restart without data noticed as lost data. One cluster, one test, in steps.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::cluster::RedisCluster;
use support::{ISS, use_jti};
use tokengate_core::store::{
    ClientSighting, RecordKey, RecordKind, ReplayStore, Revocation, RevocationStore, StoreError, TokenRef,
    UseOutcome,
};
use tokengate_redis::{ConnectError, DEFAULT_RETRY_AFTER, RedisStore, USE_GROUPS};
use tokengate_testkit::now;

const TIMEOUT: Duration = Duration::from_millis(500);
/// What a loaded 2-core CI machine may add to the timeout.
const MARGIN: Duration = Duration::from_millis(500);

fn jti_in_group(store: &RedisStore, group: usize, name: &str) -> String {
    (0..)
        .map(|i| format!("{name}-{i}"))
        .find(|jti| store.layout().use_group(&RecordKey::new(RecordKind::Use, ISS, jti)) == group)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_shares_uses_and_revocations_and_a_dead_master_is_503_never_a_pass() {
    let started = Instant::now();
    let mut cluster = RedisCluster::start(3);
    println!("cluster of 3 masters up in {:?}", started.elapsed());
    let urls = cluster.urls();

    // Two stores: seeds as a list, and the comma-separated configuration form.
    let a = RedisStore::builder_from_urls(urls.clone())
        .key_prefix("c:")
        .timeout(TIMEOUT)
        .connect()
        .await
        .unwrap();
    let b = RedisStore::builder_from_list(&urls[1..].join(","))
        .key_prefix("c:")
        .timeout(TIMEOUT)
        .connect()
        .await
        .unwrap();
    assert!(a.is_cluster() && b.is_cluster());

    // A cluster node given as a single node is a configuration error
    // (some groups live on other nodes: MOVED).
    let single = RedisStore::builder(urls[0].clone()).timeout(TIMEOUT).connect().await;
    assert!(
        matches!(single, Err(ConnectError::InvalidConfig(ref m)) if m.contains("Redis Cluster node")),
        "{single:?}"
    );

    // The use groups spread over every master.
    let owners: HashSet<usize> =
        (0..USE_GROUPS).map(|group| cluster.owner_of(&a.layout().marker(group))).collect();
    assert_eq!(owners.len(), cluster.len(), "groups on masters {owners:?}");

    // Spent on A, refused on B (and on A).
    let iat = now();
    for i in 0..USE_GROUPS {
        let jti = jti_in_group(&a, i, "spent");
        assert_eq!(use_jti(&a, &jti, iat).await, Ok(UseOutcome::First), "{jti}");
        assert_eq!(use_jti(&b, &jti, iat).await, Ok(UseOutcome::AlreadyUsed), "{jti}");
        assert_eq!(use_jti(&a, &jti, iat).await, Ok(UseOutcome::AlreadyUsed), "{jti}");
    }

    // 64 concurrent uses of one jti across both: exactly one first.
    for round in 0..4 {
        let jti = format!("race-{round}");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (jti, barrier) = (jti.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    use_jti(&store, &jti, iat).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap());
        }
        let first = outcomes.iter().filter(|o| **o == Ok(UseOutcome::First)).count();
        let used = outcomes.iter().filter(|o| **o == Ok(UseOutcome::AlreadyUsed)).count();
        assert_eq!((first, used), (1, 63), "round {round}: {outcomes:?}");
    }

    // A revocation made through A holds on B: by jti, by subject, issuer-wide.
    let token = |jti, sub, iat| TokenRef::new(ISS, Some(jti), Some(sub), Some(iat), iat);
    a.revoke(Revocation::Token { issuer: ISS, token_id: "doomed", keep_until: iat + 300 }, iat)
        .await
        .unwrap();
    assert_eq!(b.is_revoked(token("doomed", "user-1", iat)).await, Ok(true));
    assert_eq!(b.is_revoked(token("other", "user-1", iat)).await, Ok(false));
    a.revoke(
        Revocation::Subject { issuer: ISS, subject: "user-2", cutoff: iat - 10, keep_until: iat + 300 },
        iat,
    )
    .await
    .unwrap();
    assert_eq!(b.is_revoked(token("t1", "user-2", iat - 10)).await, Ok(true));
    assert_eq!(b.is_revoked(token("t2", "user-2", iat - 9)).await, Ok(false));
    b.revoke(Revocation::Issuer { issuer: ISS, cutoff: iat - 100, keep_until: u64::MAX }, iat).await.unwrap();
    assert_eq!(a.is_revoked(token("t3", "user-3", iat - 100)).await, Ok(true));
    assert_eq!(a.is_revoked(token("t4", "user-3", iat - 99)).await, Ok(false));
    // One issuer's revocations share a node (one MGET, one round trip).
    let revocation_owner = cluster.owner_of(&a.key(RecordKind::RevokedToken, ISS, "doomed"));
    assert_eq!(cluster.owner_of(&a.key(RecordKind::RevokedSubject, ISS, "user-2")), revocation_owner);
    assert_eq!(cluster.owner_of(&a.key(RecordKind::RevokedIssuer, ISS, "")), revocation_owner);

    // Token-sharing sightings: each token's set in a slot of its own, spread
    // over the masters, counted alike through either store.
    let mut sighting_owners = HashSet::new();
    for i in 0..12 {
        let token = RecordKey::new(RecordKind::Sighting, ISS, &format!("token-{i}"));
        sighting_owners.insert(cluster.owner_of(&a.layout().sightings(&token)));
        let sight = |client| ClientSighting::new(token, client, 3, iat + 300, iat);
        assert_eq!(a.note_client(sight(1)).await, Ok(1));
        assert_eq!(b.note_client(sight(1)).await, Ok(1));
        assert_eq!(b.note_client(sight(2)).await, Ok(2));
        assert_eq!(a.note_client(sight(3)).await, Ok(3));
        assert_eq!(a.note_client(sight(4)).await, Ok(3), "at the cap a new client is not kept");
    }
    assert!(sighting_owners.len() > 1, "sightings on masters {sighting_owners:?}");

    // Kill the master that holds a used record: that record (and any other
    // in its slot) is 503, quickly, on both stores; never accepted.
    let spent = jti_in_group(&a, 0, "spent");
    let group = a.layout().use_group(&RecordKey::new(RecordKind::Use, ISS, &spent));
    let victim = cluster.owner_of(&a.key(RecordKind::Use, ISS, &spent));
    let unseen = jti_in_group(&a, group, "unseen");
    let unavailable = Err(StoreError::Unavailable { retry_after: DEFAULT_RETRY_AFTER });

    // First hung (SIGSTOP): the cluster client has no response timeout of
    // its own; the store sets one, so a use answers 503 within it.
    let pid = cluster.pid(victim);
    assert!(support::signal(pid, "STOP"), "SIGSTOP");
    struct Resume(u32); // SIGCONT even if an assertion fails
    impl Drop for Resume {
        fn drop(&mut self) {
            support::signal(self.0, "CONT");
        }
    }
    let resume = Resume(pid);
    let mut slowest = Duration::ZERO;
    for (attempt, store) in [&a, &b, &a].into_iter().enumerate() {
        let started = Instant::now();
        let jti = jti_in_group(&a, group, &format!("stopped{attempt}"));
        assert_eq!(use_jti(store, &jti, iat).await, unavailable, "hung master, attempt {attempt}");
        let elapsed = started.elapsed();
        assert!(elapsed < TIMEOUT + MARGIN, "hung master, attempt {attempt}: 503 after {elapsed:?}");
        slowest = slowest.max(elapsed);
    }
    drop(resume);
    println!("hung master: slowest 503 after {slowest:?} (timeout {TIMEOUT:?})");
    let deadline = Instant::now() + Duration::from_secs(15);
    for attempt in 0.. {
        // A fresh jti per attempt: a timed-out attempt may still have run.
        match use_jti(&a, &jti_in_group(&a, group, &format!("resumed{attempt}")), iat).await {
            Ok(outcome) => {
                assert_eq!(outcome, UseOutcome::First);
                break;
            }
            Err(error) => assert_eq!(Err::<UseOutcome, _>(error), unavailable),
        }
        assert!(Instant::now() < deadline, "the resumed master did not answer within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Then dead (SIGKILL).
    cluster.kill(victim);
    slowest = Duration::ZERO;
    for attempt in 0..4 {
        for (store, jti) in [(&a, &spent), (&b, &spent), (&a, &unseen)] {
            let started = Instant::now();
            assert_eq!(use_jti(store, jti, iat).await, unavailable, "attempt {attempt}: {jti}");
            let elapsed = started.elapsed();
            assert!(elapsed < TIMEOUT + MARGIN, "attempt {attempt}: 503 after {elapsed:?}");
            slowest = slowest.max(elapsed);
        }
    }

    println!("dead master: slowest 503 after {slowest:?} (timeout {TIMEOUT:?})");

    // Restarted without its data (no persistence), it rejoins with its
    // slots: the group's marker and counter are gone, the replay is
    // refused as possibly replayed, never accepted.
    let restarted = Instant::now();
    cluster.restart(victim);
    println!("killed master back, cluster ok in {:?}", restarted.elapsed());
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcome = loop {
        match use_jti(&a, &spent, iat).await {
            Ok(outcome) => break outcome,
            Err(error) => assert_eq!(Err::<UseOutcome, _>(error), unavailable),
        }
        assert!(Instant::now() < deadline, "the cluster connection did not recover within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("store answered again {:?} after the restart", restarted.elapsed());
    assert_eq!(outcome, UseOutcome::IssuedBeforeRecords);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match use_jti(&b, &spent, iat).await {
            Ok(outcome) => {
                assert_eq!(outcome, UseOutcome::IssuedBeforeRecords);
                break;
            }
            Err(error) => assert_eq!(Err::<UseOutcome, _>(error), unavailable),
        }
        assert!(Instant::now() < deadline, "the second store did not recover within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(use_jti(&a, &unseen, iat).await, Ok(UseOutcome::IssuedBeforeRecords));
    // Records on the other masters were not lost.
    let elsewhere = (0..USE_GROUPS)
        .find(|g| cluster.owner_of(&a.layout().marker(*g)) != victim)
        .expect("a group on another master");
    let kept = jti_in_group(&a, elsewhere, "spent");
    assert_eq!(use_jti(&b, &kept, iat).await, Ok(UseOutcome::AlreadyUsed));
    println!("cluster test took {:?}", started.elapsed());
}
