//! What an answer means, against a real introspection endpoint on
//! 127.0.0.1: only `"active": true` is active; every failure to get an
//! answer is `IntrospectionUnavailable` (503), never a verdict.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{CLIENT_ID, CLIENT_SECRET, Endpoint, Mode, active, init_tracing, source_on};
use tokengate_core::{Clock as _, ManualClock};
use tokengate_introspect::{
    Introspection, IntrospectionBuildError, IntrospectionError, IntrospectionSource,
    IntrospectionUnavailable, Introspector as _,
};
use tokengate_jwks::{JwksBuildError, JwksFetchError};

const TOKEN: &str = "opaque-token-1";

/// The source's answer for `token`.
async fn ask(source: &IntrospectionSource, token: &str) -> Result<Introspection, IntrospectionUnavailable> {
    source.introspect(token).await
}

/// The last failure the source recorded.
fn last_error(source: &IntrospectionSource) -> std::sync::Arc<IntrospectionError> {
    source.status().last_error.expect("a failure was recorded")
}

#[tokio::test]
async fn an_active_answer_is_passed_on_as_received() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let answer = active("alice", clock.now() + 600);
    endpoint.answer(TOKEN, answer.clone());
    let source = source_on(&endpoint, &clock).build().unwrap();

    let Ok(Introspection::Active(json)) = ask(&source, TOKEN).await else { panic!("active expected") };
    assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap(), answer);
    assert_eq!(endpoint.calls(), 1);
    assert_eq!(source.status().endpoint.as_deref(), Some(endpoint.url().as_str()));
    assert_eq!(source.status().consecutive_failures, 0);
}

#[tokio::test]
async fn inactive_and_anything_but_the_json_true_is_inactive() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let source = source_on(&endpoint, &clock).build().unwrap();
    let cases = [
        ("false", json!({ "active": false })),
        ("missing", json!({ "sub": "alice", "scope": "admin" })),
        ("a string", json!({ "active": "true", "sub": "alice" })),
        ("null", json!({ "active": null })),
        ("one", json!({ "active": 1 })),
        ("an object", json!({ "active": { "value": true } })),
    ];
    for (index, (label, answer)) in cases.iter().enumerate() {
        let token = format!("token-{index}");
        endpoint.answer(&token, answer.clone());
        assert_eq!(ask(&source, &token).await, Ok(Introspection::Inactive), "`active` {label}");
    }
    // A token the server does not know.
    assert_eq!(ask(&source, "never-issued").await, Ok(Introspection::Inactive));
    assert_eq!(endpoint.calls(), cases.len() + 1);
    assert_eq!(source.status().consecutive_failures, 0, "an inactive answer is an answer");
}

#[tokio::test]
async fn a_server_error_is_unavailable_and_its_retry_after_is_used() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));
    let source = source_on(&endpoint, &clock).build().unwrap();

    endpoint.set_mode(Mode::Status(500, None));
    let error = ask(&source, TOKEN).await.unwrap_err();
    assert_eq!(error.retry_after, Duration::from_secs(1), "the default Retry-After");
    assert!(matches!(*last_error(&source), IntrospectionError::Status { status: 500, .. }));

    endpoint.set_mode(Mode::Status(503, Some("7")));
    let error = ask(&source, TOKEN).await.unwrap_err();
    assert_eq!(error.retry_after, Duration::from_secs(7), "the server's own Retry-After");
    endpoint.set_mode(Mode::Status(429, Some("86400")));
    assert_eq!(ask(&source, TOKEN).await.unwrap_err().retry_after, Duration::from_secs(60), "clamped");
    assert_eq!(source.status().consecutive_failures, 3);

    // Failures are not cached: the next request asks again, and gets the answer.
    endpoint.set_mode(Mode::Serve);
    assert!(matches!(ask(&source, TOKEN).await, Ok(Introspection::Active(_))));
    assert_eq!(endpoint.calls(), 4);
    assert_eq!(source.status().consecutive_failures, 0);
}

#[tokio::test]
async fn refused_credentials_are_unavailable_not_a_verdict_on_the_token() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));
    let wrong = IntrospectionSource::from_url(&endpoint.url())
        .allow_http_loopback(true)
        .client_secret_basic(CLIENT_ID, "not-the-secret")
        .clock(clock.clone())
        .build()
        .unwrap();
    assert!(ask(&wrong, TOKEN).await.is_err());
    match &*last_error(&wrong) {
        IntrospectionError::CredentialsRefused { status: 401, url } => assert_eq!(url, &endpoint.url()),
        other => panic!("unexpected {other:?}"),
    }
    endpoint.set_mode(Mode::Status(403, None));
    let right = source_on(&endpoint, &clock).build().unwrap();
    assert!(ask(&right, TOKEN).await.is_err());
    assert!(matches!(*last_error(&right), IntrospectionError::CredentialsRefused { status: 403, .. }));
    let message = last_error(&wrong).to_string();
    assert!(message.contains("refused this server's client credentials"), "{message}");
    assert!(!message.contains("not-the-secret") && !message.contains(TOKEN), "{message}");
}

