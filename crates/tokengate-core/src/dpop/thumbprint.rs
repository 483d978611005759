//! JWK SHA-256 thumbprints (RFC 7638), the value of `cnf.jkt` (RFC 9449 §6.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::parse::json::{Members, as_str};

/// The thumbprint of a public JWK given as JSON: the required members of
/// its `kty` (RFC 7638 §3.2; RFC 8037 §2 for `OKP`), in lexicographic order,
/// without whitespace, hashed with SHA-256 and base64url-encoded. `None`
/// when a required member is missing, not a string, or would need escaping
/// (RFC 7638 §3.3: such a key has no defined thumbprint).
pub(crate) fn thumbprint(jwk: &Members<'_>) -> Option<String> {
    let member = |name: &str| -> Option<String> {
        let value = as_str(jwk.get(name)?)?;
        let plain = value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        plain.then(|| value.into_owned())
    };
    let kty = member("kty")?;
    let required: &[&str] = match kty.as_str() {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (index, name) in required.iter().enumerate() {
        if index > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!("\"{name}\":\"{}\"", member(name)?));
    }
    canonical.push('}');
    Some(sha256_b64(canonical.as_bytes()))
}

/// base64url (no padding) of SHA-256 of `bytes`: a thumbprint, or `ath`.
pub(crate) fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(json: &str) -> Option<String> {
        thumbprint(&Members::parse(json).unwrap())
    }

    #[test]
    fn rfc_7638_section_3_1() {
        let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
        assert_eq!(of(jwk).as_deref(), Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    }

    #[test]
    fn rfc_8037_appendix_a_3() {
        let public = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        assert_eq!(of(public).as_deref(), Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"));
    }

    #[test]
    fn rfc_9449_example_key() {
        let jwk = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
        assert_eq!(of(jwk).as_deref(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    }

    #[test]
    fn undefined_thumbprints() {
        for jwk in [
            r#"{"kty":"oct","k":"AQAB"}"#,
            r#"{"kty":"EC","crv":"P-256","x":"AA"}"#,
            r#"{"kty":"RSA","n":"AA","e":1}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"a\"b"}"#,
            r#"{"crv":"Ed25519","x":"AA"}"#,
        ] {
            assert_eq!(of(jwk), None, "{jwk}");
        }
    }

    #[test]
    fn ath_of_the_rfc_9449_example_token() {
        assert_eq!(
            sha256_b64(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
