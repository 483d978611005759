//! Opaque tokens through both demo servers (axum and actix-web), configured
//! by the contract's variables (`TOKENGATE_INTROSPECTION_URL`,
//! `TOKENGATE_CLIENT_ID`/`TOKENGATE_CLIENT_SECRET`, `TOKENGATE_INTROSPECT_ALL`,
//! `TOKENGATE_INTROSPECTION_CACHE_SECS`) and pointed at an RFC 7662 endpoint
//! the test serves on loopback (counting calls) — or, where Node is
//! installed, at a real authorization server (oidc-provider) issuing opaque
//! tokens. Both servers must answer every request identically.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::introspection::{
    CLIENT_ID, CLIENT_SECRET, IntrospectionEndpoint, dead_url, opaque_provider_or_skip,
};
use support::{Request, send, start, start_for};
use tokengate_examples::demo::DEMO_AUDIENCE;
use tokengate_testkit::now;

/// An active answer for a token of the demo issuer `iss`, with `changes`.
fn active(iss: &str, changes: Value) -> Value {
    tokengate_tests::merged(
        json!({
            "active": true, "iss": iss, "aud": DEMO_AUDIENCE, "sub": "opaque-user", "client_id": "opaque-app",
            "scope": "profile admin", "jti": "opaque-jti", "iat": now(), "exp": now() + 600,
        }),
        &changes,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_opaque_token_gets_in_and_me_reports_the_answer() {
    let endpoint = IntrospectionEndpoint::start().await;
    let s = start(&endpoint.vars(&[])).await;
    let answer = active(s.idp.issuer(), json!({}));
    endpoint.answer("opaque-1", answer.clone());

    let me = s.same("me", Request::get("/me").bearer("opaque-1")).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(
        me.body,
        json!({
            "sub": "opaque-user", "iss": s.idp.issuer(), "client_id": "opaque-app",
            "scopes": ["admin", "profile"], "jti": "opaque-jti", "exp": answer["exp"],
        })
    );
    assert_eq!(endpoint.calls(), 2, "one call per server");
    let admin = s.same("admin", Request::get("/admin").bearer("opaque-1")).await;
    assert_eq!((admin.status, admin.body), (200, json!({ "ok": true })));
    assert_eq!(endpoint.calls(), 2, "then served from each server's cache");

    // Scopes from the answer: `transfer` is missing.
    let transfer = s.same("transfer", Request::post("/transfer").bearer("opaque-1")).await;
    assert_eq!(transfer.status, 403);
    let challenge = transfer.challenge.unwrap();
    assert_eq!(
        (challenge["error"].as_str(), challenge["scope"].as_str()),
        ("insufficient_scope", "transfer")
    );

    // JWTs are still verified locally (TOKENGATE_INTROSPECT_ALL is unset).
    let jwt = s.same("jwt", Request::get("/me").bearer(&s.idp.valid_token())).await;
    assert_eq!(jwt.status, 200);
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_or_rule_breaking_answers_are_invalid_token() {
    let endpoint = IntrospectionEndpoint::start().await;
    let s = start(&endpoint.vars(&[])).await;
    endpoint.answer("inactive", json!({ "active": false }));
    endpoint.answer("string-true", json!({ "active": "true", "sub": "x" }));
    endpoint.answer("expired", active(s.idp.issuer(), json!({ "exp": now() - 3600 })));
    endpoint.answer("other-audience", active(s.idp.issuer(), json!({ "aud": "https://other.test" })));
    endpoint.answer("other-issuer", active("https://evil.test", json!({})));
    for token in ["inactive", "string-true", "unknown", "expired", "other-audience", "other-issuer"] {
        let answer = s.same(token, Request::get("/me").bearer(token)).await;
        assert_eq!(answer.status, 401, "{token}: {answer:?}");
        let challenge = answer.challenge.expect("a challenge");
        assert_eq!(challenge["error"], "invalid_token", "{token}");
        assert_eq!(answer.body["error"], "invalid_token", "{token}");
        assert_eq!(answer.retry_after, None, "{token}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_503_with_retry_after() {
    let vars = [
        ("TOKENGATE_INTROSPECTION_URL", dead_url()),
        ("TOKENGATE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("TOKENGATE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
    ];
    let s = start(&vars).await;
    let answer = s.same("down", Request::get("/me").bearer("opaque-1")).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.challenge.unwrap()["error"], "temporarily_unavailable");
    assert_eq!(answer.body["error"], "temporarily_unavailable");
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    // The demo issuer's JWTs do not depend on the introspection endpoint.
    assert_eq!(s.same("jwt", Request::get("/me").bearer(&s.idp.valid_token())).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_own_credentials_refused_is_503_not_401() {
    let endpoint = IntrospectionEndpoint::start().await;
    let vars = [
        ("TOKENGATE_INTROSPECTION_URL", endpoint.url()),
        ("TOKENGATE_CLIENT_ID", CLIENT_ID.to_owned()),
        ("TOKENGATE_CLIENT_SECRET", "not-the-secret".to_owned()),
    ];
    let s = start(&vars).await;
    endpoint.answer("opaque-1", active(s.idp.issuer(), json!({})));
    let answer = s.same("credentials refused", Request::get("/me").bearer("opaque-1")).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(answer.retry_after.is_some());
    let body = answer.body.to_string();
    assert!(!body.contains("not-the-secret") && !body.contains("opaque-1"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_token_share_one_call() {
    let endpoint = IntrospectionEndpoint::start().await;
    let s = start(&endpoint.vars(&[])).await;
    endpoint.answer("shared", active(s.idp.issuer(), json!({})));
    // Hold the call in flight long enough for every request to arrive.
    endpoint.set_delay(Duration::from_millis(400));
    for (server, addr) in [("axum", s.axum), ("actix", s.actix)] {
        let before = endpoint.calls();
        let requests: Vec<_> = (0..50)
            .map(|_| {
                tokio::spawn(async move { send(addr, &Request::get("/me").bearer("shared")).await.status })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), 200, "{server}");
        }
        assert_eq!(endpoint.calls() - before, 1, "{server}: 50 concurrent requests, one introspection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspect_all_sends_jwts_to_the_endpoint_and_the_cache_age_is_configurable() {
    let endpoint = IntrospectionEndpoint::start().await;
    let idp = tokengate_examples::demo::DemoIssuer::start(tokengate::AlgorithmSet::ASYMMETRIC).await.unwrap();
    let vars =
        endpoint.vars(&[("TOKENGATE_INTROSPECT_ALL", "1"), ("TOKENGATE_INTROSPECTION_CACHE_SECS", "0")]);
    let s = start_for(idp.issuer(), DEMO_AUDIENCE, &vars).await;
    let revoked = idp.valid_token();
    let good = idp.admin_token();
    endpoint.answer(&revoked, json!({ "active": false }));
    endpoint.answer(&good, active(idp.issuer(), json!({ "sub": "demo-admin", "scope": "admin" })));

    let answer = s.same("jwt inactive at the server", Request::get("/me").bearer(&revoked)).await;
    assert_eq!(answer.status, 401, "a good signature is not enough: {answer:?}");
    let answer = s.same("jwt active", Request::get("/admin").bearer(&good)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(endpoint.calls(), 4);
    // TOKENGATE_INTROSPECTION_CACHE_SECS=0: asked on every request.
    s.same("again", Request::get("/admin").bearer(&good)).await;
    assert_eq!(endpoint.calls(), 6);
}

/// A real authorization server: oidc-provider issues an opaque token,
/// both demos accept it through its introspection endpoint; once revoked
/// there, it is refused (with `TOKENGATE_INTROSPECTION_CACHE_SECS=0`, at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_opaque_tokens_through_both_demos() {
    let Some(provider) = opaque_provider_or_skip() else { return };
    let vars = [
        ("TOKENGATE_INTROSPECTION_URL", provider.introspection_endpoint()),
        ("TOKENGATE_CLIENT_ID", "api".to_owned()),
        ("TOKENGATE_CLIENT_SECRET", "api-secret".to_owned()),
        ("TOKENGATE_INTROSPECTION_CACHE_SECS", "0".to_owned()),
    ];
    let s = start_for(&provider.issuer, "https://api.test", &vars).await;

    let token = provider.token("read").await;
    let me = s.same("opaque token", Request::get("/me").bearer(&token)).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["client_id"], "svc");
    assert_eq!(me.body["iss"], provider.issuer.as_str());
    assert_eq!(me.body["scopes"], json!(["read"]));
    assert_eq!(s.same("no admin scope", Request::get("/admin").bearer(&token)).await.status, 403);
    let admin = provider.token("read%20admin").await;
    assert_eq!(s.same("admin scope", Request::get("/admin").bearer(&admin)).await.status, 200);

    provider.revoke(&token).await;
    let refused = s.same("revoked", Request::get("/me").bearer(&token)).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    assert_eq!(refused.challenge.unwrap()["error"], "invalid_token");
    eprintln!("oidc-provider at {}: opaque tokens through both demos, revocation seen", provider.issuer);
}
