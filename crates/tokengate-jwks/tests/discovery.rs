//! Locating the JWK Set by OpenID Connect / RFC 8414 discovery, against a
//! real HTTP issuer on 127.0.0.1.

mod support;

use serde_json::json;
use support::{TestIssuer, init_tracing, token, validate, validator};
use tokengate_core::keys::{KeySource as _, RefreshReason};
use tokengate_core::{Error, ManualClock};
use tokengate_jwks::{JwksBuildError, JwksFetchError, JwksSource};
use tokengate_testkit::jwk_set;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_discovery_finds_the_jwks_uri() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let iss = server.base();
    server.serve_document(
        "/.well-known/openid-configuration",
        200,
        json!({ "issuer": iss, "jwks_uri": server.jwks_url(), "token_endpoint": format!("{iss}/token") }),
    );
    let clock = ManualClock::starting_now();
    let source = JwksSource::discover(&iss).allow_http_loopback(true).clock(clock.clone()).build().unwrap();
    let validator = validator(&iss, source.clone(), &clock);
    validate(&validator, &token(&k1, &iss, &clock)).await.unwrap();
    assert_eq!(source.status().jwks_url, Some(server.jwks_url()));
    assert_eq!((server.discovery_hits(), server.jwks_hits()), (1, 1));
    // Discovery is not repeated on a plain refresh.
    source.refresh_now().await.unwrap();
    assert_eq!((server.discovery_hits(), server.jwks_hits()), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_8414_discovery_inserts_the_well_known_segment_before_the_path() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let iss = format!("{}/tenant", server.base());
    // No OpenID Connect document (404); the RFC 8414 one, at the §3.1 location.
    server.serve_document(
        "/.well-known/oauth-authorization-server/tenant",
        200,
        json!({ "issuer": iss, "jwks_uri": server.jwks_url() }),
    );
    let clock = ManualClock::starting_now();
    let source = JwksSource::discover(&iss).allow_http_loopback(true).clock(clock.clone()).build().unwrap();
    source.refresh(RefreshReason::NoKeysYet).await.unwrap();
    let validator = validator(&iss, source, &clock);
    validate(&validator, &token(&k1, &iss, &clock)).await.unwrap();
    assert_eq!((server.discovery_hits(), server.jwks_hits()), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_with_a_mismatched_issuer_is_refused() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    // Configured with a trailing slash; the documents say otherwise: the
    // comparison is exact, so neither document is used.
    let iss = format!("{}/", server.base());
    server.serve_document(
        "/.well-known/openid-configuration",
        200,
        json!({ "issuer": server.base(), "jwks_uri": server.jwks_url() }),
    );
    server.serve_document(
        "/.well-known/oauth-authorization-server",
        200,
        json!({ "issuer": "https://evil.example", "jwks_uri": server.jwks_url() }),
    );
    let clock = ManualClock::starting_now();
    let source = JwksSource::discover(&iss).allow_http_loopback(true).clock(clock.clone()).build().unwrap();
    let error = source.refresh_now().await.unwrap_err();
    assert!(error.is_issuer_mismatch(), "{error}");
    let message = error.to_string();
    assert!(message.contains("names the issuer"), "{message}");
    assert!(message.contains(&format!("not the configured `{iss}`")), "{message}");
    eprintln!("mismatch error: {message}");
    match &*error {
        JwksFetchError::Discovery { openid_configuration, oauth_authorization_server } => {
            assert!(matches!(**openid_configuration, JwksFetchError::IssuerMismatch { .. }));
            assert!(matches!(**oauth_authorization_server, JwksFetchError::IssuerMismatch { .. }));
        }
        other => panic!("unexpected {other:?}"),
    }
    // The mismatching documents' jwks_uri was never fetched, and nothing verifies.
    assert_eq!(server.jwks_hits(), 0);
    let validator = validator(&iss, source.clone(), &clock);
    let error = validate(&validator, &token(&k1, &iss, &clock)).await.unwrap_err();
    assert!(matches!(error, Error::KeysUnavailable { .. }), "{error:?}");
    assert_eq!(server.jwks_hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_jwks_uri_must_obey_the_transport_rules() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let iss = server.base();
    server.serve_document(
        "/.well-known/openid-configuration",
        200,
        json!({ "issuer": iss, "jwks_uri": "http://keys.example.com/jwks" }),
    );
    let source = JwksSource::discover(&iss).allow_http_loopback(true).build().unwrap();
    let error = source.refresh_now().await.unwrap_err();
    // The discovery document is refused for the URL it leads to, which is
    // named, with the transport rule it breaks.
    let openid_configuration_url = format!("{iss}/.well-known/openid-configuration");
    match &*error {
        JwksFetchError::Discovery { openid_configuration, .. } => match &**openid_configuration {
            JwksFetchError::Refused { url, source: JwksBuildError::InsecureUrl { url: refused } } => {
                assert_eq!(url, &openid_configuration_url, "{error}");
                assert_eq!(refused, "http://keys.example.com/jwks", "{error}");
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.to_string().contains("must use https://"), "{error}");
    assert_eq!(server.jwks_hits(), 0);
}
