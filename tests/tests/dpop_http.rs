//! DPoP (RFC 9449) through both demo servers (axum and actix-web, in this
//! process, `TOKENGATE_DPOP=1`, one public URL): every rule of the DPoP
//! section of `docs/demo-servers.md`, both ways. Each row goes to both
//! servers (`support::Servers::same`: identical answers) and must meet the
//! exact answer: status, which challenge carries the error (`Bearer` or
//! `DPoP`), the `error` code and `error_description`, and the JSON body.
//! Every 401 must carry both challenges, `Bearer realm=".."` then
//! `DPoP algs=".."`.
//!
//! Both servers share the public URL, so one proof is good for both; each
//! keeps its own (in-memory) record of used proofs, so a proof is accepted
//! once by each.

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Answer, Request, Servers, send, start};
use tokengate::dpop::{DEFAULT_PROOF_ALGORITHMS, DpopProblem};
use tokengate::{Algorithm, Error, ScopeRequirement};
use tokengate_testkit::{SigningKey, b64, now};

/// The public URL both servers are configured with.
const PUBLIC: &str = "https://api.example.test";
/// The demo's default proof window (`TOKENGATE_DPOP_WINDOW_SECS`).
const WINDOW: u64 = 60;

fn url(path: &str) -> String {
    format!("{PUBLIC}{path}")
}

/// The `algs` every `DPoP` challenge names: the demo's proof algorithms.
fn algs() -> String {
    DEFAULT_PROOF_ALGORITHMS.iter().map(Algorithm::name).collect::<Vec<_>>().join(" ")
}

async fn servers() -> Servers {
    start(&[("TOKENGATE_DPOP", "1".into()), ("TOKENGATE_PUBLIC_URL", PUBLIC.into())]).await
}

/// A token of the demo issuer bound to `client` (`cnf.jkt`), with `changes`.
fn bound(s: &Servers, client: &SigningKey, changes: Value) -> String {
    let mut claims = json!({ "cnf": { "jkt": client.jwk_thumbprint().unwrap() } });
    claims.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
    s.token(claims)
}

// ---------------------------------------------------------------------------
// Expected answers
// ---------------------------------------------------------------------------

/// Which challenge carries the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum On {
    Bearer,
    Dpop,
}

/// What both servers must answer.
#[derive(Clone, Debug)]
enum Want {
    /// 200, the token's subject on `/me`.
    Ok,
    /// 401 `invalid_dpop_proof` on the `DPoP` challenge.
    Proof(DpopProblem),
    /// 401 `invalid_token` with the description of this error, on this challenge.
    Token(On, Error),
    /// 403 `insufficient_scope` on this challenge only.
    Scope(On, &'static str),
}

impl Want {
    /// The error, as the core names it.
    fn error(&self) -> Option<Error> {
        match self {
            Want::Ok => None,
            Want::Proof(problem) => Some(Error::InvalidDpopProof(*problem)),
            Want::Token(_, error) => Some(error.clone()),
            Want::Scope(_, scope) => Some(Error::InsufficientScope(ScopeRequirement::scope(scope))),
        }
    }

