//! Multi-tenant issuers (`ValidatorBuilder::tenants`) against a real
//! multi-tenant identity provider on loopback: one HTTP server publishing,
//! for each tenant, its own discovery document and JWK Set under
//! `/{tenant}/`, and counting every request per tenant.
//!
//! What is asserted: each tenant is discovered and its keys fetched once,
//! however many tokens; issuers outside the rule never cause a request;
//! random tenants inside the rule cause at most the admission budget of
//! requests, and a tenant that failed is not asked again for a while; the
//! tenants held stay within the capacity, and an evicted one comes back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokengate::jwks::JwksSource;
use tokengate::tenants::Tenants;
use tokengate::{Algorithm, Error, Issuer, ManualClock, Revoke, RevokeError, StandardClaims, Validator};
use tokengate_testkit::{SigningKey, jwk_set};
use tokengate_tests::{AUD, NOW, claims_with};

/// The provider's state: each tenant's key, and the requests per tenant.
#[derive(Default)]
struct Tenancy {
    keys: Mutex<HashMap<String, Arc<SigningKey>>>,
    requests: Mutex<HashMap<String, usize>>,
    /// `true` once the `slow-*` tenants may answer.
    released: tokio::sync::watch::Sender<bool>,
}

/// A multi-tenant provider on `127.0.0.1`: tenant `t` has issuer
/// `{base}/t`, discovery at `/t/.well-known/openid-configuration` and keys
/// at `/t/jwks`. Unknown tenants get 404; tenants named `slow-*` answer
/// only once released.
struct Provider {
    base: String,
    state: Arc<Tenancy>,
    /// Signs the tokens of tenants the provider does not have.
    stranger: Arc<SigningKey>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Provider {
    async fn start() -> Provider {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Tenancy::default());
        let app = Router::new()
            .route("/{tenant}/.well-known/openid-configuration", get(discovery))
            .route("/{tenant}/jwks", get(jwks))
            .with_state((state.clone(), base.clone()));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let stranger = Arc::new(SigningKey::generate(Algorithm::ES256).with_kid("stranger"));
        Provider { base, state, stranger, server }
    }

    fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.base)
    }

    /// A tenant with its own key.
    fn add(&self, tenant: &str) {
        let key = SigningKey::generate(Algorithm::ES256).with_kid(format!("{tenant}-key"));
        self.state.keys.lock().unwrap().insert(tenant.to_owned(), Arc::new(key));
    }

    /// A token of `tenant`, signed with its key (or a stranger's, for a
    /// tenant the provider does not know).
    fn token(&self, tenant: &str) -> String {
        self.token_with(tenant, json!({}))
    }

    /// A token of `tenant` with `changes` to the claims.
    fn token_with(&self, tenant: &str, changes: serde_json::Value) -> String {
        let key = self.state.keys.lock().unwrap().get(tenant).cloned();
        let key = key.unwrap_or_else(|| self.stranger.clone());
        let claims = tokengate_tests::merged(claims_with(json!({ "iss": self.issuer(tenant) })), &changes);
        key.token(&claims)
    }

    /// Requests received for `tenant` (discovery and keys together).
    fn requests(&self, tenant: &str) -> usize {
        self.state.requests.lock().unwrap().get(tenant).copied().unwrap_or(0)
    }

    fn total_requests(&self) -> usize {
        self.state.requests.lock().unwrap().values().sum()
    }

    /// The rule: `{base}/{tenant}`.
    fn pattern(&self) -> String {
        format!("{}/{{}}", self.base)
    }
}

type AppState = (Arc<Tenancy>, String);

