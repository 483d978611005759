//! The fixed-size names stores key their records by.

use std::fmt;

/// A fixed-size, collision-resistant name for a record: the first 128 bits
/// of SHA-256 over its kind, issuer and value (each length-prefixed).
///
/// Stores key their records by it, so a record's size does not depend on
/// the token and no token-chosen text ever reaches a store key. A collision
/// (2^-64 even for an adversary, who must get each `jti` signed) could only
/// refuse a token, never accept one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey([u8; 16]);

/// What a [`RecordKey`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// A used single-use token (`iss`, `jti`).
    Use,
    /// A revoked token (`iss`, `jti`).
    RevokedToken,
    /// A subject's revocation cut-off (`iss`, `sub`).
    RevokedSubject,
    /// An issuer-wide revocation cut-off (`iss`).
    RevokedIssuer,
    /// A used DPoP proof (the key's thumbprint, `jti`).
    DpopProof,
    /// The clients that presented a token (`iss`, the whole token), for
    /// [`TokenSharing`](crate::TokenSharing).
    Sighting,
}

impl RecordKey {
    /// The key of `value` of `kind` from `issuer`.
    pub fn new(kind: RecordKind, issuer: &str, value: &str) -> Self {
        let tag: u8 = match kind {
            RecordKind::Use => b'u',
            RecordKind::RevokedToken => b't',
            RecordKind::RevokedSubject => b's',
            RecordKind::RevokedIssuer => b'i',
            RecordKind::DpopProof => b'p',
            RecordKind::Sighting => b'c',
        };
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(&[tag]);
        context.update(&(issuer.len() as u64).to_be_bytes());
        context.update(issuer.as_bytes());
        context.update(&(value.len() as u64).to_be_bytes());
        context.update(value.as_bytes());
        let digest = context.finish();
        let mut key = [0; 16];
        key.copy_from_slice(&digest.as_ref()[..16]);
        RecordKey(key)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Lower-case hex, 32 characters (for text keys such as Redis's).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

/// Lower-case hex of `bytes`, in one allocation.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordKey({})", self.to_hex())
    }
}
