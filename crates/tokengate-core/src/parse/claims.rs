//! Claims: read strictly from the token (wrong JSON types are refused, never
//! coerced), and handed to handlers as the user's own `Deserialize` type.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Part};
use crate::parse::json::{Members, as_str, string_array};
use crate::parse::jws::object_error;
use crate::scopes::Scopes;
use crate::verified::TokenFacts;

/// The largest `NumericDate` accepted: 9999-12-31T23:59:59Z.
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

const NUMERIC_DATE: &str = "a non-negative integer NumericDate (seconds since 1970, at most year 9999)";
const STRING: &str = "a string";
const CNF: &str = "an object whose `jkt`, when present, is a string";

/// The claims set of a token as raw JSON members, each read on demand.
pub(crate) struct RawClaims<'p> {
    members: Members<'p>,
    /// `aud` once read (by the claim rules), for [`StandardClaims`] after them.
    audiences: OnceCell<Option<Vec<Cow<'p, str>>>>,
}

impl<'p> RawClaims<'p> {
    pub(crate) fn parse(payload: &'p str) -> Result<Self, Error> {
        Members::parse(payload)
            .map(|members| RawClaims { members, audiences: OnceCell::new() })
            .map_err(|e| object_error(e, Part::Claims))
    }

    /// The claims as the caller's type: [`StandardClaims`] (the default)
    /// from what the claim rules already read into `facts`; any other type
    /// read from the strict pass when it deserializes from an object, else
    /// (an enum, an `Option`…) from `json`, the document these claims were
    /// parsed from.
    pub(crate) fn typed<C: DeserializeOwned + 'static>(
        &self,
        json: &str,
        facts: &TokenFacts,
    ) -> Result<C, Error> {
        if TypeId::of::<C>() == TypeId::of::<StandardClaims>() {
            let mut standard = self.standard(facts);
            let standard = (&mut standard as &mut dyn Any).downcast_mut::<Option<C>>().and_then(Option::take);
            if let Some(standard) = standard {
                return Ok(standard);
            }
        }
        self.members
            .deserialize_into()
            .or_else(|_| serde_json::from_str(json))
            .map_err(|_| Error::UnexpectedClaims)
    }

    /// [`StandardClaims`] without parsing again: the claim rules read `iss`,
    /// `sub`, `jti`, `client_id`, `exp` and `iat` strictly into `facts` and
    /// refused any of wrong type, and checked the types of `aud` and `nbf`,
    /// so for an accepted token these are exactly what serde would read.
    /// `None` (serde decides) if `aud` or `nbf` somehow is not as checked.
    fn standard(&self, facts: &TokenFacts) -> Option<StandardClaims> {
        let aud = self.audiences().ok()?.map(|list| list.iter().map(|aud| aud.to_string()).collect());
        Some(StandardClaims {
            iss: facts.issuer.clone(),
            sub: facts.subject.clone(),
            aud: aud.unwrap_or_default(),
            exp: facts.expires_at,
            nbf: self.numeric_date("nbf").ok()?,
            iat: facts.issued_at,
            jti: facts.token_id.clone(),
            client_id: facts.client_id.clone(),
        })
    }

    pub(crate) fn view(&self) -> ClaimsView<'_> {
        ClaimsView { members: &self.members }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.members.get(name).is_some()
    }

    /// A string claim; any other JSON type (including `null`) is refused.
    pub(crate) fn string(&self, name: &'static str) -> Result<Option<Cow<'p, str>>, Error> {
        self.members.get(name).map(|raw| as_str(raw).ok_or_else(|| invalid(name, STRING))).transpose()
    }

    /// `cnf.jkt` (RFC 9449 §6.1): the thumbprint of the key the token is
    /// bound to. `cnf` must be an object; `jkt`, when present, a string.
    pub(crate) fn confirmation_key(&self) -> Result<Option<String>, Error> {
        let Some(raw) = self.members.get("cnf") else { return Ok(None) };
        let cnf = Members::parse(raw).map_err(|_| invalid("cnf", CNF))?;
        cnf.get("jkt")
            .map(|jkt| as_str(jkt).map(Cow::into_owned).ok_or_else(|| invalid("cnf", CNF)))
            .transpose()
    }

    /// A `NumericDate`: a JSON integer, non-negative, at most [`MAX_NUMERIC_DATE`].
    /// Strings, fractions, exponents, `null` and booleans are refused.
    pub(crate) fn numeric_date(&self, name: &'static str) -> Result<Option<u64>, Error> {
        let Some(text) = self.members.get(name) else { return Ok(None) };
        // Digits only (no sign, fraction or exponent), and few enough that
        // the value cannot overflow before it is compared with the cap.
        let mut value: u64 = 0;
        for byte in text.bytes() {
            if !byte.is_ascii_digit() || value > MAX_NUMERIC_DATE {
                return Err(invalid(name, NUMERIC_DATE));
            }
            value = value * 10 + u64::from(byte - b'0');
        }
        if text.is_empty() || value > MAX_NUMERIC_DATE {
            return Err(invalid(name, NUMERIC_DATE));
        }
        Ok(Some(value))
    }

    /// `aud`: a string or an array of strings (RFC 7519 §4.1.3). Read once.
    pub(crate) fn audiences(&self) -> Result<Option<&[Cow<'p, str>]>, Error> {
        if let Some(read) = self.audiences.get() {
            return Ok(read.as_deref());
        }
        let read = self
            .members
            .get("aud")
            .map(|raw| string_or_array(raw, "aud", "a string or an array of strings"))
            .transpose()?;
        Ok(self.audiences.get_or_init(|| read).as_deref())
    }

    /// The granted scopes: `scope` (a space-separated string), else `scp`
    /// (an array of strings or a space-separated string), else `permissions`
    /// (an array of strings); the first one present decides. Array elements
    /// are scope names taken whole, never split on spaces.
    pub(crate) fn scopes(&self) -> Result<Scopes, Error> {
        if let Some(raw) = self.members.get("scope") {
            let scope = as_str(raw).ok_or_else(|| invalid("scope", "a space-separated string"))?;
            return Ok(Scopes::from_space_separated(&scope));
        }
        if let Some(raw) = self.members.get("scp") {
            // A string is a space-separated list; an array's elements are
            // scope names taken whole (as for `permissions`), never split.
            if let Some(scope) = as_str(raw) {
                return Ok(Scopes::from_space_separated(&scope));
            }
            let list = string_or_array(raw, "scp", "an array of strings or a space-separated string")?;
            return Ok(Scopes::new(&list));
        }
        if let Some(raw) = self.members.get("permissions") {
            let list = string_array(raw).ok_or_else(|| invalid("permissions", "an array of strings"))?;
            return Ok(Scopes::new(&list));
        }
        Ok(Scopes::default())
    }
}

