//! How the cost of a validation grows with what a `Validator` holds, and how
//! `build()` grows with the issuers it trusts:
//!
//! 1. trusted issuers (1 to 10 000, each with its own key), the token from
//!    the last one;
//! 2. a token with an unknown `iss`, refused, with 10 and 10 000 issuers;
//! 3. `ValidatorBuilder::build` with 1 000 to 20 000 issuers;
//! 4. keys in the issuer's `KeySet` (2 to 2 000), the token signed by the
//!    last one (found by its `kid`);
//! 5. revocations by `jti` in the in-memory store: inserting 1 M, a
//!    validation with 0, 1 and 1 M held, a refused insert when the store is
//!    full (steady state, and the first refusal after filling);
//! 6. the same ~7 KB token with flat claims and with claims nested 30 deep;
//! 7. validations per second with 1 and 2 threads sharing the validator.
//!
//! HS256 throughout (the cheapest signature, so that overheads show), the
//! verified-token cache off (`token_cache(None)`: every validation is a full
//! one). Every setup is checked before it is timed (the valid token accepted,
//! the refused one refused for the expected reason), and every timed call
//! checks its own result, so that no row can measure a failure.
//!
//! Each figure is the median of `ROUNDS` (15) rounds, 1 when not run by
//! `cargo bench`; the cases of a group take turns within each round (each
//! round starting one case later), so that load from other processes hits
//! them alike. Each case runs for `TOKENGATE_BENCH_SECS` seconds per round
//! (default 0.15; 0.02 when not run by `cargo bench`). Filling the
//! revocation store, and the first refusal after it, are timed once per fill
//! (3 fills). Every loop stops at a deadline. When not run by `cargo bench`
//! (i.e. `cargo test --benches`, unoptimised) the store holds 10 000
//! revocations instead of 1 M.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokengate::{
    Algorithm, Error, Issuer, KeySet, MemoryRevocationStore, Revoke, RevokeError, StandardClaims, StoreError,
    Validator, ValidatorBuilder, Verified,
};
use tokengate_testkit::SigningKey;

#[path = "common/peers.rs"]
#[allow(dead_code)] // this bench uses `ready`, `claims` and the constants only
mod peers;
#[path = "common/rates.rs"]
mod rates;

use peers::{AUD, ISS, ready};
use rates::{budget, median, rate, real_run};

const ROUNDS: usize = 15;
const ALG: Algorithm = Algorithm::HS256;
/// How long inserting the revocations may take before the loop gives up.
const INSERT_DEADLINE: Duration = Duration::from_secs(30);

/// The `iss` of the `i`-th trusted issuer.
fn issuer_name(i: usize) -> String {
    format!("https://issuer-{i}.example.com")
}

/// The 15 claims of `benches/common/peers.rs` (~480 bytes), with this `iss`.
fn claims(iss: &str) -> Value {
    let mut claims = peers::claims();
    claims["iss"] = json!(iss);
    claims
}

fn issuer(name: &str, keys: KeySet) -> Issuer {
    Issuer::new(name).audience(AUD).algorithms([ALG]).keys(keys)
}

/// A builder trusting `issuers`, the verified-token cache off.
fn builder(issuers: impl IntoIterator<Item = Issuer>) -> ValidatorBuilder {
    issuers.into_iter().fold(Validator::builder().token_cache(None), ValidatorBuilder::issuer)
}

fn validate(validator: &Validator, token: &str) -> Result<Verified<StandardClaims>, Error> {
    ready(validator.validate_token::<StandardClaims>(token))
}

/// One case of a group: runs the operation `n` times and says how long the
/// operations took (setup between them excluded).
type Run<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// A case timing every call of `op`.
fn each<'a>(mut op: impl FnMut() + 'a) -> Run<'a> {
    Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        start.elapsed()
    })
}

/// A case timing the validation of a token `validator` accepts.
fn accepting<'a>(validator: &'a Validator, token: &'a str) -> Run<'a> {
    each(move || {
        black_box(validate(validator, black_box(token)).unwrap());
    })
}

struct Settings {
    real_run: bool,
    rounds: usize,
    budget: Duration,
}

