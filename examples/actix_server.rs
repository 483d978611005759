//! The actix-web demo server: `shared/CONTRACT.md` with tokengate's actix
//! middleware and extractors. Same configuration, demo issuer and answers
//! as the axum demo (`examples/axum_server.rs`), from the examples library.
//!
//! ```sh
//! cargo run --release --example actix_server            # demo mode: prints curl lines
//! ```

use std::process::ExitCode;

use tokengate_examples::actix_app::server;
use tokengate_examples::config::Config;
use tokengate_examples::server::{SHUTDOWN_GRACE, announce, init_logging, prepare};

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let addr = config.addr;
    let prepared = match prepare(config).await {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("configuration error: cannot listen on {addr}: {error}");
            return ExitCode::from(2);
        }
    };
    let bound = match listener.local_addr() {
        Ok(bound) => bound,
        Err(error) => {
            eprintln!("cannot read the bound address: {error}");
            return ExitCode::FAILURE;
        }
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