fn string_or_array<'p>(
    raw: &'p str,
    name: &'static str,
    expected: &'static str,
) -> Result<Vec<Cow<'p, str>>, Error> {
    if let Some(single) = as_str(raw) {
        return Ok(vec![single]);
    }
    string_array(raw).ok_or_else(|| invalid(name, expected))
}

fn invalid(claim: &'static str, expected: &'static str) -> Error {
    Error::InvalidClaim { claim: Cow::Borrowed(claim), expected }
}

/// Read access to a verified token's claims, for custom claim checks
/// (see [`Issuer::check`](crate::Issuer::check)).
#[derive(Clone, Copy)]
pub struct ClaimsView<'a> {
    members: &'a Members<'a>,
}

impl<'a> ClaimsView<'a> {
    /// The raw JSON text of claim `name`.
    pub fn raw(&self, name: &str) -> Option<&'a str> {
        self.members.get(name)
    }

    /// Claim `name` as a string; `None` when absent or not a string.
    pub fn str(&self, name: &str) -> Option<Cow<'a, str>> {
        self.members.get(name).and_then(as_str)
    }

    /// Claim `name` deserialized as `T`; `None` when absent.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Option<Result<T, serde_json::Error>> {
        self.members.get(name).map(serde_json::from_str)
    }

    /// Whether claim `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.members.get(name).is_some()
    }

    /// The names of all claims, in token order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.members.names()
    }
}