    fn on(&self) -> On {
        match self {
            Want::Ok | Want::Proof(_) => On::Dpop,
            Want::Token(on, _) | Want::Scope(on, _) => *on,
        }
    }
}

fn refused(on: On, error: Error) -> Want {
    Want::Token(on, error)
}

/// Asserts the two challenges of a 401: `Bearer realm="tokengate"` then
/// `DPoP algs=".."`, the error (when `error` is `Some`) on `on` only.
#[track_caller]
fn assert_challenges(label: &str, answer: &Answer, error: Option<(On, &str, &str)>) {
    assert_eq!(answer.schemes, ["Bearer", "DPoP"], "{label}: both challenges, Bearer first: {answer:?}");
    let bearer = answer.challenge.as_ref().unwrap();
    let dpop = answer.dpop_challenge.as_ref().unwrap();
    assert_eq!(bearer.get("realm").map(String::as_str), Some("tokengate"), "{label}: {answer:?}");
    assert_eq!(dpop.get("algs"), Some(&algs()), "{label}: {answer:?}");
    assert!(!dpop.contains_key("realm") && !bearer.contains_key("algs"), "{label}: {answer:?}");
    let with_error = |challenge: &BTreeMap<String, String>| {
        (challenge.get("error").cloned(), challenge.get("error_description").cloned())
    };
    let none = (None, None);
    match error {
        None => {
            assert_eq!(with_error(bearer), none, "{label}: no error attribute: {answer:?}");
            assert_eq!(with_error(dpop), none, "{label}: no error attribute: {answer:?}");
        }
        Some((on, code, description)) => {
            let expected = (Some(code.to_owned()), Some(description.to_owned()));
            let (carrying, other) = if on == On::Dpop { (dpop, bearer) } else { (bearer, dpop) };
            assert_eq!(
                with_error(carrying),
                expected,
                "{label}: the error on the {on:?} challenge: {answer:?}"
            );
            assert_eq!(with_error(other), none, "{label}: the error on one challenge only: {answer:?}");
        }
    }
}

/// Sends `request` to both servers (identical answers) and checks `want`.
async fn check(s: &Servers, label: &str, request: Request, want: &Want) -> Answer {
    let answer = s.same(label, request).await;
    let Some(error) = want.error() else {
        assert_eq!(answer.status, 200, "{label}: {answer:?}");
        assert_eq!(answer.schemes, Vec::<String>::new(), "{label}: {answer:?}");
        return answer;
    };
    let (code, description) = (error.error_code().unwrap(), error.description());
    assert_eq!(answer.status, error.status().as_u16(), "{label}: {answer:?}");
    assert_eq!(answer.body["error"], code, "{label}: {answer:?}");
    assert_eq!(answer.body["error_description"], description, "{label}: {answer:?}");
    assert_eq!(answer.dpop_nonce, None, "{label}: no nonces configured: {answer:?}");
    if answer.status == 401 {
        assert_challenges(label, &answer, Some((want.on(), code, &description)));
    } else {
        // Not a 401: the one challenge of the scheme used, with the error.
        let scheme = if want.on() == On::Dpop { "DPoP" } else { "Bearer" };
        assert_eq!(answer.schemes, [scheme], "{label}: {answer:?}");
        let challenge = answer.challenge_of(scheme).unwrap();
        assert_eq!(challenge.get("error").map(String::as_str), Some(code), "{label}: {answer:?}");
        assert_eq!(challenge.get("error_description"), Some(&description), "{label}: {answer:?}");
    }
    answer
}

async fn run(s: &Servers, rows: Vec<(String, Request, Want)>) {
    for (label, request, want) in rows {
        check(s, &label, request, &want).await;
    }
}

// ---------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------

/// `GET /me` under the `DPoP` scheme with `proof`.
fn me(token: &str, proof: &str) -> Request {
    Request::get("/me").dpop(token, proof)
}

/// A proof by `client` for `GET /me` with `token`, as a careful client makes it.
fn proof_for(client: &SigningKey, token: &str) -> String {
    client.dpop_proof("GET", &url("/me")).access_token(token).sign()
}

/// The proof's key as its `jwk` header carries it, with `changes`.
fn jwk_with(client: &SigningKey, changes: Value) -> Value {
    let mut jwk = client.public_jwk().unwrap();
    let object = jwk.as_object_mut().unwrap();
    for member in ["kid", "alg", "use"] {
        object.remove(member);
    }
    object.extend(changes.as_object().unwrap().clone());
    jwk
}

/// A proof by `client` for `GET /me` with `token` whose header is the
/// usual one (`typ`, `alg`, `jwk`) with `changes` (`null` removes a member).
fn header_changed(client: &SigningKey, token: &str, changes: Value) -> String {
    let header = json!({ "typ": "dpop+jwt", "alg": client.alg().name(), "jwk": jwk_with(client, json!({})) });
    let jti = format!("h-{}", ath(&changes.to_string()));
    let claims = json!({ "jti": jti, "htm": "GET", "htu": url("/me"), "iat": now(), "ath": ath(token) });
    client.token_with_header(&tokengate_tests::merged(header, &changes), &claims)
}

/// Valid proofs signed with each asymmetric algorithm are accepted, under
/// the `DPoP` scheme in any letter case; the answer is the token's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_proofs_of_every_algorithm_are_accepted() {
    let s = servers().await;
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA] {
        let client = SigningKey::generate(alg);
        let token = bound(&s, &client, json!({ "jti": format!("alg-{alg}") }));
        let answer =
            check(&s, &format!("{alg} proof"), me(&token, &proof_for(&client, &token)), &Want::Ok).await;
        assert_eq!(answer.body["sub"], "alice", "{alg}: {answer:?}");
        assert_eq!(answer.body["jti"], format!("alg-{alg}"), "{alg}: {answer:?}");
    }
    let client = SigningKey::generate(Algorithm::ES256);
    let token = bound(&s, &client, json!({}));
    for scheme in ["dpop", "DPOP", "dPoP"] {
        let request = Request::get("/me")
            .header("authorization", format!("{scheme} {token}"))
            .proof(&proof_for(&client, &token));
        check(&s, &format!("scheme spelt {scheme}"), request, &Want::Ok).await;
    }
    // RFC 7515 §4.1.9: `typ` may omit the `application/` prefix, or keep it.
    let typ = client
        .dpop_proof("GET", &url("/me"))
        .access_token(&token)
        .header(json!({ "typ": "application/dpop+jwt" }));
    check(&s, "typ application/dpop+jwt", me(&token, &typ.sign()), &Want::Ok).await;
    // Plain bearer tokens still pass as `Bearer` (DPoP is allowed, not required).
    check(&s, "unbound bearer token", Request::get("/me").bearer(&s.token(json!({}))), &Want::Ok).await;
}

