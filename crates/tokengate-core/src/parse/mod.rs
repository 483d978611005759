//! Where a token is parsed: the compact JWS (size cap, canonical base64url,
//! the header members tokengate acts on), strict JSON (no duplicate member
//! at any depth, bounded nesting), and the claims read from it.

pub(crate) mod claims;
pub(crate) mod json;
pub(crate) mod jws;
