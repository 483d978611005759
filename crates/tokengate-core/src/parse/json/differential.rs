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
        proptest::string::string_regex("\"([a-z é/]|\\\\[\"\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4}){0,8}\"").unwrap(),
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
        let members: Vec<String> =
            members.into_iter().map(|(name, ws, value)| format!("{ws}{name}{ws}:{ws}{value}{ws}")).collect();
        format!("{{{}}}", members.join(","))
    })
}

/// A document, possibly with one byte replaced, inserted or removed.
fn document() -> impl Strategy<Value = String> {
    let mangle = (0..4u8, any::<prop::sample::Index>(), prop::sample::select(&b"{}[]\",:\\ 0-e.tn\x01"[..]));
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