/// Every refusal rule of the contract's DPoP section, one row each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dpop_rule_is_enforced_with_the_exact_refusal() {
    let s = servers().await;
    let client = SigningKey::generate(Algorithm::ES256);
    let token = bound(&s, &client, json!({}));
    let unbound = s.token(json!({}));
    let good = || client.dpop_proof("GET", &url("/me")).access_token(&token);
    let stranger = SigningKey::generate(Algorithm::ES256);
    let problem = Want::Proof;

    let mut rows: Vec<(String, Request, Want)> = vec![
        // The binding.
        (
            "bound token as Bearer".into(),
            Request::get("/me").bearer(&token),
            refused(On::Bearer, Error::BoundTokenAsBearer),
        ),
        (
            "bound token as Bearer, with a proof beside it".into(),
            Request::get("/me").bearer(&token).proof(&good().sign()),
            refused(On::Bearer, Error::BoundTokenAsBearer),
        ),
        (
            "unbound token under the DPoP scheme".into(),
            me(&unbound, &client.dpop_proof("GET", &url("/me")).access_token(&unbound).sign()),
            refused(On::Dpop, Error::TokenNotBound),
        ),
        (
            "a proof by a key that is not the token's cnf.jkt (RFC 9449 §7.1)".into(),
            me(&token, &stranger.dpop_proof("GET", &url("/me")).access_token(&token).sign()),
            refused(On::Dpop, Error::DpopKeyMismatch),
        ),
        (
            "expired bound token with a good proof".into(),
            {
                let expired = bound(&s, &client, json!({ "iat": now() - 600, "exp": now() - 300 }));
                me(&expired, &client.dpop_proof("GET", &url("/me")).access_token(&expired).sign())
            },
            refused(On::Dpop, Error::Expired),
        ),
        (
            "bound token signed by another issuer key, with a good proof".into(),
            {
                let impostor = SigningKey::generate(Algorithm::ES256).with_kid(s.idp.key().kid().unwrap());
                let forged = impostor.token(&json!({
                    "iss": s.idp.issuer(), "aud": tokengate_examples::demo::DEMO_AUDIENCE, "exp": now() + 300,
                    "cnf": { "jkt": client.jwk_thumbprint().unwrap() },
                }));
                me(&forged, &client.dpop_proof("GET", &url("/me")).access_token(&forged).sign())
            },
            refused(On::Dpop, Error::InvalidSignature),
        ),
        // The DPoP header.
        (
            "no DPoP header".into(),
            Request::get("/me").header("authorization", format!("DPoP {token}")),
            problem(DpopProblem::Missing),
        ),
        (
            "two DPoP headers".into(),
            me(&token, &good().sign()).proof(&good().sign()),
            problem(DpopProblem::Multiple),
        ),
        ("not a JWT".into(), me(&token, "not-a-jwt"), problem(DpopProblem::Malformed)),
        ("five segments".into(), me(&token, "a.b.c.d.e"), problem(DpopProblem::Malformed)),
        // The header.
        (
            "typ JWT".into(),
            me(&token, &good().header(json!({ "typ": "JWT" })).sign()),
            problem(DpopProblem::WrongType),
        ),
        (
            "typ at+jwt".into(),
            me(&token, &good().header(json!({ "typ": "at+jwt" })).sign()),
            problem(DpopProblem::WrongType),
        ),
        (
            "no typ".into(),
            me(&token, &header_changed(&client, &token, json!({ "typ": null }))),
            problem(DpopProblem::WrongType),
        ),
        (
            "crit".into(),
            me(&token, &good().header(json!({ "crit": ["exp"] })).sign()),
            problem(DpopProblem::Malformed),
        ),
        (
            "alg none, signed".into(),
            me(&token, &good().header(json!({ "alg": "none" })).sign()),
            problem(DpopProblem::AlgorithmNotAllowed),
        ),
        (
            "alg none, unsigned".into(),
            {
                let signed = good().header(json!({ "alg": "none" })).sign();
                me(&token, &format!("{}.", signed.rsplit_once('.').unwrap().0))
            },
            problem(DpopProblem::Malformed),
        ),
        (
            "alg HS256".into(),
            me(&token, &good().header(json!({ "alg": "HS256" })).sign()),
            problem(DpopProblem::AlgorithmNotAllowed),
        ),
        (
            "alg es256".into(),
            me(&token, &good().header(json!({ "alg": "es256" })).sign()),
            problem(DpopProblem::AlgorithmNotAllowed),
        ),
        (
            "alg HS256, MACed with the jwk's JSON".into(),
            {
                let jwk = jwk_with(&client, json!({}));
                let mac = SigningKey::hmac(Algorithm::HS256, jwk.to_string().into_bytes());
                let header = json!({ "typ": "dpop+jwt", "alg": "HS256", "jwk": jwk });
                let claims =
                    json!({ "jti": "hs", "htm": "GET", "htu": url("/me"), "iat": now(), "ath": ath(&token) });
                me(&token, &mac.token_with_header(&header, &claims))
            },
            problem(DpopProblem::AlgorithmNotAllowed),
        ),
        (
            "no jwk".into(),
            me(&token, &header_changed(&client, &token, json!({ "jwk": null }))),
            problem(DpopProblem::MissingKey),
        ),
        (
            "no alg".into(),
            me(&token, &header_changed(&client, &token, json!({ "alg": null }))),
            problem(DpopProblem::Malformed),
        ),
        (
            "jwk with a private d".into(),
            me(
                &token,
                &good().header(json!({ "jwk": jwk_with(&client, json!({ "d": b64([7u8; 32]) })) })).sign(),
            ),
            problem(DpopProblem::PrivateKey),
        ),
        (
            "jwk of kty oct".into(),
            me(&token, &good().header(json!({ "jwk": { "kty": "oct", "k": b64([7u8; 32]) } })).sign()),
            problem(DpopProblem::PrivateKey),
        ),
        (
            "jwk of kty oct without k".into(),
            me(&token, &good().header(json!({ "jwk": { "kty": "oct" } })).sign()),
            problem(DpopProblem::UnusableKey),
        ),
        (
            "jwk for another alg (P-256 key, alg ES384)".into(),
            me(&token, &good().header(json!({ "alg": "ES384" })).sign()),
            problem(DpopProblem::UnusableKey),
        ),
        (
            "jwk with use enc".into(),
            me(&token, &good().header(json!({ "jwk": jwk_with(&client, json!({ "use": "enc" })) })).sign()),
            problem(DpopProblem::UnusableKey),
        ),
        (
            "jwk naming x twice".into(),
            {
                let jwk = client.public_jwk().unwrap();
                let other = stranger.public_jwk().unwrap();
                let (x, y, other_x, other_y) = (&jwk["x"], &jwk["y"], &other["x"], &other["y"]);
                // The client's key first, the signer's last: a parser keeping
                // either one must not see the other's.
                let jwk =
                    format!(r#"{{"kty":"EC","crv":"P-256","x":{x},"y":{y},"x":{other_x},"y":{other_y}}}"#);
                let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#);
                let claims = json!({ "jti": "dup", "htm": "GET", "htu": url("/me"), "iat": now() });
                let claims = tokengate_tests::merged(claims, &json!({ "ath": ath(&token) }));
                me(&token, &stranger.sign_raw(&header, &claims.to_string()))
            },
            problem(DpopProblem::Malformed),
        ),
        (
            "jwk of the client, signed by another key".into(),
            me(
                &token,
                &stranger
                    .dpop_proof("GET", &url("/me"))
                    .access_token(&token)
                    .header(json!({ "jwk": jwk_with(&client, json!({})) }))
                    .sign(),
            ),
            problem(DpopProblem::InvalidSignature),
        ),
        (
            "signature of another proof".into(),
            {
                let (input, _) =
                    good().sign().rsplit_once('.').map(|(i, s)| (i.to_owned(), s.to_owned())).unwrap();
                let other = good().sign();
                me(&token, &format!("{input}.{}", other.rsplit_once('.').unwrap().1))
            },
            problem(DpopProblem::InvalidSignature),
        ),
        // The claims.
        (
            "htm POST on a GET".into(),
            me(&token, &good().claims(json!({ "htm": "POST" })).sign()),
            problem(DpopProblem::MethodMismatch),
        ),
        (
            "htm in lower case".into(),
            me(&token, &good().claims(json!({ "htm": "get" })).sign()),
            problem(DpopProblem::MethodMismatch),
        ),
        (
            "iat as a string".into(),
            me(&token, &good().claims(json!({ "iat": now().to_string() })).sign()),
            problem(DpopProblem::Malformed),
        ),
        (
            "no ath".into(),
            me(&token, &good().claims(json!({ "ath": null })).sign()),
            problem(DpopProblem::MissingClaim("ath")),
        ),
        (
            "ath of another token".into(),
            me(&token, &client.dpop_proof("GET", &url("/me")).access_token(&unbound).sign()),
            problem(DpopProblem::AccessTokenMismatch),
        ),
        (
            "ath of the token, hex instead of base64url".into(),
            me(&token, &good().claims(json!({ "ath": hex_sha256(&token) })).sign()),
            problem(DpopProblem::AccessTokenMismatch),
        ),
        ("empty jti".into(), me(&token, &good().jti("").sign()), problem(DpopProblem::Malformed)),
        (
            "jti of 257 bytes".into(),
            me(&token, &good().jti(&"j".repeat(257)).sign()),
            problem(DpopProblem::Malformed),
        ),
        (
            "jti as a number".into(),
            me(&token, &good().claims(json!({ "jti": 7 })).sign()),
            problem(DpopProblem::Malformed),
        ),
    ];
    for claim in ["jti", "htm", "htu", "iat"] {
        rows.push((
            format!("no {claim}"),
            me(&token, &good().claims(json!({ claim: null })).sign()),
            problem(DpopProblem::MissingClaim(claim)),
        ));
    }
    run(&s, rows).await;

    // `iat` near the edges of the window, either side (3 s of slack for the
    // time a request takes; the exact edges are in tests/dpop.rs). Each
    // proof is made just before it is sent.
    let window = WINDOW as i64;
    for (label, offset, want) in [
        ("iat 3 s inside the window, past", 3 - window, Want::Ok),
        ("iat 3 s inside the window, future", window - 3, Want::Ok),
        ("iat 2 s outside the window, past", -window - 2, problem(DpopProblem::OutsideWindow)),
        ("iat 3 s outside the window, future", window + 3, problem(DpopProblem::OutsideWindow)),
        ("iat an hour ago", -3600, problem(DpopProblem::OutsideWindow)),
        ("iat in an hour", 3600, problem(DpopProblem::OutsideWindow)),
    ] {
        let iat = now().checked_add_signed(offset).unwrap();
        check(&s, label, me(&token, &good().issued_at(iat).sign()), &want).await;
    }
}

