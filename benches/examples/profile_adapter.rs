//! A fixed amount of per-request work through the Tower layer, for
//! instruction counts of what an adapter adds over the bare validator:
//!
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/examples/profile_adapter ES256 20000 layer
//! ```
//!
//! The third argument is `validator` (build the request, then
//! `Validator::validate_request`), `layer` (build the same request and send
//! it through a `TokenLayer` around a trivial service) or `layer+scope` (a
//! `ScopeLayer` behind it too). The verified-token cache is on, so after the
//! first request each one is a cache hit: the adapter's share is what
//! remains. `layer` minus `validator`, divided by the count, is the layer's
//! cost per request.

use std::hint::black_box;

#[path = "../benches/common/peers.rs"]
#[allow(dead_code)] // `ready` only
mod peers;
#[path = "../benches/common/tower_case.rs"]
mod tower_case;

use tokengate::{Algorithm, StandardClaims};
use tokengate_tower::{ScopeLayer, TokenLayer};
use tower_case::{Inner, call, case, request};
use tower_layer::Layer as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let alg: Algorithm = args.next().as_deref().unwrap_or("ES256").parse().expect("an algorithm name");
    let iterations: u32 = args.next().as_deref().unwrap_or("10000").parse().expect("a count");
    let mode = args.next().unwrap_or_else(|| "layer".to_owned());
    let (validator, authorization) = case(alg);
    let work: Box<dyn FnMut()> = match mode.as_str() {
        "validator" => Box::new(move || {
            let request = request(Some(&authorization));
            let verified = peers::ready(validator.validate_request::<StandardClaims, _>(&request)).unwrap();
            black_box((request, verified));
        }),
        "layer" => {
            let mut layered = TokenLayer::new(validator).layer(Inner);
            Box::new(move || assert_eq!(call(&mut layered, request(Some(&authorization))), 200))
        }
        "layer+scope" => {
            let mut scoped =
                TokenLayer::new(validator).layer(ScopeLayer::all_of(["orders:read"]).layer(Inner));
            Box::new(move || assert_eq!(call(&mut scoped, request(Some(&authorization))), 200))
        }
        other => panic!("unknown mode {other:?}: validator, layer or layer+scope"),
    };
    measured(iterations, work);
}

/// The measured loop; profile only this with
/// `valgrind --tool=callgrind --toggle-collect='*measured*' ...`.
#[inline(never)]
fn measured(iterations: u32, mut work: Box<dyn FnMut()>) {
    for _ in 0..iterations {
        work();
    }
}