impl Settings {
    /// The median time per operation of each case, in nanoseconds.
    fn per_op(&self, mut cases: Vec<Run<'_>>) -> Vec<f64> {
        let n = cases.len();
        let mut samples = vec![Vec::new(); n];
        for r in 0..self.rounds {
            // Each round starts one case later, so that none is always first.
            for i in (0..n).map(|i| (i + r) % n) {
                samples[i].push(round(&mut cases[i], self.budget));
            }
        }
        samples.into_iter().map(median).collect()
    }
}

/// Nanoseconds per operation of `run` over `budget` of wall clock (at least
/// one operation). Batches double while they take under 1/50 of the budget,
/// so that reading the clock costs nothing measurable and the deadline is
/// overshot by a few percent at most.
fn round(run: &mut Run<'_>, budget: Duration) -> f64 {
    let deadline = Instant::now() + budget;
    let (mut ops, mut spent, mut batch) = (0u64, Duration::ZERO, 1u64);
    loop {
        let took = run(batch);
        spent += took;
        ops += batch;
        if Instant::now() >= deadline {
            break;
        }
        if took * 50 < budget && batch < 1 << 20 {
            batch *= 2;
        }
    }
    spent.as_secs_f64() * 1e9 / ops as f64
}

/// `1234567` as `1 234 567`.
fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

fn time(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0} ns"),
        ns if ns < 1e4 => format!("{:.2} µs", ns / 1e3),
        ns if ns < 1e6 => format!("{:.1} µs", ns / 1e3),
        ns if ns < 1e7 => format!("{:.2} ms", ns / 1e6),
        ns if ns < 1e9 => format!("{:.1} ms", ns / 1e6),
        ns => format!("{:.2} s", ns / 1e9),
    }
}

/// Prints one row: the group, the case, the figure, its ratio to the
/// group's first case, the target and whether it holds.
fn row(group: &str, case: &str, value: &str, ratio: Option<f64>, target: &str, verdict: &str) {
    let ratio = ratio.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×"));
    println!("{group:<17} {case:<46} {value:>11} {ratio:>8}  {target:<24} {verdict}");
}

fn verdict(holds: bool) -> &'static str {
    if holds { "holds" } else { "MISSES" }
}

/// Rows of per-operation times, each with its ratio to the first; `targets`
/// gives each row's target (text, and the largest ratio that meets it).
fn rows(group: &str, cases: &[String], times: &[f64], targets: &[Option<(&str, f64)>]) {
    for (i, (case, &ns)) in cases.iter().zip(times).enumerate() {
        let ratio = ns / times[0];
        let (target, holds) = match targets.get(i).copied().flatten() {
            Some((text, limit)) => (text, verdict(ratio <= limit)),
            None => ("", ""),
        };
        row(group, case, &time(ns), Some(ratio), target, holds);
    }
}

fn main() {
    let real_run = real_run();
    let settings = Settings {
        real_run,
        rounds: if real_run { ROUNDS } else { 1 },
        budget: budget(0.15, 0.02, (0.005, 60.0)),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "HS256, token cache off; median of {} rounds of {:.2} s per case, cases alternating; {cores} CPUs",
        settings.rounds,
        settings.budget.as_secs_f64()
    );
    println!("{:<17} {:<46} {:>11} {:>8}  {:<24} verdict", "group", "case", "per op", "× first", "target");
    let started = Instant::now();
    issuers(&settings);
    keys_per_issuer(&settings);
    revocations(&settings);
    nesting(&settings);
    threads(&settings);
    println!("(all of it in {:.0} s)", started.elapsed().as_secs_f64());
}

