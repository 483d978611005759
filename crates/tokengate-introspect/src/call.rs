//! One introspection request (RFC 7662 §2.1) and what its response means
//! (§2.2): only `"active": true` is active; anything that is not a JSON
//! object is no answer at all.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use tokengate_jwks::transport::Transport;
use url::Url;

use crate::auth::ClientAuth;
use crate::error::IntrospectionError;

/// What the endpoint said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// `"active": true`: the response object as received, and its `exp`
    /// when it is a non-negative integer.
    Active { json: Arc<str>, exp: Option<Result<u64, ()>> },
    /// `active` false, missing, or anything but the JSON `true`.
    Inactive,
}

/// Asks `url` about `token`.
pub(crate) async fn introspect(
    transport: &Transport,
    auth: Option<&ClientAuth>,
    url: &Url,
    token: &str,
) -> Result<Answer, IntrospectionError> {
    let request = request(transport, auth, url, token);
    let response = transport.send(request, url).await.map_err(IntrospectionError::Http)?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(IntrospectionError::CredentialsRefused { url: url.to_string(), status: status.as_u16() });
    }
    if !status.is_success() {
        return Err(IntrospectionError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            retry_after: retry_after(response.headers()),
        });
    }
    let body = transport.body(response, url).await.map_err(IntrospectionError::Http)?;
    parse(body).map_err(|reason| IntrospectionError::InvalidResponse { url: url.to_string(), reason })
}

/// The POST: `token` and `token_type_hint` form-encoded, with the client's credentials.
fn request(
    transport: &Transport,
    auth: Option<&ClientAuth>,
    url: &Url,
    token: &str,
) -> reqwest::RequestBuilder {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", token).append_pair("token_type_hint", "access_token");
    let mut request = transport
        .client()
        .post(url.clone())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        request = auth.apply(request, &mut form);
    }
    request.body(form.finish())
}

/// `Retry-After` in delta-seconds (an HTTP date is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    text.parse::<u64>().ok().map(Duration::from_secs)
}

/// The response body: a JSON object without duplicate members; active only
/// when `active` is the JSON `true`.
pub(crate) fn parse(body: Vec<u8>) -> Result<Answer, String> {
    let text = String::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    let members: Members = serde_json::from_str(&text).map_err(|e| format!("not a JSON object: {e}"))?;
    if members.active != Some(Value::Bool(true)) {
        return Ok(Answer::Inactive);
    }
    let exp = members.exp.map(|exp| exp.as_u64().ok_or(()));
    Ok(Answer::Active { json: Arc::from(text.trim()), exp })
}

/// The members of the top-level object this crate reads: `active`, and
/// `exp` (for the cache). Duplicate member names are refused, as the
/// validator refuses them in claims.
struct Members {
    active: Option<Value>,
    exp: Option<Value>,
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Members { active: None, exp: None };
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            match name.as_str() {
                "active" => members.active = Some(map.next_value()?),
                "exp" => members.exp = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if !seen.insert(name) {
                return Err(de::Error::custom("a member name appears twice"));
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Result<Answer, String> {
        parse(body.as_bytes().to_vec())
    }

    #[test]
    fn only_the_json_true_is_active() {
        assert!(matches!(answer(r#"{"active":true}"#), Ok(Answer::Active { exp: None, .. })));
        assert!(matches!(answer(r#" {"active": true, "exp": 1800000000} "#),
            Ok(Answer::Active { exp: Some(Ok(1_800_000_000)), ref json }) if &**json == r#"{"active": true, "exp": 1800000000}"#));
        assert!(matches!(
            answer(r#"{"active":true,"exp":1.5}"#),
            Ok(Answer::Active { exp: Some(Err(())), .. })
        ));
        for inactive in [
            r#"{"active":false}"#,
            r#"{}"#,
            r#"{"active":"true"}"#,
            r#"{"active":null}"#,
            r#"{"active":1}"#,
            r#"{"active":[true]}"#,
            r#"{"Active":true}"#,
        ] {
            assert_eq!(answer(inactive), Ok(Answer::Inactive), "{inactive}");
        }
    }

    #[test]
    fn anything_but_an_object_is_no_answer() {
        for garbage in
            ["", "true", "[]", r#"[{"active":true}]"#, r#""active""#, "null", "<html>", r#"{"active":true"#]
        {
            assert!(answer(garbage).is_err(), "{garbage}");
        }
        assert!(parse(vec![b'{', 0xff, b'}']).is_err());
        let duplicate = answer(r#"{"active":false,"active":true}"#).unwrap_err();
        assert!(duplicate.contains("twice"), "{duplicate}");
        assert!(answer(r#"{"sub":"a","sub":"b","active":true}"#).is_err());
    }
}
