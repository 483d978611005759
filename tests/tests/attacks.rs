//! The attack catalogue at the core level: every known JWT attack, made with
//! real keys and real tokens, and the exact refusal it meets.
//!
//! Attacks already covered by `core_validation.rs` are not repeated here;
//! `docs/security.md` maps every row of the catalogue to the test that covers it.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokengate::jwks::JwksSource;
use tokengate::{
    Algorithm, BuildError, Error, Issuer, Key, KeyError, KeySet, ManualClock, Part, RequestProblem,
    TokenLocations, TokenProblem, Validator,
};
use tokengate_testkit::{SigningKey, b64, jwk_set};
use tokengate_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const INVALID: Option<&str> = Some("invalid_token");
const NUMERIC_DATE: &str = "a non-negative integer NumericDate (seconds since 1970, at most year 9999)";

fn malformed(problem: TokenProblem) -> Error {
    Error::MalformedToken(problem)
}

/// The three segments of a compact token.
fn segments(token: &str) -> [String; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    [parts[0].to_owned(), parts[1].to_owned(), parts[2].to_owned()]
}

fn es_key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg).with_kid("ec-1")
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

/// The order `n` of the curve's base point, big-endian.
fn curve_order(alg: Algorithm) -> Vec<u8> {
    let hex = match alg {
        Algorithm::ES256 => "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551",
        Algorithm::ES384 => {
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973"
        }
        other => panic!("{other} is not ECDSA"),
    };
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// `a - b` for big-endian numbers of the same width, `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0, "a >= b");
    out
}

/// `a + 1` for a big-endian number (wrapping is not needed here).
fn plus_one(a: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    for byte in out.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    out
}

/// CVE-2022-21449 ("psychic signatures") and its class: ECDSA signatures
/// whose `r` or `s` is zero or not below the curve order `n` must never
/// verify, whatever the message. Also: DER-encoded and wrong-length
/// signatures (JWS uses fixed-width `r || s`).
#[test]
fn ecdsa_signatures_with_r_or_s_zero_or_out_of_range_are_refused() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let key = es_key(alg);
        let validator = validator(issuer(&[alg], &[&key]));
        let token = key.token(&good_claims());
        assert!(check(&validator, &token).is_ok(), "{alg}: the genuine token");
        let [h, c, s] = segments(&token);
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&s).unwrap();
        let width = sig.len() / 2;
        let (r, s_part) = (sig[..width].to_vec(), sig[width..].to_vec());
        let n = curve_order(alg);
        let zero = vec![0u8; width];
        let all_ones = vec![0xFFu8; width];

        let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
            ("r = s = 0 (psychic signature)", zero.clone(), zero.clone()),
            ("r = 0", zero.clone(), s_part.clone()),
            ("s = 0", r.clone(), zero.clone()),
            ("r = n", n.clone(), s_part.clone()),
            ("s = n", r.clone(), n.clone()),
            ("r = s = n", n.clone(), n.clone()),
            ("r = n + 1", plus_one(&n), s_part.clone()),
            ("s = n + 1", r.clone(), plus_one(&n)),
            ("r = 2^k - 1", all_ones.clone(), s_part.clone()),
            ("s = 2^k - 1", r.clone(), all_ones.clone()),
            ("r = 0, s = n", zero.clone(), n.clone()),
        ];
        for (name, r_bad, s_bad) in cases {
            let forged = format!("{h}.{c}.{}", b64([r_bad, s_bad].concat()));
            let result = check(&validator, &forged);
            assert_eq!(result.as_ref().err(), Some(&Error::InvalidSignature), "{alg}: {name}");
            assert_refused(result, Error::InvalidSignature, 401, INVALID, &forged);
        }

        // DER (ASN.1 SEQUENCE of two INTEGERs), as some libraries emit it,
        // and fixed-width signatures cut short or padded.
        let der = {
            let int = |v: &[u8]| {
                let mut v = v.to_vec();
                if v[0] & 0x80 != 0 {
                    v.insert(0, 0);
                }
                [vec![0x02, v.len() as u8], v].concat()
            };
            let body = [int(&r), int(&s_part)].concat();
            let mut seq = vec![0x30];
            if body.len() >= 0x80 {
                seq.push(0x81);
            }
            seq.push(body.len() as u8);
            [seq, body].concat()
        };
        for (name, bad) in [
            ("DER-encoded", der),
            ("one byte short", sig[..sig.len() - 1].to_vec()),
            ("one byte long", [sig.clone(), vec![0]].concat()),
            ("r only", r.clone()),
        ] {
            let forged = format!("{h}.{c}.{}", b64(bad));
            assert_eq!(check(&validator, &forged).err(), Some(Error::InvalidSignature), "{alg}: {name}");
        }
    }
}

/// ECDSA signatures are malleable: `(r, n - s)` verifies as well as
/// `(r, s)`. tokengate accepts it (as every ECDSA verifier does) and never
/// relies on signature bytes being unique: single-use and revocation are
/// keyed on `(iss, jti)`, not on the token's bytes. This test documents it.
#[test]
fn ecdsa_high_s_twin_verifies_and_is_the_same_token_for_replay_purposes() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let key = es_key(alg);
        let validator = validator(issuer(&[alg], &[&key]));
        let token = key.token(&good_claims());
        let [h, c, s] = segments(&token);
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&s).unwrap();
        let width = sig.len() / 2;
        let twin_s = sub_be(&curve_order(alg), &sig[width..]);
        let twin = format!("{h}.{c}.{}", b64([sig[..width].to_vec(), twin_s].concat()));
        assert_ne!(twin, token);
        let verified = check(&validator, &twin).expect("the malleated twin verifies");
        assert_eq!(verified.token_id(), Some("token-1"), "same jti: a replay store sees the same token");
    }
}

