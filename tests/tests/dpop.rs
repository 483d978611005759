//! DPoP (RFC 9449) in the core, on a `ManualClock`: the policies (per
//! validator, per issuer, per route) and what each does with every way a
//! token can be presented; server nonces (RFC 9449 §8–9); how long a used
//! proof is remembered; the `iat` window to the second; the refusals'
//! challenges and `DPoP-Nonce` header; `Verified::dpop_thumbprint`; the
//! request path (`Validator::presentation`); bad configurations.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokengate::dpop::{Dpop, DpopNonces, DpopPolicy, DpopProblem, MIN_NONCE_SECRET_BYTES};
use tokengate::{
    Algorithm, BuildError, Error, Issuer, ManualClock, MemoryReplayStore, Presentation, Scheme,
    StandardClaims, Validator, Verified,
};
use tokengate_testkit::SigningKey;
use tokengate_tests::{AUD, ISS, NOW, block_on, claims_with, issuer};

/// The API's public URL: proofs name it followed by the request's path.
const PUBLIC: &str = "https://api.test";
/// The proof window used throughout (the default).
const WINDOW: u64 = 60;
/// A nonce secret of the fleet.
const SECRET: [u8; 32] = [7; 32];
/// The nonce step.
const STEP: u64 = 300;

/// An issuer key, a client key, the clock, and the validators built on them.
struct Fixture {
    signer: SigningKey,
    client: SigningKey,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            signer: SigningKey::generate(Algorithm::ES256).with_kid("issuer-key"),
            client: SigningKey::generate(Algorithm::ES256),
            clock: ManualClock::new(NOW),
        }
    }

    fn issuer(&self) -> Issuer {
        issuer(&[Algorithm::ES256], &[&self.signer])
    }

    /// A validator with `dpop` (DPoP off when `None`) trusting [`Fixture::issuer`].
    fn validator(&self, dpop: Option<Dpop>) -> Validator {
        self.validator_for(self.issuer(), dpop)
    }

    fn validator_for(&self, issuer: Issuer, dpop: Option<Dpop>) -> Validator {
        let builder = Validator::builder().issuer(issuer).clock(self.clock.clone());
        let builder = match dpop {
            Some(dpop) => builder.dpop(dpop),
            None => builder,
        };
        builder.build().expect("a valid configuration")
    }

    /// A token bound to `client` (an hour long, so that the clock may move).
    fn bound_to(&self, client: &SigningKey, changes: Value) -> String {
        let bound = json!({ "cnf": { "jkt": client.jwk_thumbprint().unwrap() }, "exp": NOW + 3600 });
        self.signer.token(&tokengate_tests::merged(claims_with(bound), &changes))
    }

    fn bound(&self) -> String {
        self.bound_to(&self.client, json!({}))
    }

    fn unbound(&self) -> String {
        self.signer.token(&claims_with(json!({ "exp": NOW + 3600 })))
    }

    /// A good proof by the client for `GET /me` with `token`, made now.
    fn proof(&self, token: &str) -> String {
        self.proof_by(&self.client, token, |proof| proof)
    }

    /// A proof by `key` for `GET /me` with `token`, made now, changed by `change`.
    fn proof_by(
        &self,
        key: &SigningKey,
        token: &str,
        change: impl FnOnce(tokengate_testkit::DpopProof<'_>) -> tokengate_testkit::DpopProof<'_>,
    ) -> String {
        use tokengate::Clock as _;
        let proof =
            key.dpop_proof("GET", &format!("{PUBLIC}/me")).access_token(token).issued_at(self.clock.now());
        change(proof).sign()
    }
}

fn dpop() -> Dpop {
    Dpop::new(PUBLIC)
}

fn nonces(secret: &[u8]) -> DpopNonces {
    DpopNonces::new(secret, Duration::from_secs(STEP)).unwrap()
}

/// `token` under the `DPoP` scheme with `proof`, for `GET /me`.
fn with_proof(token: &str, proof: &str) -> Presentation {
    Presentation::dpop(token, proof, "GET", "/me")
}

fn validate(validator: &Validator, presentation: &Presentation) -> Result<Verified<StandardClaims>, Error> {
    block_on(validator.validate_presentation(presentation))
}

// ---------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------

/// What a presentation does under each policy.
#[derive(Clone, Copy, Debug)]
enum Shape {
    BearerUnbound,
    BearerBound,
    DpopBound,
    DpopUnbound,
}

const SHAPES: [Shape; 4] = [Shape::BearerUnbound, Shape::BearerBound, Shape::DpopBound, Shape::DpopUnbound];

