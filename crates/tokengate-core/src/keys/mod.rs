//! Verification keys: parsed once when loaded, looked up per token by
//! (`kid`, `alg`), never by anything else the token says.

mod jwk;
mod source;
mod verifier;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use self::jwk::SkippedKey;
pub use self::source::{KeySource, KeysFuture, KeysUnavailable, RefreshReason, StaticKeys};
pub(crate) use self::verifier::Verifier;
use self::verifier::min_hmac_secret_len;
use crate::algorithm::{Algorithm, AlgorithmFamily, AlgorithmSet};
use crate::error::Error;

/// RSA keys shorter than this are refused (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// Why a key could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text could not be read as a public key of the expected kind.
    #[error("the PEM text is not a {0} public key")]
    InvalidPem(&'static str),
    /// The DER bytes could not be parsed as a public key of the expected kind.
    #[error("the DER bytes are not a {0} public key")]
    InvalidDer(&'static str),
    /// The JWK is malformed or of a kind tokengate does not support.
    #[error("the JWK cannot be used: {0}")]
    InvalidJwk(String),
    /// An RSA modulus shorter than 2048 bits.
    #[error("the RSA key has {bits} bits; at least 2048 are required")]
    RsaKeyTooShort {
        /// The modulus length.
        bits: usize,
    },
    /// An HMAC secret shorter than the hash output (32 bytes for HS256).
    #[error("the HMAC secret has {len} bytes; HS256 needs at least 32 (HS384: 48, HS512: 64)")]
    HmacSecretTooShort {
        /// The secret's length.
        len: usize,
    },
    /// The key cannot be used with the algorithm it was restricted to.
    #[error("the key cannot be used with {0}")]
    AlgorithmMismatch(Algorithm),
    /// A JWK carries private key material (`d`, `p`, `q`, `dp`, `dq`, `qi`,
    /// `oth` or `k`): the key was published by mistake, anyone who read it
    /// can sign tokens, and it is refused (in a JWK Set, skipped with a
    /// warning). Tell the issuer: its key must be rotated.
    #[error(
        "the JWK carries the private member `{member}`: a private key was published; it is refused and must be rotated"
    )]
    PrivateKeyPublished {
        /// The first private member found.
        member: &'static str,
    },
    /// The document is not a JWK Set (`{"keys": [...]}`).
    #[error("the document is not a JWK Set: {0}")]
    NotAJwkSet(String),
    /// A JWK Set in which no key is usable.
    #[error("the JWK Set has no usable signature key ({skipped} skipped)")]
    NoUsableKeys {
        /// How many keys were skipped.
        skipped: usize,
    },
}

/// One verification key: a public key (RSA, EC P-256/P-384, Ed25519) or an
/// HMAC secret, parsed for every algorithm it may verify.
pub struct Key {
    kid: Option<Arc<str>>,
    family: AlgorithmFamily,
    verifiers: Vec<(Algorithm, Verifier)>,
}

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