/// The header or the claims changed after signing (privilege escalation,
/// an expiry pushed back, another key named); the signature no longer covers them.
#[test]
fn tampered_header_or_claims_are_refused() {
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::HS256] {
        let key = SigningKey::generate(alg).with_kid("k");
        let validator = validator(issuer(&[alg], &[&key]));
        let [h, c, s] = segments(&key.token(&good_claims()));
        let tampered_claims = [
            claims_with(json!({ "sub": "admin" })),
            claims_with(json!({ "scope": "read write admin" })),
            claims_with(json!({ "exp": NOW + 86_400 * 365 })),
        ];
        for claims in tampered_claims {
            let forged = format!("{h}.{}.{s}", b64(claims.to_string()));
            assert_refused(check(&validator, &forged), Error::InvalidSignature, 401, INVALID, &forged);
        }
        let mut header = key.header();
        header["typ"] = json!("at+jwt");
        let forged = format!("{}.{c}.{s}", b64(header.to_string()));
        assert_refused(check(&validator, &forged), Error::InvalidSignature, 401, INVALID, &forged);
        // Segments swapped or reused.
        let forged = format!("{h}.{h}.{s}");
        assert!(check(&validator, &forged).is_err(), "{alg}: header as claims");
    }
}

/// Signatures stripped (with and without the dot), truncated to a shorter
/// but still canonical base64url length, or emptied, for every family.
#[test]
fn stripped_or_truncated_signatures_are_refused() {
    for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::PS256, Algorithm::ES384, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).with_kid("k");
        let validator = validator(issuer(&[alg], &[&key]));
        let [h, c, s] = segments(&key.token(&good_claims()));
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&s).unwrap();
        assert_refused(
            check(&validator, &format!("{h}.{c}.")),
            malformed(TokenProblem::MissingSignature),
            401,
            INVALID,
            &s,
        );
        assert_refused(
            check(&validator, &format!("{h}.{c}")),
            malformed(TokenProblem::NotCompact),
            401,
            INVALID,
            &s,
        );
        for keep in [sig.len() - 1, sig.len() / 2, 1] {
            let forged = format!("{h}.{c}.{}", b64(&sig[..keep]));
            assert_refused(check(&validator, &forged), Error::InvalidSignature, 401, INVALID, &forged);
        }
        let forged = format!("{h}.{c}.{}", b64(vec![0u8; sig.len()]));
        assert_refused(check(&validator, &forged), Error::InvalidSignature, 401, INVALID, &forged);
    }
}

// ---------------------------------------------------------------------------
// Algorithm confusion
// ---------------------------------------------------------------------------

/// HS256/384/512 tokens whose HMAC key is the issuer's EC or Ed25519 public
/// key (PEM, DER, JWK JSON and raw JWK members). RSA is in
/// `core_validation.rs::hmac_tokens_and_algorithm_confusion`.
#[test]
fn hmac_signed_with_the_issuers_ec_or_ed_public_key_is_refused() {
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).with_kid("pub");
        let validator = validator(issuer(&[alg], &[&key]));
        let jwk = key.public_jwk().unwrap();
        let mut publics: Vec<Vec<u8>> = vec![
            key.public_pem().unwrap().into_bytes(),
            key.public_pem().unwrap().trim_end().as_bytes().to_vec(),
            key.public_der().unwrap(),
            jwk.to_string().into_bytes(),
            serde_json::to_vec_pretty(&jwk).unwrap(),
        ];
        publics.push(jwk["x"].as_str().unwrap().as_bytes().to_vec());
        for public in publics {
            for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let forger = SigningKey::hmac(hs, public.clone()).with_kid("pub");
                for token in [
                    forger.token(&good_claims()),
                    forger.token_with_header(&json!({ "alg": hs.name() }), &good_claims()),
                ] {
                    assert_refused(
                        check(&validator, &token),
                        Error::AlgorithmNotAllowed(hs),
                        401,
                        INVALID,
                        &token,
                    );
                }
            }
        }
    }
}

/// An issuer configuration that would make algorithm confusion possible
/// cannot be built: HS* beside an asymmetric algorithm, HS* with only
/// public keys, HS* with a JWK Set (static or fetched), an `oct` JWK.
#[test]
fn an_issuer_allowing_hmac_with_public_keys_cannot_be_built() {
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let ec = SigningKey::generate(Algorithm::ES256).with_kid("ec");
    let build = |issuer: Issuer| Validator::builder().issuer(issuer).build().map(drop);
    for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        assert_eq!(
            build(issuer(&[Algorithm::RS256, hs], &[&rsa])),
            Err(BuildError::MixedAlgorithms(ISS.into())),
            "{hs} beside RS256"
        );
        for key in [&rsa, &ec] {
            assert_eq!(
                build(issuer(&[hs], &[key])),
                Err(BuildError::SymmetricWithoutSecret { issuer: ISS.into(), algorithm: hs }),
                "{hs} with only a public key"
            );
        }
        let from_set = KeySet::from_jwk_set_json(jwk_set([&rsa, &ec]).to_string()).unwrap();
        assert_eq!(
            build(Issuer::new(ISS).audience(AUD).algorithms([hs]).keys(from_set)),
            Err(BuildError::SymmetricWithoutSecret { issuer: ISS.into(), algorithm: hs }),
        );
        // The public key's bytes, explicitly configured as HMAC "public" keys: a
        // Key from PEM/DER/JWK is never an HMAC key.
        for loaded in [
            Key::from_rsa_pem(rsa.public_pem().unwrap()),
            Key::from_rsa_der(rsa.public_der().unwrap()),
            Key::from_jwk_json(rsa.public_jwk().unwrap().to_string()),
        ] {
            let loaded = loaded.unwrap();
            assert!(!loaded.algorithms().contains(hs));
            assert_eq!(loaded.restricted_to(hs).unwrap_err(), KeyError::AlgorithmMismatch(hs));
        }
    }
    // A JWK of type `oct` (what a confused issuer might publish) is refused:
    // its `k` is a published secret.
    let oct = json!({ "kty": "oct", "k": b64([7u8; 64]), "alg": "HS256", "kid": "s" });
    assert_eq!(
        Key::from_jwk_json(oct.to_string()).unwrap_err(),
        KeyError::PrivateKeyPublished { member: "k" }
    );
    let (set, skipped) = KeySet::parse_jwk_set(json!({ "keys": [oct] }).to_string().as_bytes()).unwrap();
    assert!(set.is_empty());
    assert_eq!(skipped.len(), 1);
}

