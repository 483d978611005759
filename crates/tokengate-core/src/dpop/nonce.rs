//! Server-provided DPoP nonces (RFC 9449 §8, §9), stateless: a nonce is a
//! time step and a MAC of it under a secret the fleet shares, so any
//! instance accepts any instance's nonce, and none keeps a list.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::{constant_time, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The shortest secret [`DpopNonces::new`] accepts, in bytes.
pub const MIN_NONCE_SECRET_BYTES: usize = 32;

const TAG_BYTES: usize = 16;

/// Issues and checks DPoP nonces. A nonce names the time step it was issued
/// in (`now / step`) and carries a MAC of it; it is accepted during its own
/// step and the next one, so a client's nonce lives between one and two
/// steps. Give every instance of a fleet the same secret.
#[derive(Clone)]
pub struct DpopNonces {
    key: hmac::Key,
    step: u64,
}

impl DpopNonces {
    /// Nonces under `secret` (at least [`MIN_NONCE_SECRET_BYTES`] random
    /// bytes, shared by the fleet) rotating every `step` (at least one
    /// second; a few minutes is typical). `None` when either is too short.
    pub fn new(secret: &[u8], step: Duration) -> Option<DpopNonces> {
        if secret.len() < MIN_NONCE_SECRET_BYTES || step.as_secs() == 0 {
            return None;
        }
        Some(DpopNonces { key: hmac::Key::new(hmac::HMAC_SHA256, secret), step: step.as_secs() })
    }

    /// The nonce to hand out at `now`.
    pub(crate) fn issue(&self, now: u64) -> String {
        let step = now / self.step;
        let mut bytes = [0u8; 8 + TAG_BYTES];
        bytes[..8].copy_from_slice(&step.to_be_bytes());
        bytes[8..].copy_from_slice(&self.tag(step));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was issued by this fleet in the current or the
    /// previous step.
    pub(crate) fn accepts(&self, nonce: &str, now: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else { return false };
        let Ok(bytes) = <[u8; 8 + TAG_BYTES]>::try_from(bytes.as_slice()) else { return false };
        let step = u64::from_be_bytes(bytes[..8].try_into().expect("eight bytes"));
        let current = now / self.step;
        let recent = step == current || step.saturating_add(1) == current;
        recent && constant_time::verify_slices_are_equal(&bytes[8..], &self.tag(step)).is_ok()
    }

    fn tag(&self, step: u64) -> [u8; TAG_BYTES] {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(b"tokengate dpop-nonce v1");
        context.update(&step.to_be_bytes());
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&context.sign().as_ref()[..TAG_BYTES]);
        tag
    }
}

impl fmt::Debug for DpopNonces {
    /// The secret is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces").field("step_secs", &self.step).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_its_step_and_the_next() {
        let nonces = DpopNonces::new(&[7; 32], Duration::from_secs(300)).unwrap();
        let issued = nonces.issue(1_000_000);
        assert!(nonces.accepts(&issued, 1_000_000));
        assert!(nonces.accepts(&issued, 1_000_199)); // same step (999_900..1_000_200)
        assert!(nonces.accepts(&issued, 1_000_499)); // the next step
        assert!(!nonces.accepts(&issued, 1_000_500)); // two steps on
        assert!(!nonces.accepts(&issued, 999_899)); // before it was issued
        let other_fleet = DpopNonces::new(&[8; 32], Duration::from_secs(300)).unwrap();
        assert!(!other_fleet.accepts(&issued, 1_000_000));
        for garbage in ["", "x", "AAAA", &issued[1..], &format!("{issued}A")] {
            assert!(!nonces.accepts(garbage, 1_000_000), "{garbage}");
        }
        assert!(issued.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn short_secrets_and_steps_are_refused() {
        assert!(DpopNonces::new(&[7; 31], Duration::from_secs(60)).is_none());
        assert!(DpopNonces::new(&[7; 32], Duration::from_millis(500)).is_none());
    }
}