impl Key {
    /// An RSA public key from PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    pub fn from_rsa_pem(pem: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let key =
            jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_ref()).map_err(|_| KeyError::InvalidPem("RSA"))?;
        match key.kind() {
            jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => Key::from_rsa_der(der),
            jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, e } => Key::from_rsa_components(n, e),
        }
    }

    /// An RSA public key from DER (SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`).
    pub fn from_rsa_der(der: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let der = der.as_ref();
        let public = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| KeyError::InvalidDer("RSA"))?;
        check_rsa_bits(public.modulus().big_endian_without_leading_zero())?;
        Key::parsed(AlgorithmFamily::Rsa, &RSA_ALGS, der).ok_or(KeyError::InvalidDer("RSA"))
    }

    /// An RSA public key from its big-endian modulus and exponent.
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<Key, KeyError> {
        check_rsa_bits(n)?;
        check_rsa_exponent(e)?;
        let components = aws_lc_rs::rsa::PublicKeyComponents { n, e };
        let verifiers = RSA_ALGS
            .iter()
            .map(|&alg| {
                let params = match alg {
                    Algorithm::RS256 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::PS256 => &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::PS384 => &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA384,
                    _ => &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA512,
                };
                components.to_parsed_public_key(params).map(|key| (alg, Verifier::Public(key))).map_err(
                    |_| KeyError::InvalidJwk("the RSA modulus and exponent do not form a valid key".into()),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Key { kid: None, family: AlgorithmFamily::Rsa, verifiers })
    }

    /// An EC public key (P-256 or P-384) from PEM (`PUBLIC KEY`).
    pub fn from_ec_pem(pem: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let key = jsonwebtoken::DecodingKey::from_ec_pem(pem.as_ref())
            .map_err(|_| KeyError::InvalidPem("EC P-256/P-384"))?;
        match key.kind() {
            jsonwebtoken::DecodingKeyKind::SecretOrDer(point) => {
                Key::from_ec_der(point).map_err(|_| KeyError::InvalidPem("EC P-256/P-384"))
            }
            jsonwebtoken::DecodingKeyKind::RsaModulusExponent { .. } => {
                Err(KeyError::InvalidPem("EC P-256/P-384"))
            }
        }
    }

    /// An EC public key (P-256 or P-384) from DER (SubjectPublicKeyInfo) or
    /// an uncompressed SEC1 point; the curve is recognised from the key.
    pub fn from_ec_der(der: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let der = der.as_ref();
        Key::parsed(AlgorithmFamily::Ec, &[Algorithm::ES256], der)
            .or_else(|| Key::parsed(AlgorithmFamily::Ec, &[Algorithm::ES384], der))
            .ok_or(KeyError::InvalidDer("EC P-256/P-384"))
    }

    /// An Ed25519 public key from PEM (`PUBLIC KEY`).
    pub fn from_ed_pem(pem: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let key = jsonwebtoken::DecodingKey::from_ed_pem(pem.as_ref())
            .map_err(|_| KeyError::InvalidPem("Ed25519"))?;
        match key.kind() {
            jsonwebtoken::DecodingKeyKind::SecretOrDer(raw) => Key::from_ed_der(raw),
            jsonwebtoken::DecodingKeyKind::RsaModulusExponent { .. } => Err(KeyError::InvalidPem("Ed25519")),
        }
    }

    /// An Ed25519 public key from DER (SubjectPublicKeyInfo) or its 32 raw bytes.
    pub fn from_ed_der(der: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        Key::parsed(AlgorithmFamily::Ed, &[Algorithm::EdDSA], der.as_ref())
            .ok_or(KeyError::InvalidDer("Ed25519"))
    }

    /// An HMAC secret, usable for every HS algorithm whose minimum length
    /// (the hash size: 32, 48, 64 bytes) it meets. Shorter than 32 bytes is refused.
    pub fn hmac_secret(secret: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let secret = secret.as_ref();
        if secret.len() < min_hmac_secret_len(Algorithm::HS256) {
            return Err(KeyError::HmacSecretTooShort { len: secret.len() });
        }
        let verifiers = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
            .into_iter()
            .filter(|&alg| secret.len() >= min_hmac_secret_len(alg))
            .filter_map(|alg| Some((alg, Verifier::hmac(alg, secret)?)))
            .collect();
        Ok(Key { kid: None, family: AlgorithmFamily::Hmac, verifiers })
    }

    /// A public key from one JWK (RFC 7517). A JWK with private members is
    /// refused ([`KeyError::PrivateKeyPublished`]); `use` must be absent or
    /// `sig`, `key_ops` must allow `verify`, and an `alg` member restricts the
    /// key to that algorithm.
    pub fn from_jwk_json(json: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        jwk::key_from_jwk_json(json.as_ref())
    }

    /// Names the key (the JWS `kid` it answers to).
    pub fn with_kid(mut self, kid: impl Into<Arc<str>>) -> Key {
        self.kid = Some(kid.into());
        self
    }

    /// Restricts the key to one algorithm.
    pub fn restricted_to(mut self, alg: Algorithm) -> Result<Key, KeyError> {
        self.verifiers.retain(|(a, _)| *a == alg);
        if self.verifiers.is_empty() { Err(KeyError::AlgorithmMismatch(alg)) } else { Ok(self) }
    }

    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The kind of key.
    pub fn family(&self) -> AlgorithmFamily {
        self.family
    }

    /// The algorithms this key can verify.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.verifiers.iter().map(|(alg, _)| *alg).collect()
    }

    pub(crate) fn verifier(&self, alg: Algorithm) -> Option<&Verifier> {
        self.verifiers.iter().find(|(a, _)| *a == alg).map(|(_, v)| v)
    }

    fn parsed(family: AlgorithmFamily, algs: &[Algorithm], bytes: &[u8]) -> Option<Key> {
        let verifiers =
            algs.iter().map(|&alg| Some((alg, Verifier::public(alg, bytes)?))).collect::<Option<Vec<_>>>()?;
        Some(Key { kid: None, family, verifiers })
    }
}