#[tokio::test]
async fn a_hanging_endpoint_is_unavailable_within_the_timeout() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.set_mode(Mode::Hang);
    let timeout = Duration::from_millis(300);
    let source = source_on(&endpoint, &clock).request_timeout(timeout).build().unwrap();
    let started = Instant::now();
    let error = ask(&source, TOKEN).await.unwrap_err();
    let elapsed = started.elapsed();
    eprintln!("hanging endpoint: unavailable after {elapsed:?} (timeout {timeout:?})");
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(
        elapsed < timeout + Duration::from_millis(250),
        "the 503 must come within the timeout: {elapsed:?}"
    );
    assert_eq!(error.retry_after, Duration::from_secs(1));
    assert!(
        matches!(
            *last_error(&source),
            IntrospectionError::Timeout { .. } | IntrospectionError::Http(JwksFetchError::Timeout { .. })
        ),
        "{:?}",
        last_error(&source)
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    init_tracing();
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    drop(listener);
    let source = IntrospectionSource::from_url(&url)
        .allow_http_loopback(true)
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    assert!(ask(&source, TOKEN).await.is_err());
    assert!(matches!(*last_error(&source), IntrospectionError::Http(JwksFetchError::Request { .. })));
}

#[tokio::test]
async fn garbage_and_non_object_bodies_are_unavailable() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let source = source_on(&endpoint, &clock).build().unwrap();
    for body in [
        "<html>login required</html>",
        "",
        "[]",
        r#"[{"active":true}]"#,
        "true",
        "null",
        r#""active""#,
        r#"{"active":true"#,
        r#"{"active":false,"active":true}"#,
    ] {
        endpoint.set_mode(Mode::Body(body));
        assert!(ask(&source, TOKEN).await.is_err(), "{body:?} must be no answer");
        assert!(
            matches!(*last_error(&source), IntrospectionError::InvalidResponse { .. }),
            "{body:?}: {:?}",
            last_error(&source)
        );
    }
}

#[tokio::test]
async fn an_oversized_body_is_unavailable() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    let source = source_on(&endpoint, &clock).max_response_bytes(16 * 1024).build().unwrap();
    for mode in [Mode::Oversized, Mode::OversizedChunked] {
        endpoint.set_mode(mode.clone());
        assert!(ask(&source, TOKEN).await.is_err(), "{mode:?}");
        assert!(
            matches!(
                *last_error(&source),
                IntrospectionError::Http(JwksFetchError::TooLarge { limit: 16384, .. })
            ),
            "{mode:?}: {:?}",
            last_error(&source)
        );
    }
}

