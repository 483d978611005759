//! Full validation cost, per algorithm, beside other Rust JWT libraries and
//! the signature-verification floor, on the same key, token and checks.
//!
//! `common/peers.rs` builds each implementation: the floor (aws-lc-rs
//! verification alone), raw `jsonwebtoken`, `jwt-simple`, `aliri_oauth2`
//! (no EdDSA), tokengate with its verified-token cache off (a full
//! validation every time) and on (the default; the same token again: a hit).
//!
//! After the criterion run, a table of each estimate as a ratio to the floor
//! measured in the same process is printed (from criterion's own estimates).

use std::hint::black_box;

use criterion::Criterion;

mod common;
#[path = "common/peers.rs"]
mod peers;

use peers::{ALGORITHMS, Case, Impl};

fn group(alg: tokengate::Algorithm) -> String {
    format!("validate-{alg}")
}

fn bench(c: &mut Criterion) {
    for alg in ALGORITHMS {
        let case = Case::new(alg);
        let mut group = c.benchmark_group(group(alg));
        for (which, verify) in case.verifiers() {
            group
                .bench_function(which.name(), |b| b.iter(|| assert!(verify(black_box(&case.token)).is_ok())));
        }
        group.finish();
    }
}

/// Prints each implementation's estimate as a ratio to the floor, from the
/// estimates criterion just wrote.
fn print_ratios() {
    let estimate = |alg, which: Impl| common::estimate(&group(alg), which.name());
    println!(
        "\nwall clock per validation, and ratio to the signature floor (criterion's estimates; lower is better)"
    );
    print!("{:<6} {:>9}", "alg", "floor");
    for which in &Impl::ALL[1..] {
        print!(" {:>22}", which.name());
    }
    println!();
    for alg in ALGORITHMS {
        let Some(floor) = estimate(alg, Impl::Floor) else { continue };
        print!("{:<6} {:>7.2}µs", alg.name(), floor / 1e3);
        for which in &Impl::ALL[1..] {
            match estimate(alg, *which) {
                Some(ns) if which.supports(alg) => {
                    print!(" {:>12} {:>8.2}×", format!("{:.2}µs", ns / 1e3), ns / floor)
                }
                _ => print!(" {:>22}", "—"),
            }
        }
        println!();
    }
    let (Some(hit), Some(full)) = (
        estimate(tokengate::Algorithm::ES256, Impl::TokengateCached),
        estimate(tokengate::Algorithm::ES256, Impl::Tokengate),
    ) else {
        return;
    };
    println!(
        "\ncache hit (ES256 token) {:.0} ns vs a full ES256 validation {:.2} µs: {:.1}% of it, {:.0}× faster",
        hit,
        full / 1e3,
        100.0 * hit / full,
        full / hit
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    // Only for real runs (`cargo bench`), not `cargo test --benches`.
    if std::env::args().any(|arg| arg == "--bench") {
        print_ratios();
    }
}