fn check_rsa_bits(modulus: &[u8]) -> Result<(), KeyError> {
    let modulus = &modulus[modulus.iter().take_while(|b| **b == 0).count()..];
    let bits = modulus.first().map_or(0, |top| (modulus.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
    if bits < MIN_RSA_BITS { Err(KeyError::RsaKeyTooShort { bits }) } else { Ok(()) }
}

/// An even exponent or one below 3 is no RSA key (e = 1 makes every
/// "signature" trivially forgeable); refuse it when loading, not per token.
fn check_rsa_exponent(exponent: &[u8]) -> Result<(), KeyError> {
    let exponent = &exponent[exponent.iter().take_while(|b| **b == 0).count()..];
    let odd = exponent.last().is_some_and(|low| low & 1 == 1);
    let at_least_3 = exponent.len() > 1 || exponent.first().is_some_and(|e| *e >= 3);
    if odd && at_least_3 {
        Ok(())
    } else {
        Err(KeyError::InvalidJwk("the RSA public exponent must be odd and at least 3".into()))
    }
}

impl fmt::Debug for Key {
    /// Key material is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("algorithms", &self.algorithms())
            .finish_non_exhaustive()
    }
}

/// The keys of one issuer, indexed so that finding a token's key costs the
/// same whatever the number of keys (and an unknown `kid` is refused in
/// constant time).
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Key>,
    /// `kid` → the keys with it, in set order.
    by_kid: HashMap<Arc<str>, Vec<usize>>,
    /// Algorithm → the keys able to verify it, in set order (for tokens
    /// without `kid`: one is used, several are ambiguous).
    by_alg: HashMap<Algorithm, Vec<usize>>,
}

impl KeySet {
    /// A set of the given keys. Order matters only when two keys share a
    /// `kid` and both fit a token's `alg`: the first one is used.
    pub fn new(keys: impl IntoIterator<Item = Key>) -> KeySet {
        let keys: Vec<Key> = keys.into_iter().collect();
        let mut by_kid: HashMap<Arc<str>, Vec<usize>> = HashMap::new();
        let mut by_alg: HashMap<Algorithm, Vec<usize>> = HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            if let Some(kid) = &key.kid {
                by_kid.entry(kid.clone()).or_default().push(index);
            }
            for (alg, _) in &key.verifiers {
                by_alg.entry(*alg).or_default().push(index);
            }
        }
        KeySet { keys, by_kid, by_alg }
    }

    /// Parses a JWK Set document, keeping the usable signature keys and
    /// skipping (with a `tracing` warning) every key that cannot be used:
    /// unknown `kty` or curve, `use` other than `sig`, encryption `alg`s,
    /// RSA below 2048 bits, symmetric (`oct`) keys, malformed members.
    /// Fails only when the document is not a JWK Set or no key is usable.
    pub fn from_jwk_set_json(json: impl AsRef<[u8]>) -> Result<KeySet, KeyError> {
        let (set, skipped) = KeySet::parse_jwk_set(json.as_ref())?;
        for skip in &skipped {
            tracing::warn!(kid = ?skip.kid, reason = %skip.reason, "skipping unusable key in JWK Set");
        }
        if set.is_empty() {
            return Err(KeyError::NoUsableKeys { skipped: skipped.len() });
        }
        Ok(set)
    }

    /// Like [`KeySet::from_jwk_set_json`], but hands the skipped keys back
    /// instead of logging them, and accepts a set with no usable key.
    pub fn parse_jwk_set(json: &[u8]) -> Result<(KeySet, Vec<SkippedKey>), KeyError> {
        jwk::parse_jwk_set(json)
    }

    /// The keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid`s in the set (keys without one are left out).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(Key::kid)
    }

    /// Every algorithm some key of the set can verify.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.keys.iter().flat_map(|key| key.algorithms().iter()).collect()
    }

    /// Whether the set holds an HMAC secret.
    pub fn has_secrets(&self) -> bool {
        self.keys.iter().any(|key| key.family == AlgorithmFamily::Hmac)
    }

    /// The key that verifies a token with this `alg` and `kid`.
    ///
    /// With a `kid`: the first key of that `kid` able to verify `alg`. Without
    /// one: the only key able to verify `alg`; with several, the token is
    /// ambiguous and refused rather than tried against each.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<&Verifier, Error> {
        match kid {
            Some(kid) => {
                let named = self.by_kid.get(kid).ok_or(Error::NoMatchingKey)?;
                named
                    .iter()
                    .find_map(|&index| self.keys[index].verifier(alg))
                    .ok_or(Error::KeyAlgorithmMismatch)
            }
            None => match self.by_alg.get(&alg).map(Vec::as_slice) {
                Some([only]) => self.keys[*only].verifier(alg).ok_or(Error::NoMatchingKey),
                None | Some([]) => Err(Error::NoMatchingKey),
                Some(_) => Err(Error::AmbiguousKey),
            },
        }
    }
}

impl FromIterator<Key> for KeySet {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Self {
        KeySet::new(iter)
    }
}
