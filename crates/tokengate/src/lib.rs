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

pub use tokengate_core::*;

/// Issuer keys over HTTPS: JWK Set fetching, discovery, caching and refresh.
#[cfg(feature = "jwks")]
pub mod jwks {
    pub use tokengate_jwks::*;
}

/// actix-web middleware and extractors.
#[cfg(feature = "actix")]
pub mod actix {
    pub use tokengate_actix::*;
}

/// The Tower layer (and, with feature `axum`, the axum extractors).
#[cfg(feature = "tower")]
pub mod tower {
    pub use tokengate_tower::*;
}

/// Single-use records and revocations shared by a fleet through Redis.
#[cfg(feature = "redis")]
pub mod redis {
    pub use tokengate_redis::*;
}
