//! Property-based tests of the three entry points that read untrusted
//! bytes: bearer-token extraction, compact-JWS validation and JWK Set
//! parsing. Each must never panic, whatever it is given; extraction only
//! ever hands out RFC 6750 `b64token`s, and validation never accepts a
//! token that differs from a genuine one.
//!
//! Case counts are kept modest so the file runs in seconds in debug
//! builds; the cargo-fuzz targets in `fuzz/` explore the same entry points
//! for as long as one likes.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::{Value, json};
use tokengate::{Algorithm, Error, KeySet, RequestParts, TokenLocations, Validator};
use tokengate_testkit::{SigningKey, b64, jwk_set};
use tokengate_tests::*;

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------

/// A request with arbitrary bytes where `http` types would refuse them.
#[derive(Debug)]
struct RawRequest {
    authorization: Vec<Vec<u8>>,
    query: Option<String>,
    body: Option<Vec<u8>>,
    /// `Cookie` headers and `X-Api-Token` headers.
    cookie: Vec<Vec<u8>>,
    api_token: Vec<Vec<u8>>,
}

impl RequestParts for RawRequest {
    type HeaderValues<'a> = Box<dyn Iterator<Item = &'a [u8]> + 'a>;

    fn header_values(&self, name: &'static str) -> Self::HeaderValues<'_> {
        match name {
            "authorization" => Box::new(self.authorization.iter().map(Vec::as_slice)),
            "cookie" => Box::new(self.cookie.iter().map(Vec::as_slice)),
            "x-api-token" => Box::new(self.api_token.iter().map(Vec::as_slice)),
            _ => Box::new(std::iter::empty()),
        }
    }
    fn method(&self) -> &str {
        "POST"
    }
    fn path(&self) -> &str {
        "/"
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn form_body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

/// Characters that make extraction interesting: the b64token alphabet,
/// separators, whitespace, form-encoding syntax and non-ASCII.
fn token_chars() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9._~+/=\\- \t%&;,\"\\\\é\u{0}]{0,24}").unwrap()
}

fn authorization_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        (
            prop_oneof![
                Just("Bearer"),
                Just("bearer"),
                Just("BEARER"),
                Just("Bearer\t"),
                Just("Basic"),
                Just("DPoP"),
                Just("")
            ],
            proptest::string::string_regex("[ \t]{0,3}").unwrap(),
            token_chars(),
        )
            .prop_map(|(scheme, gap, token)| format!("{scheme}{gap}{token}").into_bytes()),
    ]
}

fn form_encoded() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            prop_oneof![Just("access_token".to_owned()), Just("access%5Ftoken".to_owned()), token_chars()],
            token_chars(),
        ),
        0..4,
    )
    .prop_map(|pairs| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

fn raw_request() -> impl Strategy<Value = RawRequest> {
    (
        proptest::collection::vec(authorization_value(), 0..3),
        proptest::option::of(form_encoded()),
        proptest::option::of(prop_oneof![
            form_encoded().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..48)
        ]),
        proptest::collection::vec(cookie_header(), 0..3),
        proptest::collection::vec(
            prop_oneof![
                token_chars().prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..32)
            ],
            0..3,
        ),
    )
        .prop_map(|(authorization, query, body, cookie, api_token)| RawRequest {
            authorization,
            query,
            body,
            cookie,
            api_token,
        })
}

/// `Cookie` header values: pairs with the token's name (`tg`) or others,
/// or arbitrary bytes.
fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::collection::vec(
            (prop_oneof![Just("tg".to_owned()), Just(" tg ".to_owned()), token_chars()], token_chars()),
            0..4,
        )
        .prop_map(|pairs| pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
            .into_bytes()),
    ]
}

#[test]
fn extraction_never_panics_and_only_yields_b64tokens() {
    let everywhere =
        TokenLocations { query: true, form_body: true, header: Some("x-api-token"), cookie: Some("tg") };
    proptest!(config(2048), |(request in raw_request())| {
        for locations in [TokenLocations::default(), everywhere] {
            match tokengate::extract_token(&request, locations) {
                Ok(token) => {
                    prop_assert!(is_b64token(&token), "{token:?} from {request:?}");
                    prop_assert!(request.authorization.len() <= 1);
                    if locations.header.is_some() {
                        prop_assert!(request.api_token.len() <= 1, "a custom header given twice is refused");
                    }
                    if locations == TokenLocations::default() {
                        // Nothing but the header is read by default: no cookie, custom header, query or body.
                        prop_assert!(!request.authorization.is_empty(), "{token:?} from {request:?}");
                    }
                }
                Err(error) => {
                    // Every refusal is either "no token" or an RFC 6750 invalid_request.
                    prop_assert!(
                        matches!(error, Error::MissingToken | Error::MalformedRequest(_)),
                        "{error:?}"
                    );
                }
            }
        }
    });
}

