//! `RedisStore` behind Redis Sentinel (a master, a replica and a Sentinel
//! started by the test on loopback): two stores share uses through the
//! master the Sentinel names; a failover is followed to the new master,
//! and while it happens a spent `jti` is refused or answered 503, never
//! accepted, even with an unresponsive Sentinel listed first. One topology,
//! one test, in steps.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{ISS, free_port, missing, temp_dir, use_jti, wait_for_listener};
use tokengate_core::store::{RecordKey, RecordKind, StoreError, UseOutcome};
use tokengate_redis::{ConnectError, RedisStore};
use tokengate_testkit::now;

const MASTER: &str = "tokengate-test";
const TIMEOUT: Duration = Duration::from_millis(500);

/// A `redis-server` (or Sentinel) process, killed on drop.
struct Process {
    child: Child,
    port: u16,
    _dir: PathBuf,
}

impl Process {
    fn redis(extra: &[String]) -> Process {
        let (port, dir) = (free_port(), temp_dir("sentinel-node"));
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--protected-mode", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(extra);
        Process::spawn(command, port, dir, "redis-server")
    }

    fn sentinel(master_port: u16) -> Process {
        let (port, dir) = (free_port(), temp_dir("sentinel"));
        let config = dir.join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {}\n\
                 sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} 10000\n",
                dir.display()
            ),
        )
        .expect("write sentinel.conf");
        let mut command = Command::new("redis-server");
        command.arg(&config).arg("--sentinel");
        Process::spawn(command, port, dir, "Sentinel")
    }

    /// Starts `command` (quiet) and waits for it to listen on `port`.
    fn spawn(mut command: Command, port: u16, dir: PathBuf, what: &str) -> Process {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|_| missing("redis-server"));
        assert!(wait_for_listener(port, Duration::from_secs(10)), "{what} on {port} did not start");
        Process { child, port, _dir: dir }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection_with_timeout(Duration::from_secs(2)).unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` every 100 ms for at most `within`.
fn wait_until(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The master's port as the Sentinel names it now.
fn named_master(sentinel: &Process) -> Option<u16> {
    let answer: Option<(String, String)> = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(MASTER)
        .query(&mut sentinel.connection())
        .ok()?;
    answer.and_then(|(_, port)| port.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_is_followed_and_never_lets_a_spent_token_through() {
    let master = Process::redis(&[]);
    let replica = Process::redis(&["--replicaof".into(), "127.0.0.1".into(), master.port.to_string()]);
    let sentinel = Process::sentinel(master.port);
    wait_until(Duration::from_secs(20), "the replica to sync and the Sentinel to see it", || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut master.connection()).unwrap();
        let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg(MASTER)
            .query(&mut sentinel.connection())
            .unwrap_or_default();
        info.contains("connected_slaves:1") && info.contains("state=online") && !replicas.is_empty()
    });
    assert_eq!(named_master(&sentinel), Some(master.port));

    // Listed first, a Sentinel that accepts connections and never answers
    // (a listener nobody accepts on): every lookup waits for it, and the
    // stores must still find and follow the master.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("redis://{}/", hung.local_addr().unwrap());
    let connect = || {
        RedisStore::builder_from_sentinels([hung_url.clone(), sentinel.url()], MASTER)
            .timeout(TIMEOUT)
            .connect()
    };
    let (a, b) = (connect().await.expect("store a"), connect().await.expect("store b"));
    let iat = now();
    assert_eq!(use_jti(&a, "before", iat).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&b, "before", iat).await, Ok(UseOutcome::AlreadyUsed), "shared through the master");
    // The use reached the replica before the failover (asynchronous replication).
    let acknowledged: i64 = redis::cmd("WAIT").arg(1).arg(2000).query(&mut master.connection()).unwrap();
    assert_eq!(acknowledged, 1);

    let _: String =
        redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER).query(&mut sentinel.connection()).unwrap();
    // Through the failover, until the old master has become a replica: the
    // spent jti is refused or 503, never accepted.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut unavailable = 0;
    let spent_is_refused = |outcome: Result<UseOutcome, StoreError>, unavailable: &mut u32| match outcome {
        // Refused as used, or as possibly replayed: writes the old master
        // took after the promotion are lost, which the stores detect.
        Ok(UseOutcome::AlreadyUsed | UseOutcome::IssuedBeforeRecords) => {}
        Err(StoreError::Unavailable { .. }) => *unavailable += 1,
        other => panic!("a spent jti during the failover: {other:?}"),
    };
    loop {
        assert!(Instant::now() < deadline, "the failover did not complete within 30 s");
        spent_is_refused(use_jti(&a, "before", iat).await, &mut unavailable);
        spent_is_refused(use_jti(&b, "before", iat).await, &mut unavailable);
        let demoted = redis::cmd("INFO")
            .arg("replication")
            .query::<String>(&mut master.connection())
            .is_ok_and(|info| info.contains("role:slave"));
        if demoted && named_master(&sentinel) == Some(replica.port) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each store reaches the new master: a fresh jti is recorded there.
    for (index, store) in [&a, &b].into_iter().enumerate() {
        let jti = format!("after-{index}");
        loop {
            assert!(Instant::now() < deadline, "store {index} did not reach the new master");
            match use_jti(store, &jti, iat).await {
                Ok(UseOutcome::First) => break,
                Err(StoreError::Unavailable { .. }) => unavailable += 1,
                other => panic!("a fresh jti after the failover: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let key = store.layout().use_record(&RecordKey::new(RecordKind::Use, ISS, &jti));
        let held: bool = redis::cmd("EXISTS").arg(&key).query(&mut replica.connection()).unwrap();
        assert!(held, "store {index} wrote {jti} to the new master");
    }
    assert_eq!(use_jti(&b, "after-shared", iat).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&a, "after-shared", iat).await, Ok(UseOutcome::AlreadyUsed));
    spent_is_refused(use_jti(&a, "before", iat).await, &mut unavailable);
    spent_is_refused(use_jti(&b, "before", iat).await, &mut unavailable);
    println!("503 answers while the stores followed the failover: {unavailable}");
}

#[tokio::test]
async fn sentinel_misconfiguration_is_a_start_up_error() {
    let master = Process::redis(&[]);
    let sentinel = Process::sentinel(master.port);
    // A master name the Sentinels do not monitor.
    let error = RedisStore::builder_from_sentinels([sentinel.url()], "no-such-master")
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect_err("an unknown master name");
    assert!(
        matches!(&error, ConnectError::InvalidConfig(text) if text.contains("no-such-master")),
        "{error:?}"
    );
    // No Sentinel listening.
    let error = RedisStore::builder_from_sentinels([format!("redis://127.0.0.1:{}/", free_port())], MASTER)
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect_err("no Sentinel");
    assert!(matches!(error, ConnectError::Unreachable(_)), "{error:?}");
    // No Sentinel URL at all.
    let error =
        RedisStore::builder_from_sentinels(Vec::<String>::new(), MASTER).connect().await.expect_err("none");
    assert!(matches!(error, ConnectError::InvalidUrl(_)), "{error:?}");
    // A database number: not silently dropped.
    let error =
        RedisStore::builder_from_sentinels([format!("redis://127.0.0.1:{}/2", sentinel.port)], MASTER)
            .connect()
            .await
            .expect_err("a database number");
    assert!(matches!(error, ConnectError::InvalidConfig(_)), "{error:?}");
    // Master credentials make sense only with Sentinels.
    let error =
        RedisStore::builder(master.url()).master_credentials(None, "secret").connect().await.expect_err("");
    assert!(matches!(error, ConnectError::InvalidConfig(_)), "{error:?}");
}
