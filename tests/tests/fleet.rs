//! A fleet: the axum and the actix-web demo servers sharing one real Redis
//! (`TOKENGATE_REDIS_URL`). A single-use token spent on one is refused on
//! the other; a revocation made through one holds on the other; Redis down
//! means 503 on every protected route (never a pass); Redis back means
//! service again, without restarting either server.

mod support;

#[path = "../../crates/tokengate-redis/tests/support/redis_server.rs"]
mod redis_server;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Request, send, start};

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
