//! Signature verification on aws-lc-rs with keys parsed once, at load time.
//!
//! tokengate never asks `jsonwebtoken` for its process-wide crypto provider:
//! whatever backends a dependency graph enables there, verification here
//! runs on aws-lc-rs and cannot hit that crate's "no provider" panic.

use aws_lc_rs::{hmac, signature};

use crate::algorithm::Algorithm;

/// A key ready to verify one algorithm's signatures.
pub(crate) enum Verifier {
    /// Boxed: an HMAC key holds both hash contexts and dwarfs a public key handle.
    Hmac(Box<hmac::Key>),
    Public(signature::ParsedPublicKey),
}

impl Verifier {
    /// Whether `signature` is valid for `message`. HMAC comparison is constant-time.
    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            Verifier::Hmac(key) => hmac::verify(key, message, sig).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, sig).is_ok(),
        }
    }

    /// Parses public key bytes (DER or raw, as aws-lc-rs accepts them) for `alg`.
    pub(crate) fn public(alg: Algorithm, bytes: &[u8]) -> Option<Verifier> {
        let algorithm: &'static dyn signature::VerificationAlgorithm = match alg {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            // JWS carries ECDSA signatures as fixed-width r || s (RFC 7518 §3.4).
            Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &signature::ED25519,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
        };
        signature::ParsedPublicKey::new(algorithm, bytes).ok().map(Verifier::Public)
    }

    /// An HMAC key for `alg`.
    pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Option<Verifier> {
        let algorithm = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => return None,
        };
        Some(Verifier::Hmac(Box::new(hmac::Key::new(algorithm, secret))))
    }
}

/// The shortest HMAC secret RFC 7518 §3.2 allows for `alg`: the hash size.
pub(crate) const fn min_hmac_secret_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}