/// `ath` of `token`: base64url(SHA-256(token)).
fn ath(token: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()))
}

fn hex_sha256(token: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `htu` is the request's URL (the public URL and the path), compared after
/// RFC 3986 normalisation (§6.2.2 syntax, §6.2.3 scheme-based), without
/// query and fragment (RFC 9449 §4.3 check 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htu_is_compared_as_rfc_9449_and_rfc_3986_say() {
    let s = servers().await;
    let client = SigningKey::generate(Algorithm::ES256);
    let token = bound(&s, &client, json!({}));
    let proof = |htu: &str| client.dpop_proof("GET", htu).access_token(&token).sign();
    let url_mismatch = Want::Proof(DpopProblem::UrlMismatch);
    let mut rows: Vec<(String, Request, Want)> = Vec::new();
    for (htu, want) in [
        // Equivalent URLs: accepted.
        ("https://api.example.test/me", Want::Ok),
        ("HTTPS://API.EXAMPLE.TEST/me", Want::Ok),
        ("https://Api.Example.Test/me", Want::Ok),
        ("https://api.example.test:443/me", Want::Ok),
        ("https://api.example.test:/me", Want::Ok),
        ("https://api.example.test/me?x=1", Want::Ok),
        ("https://api.example.test/me#section", Want::Ok),
        ("https://api.example.test/me?x=1#section", Want::Ok),
        ("https://api.example.test/%6De", Want::Ok),
        ("https://api.example.test/x/../me", Want::Ok),
        ("https://api.example.test/./me", Want::Ok),
        // Other URLs: refused.
        ("https://api.example.test/me/", url_mismatch.clone()),
        ("https://api.example.test/ME", url_mismatch.clone()),
        ("https://api.example.test//me", url_mismatch.clone()),
        ("https://api.example.test/admin", url_mismatch.clone()),
        ("https://api.example.test/", url_mismatch.clone()),
        ("https://api.example.test:8443/me", url_mismatch.clone()),
        ("https://api.example.test:80/me", url_mismatch.clone()),
        ("http://api.example.test/me", url_mismatch.clone()),
        ("http://api.example.test:443/me", url_mismatch.clone()),
        ("https://other.example.test/me", url_mismatch.clone()),
        ("https://api.example.test./me", url_mismatch.clone()),
        ("https://evil.test/api.example.test/me", url_mismatch.clone()),
        ("https://user@api.example.test/me", url_mismatch.clone()),
        ("wss://api.example.test/me", url_mismatch.clone()),
        ("/me", url_mismatch.clone()),
        ("api.example.test/me", url_mismatch.clone()),
        ("", url_mismatch.clone()),
    ] {
        rows.push((format!("htu {htu}"), me(&token, &proof(htu)), want));
    }
    // The request's own query (and a path in other spellings) does not matter.
    rows.push((
        "request with a query".into(),
        Request::get("/me?x=1&y=2").dpop(&token, &proof(&url("/me"))),
        Want::Ok,
    ));
    rows.push((
        "request with a query, htu with another".into(),
        Request::get("/me?x=1").dpop(&token, &proof(&url("/me?y=2"))),
        Want::Ok,
    ));
    run(&s, rows).await;
}

