//! Token-sharing detection with the in-process replay store: distinct
//! clients are counted per token, a token above the limit is refused (for
//! every client) or reported, and the configuration is checked at build.
//! Redis is tested in `crates/tokengate-redis/tests`; the adapters in
//! `adapter_parity.rs`.

use serde_json::json;
use tokengate::store::{
    ClientSighting, RecordKey, RecordKind, ReplayStore, StoreFuture, TokenUse, UseOutcome,
};
use tokengate::{
    Algorithm, BuildError, Error, MAX_SHARING_LIMIT, ManualClock, MemoryReplayStore, Presentation,
    StandardClaims, TokenCache, TokenSharing, Validator, Verified,
};
use tokengate_testkit::SigningKey;
use tokengate_tests::*;

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid("k")
}

fn sharing_validator(key: &SigningKey, sharing: TokenSharing, clock: &ManualClock) -> Validator {
    Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[key]))
        .clock(clock.clone())
        .token_sharing(sharing)
        .build()
        .expect("valid")
}

/// `token` presented in a request from the client whose `x-real-ip` is `ip`.
fn from(validator: &Validator, token: &str, ip: Option<&str>) -> Result<Verified<StandardClaims>, Error> {
    let mut request = http::Request::builder().header("authorization", format!("Bearer {token}"));
    if let Some(ip) = ip {
        request = request.header("x-real-ip", ip);
    }
    block_on(validator.validate_request(&request.body(()).expect("request")))
}

#[test]
fn a_token_from_more_clients_than_allowed_is_refused_for_every_client() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator = sharing_validator(&key, TokenSharing::refuse_above(2).client_header("x-real-ip"), &clock);
    let token = key.token(&good_claims());
    let other = key.token(&claims_with(json!({"jti": "token-2"})));

    assert_eq!(from(&validator, &token, Some("10.0.0.1")).expect("first client").clients_seen(), Some(1));
    // The same client again is still one client.
    assert_eq!(
        from(&validator, &token, Some("10.0.0.1")).expect("first client again").clients_seen(),
        Some(1)
    );
    assert_eq!(from(&validator, &token, Some("10.0.0.2")).expect("second client").clients_seen(), Some(2));
    assert_refused(
        from(&validator, &token, Some("10.0.0.3")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &token,
    );
    // Leaked: refused for the clients seen before too, until it expires.
    assert_refused(
        from(&validator, &token, Some("10.0.0.1")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &token,
    );
    assert_refused(
        from(&validator, &token, Some("10.0.0.2")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &token,
    );
    // Another token of the same subject is counted on its own.
    assert_eq!(from(&validator, &other, Some("10.0.0.3")).expect("another token").clients_seen(), Some(1));
    // A request without the header is one client of its own, "unknown".
    assert_eq!(from(&validator, &other, None).expect("no header").clients_seen(), Some(2));
    assert_refused(
        from(&validator, &other, Some("10.0.0.4")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &other,
    );
}

#[test]
fn the_count_holds_on_cache_hits_and_without_the_cache() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let sharing = TokenSharing::refuse_above(1).client_header("x-real-ip");
    for cache in [Some(TokenCache::new()), None] {
        let validator = Validator::builder()
            .issuer(issuer(&[Algorithm::ES256], &[&key]))
            .clock(clock.clone())
            .token_cache(cache.clone())
            .token_sharing(sharing)
            .build()
            .expect("valid");
        let token = key.token(&good_claims());
        for _ in 0..3 {
            assert_eq!(
                from(&validator, &token, Some("10.0.0.1")).expect("one client").clients_seen(),
                Some(1)
            );
        }
        let refused = from(&validator, &token, Some("10.0.0.2"));
        assert_refused(refused, Error::SharedToken, 401, Some("invalid_token"), &token);
        match validator.token_cache() {
            Some(held) => assert_eq!(held.entry_count(), 1, "the token was served from the cache"),
            None => assert!(cache.is_none(), "no cache where none was asked for"),
        }
    }
}

#[test]
fn reported_tokens_are_accepted_with_their_count() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator = sharing_validator(&key, TokenSharing::report_above(1).client_header("x-real-ip"), &clock);
    let token = key.token(&good_claims());
    assert_eq!(from(&validator, &token, Some("a")).expect("first").clients_seen(), Some(1));
    assert_eq!(from(&validator, &token, Some("b")).expect("reported, not refused").clients_seen(), Some(2));
    // Counting stops one above the limit: the record stays small.
    assert_eq!(from(&validator, &token, Some("c")).expect("reported").clients_seen(), Some(2));
    assert_eq!(from(&validator, &token, Some("a")).expect("reported").clients_seen(), Some(2));
}

#[test]
fn custom_servers_name_the_client_in_the_presentation() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let validator = sharing_validator(&key, TokenSharing::refuse_above(1), &clock);
    let token = key.token(&good_claims());
    let as_client = |client: &str| {
        let presentation = Presentation::bearer(token.clone()).from_client(client.as_bytes());
        block_on(validator.validate_presentation::<StandardClaims>(&presentation))
    };
    assert_eq!(as_client("device-1").expect("first").clients_seen(), Some(1));
    assert_eq!(as_client("device-1").expect("same").clients_seen(), Some(1));
    assert_refused(as_client("device-2"), Error::SharedToken, 401, Some("invalid_token"), &token);
    // `validate_token` names no client: the unknown one, a third client.
    assert_refused(check(&validator, &token), Error::SharedToken, 401, Some("invalid_token"), &token);
    // Without sharing detection nothing is counted.
    let plain = on_clock(issuer(&[Algorithm::ES256], &[&key]), &clock);
    assert_eq!(check(&plain, &token).expect("accepted").clients_seen(), None);
}

