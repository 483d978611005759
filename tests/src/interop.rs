//! The independent JOSE implementations the interoperability tests drive:
//! PyJWT and jwcrypto (Python) and jose (Node), each through a script in
//! `tests/interop/` (installed by `tests/interop/install.sh`) that reads a
//! JSON job on stdin and answers JSON on stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// One independent implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// PyJWT (Python).
    PyJwt,
    /// jwcrypto (Python).
    Jwcrypto,
    /// jose (Node).
    Jose,
}

impl Lib {
    /// Every implementation.
    pub const ALL: [Lib; 3] = [Lib::PyJwt, Lib::Jwcrypto, Lib::Jose];

    /// Its name, as the scripts take it.
    pub fn name(self) -> &'static str {
        match self {
            Lib::PyJwt => "pyjwt",
            Lib::Jwcrypto => "jwcrypto",
            Lib::Jose => "jose",
        }
    }

    /// The program running `script` (`mint`, `verify`, `dpop`: `.py` or
    /// `.mjs`), or why it cannot run.
    fn command(self, script: &str) -> Result<Command, String> {
        let dir = interop_dir();
        match self {
            Lib::PyJwt | Lib::Jwcrypto => {
                let python = dir.join(".venv/bin/python");
                if !python.exists() {
                    return Err(format!(
                        "{} has no Python environment: python3 missing, or tests/interop/install.sh not run",
                        python.display()
                    ));
                }
                let mut command = Command::new(python);
                command.arg(dir.join(format!("{script}.py")));
                Ok(command)
            }
            Lib::Jose => {
                if !dir.join("node_modules/jose").exists() {
                    return Err("tests/interop/node_modules/jose is missing: node/npm missing, or \
                                tests/interop/install.sh not run"
                        .into());
                }
                if Command::new("node").arg("--version").output().is_err() {
                    return Err("node is not on PATH".into());
                }
                let mut command = Command::new("node");
                command.arg(dir.join(format!("{script}.mjs")));
                Ok(command)
            }
        }
    }

    /// Whether it can run `script`; skips loudly, or fails under
    /// `TOKENGATE_REQUIRE_INTEROP=1` (as CI sets it).
    pub fn available(self, script: &str) -> bool {
        match self.command(script) {
            Ok(_) => true,
            Err(reason) if std::env::var_os("TOKENGATE_REQUIRE_INTEROP").is_some_and(|v| v == "1") => {
                panic!(
                    "interop with {} is required (TOKENGATE_REQUIRE_INTEROP=1) but cannot run: {reason}",
                    self.name()
                )
            }
            Err(reason) => {
                eprintln!("!!!!!!!! SKIPPED: interoperability with {} — {reason} !!!!!!!!", self.name());
                false
            }
        }
    }

    /// Runs `script` with `job` on stdin; the script's JSON answer. A
    /// script that fails fails the test.
    pub fn run(self, script: &str, job: &Value) -> Value {
        let mut child = self
            .command(script)
            .unwrap_or_else(|reason| panic!("{}: {reason}", self.name()))
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {} script: {e}", self.name()));
        {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(job.to_string().as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{} {script} failed: {}",
            self.name(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the script answers JSON")
    }
}

/// A fresh directory for key files, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `tokengate-interop-{name}-{pid}` under the system's temporary directory.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tokengate-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Writes `contents` to `name` inside it; answers the file's path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
