//! The compact JWS serialization (RFC 7515 §7.1), parsed strictly and
//! cheaply, before any key is touched.

use std::borrow::Cow;

use std::sync::Arc;

use arc_swap::ArcSwapOption;

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
#[derive(Clone)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// Whether `token` has the shape of a compact JWS (three dot-separated
/// segments): the tokens verified locally; any other is opaque.
pub(crate) fn is_compact(token: &str) -> bool {
    memchr::memchr_iter(b'.', token.as_bytes()).count() == 2
}

/// An access token: its header from `headers` when a token with the same
/// header segment was parsed before, else decoded, parsed and kept there.
pub(crate) fn parse<'t>(token: &'t str, max_len: usize, headers: &HeaderCache) -> Result<Jws<'t>, Error> {
    let split = split(token, max_len)?;
    if let Some(header) = headers.get(split.header) {
        return Ok(Jws { header, segments: split.decode(false)? });
    }
    let segments = split.decode(true)?;
    let header = parse_header(segments.header())?;
    headers.insert(split.header, &header);
    Ok(Jws { header, segments })
}

/// JOSE headers recently parsed, by their encoded segment: an issuer's
/// tokens share one, so most tokens skip decoding and parsing theirs. A few
/// slots, picked by a hash of the segment and compared in full; only
/// headers that parsed are kept, and a slot's reader never waits on its
/// writer (nothing shared is written on a hit).
pub(crate) struct HeaderCache {
    slots: [ArcSwapOption<KnownHeader>; HEADER_SLOTS],
}

/// How many headers [`HeaderCache`] holds at most.
const HEADER_SLOTS: usize = 8;

struct KnownHeader {
    segment: Box<str>,
    header: Header,
}

impl HeaderCache {
    pub(crate) fn new() -> Self {
        HeaderCache { slots: Default::default() }
    }

    fn slot(&self, segment: &str) -> &ArcSwapOption<KnownHeader> {
        // FNV-1a: cheap. Headers aimed at one slot, or a flood of distinct
        // ones, only make tokens miss, and a miss costs what no cache costs.
        let hash = segment.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        &self.slots[(hash % HEADER_SLOTS as u64) as usize]
    }

    fn get(&self, segment: &str) -> Option<Header> {
        let known = self.slot(segment).load();
        known.as_ref().filter(|known| *known.segment == *segment).map(|known| known.header.clone())
    }

    fn insert(&self, segment: &str, header: &Header) {
        let known = KnownHeader { segment: Box::from(segment), header: header.clone() };
        self.slot(segment).store(Some(Arc::new(known)));
    }
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
    split(token, max_len)?.decode(true)
}

/// A compact JWS split into its three segments, none decoded yet.
struct Split<'t> {
    token: &'t str,
    header: &'t str,
    payload: &'t str,
    signature: &'t str,
}

/// Size cap, no JSON serialization, three segments, a signature.
fn split(token: &str, max_len: usize) -> Result<Split<'_>, Error> {
    let bytes = token.as_bytes();
    if bytes.len() > max_len {
        return Err(Error::TokenTooLarge { limit: max_len });
    }
    if bytes.first() == Some(&b'{') {
        return Err(malformed(TokenProblem::JsonSerialization));
    }
    // memchr's vector search: the dots are most of a token's length apart.
    let mut dots = memchr::memchr_iter(b'.', bytes);
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        let dots = memchr::memchr_iter(b'.', bytes).count();
        return Err(refused(
            token,
            if dots == 4 { TokenProblem::Encrypted } else { TokenProblem::NotCompact },
        ));
    };
    let (header, payload, signature) = (&token[..first], &token[first + 1..second], &token[second + 1..]);
    if signature.is_empty() {
        return Err(refused(token, TokenProblem::MissingSignature));
    }
    Ok(Split { token, header, payload, signature })
}

impl<'t> Split<'t> {
    /// The segments decoded; the header only `with_header` (when it is not
    /// known already; [`Segments::header`] is empty otherwise).
    fn decode(&self, with_header: bool) -> Result<Segments<'t>, Error> {
        let header = if with_header { self.header } else { "" };
        let refused = |problem| refused(self.token, problem);
        let (json, payload_at) = decode_json(header, self.payload).map_err(refused)?;
        Ok(Segments {
            signing_input: &self.token.as_bytes()[..self.token.len() - self.signature.len() - 1],
            json,
            payload_at,
            signature: decode_into(self.signature, Part::Signature, Vec::new()).map_err(refused)?,
        })
    }
}

