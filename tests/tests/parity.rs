//! Parity: the axum and the actix-web demo servers, started against the
//! same loopback issuer, get the same table of requests — every contract
//! row, malformed headers, oversized tokens and each refusal cause — and
//! must answer identically: status, `WWW-Authenticate` attribute by
//! attribute, `Retry-After`, `Content-Type` and the JSON body. A difference
//! is a bug in one adapter or a gap in the core.

mod support;

use serde_json::json;
use support::{Request, start};
use tokengate_examples::demo::DEMO_AUDIENCE;
use tokengate_testkit::{SigningKey, b64, now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_demo_servers_answer_every_row_identically() {
    let s = start(&[]).await;
    let valid = s.idp.valid_token();
    let other_key = SigningKey::generate(tokengate::Algorithm::ES256).with_kid(s.idp.key().kid().unwrap());
    let claims = b64(json!({ "iss": s.idp.issuer(), "aud": DEMO_AUDIENCE, "exp": now() + 300 }).to_string());

    let rows: Vec<(&str, Request, u16)> = vec![
        ("health", Request::get("/health"), 200),
        ("metadata", Request::get("/.well-known/oauth-protected-resource"), 200),
        ("unknown path", Request::get("/nope"), 404),
        ("me", Request::get("/me").bearer(&valid), 200),
        ("no token", Request::get("/me"), 401),
        ("another scheme", Request::get("/me").header("authorization", "Basic dXNlcjpwYXNz"), 401),
        ("scheme case", Request::get("/me").header("authorization", format!("bEARER {valid}")), 200),
        ("Bearer without token", Request::get("/me").header("authorization", "Bearer"), 400),
        ("bad b64token", Request::get("/me").header("authorization", "Bearer a\"b"), 400),
        ("two Authorization headers", Request::get("/me").bearer(&valid).bearer(&valid), 400),
        ("header and query", Request::get(&format!("/me?access_token={valid}")).bearer(&valid), 400),
        ("query only (disabled)", Request::get(&format!("/me?access_token={valid}")), 401),
        (
            "header and form body",
            Request::post("/transfer").bearer(&valid).form(format!("access_token={valid}")),
            400,
        ),
        ("unparsable", Request::get("/me").bearer("a.b.c"), 401),
        ("JWE", Request::get("/me").bearer("a.b.c.d.e"), 401),
        ("oversized", Request::get("/me").bearer(&s.token(json!({ "pad": "x".repeat(9000) }))), 401),
        ("expired", Request::get("/me").bearer(&s.idp.expired_token()), 401),
        ("not yet valid", Request::get("/me").bearer(&s.token(json!({ "nbf": now() + 3600 }))), 401),
        ("wrong issuer", Request::get("/me").bearer(&s.token(json!({ "iss": "https://evil.test" }))), 401),
        ("wrong audience", Request::get("/me").bearer(&s.token(json!({ "aud": "other" }))), 401),
        ("no exp", Request::get("/me").bearer(&s.token(json!({ "exp": null }))), 401),
        ("exp as a string", Request::get("/me").bearer(&s.token(json!({ "exp": "9999999999" }))), 401),
        ("wrong typ", Request::get("/me").bearer(&s.with_header(json!({ "typ": "dpop+jwt" }))), 401),
        ("unknown crit", Request::get("/me").bearer(&s.with_header(json!({ "crit": ["x"], "x": 1 }))), 401),
        ("unknown kid", Request::get("/me").bearer(&s.with_header(json!({ "kid": "nobody" }))), 401),
        (
            "bad signature",
            Request::get("/me").bearer(
                &other_key.token(&json!({ "iss": s.idp.issuer(), "aud": DEMO_AUDIENCE, "exp": now() + 300 })),
            ),
            401,
        ),
        ("alg none", Request::get("/me").bearer(&format!("{}.{claims}.", b64(r#"{"alg":"none"}"#))), 401),
        (
            "alg none signed",
            Request::get("/me").bearer(&format!("{}.{claims}.c2ln", b64(r#"{"alg":"none"}"#))),
            401,
        ),
        (
            "HS256 confusion",
            Request::get("/me").bearer(&format!("{}.{claims}.c2ln", b64(r#"{"alg":"HS256"}"#))),
            401,
        ),
        ("admin without scope", Request::get("/admin").bearer(&valid), 403),
        ("admin", Request::get("/admin").bearer(&s.idp.admin_token()), 200),
        ("transfer without scope", Request::post("/transfer").bearer(&valid), 403),
        (
            "transfer without jti",
            Request::post("/transfer").bearer(&s.token(json!({ "scope": "transfer", "jti": null }))),
            401,
        ),
        (
            "revoke without admin",
            Request::post("/admin/revoke").bearer(&valid).json(json!({ "jti": "x" })),
            403,
        ),
        (
            "revoke bad body",
            Request::post("/admin/revoke").bearer(&s.idp.admin_token()).json(json!({ "x": 1 })),
            400,
        ),
        (
            "revoke both",
            Request::post("/admin/revoke")
                .bearer(&s.idp.admin_token())
                .json(json!({ "jti": "a", "sub": "b" })),
            400,
        ),
    ];
    for (label, request, status) in rows {
        let answer = s.same(label, request).await;
        assert_eq!(answer.status, status, "{label}: {answer:?}");
    }

    // Single use: each server has its own (in-memory) store, so the same
    // token is accepted once by each, then refused by each.
    let transfer = s.token(json!({ "scope": "transfer", "jti": "parity-transfer" }));
    let first = s.same("transfer", Request::post("/transfer").bearer(&transfer)).await;
    assert_eq!((first.status, &first.body), (200, &json!({ "ok": true, "jti": "parity-transfer" })));
    let replay = s.same("transfer replayed", Request::post("/transfer").bearer(&transfer)).await;
    assert_eq!(replay.status, 401);

    // Revocation by jti, then by subject, on both.
    let doomed = s.token(json!({ "jti": "doomed" }));
    s.same("before revocation", Request::get("/me").bearer(&doomed)).await;
    let admin = s.idp.admin_token();
    let revoked = s
        .same("revoke jti", Request::post("/admin/revoke").bearer(&admin).json(json!({ "jti": "doomed" })))
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(s.same("revoked jti", Request::get("/me").bearer(&doomed)).await.status, 401);
    let bob = s.token(json!({ "sub": "bob", "jti": "bob-1", "iat": now() - 5 }));
    // The issuer's clock runs 25 s ahead of ours: within the leeway.
    let bob_ahead = s.token(json!({ "sub": "bob", "jti": "bob-2", "iat": now() + 25 }));
    assert_eq!(s.same("bob", Request::get("/me").bearer(&bob)).await.status, 200);
    assert_eq!(s.same("bob ahead", Request::get("/me").bearer(&bob_ahead)).await.status, 200);
    s.same("revoke sub", Request::post("/admin/revoke").bearer(&admin).json(json!({ "sub": "bob" }))).await;
    assert_eq!(s.same("revoked sub", Request::get("/me").bearer(&bob)).await.status, 401);
    let ahead = s.same("revoked sub, iat ahead", Request::get("/me").bearer(&bob_ahead)).await;
    assert_eq!((ahead.status, &ahead.body["error_description"]), (401, &json!("the token has been revoked")));
}

/// A demo restarted on the in-memory stores starts with no record: as its
/// documentation says, a single-use token spent before the restart is
/// accepted once more (a shared Redis store, `tests/fleet.rs`, keeps it
/// spent), and a token within the default lifetime cap only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_demo_on_the_memory_store_behaves_as_documented() {
    let s = start(&[]).await;
    let transfer = s.token(json!({ "scope": "transfer", "jti": "before-restart" }));
    assert_eq!(s.same("spend", Request::post("/transfer").bearer(&transfer)).await.status, 200);
    assert_eq!(s.same("replay", Request::post("/transfer").bearer(&transfer)).await.status, 401);
    let restarted = support::start_for(s.idp.issuer(), DEMO_AUDIENCE, &[]).await;
    restarted.wait_for_keys(&s.idp.valid_token()).await;
    let after = restarted.same("replay after restart", Request::post("/transfer").bearer(&transfer)).await;
    assert_eq!(after.status, 200, "documented: the in-memory store forgets on restart");
    let long = s.token(json!({ "iat": now(), "exp": now() + 2 * 24 * 3600 }));
    let answer = s.same("past the lifetime cap", Request::get("/me").bearer(&long)).await;
    assert_eq!(answer.status, 401);
}

/// `TOKENGATE_JWKS_REFRESH_SECS` is the interval used as configured (the
/// 60 s floor applies to an issuer's `Cache-Control: max-age` only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_demos_refresh_keys_at_the_configured_interval() {
    let s = start(&[("TOKENGATE_JWKS_REFRESH_SECS", "2".to_owned())]).await;
    let before = s.idp.jwks_fetches();
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
    let refreshed = s.idp.jwks_fetches() - before;
    // Two servers, each refreshing every 2 s: at least two fetches each.
    assert!(refreshed >= 4, "{refreshed} background fetches in 5.5 s");
    assert!(refreshed <= 8, "{refreshed} background fetches in 5.5 s: more than the interval allows");
}
