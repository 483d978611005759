//! `KeySet::parse_jwk_set` and `Key::from_jwk_json` on arbitrary bytes
//! (an issuer's key endpoint answering garbage, or a hostile one).
//! Never panics; every key it keeps can verify something, and every key of
//! the document is either kept or reported as skipped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokengate_core::{Key, KeySet};

fuzz_target!(|data: &[u8]| {
    if let Ok((set, skipped)) = KeySet::parse_jwk_set(data) {
        assert!(set.keys().iter().all(|key| !key.algorithms().is_empty()));
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data)
            && let Some(keys) = value.get("keys").and_then(|k| k.as_array())
        {
            assert_eq!(set.len() + skipped.len(), keys.len());
        }
    }
    if let Ok(key) = Key::from_jwk_json(data) {
        assert!(!key.algorithms().is_empty());
    }
});