#[test]
fn sightings_live_as_long_as_the_token_and_no_longer() {
    let store = MemoryReplayStore::new();
    let token = RecordKey::new(RecordKind::Sighting, ISS, "a token");
    let sight =
        |client, now| block_on(store.note_client(ClientSighting::new(token, client, 3, NOW + 60, now)));
    assert_eq!(sight(1, NOW), Ok(1));
    assert_eq!(sight(2, NOW + 59), Ok(2));
    assert_eq!(sight(3, NOW + 59), Ok(3));
    // At the cap a new client is answered the cap, and not kept.
    assert_eq!(sight(4, NOW + 59), Ok(3));
    assert_eq!(sight(4, NOW + 59), Ok(3));
    // Once the token is refused on time, its record is gone: a new record starts.
    assert_eq!(sight(4, NOW + 60), Ok(1));
    assert_eq!(store.sightings_len(), 1);
    // And nothing is held once the last record expired.
    store.purge_expired(NOW + 200);
    assert_eq!(store.sightings_len(), 0);
    assert_eq!(sight(1, NOW + 200), Ok(1));
}

#[test]
fn a_full_store_refuses_new_tokens_with_503_where_sharing_is_refused_and_counts_none_where_reported() {
    let store = MemoryReplayStore::new().sighting_capacity(1);
    let sight = |token: &str| {
        let token = RecordKey::new(RecordKind::Sighting, ISS, token);
        block_on(store.note_client(ClientSighting::new(token, 1, 2, NOW + 60, NOW)))
    };
    assert_eq!(sight("first"), Ok(1));
    assert!(matches!(sight("second"), Err(tokengate::StoreError::Full { .. })));
    assert_eq!(store.sightings_len(), 1);
    assert_eq!(store.len(), 0, "single-use records are counted apart");

    let key = key();
    let (first, second) = (key.token(&good_claims()), key.token(&claims_with(json!({"jti": "token-2"}))));
    for (sharing, refused) in [(TokenSharing::refuse_above(2), true), (TokenSharing::report_above(2), false)]
    {
        let validator = Validator::builder()
            .issuer(issuer(&[Algorithm::ES256], &[&key]))
            .clock(ManualClock::new(NOW))
            .replay_store(MemoryReplayStore::new().sighting_capacity(1))
            .token_sharing(sharing)
            .build()
            .expect("valid");
        assert_eq!(check(&validator, &first).expect("room for one").clients_seen(), Some(1));
        let full = check(&validator, &second);
        if refused {
            let error = full.expect_err("no room to count: refused");
            assert!(matches!(error, Error::ReplayStoreFull { .. }), "{error:?}");
            assert_eq!(error.status().as_u16(), 503);
        } else {
            assert_eq!(full.expect("reported only: accepted").clients_seen(), None, "uncounted");
        }
    }
}

