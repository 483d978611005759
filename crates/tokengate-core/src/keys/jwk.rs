//! Keys from JWKs and JWK Sets (RFC 7517), with the hygiene rules: only
//! signature keys, whose `kty`/`crv`/`alg`/`use`/`key_ops` agree.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Key, KeyError, KeySet};
use crate::algorithm::{Algorithm, AlgorithmFamily};

/// Key documents come from the issuer, not the client: accept base64url with
/// or without padding there (some providers pad), unlike in tokens.
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A key of a JWK Set that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, when it had a readable one.
    pub kid: Option<String>,
    /// Why it cannot be used.
    pub reason: String,
}

pub(super) fn parse_jwk_set(json: &[u8]) -> Result<(KeySet, Vec<SkippedKey>), KeyError> {
    #[derive(Deserialize)]
    struct Document<'a> {
        #[serde(borrow)]
        keys: Vec<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct KidOnly {
        kid: Option<String>,
    }
    let document: Document<'_> =
        serde_json::from_slice(json).map_err(|e| KeyError::NotAJwkSet(e.to_string()))?;
    let mut keys = Vec::with_capacity(document.keys.len());
    let mut skipped = Vec::new();
    for raw in document.keys {
        match key_from_jwk_json(raw.get().as_bytes()) {
            Ok(key) => keys.push(key),
            Err(error) => skipped.push(SkippedKey {
                kid: serde_json::from_str::<KidOnly>(raw.get()).ok().and_then(|k| k.kid),
                reason: error.to_string(),
            }),
        }
    }
    Ok((KeySet::new(keys), skipped))
}

pub(super) fn key_from_jwk_json(json: &[u8]) -> Result<Key, KeyError> {
    refuse_private_members(json)?;
    let jwk: Jwk = serde_json::from_slice(json).map_err(|e| invalid(&e.to_string()))?;
    key_from_jwk(&jwk)
}

/// The members that hold private key material (RFC 7518 §6.2.2, §6.3.2,
/// §6.4; RFC 8037 §2). A key set is public: a key carrying one of them was
/// published by mistake, and whoever read it can sign tokens. (Checked on
/// the raw JSON: `jsonwebtoken`'s `Jwk` silently drops unknown members.)
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn refuse_private_members(json: &[u8]) -> Result<(), KeyError> {
    let members: std::collections::HashMap<std::borrow::Cow<'_, str>, serde::de::IgnoredAny> =
        serde_json::from_slice(json).map_err(|e| invalid(&e.to_string()))?;
    match PRIVATE_MEMBERS.iter().find(|name| members.contains_key(**name)) {
        Some(member) => Err(KeyError::PrivateKeyPublished { member }),
        None => Ok(()),
    }
}

fn key_from_jwk(jwk: &Jwk) -> Result<Key, KeyError> {
    let common = &jwk.common;
    match &common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err(invalid("its `use` is not `sig`")),
    }
    if let Some(ops) = &common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return Err(invalid("its `key_ops` do not include `verify`"));
    }
    let restricted_to = common.key_algorithm.map(signature_algorithm).transpose()?;

    let key = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            Key::from_rsa_components(&decode(&rsa.n, "n")?, &decode(&rsa.e, "e")?)?
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let (alg, len) = match ec.curve {
                EllipticCurve::P256 => (Algorithm::ES256, 32),
                EllipticCurve::P384 => (Algorithm::ES384, 48),
                _ => return Err(invalid("its EC curve is not P-256 or P-384")),
            };
            let (x, y) = (decode(&ec.x, "x")?, decode(&ec.y, "y")?);
            if x.len() != len || y.len() != len {
                return Err(invalid("its EC coordinates have the wrong length for the curve"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Key::parsed(AlgorithmFamily::Ec, &[alg], &point)
                .ok_or_else(|| invalid("its EC point is not on the curve"))?
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err(invalid("its OKP curve is not Ed25519"));
            }
            let x = decode(&okp.x, "x")?;
            if x.len() != 32 {
                return Err(invalid("its Ed25519 key is not 32 bytes"));
            }
            Key::parsed(AlgorithmFamily::Ed, &[Algorithm::EdDSA], &x)
                .ok_or_else(|| invalid("its Ed25519 key is invalid"))?
        }
        AlgorithmParameters::OctetKey(_) => {
            return Err(invalid(
                "symmetric (`oct`) keys are never taken from a JWK; configure the secret directly",
            ));
        }
        _ => return Err(invalid("its `kty` is not RSA, EC or OKP")),
    };
    let key = match restricted_to {
        Some(alg) => key.restricted_to(alg)?,
        None => key,
    };
    Ok(match &common.key_id {
        Some(kid) => key.with_kid(kid.as_str()),
        None => key,
    })
}

fn signature_algorithm(alg: KeyAlgorithm) -> Result<Algorithm, KeyError> {
    Ok(match alg {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return Err(invalid("its `alg` is not a supported JWS signature algorithm")),
    })
}

fn decode(value: &str, member: &str) -> Result<Vec<u8>, KeyError> {
    JWK_BASE64.decode(value).map_err(|_| invalid(&format!("its `{member}` is not base64url")))
}

fn invalid(reason: &str) -> KeyError {
    KeyError::InvalidJwk(reason.to_owned())
}
