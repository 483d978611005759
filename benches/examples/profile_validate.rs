//! A fixed amount of validation work for instruction-level profiling:
//! `valgrind --tool=callgrind --toggle-collect='*measured*' target/release/examples/profile_validate HS256 2000`
//! counts instructions, which stay the same whatever else the machine does.
//!
//! A third argument picks the implementation, as in `benches/validate.rs`
//! (`benches/benches/common/peers.rs`): `floor`, `jsonwebtoken`,
//! `jwt-simple`, `aliri`, `tokengate-cached` (the verified-token cache on, a
//! hit after the first), or `tokengate` (the default: the cache off, a full
//! validation each time). Same key, token and checks as the criterion bench.

use std::hint::black_box;

#[path = "../benches/common/peers.rs"]
#[allow(dead_code)] // the driver picks one implementation; the bench uses the rest
mod peers;

use peers::{Case, Impl};
use tokengate::Algorithm;

fn main() {
    let mut args = std::env::args().skip(1);
    let alg: Algorithm = args.next().as_deref().unwrap_or("HS256").parse().expect("an algorithm name");
    let iterations: u32 = args.next().as_deref().unwrap_or("10000").parse().expect("a count");
    let name = args.next().unwrap_or_else(|| "tokengate".to_owned());
    // The old name of the cache-off mode.
    let name = if name.is_empty() { "tokengate".to_owned() } else { name };
    let which = Impl::parse(&name).unwrap_or_else(|| {
        let names: Vec<_> = Impl::ALL.iter().map(|i| i.name()).collect();
        panic!("unknown implementation {name:?}: one of {names:?}")
    });
    let case = Case::new(alg);
    let Some(verify) = case.verifier(which) else {
        eprintln!("{} does not support {alg}", which.name());
        std::process::exit(2);
    };
    let work = || assert!(verify(black_box(&case.token)).is_ok());
    if std::env::var_os("PROFILE_TIMED").is_some() {
        // Warm caches and the allocator first, untimed.
        (0..iterations / 5).for_each(|_| work());
    }
    let started = std::time::Instant::now();
    measured(iterations, &work);
    // Wall clock of the loop alone (set-up excluded), for runs that
    // alternate implementations (`benches/ab.sh`).
    println!(
        "{} {alg} {:.1} ns",
        which.name(),
        started.elapsed().as_nanos() as f64 / f64::from(iterations.max(1))
    );
}

/// The measured loop; profile only this with
/// `valgrind --tool=callgrind --toggle-collect='*measured*' ...`.
#[inline(never)]
fn measured(iterations: u32, work: &dyn Fn()) {
    for _ in 0..iterations {
        work();
    }
}
