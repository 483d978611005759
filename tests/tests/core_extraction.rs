//! RFC 6750 extraction through the validator: header, query, form body.

use std::borrow::Cow;

use tokengate::{Algorithm, Error, ManualClock, RequestParts, RequestProblem, TokenLocations, Validator};
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

/// A request from a framework without `http` types, with a buffered form body.
struct FormRequest {
    authorization: Vec<Vec<u8>>,
    query: Option<String>,
    body: Option<Vec<u8>>,
}

impl RequestParts for FormRequest {
    type HeaderValues<'a> = Box<dyn Iterator<Item = &'a [u8]> + 'a>;

    fn header_values(&self, name: &'static str) -> Self::HeaderValues<'_> {
        assert_eq!(name, "authorization");
        Box::new(self.authorization.iter().map(Vec::as_slice))
    }
    fn method(&self) -> &str {
        "POST"
    }
    fn path(&self) -> &str {
        "/resource"
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn form_body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }
}

fn setup(locations: TokenLocations) -> (Validator, String) {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let validator = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .token_locations(locations)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    (validator, key.token(&good_claims()))
}

fn validate(validator: &Validator, request: &FormRequest) -> Result<tokengate::Verified, Error> {
    block_on(validator.validate_request(request))
}

#[test]
fn form_body_tokens_only_when_enabled_and_never_twice() {
    let (validator, token) = setup(TokenLocations { form_body: true, ..Default::default() });
    let body = format!("a=1&access_token={token}").into_bytes();
    assert!(
        validate(&validator, &FormRequest { authorization: vec![], query: None, body: Some(body.clone()) })
            .is_ok()
    );

    let both = FormRequest {
        authorization: vec![format!("Bearer {token}").into_bytes()],
        query: None,
        body: Some(body.clone()),
    };
    assert_refused(
        validate(&validator, &both),
        Error::MalformedRequest(RequestProblem::MultipleTokens),
        400,
        Some("invalid_request"),
        &token,
    );

    let (disabled, token) = setup(TokenLocations::default());
    let body = format!("access_token={token}").into_bytes();
    assert_refused(
        validate(&disabled, &FormRequest { authorization: vec![], query: None, body: Some(body.clone()) }),
        Error::MissingToken,
        401,
        None,
        &token,
    );
    // A disabled second method still makes the request ambiguous.
    let header_and_body = FormRequest {
        authorization: vec![format!("Bearer {token}").into_bytes()],
        query: None,
        body: Some(body),
    };
    assert_refused(
        validate(&disabled, &header_and_body),
        Error::MalformedRequest(RequestProblem::MultipleTokens),
        400,
        Some("invalid_request"),
        &token,
    );
}

#[test]
fn query_tokens_and_header_requests_through_http_types() {
    let (validator, token) = setup(TokenLocations { query: true, ..Default::default() });
    let request = http::Request::get(format!("/r?access_token={token}")).body(()).unwrap();
    assert!(block_on(validator.validate_request::<tokengate::StandardClaims, _>(&request)).is_ok());
    let (parts, ()) = http::Request::get("/r")
        .header("Authorization", format!("bEaReR {token}"))
        .body(())
        .unwrap()
        .into_parts();
    assert!(block_on(validator.validate_request::<tokengate::StandardClaims, _>(&parts)).is_ok());
}

#[test]
fn optional_validation_distinguishes_anonymous_from_invalid() {
    let (validator, token) = setup(TokenLocations::default());
    let anonymous = http::Request::get("/").body(()).unwrap();
    assert!(
        block_on(validator.validate_request_optional::<tokengate::StandardClaims, _>(&anonymous))
            .unwrap()
            .is_none()
    );
    let basic = http::Request::get("/").header("authorization", "Basic dTpw").body(()).unwrap();
    assert!(
        block_on(validator.validate_request_optional::<tokengate::StandardClaims, _>(&basic))
            .unwrap()
            .is_none()
    );
    let good = http::Request::get("/").header("authorization", format!("Bearer {token}")).body(()).unwrap();
    assert!(
        block_on(validator.validate_request_optional::<tokengate::StandardClaims, _>(&good))
            .unwrap()
            .is_some()
    );
    let bad = http::Request::get("/").header("authorization", "Bearer a.b.c").body(()).unwrap();
    assert!(matches!(
        block_on(validator.validate_request_optional::<tokengate::StandardClaims, _>(&bad)),
        Err(Error::MalformedToken(_))
    ));
    let empty = http::Request::get("/").header("authorization", "Bearer ").body(()).unwrap();
    assert_eq!(
        block_on(validator.validate_request_optional::<tokengate::StandardClaims, _>(&empty)).unwrap_err(),
        Error::MalformedRequest(RequestProblem::EmptyToken)
    );
    let _: Cow<'_, str> = validator.extract_token(&good).unwrap();
}