/// A fetched JWK Set (tokengate-jwks) never provides a secret: HS* with it
/// is a build error.
#[tokio::test]
async fn an_issuer_allowing_hmac_with_a_fetched_jwk_set_cannot_be_built() {
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let server = TestServer::start(Some(jwk_set([&rsa]).to_string())).await;
    let source = JwksSource::from_url(&server.url("/jwks.json")).allow_http_loopback(true).build().unwrap();
    for hs in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let built = Validator::builder()
            .issuer(Issuer::new(ISS).audience(AUD).algorithms([hs]).key_source(source.clone()))
            .build();
        assert_eq!(
            built.map(drop),
            Err(BuildError::SymmetricWithoutSecret { issuer: ISS.into(), algorithm: hs })
        );
    }
}

/// An HMAC issuer whose key set also holds a public key (possible: the
/// allow-list is HS* only): an HS* token naming the public key's `kid`, MACed
/// with that key's bytes, finds no HMAC verifier there.
#[test]
fn hmac_token_naming_a_public_key_of_a_mixed_key_set_is_refused() {
    let secret = SigningKey::generate(Algorithm::HS256).with_kid("secret");
    let rsa = SigningKey::generate(Algorithm::RS256).with_kid("rsa");
    let validator = validator(issuer(&[Algorithm::HS256], &[&secret, &rsa]));
    assert!(check(&validator, &secret.token(&good_claims())).is_ok());
    for public in [rsa.public_pem().unwrap().into_bytes(), rsa.public_der().unwrap()] {
        let forger = SigningKey::hmac(Algorithm::HS256, public).with_kid("rsa");
        let token = forger.token(&good_claims());
        assert_refused(check(&validator, &token), Error::KeyAlgorithmMismatch, 401, INVALID, &token);
    }
}

// ---------------------------------------------------------------------------
// Keys named or carried by the token
// ---------------------------------------------------------------------------

