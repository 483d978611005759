//! The actix-web demo server: `docs/demo-servers.md` with tokengate's actix
//! middleware and extractors. Same configuration, demo issuer and answers
//! as the axum demo (`examples/axum/axum_server.rs`), from the examples library.
//!
//! ```sh
//! cargo run --release --example actix_server            # demo mode: prints curl lines
//! ```

use std::process::ExitCode;

use tokengate_demo_actix::server;
use tokengate_examples::server::{SHUTDOWN_GRACE, Started, announce, start_up};

#[actix_web::main]
async fn main() -> ExitCode {
    let Started { prepared, listener, bound } = match start_up().await {
        Ok(started) => started,
        Err(code) => return code,
    };
    // actix-web handles SIGINT/SIGTERM itself: it stops accepting, lets
    // in-flight requests finish within the grace period, then `run` returns.
    let server = match server(&prepared, listener, SHUTDOWN_GRACE) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("server error: {error}");
            return ExitCode::FAILURE;
        }
    };
    announce(bound, prepared.demo.as_ref());
    match server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}
