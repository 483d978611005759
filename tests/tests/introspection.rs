//! Opaque tokens through a `Validator`: the issuer's claim rules apply to an
//! introspection answer as to a JWT's claims (`exp`, `iss`, `aud`, scopes,
//! `client_id`, required claims, revocation, single use), the policy decides
//! whether JWTs are introspected too, and an endpoint that cannot answer
//! means 503 with `Retry-After`. Against an RFC 7662 endpoint served on
//! loopback by the test (counting calls), and, where Node is installed, a
//! real authorization server (oidc-provider) issuing opaque tokens.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::introspection::{
    CLIENT_ID, CLIENT_SECRET, IntrospectionEndpoint, Mode, dead_url, opaque_provider_or_skip,
};
use tokengate::introspect::{IntrospectionPolicy, IntrospectionSource};
use tokengate::{
    Algorithm, Error, Issuer, KeySet, ManualClock, Revoke, ScopeRequirement, SingleUse, StandardClaims,
    Validator, Verified,
};
use tokengate_testkit::SigningKey;
use tokengate_tests::{AUD, ISS, NOW, assert_refused, good_claims, merged};

const TOKEN: &str = "opaque-7f3a9c";

/// An active answer: the baseline claims with `changes` (`null` removes one).
fn active(changes: Value) -> Value {
    merged(merged(good_claims(), &json!({ "active": true })), &changes)
}

