//! The axum demo server: `docs/demo-servers.md` with tokengate's Tower layer
//! and axum extractors.
//!
//! ```sh
//! cargo run --release --example axum_server            # demo mode: prints curl lines
//! TOKENGATE_ISSUER=https://issuer.example/ TOKENGATE_AUDIENCE=my-api \
//!     cargo run --release --example axum_server        # your own identity provider
//! ```
//!
//! Configuration, the demo issuer and the response shapes live in the
//! examples library (`examples/src`), shared with the other demo servers.

use std::process::ExitCode;

use tokengate_demo_axum::{router, serve};
use tokengate_examples::server::{SHUTDOWN_GRACE, Started, announce, shutdown_signal, start_up};

#[tokio::main]
async fn main() -> ExitCode {
    let Started { prepared, listener, bound } = match start_up().await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot use the listener: {error}");
            return ExitCode::FAILURE;
        }
    };

    let app = router(&prepared);
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        let _ = signalled_tx.send(());
    };
    let server = serve(listener, app, shutdown);
    announce(bound, prepared.demo.as_ref());

    tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("server error: {error}");
                ExitCode::FAILURE
            }
        },
        () = async {
            if signalled_rx.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}; exiting anyway");
            ExitCode::SUCCESS
        }
    }
}