/// The registered claims most APIs need; the default claims type of
/// [`Verified`](crate::Verified). Absent claims are `None` (or empty).
///
/// Any `serde::Deserialize` type can be used instead, e.g. a struct of your
/// own with extra claims, or `serde_json::Map<String, serde_json::Value>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardClaims {
    /// `iss`: the issuer.
    #[serde(default)]
    pub iss: Option<String>,
    /// `sub`: the subject (user or client) the token is about.
    #[serde(default)]
    pub sub: Option<String>,
    /// `aud`: the audiences (a single string in the token becomes one entry).
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// `exp`: expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<u64>,
    /// `nbf`: not before, seconds since the epoch.
    #[serde(default)]
    pub nbf: Option<u64>,
    /// `iat`: issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: Option<u64>,
    /// `jti`: the token's unique identifier.
    #[serde(default)]
    pub jti: Option<String>,
    /// `client_id`: the OAuth client the token was issued to (RFC 9068).
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `aud` as one string or an array of strings, without serde's buffering
/// `untagged` machinery.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an array of strings")
        }
        fn visit_str<E: de::Error>(self, one: &str) -> Result<Self::Value, E> {
            Ok(vec![one.to_owned()])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut many = Vec::with_capacity(seq.size_hint().unwrap_or(2));
            while let Some(one) = seq.next_element()? {
                many.push(one);
            }
            Ok(many)
        }
    }
    deserializer.deserialize_any(OneOrMany)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> RawClaims<'_> {
        RawClaims::parse(json).unwrap()
    }

    #[test]
    fn numeric_dates_are_strict() {
        assert_eq!(claims(r#"{"exp":1700000000}"#).numeric_date("exp"), Ok(Some(1_700_000_000)));
        assert_eq!(claims(r#"{"exp":0}"#).numeric_date("exp"), Ok(Some(0)));
        assert_eq!(claims("{}").numeric_date("exp"), Ok(None));
        for bad in [
            "\"1700000000\"",
            "1.5",
            "1e9",
            "-1",
            "null",
            "true",
            "253402300800",
            "99999999999999999999999",
            "[1]",
        ] {
            let json = format!(r#"{{"exp":{bad}}}"#);
            assert_eq!(claims(&json).numeric_date("exp"), Err(invalid("exp", NUMERIC_DATE)), "{bad}");
        }
    }

    #[test]
    fn audiences_and_scopes_have_fixed_shapes() {
        assert_eq!(claims(r#"{"aud":"a"}"#).audiences().unwrap().unwrap(), ["a"]);
        assert_eq!(claims(r#"{"aud":["a","b"]}"#).audiences().unwrap().unwrap(), ["a", "b"]);
        assert!(claims(r#"{"aud":7}"#).audiences().is_err());
        assert!(claims(r#"{"aud":[7]}"#).audiences().is_err());
        assert!(claims(r#"{"aud":null}"#).audiences().is_err());

        let scopes = |json| claims(json).scopes().map(|s| s.iter().map(str::to_owned).collect::<Vec<_>>());
        assert_eq!(scopes(r#"{"scope":"b a","scp":7}"#).unwrap(), ["a", "b"]);
        assert_eq!(scopes(r#"{"scp":["x","y"]}"#).unwrap(), ["x", "y"]);
        assert_eq!(scopes(r#"{"scp":"x y"}"#).unwrap(), ["x", "y"]);
        // Array elements are names taken whole, for `scp` as for `permissions`.
        assert_eq!(scopes(r#"{"scp":["x y","z"]}"#).unwrap(), ["x y", "z"]);
        assert_eq!(scopes(r#"{"permissions":["x y","z"]}"#).unwrap(), ["x y", "z"]);
        assert_eq!(scopes(r#"{"permissions":["read:a"]}"#).unwrap(), ["read:a"]);
        assert!(scopes(r#"{"scope":["a"]}"#).is_err());
        assert!(scopes(r#"{"permissions":"a"}"#).is_err());
        assert!(scopes("{}").unwrap().is_empty());
    }

    #[test]
    fn strings_are_not_coerced() {
        assert_eq!(claims(r#"{"iss":"a\/b"}"#).string("iss").unwrap().as_deref(), Some("a/b"));
        assert!(claims(r#"{"iss":1}"#).string("iss").is_err());
        assert!(claims(r#"{"iss":null}"#).string("iss").is_err());
    }
}
