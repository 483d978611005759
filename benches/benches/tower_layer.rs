//! What the Tower layer adds per request over the bare validator, in-process.
//!
//! For each algorithm, on the same token and validator:
//!
//! * `validator`: build an `http::Request<()>` with the token, then
//!   `Validator::validate_request` (extraction + validation);
//! * `layer`: build the same request, then call a `TokenLayer` service
//!   wrapping a trivial inner service and drive its response future (token
//!   extraction, one boxed validation future, `Verified` and the layer's
//!   record into the extensions, the inner call, the response);
//! * `layer+scope`: the same with a `ScopeLayer` (all-of one scope) behind it;
//! * `validator-refusal` / `layer-refusal`: a request without a token,
//!   refused by the bare validator (the core's `Refusal` built) or answered
//!   by the layer (the same, plus the `http::Response`).
//!
//! Futures are polled once with a no-op waker: with static keys nothing waits.
//! After the run, the layer's added cost (mean minus the validator's mean)
//! is printed from criterion's estimates.

use std::hint::black_box;

use criterion::Criterion;

mod common;
#[path = "common/peers.rs"]
#[allow(dead_code)] // `ready` only
mod peers;
#[path = "common/tower_case.rs"]
mod tower_case;
use peers::ready;
use tokengate::{Algorithm, StandardClaims};
use tokengate_tower::{ScopeLayer, TokenLayer};
use tower_case::{Inner, call, case, request};
use tower_layer::Layer as _;

const ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::HS256];

fn bench(c: &mut Criterion) {
    for alg in ALGORITHMS {
        let (validator, authorization) = case(alg);

        let mut group = c.benchmark_group(format!("tower-{alg}"));
        group.bench_function("validator", |b| {
            b.iter(|| {
                let request = request(Some(&authorization));
                let verified = ready(validator.validate_request::<StandardClaims, _>(&request)).unwrap();
                black_box((request, verified))
            })
        });
        let mut layered = TokenLayer::new(validator.clone()).layer(Inner);
        assert_eq!(call(&mut layered, request(Some(&authorization))), 200);
        group.bench_function("layer", |b| b.iter(|| call(&mut layered, request(Some(&authorization)))));
        let mut scoped =
            TokenLayer::new(validator.clone()).layer(ScopeLayer::all_of(["orders:read"]).layer(Inner));
        assert_eq!(call(&mut scoped, request(Some(&authorization))), 200);
        group.bench_function("layer+scope", |b| b.iter(|| call(&mut scoped, request(Some(&authorization)))));
        group.bench_function("validator-refusal", |b| {
            b.iter(|| {
                let request = request(None);
                let error = ready(validator.validate_request::<StandardClaims, _>(&request)).unwrap_err();
                black_box(validator.refusal(&error))
            })
        });
        assert_eq!(call(&mut layered, request(None)), 401);
        group.bench_function("layer-refusal", |b| b.iter(|| call(&mut layered, request(None))));
        group.finish();
    }
}

fn print_added_cost() {
    let mean = common::estimate;
    println!("\nthe Tower layer's added cost per request (criterion's estimates)");
    println!(
        "{:<6} {:>12} {:>12} {:>20} {:>14} {:>18} {:>14}",
        "alg", "validator", "layer", "added", "layer+scope", "validator-refusal", "layer-refusal"
    );
    for alg in ALGORITHMS {
        let group = format!("tower-{alg}");
        let (Some(bare), Some(layer), Some(scoped), Some(bare_refusal), Some(refusal)) = (
            mean(&group, "validator"),
            mean(&group, "layer"),
            mean(&group, "layer+scope"),
            mean(&group, "validator-refusal"),
            mean(&group, "layer-refusal"),
        ) else {
            continue;
        };
        println!(
            "{:<6} {:>10.2}µs {:>10.2}µs {:>8.0}ns ({:+6.1}%) {:>12.2}µs {:>16.0}ns {:>12.0}ns",
            alg.name(),
            bare / 1e3,
            layer / 1e3,
            layer - bare,
            (layer - bare) / bare * 100.0,
            scoped / 1e3,
            bare_refusal,
            refusal
        );
    }
}

/// Bare validator and layer measured in alternating rounds, so that load
/// from other processes hits both alike; the median round decides. This is
/// the robust figure on a busy machine, where separate criterion runs drift.
fn paired(alg: Algorithm) -> (f64, f64) {
    let (validator, authorization) = case(alg);
    let mut layered = TokenLayer::new(validator.clone()).layer(Inner);
    let per_round = if alg.is_symmetric() { 200 } else { 20 };
    let (mut bare, mut layer) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let start = std::time::Instant::now();
        for _ in 0..per_round {
            let request = request(Some(&authorization));
            black_box(ready(validator.validate_request::<StandardClaims, _>(&request)).unwrap());
        }
        bare.push(start.elapsed().as_nanos() as f64 / per_round as f64);
        let start = std::time::Instant::now();
        for _ in 0..per_round {
            black_box(call(&mut layered, request(Some(&authorization))));
        }
        layer.push(start.elapsed().as_nanos() as f64 / per_round as f64);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(bare), median(layer))
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    // Only for real runs (`cargo bench`), not `cargo test --benches`.
    if std::env::args().any(|arg| arg == "--bench") {
        print_added_cost();
        println!("\npaired rounds (median of 300 alternating rounds)");
        for alg in ALGORITHMS {
            let (bare, layer) = paired(alg);
            println!(
                "{:<6} validator {:>9.2}µs  layer {:>9.2}µs  added {:>6.0}ns ({:+.1}%)",
                alg.name(),
                bare / 1e3,
                layer / 1e3,
                layer - bare,
                (layer - bare) / bare * 100.0
            );
        }
    }
}
