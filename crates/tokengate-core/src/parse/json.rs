//! Strict JSON objects for JOSE headers and claims sets, read in one pass.
//!
//! `serde_json` silently keeps the last of two members with the same name;
//! an attacker can use that to show one value to one parser and another to
//! the next. Here every object, at every depth, is refused when it names a
//! member twice. Objects and arrays nest at most 32 levels deep (counted
//! alike), so a deeply nested document is an error, not a stack overflow.
//!
//! The scanner is hand-written because it runs over every byte of every
//! token: one pass checks the grammar (RFC 8259), the names and the depth,
//! and keeps each top-level member's value as its raw text, borrowed; values
//! are read (by the claim rules, or by serde for the caller's claims type)
//! only when asked for. A differential test holds it to `serde_json`.

use std::borrow::Cow;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};

/// Why a byte string is not a strict JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectError {
    /// Not JSON, not an object, or nested too deeply.
    Invalid,
    /// Some object names a member twice.
    DuplicateMember,
}

/// How deeply objects and arrays may nest inside a header or claims set.
const MAX_DEPTH: usize = 32;

/// How many member names have a slot (see [`known`]).
const KNOWN: usize = 22;

/// The slot of a member name tokengate reads from headers, claims sets and
/// keys, so that looking one up (a dozen times per token) does not compare
/// it with every name the document has. (A `match`, not a table search: it
/// compiles to a switch on the length, and to a constant for the literal
/// names callers look up.)
#[inline(always)]
fn known(name: &str) -> Option<usize> {
    Some(match name {
        "iss" => 0,
        "sub" => 1,
        "aud" => 2,
        "exp" => 3,
        "nbf" => 4,
        "iat" => 5,
        "jti" => 6,
        "client_id" => 7,
        "scope" => 8,
        "scp" => 9,
        "permissions" => 10,
        "cnf" => 11,
        "alg" => 12,
        "kid" => 13,
        "typ" => 14,
        "crit" => 15,
        "jwk" => 16,
        "htm" => 17,
        "htu" => 18,
        "ath" => 19,
        "nonce" => 20,
        "jkt" => 21,
        _ => return None,
    })
}

/// Up to this many members, known names are found by their slot.
const MAX_INDEXED: usize = u8::MAX as usize;

/// A JSON object's members, in document order, each value kept as its raw
/// JSON text (valid JSON, without surrounding whitespace).
pub(crate) struct Members<'a> {
    members: Vec<(Cow<'a, str>, &'a str)>,
    /// For each [`known`] name, 1 + the index of its member; 0 when absent.
    slots: [u8; KNOWN],
}

impl<'a> Members<'a> {
    /// Parses `json` as an object with unique member names at every depth.
    /// (`&str`, not bytes: the caller checks UTF-8 once per document.)
    pub(crate) fn parse(json: &'a str) -> Result<Members<'a>, ObjectError> {
        let mut scanner = Scanner { text: json, pos: 0, names: Vec::new(), duplicate: false };
        let members = scanner.document()?;
        // A duplicate is reported only for a document that is otherwise
        // valid: invalid JSON is the first thing wrong with it.
        if scanner.duplicate {
            return Err(ObjectError::DuplicateMember);
        }
        Ok(members)
    }

    /// The raw JSON of member `name`. (Inlined, so that a literal name's
    /// slot is found at compile time.)
    #[inline(always)]
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        match known(name) {
            Some(slot) if self.members.len() <= MAX_INDEXED => {
                let mark = usize::from(self.slots[slot]);
                mark.checked_sub(1).map(|index| self.members[index].1)
            }
            _ => self.members.iter().find(|(n, _)| n == name).map(|(_, v)| *v),
        }
    }

    /// The member names.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(n, _)| &**n)
    }

    /// The object as `T`, read from these members (each value from its own
    /// raw text) instead of parsing the whole document again. Presented as
    /// a map: a `T` that deserializes from an object (a struct, a map, an
    /// `Option` or newtype of one) gets exactly what `serde_json::from_str`
    /// of the document would give it; for anything else the caller falls
    /// back to that.
    pub(crate) fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(MembersDeserializer(&self.members))
    }
}

