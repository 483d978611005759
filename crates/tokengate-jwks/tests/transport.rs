//! Configuration checked at build time, and the transport rules applied to
//! every request (redirects, `User-Agent`, custom client).

mod support;

use std::time::Duration;

use support::{Mode, TestIssuer, init_tracing, ready_source};
use tokengate_core::ManualClock;
use tokengate_jwks::{JwksBuildError, JwksFetchError, JwksSource};
use tokengate_testkit::jwk_set;

#[tokio::test]
async fn insecure_urls_are_refused_at_build() {
    let insecure = |result: Result<JwksSource, JwksBuildError>| {
        matches!(result, Err(JwksBuildError::InsecureUrl { .. }))
    };
    assert!(insecure(JwksSource::from_url("http://auth.example.com/jwks").allow_http_loopback(true).build()));
    assert!(insecure(JwksSource::from_url("http://10.1.2.3/jwks").allow_http_loopback(true).build()));
    assert!(insecure(JwksSource::discover("http://auth.example.com").allow_http_loopback(true).build()));
    // Loopback http only when allowed.
    assert!(insecure(JwksSource::from_url("http://127.0.0.1:1/jwks").build()));
    assert!(JwksSource::from_url("http://127.0.0.1:1/jwks").allow_http_loopback(true).build().is_ok());
    assert!(JwksSource::from_url("http://localhost:1/jwks").allow_http_loopback(true).build().is_ok());
    assert!(JwksSource::from_url("http://[::1]:1/jwks").allow_http_loopback(true).build().is_ok());
    assert!(matches!(
        JwksSource::from_url("file:///etc/jwks.json").build(),
        Err(JwksBuildError::UnsupportedScheme { .. })
    ));
    assert!(matches!(
        JwksSource::discover("https://auth.example.com/?tenant=a").build(),
        Err(JwksBuildError::InvalidIssuer { .. })
    ));
    assert!(matches!(
        JwksSource::from_url("https://auth.example.com/jwks")
            .refresh_bounds(Duration::from_secs(600), Duration::from_secs(60))
            .build(),
        Err(JwksBuildError::InvalidConfig(_))
    ));
    assert!(matches!(
        JwksSource::from_url("https://auth.example.com/jwks")
            .default_refresh_interval(Duration::ZERO)
            .build(),
        Err(JwksBuildError::InvalidConfig("the default refresh interval must not be zero"))
    ));
    let error = JwksSource::from_url("http://auth.example.com/jwks").build().unwrap_err();
    assert!(error.to_string().contains("must use https://"), "{error}");
    // `?` in `main` prints `Debug`: it names the variant and keeps the hint.
    let debug = format!("{error:?}");
    assert!(debug.starts_with("InsecureUrl: `http://auth.example.com/jwks` must use https://"), "{debug}");
    assert!(debug.contains("allow_http_loopback(true)"), "{debug}");
}

#[test]
fn build_outside_a_tokio_runtime_is_an_error() {
    assert!(matches!(
        JwksSource::from_url("https://auth.example.com/jwks").build(),
        Err(JwksBuildError::NoRuntime)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_limited_and_checked() {
    init_tracing();
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    let build = |url: String, max: usize| {
        JwksSource::from_url(&url)
            .allow_http_loopback(true)
            .clock(clock.clone())
            .max_redirects(max)
            .build()
            .unwrap()
    };
    // Every path but /jwks is a discovery document path: serve redirects there via /jwks modes.
    server.set_mode(Mode::Redirect("/jwks-moved".into()));
    server.serve_document("/jwks-moved", 200, jwk_set([&k1]));
    build(server.jwks_url(), 3).refresh_now().await.expect("one redirect is followed");

    let error = build(server.jwks_url(), 0).refresh_now().await.unwrap_err();
    assert!(matches!(*error, JwksFetchError::Request { .. }), "{error}");

    server.set_mode(Mode::Redirect("/jwks".into())); // a loop
    let error = build(server.jwks_url(), 3).refresh_now().await.unwrap_err();
    assert!(matches!(*error, JwksFetchError::Request { .. }), "{error}");

    server.set_mode(Mode::Redirect("http://auth.example.com/jwks".into()));
    let error = build(server.jwks_url(), 3).refresh_now().await.unwrap_err();
    assert!(matches!(*error, JwksFetchError::Request { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agent_names_the_crate_and_a_custom_client_is_used() {
    let k1 = support::es256("k1");
    let server = TestIssuer::start(jwk_set([&k1])).await;
    let clock = ManualClock::starting_now();
    ready_source(&server, &clock).await;
    assert!(server.user_agents()[0].starts_with("tokengate-jwks/"), "{:?}", server.user_agents());

    let client = tokengate_jwks::reqwest::Client::builder().user_agent("my-api/1.0").build().unwrap();
    let source = JwksSource::from_url(&server.jwks_url())
        .allow_http_loopback(true)
        .http_client(client)
        .clock(clock.clone())
        .build()
        .unwrap();
    source.refresh_now().await.unwrap();
    assert_eq!(server.user_agents().last().map(String::as_str), Some("my-api/1.0"));
}