/// A byte outside the alphabet is reported as such whatever else is wrong;
/// it is looked for only once something is (a token that decodes has none:
/// base64url decoding refuses every other byte), so a good token is not
/// scanned twice.
fn refused(token: &str, problem: TokenProblem) -> Error {
    if token.bytes().all(|b| COMPACT_ALPHABET[usize::from(b)]) {
        malformed(problem)
    } else {
        malformed(TokenProblem::InvalidCharacters)
    }
}

/// The header and payload segments decoded into one buffer, then checked
/// to be UTF-8 (the only check of it); where the payload starts.
fn decode_json(header: &str, payload: &str) -> Result<(String, usize), TokenProblem> {
    // A segment of n characters decodes to at most 3n/4 bytes.
    let json = Vec::with_capacity((header.len() + payload.len()) / 4 * 3 + 3);
    let json = decode_into(header, Part::Header, json)?;
    let payload_at = json.len();
    let json = decode_into(payload, Part::Claims, json)?;
    // Both parts are UTF-8 exactly when the whole is and the payload starts
    // on a character boundary; otherwise the header is blamed if it is not.
    let json = match String::from_utf8(json) {
        Ok(json) if json.is_char_boundary(payload_at) => return Ok((json, payload_at)),
        Ok(json) => json.into_bytes(),
        Err(error) => error.into_bytes(),
    };
    let part = if std::str::from_utf8(&json[..payload_at]).is_err() { Part::Header } else { Part::Claims };
    Err(TokenProblem::InvalidJson(part))
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

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn a_known_header_is_not_parsed_again_and_only_good_headers_are_kept() {
        let headers = HeaderCache::new();
        let first = token(r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#, r#"{"sub":"a"}"#);
        let jws = parse(&first, 8192, &headers).unwrap();
        assert_eq!((jws.header.alg, jws.header.kid.as_deref()), (Algorithm::ES256, Some("k1")));
        assert_eq!(jws.segments.header(), r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#);
        // The same header segment, other claims: the header comes from the cache.
        let second = token(r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#, r#"{"sub":"b"}"#);
        let jws = parse(&second, 8192, &headers).unwrap();
        assert_eq!((jws.header.alg, jws.header.typ.as_deref()), (Algorithm::ES256, Some("at+jwt")));
        assert_eq!(
            (jws.segments.header(), jws.segments.payload()),
            ("", r#"{"sub":"b"}"#),
            "not decoded again"
        );
        // A refused header is refused each time, never kept.
        let bad = token(r#"{"alg":"ES256","alg":"none"}"#, r#"{"sub":"a"}"#);
        for _ in 0..2 {
            let refused = parse(&bad, 8192, &headers).err();
            assert_eq!(refused, Some(malformed(TokenProblem::DuplicateMember(Part::Header))));
        }
        // A hit still decodes and checks the rest.
        let broken = format!("{}.e30.AB", first.split('.').next().unwrap());
        assert_eq!(
            parse(&broken, 8192, &headers).err(),
            Some(malformed(TokenProblem::NonCanonicalBase64(Part::Signature)))
        );
    }

    #[test]
    fn headers_beyond_the_slots_evict_each_other_and_stay_correct() {
        let headers = HeaderCache::new();
        let mut misses = 0;
        for round in 0..3 {
            for kid in 0..(3 * HEADER_SLOTS) {
                let token = token(&format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#), "{}");
                let jws = parse(&token, 8192, &headers).unwrap();
                assert_eq!(jws.header.kid, Some(kid.to_string()), "round {round}");
                misses += usize::from(!jws.segments.header().is_empty());
                // Right after its parse, a header is held: the same token hits.
                let again = parse(&token, 8192, &headers).unwrap();
                assert_eq!((again.header.kid, again.segments.header()), (Some(kid.to_string()), ""));
            }
        }
        // 24 headers in 8 slots: later rounds miss on what was evicted.
        assert!(misses > 3 * HEADER_SLOTS, "{misses} misses: nothing evicted");
    }
}
