//! What `benches/throughput.rs` and `benches/scaling.rs` share: how long a
//! case runs, validations per second with threads sharing one validator,
//! and the median of rounds.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokengate::{StandardClaims, Validator};

use super::peers::ready;

/// Validations per second over `duration` with `threads` threads sharing
/// `validator`, each cycling through `tokens` from its own offset.
pub fn rate(validator: &Validator, tokens: &[String], threads: usize, duration: Duration) -> f64 {
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (stop, total) = (&stop, &total);
            scope.spawn(move || {
                let mut i = t * tokens.len() / threads;
                let mut count = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..16 {
                        let token = &tokens[i % tokens.len()];
                        black_box(
                            ready(validator.validate_token::<StandardClaims>(black_box(token))).unwrap(),
                        );
                        i += 1;
                    }
                    count += 16;
                }
                total.fetch_add(count, Ordering::Relaxed);
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    total.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Whether this is a real run (`cargo bench`), not `cargo test --benches`.
pub fn real_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// How long each case runs per round: `TOKENGATE_BENCH_SECS`, else
/// `default` (real runs) or `smoke` (`cargo test --benches`), clamped to
/// `limits`.
pub fn budget(default: f64, smoke: f64, limits: (f64, f64)) -> Duration {
    let seconds: f64 = std::env::var("TOKENGATE_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if real_run() { default } else { smoke });
    Duration::from_secs_f64(seconds.clamp(limits.0, limits.1))
}

/// The median of `values` (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
