//! One DPoP proof, checked as RFC 9449 §4.3 requires: everything that does
//! not need the access token or a store.

use std::borrow::Cow;

use super::{DpopProblem, htu, thumbprint};
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::keys::{Key, KeyError};
use crate::parse::claims::RawClaims;
use crate::parse::json::{Members, as_str};
use crate::parse::jws::decode_segments;

/// The longest proof read (RFC 9449 §11.1 asks to refuse oversized ones).
pub(crate) const MAX_PROOF_BYTES: usize = 8 * 1024;
/// The longest `jti` accepted (a UUID is 36 bytes; §11.1: "unnecessarily
/// large jti values" should be refused).
pub(crate) const MAX_JTI_BYTES: usize = 256;

/// What a proof asserts once its signature, type and time are checked.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    /// RFC 7638 thumbprint of the proof's key.
    pub(crate) thumbprint: String,
    pub(crate) jti: String,
    pub(crate) iat: u64,
    /// `ath`: the hash of the access token it goes with.
    pub(crate) ath: String,
    pub(crate) nonce: Option<String>,
}

/// The request a proof must be for.
pub(crate) struct Target<'a> {
    /// The method, compared exactly (RFC 9110 §9.1: case-sensitive).
    pub(crate) method: &'a str,
    /// The request's URL, normalised.
    pub(crate) url: &'a str,
}

