//! # tokengate-testkit
//!
//! Real keys and real signed tokens for tests and demos: generate a key pair
//! for any algorithm tokengate verifies, publish its public JWK (or PEM, or
//! DER), and mint JWTs with any header and claims, including deliberately
//! broken ones; make DPoP proofs; and, with the default feature
//! `mock-issuer`, run a [`MockIssuer`] (discovery and a JWK Set on
//! loopback, rotation, failures) for your own integration tests. Signing
//! uses aws-lc-rs directly.
//!
//! ```
//! use tokengate_core::Algorithm;
//! use tokengate_testkit::{SigningKey, now};
//! use serde_json::json;
//!
//! let key = SigningKey::generate(Algorithm::ES256).with_kid("k1");
//! let token = key.token(&json!({ "iss": "https://issuer.test", "exp": now() + 60 }));
//! assert_eq!(token.split('.').count(), 3);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "mock-issuer")]
mod mock;
#[cfg(feature = "mock-issuer")]
pub use mock::{DEFAULT_AUDIENCE, DISCOVERY_PATH, Failure, JWKS_PATH, MockIssuer, TOKEN_LIFETIME_SECS};

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use aws_lc_rs::{hmac, rsa};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokengate_core::{Algorithm, AlgorithmFamily, Key};

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// Unpadded base64url, as JWS segments use it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

enum Secret {
    Hmac(Vec<u8>),
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key able to sign tokens with one algorithm.
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<String>,
    secret: Secret,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key for `alg`: RSA 2048 bits, EC on the algorithm's curve,
    /// Ed25519, or a random HMAC secret as long as the hash.
    pub fn generate(alg: Algorithm) -> SigningKey {
        let secret = match alg.family() {
            AlgorithmFamily::Hmac => {
                let len = match alg {
                    Algorithm::HS384 => 48,
                    Algorithm::HS512 => 64,
                    _ => 32,
                };
                let mut bytes = vec![0; len];
                aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
                Secret::Hmac(bytes)
            }
            AlgorithmFamily::Rsa => {
                Secret::Rsa(rsa::KeyPair::generate(rsa::KeySize::Rsa2048).expect("RSA key"))
            }
            AlgorithmFamily::Ec => Secret::Ec(EcdsaKeyPair::generate(ec_signing(alg)).expect("EC key")),
            AlgorithmFamily::Ed => Secret::Ed(Ed25519KeyPair::generate().expect("Ed25519 key")),
        };
        SigningKey { alg, kid: None, secret }
    }

    /// An HMAC key with the given secret.
    pub fn hmac(alg: Algorithm, secret: impl Into<Vec<u8>>) -> SigningKey {
        assert!(alg.is_symmetric(), "{alg} is not an HMAC algorithm");
        SigningKey { alg, kid: None, secret: Secret::Hmac(secret.into()) }
    }

    /// The same key, signing with another algorithm of its family
    /// (e.g. an RSA key used for PS256 instead of RS256).
    pub fn with_alg(mut self, alg: Algorithm) -> SigningKey {
        self.alg = alg;
        self
    }