/// `Ok(Some(thumbprint))`: accepted with the proof's key; `Ok(None)`: accepted as a bearer token.
type Outcome = Result<Option<String>, Error>;

fn expected(policy: DpopPolicy, shape: Shape, thumbprint: &str) -> Outcome {
    use {DpopPolicy::*, Shape::*};
    match (policy, shape) {
        (Off, BearerUnbound) => Ok(None),
        (Off, BearerBound) => Err(Error::BoundTokenAsBearer),
        (Off, DpopBound | DpopUnbound) => Err(Error::DpopNotAccepted),
        (Allowed, BearerUnbound) => Ok(None),
        (Required, BearerUnbound) => Err(Error::DpopRequired),
        (Allowed | Required, BearerBound) => Err(Error::BoundTokenAsBearer),
        (Allowed | Required, DpopBound) => Ok(Some(thumbprint.to_owned())),
        (Allowed | Required, DpopUnbound) => Err(Error::TokenNotBound),
    }
}

/// Presents `shape` to `validator`, the route's policy being `route` (if any).
fn present(f: &Fixture, validator: &Validator, shape: Shape, route: Option<DpopPolicy>) -> Outcome {
    let presentation = match shape {
        Shape::BearerUnbound => Presentation::bearer(f.unbound()),
        Shape::BearerBound => Presentation::bearer(f.bound()),
        Shape::DpopBound => {
            let token = f.bound();
            with_proof(&token, &f.proof(&token))
        }
        Shape::DpopUnbound => {
            let token = f.unbound();
            with_proof(&token, &f.proof(&token))
        }
    };
    let presentation = match route {
        Some(policy) => presentation.with_dpop_policy(policy),
        None => presentation,
    };
    validate(validator, &presentation).map(|verified| verified.dpop_thumbprint().map(str::to_owned))
}

/// Every policy, set on the validator, on the issuer, and on the route,
/// against every shape of presentation; the route's policy wins over the
/// issuer's, the issuer's over the validator's.
#[test]
fn each_policy_decides_every_presentation_wherever_it_is_set() {
    let f = Fixture::new();
    let thumbprint = f.client.jwk_thumbprint().unwrap();
    const POLICIES: [DpopPolicy; 3] = [DpopPolicy::Off, DpopPolicy::Allowed, DpopPolicy::Required];
    for policy in POLICIES {
        // The same policy from three places; the others set otherwise.
        let other = if policy == DpopPolicy::Required { DpopPolicy::Off } else { DpopPolicy::Required };
        let places: [(&str, Validator, Option<DpopPolicy>); 3] = [
            ("validator", f.validator(Some(dpop().policy(policy))), None),
            ("issuer", f.validator_for(f.issuer().dpop(policy), Some(dpop().policy(other))), None),
            ("route", f.validator_for(f.issuer().dpop(other), Some(dpop().policy(other))), Some(policy)),
        ];
        for (place, validator, route) in places {
            for shape in SHAPES {
                assert_eq!(
                    present(&f, &validator, shape, route),
                    expected(policy, shape, &thumbprint),
                    "{policy} on the {place}, {shape:?}"
                );
            }
        }
    }
    // The default policy is Allowed.
    assert_eq!(dpop().default_policy(), DpopPolicy::Allowed);
    let validator = f.validator(Some(dpop()));
    for shape in SHAPES {
        assert_eq!(present(&f, &validator, shape, None), expected(DpopPolicy::Allowed, shape, &thumbprint));
    }
}

/// Two issuers of one validator, each with its own policy: a token's `iss`
/// picks the policy.
#[test]
fn each_issuer_keeps_its_own_policy() {
    let f = Fixture::new();
    const OTHER: &str = "https://other-issuer.test/";
    let other_signer = SigningKey::generate(Algorithm::ES256).with_kid("other-key");
    let strict = f.issuer().dpop(DpopPolicy::Required);
    let lax = Issuer::new(OTHER)
        .audience(AUD)
        .algorithms([Algorithm::ES256])
        .keys(tokengate::KeySet::new([other_signer.verification_key()]))
        .dpop(DpopPolicy::Off);
    let validator =
        Validator::builder().issuer(strict).issuer(lax).clock(f.clock.clone()).dpop(dpop()).build().unwrap();
    let lax_bound = other_signer.token(&claims_with(json!({
        "iss": OTHER, "cnf": { "jkt": f.client.jwk_thumbprint().unwrap() }
    })));
    let strict_plain = f.unbound();
    assert_eq!(validate(&validator, &Presentation::bearer(&strict_plain)).err(), Some(Error::DpopRequired));
    let lax_plain = other_signer.token(&claims_with(json!({ "iss": OTHER })));
    let verified = validate(&validator, &Presentation::bearer(&lax_plain)).expect("DPoP off for this issuer");
    assert_eq!(verified.dpop_thumbprint(), None);
    assert_eq!(verified.issuer(), Some(OTHER));
    assert_eq!(
        validate(&validator, &Presentation::bearer(&lax_bound)).err(),
        Some(Error::BoundTokenAsBearer),
        "a bound token is not downgraded where DPoP is off"
    );
    let proof = f.proof(&lax_bound);
    assert_eq!(validate(&validator, &with_proof(&lax_bound, &proof)).err(), Some(Error::DpopNotAccepted));
    let bound = f.bound();
    assert!(validate(&validator, &with_proof(&bound, &f.proof(&bound))).is_ok());
    assert_eq!(validator.issuers()[0].name(), Some(ISS));
}

