//! Strict JSON objects for JOSE headers and claims sets.
//!
//! `serde_json` silently keeps the last of two members with the same name;
//! an attacker can use that to show one value to one parser and another to
//! the next. Here every object, at every depth, is refused when it names a
//! member twice. Objects and arrays nest at most 32 levels deep (counted
//! alike), so a deeply nested document is an error, not a stack overflow.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

/// Why a byte string is not a strict JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectError {
    /// Not JSON, not an object, or nested too deeply.
    Invalid,
    /// Some object names a member twice.
    DuplicateMember,
}

/// A JSON object's members, in document order, values kept as raw JSON.
pub(crate) struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Members<'a> {
    /// Parses `json` as an object with unique member names at every depth.
    /// (`&str`, not bytes: the caller checks UTF-8 once per document, and
    /// `serde_json` then need not re-check every raw value it hands back.)
    pub(crate) fn parse(json: &'a str) -> Result<Members<'a>, ObjectError> {
        let members: Members<'a> = serde_json::from_str(json).map_err(|_| ObjectError::Invalid)?;
        check_unique(members.names())?;
        for (_, value) in &members.0 {
            check_nested(value)?;
        }
        Ok(members)
    }

    /// The raw JSON of member `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// The member names.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| &**n)
    }

    /// The object as `T`, read from these members (each value from its own
    /// raw text) instead of parsing the whole document again. Presented as
    /// a map: a `T` that deserializes from an object (a struct, a map) gets
    /// exactly what `serde_json::from_str` of the document would give it;
    /// for anything else the caller falls back to that.
    pub(crate) fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(MembersDeserializer(&self.0))
    }
}

/// [`Members`] as a serde map.
struct MembersDeserializer<'s>(&'s [(Cow<'s, str>, &'s RawValue)]);

impl<'de> Deserializer<'de> for MembersDeserializer<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(MembersAccess { members: self.0.iter(), value: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct MembersAccess<'s> {
    members: std::slice::Iter<'s, (Cow<'s, str>, &'s RawValue)>,
    value: Option<&'s RawValue>,
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
        seed.deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// Refuses a repeated name among `names` (one object's member names).
fn check_unique<'n>(names: impl Iterator<Item = &'n str>) -> Result<(), ObjectError> {
    let mut names: Vec<&str> = names.collect();
    let duplicate = if names.len() <= 16 {
        names.iter().enumerate().any(|(i, n)| names[..i].contains(n))
    } else {
        names.sort_unstable();
        names.windows(2).any(|w| w[0] == w[1])
    };
    if duplicate { Err(ObjectError::DuplicateMember) } else { Ok(()) }
}

/// How deeply objects and arrays may nest inside a header or claims set.
const MAX_DEPTH: usize = 32;

/// Checks the objects and arrays inside a top-level member's value — unique
/// names, bounded depth — in one pass over its text, however deep it nests.
fn check_nested(value: &RawValue) -> Result<(), ObjectError> {
    let bytes = value.get().as_bytes();
    match bytes.first() {
        // An array holding no object and no array (e.g. `aud`, `scp`) cannot
        // repeat a member name or nest; nothing to check.
        Some(b'[') if !bytes[1..].iter().any(|b| matches!(b, b'[' | b'{')) => Ok(()),
        Some(b'[' | b'{') => {
            let problem = Cell::new(ObjectError::Invalid);
            let mut json = serde_json::Deserializer::from_str(value.get());
            // A member's value is one level down from the claims set itself.
            Strict { depth: 1, problem: &problem }.deserialize(&mut json).map_err(|_| problem.get())
        }
        _ => Ok(()),
    }
}

/// Walks a JSON value, refusing an object that repeats a member name and
/// nesting deeper than [`MAX_DEPTH`]; keeps nothing. `problem` says which
/// (the error itself is `serde_json`'s).
struct Strict<'p> {
    depth: usize,
    problem: &'p Cell<ObjectError>,
}

impl Strict<'_> {
    fn deeper(&self) -> Self {
        Strict { depth: self.depth + 1, problem: self.problem }
    }

    fn check_depth<E: de::Error>(&self) -> Result<(), E> {
        if self.depth > MAX_DEPTH { Err(E::custom("nested too deeply")) } else { Ok(()) }
    }
}

impl<'de> de::DeserializeSeed<'de> for Strict<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.check_depth()?;
        let mut names: Vec<Cow<'de, str>> = Vec::new();
        while let Some(JsonStr(name)) = map.next_key()? {
            names.push(name);
            map.next_value_seed(self.deeper())?;
        }
        check_unique(names.iter().map(|n| &**n)).map_err(|problem| {
            self.problem.set(problem);
            de::Error::custom("a repeated member name")
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.check_depth()?;
        while seq.next_element_seed(self.deeper())?.is_some() {}
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

/// A string decoded from JSON, borrowed when it has no escapes.
pub(crate) struct JsonStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(JsonStr(name)) = map.next_key()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// The JSON text of a string value, decoded; `None` when it is not a string.
/// (Checked by its first byte: building a `serde_json` error costs more than
/// the parse.) A `RawValue` is valid JSON, so a string without a backslash
/// is its text between the quotes (control characters were refused by the
/// parse); only escapes need decoding.
pub(crate) fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    if !text.contains('\\') {
        return Some(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    serde_json::from_str::<JsonStr<'_>>(text).ok().map(|s| s.0)
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
