use super::*;

#[test]
fn duplicates_are_refused_at_every_depth() {
    assert!(Members::parse(r#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#).is_ok());
    assert_eq!(Members::parse(r#"{"a":1,"a":2}"#).err(), Some(ObjectError::DuplicateMember));
    assert_eq!(Members::parse(r#"{"a":1,"\u0061":2}"#).err(), Some(ObjectError::DuplicateMember));
    assert_eq!(Members::parse(r#"{"x":{"c":1,"c":1}}"#).err(), Some(ObjectError::DuplicateMember));
    assert_eq!(Members::parse(r#"{"x":[1,{"c":1,"c":1}]}"#).err(), Some(ObjectError::DuplicateMember));
    let many: String = format!("{{{}\"k0\":0}}", (0..40).map(|i| format!("\"k{i}\":0,")).collect::<String>());
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
    let json =
        r#"{"sub":"a\u00e9","aud":["x","y"],"exp":17,"nested":{"k":[1,{"z":null}]},"extra":1.5,"t":true}"#;
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
