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

mod scan;
mod text;

use std::borrow::Cow;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};

pub(crate) use self::text::{as_str, string_array};

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
        scan::object(json)
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

/// Whether a name repeats among `names` (one object's member names).
fn has_duplicate(names: &[Cow<'_, str>]) -> bool {
    if names.len() <= 16 {
        return names.iter().enumerate().any(|(i, name)| names[..i].contains(name));
    }
    let mut names: Vec<&str> = names.iter().map(|name| &**name).collect();
    names.sort_unstable();
    names.windows(2).any(|pair| pair[0] == pair[1])
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
mod tests;

/// The scanner held to a reference built on `serde_json` (the parser this
/// module used before): the same verdict, names and raw values (when both
/// refuse, the same reason unless the document has two problems) for
/// documents generated to hit duplicates, escapes, numbers and whitespace,
/// and for those documents mangled byte by byte.
#[cfg(test)]
mod differential;
