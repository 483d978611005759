//! The implementations compared by `benches/validate.rs` and driven by
//! `examples/profile_validate.rs`, each built once per algorithm on the same
//! key pair, the same token bytes and the same checks (`iss`, `aud`, `exp`
//! required), with a `kid` looked up among two keys.
//!
//! | name | what it does per token |
//! | --- | --- |
//! | `floor` | aws-lc-rs signature check alone (key parsed once, signature pre-decoded) |
//! | `jsonwebtoken` | `decode_header`, `kid` lookup, `decode::<StandardClaims>` (aws-lc-rs backend) |
//! | `jwt-simple` | `Token::decode_metadata`, `kid` lookup, `verify_token` (pure-Rust build) |
//! | `aliri` | `aliri_oauth2::Authority::verify_token` (JWK Set lookup inside; ring) |
//! | `tokengate` | `Validator::validate_token::<StandardClaims>`, verified-token cache off |
//! | `tokengate-cached` | the same with the cache on (the default): the token seen before, a hit |

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::{hmac, signature};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, TokenCache, Validator};
use tokengate_testkit::{SigningKey, b64, now};

/// The token's issuer.
pub const ISS: &str = "https://login.example.com/tenant-42/v2.0";
/// The audience every implementation requires.
pub const AUD: &str = "https://api.example.com";
/// The algorithms compared.
pub const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One implementation (or the floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Floor,
    Jsonwebtoken,
    JwtSimple,
    Aliri,
    Tokengate,
    TokengateCached,
}

impl Impl {
    /// Every implementation, in the order the tables print them.
    pub const ALL: [Impl; 6] = [
        Impl::Floor,
        Impl::Jsonwebtoken,
        Impl::JwtSimple,
        Impl::Aliri,
        Impl::Tokengate,
        Impl::TokengateCached,
    ];

    /// The benchmark (and command-line) name.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Floor => "floor",
            Impl::Jsonwebtoken => "jsonwebtoken",
            Impl::JwtSimple => "jwt-simple",
            Impl::Aliri => "aliri",
            Impl::Tokengate => "tokengate",
            Impl::TokengateCached => "tokengate-cached",
        }
    }

    /// The implementation named `name`.
    #[allow(dead_code)] // used by the profile driver only
    pub fn parse(name: &str) -> Option<Impl> {
        Impl::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Whether it supports `alg` (aliri has no EdDSA).
    pub fn supports(self, alg: Algorithm) -> bool {
        !(self == Impl::Aliri && alg == Algorithm::EdDSA)
    }
}

/// The claims every implementation is given: 15 claims, ~480 bytes.
pub fn claims() -> serde_json::Value {
    let now = now();
    json!({
        "iss": ISS,
        "sub": "248289761001",
        "aud": [AUD, "https://other.example.com"],
        "exp": now + 3600,
        "nbf": now - 10,
        "iat": now - 10,
        "jti": "b6f0c1a2-3d4e-4f50-9a8b-7c6d5e4f3a21",
        "client_id": "s6BhdRkqt3",
        "scope": "openid profile email read:orders write:orders",
        "email": "jane.doe@example.com",
        "name": "Jane Doe",
        "roles": ["admin", "billing"],
        "tenant": "tenant-42",
        "auth_time": now - 120,
        "acr": "urn:mace:incommon:iap:silver"
    })
}

/// Polls a future that must complete without waiting (static keys, no I/O).
pub fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("validation with static keys must not wait"),
    }
}

/// One validation of the token given: `Ok` when accepted, else why not
/// (the message is built on refusal only).
pub type Verify = Box<dyn Fn(&str) -> Result<(), String>>;

/// One algorithm's key pair, token and implementations.
pub struct Case {
    pub token: String,
    verifiers: Vec<(Impl, Verify)>,
}

impl Case {
    /// Generates a key pair (`kid` `key-2`, beside a second key `key-1`),
    /// signs the token and builds every implementation that supports `alg`.
    pub fn new(alg: Algorithm) -> Case {
        // Explicit, as a careful user of raw jsonwebtoken must: its process-wide provider.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
            &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
        );
        let key = SigningKey::generate(alg).with_kid("key-2");
        let other = SigningKey::generate(alg).with_kid("key-1");
        let token = key.token(&claims());
        let mut verifiers: Vec<(Impl, Verify)> = Vec::new();
        for which in Impl::ALL.into_iter().filter(|i| i.supports(alg)) {
            let verify = match which {
                Impl::Floor => floor(alg, &key, &token),
                Impl::Jsonwebtoken => jsonwebtoken_peer(alg, [&other, &key]),
                Impl::JwtSimple => jwt_simple_peer(alg, [&other, &key]),
                Impl::Aliri => aliri_peer(alg, [&other, &key]),
                Impl::Tokengate => tokengate(alg, [&other, &key], None),
                Impl::TokengateCached => tokengate(alg, [&other, &key], Some(TokenCache::new())),
            };
            if let Err(why) = verify(&token) {
                panic!("{} refused its {alg} token: {why}", which.name());
            }
            verifiers.push((which, verify));
        }
        // Every implementation refuses the same token with a changed signature.
        let (input, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{input}.{}", b64(other.sign(input.as_bytes())));
        for (which, verify) in &verifiers {
            if *which != Impl::Floor {
                assert!(verify(&forged).is_err(), "{} accepted a forged {alg} token", which.name());
            }
        }
        Case { token, verifiers }
    }