/// A plain HTTP/1.1 server on 127.0.0.1 that counts every connection and
/// answers every request with `body` (or 404).
struct TestServer {
    addr: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    async fn start(body: Option<String>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, log) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (body, log) = (body.clone(), log.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") && buffer.len() < 65_536 {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&buffer).lines().next().unwrap_or("").to_owned();
                    log.lock().unwrap().push(line);
                    let response = match body {
                        Some(body) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        ),
                        None => {
                            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into()
                        }
                    };
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        TestServer { addr, connections, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// `jku`, `x5u`, `jwk` and `x5c` headers, through a validator whose keys
/// come from a real `JwksSource` on loopback. The URLs in the tokens point
/// at a second real server (serving the attacker's own JWK Set) that must
/// see zero connections, also after unknown-`kid` refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_urls_and_embedded_keys_in_the_header_are_never_fetched_or_trusted() {
    let trusted = SigningKey::generate(Algorithm::ES256).with_kid("trusted");
    let attacker = SigningKey::generate(Algorithm::ES256).with_kid("attacker");
    let impostor = SigningKey::generate(Algorithm::ES256).with_kid("trusted");
    let issuer_server = TestServer::start(Some(jwk_set([&trusted]).to_string())).await;
    let attacker_server = TestServer::start(Some(jwk_set([&attacker, &impostor]).to_string())).await;

    let source = JwksSource::from_url(&issuer_server.url("/jwks.json"))
        .allow_http_loopback(true)
        .cooldown(Duration::ZERO)
        .build()
        .unwrap();
    source.refresh_now().await.expect("the issuer's keys");
    let validator = Validator::builder()
        .issuer(Issuer::new(ISS).audience(AUD).algorithms([Algorithm::ES256]).key_source(source))
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let validate = |token: String| {
        let validator = validator.clone();
        async move { (validator.validate_token::<Value>(&token).await, token) }
    };

    let jku = attacker_server.url("/jwks.json");
    let x5u = attacker_server.url("/cert.pem");
    let x5c = STANDARD.encode(attacker.public_der().unwrap());
    let cases: Vec<(&str, &SigningKey, Value, Error)> = vec![
        ("jku, unknown kid", &attacker, json!({ "kid": "attacker", "jku": jku }), Error::NoMatchingKey),
        ("jku, trusted kid", &impostor, json!({ "kid": "trusted", "jku": jku }), Error::InvalidSignature),
        ("x5u, unknown kid", &attacker, json!({ "kid": "attacker", "x5u": x5u }), Error::NoMatchingKey),
        ("x5u, no kid", &attacker, json!({ "x5u": x5u }), Error::InvalidSignature),
        ("jwk, no kid", &attacker, json!({ "jwk": attacker.public_jwk().unwrap() }), Error::InvalidSignature),
        (
            "jwk, its own kid",
            &attacker,
            json!({ "kid": "attacker", "jwk": attacker.public_jwk().unwrap() }),
            Error::NoMatchingKey,
        ),
        (
            "x5c, no kid",
            &attacker,
            json!({ "x5c": [x5c], "x5t#S256": b64([1u8; 32]) }),
            Error::InvalidSignature,
        ),
        (
            "everything at once",
            &attacker,
            json!({ "kid": "attacker", "jku": jku, "x5u": x5u, "jwk": attacker.public_jwk().unwrap(), "x5c": [x5c] }),
            Error::NoMatchingKey,
        ),
    ];
    for (name, key, extra, expected) in cases {
        let mut header = json!({ "alg": "ES256", "typ": "JWT" });
        header.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (result, token) = validate(key.token_with_header(&header, &good_claims())).await;
        assert_eq!(result.as_ref().err(), Some(&expected), "{name}");
        assert_refused(result, expected, 401, INVALID, &token);
    }
    // Ignored, not obeyed: the trusted key's own token with a `jku` is judged
    // on the issuer's keys alone.
    let (genuine, _) = validate(trusted.token_with_header(
        &json!({ "alg": "ES256", "kid": "trusted", "jku": jku, "x5u": x5u }),
        &good_claims(),
    ))
    .await;
    assert!(genuine.is_ok(), "{genuine:?}");

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(attacker_server.connections(), 0, "the server named in tokens was contacted");
    assert!(attacker_server.requests.lock().unwrap().is_empty());
    // The source is live: unknown kids made it refetch from the configured URL only.
    let issuer_requests = issuer_server.requests.lock().unwrap().clone();
    assert!(issuer_requests.len() >= 2, "{issuer_requests:?}");
    assert!(issuer_requests.iter().all(|line| line.starts_with("GET /jwks.json ")), "{issuer_requests:?}");
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Signs `signing_input` exactly as given, so that only the parser stands
/// between a non-canonical encoding and acceptance.
fn sign_input(key: &SigningKey, signing_input: &str) -> String {
    format!("{signing_input}.{}", b64(key.sign(signing_input.as_bytes())))
}

/// Sets the lowest (always unused) bit of a segment's last character.
fn flip_trailing_bit(segment: &str) -> String {
    assert_ne!(segment.len() % 4, 0, "the segment must have trailing bits");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = segment.as_bytes().to_vec();
    let last = bytes.len() - 1;
    let index = alphabet.iter().position(|c| *c == bytes[last]).unwrap();
    bytes[last] = alphabet[index ^ 1];
    String::from_utf8(bytes).unwrap()
}

/// JSON text of `value` padded with spaces until its base64url form has
/// trailing bits (length not a multiple of 3).
fn with_trailing_bits(value: &Value) -> String {
    let mut text = value.to_string();
    while text.len().is_multiple_of(3) {
        text.insert(1, ' ');
    }
    text
}

/// Padding, `+`/`/`, non-zero trailing bits and percent-encoding in each
/// segment, each correctly signed over the text as sent: the parser alone
/// refuses them. (Signature-segment trailing bits and `=`/`+` are in
/// `core_validation.rs::structural_problems` and
/// `non_canonical_base64_trailing_bits_are_refused`.)
#[test]
fn non_canonical_base64url_in_every_segment_is_refused() {
    let key = es_key(Algorithm::ES256);
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let h = b64(with_trailing_bits(&key.header()));
    let c = b64(with_trailing_bits(&good_claims()));
    assert!(check(&validator, &sign_input(&key, &format!("{h}.{c}"))).is_ok(), "canonical baseline");

    let cases = [
        (format!("{}.{c}", flip_trailing_bit(&h)), malformed(TokenProblem::NonCanonicalBase64(Part::Header))),
        (format!("{h}.{}", flip_trailing_bit(&c)), malformed(TokenProblem::NonCanonicalBase64(Part::Claims))),
        (format!("{h}=.{c}"), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h}.{c}=="), malformed(TokenProblem::InvalidCharacters)),
        (format!("{}+{}.{c}", &h[..4], &h[5..]), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h}.{}/{}", &c[..8], &c[9..]), malformed(TokenProblem::InvalidCharacters)),
        (format!("{h}.{}", c.replacen('e', "%65", 1)), malformed(TokenProblem::InvalidCharacters)),
        (
            format!("{h}.{}", &c[..c.len() - c.len() % 4 + 1]),
            malformed(TokenProblem::NonCanonicalBase64(Part::Claims)),
        ),
    ];
    for (signing_input, expected) in cases {
        let token = sign_input(&key, &signing_input);
        assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
    }
    // Standard-alphabet base64 of the same JSON, where it differs from base64url.
    let header = json!({ "alg": "ES256", "kid": "ec-1", "x": "\u{ff}\u{fe}>>>???" });
    let standard = STANDARD.encode(header.to_string()).trim_end_matches('=').to_owned();
    assert!(standard.contains('+') || standard.contains('/'), "{standard}");
    let token = sign_input(&key, &format!("{standard}.{c}"));
    assert_refused(
        check(&validator, &token),
        malformed(TokenProblem::InvalidCharacters),
        401,
        INVALID,
        &token,
    );
}

/// Whitespace anywhere in the token string (around it, around the dots,
/// inside a segment; spaces, tabs, CR/LF, non-breaking and zero-width
/// spaces). In a request, only the optional whitespace around the
/// `Authorization` credentials is allowed.
#[test]
fn whitespace_anywhere_in_a_token_is_refused() {
    let key = es_key(Algorithm::ES256);
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let token = key.token(&good_claims());
    let [h, c, s] = segments(&token);
    for ws in [" ", "\t", "\n", "\r\n", "\u{a0}", "\u{200b}", "\u{feff}", "\u{3000}"] {
        for variant in [
            format!("{ws}{token}"),
            format!("{token}{ws}"),
            format!("{h}{ws}.{c}.{s}"),
            format!("{h}.{ws}{c}.{s}"),
            format!("{h}.{c}.{ws}{s}"),
            format!("{}{ws}{}.{c}.{s}", &h[..5], &h[5..]),
            format!("{h}.{}{ws}{}.{s}", &c[..7], &c[7..]),
        ] {
            assert_refused(
                check(&validator, &variant),
                malformed(TokenProblem::InvalidCharacters),
                401,
                INVALID,
                &variant,
            );
        }
    }

    let request = |value: &str| {
        http::Request::get("/").header("authorization", value).body(()).expect("a valid header value")
    };
    let locations = TokenLocations::default();
    // Optional whitespace around the credentials (RFC 9110 §5.5) is not part of the token.
    for value in [format!("Bearer {token} "), format!("Bearer   {token}"), format!("Bearer {token}\t")] {
        assert_eq!(tokengate::extract_token(&request(&value), locations).unwrap(), token, "{value:?}");
    }
    for value in
        [format!("Bearer {h}. {c}.{s}"), format!("Bearer {h}.{c}\t.{s}"), format!("Bearer {token} x")]
    {
        let result = tokengate::extract_token(&request(&value), locations).map(Cow::into_owned);
        assert_refused(
            result,
            Error::MalformedRequest(RequestProblem::InvalidCharacters),
            400,
            Some("invalid_request"),
            &token,
        );
    }
    // A tab is not the separator after the scheme (RFC 9110 §11.4: one or more
    // SP): a header naming Bearer that way is malformed, not "no token", so
    // that a route letting anonymous requests through still refuses it.
    let result =
        tokengate::extract_token(&request(&format!("Bearer\t{token}")), locations).map(Cow::into_owned);
    let malformed = Error::MalformedRequest(RequestProblem::MalformedCredentials);
    assert_refused(result, malformed, 400, Some("invalid_request"), &token);
}

/// Duplicate member names, also hidden behind JSON escapes, in the header
/// and in the claims, at the top level and nested: refused (the decision
/// documented in `docs/security.md`). Plain duplicates are in
/// `core_validation.rs::duplicate_members_are_refused_in_header_and_claims`.
#[test]
fn escaped_and_nested_duplicate_members_are_refused() {
    let key = es_key(Algorithm::ES256);
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let claims = good_claims().to_string();
    let header = key.header().to_string();
    let dup_header = Error::MalformedToken(TokenProblem::DuplicateMember(Part::Header));
    let dup_claims = Error::MalformedToken(TokenProblem::DuplicateMember(Part::Claims));
    for (header, claims, expected) in [
        (r#"{"alg":"ES256","kid":"ec-1","a\u006cg":"HS256"}"#.to_owned(), claims.clone(), &dup_header),
        (r#"{"alg":"ES256","\u006bid":"x","kid":"ec-1"}"#.to_owned(), claims.clone(), &dup_header),
        (
            r#"{"alg":"ES256","kid":"ec-1","typ":"JWT","typ":"at+jwt"}"#.to_owned(),
            claims.clone(),
            &dup_header,
        ),
        (
            r#"{"alg":"ES256","kid":"ec-1","jwk":{"kty":"EC","kty":"RSA"}}"#.to_owned(),
            claims.clone(),
            &dup_header,
        ),
        (
            header.clone(),
            format!(r#"{{"iss":"{ISS}","iss":"https://evil.test/","aud":"{AUD}","exp":{}}}"#, NOW + 60),
            &dup_claims,
        ),
        (
            header.clone(),
            format!(r#"{{"iss":"{ISS}","aud":"{AUD}","\u0061ud":"other","exp":{}}}"#, NOW + 60),
            &dup_claims,
        ),
        (
            header.clone(),
            format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"scope":"a","scope":"admin"}}"#, NOW + 60),
            &dup_claims,
        ),
        (
            header.clone(),
            format!(
                r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"realm_access":{{"roles":[],"roles":["admin"]}}}}"#,
                NOW + 60
            ),
            &dup_claims,
        ),
    ] {
        let token = key.sign_raw(&header, &claims);
        assert_refused(check(&validator, &token), expected.clone(), 401, INVALID, &token);
    }
}

// ---------------------------------------------------------------------------
// Other serializations
// ---------------------------------------------------------------------------

/// The JWS JSON serialization (flattened and general) of a genuine token,
/// and compact JWE (five parts, with and without an encrypted key).
#[test]
fn jws_json_serialization_and_compact_jwe_are_refused_clearly() {
    let key = es_key(Algorithm::ES256);
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let [h, c, s] = segments(&key.token(&good_claims()));
    let flattened = json!({ "protected": h, "payload": c, "signature": s }).to_string();
    let general = json!({ "payload": c, "signatures": [{ "protected": h, "signature": s }] }).to_string();
    let unprotected =
        json!({ "header": { "alg": "ES256", "kid": "ec-1" }, "payload": c, "signature": s }).to_string();
    for token in [&flattened, &general, &unprotected] {
        assert_refused(
            check(&validator, token),
            malformed(TokenProblem::JsonSerialization),
            401,
            INVALID,
            token,
        );
        let description = malformed(TokenProblem::JsonSerialization).description();
        assert!(description.contains("JSON serialization"), "{description}");
    }
    // With leading whitespace it is no longer recognisable, but still refused.
    let padded = format!(" {flattened}");
    assert_refused(
        check(&validator, &padded),
        malformed(TokenProblem::InvalidCharacters),
        401,
        INVALID,
        &padded,
    );

    let iv = b64([1u8; 12]);
    let ciphertext = b64(good_claims().to_string());
    let tag = b64([2u8; 16]);
    for header in [
        json!({ "alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "ec-1" }),
        json!({ "alg": "dir", "enc": "A128CBC-HS256" }),
        json!({ "alg": "ES256", "enc": "A256GCM", "kid": "ec-1", "cty": "JWT" }),
    ] {
        let encrypted_key = if header["alg"] == "dir" { String::new() } else { b64([3u8; 256]) };
        let token = format!("{}.{encrypted_key}.{iv}.{ciphertext}.{tag}", b64(header.to_string()));
        assert_refused(check(&validator, &token), malformed(TokenProblem::Encrypted), 401, INVALID, &token);
        assert!(malformed(TokenProblem::Encrypted).description().contains("encrypted tokens (JWE)"));
    }
}

// ---------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------

/// `exp`/`nbf`/`iat` written in every way JSON allows that is not a
/// non-negative integer up to year 9999, each as raw JSON text (strings,
/// floats, exponents, negatives, `-0`, u64 overflow, hex, `NaN`). Values
/// already in `core_validation.rs::numeric_claims_of_the_wrong_type_are_refused_not_coerced`
/// are not repeated.
#[test]
fn odd_numeric_dates_are_refused_and_extreme_ones_meet_the_time_checks() {
    let key = es_key(Algorithm::ES256);
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    let header = key.header().to_string();
    let claims_text = |name: &str, raw: &str| {
        let mut members: Vec<String> = vec![format!(r#""iss":"{ISS}""#), format!(r#""aud":"{AUD}""#)];
        for (claim, value) in [("exp", NOW + 300), ("nbf", NOW - 10), ("iat", NOW - 10)] {
            let text = if claim == name { raw.to_owned() } else { value.to_string() };
            members.push(format!(r#""{claim}":{text}"#));
        }
        format!("{{{}}}", members.join(","))
    };
    for claim in ["exp", "nbf", "iat"] {
        for raw in [
            "1800000100.0",
            "1.8000001e9",
            "18000001E2",
            "-0",
            "-1800000100",
            "18446744073709551615",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
            "253402300800",
            "\"1800000100\"",
            "\"\"",
            "{}",
            "false",
        ] {
            let token = key.sign_raw(&header, &claims_text(claim, raw));
            let expected = Error::InvalidClaim { claim: Cow::Borrowed(claim), expected: NUMERIC_DATE };
            let result = check(&validator, &token);
            assert_eq!(result.as_ref().err(), Some(&expected), "{claim} = {raw}");
            assert_refused(result, expected, 401, INVALID, &token);
        }
        // Not JSON at all: refused by the parser before any claim is read.
        for raw in ["0x6B49D1E4", "NaN", "Infinity", "01800000100", "+1800000100", "1800000100."] {
            let token = key.sign_raw(&header, &claims_text(claim, raw));
            assert_refused(
                check(&validator, &token),
                malformed(TokenProblem::InvalidJson(Part::Claims)),
                401,
                INVALID,
                &token,
            );
        }
    }

    // Extreme but well-formed values meet the ordinary checks.
    use tokengate::MAX_NUMERIC_DATE as MAX;
    let far = key.token(&claims_with(json!({ "exp": MAX })));
    assert_refused(check(&validator, &far), Error::LifetimeTooLong, 401, INVALID, &far);
    let unbounded = validator_with(issuer(&[Algorithm::ES256], &[&key]).unbounded_lifetime());
    assert!(check(&unbounded, &far).is_ok(), "a far-future exp is only refused by the lifetime cap");
    let capped = validator_with(issuer(&[Algorithm::ES256], &[&key]).max_lifetime(Duration::from_secs(3600)));
    assert_refused(check(&capped, &far), Error::LifetimeTooLong, 401, INVALID, &far);
    for (changes, expected) in [
        (json!({ "exp": 0 }), Error::Expired),
        (json!({ "exp": 1 }), Error::Expired),
        (json!({ "nbf": MAX }), Error::NotYetValid),
        (json!({ "iat": MAX }), Error::IssuedInFuture),
    ] {
        let token = key.token(&claims_with(changes));
        assert_refused(check(&validator, &token), expected, 401, INVALID, &token);
    }
    // u64 saturation: now + leeway and exp + leeway never wrap.
    let at_end = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .clock(ManualClock::new(u64::MAX))
        .build()
        .unwrap();
    let token = key.token(&claims_with(json!({ "exp": MAX, "iat": MAX, "nbf": MAX })));
    assert_refused(check(&at_end, &token), Error::Expired, 401, INVALID, &token);
}

fn validator_with(issuer: Issuer) -> Validator {
    validator(issuer)
}

/// `iss` and `aud` are compared byte for byte: letter case, trailing and
/// doubled slashes, default ports, empty query or fragment, whitespace, NUL,
/// percent-encoding and look-alike characters all name someone else.
/// (Basic case and trailing-slash rows are also in `core_validation.rs`.)
#[test]
fn issuer_and_audience_variants_are_other_parties() {
    let key = es_key(Algorithm::ES256);
    let validator = validator(issuer(&[Algorithm::ES256], &[&key]));
    for iss in [
        "https://issuer.test",
        "https://issuer.test//",
        "https://Issuer.test/",
        "HTTPS://issuer.test/",
        "https://issuer.test:443/",
        "https://issuer.test/?",
        "https://issuer.test/#",
        "https://issuer.test/ ",
        "https://issuer.test/\u{0}",
        "https://issuer.test/.",
        "https://issuer.test/%2F",
        "https://issuer%2Etest/",
        "https://issuer.test\u{ff0f}",
        "https://іssuer.test/",
        "http://issuer.test/",
        "",
    ] {
        let token = key.token(&claims_with(json!({ "iss": iss })));
        let result = check(&validator, &token);
        assert_eq!(result.as_ref().err(), Some(&Error::UntrustedIssuer), "iss {iss:?}");
        assert_refused(result, Error::UntrustedIssuer, 401, INVALID, &token);
    }
    for aud in [
        json!("https://api.test/"),
        json!("https://API.test"),
        json!("HTTPS://api.test"),
        json!("https://api.test:443"),
        json!("https://api.test "),
        json!(" https://api.test"),
        json!("https://api.test\u{0}"),
        json!("https://api.test#"),
        json!("https://api.test?"),
        json!("https://api.tes"),
        json!("https://api.test.evil"),
        json!("https://аpi.test"),
        json!(""),
        json!(["https://api.test/", "https://API.TEST"]),
    ] {
        let token = key.token(&claims_with(json!({ "aud": aud.clone() })));
        let result = check(&validator, &token);
        assert_eq!(result.as_ref().err(), Some(&Error::WrongAudience), "aud {aud}");
        assert_refused(result, Error::WrongAudience, 401, INVALID, &token);
    }
    for aud in [json!([AUD, null]), json!([[AUD]]), json!([{ "aud": AUD }])] {
        let token = key.token(&claims_with(json!({ "aud": aud })));
        assert!(
            matches!(check(&validator, &token), Err(Error::InvalidClaim { ref claim, .. }) if claim == "aud"),
            "a mistyped aud is refused even when it contains ours"
        );
    }
}

// ---------------------------------------------------------------------------
// Resource exhaustion
// ---------------------------------------------------------------------------

/// Oversized tokens and deeply nested or very wide JSON: each refused (or
/// accepted) quickly, and the validator serves the next request. Claims
/// nesting beyond the limits is in `core_validation.rs::deep_nesting_and_oversized_tokens_are_refused_without_harm`.
#[test]
fn oversized_and_deeply_nested_tokens_leave_the_validator_serving() {
    let key = es_key(Algorithm::ES256);
    let default = validator(issuer(&[Algorithm::ES256], &[&key]));
    let roomy = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .max_token_bytes(1024 * 1024)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let good = key.token(&good_claims());
    let started = std::time::Instant::now();

    // Far beyond the limit: refused by length alone, before any decoding.
    let huge = "A".repeat(16 * 1024 * 1024);
    assert_refused(check(&default, &huge), Error::TokenTooLarge { limit: 8192 }, 401, INVALID, "");
    assert_refused(check(&roomy, &huge), Error::TokenTooLarge { limit: 1024 * 1024 }, 401, INVALID, "");
    let just_over = format!("{good}{}", "A".repeat(8193 - good.len()));
    assert_eq!(check(&default, &just_over).err(), Some(Error::TokenTooLarge { limit: 8192 }));
    let dots = ".".repeat(8000);
    assert_eq!(check(&default, &dots).err(), Some(malformed(TokenProblem::NotCompact)));

    let header = key.header().to_string();
    let claims_with_extra =
        |extra: String| format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"x":{extra}}}"#, NOW + 60);
    let nested_header = |extra: String| format!(r#"{{"alg":"ES256","kid":"ec-1","x":{extra}}}"#);
    let deep =
        |depth: usize, open: &str, close: &str| format!("{}1{}", open.repeat(depth), close.repeat(depth));
    let cases: Vec<(String, String, Error)> = vec![
        (
            nested_header(deep(100_000, "[", "]")),
            good_claims().to_string(),
            malformed(TokenProblem::InvalidJson(Part::Header)),
        ),
        (
            nested_header(deep(50_000, "{\"a\":", "}")),
            good_claims().to_string(),
            malformed(TokenProblem::InvalidJson(Part::Header)),
        ),
        (
            header.clone(),
            claims_with_extra(deep(200_000, "[", "]")),
            malformed(TokenProblem::InvalidJson(Part::Claims)),
        ),
        (
            header.clone(),
            claims_with_extra(deep(33, "{\"a\":", "}")),
            malformed(TokenProblem::InvalidJson(Part::Claims)),
        ),
        (
            header.clone(),
            claims_with_extra(format!("[{}1]", "[1],".repeat(100_000))),
            Error::InvalidSignature, // well-formed, wide: parsed, then the forged signature fails
        ),
    ];
    for (header, claims, expected) in cases {
        let token = key.sign_raw(&header, &claims);
        let token = if expected == Error::InvalidSignature {
            let [h, c, s] = segments(&token);
            let swapped = if s.as_bytes()[10] == b'A' { "B" } else { "A" };
            format!("{h}.{c}.{}{swapped}{}", &s[..10], &s[11..])
        } else {
            token
        };
        let result = check(&roomy, &token);
        assert_eq!(result.as_ref().err(), Some(&expected), "{} bytes", token.len());
        assert!(check(&roomy, &good).is_ok(), "still serving");
    }
    // 30 000 distinct members: accepted, duplicates looked for in O(n log n).
    let wide: String = (0..30_000).map(|i| format!(r#""m{i}":{i},"#)).collect();
    let claims = format!(r#"{{{wide}"iss":"{ISS}","aud":"{AUD}","exp":{}}}"#, NOW + 60);
    assert!(check(&roomy, &key.sign_raw(&header, &claims)).is_ok());
    let claims = format!(r#"{{{wide}"m0":1,"iss":"{ISS}","aud":"{AUD}","exp":{}}}"#, NOW + 60);
    let token = key.sign_raw(&header, &claims);
    assert_eq!(check(&roomy, &token).err(), Some(malformed(TokenProblem::DuplicateMember(Part::Claims))));

    assert!(check(&default, &good).is_ok(), "still serving");
    assert!(check(&roomy, &good).is_ok(), "still serving");
    eprintln!("resource-exhaustion attacks took {:?} in total", started.elapsed());
}

// ---------------------------------------------------------------------------
// Issuers
// ---------------------------------------------------------------------------

/// A token genuinely signed by another issuer's key, for that issuer:
/// refused by a validator that does not trust it, and never re-labelled
/// into a trusted one. (A colliding `kid` across issuers is in
/// `core_validation.rs::several_issuers_never_share_keys_even_with_colliding_kids`.)
#[test]
fn a_token_signed_by_the_right_key_for_another_issuer_is_refused() {
    let key_a = SigningKey::generate(Algorithm::RS256).with_kid("a-1");
    let key_b = SigningKey::generate(Algorithm::RS256).with_kid("b-1");
    let trusts_b = Validator::builder()
        .issuer(
            Issuer::new("https://b.test/")
                .audience(AUD)
                .algorithms([Algorithm::RS256])
                .keys(KeySet::new([key_b.verification_key()])),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    // Issuer A's genuine token (A's key, iss A) for the same API.
    let a_token = key_a.token(&claims_with(json!({ "iss": "https://a.test/" })));
    assert_refused(check(&trusts_b, &a_token), Error::UntrustedIssuer, 401, INVALID, &a_token);
    // A's key, re-labelled as B: B's keys decide.
    let relabelled = key_a.token(&claims_with(json!({ "iss": "https://b.test/" })));
    assert_refused(check(&trusts_b, &relabelled), Error::NoMatchingKey, 401, INVALID, &relabelled);
    let relabelled_kid = key_a.token_with_header(
        &json!({ "alg": "RS256", "kid": "b-1" }),
        &claims_with(json!({ "iss": "https://b.test/" })),
    );
    assert_refused(check(&trusts_b, &relabelled_kid), Error::InvalidSignature, 401, INVALID, &relabelled_kid);

    // One provider key shared by two tenants (issuers): a tenant-A token is
    // not a tenant-B token, even though the same key signed both.
    let shared = SigningKey::generate(Algorithm::ES256).with_kid("shared");
    let tenant_b = Validator::builder()
        .issuer(
            Issuer::new("https://login.test/tenant-b/")
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([shared.verification_key()])),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let for_a = shared.token(&claims_with(json!({ "iss": "https://login.test/tenant-a/" })));
    assert_refused(check(&tenant_b, &for_a), Error::UntrustedIssuer, 401, INVALID, &for_a);
    let for_b = shared.token(&claims_with(json!({ "iss": "https://login.test/tenant-b/" })));
    assert!(check(&tenant_b, &for_b).is_ok());
    // The right issuer and key, but minted for another API.
    let other_api = shared.token(&claims_with(
        json!({ "iss": "https://login.test/tenant-b/", "aud": "https://other-api.test" }),
    ));
    assert_refused(check(&tenant_b, &other_api), Error::WrongAudience, 401, INVALID, &other_api);
}

// ---------------------------------------------------------------------------
// Weak keys published in a JWK Set
// ---------------------------------------------------------------------------

/// An RSA key with public exponent 1 (every "signature" is the padded
/// message itself, so anyone can forge), an even exponent, or a short
/// modulus; an EC point off the curve; an Ed25519 key of the wrong length:
/// each skipped when its set loads, never used to verify.
#[test]
fn weak_or_invalid_keys_in_a_jwk_set_are_skipped() {
    let good = SigningKey::generate(Algorithm::RS256).with_kid("good");
    let rsa = good.public_jwk().unwrap();
    let ec = SigningKey::generate(Algorithm::ES256).public_jwk().unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA).public_jwk().unwrap();
    let with = |base: &Value, kid: &str, changes: Value| {
        let mut jwk = base.clone();
        jwk["kid"] = json!(kid);
        jwk.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        jwk
    };
    let mut n_1024 =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(rsa["n"].as_str().unwrap()).unwrap();
    n_1024.truncate(128);
    let weak = [
        with(&rsa, "e-1", json!({ "e": b64([1u8]) })),
        with(&rsa, "e-2", json!({ "e": b64([2u8]) })),
        with(&rsa, "e-0", json!({ "e": b64([0u8]) })),
        with(&rsa, "rsa-1024", json!({ "n": b64(&n_1024) })),
        with(&ec, "ec-off-curve", json!({ "y": b64([0x5Au8; 32]) })),
        with(&ec, "ec-zero", json!({ "x": b64([0u8; 32]), "y": b64([0u8; 32]) })),
        with(&ed, "ed-short", json!({ "x": b64([9u8; 31]) })),
        with(&rsa, "enc-use", json!({ "use": "enc" })),
        with(&rsa, "sign-only-ops", json!({ "key_ops": ["sign"] })),
        with(&rsa, "rsa-as-es256", json!({ "alg": "ES256" })),
    ];
    let mut keys = weak.to_vec();
    keys.push(rsa.clone());
    let (set, skipped) = KeySet::parse_jwk_set(json!({ "keys": keys }).to_string().as_bytes()).unwrap();
    // Every weak or inconsistent key is skipped; the good one stays.
    assert_eq!(set.kids().collect::<Vec<_>>(), ["good"]);
    let skipped_kids: Vec<_> = skipped.iter().filter_map(|s| s.kid.as_deref()).collect();
    assert_eq!(skipped_kids.len(), weak.len(), "{skipped:?}");

    // A token naming a skipped key finds nothing to verify with.
    let validator = validator(Issuer::new(ISS).audience(AUD).algorithms([Algorithm::RS256]).keys(set));
    let forged = good.token_with_header(&json!({ "alg": "RS256", "kid": "e-0" }), &good_claims());
    assert_refused(check(&validator, &forged), Error::NoMatchingKey, 401, INVALID, &forged);
    let forged = good.token_with_header(&json!({ "alg": "RS256", "kid": "e-1" }), &good_claims());
    assert_refused(check(&validator, &forged), Error::NoMatchingKey, 401, INVALID, &forged);
    assert!(check(&validator, &good.token(&good_claims())).is_ok());
}

/// EMSA-PKCS1-v1_5 encoding of SHA-256(`message`) for a modulus of `len` bytes:
/// with public exponent 1 this *is* a valid signature.
fn pkcs1_sha256_encoding(message: &[u8], len: usize) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, message);
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
        0x04, 0x20,
    ];
    let t = [&prefix[..], digest.as_ref()].concat();
    let mut em = vec![0x00, 0x01];
    em.resize(len - t.len() - 1, 0xFF);
    em.push(0x00);
    em.extend_from_slice(&t);
    em
}

/// An issuer (or whoever can change its JWK Set) publishing an RSA key with
/// `e = 1`: anyone could then forge RS256 tokens without any private key,
/// since the signature is just the padded hash, were the exponent honoured.
/// Such a key is skipped when the set loads; even if it were not, aws-lc
/// refuses the forged signature at verification.
#[test]
fn rsa_public_exponent_one_does_not_allow_forgery() {
    let genuine = SigningKey::generate(Algorithm::RS256).with_kid("weak");
    let mut jwk = genuine.public_jwk().unwrap();
    jwk["e"] = json!(b64([1u8]));
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let header = b64(json!({ "alg": "RS256", "kid": "weak" }).to_string());
    let claims = b64(claims_with(json!({ "sub": "admin", "scope": "admin" })).to_string());
    let signing_input = format!("{header}.{claims}");
    let forged = format!("{signing_input}.{}", b64(pkcs1_sha256_encoding(signing_input.as_bytes(), n.len())));

    let (set, skipped) = KeySet::parse_jwk_set(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
    assert!(set.is_empty());
    assert_eq!(
        skipped[0].reason,
        "the JWK cannot be used: the RSA public exponent must be odd and at least 3"
    );
    let expected = Error::NoMatchingKey;
    let keys = Issuer::new(ISS).audience(AUD).algorithms([Algorithm::RS256]);
    let validator = Validator::builder()
        .issuer(keys.key_source(tokengate::keys::StaticKeys::new(set)))
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    assert_refused(check(&validator, &forged), expected, 401, INVALID, &forged);
}