/// A validator without DPoP refuses bound tokens (they cannot show their
/// proof) and does not know the `DPoP` scheme: `Authorization: DPoP` is "no
/// token" (401 without an error); a built DPoP presentation is refused
/// before any signature work.
#[test]
fn without_dpop_bound_tokens_are_refused_and_the_scheme_is_unknown() {
    let f = Fixture::new();
    let validator = f.validator(None);
    assert!(validator.dpop().is_none());
    let bound = f.bound();
    assert_eq!(validate(&validator, &Presentation::bearer(&bound)).err(), Some(Error::BoundTokenAsBearer));
    let plain = validate(&validator, &Presentation::bearer(f.unbound())).unwrap();
    assert_eq!(plain.dpop_thumbprint(), None);
    assert_eq!(
        validate(&validator, &with_proof("not.even.a-token", &f.proof(&bound))).err(),
        Some(Error::DpopNotAccepted)
    );
    let request = http::Request::get("/me")
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", f.proof(&bound))
        .body(())
        .unwrap();
    assert_eq!(validator.presentation(&request).err(), Some(Error::MissingToken));
    let refusal = validator.refusal(&Error::MissingToken);
    assert_eq!(
        refusal.www_authenticate,
        [r#"Bearer realm="tokengate""#],
        "no DPoP challenge when DPoP is off"
    );
}

// ---------------------------------------------------------------------------
// Nonces
// ---------------------------------------------------------------------------

/// With server nonces: a proof without one is refused `use_dpop_nonce` with a
/// fresh nonce (in `DPoP-Nonce`), which then works; a nonce lives its step
/// and the next, not two steps; another fleet's nonce is refused.
#[test]
fn server_nonces_are_issued_accepted_for_two_steps_and_refused_after() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop().nonces(nonces(&SECRET))));
    let token = f.bound();

    let error = validate(&validator, &with_proof(&token, &f.proof(&token))).unwrap_err();
    let Error::UseDpopNonce { nonce } = error.clone() else { panic!("{error:?}") };
    assert_eq!((error.status().as_u16(), error.error_code()), (401, Some("use_dpop_nonce")));
    let refusal = validator.refusal_to(&error, Scheme::Dpop);
    assert_eq!(refusal.dpop_nonce.as_deref(), Some(nonce.as_str()));
    assert_eq!(refusal.www_authenticate.len(), 2, "{refusal:?}");
    assert_eq!(refusal.www_authenticate[0], r#"Bearer realm="tokengate""#);
    assert_eq!(
        refusal.www_authenticate[1],
        format!(r#"DPoP algs="{}", error="use_dpop_nonce", error_description="{error}""#, algs())
    );
    let headers: Vec<(&str, String)> = refusal.headers().collect();
    assert!(headers.contains(&("dpop-nonce", nonce.clone())), "{headers:?}");
    let response: http::Response<String> = refusal.into_response();
    assert_eq!(response.headers()["dpop-nonce"], nonce.as_str());
    // Even presented as Bearer (it is about the proof), the error goes on the DPoP challenge.
    let as_bearer = validator.refusal_to(&error, Scheme::Bearer);
    assert_eq!(as_bearer.www_authenticate[0], r#"Bearer realm="tokengate""#);

    // The nonce works, now and until the end of the next step.
    let with_nonce = |nonce: &str| f.proof_by(&f.client, &token, |p| p.nonce(nonce));
    let verified = validate(&validator, &with_proof(&token, &with_nonce(&nonce))).unwrap();
    assert_eq!(verified.dpop_thumbprint(), f.client.jwk_thumbprint().as_deref());
    let issued_in = NOW / STEP;
    f.clock.set((issued_in + 1) * STEP + STEP - 1); // the last second of the next step
    assert!(validate(&validator, &with_proof(&token, &with_nonce(&nonce))).is_ok(), "previous step's nonce");
    f.clock.set((issued_in + 2) * STEP); // two steps on
    let error = validate(&validator, &with_proof(&token, &with_nonce(&nonce))).unwrap_err();
    let Error::UseDpopNonce { nonce: fresh } = error else { panic!("{error:?}") };
    assert_ne!(fresh, nonce, "a new step, a new nonce");
    assert!(validate(&validator, &with_proof(&token, &with_nonce(&fresh))).is_ok());

    // Another fleet's nonce (another secret), a garbled one: refused, a fresh one offered.
    let other_fleet = f.validator(Some(dpop().nonces(nonces(&[8; 32]))));
    let Err(Error::UseDpopNonce { nonce: theirs }) =
        validate(&other_fleet, &with_proof(&token, &f.proof(&token)))
    else {
        panic!("the other fleet wants a nonce")
    };
    for (label, nonce) in [("another secret", theirs.as_str()), ("garbled", "AAAA"), ("empty", "")] {
        let error = validate(&validator, &with_proof(&token, &with_nonce(nonce))).unwrap_err();
        assert!(matches!(error, Error::UseDpopNonce { .. }), "{label}: {error:?}");
    }
    // A fleet sharing the secret accepts it.
    let same_fleet = f.validator(Some(dpop().nonces(nonces(&SECRET))));
    assert!(validate(&same_fleet, &with_proof(&token, &with_nonce(&fresh))).is_ok(), "another instance");
}

/// The nonce is checked last: a proof failing another check is refused for
/// that (the client learns of nonces only with an otherwise good proof),
/// and a proof refused for its nonce is not spent.
#[test]
fn the_nonce_is_checked_last_and_a_nonce_refusal_spends_nothing() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop().nonces(nonces(&SECRET))));
    let token = f.bound();
    let stranger = SigningKey::generate(Algorithm::ES256);
    let wrong_method = f.proof_by(&f.client, &token, |p| p.claims(json!({ "htm": "POST" })));
    assert_eq!(
        validate(&validator, &with_proof(&token, &wrong_method)).err(),
        Some(Error::InvalidDpopProof(DpopProblem::MethodMismatch))
    );
    let strangers = f.proof_by(&stranger, &token, |p| p);
    assert_eq!(validate(&validator, &with_proof(&token, &strangers)).err(), Some(Error::DpopKeyMismatch));
    let proof = f.proof(&token);
    for attempt in 0..2 {
        let error = validate(&validator, &with_proof(&token, &proof)).unwrap_err();
        assert!(matches!(error, Error::UseDpopNonce { .. }), "attempt {attempt}: {error:?}");
    }
}