async fn answer(
    state: &Tenancy,
    tenant: &str,
    body: impl FnOnce(&SigningKey) -> serde_json::Value,
) -> Response {
    *state.requests.lock().unwrap().entry(tenant.to_owned()).or_default() += 1;
    if tenant.starts_with("slow-") {
        let mut released = state.released.subscribe();
        let _ = released.wait_for(|released| *released).await;
    }
    let key = state.keys.lock().unwrap().get(tenant).cloned();
    match key {
        Some(key) => Json(body(&key)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn discovery(State((state, base)): State<AppState>, Path(tenant): Path<String>) -> Response {
    let issuer = format!("{base}/{tenant}");
    answer(&state, &tenant, |_| json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") })).await
}

async fn jwks(State((state, _)): State<AppState>, Path(tenant): Path<String>) -> Response {
    answer(&state, &tenant, |key| jwk_set([key])).await
}

/// A validator trusting the provider's tenants, keys by discovery per
/// tenant, on a manual clock (which the admission rate counts in).
fn validator(provider: &Provider, configure: impl FnOnce(Tenants) -> Tenants) -> (Validator, ManualClock) {
    let clock = ManualClock::new(NOW);
    let tenants = Tenants::new(
        Tenants::pattern(&provider.pattern()),
        Issuer::any_issuer().audience(AUD).algorithms([Algorithm::ES256]),
        JwksSource::discover_per_tenant(|keys| keys.allow_http_loopback(true)),
    );
    let validator = Validator::builder()
        .tenants(configure(tenants))
        .clock(clock.clone())
        .build()
        .expect("a valid validator");
    (validator, clock)
}

async fn validate(validator: &Validator, token: &str) -> Result<Verified, Error> {
    validator.validate_token::<StandardClaims>(token).await
}

type Verified = tokengate::Verified<StandardClaims>;

/// Validates every token, 50 at a time concurrently; results in the order of `tokens`.
async fn validate_all(validator: &Validator, tokens: &[String]) -> Vec<Result<Verified, Error>> {
    let mut results = Vec::with_capacity(tokens.len());
    for chunk in tokens.chunks(50) {
        let mut batch = tokio::task::JoinSet::new();
        for (index, token) in chunk.iter().cloned().enumerate() {
            let validator = validator.clone();
            batch.spawn(async move { (index, validate(&validator, &token).await) });
        }
        let mut answers = batch.join_all().await;
        answers.sort_by_key(|(index, _)| *index);
        results.extend(answers.into_iter().map(|(_, result)| result));
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tenants_are_each_discovered_once() {
    let provider = Provider::start().await;
    let tenants: Vec<String> = (0..1_000).map(|i| format!("tenant-{i:04}")).collect();
    for tenant in &tenants {
        provider.add(tenant);
    }
    let (validator, _clock) =
        validator(&provider, |t| t.capacity(2_000).new_tenants_per_second(100_000).max_in_flight(64));
    let tokens: Vec<String> = tenants.iter().map(|t| provider.token(t)).collect();
    let started = Instant::now();
    for (round, results) in [validate_all(&validator, &tokens).await, validate_all(&validator, &tokens).await]
        .into_iter()
        .enumerate()
    {
        for (tenant, result) in tenants.iter().zip(results) {
            let verified = result.unwrap_or_else(|e| panic!("round {round}, {tenant}: {e:?}"));
            assert_eq!(verified.issuer(), Some(provider.issuer(tenant).as_str()));
        }
    }
    eprintln!("1,000 tenants, 2,000 tokens: {:?}", started.elapsed());
    for tenant in &tenants {
        assert_eq!(provider.requests(tenant), 2, "{tenant}: one discovery, one JWK Set");
    }
    assert_eq!(validator.tenants_held(), Some(1_000));
    // A tenant's token signed by another tenant's key is refused: each
    // tenant's keys are its own.
    let foreign = {
        let keys = provider.state.keys.lock().unwrap();
        keys["tenant-0001"].token(&claims_with(json!({ "iss": provider.issuer("tenant-0002") })))
    };
    assert_eq!(validate(&validator, &foreign).await.err(), Some(Error::NoMatchingKey));
}

#[tokio::test]
async fn issuers_outside_the_rule_never_cause_a_request() {
    let provider = Provider::start().await;
    provider.add("acme");
    let (validator, _clock) = validator(&provider, |t| t);
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let outside = [
        "https://evil.example/acme".to_owned(),
        format!("{}/acme/extra", provider.base),
        format!("{}/", provider.base),
        format!("{}/{}", provider.base, "a".repeat(65)),
        format!("{}/acme?x=1", provider.base),
        format!("{}/acme%2Fother", provider.base),
        format!("{}/../acme", provider.base),
        format!("{}/acme", provider.base.replace("127.0.0.1", "localhost")),
    ];
    for iss in &outside {
        let token = key.token(&claims_with(json!({ "iss": iss })));
        assert_eq!(validate(&validator, &token).await.err(), Some(Error::UntrustedIssuer), "{iss}");
    }
    for i in 0..10_000 {
        let token = key.token(&claims_with(json!({ "iss": format!("https://random-{i}.example/") })));
        assert_eq!(validate(&validator, &token).await.err(), Some(Error::UntrustedIssuer));
    }
    assert_eq!(provider.total_requests(), 0, "nothing outside the rule is ever fetched");
    assert_eq!(validator.tenants_held(), Some(0));
    // The real tenant still works.
    assert!(validate(&validator, &provider.token("acme")).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_tenants_inside_the_rule_are_admitted_at_a_bounded_rate() {
    let provider = Provider::start().await;
    provider.add("acme");
    let (validator, clock) =
        validator(&provider, |t| t.new_tenants_per_second(5).remember_failures_for(Duration::from_secs(60)));
    // 10,000 forged tokens naming random tenants the provider does not have.
    const FORGED: usize = 10_000;
    let random = |i: usize| format!("random-{i}");
    let forged: Vec<String> = (0..FORGED).map(|i| provider.token(&random(i))).collect();
    let results = validate_all(&validator, &forged).await;
    for result in results {
        assert!(
            matches!(result, Err(Error::KeysUnavailable { .. })),
            "no keys: 503, never a verdict: {result:?}"
        );
    }
    let asked = || (0..FORGED).filter(|i| provider.requests(&random(*i)) > 0).count();
    assert_eq!(asked(), 5, "5 new tenants per second were admitted, the others cost no request");
    // Discovery tries OpenID Connect then RFC 8414: at most two requests each.
    assert!(provider.total_requests() <= 10, "{} requests", provider.total_requests());

    // The same forged tenants again, in the same second and the next one:
    // the failed ones are remembered (no request), 5 more per second admitted.
    let before = provider.total_requests();
    let again = validate_all(&validator, &forged).await;
    assert!(again.iter().all(|r| matches!(r, Err(Error::KeysUnavailable { .. }))));
    assert_eq!(provider.total_requests(), before, "the budget of this second is spent");
    clock.advance(Duration::from_secs(1));
    let _ = validate_all(&validator, &forged).await;
    assert_eq!(asked(), 10, "5 more in the next second; the 5 that failed are not asked again");
    assert!(
        (0..FORGED).all(|i| provider.requests(&random(i)) <= 2),
        "a failed tenant is asked once per failure memory"
    );
    assert_eq!(validator.tenants_held(), Some(0), "failed tenants are not held");

    // A real tenant is admitted in a second with budget left.
    clock.advance(Duration::from_secs(1));
    assert!(validate(&validator, &provider.token("acme")).await.is_ok());
    assert_eq!(validator.tenants_held(), Some(1), "failed tenants are not held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_still_fetching_are_bounded() {
    let provider = Provider::start().await;
    for i in 0..10 {
        provider.add(&format!("slow-{i}"));
    }
    provider.add("acme");
    let (validator, _clock) = validator(&provider, |t| t.new_tenants_per_second(1_000).max_in_flight(2));
    // Ten slow tenants at once: two are admitted and wait for their keys,
    // the eight others are refused at once (503), with no request.
    let mut tasks: Vec<_> = (0..10)
        .map(|i| {
            let (validator, token) = (validator.clone(), provider.token(&format!("slow-{i}")));
            tokio::spawn(async move { validate(&validator, &token).await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while tasks.iter().filter(|task| task.is_finished()).count() < 8 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (refused, waiting): (Vec<_>, Vec<_>) = tasks.drain(..).partition(|task| task.is_finished());
    assert_eq!((refused.len(), waiting.len()), (8, 2), "two tenants in flight, eight refused");
    for task in refused {
        assert!(matches!(task.await.unwrap(), Err(Error::KeysUnavailable { .. })));
    }
    let asked = || (0..10).filter(|i| provider.requests(&format!("slow-{i}")) > 0).count();
    while asked() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await; // their requests may still be connecting
    }
    assert_eq!(asked(), 2, "only the tenants in flight were asked");
    // While both are in flight, no other new tenant is admitted…
    assert!(matches!(
        validate(&validator, &provider.token("acme")).await,
        Err(Error::KeysUnavailable { .. })
    ));
    assert_eq!(provider.requests("acme"), 0);
    // … and once they have their keys, the next one is.
    provider.state.released.send_replace(true);
    for task in waiting {
        assert!(task.await.unwrap().is_ok(), "a slow tenant, once answered");
    }
    assert!(validate(&validator, &provider.token("acme")).await.is_ok());
    assert_eq!(validator.tenants_held(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_tenants_stay_within_the_capacity_and_an_evicted_one_comes_back() {
    let provider = Provider::start().await;
    let tenants: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
    for tenant in &tenants {
        provider.add(tenant);
    }
    let (validator, _clock) =
        validator(&provider, |t| t.capacity(50).new_tenants_per_second(100_000).max_in_flight(64));
    let tokens: Vec<String> = tenants.iter().map(|t| provider.token(t)).collect();
    for (tenant, result) in tenants.iter().zip(validate_all(&validator, &tokens).await) {
        assert!(result.is_ok(), "{tenant}: {result:?}");
    }
    let held = validator.tenants_held().unwrap();
    assert!(held <= 50, "{held} tenants held, capacity 50");
    // Every tenant's token is still accepted: an evicted tenant is
    // discovered again on its next token.
    for (tenant, result) in tenants.iter().zip(validate_all(&validator, &tokens).await) {
        assert!(result.is_ok(), "{tenant} again: {result:?}");
    }
    assert!(validator.tenants_held().unwrap() <= 50);
    let rediscovered = tenants.iter().filter(|t| provider.requests(t) > 2).count();
    assert!(rediscovered > 0, "evicted tenants were discovered again");
}

#[tokio::test]
async fn a_tenant_is_revoked_without_being_discovered() {
    let provider = Provider::start().await;
    provider.add("acme");
    let (validator, _clock) = validator(&provider, |t| t);
    let acme = provider.issuer("acme");
    validator
        .revoke(&Revoke::token_id("token-1").issuer(&acme))
        .await
        .expect("revoked by the template's rules");
    assert_eq!(provider.total_requests(), 0, "revoking fetches nothing");
    assert_eq!(validate(&validator, &provider.token("acme")).await.err(), Some(Error::Revoked));
    let other = provider.token_with("acme", json!({ "jti": "token-2" }));
    assert!(validate(&validator, &other).await.is_ok(), "another token of the tenant");
    assert_eq!(
        validator.revoke(&Revoke::token_id("token-1").issuer("https://evil.example/")).await,
        Err(RevokeError::UnknownIssuer),
        "outside the rule"
    );
}

#[tokio::test]
async fn listed_issuers_come_before_the_rule() {
    let provider = Provider::start().await;
    provider.add("acme");
    let listed_key = SigningKey::generate(Algorithm::ES256).with_kid("listed");
    let acme = provider.issuer("acme");
    let tenants = Tenants::new(
        Tenants::pattern(&provider.pattern()),
        Issuer::any_issuer().audience(AUD).algorithms([Algorithm::ES256]),
        JwksSource::discover_per_tenant(|keys| keys.allow_http_loopback(true)),
    );
    let validator = Validator::builder()
        .issuer(
            Issuer::new(&acme)
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(tokengate::KeySet::new([listed_key.verification_key()])),
        )
        .tenants(tenants)
        .clock(ManualClock::new(NOW))
        .build()
        .unwrap();
    let listed_token = listed_key.token(&claims_with(json!({ "iss": acme })));
    assert!(validate(&validator, &listed_token).await.is_ok(), "the listed issuer's own key");
    assert_eq!(validate(&validator, &provider.token("acme")).await.err(), Some(Error::NoMatchingKey));
    assert_eq!(provider.total_requests(), 0, "a listed issuer is never discovered as a tenant");
    assert_eq!(validator.tenants_held(), Some(0));
}

/// Entra ID signs every tenant's tokens with one common key set: the
/// tenants share one key source, fetched once for all of them.
#[tokio::test]
async fn tenants_can_share_one_key_source() {
    let provider = Provider::start().await;
    provider.add("common");
    let common_keys: Arc<dyn tokengate::keys::KeySource> = Arc::new(
        JwksSource::from_url(&format!("{}/common/jwks", provider.base))
            .allow_http_loopback(true)
            .build()
            .unwrap(),
    );
    let tenants = Tenants::new(
        Tenants::pattern(&provider.pattern()),
        Issuer::any_issuer().audience(AUD).algorithms([Algorithm::ES256]),
        move |_tenant: &str| Ok(common_keys.clone()),
    );
    let validator = Validator::builder().tenants(tenants).clock(ManualClock::new(NOW)).build().unwrap();
    let common = provider.state.keys.lock().unwrap()["common"].clone();
    for tenant in ["contoso", "fabrikam", "northwind"] {
        let token = common.token(&claims_with(json!({ "iss": provider.issuer(tenant) })));
        let verified = validate(&validator, &token).await.unwrap_or_else(|e| panic!("{tenant}: {e:?}"));
        assert_eq!(verified.issuer(), Some(provider.issuer(tenant).as_str()));
    }
    assert_eq!(provider.total_requests(), 1, "one JWK Set fetch for every tenant");
    assert_eq!(validator.tenants_held(), Some(3));
}