#[tokio::test]
async fn the_endpoint_sees_basic_or_post_client_authentication() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));

    let basic = source_on(&endpoint, &clock).build().unwrap();
    assert!(matches!(ask(&basic, TOKEN).await, Ok(Introspection::Active(_))));
    let post = IntrospectionSource::from_url(&endpoint.url())
        .allow_http_loopback(true)
        .client_secret_post(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    assert!(matches!(ask(&post, TOKEN).await, Ok(Introspection::Active(_))));

    let seen = endpoint.seen();
    assert_eq!(seen.len(), 2);
    for call in &seen {
        assert_eq!(call.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(call.form.get("token").map(String::as_str), Some(TOKEN));
        assert_eq!(call.form.get("token_type_hint").map(String::as_str), Some("access_token"));
    }
    // client_secret_basic: the header, nothing in the body.
    assert_eq!(seen[0].authorization.as_deref(), Some("Basic YXBpOmFwaS1zZWNyZXQ="));
    assert!(!seen[0].form.contains_key("client_id") && !seen[0].form.contains_key("client_secret"));
    // client_secret_post: the body, no header.
    assert_eq!(seen[1].authorization, None);
    assert_eq!(seen[1].form.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(seen[1].form.get("client_secret").map(String::as_str), Some(CLIENT_SECRET));

    // Neither the builder's, the source's, nor the status's Debug shows the secret.
    for debug in [
        format!("{basic:?}"),
        format!("{post:?}"),
        format!("{:?}", source_on(&endpoint, &clock)),
        format!("{:?}", basic.status()),
    ] {
        assert!(!debug.contains(CLIENT_SECRET), "{debug}");
    }
    assert!(format!("{post:?}").contains("client_secret_post"), "{post:?}");
}

#[tokio::test]
async fn the_discovered_endpoint_is_used_only_from_a_matching_issuer() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.answer(TOKEN, active("alice", clock.now() + 600));
    let issuer = endpoint.base();
    let discover = |issuer: &str| {
        IntrospectionSource::discover(issuer)
            .allow_http_loopback(true)
            .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
            .clock(clock.clone())
            .build()
            .unwrap()
    };

    // No OpenID Connect document naming the endpoint: the RFC 8414 one.
    endpoint
        .serve_document("/.well-known/openid-configuration", json!({ "issuer": issuer, "jwks_uri": "x" }));
    endpoint.serve_document(
        "/.well-known/oauth-authorization-server",
        json!({ "issuer": issuer, "introspection_endpoint": endpoint.url() }),
    );
    let source = discover(&issuer);
    assert_eq!(source.status().endpoint, None, "nothing is fetched at build");
    assert!(matches!(ask(&source, TOKEN).await, Ok(Introspection::Active(_))));
    assert_eq!(source.status().endpoint, Some(endpoint.url()));
    assert_eq!(endpoint.calls(), 1);

    // Configured with a trailing slash, the documents name another issuer: not used.
    let mismatched = discover(&format!("{issuer}/"));
    assert!(ask(&mismatched, TOKEN).await.is_err());
    match &*last_error(&mismatched) {
        IntrospectionError::Discovery(error) => assert!(error.is_issuer_mismatch(), "{error}"),
        other => panic!("unexpected {other:?}"),
    }
    // Then discovery backs off: no new attempt within a second.
    assert!(ask(&mismatched, TOKEN).await.is_err());
    assert!(matches!(*last_error(&mismatched), IntrospectionError::DiscoveryBackoff { .. }));
    assert_eq!(endpoint.calls(), 1, "the mismatching documents' endpoint is never called");

    // A discovered endpoint must obey the transport rules.
    endpoint.serve_document(
        "/.well-known/oauth-authorization-server",
        json!({ "issuer": issuer, "introspection_endpoint": "http://auth.example.com/introspect" }),
    );
    let insecure = discover(&issuer);
    assert!(ask(&insecure, TOKEN).await.is_err());
    let message = last_error(&insecure).to_string();
    assert!(message.contains("must use https://"), "{message}");
    assert_eq!(endpoint.calls(), 1);
}

#[tokio::test]
async fn redirects_obey_the_transport_rules() {
    init_tracing();
    let endpoint = Endpoint::start().await;
    let clock = ManualClock::starting_now();
    endpoint.set_mode(Mode::Redirect("http://auth.example.com/introspect".into()));
    let source = source_on(&endpoint, &clock).build().unwrap();
    assert!(ask(&source, TOKEN).await.is_err());
    assert!(matches!(*last_error(&source), IntrospectionError::Http(JwksFetchError::Request { .. })));
    assert_eq!(endpoint.calls(), 1);
}

#[test]
fn bad_configurations_fail_at_build() {
    let build = |builder: tokengate_introspect::IntrospectionBuilder| builder.build().unwrap_err();
    let https = "https://auth.example.com/introspect";
    assert!(matches!(
        build(
            IntrospectionSource::from_url("http://auth.example.com/introspect").client_secret_basic("a", "b")
        ),
        IntrospectionBuildError::Transport(JwksBuildError::InsecureUrl { .. })
    ));
    assert!(matches!(
        build(IntrospectionSource::from_url("http://127.0.0.1:1/introspect").client_secret_basic("a", "b")),
        IntrospectionBuildError::Transport(JwksBuildError::InsecureUrl { .. })
    ));
    assert!(matches!(
        build(
            IntrospectionSource::from_url("http://10.0.0.1/i")
                .allow_http_loopback(true)
                .client_secret_basic("a", "b")
        ),
        IntrospectionBuildError::Transport(JwksBuildError::InsecureUrl { .. })
    ));
    assert!(matches!(
        build(
            IntrospectionSource::from_url("https://user:pw@auth.example.com/i").client_secret_basic("a", "b")
        ),
        IntrospectionBuildError::Transport(JwksBuildError::CredentialsInUrl { .. })
    ));
    assert!(matches!(
        build(
            IntrospectionSource::discover("https://auth.example.com/?tenant=a").client_secret_basic("a", "b")
        ),
        IntrospectionBuildError::Transport(JwksBuildError::InvalidIssuer { .. })
    ));
    assert!(matches!(
        build(IntrospectionSource::from_url(https)),
        IntrospectionBuildError::NoClientAuthentication
    ));
    assert!(matches!(
        build(IntrospectionSource::from_url(https).client_secret_post("api", "")),
        IntrospectionBuildError::InvalidCredentials(_)
    ));
    assert!(matches!(
        build(
            IntrospectionSource::from_url(https)
                .client_secret_basic("a", "b")
                .request_timeout(Duration::ZERO)
        ),
        IntrospectionBuildError::InvalidConfig(_)
    ));
    assert!(matches!(
        build(IntrospectionSource::from_url(https).client_secret_basic("a", "b").cache_max_bytes(0)),
        IntrospectionBuildError::InvalidConfig(_)
    ));
    // Allowed: loopback http when asked, a custom client instead of secrets,
    // and no runtime is needed to build.
    assert!(
        IntrospectionSource::from_url("http://localhost:1/i")
            .allow_http_loopback(true)
            .client_secret_basic("a", "b")
            .build()
            .is_ok()
    );
    assert!(
        IntrospectionSource::from_url(https)
            .http_client(tokengate_introspect::reqwest::Client::new())
            .build()
            .is_ok()
    );
    let error =
        build(IntrospectionSource::from_url("http://auth.example.com/i").client_secret_basic("a", "b"));
    let debug = format!("{error:?}");
    assert!(
        debug.starts_with("Transport(InsecureUrl: `http://auth.example.com/i` must use https://"),
        "{debug}"
    );
}