#[test]
fn nonce_secrets_and_steps_have_minimums() {
    assert!(DpopNonces::new(&[1; MIN_NONCE_SECRET_BYTES - 1], Duration::from_secs(60)).is_none());
    assert!(DpopNonces::new(&[1; MIN_NONCE_SECRET_BYTES], Duration::from_millis(999)).is_none());
    assert!(DpopNonces::new(&[1; MIN_NONCE_SECRET_BYTES], Duration::from_secs(1)).is_some());
    let debug = format!("{:?}", nonces(&SECRET));
    assert!(!debug.contains("7, 7"), "the secret is never printed: {debug}");
}

// ---------------------------------------------------------------------------
// Time and replay
// ---------------------------------------------------------------------------

/// `iat` within the window either side of now, to the second.
#[test]
fn the_iat_window_holds_to_the_second_either_side() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop().window(Duration::from_secs(WINDOW))));
    let token = f.bound();
    let outside = Some(Error::InvalidDpopProof(DpopProblem::OutsideWindow));
    for (iat, accepted) in [
        (NOW - WINDOW, true),
        (NOW + WINDOW, true),
        (NOW, true),
        (NOW - WINDOW - 1, false),
        (NOW + WINDOW + 1, false),
    ] {
        let proof = f.proof_by(&f.client, &token, |p| p.issued_at(iat));
        let result = validate(&validator, &with_proof(&token, &proof));
        assert_eq!(
            result.err(),
            if accepted { None } else { outside.clone() },
            "iat now{:+}",
            iat as i64 - NOW as i64
        );
    }
    // Another window.
    let narrow = f.validator(Some(dpop().window(Duration::from_secs(5))));
    let at = |iat: u64| f.proof_by(&f.client, &token, |p| p.issued_at(iat));
    assert!(validate(&narrow, &with_proof(&token, &at(NOW - 5))).is_ok());
    assert_eq!(validate(&narrow, &with_proof(&token, &at(NOW - 6))).err(), outside);
}