/// One pass over a document.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    /// Member names to compare: the top-level names without a slot, then
    /// those of the nested objects being scanned, innermost last (one buffer
    /// for the whole document instead of one per object).
    names: Vec<Cow<'a, str>>,
    /// Whether some object repeats a name.
    duplicate: bool,
}

impl<'a> Scanner<'a> {
    /// The top-level object's members; whitespace only around it.
    fn document(&mut self) -> Result<Members<'a>, ObjectError> {
        let mut members = Vec::with_capacity(16);
        let mut slots = [0; KNOWN];
        self.skip_whitespace();
        self.expect(b'{')?;
        self.skip_whitespace();
        if !self.eat(b'}') {
            loop {
                let name = self.member_name()?;
                // A known name is compared by its slot, the others among
                // themselves (and, past the slots, with those that have one).
                let slot = known(&name);
                match (slot, u8::try_from(members.len() + 1)) {
                    (Some(slot), Ok(mark)) => {
                        self.duplicate |= slots[slot] != 0;
                        slots[slot] = mark;
                    }
                    _ => {
                        self.duplicate |= slot.is_some_and(|slot| slots[slot] != 0);
                        if self.names.capacity() == 0 {
                            // Room for a typical token's other names at once.
                            self.names.reserve(16);
                        }
                        self.names.push(name.clone());
                    }
                }
                let start = self.pos;
                self.value(1)?;
                members.push((name, &self.text[start..self.pos]));
                self.skip_whitespace();
                if !self.eat(b',') {
                    self.expect(b'}')?;
                    break;
                }
                self.skip_whitespace();
            }
        }
        self.skip_whitespace();
        if self.pos != self.text.len() {
            return Err(ObjectError::Invalid);
        }
        self.duplicate |= has_duplicate(&self.names);
        Ok(Members { members, slots })
    }

    /// `"name" :` and the whitespace after it.
    fn member_name(&mut self) -> Result<Cow<'a, str>, ObjectError> {
        self.expect(b'"')?;
        let name = self.string()?;
        self.skip_whitespace();
        self.expect(b':')?;
        self.skip_whitespace();
        Ok(name)
    }

    /// One value, `depth` levels below the top-level object.
    fn value(&mut self, depth: usize) -> Result<(), ObjectError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(ObjectError::Invalid),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), ObjectError> {
        if depth > MAX_DEPTH {
            return Err(ObjectError::Invalid);
        }
        self.pos += 1;
        let first = self.names.len();
        self.skip_whitespace();
        if !self.eat(b'}') {
            loop {
                let name = self.member_name()?;
                self.names.push(name);
                self.value(depth + 1)?;
                self.skip_whitespace();
                if !self.eat(b',') {
                    self.expect(b'}')?;
                    break;
                }
                self.skip_whitespace();
            }
        }
        self.duplicate |= has_duplicate(&self.names[first..]);
        self.names.truncate(first);
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<(), ObjectError> {
        if depth > MAX_DEPTH {
            return Err(ObjectError::Invalid);
        }
        self.pos += 1;
        self.skip_whitespace();
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            self.value(depth + 1)?;
            self.skip_whitespace();
            if !self.eat(b',') {
                return self.expect(b']');
            }
            self.skip_whitespace();
        }
    }

    /// A string whose opening quote was read, decoded (a member name).
    fn string(&mut self) -> Result<Cow<'a, str>, ObjectError> {
        let start = self.pos;
        self.pos = plain_run_end(self.text.as_bytes(), start);
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                Ok(Cow::Borrowed(&self.text[start..self.pos - 1]))
            }
            Some(b'\\') => {
                self.skip_string()?;
                let inner = &self.text[start..self.pos - 1];
                unescape(inner).map(Cow::Owned).ok_or(ObjectError::Invalid)
            }
            _ => Err(ObjectError::Invalid),
        }
    }

    /// A string whose opening quote was read, checked and skipped: no
    /// control character, every escape well formed, no lone surrogate.
    fn skip_string(&mut self) -> Result<(), ObjectError> {
        let bytes = self.text.as_bytes();
        loop {
            self.pos = plain_run_end(bytes, self.pos);
            let byte = *bytes.get(self.pos).ok_or(ObjectError::Invalid)?;
            self.pos += 1;
            match byte {
                b'"' => return Ok(()),
                b'\\' => match bytes.get(self.pos) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                    Some(b'u') => {
                        // A surrogate only as the first of a pair (I-JSON,
                        // RFC 7493 §2.1): no reader can agree on a lone one.
                        let unit =
                            self.text.get(self.pos + 1..).and_then(hex4).ok_or(ObjectError::Invalid)?;
                        self.pos += 5;
                        match unit {
                            0xD800..=0xDBFF => {
                                let low = self.text.get(self.pos..).and_then(|rest| rest.strip_prefix("\\u"));
                                match low.and_then(hex4) {
                                    Some(0xDC00..=0xDFFF) => self.pos += 6,
                                    _ => return Err(ObjectError::Invalid),
                                }
                            }
                            0xDC00..=0xDFFF => return Err(ObjectError::Invalid),
                            _ => {}
                        }
                    }
                    _ => return Err(ObjectError::Invalid),
                },
                _ => return Err(ObjectError::Invalid),
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), ObjectError> {
        self.eat(b'-');
        if !self.eat(b'0') {
            if !matches!(self.peek(), Some(b'1'..=b'9')) {
                return Err(ObjectError::Invalid);
            }
            self.digits();
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(ObjectError::Invalid);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(ObjectError::Invalid);
            }
        }
        Ok(())
    }

    /// Skips ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn literal(&mut self, word: &str) -> Result<(), ObjectError> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(ObjectError::Invalid)
        }
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let here = self.peek() == Some(byte);
        self.pos += usize::from(here);
        here
    }

    fn expect(&mut self, byte: u8) -> Result<(), ObjectError> {
        if self.eat(byte) { Ok(()) } else { Err(ObjectError::Invalid) }
    }
}