/// Groups 1–3: many trusted issuers, each with its own key.
fn issuers(settings: &Settings) {
    const MOST: usize = 20_000;
    let keys: Vec<SigningKey> = (0..MOST).map(|_| SigningKey::generate(ALG)).collect();
    let issuers: Vec<Issuer> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| issuer(&issuer_name(i), KeySet::new([key.verification_key()])))
        .collect();
    let token_of = |i: usize| keys[i].token(&claims(&issuer_name(i)));

    // 1. The token of the last of n issuers.
    let counts = [1, 10, 1_000, 10_000];
    let setups: Vec<(Validator, String)> = counts
        .iter()
        .map(|&n| {
            let validator = builder(issuers[..n].iter().cloned()).build().unwrap();
            let token = token_of(n - 1);
            validate(&validator, &token).unwrap();
            if n > 1 {
                // Only that issuer's key verifies its tokens.
                let forged = keys[0].token(&claims(&issuer_name(n - 1)));
                assert!(matches!(validate(&validator, &forged), Err(Error::InvalidSignature)));
            }
            (validator, token)
        })
        .collect();
    let cases = setups.iter().map(|(validator, token)| accepting(validator, token)).collect();
    let times = settings.per_op(cases);
    let names: Vec<String> =
        counts.iter().map(|&n| format!("{} issuer{}, token of the last", count(n), plural(n))).collect();
    rows("trusted issuers", &names, &times, &[None, None, None, Some(("10 000 ≤ 1.10× of 1", 1.10))]);

    // 2. A token whose `iss` is not trusted.
    let unknown = keys[0].token(&claims("https://unknown.example.com"));
    let refusers: Vec<&Validator> = [1, 3].iter().map(|&i| &setups[i].0).collect();
    for validator in &refusers {
        assert!(matches!(validate(validator, &unknown), Err(Error::UntrustedIssuer)));
    }
    let cases = refusers
        .iter()
        .map(|validator| {
            let unknown = &unknown;
            each(move || {
                assert!(matches!(validate(validator, black_box(unknown)), Err(Error::UntrustedIssuer)));
            })
        })
        .collect();
    let times = settings.per_op(cases);
    let names = [10, 10_000].map(|n| format!("unknown iss, {} issuers", count(n)));
    rows("unknown issuer", &names, &times, &[None, Some(("constant (≤ 1.10×)", 1.10))]);
    drop(setups);

    // 3. `build()` alone: the builder is filled (issuers cloned: an `Arc` for
    // the keys) and the validator dropped outside the clock.
    let counts = [1_000, 10_000, MOST];
    for &n in &counts {
        let validator = builder(issuers[..n].iter().cloned()).build().unwrap();
        validate(&validator, &token_of(n - 1)).unwrap();
    }
    let issuers = &issuers;
    let cases = counts
        .iter()
        .map(|&n| -> Run<'_> {
            Box::new(move |times| {
                let mut spent = Duration::ZERO;
                for _ in 0..times {
                    let filled = builder(issuers[..n].iter().cloned());
                    let start = Instant::now();
                    let built = filled.build();
                    spent += start.elapsed();
                    black_box(built.unwrap());
                }
                spent
            })
        })
        .collect();
    let times = settings.per_op(cases);
    for (&n, &ns) in counts.iter().zip(&times) {
        let ratio = ns / times[0];
        let linear = (n / counts[0]) as f64;
        let per_issuer = format!("{} per issuer", time(ns / n as f64));
        let case = format!("build(), {} issuers ({per_issuer})", count(n));
        // Linear, give or take 1.5× for caches: at most 1.5× the first's cost per issuer.
        let linear_holds = verdict(ratio <= 1.5 * linear);
        let (target, holds) = match n {
            1_000 => (String::new(), String::new()),
            10_000 => (
                format!("< 50 ms; ≤ {:.0}× (linear)", 1.5 * linear),
                format!("{}; {linear_holds}", verdict(ns < 50e6)),
            ),
            _ => (format!("≤ {:.0}× (linear)", 1.5 * linear), linear_holds.to_owned()),
        };
        row("build", &case, &time(ns), Some(ratio), &target, &holds);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Group 4: many keys in one issuer's set, the token signed by the last.
fn keys_per_issuer(settings: &Settings) {
    let counts = [2, 200, 2_000];
    let setups: Vec<(Validator, String)> = counts
        .iter()
        .map(|&n| {
            let keys: Vec<SigningKey> =
                (0..n).map(|i| SigningKey::generate(ALG).with_kid(format!("key-{i}"))).collect();
            let set = KeySet::new(keys.iter().map(SigningKey::verification_key));
            let validator = builder([issuer(ISS, set)]).build().unwrap();
            let last = &keys[n - 1];
            let token = last.token(&claims(ISS));
            validate(&validator, &token).unwrap();
            // The `kid` picks the key: another key's signature under it is refused.
            let forged = keys[0].token_with_header(&last.header(), &claims(ISS));
            assert!(matches!(validate(&validator, &forged), Err(Error::InvalidSignature)));
            (validator, token)
        })
        .collect();
    let cases = setups.iter().map(|(validator, token)| accepting(validator, token)).collect();
    let times = settings.per_op(cases);
    let names: Vec<String> =
        counts.iter().map(|&n| format!("{} keys, token of the last (kid)", count(n))).collect();
    rows("keys per issuer", &names, &times, &[None, None, Some(("2 000 ≤ 1.10× of 2", 1.10))]);
}

/// A validator whose in-memory revocation store holds at most `capacity`.
fn revoking_validator(key: &SigningKey, capacity: usize) -> Validator {
    builder([issuer(ISS, KeySet::new([key.verification_key()]))])
        .revocation_store(MemoryRevocationStore::with_capacity(capacity))
        .build()
        .unwrap()
}

/// The `i`-th revoked `jti`.
fn revoked_jti(i: usize) -> String {
    format!("revoked-{i:07}")
}

/// A validator whose store of `capacity` is filled with `capacity`
/// revocations (`Validator::revoke`, by `jti`), the time that took, and the
/// time of the first refused revocation after it; `Err` when filling did not
/// finish by [`INSERT_DEADLINE`] (how many were inserted, and in what time).
fn filled(key: &SigningKey, capacity: usize) -> Result<(Validator, Duration, Duration), (usize, Duration)> {
    let validator = revoking_validator(key, capacity);
    let start = Instant::now();
    let deadline = start + INSERT_DEADLINE;
    for i in 0..capacity {
        ready(validator.revoke(&Revoke::token_id(revoked_jti(i)))).unwrap();
        if i % 4096 == 4095 && Instant::now() >= deadline {
            return Err((i + 1, start.elapsed()));
        }
    }
    let inserting = start.elapsed();
    let one_more = Revoke::token_id("one-too-many");
    let start = Instant::now();
    let refused = ready(validator.revoke(&one_more));
    let first_refusal = start.elapsed();
    assert!(matches!(refused, Err(RevokeError::Store(StoreError::Full { .. }))), "{refused:?}");
    Ok((validator, inserting, first_refusal))
}

/// Group 5: revocations.
fn revocations(settings: &Settings) {
    const SMALL: usize = 1_000;
    let held = if settings.real_run { 1_000_000 } else { 10_000 };
    let key = SigningKey::generate(ALG);
    let group = "revocations";

    // Filling a store of `held`, and a small one (fresh ones each round).
    let (mut inserts, mut firsts, mut small_firsts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut full, mut small) = (None, None);
    let fill_rounds = if settings.real_run { 3 } else { 1 };
    for _ in 0..fill_rounds {
        drop(full.take()); // the previous store goes before the next fills
        match filled(&key, held) {
            Ok((validator, inserting, first)) => {
                inserts.push(inserting.as_secs_f64() * 1e9);
                firsts.push(first.as_secs_f64() * 1e9);
                full = Some(validator);
            }
            Err((inserted, took)) => {
                let case = format!("insert by jti: gave up after {}", count(inserted));
                row(group, &case, &time(took.as_secs_f64() * 1e9), None, "< 5 s in all", verdict(false));
                return;
            }
        }
        let (validator, _, first) = filled(&key, SMALL).expect("1 000 revocations in 30 s");
        small_firsts.push(first.as_secs_f64() * 1e9);
        small = Some(validator);
    }
    let (full, small) = (full.unwrap(), small.unwrap());
    let insert = median(inserts);
    let case = format!("insert {} by jti, in all ({} each)", count(held), time(insert / held as f64));
    let target = format!("{} in < 5 s", count(held));
    row(group, &case, &time(insert), None, &target, verdict(insert < 5e9));

    // A validation with 0, 1 and `held` revocations held (the token not revoked).
    let empty = revoking_validator(&key, held);
    let one = revoking_validator(&key, held);
    ready(one.revoke(&Revoke::token_id(revoked_jti(0)))).unwrap();
    let token = key.token(&claims(ISS));
    let mut revoked = claims(ISS);
    revoked["jti"] = json!(revoked_jti(held - 1));
    let revoked = key.token(&revoked);
    for validator in [&empty, &one, &full] {
        validate(validator, &token).unwrap();
    }
    assert!(validate(&empty, &revoked).is_ok());
    assert!(matches!(validate(&full, &revoked), Err(Error::Revoked)));
    let validators = [&empty, &one, &full];
    let cases = validators
        .iter()
        .map(|validator| {
            let token = &token;
            accepting(validator, token)
        })
        .collect();
    let times = settings.per_op(cases);
    let names = [0, 1, held].map(|n| format!("validation, {} revocation{} held", count(n), plural(n)));
    let target = format!("{} ≤ 1.10× of 0", count(held));
    rows(group, &names, &times, &[None, None, Some((target.as_str(), 1.10))]);

    // A refused revocation in a full store: steady state, then the first one
    // after filling (medians of the fills above, one refusal each).
    let late = Revoke::token_id("late");
    let stores = [&small, &full];
    let cases = stores
        .iter()
        .map(|validator| {
            let late = &late;
            each(move || {
                let refused = ready(validator.revoke(black_box(late)));
                assert!(matches!(refused, Err(RevokeError::Store(StoreError::Full { .. }))));
            })
        })
        .collect();
    let times = settings.per_op(cases);
    let names = [SMALL, held].map(|n| format!("refused insert, full store of {}", count(n)));
    rows(group, &names, &times, &[None, Some(("constant (≤ 1.10×)", 1.10))]);
    let (small_first, first) = (median(small_firsts), median(firsts));
    let names = [SMALL, held].map(|n| format!("first refused insert, full of {}", count(n)));
    rows(group, &names, &[small_first, first], &[None, Some(("constant (≤ 1.10×)", 1.10))]);
}

/// A string of `len` bytes, told apart by `i`.
fn filler(i: usize, len: usize) -> String {
    let mut text = format!("{i:02}-");
    while text.len() < len {
        text.push(char::from(b'a' + (text.len() % 26) as u8));
    }
    text
}

/// How deeply objects nest in `value` (a scalar is 0).
fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Group 6: the same strings, flat or nested.
fn nesting(settings: &Settings) {
    const STRINGS: usize = 60;
    const LEVELS: usize = 30;
    let key = SigningKey::generate(ALG);
    let validator = builder([issuer(ISS, KeySet::new([key.verification_key()]))]).build().unwrap();

    let mut flat = claims(ISS);
    for i in 0..STRINGS {
        flat[format!("f{i:02}")] = json!(filler(i, 70));
    }
    // Two strings per level, the next level under "n": 30 objects, one in
    // the other, under the claim "ext" (3 bytes shorter strings make up for
    // the `"n":{}` of each level).
    let mut nested_value = Value::Object(Map::new());
    for level in (0..LEVELS).rev() {
        let mut object = Map::new();
        for i in [2 * level, 2 * level + 1] {
            object.insert(format!("f{i:02}"), json!(filler(i, 67)));
        }
        if level + 1 < LEVELS {
            object.insert("n".into(), nested_value);
        }
        nested_value = Value::Object(object);
    }
    assert_eq!(depth(&nested_value), LEVELS);
    let mut nested = claims(ISS);
    nested["ext"] = nested_value;

    let sizes = [&flat, &nested].map(|claims| claims.to_string().len());
    assert!(sizes[0].abs_diff(sizes[1]) < 200, "claims sizes {sizes:?}");
    let tokens = [key.token(&flat), key.token(&nested)];
    for token in &tokens {
        assert!(token.len() < tokengate::DEFAULT_MAX_TOKEN_BYTES, "{} bytes", token.len());
        validate(&validator, token).unwrap();
    }
    let cases = tokens
        .iter()
        .map(|token| {
            let validator = &validator;
            accepting(validator, token)
        })
        .collect();
    let times = settings.per_op(cases);
    let names = [
        format!("flat, {STRINGS} strings ({} B token)", count(tokens[0].len())),
        format!("nested {LEVELS} deep ({} B token)", count(tokens[1].len())),
    ];
    rows("claims nesting", &names, &times, &[None, Some(("depth ≤ 1.5× flat", 1.5))]);
}

/// Group 7: 1 and 2 threads sharing one validator.
fn threads(settings: &Settings) {
    let key = SigningKey::generate(ALG);
    let validator = builder([issuer(ISS, KeySet::new([key.verification_key()]))]).build().unwrap();
    let token = key.token(&claims(ISS));
    validate(&validator, &token).unwrap();
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..settings.rounds {
        one.push(rate(&validator, std::slice::from_ref(&token), 1, settings.budget));
        two.push(rate(&validator, std::slice::from_ref(&token), 2, settings.budget));
    }
    let (one, two) = (median(one), median(two));
    for (n, rate) in [(1, one), (2, two)] {
        let case = format!("{n} thread{}, validations/s", plural(n));
        row("threads", &case, &format!("{}/s", count(rate as usize)), Some(rate / one), "", "");
    }
}