/// A source on `endpoint` with the test's credentials, on `clock`.
fn source(endpoint: &IntrospectionEndpoint, clock: &ManualClock) -> IntrospectionSource {
    IntrospectionSource::from_url(&endpoint.url())
        .allow_http_loopback(true)
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// A validator trusting `issuer`, on a manual clock at `NOW`.
fn validator(issuer: Issuer, clock: &ManualClock) -> Validator {
    Validator::builder().issuer(issuer).clock(clock.clone()).build().unwrap()
}

/// The test issuer, introspecting at `endpoint` (no keys: JWTs are introspected too).
async fn setup() -> (IntrospectionEndpoint, ManualClock, Validator) {
    let endpoint = IntrospectionEndpoint::start().await;
    let clock = ManualClock::new(NOW);
    let validator =
        validator(Issuer::new(ISS).audience(AUD).introspection(source(&endpoint, &clock)), &clock);
    (endpoint, clock, validator)
}

async fn validate(validator: &Validator, token: &str) -> Result<Verified<StandardClaims>, Error> {
    validator.validate_token(token).await
}

#[tokio::test]
async fn an_active_answer_fills_verified_like_a_jwt() {
    let (endpoint, _, validator) = setup().await;
    endpoint.answer(TOKEN, active(json!({})));
    let verified = validate(&validator, TOKEN).await.expect("an active token");
    assert!(verified.is_introspected());
    assert_eq!(verified.subject(), Some("user-1"));
    assert_eq!(verified.issuer(), Some(ISS));
    assert_eq!(verified.client_id(), Some("client-1"));
    assert_eq!(verified.token_id(), Some("token-1"));
    assert_eq!(verified.expires_at(), Some(NOW + 300));
    assert!(verified.scopes().contains("read") && verified.scopes().contains("write"));
    assert_eq!(verified.algorithm(), None, "no signature was checked here");
    assert_eq!(verified.claims().sub.as_deref(), Some("user-1"));

    // RFC 7662 §2.2: only `active` is required; `exp`, `iss` and `aud` are
    // checked when present, not demanded.
    endpoint.answer("minimal", json!({ "active": true, "sub": "svc" }));
    let verified = validate(&validator, "minimal").await.expect("a minimal answer");
    assert_eq!((verified.subject(), verified.expires_at(), verified.issuer()), (Some("svc"), None, None));
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test]
async fn the_issuers_claim_rules_apply_to_the_answer() {
    let (endpoint, _, validator) = setup().await;
    let cases = [
        ("expired", json!({ "exp": NOW - 3600 }), Error::Expired),
        ("not yet valid", json!({ "nbf": NOW + 3600 }), Error::NotYetValid),
        ("another issuer", json!({ "iss": "https://other.test/" }), Error::UntrustedIssuer),
        ("an issuer differing by a slash", json!({ "iss": "https://issuer.test" }), Error::UntrustedIssuer),
        ("an audience not ours", json!({ "aud": "https://other-api.test" }), Error::WrongAudience),
        ("an audience list without ours", json!({ "aud": ["a", "b"] }), Error::WrongAudience),
    ];
    for (index, (label, changes, expected)) in cases.into_iter().enumerate() {
        let token = format!("opaque-{index}");
        endpoint.answer(&token, active(changes));
        let result = validate(&validator, &token).await;
        assert_eq!(result.as_ref().err(), Some(&expected), "{label}");
        assert_refused(result, expected, 401, Some("invalid_token"), &token);
    }
    // An audience list containing ours passes.
    endpoint.answer("listed", active(json!({ "aud": ["https://other-api.test", AUD] })));
    assert!(validate(&validator, "listed").await.is_ok());
    // Inactive: 401 invalid_token.
    endpoint.answer("inactive", json!({ "active": false, "sub": "user-1" }));
    assert_refused(
        validate(&validator, "inactive").await,
        Error::InactiveToken,
        401,
        Some("invalid_token"),
        "inactive",
    );
    assert_refused(
        validate(&validator, "unknown").await,
        Error::InactiveToken,
        401,
        Some("invalid_token"),
        "unknown",
    );
}

#[tokio::test]
async fn required_claims_and_custom_checks_apply_to_the_answer() {
    let endpoint = IntrospectionEndpoint::start().await;
    let clock = ManualClock::new(NOW);
    let issuer = Issuer::new(ISS)
        .audience(AUD)
        .require_claim("tenant")
        .check(|claims| match claims.str("tenant").as_deref() {
            Some("acme") => Ok(()),
            _ => Err("the token is not for tenant acme".into()),
        })
        .introspection(source(&endpoint, &clock));
    let validator = validator(issuer, &clock);
    endpoint.answer("acme", active(json!({ "tenant": "acme" })));
    endpoint.answer("none", active(json!({})));
    endpoint.answer("other", active(json!({ "tenant": "globex" })));
    assert!(validate(&validator, "acme").await.is_ok());
    assert_refused(
        validate(&validator, "none").await,
        Error::MissingClaim("tenant".into()),
        401,
        Some("invalid_token"),
        "none",
    );
    assert!(matches!(validate(&validator, "other").await, Err(Error::ClaimCheckFailed(_))));
}

#[tokio::test]
async fn scopes_come_from_scope_and_a_missing_one_is_403() {
    let (endpoint, _, validator) = setup().await;
    endpoint.answer(TOKEN, active(json!({ "scope": "read transfer" })));
    let verified = validate(&validator, TOKEN).await.unwrap();
    assert!(verified.require(&ScopeRequirement::scope("transfer")).is_ok());
    let admin = ScopeRequirement::scope("admin");
    assert_refused(
        verified.require(&admin),
        Error::InsufficientScope(admin.clone()),
        403,
        Some("insufficient_scope"),
        TOKEN,
    );
    let challenge = Error::InsufficientScope(admin).challenge();
    assert!(challenge.contains(r#"scope="admin""#), "{challenge}");
    // A scope claim of the wrong type makes the answer invalid, as for a JWT.
    endpoint.answer("bad-scope", active(json!({ "scope": ["read"] })));
    let error = validate(&validator, "bad-scope").await.unwrap_err();
    assert_eq!(error.status().as_u16(), 401, "{error:?}");
}

#[tokio::test]
async fn an_opaque_token_is_revoked_by_its_jti_or_its_subject() {
    let (endpoint, clock, validator) = setup().await;
    endpoint.answer(TOKEN, active(json!({ "jti": "opaque-jti-1" })));
    endpoint.answer("second", active(json!({ "jti": "opaque-jti-2", "sub": "user-2" })));
    assert!(validate(&validator, TOKEN).await.is_ok());
    validator.revoke(&Revoke::token_id("opaque-jti-1")).await.unwrap();
    assert_refused(validate(&validator, TOKEN).await, Error::Revoked, 401, Some("invalid_token"), TOKEN);
    // Checked on every request, though the answer itself is cached.
    assert_eq!(endpoint.calls(), 1);

    assert!(validate(&validator, "second").await.is_ok());
    clock.advance(Duration::from_secs(1));
    validator.revoke(&Revoke::subject("user-2")).await.unwrap();
    assert_refused(
        validate(&validator, "second").await,
        Error::Revoked,
        401,
        Some("invalid_token"),
        "second",
    );
}

#[tokio::test]
async fn an_opaque_token_can_be_single_use() {
    let (endpoint, _, validator) = setup().await;
    endpoint.answer(TOKEN, active(json!({ "jti": "pay-1", "scope": "transfer" })));
    endpoint.answer("no-jti", active(json!({ "jti": null })));
    let once = SingleUse::new();
    let verified = validator.validate_token_once::<StandardClaims>(TOKEN, &once).await.expect("first use");
    assert!(verified.is_single_use() && verified.is_introspected());
    assert_refused(
        validator.validate_token_once::<StandardClaims>(TOKEN, &once).await,
        Error::Replayed,
        401,
        Some("invalid_token"),
        TOKEN,
    );
    // Reusable elsewhere until then: the route decides.
    let error = validator.validate_token_once::<StandardClaims>("no-jti", &once).await.unwrap_err();
    assert_eq!(error, Error::MissingClaim("jti".into()));
}

#[tokio::test]
async fn the_policy_decides_whether_jwts_are_introspected() {
    let endpoint = IntrospectionEndpoint::start().await;
    let clock = ManualClock::new(NOW);
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k1");
    let jwt = key.token(&good_claims());
    let with_keys = || {
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::ES256])
            .keys(KeySet::new([key.verification_key()]))
            .introspection(source(&endpoint, &clock))
    };

    // Opaque tokens only (the default): the JWT is verified locally.
    let local = validator(with_keys(), &clock);
    let verified = validate(&local, &jwt).await.unwrap();
    assert!(!verified.is_introspected());
    assert_eq!(verified.algorithm(), Some(Algorithm::ES256));
    assert_eq!(endpoint.calls(), 0);
    endpoint.answer(TOKEN, active(json!({})));
    assert!(validate(&local, TOKEN).await.unwrap().is_introspected());
    assert_eq!(endpoint.calls(), 1);

    // All tokens: the JWT is introspected (once, then from the cache), and
    // the server's word wins over a good signature.
    let all = validator(with_keys().introspect(IntrospectionPolicy::AllTokens), &clock);
    endpoint.answer(&jwt, active(json!({ "scope": "from-introspection" })));
    let verified = validate(&all, &jwt).await.unwrap();
    assert!(verified.is_introspected());
    assert!(verified.scopes().contains("from-introspection"));
    assert_eq!(endpoint.calls(), 2);
    assert!(validate(&all, &jwt).await.is_ok());
    assert_eq!(endpoint.calls(), 2, "the second validation is served from the cache");
    let revoked_jwt = key.token(&merged(good_claims(), &json!({ "jti": "revoked-at-the-server" })));
    endpoint.answer(&revoked_jwt, json!({ "active": false }));
    assert_eq!(validate(&all, &revoked_jwt).await.err(), Some(Error::InactiveToken));
    assert!(validate(&local, &revoked_jwt).await.is_ok(), "locally, its signature is all that counts");
    assert_eq!(endpoint.calls(), 3);

    // No keys at all: JWTs are introspected too.
    let keyless = validator(Issuer::new(ISS).audience(AUD).introspection(source(&endpoint, &clock)), &clock);
    assert!(validate(&keyless, &jwt).await.unwrap().is_introspected());
    assert_eq!(endpoint.calls(), 4, "another source, another cache");
}

#[tokio::test]
async fn no_answer_is_503_with_retry_after_never_a_verdict() {
    let (endpoint, clock, validator) = setup().await;
    endpoint.answer(TOKEN, active(json!({})));
    endpoint.set_mode(Mode::Status(500));
    let result = validate(&validator, TOKEN).await;
    let expected = Error::IntrospectionUnavailable { retry_after: Duration::from_secs(1) };
    assert_eq!(result.as_ref().err(), Some(&expected));
    assert_refused(result, expected.clone(), 503, Some("temporarily_unavailable"), TOKEN);
    let refusal = validator.refusal(&expected);
    assert_eq!(refusal.retry_after, Some(1));
    assert!(refusal.www_authenticate[0].contains(r#"error="temporarily_unavailable""#), "{refusal:?}");

    // Our own credentials refused (401 from the endpoint): 503, not 401.
    endpoint.set_mode(Mode::Serve);
    let wrong = IntrospectionSource::from_url(&endpoint.url())
        .allow_http_loopback(true)
        .client_secret_basic(CLIENT_ID, "wrong")
        .build()
        .unwrap();
    let refused = self::validator(Issuer::new(ISS).audience(AUD).introspection(wrong), &clock);
    assert_eq!(validate(&refused, TOKEN).await.unwrap_err().status().as_u16(), 503);

    // Down: 503.
    let down = IntrospectionSource::from_url(&dead_url())
        .allow_http_loopback(true)
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    let down = self::validator(Issuer::new(ISS).audience(AUD).introspection(down), &clock);
    let error = validate(&down, TOKEN).await.unwrap_err();
    assert!(matches!(error, Error::IntrospectionUnavailable { .. }), "{error:?}");

    // Back up: the same token passes (failures were not cached).
    assert!(validate(&validator, TOKEN).await.is_ok());
}

#[tokio::test]
async fn without_introspection_an_opaque_token_is_invalid() {
    let key = SigningKey::generate(Algorithm::ES256);
    let validator = validator(
        Issuer::new(ISS)
            .audience(AUD)
            .algorithms([Algorithm::ES256])
            .keys(KeySet::new([key.verification_key()])),
        &ManualClock::new(NOW),
    );
    let error = validate(&validator, TOKEN).await.unwrap_err();
    assert_eq!(error.status().as_u16(), 401, "{error:?}");
    assert_eq!(error.error_code(), Some("invalid_token"));
}

/// A real authorization server: oidc-provider issuing opaque access
/// tokens; the endpoint found by discovery; a token revoked there is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_opaque_tokens_are_introspected_and_revocation_is_seen() {
    let Some(provider) = opaque_provider_or_skip() else { return };
    let source = IntrospectionSource::discover(&provider.issuer)
        .allow_http_loopback(true)
        .client_secret_basic("api", "api-secret")
        // Asked on every request, so that the revocation is seen at once.
        .cache_max_age(Duration::ZERO)
        .build()
        .unwrap();
    let validator = Validator::builder()
        .issuer(
            Issuer::new(provider.issuer.clone()).audience("https://api.test").introspection(source.clone()),
        )
        .build()
        .unwrap();

    let token = provider.token("read").await;
    let verified = validate(&validator, &token).await.expect("oidc-provider's opaque token");
    assert!(verified.is_introspected());
    assert_eq!(verified.client_id(), Some("svc"));
    assert_eq!(verified.issuer(), Some(provider.issuer.as_str()));
    assert!(verified.scopes().contains("read"));
    let admin = ScopeRequirement::scope("admin");
    assert_eq!(verified.require(&admin), Err(Error::InsufficientScope(admin)));
    assert_eq!(source.status().endpoint, Some(provider.introspection_endpoint()));

    provider.revoke(&token).await;
    assert_eq!(validate(&validator, &token).await.err(), Some(Error::InactiveToken));
    let never_used = provider.token("read admin").await;
    provider.revoke(&never_used).await;
    assert_eq!(validate(&validator, &never_used).await.err(), Some(Error::InactiveToken));
    assert_eq!(validate(&validator, "made-up-token").await.err(), Some(Error::InactiveToken));
    eprintln!("oidc-provider at {}: opaque tokens introspected, revocation seen", provider.issuer);
}