/// A used proof is refused for as long as its `iat` is within the window
/// (so, in effect, forever), and its record is dropped after that.
#[test]
fn a_used_proof_is_remembered_for_the_window_and_not_beyond() {
    let f = Fixture::new();
    let store = MemoryReplayStore::new();
    let validator = Validator::builder()
        .issuer(f.issuer())
        .clock(f.clock.clone())
        .replay_store(store.clone())
        .dpop(dpop().window(Duration::from_secs(WINDOW)))
        .build()
        .unwrap();
    let token = f.bound();
    let replayed = Some(Error::InvalidDpopProof(DpopProblem::Replayed));
    let outside = Some(Error::InvalidDpopProof(DpopProblem::OutsideWindow));

    // Made now: remembered until it leaves the window.
    let proof = f.proof(&token);
    assert!(validate(&validator, &with_proof(&token, &proof)).is_ok());
    assert_eq!(store.len(), 1);
    assert_eq!(validate(&validator, &with_proof(&token, &proof)).err(), replayed);
    f.clock.set(NOW + WINDOW);
    assert_eq!(
        validate(&validator, &with_proof(&token, &proof)).err(),
        replayed,
        "the last second of the window"
    );
    f.clock.set(NOW + WINDOW + 1);
    assert_eq!(
        validate(&validator, &with_proof(&token, &proof)).err(),
        outside,
        "too old, whatever the record"
    );
    assert_eq!(store.purge_expired(NOW + WINDOW + 1), 0, "the record is gone once the proof is too old");

    // Made ahead of our clock: remembered until its own iat leaves the window.
    f.clock.set(NOW);
    let ahead = f.proof_by(&f.client, &token, |p| p.issued_at(NOW + WINDOW));
    assert!(validate(&validator, &with_proof(&token, &ahead)).is_ok());
    f.clock.set(NOW + 2 * WINDOW);
    assert_eq!(validate(&validator, &with_proof(&token, &ahead)).err(), replayed);
    assert_eq!(store.purge_expired(NOW + 2 * WINDOW), 1);
    f.clock.set(NOW + 2 * WINDOW + 1);
    assert_eq!(validate(&validator, &with_proof(&token, &ahead)).err(), outside);
    assert_eq!(store.purge_expired(NOW + 2 * WINDOW + 1), 0);
}

/// With token-sharing detection, a replayed request (the token and its
/// proof copied together) is refused for its proof before its client is
/// counted: replaying from many addresses cannot get the token refused.
#[test]
fn a_replayed_proof_counts_no_client_for_token_sharing() {
    let f = Fixture::new();
    let validator = Validator::builder()
        .issuer(f.issuer())
        .clock(f.clock.clone())
        .dpop(dpop())
        .token_sharing(tokengate::TokenSharing::refuse_above(1))
        .build()
        .unwrap();
    let token = f.bound();
    let proof = f.proof(&token);
    let from =
        |client: &str, proof: &str| validate(&validator, &with_proof(&token, proof).from_client(client));
    assert_eq!(from("client", &proof).expect("the client").clients_seen(), Some(1));
    for thief in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        assert_eq!(from(thief, &proof).err(), Some(Error::InvalidDpopProof(DpopProblem::Replayed)));
    }
    assert_eq!(from("client", &f.proof(&token)).expect("still one client").clients_seen(), Some(1));
}

