//! The axum demo server as a process, the way users run it: built by cargo
//! (`--example axum_server`), configured by environment variables, talking
//! on stdout/stderr, stopped by signals. The in-process contract tests are
//! in `axum_contract.rs`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The example binary, built once per test run with the same profile.
fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut command = Command::new(env!("CARGO"));
        command
            .current_dir(&workspace)
            .args(["build", "-p", "tokengate-demo-axum", "--example", "axum_server", "--message-format=json"])
            .stderr(Stdio::inherit());
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let output = command.output().expect("cargo runs");
        assert!(output.status.success(), "cargo build --example axum_server failed");
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|message| message["target"]["name"] == "axum_server")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the example's executable")
    })
}

struct Process {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Process {
    fn spawn(vars: &[(&str, &str)]) -> Process {
        let mut command = Command::new(binary());
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("TOKENGATE_")) {
            command.env_remove(name);
        }
        command.envs(vars.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the example starts");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Process { child, stdout, stderr }
    }

    fn line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// Waits for `listening on http://ADDR` and returns the base URL.
    fn listening(&self) -> String {
        let line = self.line(Duration::from_secs(60)).expect("a `listening on` line");
        line.strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned()
    }

    fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status();
        assert!(status.unwrap().success());
    }

    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// (URL, token) of a printed `curl` line.
fn parse_curl(line: &str) -> (String, String) {
    let url = line.split_whitespace().find(|word| word.starts_with("http://")).unwrap().to_owned();
    let token = line.rsplit("Bearer ").next().unwrap().trim_end_matches('\'').to_owned();
    (url, token)
}

async fn get(url: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn demo_mode_prints_working_curl_lines_and_stops_on_sigterm() {
    let mut server = Process::spawn(&[("TOKENGATE_ADDR", "127.0.0.1:0"), ("TOKENGATE_LOG", "warn")]);
    let base = server.listening();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base}");

    let mut curls = Vec::new();
    while curls.len() < 4 {
        let line = server.line(Duration::from_secs(10)).expect("four curl lines");
        if line.starts_with("curl ") {
            assert!(line.contains(&base), "{line}");
            curls.push(parse_curl(&line));
        }
    }
    let [valid, admin, transfer, expired] = <[_; 4]>::try_from(curls).unwrap();

    // The keys arrive in the background; the first answers may be 503.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, me) = loop {
        let answer = get(&valid.0, &valid.1).await;
        if answer.0 != 503 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["sub"], "demo-user");
    assert!(admin.0.ends_with("/admin"));
    assert_eq!(get(&admin.0, &admin.1).await, (200, serde_json::json!({ "ok": true })));
    let (status, body) = get(&expired.0, &expired.1).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    // The transfer token carries scope `transfer` and a `jti` (POST /transfer accepts it once).
    assert!(transfer.0.ends_with("/transfer"));
    let (status, me) = get(&format!("{base}/me"), &transfer.1).await;
    assert_eq!(status, 200);
    assert_eq!(me["scopes"], serde_json::json!(["transfer"]));
    assert!(me["jti"].is_string());

    server.signal("TERM");
    let status = server.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn issuer_down_at_start_is_not_a_configuration_error_and_sigint_stops_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let jwks = format!("http://{closed}/jwks.json");
    let mut server = Process::spawn(&[
        ("TOKENGATE_ADDR", "127.0.0.1:0"),
        ("TOKENGATE_ISSUER", "https://issuer.example"),
        ("TOKENGATE_AUDIENCE", "api"),
        ("TOKENGATE_JWKS_URL", &jwks),
        ("TOKENGATE_INSECURE_HTTP", "1"),
        ("TOKENGATE_LOG", "error"),
    ]);
    let base = server.listening();
    // No curl lines outside demo mode.
    assert_eq!(server.line(Duration::from_millis(300)), None);
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let (status, body) = get(&format!("{base}/me"), "a.b.c").await;
    // `a.b.c` is not even decodable: refused before any key is needed.
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));

    server.signal("INT");
    assert!(server.wait(Duration::from_secs(10)).success());
}

#[test]
fn configuration_errors_exit_non_zero_with_one_line_before_listening() {
    for vars in [
        &[("TOKENGATE_ISSUER", "https://issuer.example")][..],
        &[("TOKENGATE_AUDIENCE", "api")],
        &[("TOKENGATE_ALGORITHMS", "RS256,none")],
        &[("TOKENGATE_ISSUER", "http://issuer.example"), ("TOKENGATE_AUDIENCE", "api")],
        &[("TOKENGATE_ADDR", "not-an-address")],
    ] {
        let mut server = Process::spawn(vars);
        let status = server.wait(Duration::from_secs(30));
        assert!(!status.success(), "{vars:?}");
        assert_eq!(server.line(Duration::from_secs(1)), None, "nothing on stdout for {vars:?}");
        std::thread::sleep(Duration::from_millis(50));
        let stderr = server.stderr_lines();
        assert_eq!(stderr.len(), 1, "{vars:?}: {stderr:?}");
        assert!(stderr[0].starts_with("configuration error: "), "{stderr:?}");
    }
}