#[test]
fn a_shared_token_stays_refused_until_it_expires_even_after_a_day() {
    let key = key();
    let clock = ManualClock::new(NOW);
    let two_days = 2 * 86_400;
    let validator = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]).max_lifetime(std::time::Duration::from_secs(3 * 86_400)))
        .clock(clock.clone())
        .token_sharing(TokenSharing::refuse_above(1).client_header("x-real-ip"))
        .build()
        .expect("valid");
    let token = key.token(&claims_with(json!({ "exp": NOW + two_days })));
    from(&validator, &token, Some("a")).expect("first client");
    assert_refused(
        from(&validator, &token, Some("b")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &token,
    );
    clock.set(NOW + two_days - 60);
    assert_refused(
        from(&validator, &token, Some("a")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &token,
    );
    assert_refused(
        from(&validator, &token, Some("c")),
        Error::SharedToken,
        401,
        Some("invalid_token"),
        &token,
    );
}

/// A replay store that records uses but cannot count clients.
#[derive(Debug)]
struct UsesOnly;

impl ReplayStore for UsesOnly {
    fn record_use<'a>(&'a self, _: TokenUse<'a>) -> StoreFuture<'a, UseOutcome> {
        StoreFuture::ready(Ok(UseOutcome::First))
    }
}

#[test]
fn the_builder_refuses_what_cannot_count() {
    let key = key();
    let build = |sharing: TokenSharing| {
        Validator::builder()
            .issuer(issuer(&[Algorithm::ES256], &[&key]))
            .token_sharing(sharing)
            .build()
            .map(drop)
    };
    let refused = |sharing: TokenSharing, says: &str| match build(sharing) {
        Err(BuildError::TokenSharing(text)) => assert!(text.contains(says), "{text}"),
        other => panic!("expected a token-sharing build error, got {other:?}"),
    };
    refused(TokenSharing::refuse_above(0), "between 1 and 15");
    refused(TokenSharing::refuse_above(MAX_SHARING_LIMIT + 1), "between 1 and 15");
    refused(TokenSharing::report_above(2).client_header("X-Real-IP"), "lower-case");
    refused(TokenSharing::report_above(2).client_header("x real ip"), "lower-case");
    refused(TokenSharing::report_above(2).client_header("authorization"), "credentials");
    refused(TokenSharing::report_above(2).client_header("cookie"), "credentials");
    let same_as_tokens = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .token_locations(tokengate::TokenLocations { header: Some("x-api-token"), ..Default::default() })
        .token_sharing(TokenSharing::refuse_above(2).client_header("x-api-token"))
        .build();
    match same_as_tokens {
        Err(BuildError::TokenSharing(text)) => assert!(text.contains("where tokens are read from"), "{text}"),
        other => panic!("expected a token-sharing build error, got {:?}", other.map(drop)),
    }
    build(TokenSharing::refuse_above(MAX_SHARING_LIMIT).client_header("x-forwarded-for")).expect("in range");

    let on_uses_only = Validator::builder()
        .issuer(issuer(&[Algorithm::ES256], &[&key]))
        .replay_store(UsesOnly)
        .token_sharing(TokenSharing::refuse_above(2))
        .build();
    match on_uses_only {
        Err(BuildError::TokenSharing(text)) => assert!(text.contains("does not count clients"), "{text}"),
        other => panic!("expected a token-sharing build error, got {:?}", other.map(drop)),
    }
}

#[test]
fn issuers_tokens_are_counted_apart() {
    // The same token text under two issuers (tenants) is two records: their
    // clients never add up.
    let store = MemoryReplayStore::new();
    let sight = |issuer: &str, client| {
        let token = RecordKey::new(RecordKind::Sighting, issuer, "t");
        block_on(store.note_client(ClientSighting::new(token, client, 3, NOW + 60, NOW)))
    };
    assert_eq!(sight("https://a.test/", 1), Ok(1));
    assert_eq!(sight("https://b.test/", 2), Ok(1));
    assert_eq!(sight("https://a.test/", 3), Ok(2));
    assert_eq!(store.sightings_len(), 2);
    // A sighting is no single-use record of the same token.
    assert_eq!(store.len(), 0);
}
