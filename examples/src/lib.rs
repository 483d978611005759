//! Code shared by tokengate's demo servers (`examples/axum`, the
//! `tokengate-demo-axum` package, and `examples/actix`,
//! `tokengate-demo-actix`), so that every framework's demo implements
//! `docs/demo-servers.md` from the same pieces instead of copies. It uses
//! the tokengate crates directly, not the facade, so that each demo builds
//! only its own framework's adapter:
//!
//! - [`config`]: the `TOKENGATE_*` environment variables, parsed and checked;
//! - [`demo`]: the built-in demo issuer (key pair, JWK Set and discovery
//!   document served over real HTTP on loopback, ready-made tokens);
//! - [`api`]: the contract's route table, response shapes (`/me`, the RFC
//!   9728 metadata document) and the validator built from a configuration;
//! - [`server`]: start-up and shutdown plumbing (logging, the `listening on`
//!   line, the demo's `curl` lines, SIGINT/SIGTERM).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod config;
pub mod demo;
pub mod server;