    /// The implementations built, in [`Impl::ALL`] order.
    pub fn verifiers(&self) -> impl Iterator<Item = (Impl, &Verify)> {
        self.verifiers.iter().map(|(which, verify)| (*which, verify))
    }

    /// One implementation, when it supports the algorithm.
    #[allow(dead_code)] // used by the profile driver only
    pub fn verifier(&self, which: Impl) -> Option<&Verify> {
        self.verifiers().find(|(w, _)| *w == which).map(|(_, v)| v)
    }
}

/// aws-lc-rs verification alone, over the token's own signing input.
fn floor(alg: Algorithm, key: &SigningKey, token: &str) -> Verify {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let input = input.as_bytes().to_vec();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    match key.public_der() {
        None => {
            let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, key.secret().unwrap());
            Box::new(move |_| {
                hmac::verify(&hmac_key, black_box(&input), black_box(&sig)).map_err(|e| e.to_string())
            })
        }
        Some(der) => {
            let algorithm: &'static dyn signature::VerificationAlgorithm = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
                Algorithm::EdDSA => &signature::ED25519,
                other => panic!("no floor for {other} here"),
            };
            let parsed = signature::ParsedPublicKey::new(algorithm, der).unwrap();
            Box::new(move |_| {
                parsed.verify_sig(black_box(&input), black_box(&sig)).map_err(|e| e.to_string())
            })
        }
    }
}

fn tokengate(alg: Algorithm, keys: [&SigningKey; 2], cache: Option<TokenCache>) -> Verify {
    let validator = Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([alg])
                .keys(KeySet::new(keys.map(SigningKey::verification_key))),
        )
        .token_cache(cache)
        .build()
        .unwrap();
    Box::new(move |token| {
        ready(validator.validate_token::<StandardClaims>(token)).map(drop).map_err(|e| e.to_string())
    })
}