/// Checks `proof` for `target` at `now`: §4.3 checks 2–9 and 11 (the
/// others — one header, `ath`, the key binding, the nonce, `jti` — need the
/// request, the token or a store, and are the caller's).
pub(crate) fn check(
    proof: &str,
    algorithms: AlgorithmSet,
    target: &Target<'_>,
    window: u64,
    now: u64,
) -> Result<CheckedProof, DpopProblem> {
    let segments = decode_segments(proof, MAX_PROOF_BYTES).map_err(|_| DpopProblem::Malformed)?;
    let header = Members::parse(segments.header()).map_err(|_| DpopProblem::Malformed)?;
    let string = |members: &Members<'_>, name: &'static str| -> Result<Option<String>, DpopProblem> {
        match members.get(name) {
            None => Ok(None),
            Some(raw) => as_str(raw).map(|s| Some(s.into_owned())).ok_or(DpopProblem::Malformed),
        }
    };
    // §4.3 check 4: `typ` is `dpop+jwt` (with or without `application/`).
    let typ = string(&header, "typ")?.ok_or(DpopProblem::WrongType)?;
    let typ = typ.get(..12).filter(|p| p.eq_ignore_ascii_case("application/")).map_or(&*typ, |_| &typ[12..]);
    if !typ.eq_ignore_ascii_case("dpop+jwt") {
        return Err(DpopProblem::WrongType);
    }
    if header.get("crit").is_some() {
        return Err(DpopProblem::Malformed);
    }
    // Check 5: an asymmetric algorithm of the allow-list (never `none`, never HMAC).
    let alg = string(&header, "alg")?.ok_or(DpopProblem::Malformed)?;
    let alg = Algorithm::from_name(&alg)
        .filter(|alg| !alg.is_symmetric() && algorithms.contains(*alg))
        .ok_or(DpopProblem::AlgorithmNotAllowed)?;
    // Checks 6–7: the `jwk` header, public, verifies the signature.
    let jwk = header.get("jwk").ok_or(DpopProblem::MissingKey)?;
    let key = Key::from_jwk_json(jwk).map_err(|error| match error {
        KeyError::PrivateKeyPublished { .. } => DpopProblem::PrivateKey,
        _ => DpopProblem::UnusableKey,
    })?;
    let verifier = key.verifier(alg).ok_or(DpopProblem::UnusableKey)?;
    if !verifier.verify(segments.signing_input, &segments.signature) {
        return Err(DpopProblem::InvalidSignature);
    }
    let members = Members::parse(jwk).map_err(|_| DpopProblem::UnusableKey)?;
    let thumbprint = thumbprint::thumbprint(&members).ok_or(DpopProblem::UnusableKey)?;

    // Check 3: the claims the RFC requires of a proof sent with a token.
    let claims = RawClaims::parse(segments.payload()).map_err(|_| DpopProblem::Malformed)?;
    let claim = |name: &'static str| -> Result<Cow<'_, str>, DpopProblem> {
        claims.string(name).map_err(|_| DpopProblem::Malformed)?.ok_or(DpopProblem::MissingClaim(name))
    };
    let jti = claim("jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
        return Err(DpopProblem::Malformed);
    }
    // Check 8: the method, exactly.
    if claim("htm")? != target.method {
        return Err(DpopProblem::MethodMismatch);
    }
    // Check 9: the URL, normalised, without query and fragment.
    let htu = htu::normalise(&claim("htu")?).ok_or(DpopProblem::UrlMismatch)?;
    if htu != target.url {
        return Err(DpopProblem::UrlMismatch);
    }
    // Check 11: created within the window, either side of now.
    let iat = claims.numeric_date("iat").map_err(|_| DpopProblem::Malformed)?;
    let iat = iat.ok_or(DpopProblem::MissingClaim("iat"))?;
    if iat.abs_diff(now) > window {
        return Err(DpopProblem::OutsideWindow);
    }
    let ath = claim("ath")?.into_owned();
    let nonce = claims.string("nonce").map_err(|_| DpopProblem::Malformed)?.map(Cow::into_owned);
    Ok(CheckedProof { thumbprint, jti: jti.into_owned(), iat, ath, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 Figure 13: the proof sent to a resource server with the
    /// access token `Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU`.
    const FIGURE_13: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
    /// RFC 9449 Figure 2: a proof for the token endpoint, same key.
    const FIGURE_2: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    const IAT: u64 = 1_562_262_618;

    fn resource() -> String {
        htu::normalise("https://resource.example.org/protectedresource").unwrap()
    }

    #[test]
    fn the_rfc_9449_example_proof_is_accepted_for_its_request() {
        let url = resource();
        let target = Target { method: "GET", url: &url };
        let proof = check(FIGURE_13, AlgorithmSet::ASYMMETRIC, &target, 60, IAT + 5).unwrap();
        assert_eq!(proof.thumbprint, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(proof.ath, thumbprint::sha256_b64(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"));
        assert_eq!((proof.jti.as_str(), proof.iat, proof.nonce), ("e1j3V_bKic8-LAEB", IAT, None));
    }

    #[test]
    fn the_rfc_9449_example_proof_is_refused_for_anything_else() {
        let url = resource();
        let get = Target { method: "GET", url: &url };
        let algs = AlgorithmSet::ASYMMETRIC;
        assert_eq!(check(FIGURE_13, algs, &get, 60, IAT + 61).unwrap_err(), DpopProblem::OutsideWindow);
        assert_eq!(check(FIGURE_13, algs, &get, 60, IAT - 61).unwrap_err(), DpopProblem::OutsideWindow);
        let post = Target { method: "POST", url: &url };
        assert_eq!(check(FIGURE_13, algs, &post, 60, IAT).unwrap_err(), DpopProblem::MethodMismatch);
        let other = htu::normalise("https://resource.example.org/other").unwrap();
        let elsewhere = Target { method: "GET", url: &other };
        assert_eq!(check(FIGURE_13, algs, &elsewhere, 60, IAT).unwrap_err(), DpopProblem::UrlMismatch);
        let es384_only = AlgorithmSet::from_iter([Algorithm::ES384]);
        assert_eq!(
            check(FIGURE_13, es384_only, &get, 60, IAT).unwrap_err(),
            DpopProblem::AlgorithmNotAllowed
        );
        // The token-endpoint proof: the method differs first.
        assert_eq!(check(FIGURE_2, algs, &get, 60, IAT).unwrap_err(), DpopProblem::MethodMismatch);
        // Another signature byte (still canonical base64url).
        let mut tampered = FIGURE_13.to_owned();
        let at = tampered.len() - 10;
        let swapped = if &tampered[at..=at] == "A" { "B" } else { "A" };
        tampered.replace_range(at..=at, swapped);
        assert_eq!(check(&tampered, algs, &get, 60, IAT).unwrap_err(), DpopProblem::InvalidSignature);
    }
}
