//! A real OpenID Provider: `tests/interop/oidc_provider.mjs` (oidc-provider
//! from npm, installed by `tests/interop/install.sh`) on loopback.

use std::time::Duration;

use serde_json::Value;

/// `tests/interop/oidc_provider.mjs` (oidc-provider from npm) on loopback;
/// killed on drop.
pub struct OpenIdProvider {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The issuer URL (`http://127.0.0.1:PORT`).
    pub issuer: String,
}

impl OpenIdProvider {
    /// Starts the provider; `Err` says why it cannot run here (no node, no packages).
    pub fn start() -> Result<OpenIdProvider, String> {
        use std::process::{Command, Stdio};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop");
        if Command::new("node").arg("--version").output().is_err() {
            return Err("node is not on PATH".into());
        }
        if !dir.join("node_modules/oidc-provider").exists() {
            return Err(
                "tests/interop/node_modules/oidc-provider is missing: run tests/interop/install.sh".into()
            );
        }
        let mut child = Command::new("node")
            .arg(dir.join("oidc_provider.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut provider = OpenIdProvider { child, lines, issuer: String::new() };
        let line = provider.wait_for("listening on ");
        provider.issuer = line.trim_start_matches("listening on ").to_owned();
        Ok(provider)
    }

    /// The next stdout line starting with `prefix` (within 8 s).
    pub fn wait_for(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(8);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line =
                self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("oidc-provider: no `{prefix}` line"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// Adds a new signing key in front of the old ones; its `kid`.
    pub fn rotate(&mut self) -> String {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"rotate\n").unwrap();
        stdin.flush().unwrap();
        self.wait_for("rotated ").trim_start_matches("rotated ").to_owned()
    }

    /// A client-credentials access token for `https://api.test` with `scope`.
    pub async fn token(&self, scope: &str) -> String {
        let response = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
            .post(format!("{}/token", self.issuer))
            .basic_auth("svc", Some("svc-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&scope={scope}&resource=https%3A%2F%2Fapi.test"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "token endpoint: {}", response.status());
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().expect("an access token").to_owned()
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