/// Replays: the same proof twice (each server has its own record), and
/// `POST /transfer`, single-use for the token whatever the proofs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_and_single_use_tokens_are_accepted_once() {
    let s = servers().await;
    let client = SigningKey::generate(Algorithm::ES256);
    let token = bound(&s, &client, json!({}));
    let proof = proof_for(&client, &token);
    check(&s, "first use of the proof", me(&token, &proof), &Want::Ok).await;
    check(&s, "the same proof again", me(&token, &proof), &Want::Proof(DpopProblem::Replayed)).await;
    check(&s, "a fresh proof", me(&token, &proof_for(&client, &token)), &Want::Ok).await;
    // A refused proof is not spent: the same proof for the right request still works once.
    let unspent = proof_for(&client, &token);
    let elsewhere = Request::get("/admin").dpop(&token, &unspent);
    check(&s, "proof for /me sent to /admin", elsewhere, &Want::Proof(DpopProblem::UrlMismatch)).await;
    check(&s, "then to /me", me(&token, &unspent), &Want::Ok).await;

    let transfer = bound(&s, &client, json!({ "scope": "transfer", "jti": "dpop-transfer" }));
    let post = |token: &str| {
        Request::post("/transfer")
            .dpop(token, &client.dpop_proof("POST", &url("/transfer")).access_token(token).sign())
    };
    let first = check(&s, "transfer", post(&transfer), &Want::Ok).await;
    assert_eq!(first.body, json!({ "ok": true, "jti": "dpop-transfer" }));
    check(&s, "transfer again, fresh proof", post(&transfer), &refused(On::Dpop, Error::Replayed)).await;
    check(
        &s,
        "transfer again, as Bearer",
        Request::post("/transfer").bearer(&transfer),
        &refused(On::Bearer, Error::BoundTokenAsBearer),
    )
    .await;
    let get_proof = client.dpop_proof("GET", &url("/transfer")).access_token(&transfer).sign();
    let wrong_method = Request::post("/transfer").dpop(&transfer, &get_proof);
    check(&s, "transfer with a GET proof", wrong_method, &Want::Proof(DpopProblem::MethodMismatch)).await;

    // Scope refusals are 403 on the DPoP challenge alone (not a 401).
    let admin = Request::get("/admin")
        .dpop(&token, &client.dpop_proof("GET", &url("/admin")).access_token(&token).sign());
    check(&s, "admin without the scope", admin, &Want::Scope(On::Dpop, "admin")).await;
    let admin_token = bound(&s, &client, json!({ "scope": "admin" }));
    let admin = Request::get("/admin")
        .dpop(&admin_token, &client.dpop_proof("GET", &url("/admin")).access_token(&admin_token).sign());
    let answer = check(&s, "admin with the scope", admin, &Want::Ok).await;
    assert_eq!(answer.body, json!({ "ok": true }));
}