/// Records are per key and `jti`: the same `jti` from another key is
/// another proof; a refused proof (or token) spends nothing; replay holds
/// across validators sharing one store.
#[test]
fn proof_records_are_per_key_shared_through_the_store_and_only_for_accepted_proofs() {
    let f = Fixture::new();
    let store = Arc::new(MemoryReplayStore::new());
    let build = || {
        Validator::builder()
            .issuer(f.issuer())
            .clock(f.clock.clone())
            .shared_replay_store(store.clone())
            .dpop(dpop())
            .build()
            .unwrap()
    };
    let (one, two) = (build(), build());
    let token = f.bound();
    let proof = f.proof_by(&f.client, &token, |p| p.jti("shared-jti"));
    assert!(validate(&one, &with_proof(&token, &proof)).is_ok());
    assert_eq!(
        validate(&two, &with_proof(&token, &proof)).err(),
        Some(Error::InvalidDpopProof(DpopProblem::Replayed)),
        "the other instance shares the record"
    );
    let other_client = SigningKey::generate(Algorithm::EdDSA);
    let other_token = f.bound_to(&other_client, json!({}));
    let same_jti = f.proof_by(&other_client, &other_token, |p| p.jti("shared-jti"));
    assert!(validate(&two, &with_proof(&other_token, &same_jti)).is_ok(), "another key's proof");

    // Refused before the record: the proof stays unspent.
    let fresh = f.proof(&token);
    let expired_token = f.bound_to(&f.client, json!({ "exp": NOW - 100 }));
    assert_eq!(validate(&one, &with_proof(&expired_token, &fresh)).err(), Some(Error::Expired));
    let wrong_path = Presentation::dpop(&token, &fresh, "GET", "/other");
    assert_eq!(validate(&one, &wrong_path).err(), Some(Error::InvalidDpopProof(DpopProblem::UrlMismatch)));
    assert!(validate(&one, &with_proof(&token, &fresh)).is_ok(), "still unspent");
}

/// One token presented again and again (the verified-token cache, when on,
/// serves it after the first time): the binding and the proof are decided
/// on every presentation, never remembered with the token.
#[test]
fn a_token_seen_before_still_needs_a_fresh_proof_every_time() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop()));
    let token = f.bound();
    let thumbprint = f.client.jwk_thumbprint();
    let stranger = SigningKey::generate(Algorithm::ES256);
    // First seen, and refused, as a bearer token on a route where DPoP is off.
    let off_route = Presentation::bearer(&token).with_dpop_policy(DpopPolicy::Off);
    assert_eq!(validate(&validator, &off_route).err(), Some(Error::BoundTokenAsBearer));
    let proof = f.proof(&token);
    for round in 0..3 {
        assert_eq!(
            validate(&validator, &Presentation::bearer(&token)).err(),
            Some(Error::BoundTokenAsBearer),
            "round {round}"
        );
        let fresh = f.proof(&token);
        let verified = validate(&validator, &with_proof(&token, &fresh)).unwrap();
        assert_eq!(verified.dpop_thumbprint(), thumbprint.as_deref(), "round {round}");
        assert_eq!(
            validate(&validator, &with_proof(&token, &fresh)).err(),
            Some(Error::InvalidDpopProof(DpopProblem::Replayed)),
            "round {round}"
        );
        let strangers = f.proof_by(&stranger, &token, |p| p);
        assert_eq!(validate(&validator, &with_proof(&token, &strangers)).err(), Some(Error::DpopKeyMismatch));
        let other_token = f.bound();
        assert_eq!(
            validate(&validator, &with_proof(&token, &f.proof(&other_token))).err(),
            Some(Error::InvalidDpopProof(DpopProblem::AccessTokenMismatch)),
            "round {round}: a proof for another token"
        );
        let no_proof = Presentation::dpop(&token, "", "GET", "/me");
        assert_eq!(
            validate(&validator, &no_proof).err(),
            Some(Error::InvalidDpopProof(DpopProblem::Malformed)),
            "round {round}"
        );
        let required = Presentation::bearer(&token).with_dpop_policy(DpopPolicy::Required);
        assert_eq!(validate(&validator, &required).err(), Some(Error::BoundTokenAsBearer));
    }
    assert!(validate(&validator, &with_proof(&token, &proof)).is_ok(), "an older, unused proof");
}

// ---------------------------------------------------------------------------
// Results, rendering, requests, configuration
// ---------------------------------------------------------------------------

/// `Verified::dpop_thumbprint` is the proven key's RFC 7638 thumbprint,
/// only when a proof came with the token.
#[test]
fn the_thumbprint_of_the_proven_key_is_reported() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop()));
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA] {
        let client = SigningKey::generate(alg);
        let token = f.bound_to(&client, json!({}));
        let proof = f.proof_by(&client, &token, |p| p);
        let verified =
            validate(&validator, &with_proof(&token, &proof)).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(verified.dpop_thumbprint(), client.jwk_thumbprint().as_deref(), "{alg}");
        assert_eq!(verified.subject(), Some("user-1"));
    }
    let plain = validate(&validator, &Presentation::bearer(f.unbound())).unwrap();
    assert_eq!(plain.dpop_thumbprint(), None);
    let off = f.validator(Some(dpop().policy(DpopPolicy::Off)));
    assert_eq!(validate(&off, &Presentation::bearer(f.unbound())).unwrap().dpop_thumbprint(), None);
}

