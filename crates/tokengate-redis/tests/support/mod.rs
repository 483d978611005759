//! Real Redis servers for the tests (no mocks), and small helpers.
#![allow(dead_code)] // each test binary uses a part

pub mod cluster;
pub mod redis_server;
pub mod tls;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokengate_core::store::{ReplayStore, StoreError, TokenUse, UseOutcome};
use tokengate_redis::RedisStore;

/// The issuer of the store-level uses.
pub const ISS: &str = "https://issuer.test/";

/// Records a use of `jti` issued at `iat`, valid for 5 minutes, now.
pub async fn use_jti(store: &RedisStore, jti: &str, iat: u64) -> Result<UseOutcome, StoreError> {
    let now = tokengate_testkit::now();
    store.record_use(TokenUse::new(ISS, jti, iat, now + 300, now)).await
}

/// A direct connection for a test's own commands (`KEYS`, `PTTL`, `SAVE`…).
/// redis's default response timeout (500 ms) is too short for `SAVE` on a
/// busy disk: this one waits up to 30 s.
pub async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(30)));
    redis::Client::open(url).unwrap().get_multiplexed_async_connection_with_config(&config).await.unwrap()
}

/// A fresh temporary directory for one server or fixture.
pub fn temp_dir(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tokengate-redis-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().unwrap().port()
}

/// Waits (at most `within`) until something accepts TCP connections on `port`.
pub fn wait_for_listener(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Sends a signal (`STOP`, `CONT`, `KILL`) to a process, with bash's
/// built-in `kill` (no procps needed; the crate forbids `unsafe`, so no
/// libc); answers whether it was delivered.
pub fn signal(pid: u32, name: &str) -> bool {
    std::process::Command::new("bash")
        .args(["-c", &format!("kill -{name} {pid}")])
        .status()
        .is_ok_and(|status| status.success())
}

/// Panics with instructions when a Redis binary is missing.
pub fn missing(binary: &str) -> ! {
    panic!(
        "{binary} is not installed, and these tests need a real Redis: install it \
         (Debian/Ubuntu: `apt-get install -y redis-server redis-tools`; CI's .ci/run does) \
         and run the tests again"
    )
}
