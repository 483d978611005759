//! Strict JSON objects for JOSE headers and claims sets.
//!
//! `serde_json` silently keeps the last of two members with the same name;
//! an attacker can use that to show one value to one parser and another to
//! the next. Here every object, at every depth, is refused when it names a
//! member twice. Objects and arrays nest at most 32 levels deep (counted
//! alike), so a deeply nested document is an error, not a stack overflow.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
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
        Members::parse_at(json, 0)
    }

    fn parse_at(json: &'a str, depth: usize) -> Result<Members<'a>, ObjectError> {
        let members: Members<'a> = serde_json::from_str(json).map_err(|_| ObjectError::Invalid)?;
        members.check_unique()?;
        for (_, value) in &members.0 {
            check_nested(value, depth + 1)?;
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

    fn check_unique(&self) -> Result<(), ObjectError> {
        let names = &self.0;
        let duplicate = if names.len() <= 16 {
            names.iter().enumerate().any(|(i, (n, _))| names[..i].iter().any(|(m, _)| m == n))
        } else {
            let mut sorted: Vec<&str> = names.iter().map(|(n, _)| &**n).collect();
            sorted.sort_unstable();
            sorted.windows(2).any(|w| w[0] == w[1])
        };
        if duplicate { Err(ObjectError::DuplicateMember) } else { Ok(()) }
    }
}

/// How deeply objects and arrays may nest inside a header or claims set.
const MAX_DEPTH: usize = 32;

/// Checks objects and arrays inside a member's value. Each level is parsed
/// separately, so the depth is bounded here, not by `serde_json`.
fn check_nested(value: &RawValue, depth: usize) -> Result<(), ObjectError> {
    let text = value.get();
    let bytes = text.as_bytes();
    if matches!(bytes.first(), Some(b'{' | b'[')) && depth > MAX_DEPTH {
        return Err(ObjectError::Invalid);
    }
    // An array holding no object and no array (e.g. `aud`, `scp`) cannot
    // repeat a member name; skip parsing it again.
    if bytes.first() == Some(&b'[') && !bytes[1..].iter().any(|b| matches!(b, b'[' | b'{')) {
        return Ok(());
    }
    match bytes.first() {
        Some(b'{') => Members::parse_at(text, depth).map(drop),
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|_| ObjectError::Invalid)?;
            items.into_iter().try_for_each(|item| check_nested(item, depth + 1))
        }
        _ => Ok(()),
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
/// the parse.)
pub(crate) fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<JsonStr<'_>>(raw.get()).ok().map(|s| s.0)
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
