//! A real Redis Cluster for tests: `redis-server --cluster-enabled yes` per
//! master on free loopback ports (the cluster bus on port + 10000), joined
//! with `redis-cli --cluster create`, no persistence; killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{missing, temp_dir};

/// A running cluster of masters (no replicas).
pub struct RedisCluster {
    nodes: Vec<Node>,
    dir: PathBuf,
}

struct Node {
    port: u16,
    child: Option<Child>,
}

impl RedisCluster {
    /// Starts `masters` nodes and joins them into one cluster, slots split
    /// evenly; returns once every node reports `cluster_state:ok`.
    pub fn start(masters: usize) -> RedisCluster {
        let dir = temp_dir("cluster");
        let ports = cluster_ports(masters);
        let mut cluster =
            RedisCluster { nodes: ports.iter().map(|&port| Node { port, child: None }).collect(), dir };
        for index in 0..masters {
            cluster.spawn(index);
        }
        let addresses: Vec<String> = ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| match error.kind() {
                std::io::ErrorKind::NotFound => missing("redis-cli"),
                _ => panic!("cannot run redis-cli: {error}"),
            });
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_ok(Duration::from_secs(20));
        cluster
    }

    /// `redis://127.0.0.1:PORT` of every node, for seeds.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|node| format!("redis://127.0.0.1:{}", node.port)).collect()
    }

    /// The node's port.
    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].port
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The index of the node that serves `key` (asked of each node:
    /// the others answer `MOVED`).
    pub fn owner_of(&self, key: &str) -> usize {
        for (index, node) in self.nodes.iter().enumerate() {
            let Ok(mut connection) = sync_connection(node.port) else { continue };
            let answer: redis::RedisResult<i64> = redis::cmd("EXISTS").arg(key).query(&mut connection);
            if answer.is_ok() {
                return index;
            }
        }
        panic!("no node serves {key}");
    }

    /// The node's process id while it runs (for SIGSTOP / SIGCONT).
    pub fn pid(&self, index: usize) -> u32 {
        self.nodes[index].child.as_ref().expect("running").id()
    }

    /// Kills a node (SIGKILL: no goodbye, its data lost).
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a killed node again, empty, with its cluster configuration
    /// (it rejoins, serving the same slots), and waits for the cluster.
    pub fn restart(&mut self, index: usize) {
        self.kill(index);
        self.spawn(index);
        self.wait_ok(Duration::from_secs(30));
    }

    fn spawn(&mut self, index: usize) {
        let port = self.nodes[index].port;
        let dir = self.dir.join(port.to_string());
        std::fs::create_dir_all(&dir).expect("node directory");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "3000"])
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
                .args(["--maxmemory-policy", "noeviction"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match child {
                Ok(child) => child,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => missing("redis-server"),
                Err(error) => panic!("cannot start redis-server: {error}"),
            };
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port is still held by the killed node: try again
                }
                if sync_connection(port)
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                    .is_ok_and(|pong| pong == "PONG")
                {
                    self.nodes[index].child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(Instant::now() < deadline, "cluster node on port {port} did not start within 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every running node says `cluster_state:ok` and knows
    /// every master.
    pub fn wait_ok(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ready = self.nodes.iter().filter(|node| node.child.is_some()).all(|node| {
                let Ok(mut connection) = sync_connection(node.port) else { return false };
                let info: String =
                    redis::cmd("CLUSTER").arg("INFO").query(&mut connection).unwrap_or_default();
                let slots: Vec<redis::Value> =
                    redis::cmd("CLUSTER").arg("SLOTS").query(&mut connection).unwrap_or_default();
                info.contains("cluster_state:ok") && slots.len() == self.nodes.len()
            });
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "the cluster did not become ok within {within:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sync_connection(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let connection = client.get_connection_with_timeout(Duration::from_millis(500))?;
    connection.set_read_timeout(Some(Duration::from_millis(500)))?;
    Ok(connection)
}

/// `count` ports whose cluster bus port (+ 10000) is free too.
fn cluster_ports(count: usize) -> Vec<u16> {
    use std::net::TcpListener;
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
        ^ std::process::id();
    let mut ports = Vec::with_capacity(count);
    for attempt in 0..10_000u32 {
        let port = 20_000 + (seed.wrapping_add(attempt.wrapping_mul(7919)) % 20_000) as u16;
        if ports.iter().any(|p: &u16| p.abs_diff(port) < 2 || p.abs_diff(port) == 10_000) {
            continue;
        }
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10_000) {
            ports.push(port);
            if ports.len() == count {
                return ports;
            }
        }
    }
    panic!("no free ports for a cluster");
}