/// With DPoP on, every 401 carries `Bearer realm=".."` then `DPoP algs=".."`,
/// the error (if any) on one of them; a request without a token gets both
/// without an error; the metadata document lists the same algorithms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_and_metadata_announce_dpop() {
    let s = servers().await;
    let none = s.same("no token", Request::get("/me")).await;
    assert_eq!((none.status, &none.body), (401, &json!("")), "{none:?}");
    assert_challenges("no token", &none, None);
    let other =
        s.same("another scheme", Request::get("/me").header("authorization", "Basic dXNlcjpwYXNz")).await;
    assert_eq!(other.status, 401);
    assert_challenges("another scheme", &other, None);

    let expired = s.same("expired bearer", Request::get("/me").bearer(&s.idp.expired_token())).await;
    assert_challenges(
        "expired bearer",
        &expired,
        Some((On::Bearer, "invalid_token", "the token has expired")),
    );

    // 400 and 403 are not 401: one challenge, the one with the error.
    let empty = s.same("DPoP without a token", Request::get("/me").header("authorization", "DPoP")).await;
    assert_eq!((empty.status, &empty.body["error"]), (400, &json!("invalid_request")), "{empty:?}");
    assert_eq!(empty.schemes, ["Bearer"], "{empty:?}");
    let scope = s.same("bearer without scope", Request::get("/admin").bearer(&s.idp.valid_token())).await;
    assert_eq!((scope.status, scope.schemes.clone()), (403, vec!["Bearer".to_owned()]), "{scope:?}");

    let metadata = s.same("metadata", Request::get("/.well-known/oauth-protected-resource")).await;
    assert_eq!(metadata.status, 200);
    let announced: Vec<String> = algs().split(' ').map(str::to_owned).collect();
    assert_eq!(metadata.body["dpop_signing_alg_values_supported"], json!(announced), "{metadata:?}");
    assert_eq!(metadata.body["dpop_bound_access_tokens_required"], json!(false), "{metadata:?}");
    assert!(announced.iter().all(|alg| !alg.starts_with("HS")), "{announced:?}");
    assert_eq!(metadata.body["bearer_methods_supported"], json!(["header"]));
}