#[test]
fn extraction_through_http_types_never_panics() {
    proptest!(config(1024), |(value in authorization_value(), query in form_encoded())| {
        let Ok(value) = http::HeaderValue::from_bytes(&value) else { return Ok(()) };
        let Ok(uri) = format!("/?{query}").parse::<http::Uri>() else { return Ok(()) };
        let mut request = http::Request::get(uri).body(()).unwrap();
        request.headers_mut().insert("authorization", value);
        if let Ok(token) = tokengate::extract_token(&request, TokenLocations { query: true, ..Default::default() }) {
            prop_assert!(is_b64token(&token), "{token:?}");
        }
    });
}

// ---------------------------------------------------------------------------
// Compact JWS
// ---------------------------------------------------------------------------

struct Fixture {
    runtime: tokio::runtime::Runtime,
    validator: Validator,
    tokens: Vec<String>,
}

/// One validator trusting an ES256, an Ed25519 and an RS256 key, and a
/// genuine token from each. (HMAC is another issuer family: its own fixture.)
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = [
            SigningKey::generate(Algorithm::ES256).with_kid("ec"),
            SigningKey::generate(Algorithm::EdDSA).with_kid("ed"),
            SigningKey::generate(Algorithm::RS256).with_kid("rsa"),
        ];
        let validator = validator(issuer(
            &[Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256],
            &keys.iter().collect::<Vec<_>>(),
        ));
        let tokens = keys.iter().map(|key| key.token(&good_claims())).collect();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        Fixture { runtime, validator, tokens }
    })
}

fn hmac_fixture() -> &'static (Validator, String) {
    static FIXTURE: OnceLock<(Validator, String)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::HS256).with_kid("hs");
        (validator(issuer(&[Algorithm::HS256], &[&key])), key.token(&good_claims()))
    })
}

fn validate(validator: &Validator, token: &str) -> Result<serde_json::Map<String, Value>, Error> {
    fixture().runtime.block_on(validator.validate_token(token)).map(tokengate::Verified::into_claims)
}

#[test]
fn the_genuine_fixture_tokens_validate() {
    let fixture = fixture();
    for token in &fixture.tokens {
        assert!(validate(&fixture.validator, token).is_ok());
    }
    let (hmac, token) = hmac_fixture();
    assert!(validate(hmac, token).is_ok());
}

/// Text shaped like tokens: base64url runs, dots, and a sprinkle of
/// everything else.
fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::string::string_regex("[A-Za-z0-9_\\-]{0,40}(\\.[A-Za-z0-9_\\-]{0,40}){0,5}").unwrap(),
        proptest::string::string_regex("[A-Za-z0-9_\\-.=+/ {}\"]{0,120}").unwrap(),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Three segments whose header and claims are base64url of JSON-ish text.
fn structured_token() -> impl Strategy<Value = String> {
    let json_ish = prop_oneof![
        json_value(2).prop_map(|v| v.to_string()),
        Just(r#"{"alg":"ES256","kid":"ec"}"#.to_owned()),
        Just(r#"{"alg":"none"}"#.to_owned()),
        proptest::string::string_regex("\\{[\"a-z:,0-9\\[\\]{} ]{0,40}\\}").unwrap(),
    ];
    (json_ish.clone(), json_ish, proptest::collection::vec(any::<u8>(), 0..80))
        .prop_map(|(header, claims, sig)| format!("{}.{}.{}", b64(header), b64(claims), b64(sig)))
}

#[test]
fn validation_of_arbitrary_text_never_panics_and_never_accepts() {
    let fixture = fixture();
    let (hmac, _) = hmac_fixture();
    proptest!(config(1024), |(token in prop_oneof![token_like(), structured_token()])| {
        prop_assert!(validate(&fixture.validator, &token).is_err());
        prop_assert!(validate(hmac, &token).is_err());
    });
}

/// One edit to a token's text.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Swap(usize, usize),
    FlipBits(usize, u8),
    SwapSegments(usize, usize),
    DuplicateSegment(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        proptest::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()
        ),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
        (any::<usize>(), 1..=255u8).prop_map(|(i, m)| Mutation::FlipBits(i, m)),
        (0..3usize, 0..3usize).prop_map(|(i, j)| Mutation::SwapSegments(i, j)),
        (0..3usize).prop_map(Mutation::DuplicateSegment),
    ]
}