/// Where the run of plain string bytes starting at `pos` ends: at the first
/// quote, backslash or control character (or the end). Eight bytes at a
/// time: in each mask below, the lowest flagged byte is exact (a false flag
/// can only sit above a true one), so the lowest of all three is the end.
#[inline]
fn plain_run_end(bytes: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES << 7;
    let is_zero = |word: u64| word.wrapping_sub(ONES) & !word;
    while let Some(chunk) = bytes.get(pos..pos + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let flagged = (is_zero(word ^ (ONES * u64::from(b'"')))
            | is_zero(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGH_BITS;
        if flagged != 0 {
            return pos + (flagged.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while bytes.get(pos).is_some_and(|byte| !matches!(byte, b'"' | b'\\' | 0..=0x1f)) {
        pos += 1;
    }
    pos
}

/// Whether a name repeats among `names` (one object's member names).
fn has_duplicate(names: &[Cow<'_, str>]) -> bool {
    if names.len() <= 16 {
        return names.iter().enumerate().any(|(i, name)| names[..i].contains(name));
    }
    let mut names: Vec<&str> = names.iter().map(|name| &**name).collect();
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
}

/// The text between a string's quotes, its escapes decoded (their syntax,
/// surrogate pairs included, was checked by the scan; `None` if not).
fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = rest.as_bytes().get(at + 1)?;
        rest = rest.get(at + 2..)?;
        let decoded = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = hex4(rest)?;
                rest = &rest[4..];
                match unit {
                    0xD800..=0xDBFF => {
                        let low = rest.strip_prefix("\\u").and_then(hex4)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        rest = &rest[6..];
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    unit => char::from_u32(unit)?,
                }
            }
            _ => return None,
        };
        out.push(decoded);
    }
    out.push_str(rest);
    Some(out)
}

/// The four hex digits `text` starts with, as a number.
fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// The JSON text of a string value, decoded; `None` when it is not a string.
/// `raw` must be a value [`Members`] scanned (valid JSON): then a string without a backslash
/// is its text between the quotes (which holds no quote and no control
/// character); only escapes need decoding.
pub(crate) fn as_str(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if plain_run_end(inner.as_bytes(), 0) == inner.len() {
        return Some(Cow::Borrowed(inner));
    }
    unescape(inner).map(Cow::Owned)
}

/// The strings of a JSON array of strings, decoded; `None` when `raw` is
/// not an array or holds anything but strings. `raw` must be a value
/// [`Members`] scanned (valid JSON); other text gives `None` or a wrong
/// reading, never a panic.
pub(crate) fn string_array(raw: &str) -> Option<Vec<Cow<'_, str>>> {
    let inner = raw.strip_prefix('[')?.strip_suffix(']')?;
    let bytes = inner.as_bytes();
    let mut strings = Vec::with_capacity(4);
    let mut pos = 0;
    let skip_whitespace = |pos: &mut usize| {
        while matches!(bytes.get(*pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            *pos += 1;
        }
    };
    skip_whitespace(&mut pos);
    while pos < bytes.len() {
        if bytes[pos] != b'"' {
            return None;
        }
        // The closing quote: the first one not escaped (valid JSON).
        let start = pos;
        pos += 1;
        while *bytes.get(pos)? != b'"' {
            pos += if bytes[pos] == b'\\' { 2 } else { 1 };
        }
        pos += 1;
        strings.push(as_str(&inner[start..pos])?);
        skip_whitespace(&mut pos);
        if pos < bytes.len() {
            // A comma, then the next element.
            pos += 1;
            skip_whitespace(&mut pos);
        }
    }
    Some(strings)
}

/// [`Members`] as a serde map.
struct MembersDeserializer<'s>(&'s [(Cow<'s, str>, &'s str)]);

impl<'de> Deserializer<'de> for MembersDeserializer<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(MembersAccess { members: self.0.iter(), value: None })
    }

    /// An object is never `null`: `Some` of what the object deserializes to.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct MembersAccess<'s> {
    members: std::slice::Iter<'s, (Cow<'s, str>, &'s str)>,
    value: Option<&'s str>,
}