/// Without `TOKENGATE_PUBLIC_URL`, proofs name `http://ADDR` as bound: each
/// server takes proofs for its own address, not the other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_public_url_is_the_bound_address() {
    let s = start(&[("TOKENGATE_DPOP", "1".into())]).await;
    let client = SigningKey::generate(Algorithm::EdDSA);
    let token = bound(&s, &client, json!({}));
    let proof = |addr: std::net::SocketAddr| {
        client.dpop_proof("GET", &format!("http://{addr}/me")).access_token(&token).sign()
    };
    for (own, other) in [(s.axum, s.actix), (s.actix, s.axum)] {
        let answer = send(own, &me(&token, &proof(own))).await;
        assert_eq!(answer.status, 200, "own address {own}: {answer:?}");
        let answer = send(own, &me(&token, &proof(other))).await;
        let url_mismatch = Error::InvalidDpopProof(DpopProblem::UrlMismatch).description();
        assert_eq!(
            (answer.status, &answer.body["error_description"]),
            (401, &json!(url_mismatch)),
            "{answer:?}"
        );
        assert_challenges(
            "the other server's address",
            &answer,
            Some((On::Dpop, "invalid_dpop_proof", &url_mismatch)),
        );
        let spelt = format!("http://localhost:{}/me", own.port());
        let answer =
            send(own, &me(&token, &client.dpop_proof("GET", &spelt).access_token(&token).sign())).await;
        assert_eq!(answer.status, 401, "localhost is another host than 127.0.0.1: {answer:?}");
        let https = format!("https://{own}/me");
        let answer =
            send(own, &me(&token, &client.dpop_proof("GET", &https).access_token(&token).sign())).await;
        assert_eq!(answer.status, 401, "https is another scheme: {answer:?}");
    }
}