fn apply(token: &str, mutation: &Mutation) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let len = bytes.len();
    let segments: Vec<&str> = token.split('.').collect();
    if len == 0 {
        return match *mutation {
            Mutation::Insert(_, b) => String::from_utf8_lossy(&[b]).into_owned(),
            _ => String::new(),
        };
    }
    match *mutation {
        Mutation::Replace(i, b) => bytes[i % len] = b,
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mutation::Delete(i) => {
            bytes.remove(i % len);
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Swap(i, j) => bytes.swap(i % len, j % len),
        Mutation::FlipBits(i, mask) => bytes[i % len] ^= mask,
        Mutation::SwapSegments(i, j) => {
            let mut segments = segments;
            let n = segments.len();
            segments.swap(i % n, j % n);
            return segments.join(".");
        }
        Mutation::DuplicateSegment(i) => {
            let n = segments.len();
            let mut out = segments.clone();
            out[(i + 1) % n] = segments[i % n];
            return out.join(".");
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_genuine_tokens_are_never_accepted() {
    let fixture = fixture();
    let (hmac, hmac_token) = hmac_fixture();
    proptest!(config(1024), |(which in 0..4usize, edits in proptest::collection::vec(mutation(), 1..4))| {
        let (validator, original) = match which {
            3 => (hmac, hmac_token),
            i => (&fixture.validator, &fixture.tokens[i]),
        };
        let mutated = edits.iter().fold(original.clone(), |token, edit| apply(&token, edit));
        let result = validate(validator, &mutated);
        if mutated == *original {
            prop_assert!(result.is_ok());
        } else {
            prop_assert!(result.is_err(), "accepted a mutated token: {edits:?}");
        }
        // Still serving after whatever it was given.
        prop_assert!(validate(validator, original).is_ok());
    });
}

// ---------------------------------------------------------------------------
// JWK Sets
// ---------------------------------------------------------------------------

/// JSON values built from the vocabulary of JWKs, so that generated
/// documents reach deep into key parsing, not just into serde.
fn json_value(depth: u32) -> BoxedStrategy<Value> {
    let names = proptest::sample::select(vec![
        "kty", "crv", "n", "e", "x", "y", "d", "k", "alg", "use", "key_ops", "kid", "keys", "x5c", "oth",
    ]);
    let strings = prop_oneof![
        proptest::sample::select(vec![
            "RSA",
            "EC",
            "OKP",
            "oct",
            "P-256",
            "P-384",
            "P-521",
            "secp256k1",
            "Ed25519",
            "X25519",
            "sig",
            "enc",
            "verify",
            "sign",
            "RS256",
            "ES256",
            "ES384",
            "EdDSA",
            "HS256",
            "PS512",
            "RSA-OAEP",
            "none",
            "AQAB",
            "",
        ])
        .prop_map(str::to_owned),
        proptest::collection::vec(any::<u8>(), 0..70).prop_map(b64),
        any::<String>(),
    ];
    let leaf = prop_oneof![
        strings.prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(depth, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((names.clone(), inner), 0..8).prop_map(|members| Value::Object(
                members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
    .boxed()
}

/// A plausible JWK with some members swapped for odd values.
fn jwk_like() -> impl Strategy<Value = Value> {
    let real = real_jwks();
    (0..real.len(), proptest::collection::vec((json_value(1), 0..8usize), 0..4)).prop_map(
        move |(i, edits)| {
            let mut jwk = real[i].clone();
            let names = ["kty", "crv", "n", "e", "x", "y", "alg", "use"];
            for (value, which) in edits {
                jwk[names[which]] = value;
            }
            jwk
        },
    )
}

fn real_jwks() -> Vec<Value> {
    static JWKS: OnceLock<Vec<Value>> = OnceLock::new();
    JWKS.get_or_init(|| {
        [Algorithm::RS256, Algorithm::PS384, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA]
            .into_iter()
            .enumerate()
            .map(|(i, alg)| SigningKey::generate(alg).with_kid(format!("real-{i}")).public_jwk().unwrap())
            .collect()
    })
    .clone()
}

#[test]
fn jwk_set_parsing_never_panics() {
    let document = prop_oneof![
        json_value(4).prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(prop_oneof![json_value(3), jwk_like()], 0..5)
            .prop_map(|keys| json!({ "keys": keys }).to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::string::string_regex("\\{\"keys\":\\[[\\[\\]{}\":,a-z0-9 ]{0,60}")
            .unwrap()
            .prop_map(String::into_bytes),
    ];
    proptest!(config(1024), |(document in document)| {
        if let Ok((set, skipped)) = KeySet::parse_jwk_set(&document) {
            prop_assert!(set.keys().iter().all(|key| !key.algorithms().is_empty()));
            let declared = serde_json::from_slice::<Value>(&document)
                .ok()
                .and_then(|v| v["keys"].as_array().map(Vec::len));
            if let Some(declared) = declared {
                prop_assert_eq!(set.len() + skipped.len(), declared);
            }
        }
    });
}

#[test]
fn unusable_keys_never_disturb_a_usable_one() {
    let genuine = SigningKey::generate(Algorithm::ES256).with_kid("genuine");
    let genuine_jwk = genuine.public_jwk().unwrap();
    proptest!(config(512), |(junk in proptest::collection::vec(prop_oneof![json_value(3), jwk_like()], 0..4), at in 0..5usize)| {
        let mut keys = junk;
        keys.insert(at.min(keys.len()), genuine_jwk.clone());
        let document = json!({ "keys": keys }).to_string();
        let (set, _) = KeySet::parse_jwk_set(document.as_bytes()).expect("a JWK Set document");
        prop_assert!(set.kids().any(|kid| kid == "genuine"));
        let set_json = jwk_set([&genuine]).to_string();
        prop_assert!(KeySet::from_jwk_set_json(set_json).is_ok());
    });
}
