//! Code shared by tokengate's demo servers (`examples/axum_server.rs`, and
//! the actix-web one), so that every framework's demo implements
//! `docs/demo-servers.md` from the same pieces instead of copies:
//!
//! - [`config`]: the `TOKENGATE_*` environment variables, parsed and checked;
//! - [`demo`]: the built-in demo issuer (key pair, JWK Set and discovery
//!   document served over real HTTP on loopback, ready-made tokens);
//! - [`api`]: the contract's route table, response shapes (`/me`, the RFC
//!   9728 metadata document) and the validator built from a configuration;
//! - [`server`]: start-up and shutdown plumbing (logging, the `listening on`
//!   line, the demo's `curl` lines, SIGINT/SIGTERM);
//! - [`axum_app`]: the axum router of the demo;
//! - [`actix_app`]: the actix-web app of the demo.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actix_app;
pub mod api;
pub mod axum_app;
pub mod config;
pub mod demo;
pub mod server;