    /// Names the key.
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = Some(kid.into());
        self
    }

    /// The key's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm it signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The HMAC secret, for HMAC keys.
    pub fn secret(&self) -> Option<&[u8]> {
        match &self.secret {
            Secret::Hmac(secret) => Some(secret),
            _ => None,
        }
    }

    /// Signs `message` with the key's algorithm.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.secret {
            Secret::Hmac(secret) => {
                let algorithm = match self.alg {
                    Algorithm::HS384 => hmac::HMAC_SHA384,
                    Algorithm::HS512 => hmac::HMAC_SHA512,
                    _ => hmac::HMAC_SHA256,
                };
                hmac::sign(&hmac::Key::new(algorithm, secret), message).as_ref().to_vec()
            }
            Secret::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut sig).expect("RSA signature");
                sig
            }
            Secret::Ec(pair) => pair.sign(&rng, message).expect("ECDSA signature").as_ref().to_vec(),
            Secret::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// The JOSE header this key puts on tokens: `alg`, `typ: JWT` and `kid` when named.
    pub fn header(&self) -> Value {
        let mut header = json!({ "alg": self.alg.name(), "typ": "JWT" });
        if let Some(kid) = &self.kid {
            header["kid"] = json!(kid);
        }
        header
    }

    /// A signed token with [`SigningKey::header`] and `claims`.
    pub fn token(&self, claims: &Value) -> String {
        self.token_with_header(&self.header(), claims)
    }

    /// A signed token with the given header (its `alg` is not checked).
    pub fn token_with_header(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// A signed token from exact JSON texts (for duplicate members, odd
    /// whitespace, nesting…).
    pub fn sign_raw(&self, header_json: &str, claims_json: &str) -> String {
        let signing_input = format!("{}.{}", b64(header_json), b64(claims_json));
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(signature))
    }

    /// The public key as a JWK with `kid` (when named), `alg` and `use: sig`.
    /// `None` for HMAC keys, which are never published.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = match &self.secret {
            Secret::Hmac(_) => return None,
            Secret::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Secret::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                json!({ "kty": "EC", "crv": crv, "x": b64(&point[1..=half]), "y": b64(&point[1 + half..]) })
            }
            Secret::Ed(pair) => {
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) })
            }
        };
        jwk["alg"] = json!(self.alg.name());
        jwk["use"] = json!("sig");
        if let Some(kid) = &self.kid {
            jwk["kid"] = json!(kid);
        }
        Some(jwk)
    }

    /// The public key as DER SubjectPublicKeyInfo (`None` for HMAC keys).
    pub fn public_der(&self) -> Option<Vec<u8>> {
        Some(match &self.secret {
            Secret::Hmac(_) => return None,
            Secret::Rsa(pair) => pair.public_key().as_der().expect("DER").as_ref().to_vec(),
            Secret::Ec(pair) => pair.public_key().as_der().expect("DER").as_ref().to_vec(),
            Secret::Ed(pair) => pair.public_key().as_der().expect("DER").as_ref().to_vec(),
        })
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`); `None` for HMAC keys.
    pub fn public_pem(&self) -> Option<String> {
        Some(pem("PUBLIC KEY", &self.public_der()?))
    }

    /// The private key as PKCS#8 v1 DER (`None` for HMAC keys), for handing
    /// a key to another JOSE implementation in interoperability tests.
    /// Test keys only: a real issuer's private key never leaves it.
    pub fn private_pkcs8_der(&self) -> Option<Vec<u8>> {
        Some(match &self.secret {
            Secret::Hmac(_) => return None,
            Secret::Rsa(pair) => {
                AsDer::<Pkcs8V1Der<'static>>::as_der(pair).expect("PKCS#8").as_ref().to_vec()
            }
            Secret::Ec(pair) => pair.to_pkcs8v1().expect("PKCS#8").as_ref().to_vec(),
            Secret::Ed(pair) => pair.to_pkcs8v1().expect("PKCS#8").as_ref().to_vec(),
        })
    }

    /// The private key as PEM (`-----BEGIN PRIVATE KEY-----`, PKCS#8); `None`
    /// for HMAC keys (see [`SigningKey::secret`]). Test keys only, as
    /// [`SigningKey::private_pkcs8_der`].
    pub fn private_pkcs8_pem(&self) -> Option<String> {
        Some(pem("PRIVATE KEY", &self.private_pkcs8_der()?))
    }

    /// The matching tokengate verification key (from the JWK, or the secret).
    pub fn verification_key(&self) -> Key {
        let key = match self.public_jwk() {
            Some(jwk) => Key::from_jwk_json(jwk.to_string()).expect("own JWK is valid"),
            None => Key::hmac_secret(self.secret().expect("HMAC secret")).expect("HMAC secret long enough"),
        };
        match &self.kid {
            Some(kid) => key.with_kid(kid.as_str()),
            None => key,
        }
    }
}

impl SigningKey {
    /// The RFC 7638 JWK SHA-256 thumbprint of the public key: the value of a
    /// DPoP-bound token's `cnf.jkt` (RFC 9449 §6.1). `None` for HMAC keys.
    pub fn jwk_thumbprint(&self) -> Option<String> {
        let jwk = self.public_jwk()?;
        let required: &[&str] = match jwk["kty"].as_str()? {
            "EC" => &["crv", "kty", "x", "y"],
            "RSA" => &["e", "kty", "n"],
            _ => &["crv", "kty", "x"],
        };
        let members: Vec<String> = required
            .iter()
            .map(|name| format!("\"{name}\":\"{}\"", jwk[*name].as_str().unwrap_or("")))
            .collect();
        let canonical = format!("{{{}}}", members.join(","));
        Some(b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes())))
    }

    /// A DPoP proof (RFC 9449 §4) for a request with `method` to `url`,
    /// signed with this key; see [`DpopProof`] for the options.
    pub fn dpop_proof<'k>(&'k self, method: &str, url: &str) -> DpopProof<'k> {
        DpopProof {
            key: self,
            header: json!({}),
            claims: json!({ "jti": random_id(), "htm": method, "htu": url, "iat": now() }),
        }
    }
}

/// A DPoP proof being made: by default `typ` `dpop+jwt`, the key's `alg`,
/// its public `jwk`, and the claims `jti` (random), `htm`, `htu`, `iat`
/// (now). Add `ath` with [`DpopProof::access_token`]; change or remove any
/// member (`null` removes) to make broken proofs.
///
/// ```
/// use tokengate_core::Algorithm;
/// use tokengate_testkit::SigningKey;
///
/// let client = SigningKey::generate(Algorithm::ES256);
/// let proof = client.dpop_proof("GET", "https://api.example.com/me").access_token("the-token").sign();
/// assert_eq!(proof.split('.').count(), 3);
/// ```
#[derive(Debug)]
#[must_use = "a proof is made by `sign`"]
pub struct DpopProof<'k> {
    key: &'k SigningKey,
    header: Value,
    claims: Value,
}

