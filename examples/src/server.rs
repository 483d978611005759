//! Start-up and shutdown plumbing shared by the demo servers.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokengate_core::Validator;
use tokengate_core::keys::KeySource as _;

use crate::api::{self, Trusted};
use crate::config::{Config, ConfigError, Trust};
use crate::demo::DemoIssuer;

/// How long in-flight requests may take to finish after SIGINT/SIGTERM
/// before the server exits anyway (the contract allows 10 s in all).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// How long demo mode waits for the demo issuer's keys before listening.
pub const DEMO_KEYS_WAIT: Duration = Duration::from_secs(5);

/// Everything a demo server needs before it listens, framework-free.
#[derive(Debug)]
pub struct Prepared {
    /// The configuration.
    pub config: Config,
    /// The issuer and audience trusted.
    pub trusted: Trusted,
    /// The validator (keys arrive in the background).
    pub validator: Validator,
    /// The RFC 9728 metadata document.
    pub metadata: Value,
    /// The demo issuer, in demo mode; it runs as long as this is kept.
    pub demo: Option<DemoIssuer>,
}

/// Starts the demo issuer (in demo mode) and builds the validator and the
/// metadata document for a server bound at `bound` (the default public URL
/// is `http://` that address). Inside a Tokio runtime.
pub async fn prepare(config: Config, bound: SocketAddr) -> Result<Prepared, ConfigError> {
    let demo = match config.trust {
        Trust::Demo => Some(
            DemoIssuer::start(config.algorithms)
                .await
                .map_err(|e| ConfigError(format!("cannot start the demo issuer on 127.0.0.1: {e}")))?,
        ),
        Trust::Issuer { .. } => None,
    };
    let trusted = match (&config.trust, &demo) {
        (Trust::Issuer { issuer, audience, .. }, _) => {
            Trusted { issuer: issuer.clone(), audience: audience.clone() }
        }
        (Trust::Demo, Some(demo)) => demo.trusted(),
        (Trust::Demo, None) => unreachable!("demo mode starts the demo issuer"),
    };
    let store = api::redis_store(&config).await?;
    let keys = api::key_source(&config, &trusted)?;
    if demo.is_some() {
        // The demo issuer is local: wait for its keys, so that the printed
        // `curl` lines work at once instead of answering 503 for a moment.
        let deadline = tokio::time::Instant::now() + DEMO_KEYS_WAIT;
        while keys.current().is_none() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let public_url =
        config.public_url.as_ref().map_or_else(|| base_url(bound), |url| url.as_str().to_owned());
    let validator = api::validator(&config, &trusted, &public_url, keys, store)?;
    let metadata = api::resource_metadata(&config, &trusted, validator.dpop());
    Ok(Prepared { config, trusted, validator, metadata, demo })
}

/// What a demo server has before it serves: the prepared API, and its
/// listener bound to `TOKENGATE_ADDR`.
#[derive(Debug)]
pub struct Started {
    /// The validator, metadata and demo issuer.
    pub prepared: Prepared,
    /// The bound listener (non-blocking, ready for any runtime).
    pub listener: std::net::TcpListener,
    /// The address as bound (port `0` resolved).
    pub bound: SocketAddr,
}

/// Everything before serving, for every demo: configuration from the
/// environment, logging, [`prepare`], and binding. A failure has already
/// been printed as one line on stderr; the error is the exit code to use.
pub async fn start_up() -> Result<Started, std::process::ExitCode> {
    let fail = |message: String, code: u8| {
        eprintln!("{message}");
        std::process::ExitCode::from(code)
    };
    let config = Config::from_env().map_err(|e| fail(e.to_string(), 2))?;
    init_logging(&config.log);
    let addr = config.addr;
    // Bound first (nothing is accepted before `listening on`): the default
    // public URL, which DPoP proofs name, is the address as bound.
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| fail(format!("configuration error: cannot listen on {addr}: {e}"), 2))?;
    listener.set_nonblocking(true).map_err(|e| fail(format!("cannot configure the listener: {e}"), 1))?;
    let bound = listener.local_addr().map_err(|e| fail(format!("cannot read the bound address: {e}"), 1))?;
    let prepared = prepare(config, bound).await.map_err(|e| fail(e.to_string(), 2))?;
    Ok(Started { prepared, listener, bound })
}

/// Logs to stderr with `filter` (tracing `EnvFilter` syntax, already checked
/// by [`Config`]). Stdout is kept for the `listening on` line and the demo's
/// `curl` lines.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// `http://ADDR`, with an unspecified address (`0.0.0.0`, `::`) replaced by
/// loopback so that the URL can be pasted into a client.
pub fn base_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}")
}

/// Prints `listening on http://ADDR` (ADDR as bound) and flushes it; in demo
/// mode, then the `curl` lines.
pub fn announce(addr: SocketAddr, demo: Option<&DemoIssuer>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
    if let Some(demo) = demo {
        for line in demo.curl_lines(&base_url(addr)) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
