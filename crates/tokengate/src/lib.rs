//! # tokengate
//!
//! Decides, on every request, whether a bearer token gets in: OAuth 2.0 /
//! OpenID Connect JWT access tokens checked by the RFCs (signature,
//! algorithm allow-list, `exp`/`nbf`/`iat` with leeway, issuer, audience,
//! `typ`, scopes), secure by default, and as fast as the signature check
//! allows.
//!
//! This crate is the one to depend on; it re-exports the parts:
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `jwks` | yes | [`jwks`]: issuer keys fetched and cached from a JWK Set URL or by discovery |
//! | `tower` | no | [`tower`]: a Tower layer over `http` requests |
//! | `axum` | no | axum extractors on top of the layer |
//! | `actix` | no | [`actix`]: actix-web middleware and extractors |
//! | `redis` | no | [`redis`]: single-use records and revocations shared by a fleet through Redis |
//! | `introspect` | no | [`introspect`]: opaque tokens, asked about at the authorization server (RFC 7662), cached |
//! | `metrics` | no | validation counters and latency through the [`metrics`](https://docs.rs/metrics) facade |
//!
//! ```
//! use tokengate::{Algorithm, Issuer, Key, KeySet, Validator};
//! # fn demo(public_key_pem: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Validator::builder()
//!     .issuer(
//!         Issuer::new("https://auth.example.com/")
//!             .audience("https://api.example.com")
//!             .algorithms([Algorithm::RS256])
//!             .keys(KeySet::new([Key::from_rsa_pem(public_key_pem)?.with_kid("2024-01")])),
//!     )
//!     .build()?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with every feature and `--cfg docsrs`: each feature-gated
// item then says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use tokengate_core::*;
/// `Issuer::discover(iss)`: an issuer and its keys by discovery, the URL written once.
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub use tokengate_jwks::IssuerDiscovery;

/// Issuer keys over HTTPS: JWK Set fetching, discovery, caching and refresh.
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub mod jwks {
    pub use tokengate_jwks::*;
}

/// actix-web middleware and extractors.
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix {
    pub use tokengate_actix::*;
}

/// The Tower layer (and, with feature `axum`, the axum extractors).
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower {
    pub use tokengate_tower::*;
}

/// Single-use records and revocations shared by a fleet through Redis.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis {
    pub use tokengate_redis::*;
}

/// Opaque tokens: RFC 7662 token introspection with client authentication,
/// discovery, a bounded digest-keyed cache and single flight.
#[cfg(feature = "introspect")]
#[cfg_attr(docsrs, doc(cfg(feature = "introspect")))]
pub mod introspect {
    pub use tokengate_introspect::*;
}

/// The book (`README.md` and `docs/`), compiled: every Rust block in it is a
/// doc test of this crate (`cargo test -p tokengate --all-features --doc`);
/// those that need a server (Redis) are compiled, not run.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../../docs/README.md")]
    pub struct Contents;
    #[doc = include_str!("../../../docs/quick-start.md")]
    pub struct QuickStart;
    #[doc = include_str!("../../../docs/configuration.md")]
    pub struct Configuration;
    #[doc = include_str!("../../../docs/jwks.md")]
    pub struct Keys;
    #[doc = include_str!("../../../docs/single-use.md")]
    pub struct SingleUse;
    #[doc = include_str!("../../../docs/reuse.md")]
    pub struct Reuse;
    #[doc = include_str!("../../../docs/dpop.md")]
    pub struct Dpop;
    #[doc = include_str!("../../../docs/introspection.md")]
    pub struct Introspection;
    #[doc = include_str!("../../../docs/multi-tenant.md")]
    pub struct MultiTenant;
    #[doc = include_str!("../../../docs/resource-metadata.md")]
    pub struct ResourceMetadataPage;
    #[doc = include_str!("../../../docs/operations.md")]
    pub struct Operations;
    #[doc = include_str!("../../../docs/security.md")]
    pub struct Security;
    #[doc = include_str!("../../../docs/rfc-conformance.md")]
    pub struct RfcConformance;
    #[doc = include_str!("../../../docs/benchmarks.md")]
    pub struct Benchmarks;
    #[doc = include_str!("../../../docs/migrating.md")]
    pub struct Migrating;
    #[doc = include_str!("../../../docs/axum.md")]
    pub struct Axum;
    #[doc = include_str!("../../../docs/actix.md")]
    pub struct Actix;
    #[doc = include_str!("../../../docs/providers.md")]
    pub struct Providers;
    #[doc = include_str!("../../../docs/demo-servers.md")]
    pub struct DemoServers;
    #[doc = include_str!("../../../docs/redis.md")]
    pub struct Redis;
}
