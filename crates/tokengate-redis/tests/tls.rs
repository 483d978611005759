//! `RedisStore` over TLS (`rediss://`) to a real `redis-server` that speaks
//! only TLS and requires client certificates, with certificates made by the
//! test: a private CA and mutual TLS work; a wrong CA, a missing client
//! certificate and unusable PEM are refused at connect, with clear errors.

mod support;

use std::time::{Duration, Instant};

use support::tls::TlsRedis;
use support::{ISS, use_jti};
use tokengate_core::store::{Revocation, RevocationStore, TokenRef, UseOutcome};
use tokengate_redis::{ConnectError, RedisStore};
use tokengate_testkit::now;

const TIMEOUT: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_and_a_client_certificate() {
    let server = TlsRedis::start();
    let pki = &server.pki;
    let store = RedisStore::builder(server.url())
        .ca_certificate_file(&pki.ca)
        .client_certificate_files(&pki.client_cert, &pki.client_key)
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect("TLS with the right CA and a client certificate");
    let iat = now();
    assert_eq!(use_jti(&store, "over-tls", iat).await, Ok(UseOutcome::First));
    assert_eq!(use_jti(&store, "over-tls", iat).await, Ok(UseOutcome::AlreadyUsed));
    store
        .revoke(Revocation::Token { issuer: ISS, token_id: "revoked", keep_until: iat + 60 }, iat)
        .await
        .unwrap();
    assert_eq!(store.is_revoked(TokenRef::new(ISS, Some("revoked"), None, Some(iat), iat)).await, Ok(true));

    // By host name, with the PEM texts in memory: the same Redis.
    let read = |path| std::fs::read(path).unwrap();
    let by_name = RedisStore::builder(server.url_by_name())
        .ca_certificate_pem(read(&pki.ca))
        .client_certificate_pem(read(&pki.client_cert), read(&pki.client_key))
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect("TLS by host name");
    assert_eq!(use_jti(&by_name, "over-tls", iat).await, Ok(UseOutcome::AlreadyUsed));

    // Refused at connect, quickly, as TLS failures.
    let started = Instant::now();
    let wrong_ca = RedisStore::builder(server.url())
        .ca_certificate_file(&pki.other_ca)
        .client_certificate_files(&pki.client_cert, &pki.client_key)
        .timeout(TIMEOUT)
        .connect()
        .await;
    assert!(matches!(wrong_ca, Err(ConnectError::Tls(ref m)) if m.contains("UnknownIssuer")), "{wrong_ca:?}");
    assert!(started.elapsed() < TIMEOUT * 4 + Duration::from_millis(500), "{:?}", started.elapsed());
    let system_roots = RedisStore::builder(server.url())
        .client_certificate_files(&pki.client_cert, &pki.client_key)
        .timeout(TIMEOUT);
    let system_roots = system_roots.connect().await;
    assert!(matches!(system_roots, Err(ConnectError::Tls(_))), "{system_roots:?}");
    let no_client_certificate =
        RedisStore::builder(server.url()).ca_certificate_file(&pki.ca).timeout(TIMEOUT);
    let no_client_certificate = no_client_certificate.connect().await;
    assert!(matches!(no_client_certificate, Err(ConnectError::Tls(_))), "{no_client_certificate:?}");
    // A plain client to the TLS port never gets an answer it can use.
    let plain =
        RedisStore::builder(server.url().replace("rediss://", "redis://")).timeout(TIMEOUT).connect().await;
    assert!(matches!(plain, Err(ConnectError::Unreachable(_))), "{plain:?}");
}

#[tokio::test]
async fn unusable_certificates_are_refused_before_connecting() {
    // Nothing listens on port 1: every error below comes before any I/O.
    let url = "rediss://127.0.0.1:1/";
    let invalid = |result: Result<RedisStore, ConnectError>, needle: &str| match result {
        Err(ConnectError::InvalidCertificate(message)) => {
            assert!(message.contains(needle), "{message:?} should mention {needle:?}")
        }
        other => panic!("expected InvalidCertificate, got {other:?}"),
    };
    let dir = support::temp_dir("pem");
    let pki = support::tls::Pki::generate(&dir);
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "junk").unwrap();
    let bad_der = dir.join("bad-der.pem");
    std::fs::write(&bad_der, "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n").unwrap();

    invalid(
        RedisStore::builder(url).ca_certificate_file(dir.join("missing.crt")).connect().await,
        "cannot read",
    );
    invalid(RedisStore::builder(url).ca_certificate_file(&junk).connect().await, "no PEM certificate");
    invalid(
        RedisStore::builder(url).ca_certificate_pem(b"junk".to_vec()).connect().await,
        "no PEM certificate",
    );
    invalid(RedisStore::builder(url).ca_certificate_file(&bad_der).connect().await, "not a valid X.509");
    // A key where the certificate should be, and the reverse.
    invalid(
        RedisStore::builder(url).ca_certificate_file(&pki.client_key).connect().await,
        "no PEM certificate",
    );
    let swapped = RedisStore::builder(url)
        .ca_certificate_file(&pki.ca)
        .client_certificate_files(&pki.client_cert, &junk);
    invalid(swapped.connect().await, "no PEM private key");
    let swapped = RedisStore::builder(url)
        .ca_certificate_file(&pki.ca)
        .client_certificate_files(&pki.client_key, &pki.client_key);
    invalid(swapped.connect().await, "no PEM certificate");
    // Cluster seeds are checked the same way.
    invalid(
        RedisStore::builder_from_urls([url, url]).ca_certificate_file(&junk).connect().await,
        "no PEM certificate",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
