//! `Validator::validate_token` on arbitrary input, in three modes chosen by
//! the first byte:
//!
//! - 0: the rest is the token text, as a client would send it;
//! - 1: the rest is `header JSON 0xFF claims JSON`, signed with the trusted
//!   key, so the fuzzer reaches the header, key-selection and claims checks
//!   behind the signature;
//! - 2: the rest is XORed onto a genuine token, which must then be refused
//!   unless nothing changed.
//!
//! Never panics; never accepts a changed token.
#![no_main]

use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tokengate_core::{Algorithm, Error, Issuer, KeySet, ManualClock, Validator, Verified};
use tokengate_testkit::SigningKey;

const NOW: u64 = 1_800_000_000;

struct Fixture {
    validator: Validator,
    key: SigningKey,
    genuine: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
        let other = SigningKey::generate(Algorithm::EdDSA).with_kid("ed");
        let validator = Validator::builder()
            .issuer(
                Issuer::new("https://issuer.test/")
                    .audience("https://api.test")
                    .algorithms([Algorithm::ES256, Algorithm::EdDSA])
                    .keys(KeySet::new([key.verification_key(), other.verification_key()])),
            )
            .clock(ManualClock::new(NOW))
            .build()
            .expect("a valid configuration");
        let genuine = key.token(&json!({
            "iss": "https://issuer.test/", "aud": "https://api.test", "exp": NOW + 60, "sub": "s", "scope": "a b",
        }));
        Fixture { validator, key, genuine }
    })
}

/// Static keys never wait: one poll decides.
fn validate(token: &str) -> Result<Verified<Map<String, Value>>, Error> {
    let mut future = std::pin::pin!(fixture().validator.validate_token(token));
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("validation with static keys waited"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                let _ = validate(token);
            }
        }
        1 => {
            let mut parts = rest.splitn(2, |b| *b == 0xFF);
            let (Some(header), Some(claims)) = (parts.next(), parts.next()) else { return };
            let (Ok(header), Ok(claims)) = (std::str::from_utf8(header), std::str::from_utf8(claims)) else {
                return;
            };
            let token = fixture().key.sign_raw(header, claims);
            let _ = validate(&token);
        }
        _ => {
            let genuine = fixture().genuine.as_bytes();
            let mut token = genuine.to_vec();
            for (i, b) in rest.iter().enumerate() {
                token[i % genuine.len()] ^= b;
            }
            let Ok(token) = String::from_utf8(token) else { return };
            let result = validate(&token);
            if token.as_bytes() == genuine {
                assert!(result.is_ok());
            } else {
                assert!(result.is_err(), "accepted a changed token: {token}");
            }
        }
    }
});