impl<'de> MapAccess<'de> for MembersAccess<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let Some((name, value)) = self.members.next() else { return Ok(None) };
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let raw = self.value.take().ok_or_else(|| de::Error::custom("a value asked for before its name"))?;
        seed.deserialize(&mut serde_json::Deserializer::from_str(raw))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_every_depth() {
        assert!(Members::parse(r#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#).is_ok());
        assert_eq!(Members::parse(r#"{"a":1,"a":2}"#).err(), Some(ObjectError::DuplicateMember));
        assert_eq!(Members::parse(r#"{"a":1,"\u0061":2}"#).err(), Some(ObjectError::DuplicateMember));
        assert_eq!(Members::parse(r#"{"x":{"c":1,"c":1}}"#).err(), Some(ObjectError::DuplicateMember));
        assert_eq!(Members::parse(r#"{"x":[1,{"c":1,"c":1}]}"#).err(), Some(ObjectError::DuplicateMember));
        let many: String =
            format!("{{{}\"k0\":0}}", (0..40).map(|i| format!("\"k{i}\":0,")).collect::<String>());
        assert_eq!(Members::parse(&many).err(), Some(ObjectError::DuplicateMember));
    }

    #[test]
    fn non_objects_and_deep_nesting_are_invalid() {
        for bad in ["[]", "1", "\"s\"", "{", "", "{\"a\":1} x"] {
            assert_eq!(Members::parse(bad).err(), Some(ObjectError::Invalid), "{bad:?}");
        }
        for depth in [40, 200, 100_000] {
            let deep = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(Members::parse(&deep).err(), Some(ObjectError::Invalid), "{depth}");
            let deep = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            assert_eq!(Members::parse(&deep).err(), Some(ObjectError::Invalid), "{depth}");
        }
        let fine = format!("{{\"a\":{}{}}}", "[".repeat(30), "]".repeat(30));
        assert!(Members::parse(&fine).is_ok());
    }

    #[test]
    fn typed_reads_from_the_members_match_a_whole_document_parse() {
        use std::collections::BTreeMap;

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Claims {
            sub: String,
            #[serde(default)]
            aud: Vec<String>,
            exp: u64,
            nested: BTreeMap<String, serde_json::Value>,
            #[serde(flatten)]
            rest: BTreeMap<String, serde_json::Value>,
        }
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            sub: String,
        }
        let json = r#"{"sub":"a\u00e9","aud":["x","y"],"exp":17,"nested":{"k":[1,{"z":null}]},"extra":1.5,"t":true}"#;
        let members = Members::parse(json).unwrap();
        let whole: Claims = serde_json::from_str(json).unwrap();
        assert_eq!(members.deserialize_into::<Claims>().unwrap(), whole);
        let whole: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(members.deserialize_into::<serde_json::Value>().unwrap(), whole);
        // Refusals stay refusals: a wrong type, an unknown field where denied.
        assert!(
            Members::parse(r#"{"sub":1,"exp":1,"nested":{}}"#).unwrap().deserialize_into::<Claims>().is_err()
        );
        assert!(members.deserialize_into::<Strict>().is_err());
        assert_eq!(Members::parse(r#"{"sub":"s"}"#).unwrap().deserialize_into::<Strict>().unwrap().sub, "s");
    }

    #[test]
    fn registered_names_are_found_and_compared_past_the_slots() {
        let filler = |name: &str, n: usize| (0..n).map(|i| format!("\"{name}{i}\":{i},")).collect::<String>();
        for before in [0, 253, 254, 300] {
            let json = format!("{{{}\"iss\":\"a\",{}\"sub\":\"b\"}}", filler("f", before), filler("k", 10));
            let members = Members::parse(&json).unwrap();
            assert_eq!((members.get("iss"), members.get("sub")), (Some("\"a\""), Some("\"b\"")), "{before}");
            assert_eq!(members.get("aud"), None);
            assert_eq!(members.get("k9"), Some("9"), "a name without a slot");
            let repeated = format!("{{\"iss\":1,{}\"iss\":2}}", filler("f", before));
            assert_eq!(Members::parse(&repeated).err(), Some(ObjectError::DuplicateMember), "{before}");
        }
    }

    #[test]
    fn numbers_beyond_f64_are_json_and_left_to_whoever_reads_them() {
        // RFC 8259 §6 sets no range; `NumericDate` claims check theirs when read.
        let members =
            Members::parse(r#"{"a":1e400,"b":[-1E+999],"c":{"d":123456789012345678901234567890}}"#).unwrap();
        assert_eq!(members.get("a"), Some("1e400"));
        for bad in [r#"{"a":1e}"#, r#"{"a":-}"#, r#"{"a":1.}"#, r#"{"a":01}"#, r#"{"a":.5}"#, r#"{"a":+1}"#] {
            assert_eq!(Members::parse(bad).err(), Some(ObjectError::Invalid), "{bad}");
        }
    }

    #[test]
    fn lone_surrogates_are_invalid_wherever_they_are() {
        for bad in [r#"{"a":"\ud800"}"#, r#"{"a":"\udc00x"}"#, r#"{"a":["\ud83dx"]}"#, r#"{"\ud800":1}"#] {
            assert_eq!(Members::parse(bad).err(), Some(ObjectError::Invalid), "{bad}");
        }
        let pair = Members::parse(r#"{"a":"\ud83d\ude00"}"#).unwrap();
        assert_eq!(pair.get("a").and_then(as_str).as_deref(), Some("\u{1F600}"));
    }

    #[test]
    fn strings_are_decoded_with_or_without_escapes() {
        let members = Members::parse(r#"{"a":"plain","b":"t\u00e9\"x\\","c":"","d":1,"e":null}"#).unwrap();
        let get = |name| members.get(name).and_then(as_str);
        assert_eq!(get("a").as_deref(), Some("plain"));
        assert!(matches!(get("a"), Some(Cow::Borrowed(_))), "no escape: borrowed");
        assert_eq!(get("b").as_deref(), Some("t\u{e9}\"x\\"));
        assert_eq!(get("c").as_deref(), Some(""));
        assert_eq!((get("d"), get("e")), (None, None));
    }

    #[test]
    fn arrays_and_objects_nest_to_the_same_depth() {
        // Inside the top-level object: 32 levels pass, 33 do not, whatever nests.
        let arrays = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n + 1), "}".repeat(n + 1));
        assert!(Members::parse(&arrays(32)).is_ok());
        assert!(Members::parse(&objects(32)).is_ok());
        assert_eq!(Members::parse(&arrays(33)).err(), Some(ObjectError::Invalid));
        assert_eq!(Members::parse(&objects(33)).err(), Some(ObjectError::Invalid));
    }
}

/// The scanner held to a reference built on `serde_json` (the parser this
/// module used before): the same verdict, names and raw values (when both
/// refuse, the same reason unless the document has two problems) for
/// documents generated to hit duplicates, escapes, numbers and whitespace,
/// and for those documents mangled byte by byte.
#[cfg(test)]
mod differential {
    use std::cell::Cell;

    use proptest::prelude::*;
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::value::RawValue;

    use super::*;

    /// `serde_json` reads the document and each value's raw text; a walk
    /// over each value refuses repeated names and nesting past 32.
    fn reference(json: &str) -> Result<Vec<(String, String)>, ObjectError> {
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = Vec<(String, &'de RawValue)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(members)
            }
        }
        let mut json_de = serde_json::Deserializer::from_str(json);
        let members = json_de.deserialize_map(Top).map_err(|_| ObjectError::Invalid)?;
        json_de.end().map_err(|_| ObjectError::Invalid)?;
        let names: Vec<Cow<'_, str>> = members.iter().map(|(name, _)| Cow::Borrowed(name.as_str())).collect();
        if has_duplicate(&names) {
            return Err(ObjectError::DuplicateMember);
        }
        // Every value is walked: reading its strings refuses lone surrogates.
        // (Its numbers, already checked by the grammar, are walked as 0:
        // `serde_json` reads them as f64 and refuses 1e400, which is JSON.)
        for (_, value) in &members {
            let problem = Cell::new(ObjectError::Invalid);
            let value = numbers_as_zero(value.get());
            let mut value_de = serde_json::Deserializer::from_str(&value);
            Walk { depth: 1, problem: &problem }.deserialize(&mut value_de).map_err(|_| problem.get())?;
        }
        Ok(members.into_iter().map(|(name, value)| (name, value.get().to_owned())).collect())
    }

    /// `json` (valid) with every number outside strings replaced by `0`.
    fn numbers_as_zero(json: &str) -> String {
        let (mut out, mut in_string, mut escaped, mut in_number) = (String::new(), false, false, false);
        for c in json.chars() {
            if in_string {
                out.push(c);
                (escaped, in_string) = match c {
                    _ if escaped => (false, true),
                    '\\' => (true, true),
                    '"' => (false, false),
                    _ => (false, true),
                };
                continue;
            }
            let number = if in_number { "-+.eE0123456789".contains(c) } else { "-0123456789".contains(c) };
            if number {
                if !in_number {
                    out.push('0');
                }
                in_number = true;
                continue;
            }
            in_number = false;
            in_string = c == '"';
            out.push(c);
        }
        out
    }

    struct Walk<'p> {
        depth: usize,
        problem: &'p Cell<ObjectError>,
    }

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            if self.depth > MAX_DEPTH {
                return Err(de::Error::custom("too deep"));
            }
            let mut names = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                names.push(Cow::Owned(name));
                map.next_value_seed(Walk { depth: self.depth + 1, problem: self.problem })?;
            }
            if has_duplicate(&names) {
                self.problem.set(ObjectError::DuplicateMember);
                return Err(de::Error::custom("repeated name"));
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            if self.depth > MAX_DEPTH {
                return Err(de::Error::custom("too deep"));
            }
            while seq.next_element_seed(Walk { depth: self.depth + 1, problem: self.problem })?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }

    fn ours(json: &str) -> Result<Vec<(String, String)>, ObjectError> {
        let members = Members::parse(json)?;
        Ok(members.members.iter().map(|(name, value)| (name.to_string(), (*value).to_owned())).collect())
    }

    fn whitespace() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ \t\r\n]{0,2}").unwrap()
    }

    /// Names drawn from a few, so that objects often repeat one (also
    /// spelled with an escape).
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"a\"".to_owned()),
            Just("\"\\u0061\"".to_owned()),
            Just("\"iss\"".to_owned()),
            Just("\"i\\u0073s\"".to_owned()),
            Just("\"aud\"".to_owned()),
            Just("\"x y\"".to_owned()),
            Just("\"\\ud83d\\ude00\"".to_owned()),
            Just("\"\u{1F600}\"".to_owned()),
            Just("\"\\ud83d\"".to_owned()),
        ]
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::string::string_regex("-?(0|[1-9][0-9]{0,12})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?")
                .unwrap(),
            proptest::string::string_regex("\"([a-z é/]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,8}\"")
                .unwrap(),
            Just("true".to_owned()),
            Just("false".to_owned()),
            Just("null".to_owned()),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(6, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec((whitespace(), inner.clone()), 0..5).prop_map(|items| {
                    let items: Vec<String> =
                        items.into_iter().map(|(ws, item)| format!("{ws}{item}{ws}")).collect();
                    format!("[{}]", items.join(","))
                }),
                object(inner),
            ]
        })
    }

    fn object(values: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        proptest::collection::vec((name(), whitespace(), values), 0..6).prop_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(name, ws, value)| format!("{ws}{name}{ws}:{ws}{value}{ws}"))
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    /// A document, possibly with one byte replaced, inserted or removed.
    fn document() -> impl Strategy<Value = String> {
        let mangle =
            (0..4u8, any::<prop::sample::Index>(), prop::sample::select(&b"{}[]\",:\\ 0-e.tn\x01"[..]));
        (object(value()), whitespace(), mangle).prop_map(|(document, ws, (how, at, byte))| {
            let mut bytes = format!("{ws}{document}{ws}").into_bytes();
            let at = at.index(bytes.len());
            match how {
                1 => bytes[at] = byte,
                2 => bytes.insert(at, byte),
                3 => drop(bytes.remove(at)),
                _ => {}
            }
            // Mangling may split a character; only UTF-8 reaches the parser.
            String::from_utf8_lossy(&bytes).into_owned()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 4096,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn the_scanner_agrees_with_serde_json(json in document()) {
            match (ours(&json), reference(&json)) {
                // A document both invalid and repeating a name: the reference
                // names the repeat when it comes first in its order of checks
                // (the whole document, then each member); either is a refusal.
                (Err(ObjectError::Invalid), Err(ObjectError::DuplicateMember)) => {}
                (ours, reference) => prop_assert_eq!(ours, reference, "{}", json),
            }
        }
    }

    #[test]
    fn generated_documents_reach_every_verdict() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut accepted, mut duplicates, mut invalid) = (0, 0, 0);
        for _ in 0..2000 {
            let json = document().new_tree(&mut runner).unwrap().current();
            match reference(&json) {
                Ok(_) => accepted += 1,
                Err(ObjectError::DuplicateMember) => duplicates += 1,
                Err(ObjectError::Invalid) => invalid += 1,
            }
        }
        assert!(accepted > 200 && duplicates > 200 && invalid > 200, "{accepted} {duplicates} {invalid}");
    }
}
