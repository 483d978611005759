//! The compact JWS serialization (RFC 7515 §7.1), parsed strictly and
//! cheaply, before any key is touched.

use std::borrow::Cow;

use crate::algorithm::Algorithm;
use crate::error::{Error, Part, TokenProblem};
use crate::parse::json::{Members, ObjectError, as_str, string_array};

/// The default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The bytes a compact JWS may contain: base64url and `.`; a table, because
/// this check runs over every byte of every token.
const COMPACT_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
        byte += 1;
    }
    table
};

/// A compact JWS whose header has been read; claims and signature still bytes.
pub(crate) struct Jws<'t> {
    pub(crate) header: Header,
    /// What was signed, the claims set and the signature.
    pub(crate) segments: Segments<'t>,
}

/// The JOSE header members tokengate acts on. `jku`, `x5u`, `jwk` and `x5c`
/// are never read: keys come only from the issuer's configured source.
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// Whether `token` has the shape of a compact JWS (three dot-separated
/// segments): the tokens verified locally; any other is opaque.
pub(crate) fn is_compact(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

pub(crate) fn parse(token: &str, max_len: usize) -> Result<Jws<'_>, Error> {
    let segments = decode_segments(token, max_len)?;
    Ok(Jws { header: parse_header(segments.header())?, segments })
}

/// A compact JWS split and decoded, its header not yet read: the part every
/// JWS tokengate reads (access tokens, DPoP proofs) shares.
pub(crate) struct Segments<'t> {
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: what was signed.
    pub(crate) signing_input: &'t [u8],
    /// The header's JSON text, then the payload's: one buffer for both,
    /// each part checked to be UTF-8.
    json: String,
    /// Where the payload starts in `json`.
    payload_at: usize,
    pub(crate) signature: Vec<u8>,
}

impl Segments<'_> {
    /// The header's JSON text.
    pub(crate) fn header(&self) -> &str {
        &self.json[..self.payload_at]
    }

    /// The payload's JSON text.
    pub(crate) fn payload(&self) -> &str {
        &self.json[self.payload_at..]
    }
}

/// Size cap, alphabet, three segments, canonical base64url, UTF-8.
pub(crate) fn decode_segments(token: &str, max_len: usize) -> Result<Segments<'_>, Error> {
    let bytes = token.as_bytes();
    if bytes.len() > max_len {
        return Err(Error::TokenTooLarge { limit: max_len });
    }
    if bytes.first() == Some(&b'{') {
        return Err(malformed(TokenProblem::JsonSerialization));
    }
    // A byte outside the alphabet is reported as such whatever else is
    // wrong; it is looked for only once something is (a token that decodes
    // has none: base64url decoding refuses every other byte), so a good
    // token is not scanned twice.
    let refused = |problem: TokenProblem| {
        if bytes.iter().all(|b| COMPACT_ALPHABET[usize::from(*b)]) {
            malformed(problem)
        } else {
            malformed(TokenProblem::InvalidCharacters)
        }
    };
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        let dots = bytes.iter().filter(|b| **b == b'.').count();
        return Err(refused(if dots == 4 { TokenProblem::Encrypted } else { TokenProblem::NotCompact }));
    };
    if signature.is_empty() {
        return Err(refused(TokenProblem::MissingSignature));
    }
    let (json, payload_at) = decode_json(header, payload).map_err(refused)?;
    Ok(Segments {
        signing_input: &bytes[..bytes.len() - signature.len() - 1],
        json,
        payload_at,
        signature: decode_into(signature, Part::Signature, Vec::new()).map_err(refused)?,
    })
}

/// The header and payload segments decoded into one buffer, then checked
/// to be UTF-8 (the only check of it); where the payload starts.
fn decode_json(header: &str, payload: &str) -> Result<(String, usize), TokenProblem> {
    // A segment of n characters decodes to at most 3n/4 bytes.
    let json = Vec::with_capacity((header.len() + payload.len()) / 4 * 3 + 3);
    let json = decode_into(header, Part::Header, json)?;
    let payload_at = json.len();
    let json = decode_into(payload, Part::Claims, json)?;
    match String::from_utf8(json) {
        // Both parts are UTF-8 exactly when the whole is and the payload
        // starts on a character boundary.
        Ok(json) if json.is_char_boundary(payload_at) => Ok((json, payload_at)),
        Ok(json) if std::str::from_utf8(&json.as_bytes()[..payload_at]).is_err() => {
            Err(TokenProblem::InvalidJson(Part::Header))
        }
        Ok(_) => Err(TokenProblem::InvalidJson(Part::Claims)),
        Err(error) if std::str::from_utf8(&error.as_bytes()[..payload_at]).is_err() => {
            Err(TokenProblem::InvalidJson(Part::Header))
        }
        Err(_) => Err(TokenProblem::InvalidJson(Part::Claims)),
    }
}

/// Canonical unpadded base64url only: no padding, no `+`/`/`, no non-zero
/// trailing bits (`base64_simd` refuses all three, as the `base64` crate
/// does), appended to `buffer`.
fn decode_into(segment: &str, part: Part, mut buffer: Vec<u8>) -> Result<Vec<u8>, TokenProblem> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_append(segment, &mut buffer)
        .map_err(|_| TokenProblem::NonCanonicalBase64(part))?;
    Ok(buffer)
}

fn parse_header(json: &str) -> Result<Header, Error> {
    let members = Members::parse(json).map_err(|e| object_error(e, Part::Header))?;
    let string = |name: &'static str| -> Result<Option<Cow<'_, str>>, Error> {
        members
            .get(name)
            .map(|raw| as_str(raw).ok_or(malformed(TokenProblem::InvalidHeaderMember(name))))
            .transpose()
    };
    let alg = string("alg")?.ok_or(malformed(TokenProblem::MissingAlgorithm))?;
    let alg = Algorithm::from_name(&alg).ok_or(Error::UnsupportedAlgorithm)?;
    if let Some(crit) = members.get("crit") {
        // RFC 7515 §4.1.11: a non-empty array of names the recipient must
        // understand. tokengate implements no JWS extension, so any name is unknown.
        let names = string_array(crit).ok_or(malformed(TokenProblem::InvalidHeaderMember("crit")))?;
        if names.is_empty() {
            return Err(malformed(TokenProblem::InvalidHeaderMember("crit")));
        }
        return Err(Error::UnknownCriticalHeader);
    }
    Ok(Header { alg, kid: string("kid")?.map(Cow::into_owned), typ: string("typ")?.map(Cow::into_owned) })
}

pub(crate) fn object_error(error: ObjectError, part: Part) -> Error {
    malformed(match error {
        ObjectError::Invalid => TokenProblem::InvalidJson(part),
        ObjectError::DuplicateMember => TokenProblem::DuplicateMember(part),
    })
}

fn malformed(problem: TokenProblem) -> Error {
    Error::MalformedToken(problem)
}