/// `TOKENGATE_ALGORITHMS` is the allow-list proofs are held to as well (the
/// contract: "an asymmetric algorithm from the allow-list"): the challenge
/// and the metadata name only its asymmetric members, and a proof signed
/// with another algorithm is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_algorithms_follow_the_configured_allow_list() {
    let s = start(&[
        ("TOKENGATE_DPOP", "1".into()),
        ("TOKENGATE_PUBLIC_URL", PUBLIC.into()),
        ("TOKENGATE_ALGORITHMS", "ES256,EdDSA".into()),
    ])
    .await;
    let none = s.same("no token", Request::get("/me")).await;
    assert_eq!(
        none.dpop_challenge.as_ref().and_then(|c| c.get("algs")).map(String::as_str),
        Some("ES256 EdDSA")
    );
    let metadata = s.same("metadata", Request::get("/.well-known/oauth-protected-resource")).await;
    assert_eq!(metadata.body["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA"]));
    let client = SigningKey::generate(Algorithm::RS256);
    let token = bound(&s, &client, json!({}));
    let answer = s.same("RS256 proof", me(&token, &proof_for(&client, &token))).await;
    assert_eq!(
        answer.body["error_description"],
        Error::InvalidDpopProof(DpopProblem::AlgorithmNotAllowed).description()
    );
}