/// The proof algorithms of the challenge's `algs`.
fn algs() -> String {
    tokengate::dpop::DEFAULT_PROOF_ALGORITHMS.iter().map(Algorithm::name).collect::<Vec<_>>().join(" ")
}

/// Where each refusal's attributes go, line by line.
#[test]
fn refusals_put_their_error_on_the_right_challenge() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop().algorithms([Algorithm::ES256, Algorithm::EdDSA])));
    let bearer = r#"Bearer realm="tokengate""#;
    let dpop_line = r#"DPoP algs="ES256 EdDSA""#;
    let with = |scheme: &str, error: &Error| {
        let prefix = if scheme == "Bearer" { bearer } else { dpop_line };
        format!(r#"{prefix}, error="{}", error_description="{error}""#, error.error_code().unwrap())
    };
    let cases: Vec<(Error, Scheme, Vec<String>)> = vec![
        (Error::MissingToken, Scheme::Bearer, vec![bearer.into(), dpop_line.into()]),
        (Error::Expired, Scheme::Bearer, vec![with("Bearer", &Error::Expired), dpop_line.into()]),
        (Error::Expired, Scheme::Dpop, vec![bearer.into(), with("DPoP", &Error::Expired)]),
        (
            Error::BoundTokenAsBearer,
            Scheme::Bearer,
            vec![with("Bearer", &Error::BoundTokenAsBearer), dpop_line.into()],
        ),
        (Error::DpopRequired, Scheme::Bearer, vec![with("Bearer", &Error::DpopRequired), dpop_line.into()]),
        (Error::DpopNotAccepted, Scheme::Dpop, vec![bearer.into(), with("DPoP", &Error::DpopNotAccepted)]),
        (Error::TokenNotBound, Scheme::Dpop, vec![bearer.into(), with("DPoP", &Error::TokenNotBound)]),
        (Error::DpopKeyMismatch, Scheme::Dpop, vec![bearer.into(), with("DPoP", &Error::DpopKeyMismatch)]),
        (
            Error::InvalidDpopProof(DpopProblem::Replayed),
            Scheme::Dpop,
            vec![bearer.into(), with("DPoP", &Error::InvalidDpopProof(DpopProblem::Replayed))],
        ),
        // About the proof, whatever the scheme.
        (
            Error::InvalidDpopProof(DpopProblem::Missing),
            Scheme::Bearer,
            vec![bearer.into(), with("DPoP", &Error::InvalidDpopProof(DpopProblem::Missing))],
        ),
    ];
    for (error, scheme, lines) in cases {
        let refusal = validator.refusal_to(&error, scheme);
        assert_eq!(refusal.www_authenticate, lines, "{error:?} presented as {scheme:?}");
        assert_eq!(refusal.status.as_u16(), 401);
        assert_eq!(refusal.dpop_nonce, None);
    }
    // Not a 401: the one challenge of the scheme used.
    let scope = Error::InsufficientScope(tokengate::ScopeRequirement::scope("admin"));
    let refusal = validator.refusal_to(&scope, Scheme::Dpop);
    assert_eq!(refusal.www_authenticate.len(), 1);
    assert!(
        refusal.www_authenticate[0].starts_with(r#"DPoP algs="ES256 EdDSA", error="insufficient_scope""#)
    );
    assert!(refusal.www_authenticate[0].ends_with(r#", scope="admin""#), "{refusal:?}");
    let unavailable = Error::StoreUnavailable { retry_after: Duration::from_secs(2) };
    let refusal = validator.refusal_to(&unavailable, Scheme::Dpop);
    assert_eq!(refusal.www_authenticate, [r#"DPoP algs="ES256 EdDSA", error="temporarily_unavailable""#]);
    assert_eq!(refusal.retry_after, Some(2));
    let refusal = validator.refusal_to(&unavailable, Scheme::Bearer);
    assert_eq!(refusal.www_authenticate, [r#"Bearer realm="tokengate", error="temporarily_unavailable""#]);
    // The configured algorithms are the accepted ones.
    let token = f.bound();
    let rs256 = SigningKey::generate(Algorithm::RS256);
    let rs_token = f.bound_to(&rs256, json!({}));
    let proof = f.proof_by(&rs256, &rs_token, |p| p);
    assert_eq!(
        validate(&validator, &with_proof(&rs_token, &proof)).err(),
        Some(Error::InvalidDpopProof(DpopProblem::AlgorithmNotAllowed))
    );
    assert!(validate(&validator, &with_proof(&token, &f.proof(&token))).is_ok());
}

/// The request path: `Validator::presentation` reads the scheme (any letter
/// case), the `DPoP` headers, the method and the path (not the query).
#[test]
fn requests_are_read_for_the_scheme_the_proof_the_method_and_the_path() {
    let f = Fixture::new();
    let validator = f.validator(Some(dpop()));
    let token = f.bound();
    let request = |authorization: String, proofs: &[&str], uri: &str| {
        let mut builder = http::Request::get(uri).header("authorization", authorization);
        for proof in proofs {
            builder = builder.header("dpop", *proof);
        }
        builder.body(()).unwrap()
    };
    let check = |request: &http::Request<()>| {
        block_on(validator.validate_request::<StandardClaims, _>(request))
            .map(|v| v.dpop_thumbprint().map(str::to_owned))
    };
    let thumbprint = f.client.jwk_thumbprint();
    let proof = f.proof(&token);
    let good = request(format!("dpop {token}"), &[&proof], "/me?page=2");
    assert_eq!(validator.presentation(&good).unwrap().scheme(), Scheme::Dpop);
    assert_eq!(validator.presentation(&good).unwrap().token(), token);
    assert_eq!(check(&good), Ok(thumbprint.clone()));
    let (one, two) = (f.proof(&token), f.proof(&token));
    assert_eq!(
        check(&request(format!("DPoP {token}"), &[&one, &two], "/me")),
        Err(Error::InvalidDpopProof(DpopProblem::Multiple))
    );
    assert_eq!(
        check(&request(format!("DPoP {token}"), &[], "/me")),
        Err(Error::InvalidDpopProof(DpopProblem::Missing))
    );
    assert_eq!(
        check(&request(format!("DPoP {token}"), &[&one], "/other")),
        Err(Error::InvalidDpopProof(DpopProblem::UrlMismatch))
    );
    assert_eq!(check(&request(format!("DPoP {token}"), &[&one], "/me")), Ok(thumbprint));
    let mut not_utf8 = request(format!("DPoP {token}"), &[], "/me");
    not_utf8.headers_mut().insert("dpop", http::HeaderValue::from_bytes(b"\xff.\xfe.\xfd").unwrap());
    assert_eq!(check(&not_utf8), Err(Error::InvalidDpopProof(DpopProblem::Malformed)));
    // An oversized proof is refused before it is decoded.
    let huge = f.proof_by(&f.client, &token, |p| p.claims(json!({ "pad": "x".repeat(9000) })));
    assert_eq!(
        check(&request(format!("DPoP {token}"), &[&huge], "/me")),
        Err(Error::InvalidDpopProof(DpopProblem::Malformed))
    );
}

/// The public URL may carry a path prefix (a proxy mounting the API under
/// `/v1`): proofs name the prefix and the request's path.
#[test]
fn a_public_url_with_a_path_prefix() {
    let f = Fixture::new();
    for public in ["https://gw.test/v1", "https://gw.test/v1/", "HTTPS://GW.test:443/v1"] {
        let validator = f.validator(Some(Dpop::new(public)));
        let token = f.bound();
        let proof = |htu: &str| f.client.dpop_proof("GET", htu).access_token(&token).issued_at(NOW).sign();
        assert!(
            validate(&validator, &with_proof(&token, &proof("https://gw.test/v1/me"))).is_ok(),
            "{public}"
        );
        assert_eq!(
            validate(&validator, &with_proof(&token, &proof("https://gw.test/me"))).err(),
            Some(Error::InvalidDpopProof(DpopProblem::UrlMismatch)),
            "{public}"
        );
    }
}

#[test]
fn bad_dpop_configurations_fail_to_build() {
    let f = Fixture::new();
    let build = |dpop: Dpop| Validator::builder().issuer(f.issuer()).dpop(dpop).build().map(drop);
    for (label, dpop) in [
        ("not a URL", Dpop::new("api.test")),
        ("not http(s)", Dpop::new("ftp://api.test")),
        ("a query", Dpop::new("https://api.test/?x=1")),
        ("a fragment", Dpop::new("https://api.test/#x")),
        ("user information", Dpop::new("https://user@api.test")),
        ("no algorithm", Dpop::new(PUBLIC).algorithms(tokengate::AlgorithmSet::EMPTY)),
        ("HS256", Dpop::new(PUBLIC).algorithms([Algorithm::ES256, Algorithm::HS256])),
        ("a zero window", Dpop::new(PUBLIC).window(Duration::ZERO)),
    ] {
        assert!(matches!(build(dpop), Err(BuildError::InvalidDpop(_))), "{label}");
    }
    assert!(build(Dpop::new("http://127.0.0.1:8080")).is_ok());
}
