//! A fleet: the axum and the actix-web demo servers sharing one real Redis
//! (`TOKENGATE_REDIS_URL`). A single-use token spent on one is refused on
//! the other; a revocation made through one holds on the other; Redis down
//! means 503 on every protected route (never a pass); Redis back means
//! service again, without restarting either server. With DPoP on, a proof
//! accepted by one instance is refused by the other: the fleet shares the
//! record of used proofs as it shares single-use records. The fleet's
//! guarantees hold the same over TLS and on a Redis Cluster.

mod support;

#[path = "../../crates/tokengate-redis/tests/support/mod.rs"]
mod redis_support;

use redis_support::{cluster::RedisCluster, redis_server, tls::TlsRedis};

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Request, send, start};
use tokengate::Algorithm;
use tokengate_testkit::SigningKey;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_single_use_and_revocation_through_redis() {
    let mut redis = redis_server::RedisServer::start();
    let s = start(&[("TOKENGATE_REDIS_URL", redis.url())]).await;

    let transfer = s.token(json!({ "scope": "transfer", "jti": "fleet-transfer" }));
    let on_axum = send(s.axum, &Request::post("/transfer").bearer(&transfer)).await;
    assert_eq!(on_axum.status, 200, "{on_axum:?}");
    let on_actix = send(s.actix, &Request::post("/transfer").bearer(&transfer)).await;
    assert_eq!(on_actix.status, 401, "spent on the other instance: {on_actix:?}");
    assert_eq!(on_actix.body["error"], "invalid_token");

    let doomed = s.token(json!({ "jti": "fleet-doomed" }));
    assert_eq!(send(s.axum, &Request::get("/me").bearer(&doomed)).await.status, 200);
    let admin = s.idp.admin_token();
    let revoke = Request::post("/admin/revoke").bearer(&admin).json(json!({ "jti": "fleet-doomed" }));
    assert_eq!(send(s.actix, &revoke).await.status, 200);
    assert_eq!(send(s.axum, &Request::get("/me").bearer(&doomed)).await.status, 401, "revoked through actix");

    redis.kill();
    let fresh = s.token(json!({ "jti": "fleet-fresh" }));
    for addr in [s.axum, s.actix] {
        let answer = send(addr, &Request::get("/me").bearer(&fresh)).await;
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.challenge.as_ref().unwrap()["error"], "temporarily_unavailable");
        assert!(answer.retry_after.is_some());
        let spend = s.token(json!({ "scope": "transfer", "jti": format!("down-{addr}") }));
        assert_eq!(send(addr, &Request::post("/transfer").bearer(&spend)).await.status, 503);
    }

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    for addr in [s.axum, s.actix] {
        loop {
            let answer = send(addr, &Request::get("/me").bearer(&fresh)).await;
            if answer.status == 200 {
                break;
            }
            assert_eq!(answer.status, 503, "{answer:?}");
            assert!(Instant::now() < deadline, "{addr} did not recover after Redis came back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// DPoP across a fleet: both demos on one Redis, one public URL. A proof
/// accepted by one instance is `invalid_dpop_proof` ("already used") on the
/// other, on its `DPoP` challenge; a fresh proof is accepted there; a
/// bound single-use token spent on one is refused on the other, however
/// fresh its proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_is_accepted_once_across_the_fleet() {
    const PUBLIC: &str = "https://api.example.test";
    let redis = redis_server::RedisServer::start();
    let s = start(&[
        ("TOKENGATE_REDIS_URL", redis.url()),
        ("TOKENGATE_DPOP", "1".into()),
        ("TOKENGATE_PUBLIC_URL", PUBLIC.into()),
    ])
    .await;
    let client = SigningKey::generate(Algorithm::ES256);
    let token = s.token(json!({ "jti": "fleet-dpop", "cnf": { "jkt": client.jwk_thumbprint().unwrap() } }));
    let proof = |method: &str, path: &str, token: &str| {
        client.dpop_proof(method, &format!("{PUBLIC}{path}")).access_token(token).sign()
    };

    let once = proof("GET", "/me", &token);
    let on_axum = send(s.axum, &Request::get("/me").dpop(&token, &once)).await;
    assert_eq!(on_axum.status, 200, "{on_axum:?}");
    for (first, second) in [(s.axum, s.actix), (s.actix, s.axum)] {
        let once = proof("GET", "/me", &token);
        assert_eq!(send(first, &Request::get("/me").dpop(&token, &once)).await.status, 200);
        let again = send(second, &Request::get("/me").dpop(&token, &once)).await;
        assert_eq!(again.status, 401, "used on {first}, replayed on {second}: {again:?}");
        assert_eq!(again.body["error"], "invalid_dpop_proof", "{again:?}");
        assert_eq!(
            again.body["error_description"],
            "the DPoP proof was already used; make a new proof for each request",
            "{again:?}"
        );
        let dpop = again.dpop_challenge.as_ref().expect("a DPoP challenge");
        assert_eq!(dpop["error"], "invalid_dpop_proof", "{again:?}");
        assert!(!again.challenge.as_ref().unwrap().contains_key("error"), "{again:?}");
        let fresh = proof("GET", "/me", &token);
        assert_eq!(send(second, &Request::get("/me").dpop(&token, &fresh)).await.status, 200);
    }
    let replayed = send(s.actix, &Request::get("/me").dpop(&token, &once)).await;
    assert_eq!(replayed.body["error"], "invalid_dpop_proof", "{replayed:?}");

    let transfer = s.token(json!({
        "scope": "transfer", "jti": "fleet-dpop-transfer", "cnf": { "jkt": client.jwk_thumbprint().unwrap() }
    }));
    let post = |addr| {
        let request = Request::post("/transfer").dpop(&transfer, &proof("POST", "/transfer", &transfer));
        async move { send(addr, &request).await }
    };
    assert_eq!(post(s.actix).await.status, 200);
    let spent = post(s.axum).await;
    assert_eq!(spent.status, 401, "{spent:?}");
    assert_eq!(spent.body["error_description"], "the token was already used; this API accepts it only once");
    assert_eq!(spent.dpop_challenge.as_ref().unwrap()["error"], "invalid_token", "{spent:?}");
}

/// What a fleet promises, checked on `s`: a single-use token spent on one
/// instance is refused on the other, and a revocation made through one
/// holds on the other (both ways).
async fn assert_the_fleet_shares_uses_and_revocations(s: &support::Servers, label: &str) {
    for (first, second) in [(s.axum, s.actix), (s.actix, s.axum)] {
        let jti = format!("{label}-transfer-{}", first.port());
        let transfer = s.token(json!({ "scope": "transfer", "jti": jti }));
        let spent = send(first, &Request::post("/transfer").bearer(&transfer)).await;
        assert_eq!(spent.status, 200, "{label}: {spent:?}");
        let again = send(second, &Request::post("/transfer").bearer(&transfer)).await;
        assert_eq!((again.status, again.body["error"].as_str()), (401, Some("invalid_token")), "{label}");

        let jti = format!("{label}-doomed-{}", first.port());
        let doomed = s.token(json!({ "jti": jti }));
        assert_eq!(send(second, &Request::get("/me").bearer(&doomed)).await.status, 200, "{label}");
        let revoke = Request::post("/admin/revoke").bearer(&s.idp.admin_token()).json(json!({ "jti": jti }));
        assert_eq!(send(first, &revoke).await.status, 200, "{label}");
        assert_eq!(send(second, &Request::get("/me").bearer(&doomed)).await.status, 401, "{label}: revoked");
    }
}

/// Both demos on a TLS-only Redis (`rediss://`, the server's certificate
/// signed by a CA made by the test, given as `TOKENGATE_REDIS_CA`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_holds_over_tls() {
    let redis = TlsRedis::start_with_client_auth(false);
    let ca = redis.pki.ca.to_str().unwrap().to_owned();
    let s = start(&[("TOKENGATE_REDIS_URL", redis.url_by_name()), ("TOKENGATE_REDIS_CA", ca)]).await;
    assert_the_fleet_shares_uses_and_revocations(&s, "tls").await;
}

/// Both demos on a three-master Redis Cluster (`TOKENGATE_REDIS_URL` lists
/// the seeds); losing a master answers 503, never a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_holds_on_a_cluster() {
    let mut cluster = RedisCluster::start(3);
    let s = start(&[("TOKENGATE_REDIS_URL", cluster.urls().join(","))]).await;
    assert_the_fleet_shares_uses_and_revocations(&s, "cluster").await;

    // Every master down: 503 on both instances, for a plain and a single-use token.
    for index in 0..cluster.len() {
        cluster.kill(index);
    }
    let fresh = s.token(json!({ "jti": "cluster-fresh" }));
    let spend = s.token(json!({ "scope": "transfer", "jti": "cluster-down" }));
    for addr in [s.axum, s.actix] {
        let answer = send(addr, &Request::get("/me").bearer(&fresh)).await;
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.challenge.as_ref().unwrap()["error"], "temporarily_unavailable");
        assert_eq!(send(addr, &Request::post("/transfer").bearer(&spend)).await.status, 503);
    }
}
