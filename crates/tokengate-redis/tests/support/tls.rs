//! Certificates made by the test (rcgen) and a real `redis-server` that
//! speaks only TLS (`--port 0 --tls-port P`), requiring client certificates.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::{free_port, missing, temp_dir, wait_for_listener};

/// PEM files: a CA, a server certificate for `localhost` and `127.0.0.1`
/// and a client certificate signed by it, and an unrelated CA.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
}

impl Pki {
    /// Generates everything (ECDSA P-256) into `dir`.
    pub fn generate(dir: &Path) -> Pki {
        let (ca_pem, ca) = certificate_authority("tokengate test CA");
        let (other_ca_pem, _) = certificate_authority("some other CA");
        let (server_cert, server_key) =
            leaf(&ca, &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) = leaf(&ca, &["tokengate-client"], ExtendedKeyUsagePurpose::ClientAuth);
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        Pki {
            dir: dir.to_owned(),
            ca: write("ca.crt", &ca_pem),
            server_cert: write("server.crt", &server_cert),
            server_key: write("server.key", &server_key),
            client_cert: write("client.crt", &client_cert),
            client_key: write("client.key", &client_key),
            other_ca: write("other-ca.crt", &other_ca_pem),
        }
    }
}

fn certificate_authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let certificate = params.self_signed(&key).expect("self-signed CA");
    (certificate.pem(), Issuer::new(params, key))
}

fn leaf(issuer: &Issuer<'_, KeyPair>, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>())
        .expect("params");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let certificate = params.signed_by(&key, issuer).expect("signed certificate");
    (certificate.pem(), key.serialize_pem())
}

/// A `redis-server` on a TLS-only loopback port.
pub struct TlsRedis {
    port: u16,
    child: Child,
    pub pki: Pki,
}

impl TlsRedis {
    /// Generates certificates and starts the server, requiring client
    /// certificates (`tls-auth-clients yes`).
    pub fn start() -> TlsRedis {
        TlsRedis::start_with_client_auth(true)
    }

    /// Generates certificates and starts the server; `client_auth`: whether
    /// clients must present a certificate.
    pub fn start_with_client_auth(client_auth: bool) -> TlsRedis {
        let dir = temp_dir("tls");
        let pki = Pki::generate(&dir);
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--tls-cert-file")
            .arg(&pki.server_cert)
            .arg("--tls-key-file")
            .arg(&pki.server_key)
            .arg("--tls-ca-cert-file")
            .arg(&pki.ca)
            .args(["--tls-auth-clients", if client_auth { "yes" } else { "no" }])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| match error.kind() {
                std::io::ErrorKind::NotFound => missing("redis-server"),
                _ => panic!("cannot start redis-server: {error}"),
            });
        let mut server = TlsRedis { port, child, pki };
        if !wait_for_listener(port, Duration::from_secs(10)) {
            let exited = server.child.try_wait();
            panic!(
                "redis-server with TLS did not listen on {port} within 10 s (exit: {exited:?}; built without TLS?)"
            );
        }
        server
    }

    /// `rediss://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.port)
    }

    /// `rediss://localhost:PORT/`.
    pub fn url_by_name(&self) -> String {
        format!("rediss://localhost:{}/", self.port)
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.pki.dir);
    }
}
