//! What the actix-web middleware adds per request over the bare validator,
//! in-process (`actix_web::test::call_service`, no sockets).
//!
//! For each algorithm, on the same token and validator:
//!
//! * `validator`: `Validator::validate_request` on an `http::Request` with the token;
//! * `app`: the request through an actix app whose handler needs no token
//!   (the framework's own cost: routing, request and response objects);
//! * `app+gate`: the same app behind `TokenGate`, the handler reading `Auth`.
//!
//! The middleware's added cost is `app+gate - app - validator`, printed after
//! the run from criterion's estimates.

use std::hint::black_box;

use actix_web::{App, HttpResponse, test, web};
use criterion::Criterion;

mod common;
use serde_json::json;
use tokengate::actix::{Auth, TokenGate};
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, Validator};
use tokengate_testkit::{SigningKey, now};

const ISS: &str = "https://login.example.com/tenant-42/v2.0";
const AUD: &str = "https://api.example.com";
const ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::HS256];
const PATH: &str = "/orders/42";

async fn open() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn protected(Auth(token): Auth) -> HttpResponse {
    black_box(token.subject());
    HttpResponse::Ok().finish()
}

fn bench(c: &mut Criterion) {
    let system = actix_web::rt::System::new();
    for alg in ALGORITHMS {
        let key = SigningKey::generate(alg).with_kid("k");
        let validator = Validator::builder()
            .issuer(
                Issuer::new(ISS).audience(AUD).algorithms([alg]).keys(KeySet::new([key.verification_key()])),
            )
            .build()
            .unwrap();
        let token =
            key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "u", "exp": now() + 3600, "scope": "read" }));
        let authorization = format!("Bearer {token}");

        let plain = system.block_on(test::init_service(App::new().route(PATH, web::get().to(open))));
        let gated = system.block_on(test::init_service(
            App::new().route(PATH, web::get().to(protected)).wrap(TokenGate::new(validator.clone())),
        ));
        let request =
            || test::TestRequest::get().uri(PATH).insert_header(("authorization", authorization.as_str()));
        assert_eq!(system.block_on(test::call_service(&gated, request().to_request())).status(), 200);

        let mut group = c.benchmark_group(format!("actix-{alg}"));
        group.bench_function("validator", |b| {
            let http_request =
                http::Request::get(PATH).header("authorization", &authorization).body(()).unwrap();
            b.iter(|| {
                system
                    .block_on(validator.validate_request::<StandardClaims, _>(black_box(&http_request)))
                    .unwrap()
            })
        });
        group.bench_function("app", |b| {
            b.iter(|| system.block_on(test::call_service(&plain, request().to_request())))
        });
        group.bench_function("app+gate", |b| {
            b.iter(|| system.block_on(test::call_service(&gated, request().to_request())))
        });
        group.finish();
    }
}

fn print_added_cost() {
    let mean = common::estimate;
    println!("\nactix middleware: added cost per request (app+gate - app - validator)");
    for alg in ALGORITHMS {
        let group = format!("actix-{alg}");
        let (Some(validator), Some(app), Some(gated)) =
            (mean(&group, "validator"), mean(&group, "app"), mean(&group, "app+gate"))
        else {
            continue;
        };
        let added = gated - app - validator;
        println!(
            "{:<6} validator {:>8.2}µs  app {:>6.2}µs  app+gate {:>8.2}µs  added {:>6.2}µs ({:+.1}% of the validator)",
            alg.name(),
            validator / 1e3,
            app / 1e3,
            gated / 1e3,
            added / 1e3,
            100.0 * added / validator
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    print_added_cost();
}