impl DpopProof<'_> {
    /// Binds the proof to `token`: `ath` = base64url(SHA-256(token)).
    pub fn access_token(self, token: &str) -> Self {
        let ath = b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()));
        self.claims(json!({ "ath": ath }))
    }

    /// The server's nonce (RFC 9449 §8).
    pub fn nonce(self, nonce: &str) -> Self {
        self.claims(json!({ "nonce": nonce }))
    }

    /// `iat`.
    pub fn issued_at(self, iat: u64) -> Self {
        self.claims(json!({ "iat": iat }))
    }

    /// `jti`.
    pub fn jti(self, jti: &str) -> Self {
        self.claims(json!({ "jti": jti }))
    }

    /// Sets (or, with `null`, removes) claims.
    pub fn claims(mut self, changes: Value) -> Self {
        merge(&mut self.claims, changes);
        self
    }

    /// Sets (or, with `null`, removes) header members, the defaults
    /// (`typ`, `alg`, `jwk`) included.
    pub fn header(mut self, changes: Value) -> Self {
        // Kept as changes, nulls included, and applied over the defaults in
        // `sign`: a null here must still remove a default there.
        if let (Some(pending), Value::Object(changes)) = (self.header.as_object_mut(), changes) {
            pending.extend(changes);
        }
        self
    }

    /// The signed proof.
    pub fn sign(self) -> String {
        let mut jwk = self.key.public_jwk().expect("a DPoP key is asymmetric");
        for member in ["kid", "alg", "use"] {
            jwk.as_object_mut().expect("a JWK object").remove(member);
        }
        let mut header = json!({ "typ": "dpop+jwt", "alg": self.key.alg.name(), "jwk": jwk });
        merge(&mut header, self.header);
        self.key.token_with_header(&header, &self.claims)
    }
}

/// `base` with the members of `changes` set (`null` removes one).
fn merge(base: &mut Value, changes: Value) {
    let (Some(base), Value::Object(changes)) = (base.as_object_mut(), changes) else { return };
    for (name, value) in changes {
        if value.is_null() {
            base.remove(&name);
        } else {
            base.insert(name, value);
        }
    }
}

/// 128 random bits, base64url.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    b64(bytes)
}

/// A JWK Set document publishing the public keys of `keys`.
pub fn jwk_set<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    json!({ "keys": keys.into_iter().filter_map(SigningKey::public_jwk).collect::<Vec<_>>() })
}

/// PEM armour: base64 in 64-character lines between `BEGIN`/`END` `label` lines.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

fn ec_signing(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}