/// What a hand-rolled service does with raw `jsonwebtoken`.
fn jsonwebtoken_peer(alg: Algorithm, keys: [&SigningKey; 2]) -> Verify {
    let keys: HashMap<String, jsonwebtoken::DecodingKey> = keys
        .iter()
        .map(|k| {
            let decoding = match k.public_jwk() {
                Some(jwk) => {
                    jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap()
                }
                None => jsonwebtoken::DecodingKey::from_secret(k.secret().unwrap()),
            };
            (k.kid().unwrap().to_owned(), decoding)
        })
        .collect();
    let mut validation = jsonwebtoken::Validation::new(alg.name().parse().unwrap());
    validation.set_issuer(&[ISS]);
    validation.set_audience(&[AUD]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    Box::new(move |token| {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let key = header.kid.as_deref().and_then(|kid| keys.get(kid)).ok_or("unknown kid")?;
        jsonwebtoken::decode::<StandardClaims>(token, key, &validation).map(drop).map_err(|e| e.to_string())
    })
}

/// jwt-simple's claims beyond its standard set, as `StandardClaims` has them.
#[derive(Deserialize)]
struct JwtSimpleExtra {
    #[serde(default)]
    #[allow(dead_code)] // deserialized, as by a real caller
    client_id: Option<String>,
}

enum JwtSimpleKey {
    Hs256(jwt_simple::prelude::HS256Key),
    Rs256(jwt_simple::prelude::RS256PublicKey),
    Ps256(jwt_simple::prelude::PS256PublicKey),
    Es256(jwt_simple::prelude::ES256PublicKey),
    Es384(jwt_simple::prelude::ES384PublicKey),
    Ed25519(jwt_simple::prelude::Ed25519PublicKey),
}

/// jwt-simple: the key picked by `kid` from the token's metadata, then
/// `verify_token` with the allowed issuer and audience. It checks `exp` when
/// present but cannot require it, so the closure requires it.
fn jwt_simple_peer(alg: Algorithm, keys: [&SigningKey; 2]) -> Verify {
    use jwt_simple::prelude::*;
    let keys: HashMap<String, JwtSimpleKey> = keys
        .iter()
        .map(|k| {
            let der = k.public_der();
            let key = match alg {
                Algorithm::HS256 => JwtSimpleKey::Hs256(HS256Key::from_bytes(k.secret().unwrap())),
                Algorithm::RS256 => JwtSimpleKey::Rs256(RS256PublicKey::from_der(&der.unwrap()).unwrap()),
                Algorithm::PS256 => JwtSimpleKey::Ps256(PS256PublicKey::from_der(&der.unwrap()).unwrap()),
                Algorithm::ES256 => JwtSimpleKey::Es256(ES256PublicKey::from_der(&der.unwrap()).unwrap()),
                Algorithm::ES384 => JwtSimpleKey::Es384(ES384PublicKey::from_der(&der.unwrap()).unwrap()),
                Algorithm::EdDSA => JwtSimpleKey::Ed25519(Ed25519PublicKey::from_der(&der.unwrap()).unwrap()),
                other => panic!("{other} is not compared"),
            };
            (k.kid().unwrap().to_owned(), key)
        })
        .collect();
    let options = VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISS.to_owned()])),
        allowed_audiences: Some(HashSet::from([AUD.to_owned()])),
        ..Default::default()
    };
    Box::new(move |token| {
        let metadata = Token::decode_metadata(token).map_err(|e| e.to_string())?;
        let key = metadata.key_id().and_then(|kid| keys.get(kid)).ok_or("unknown kid")?;
        // `verify_token` takes its options by value: one clone per call.
        let options = Some(options.clone());
        let claims = match key {
            JwtSimpleKey::Hs256(k) => k.verify_token::<JwtSimpleExtra>(token, options),
            JwtSimpleKey::Rs256(k) => k.verify_token::<JwtSimpleExtra>(token, options),
            JwtSimpleKey::Ps256(k) => k.verify_token::<JwtSimpleExtra>(token, options),
            JwtSimpleKey::Es256(k) => k.verify_token::<JwtSimpleExtra>(token, options),
            JwtSimpleKey::Es384(k) => k.verify_token::<JwtSimpleExtra>(token, options),
            JwtSimpleKey::Ed25519(k) => k.verify_token::<JwtSimpleExtra>(token, options),
        };
        match claims {
            Ok(claims) if claims.expires_at.is_some() => Ok(()),
            Ok(_) => Err("no exp".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// The claims aliri deserializes: `StandardClaims`' members plus `scope`
/// (its `Authority` evaluates a scope policy on every token).
#[derive(Deserialize)]
#[allow(dead_code)] // deserialized, as by a real caller
struct AliriClaims {
    #[serde(default)]
    iss: Option<aliri::jwt::Issuer>,
    #[serde(default)]
    sub: Option<aliri::jwt::Subject>,
    #[serde(default)]
    aud: aliri::jwt::Audiences,
    #[serde(default)]
    exp: Option<aliri_clock::UnixTime>,
    #[serde(default)]
    nbf: Option<aliri_clock::UnixTime>,
    #[serde(default)]
    iat: Option<aliri_clock::UnixTime>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: aliri_oauth2::Scope,
}

impl aliri::jwt::CoreClaims for AliriClaims {
    fn nbf(&self) -> Option<aliri_clock::UnixTime> {
        self.nbf
    }
    fn exp(&self) -> Option<aliri_clock::UnixTime> {
        self.exp
    }
    fn aud(&self) -> &aliri::jwt::Audiences {
        &self.aud
    }
    fn iss(&self) -> Option<&aliri::jwt::IssuerRef> {
        self.iss.as_deref()
    }
    fn sub(&self) -> Option<&aliri::jwt::SubjectRef> {
        self.sub.as_deref()
    }
}

impl aliri_oauth2::HasScope for AliriClaims {
    fn scope(&self) -> &aliri_oauth2::Scope {
        &self.scope
    }
}

/// aliri_oauth2's `Authority` over a two-key JWK Set, `exp` required (its
/// default), `iss` and `aud` configured, a scope policy that allows any scope.
fn aliri_peer(alg: Algorithm, keys: [&SigningKey; 2]) -> Verify {
    let jwks = keys
        .iter()
        .map(|k| match k.public_jwk() {
            Some(jwk) => jwk,
            None => json!({
                "kty": "oct", "k": b64(k.secret().unwrap()), "kid": k.kid(), "alg": alg.name(), "use": "sig",
            }),
        })
        .collect::<Vec<_>>();
    // From text: aliri's base64url members borrow from the input.
    let jwks: aliri::Jwks = serde_json::from_str(&json!({ "keys": jwks }).to_string()).unwrap();
    assert_eq!(jwks.keys().len(), 2, "aliri skips JWKs it cannot read");
    let algorithm = aliri::jwa::Algorithm::try_from(alg.name()).unwrap();
    let validator = aliri::jwt::CoreValidator::default()
        .add_approved_algorithm(algorithm)
        .add_allowed_audience(aliri::jwt::Audience::from_static(AUD))
        .require_issuer(aliri::jwt::Issuer::from_static(ISS))
        .check_expiration();
    let authority = aliri_oauth2::Authority::new(jwks, validator);
    let policy = aliri_oauth2::ScopePolicy::allow_any();
    Box::new(move |token| {
        authority
            .verify_token::<AliriClaims>(aliri::jwt::JwtRef::from_str(token), &policy)
            .map(drop)
            .map_err(|e| format!("{e}: {:?}", std::error::Error::source(&e)))
    })
}
