//! The two demo servers (axum and actix-web) in this process, against one
//! loopback issuer, and a client that sends both the same requests.
#![allow(dead_code, unreachable_pub)]

pub mod introspection;
pub mod oidc;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokengate::AlgorithmSet;
use tokengate_examples::config::Config;
use tokengate_examples::demo::{DEMO_AUDIENCE, DemoIssuer};
use tokengate_examples::server::{Prepared, prepare};
use tokengate_testkit::now;
use {tokengate_demo_actix as actix_app, tokengate_demo_axum as axum_app};

/// The axum and the actix-web demo servers, trusting the same loopback
/// [`DemoIssuer`]; the pair's fields and methods through `Deref`.
pub struct Servers {
    pair: ServersFor,
    /// The issuer both trust.
    pub idp: DemoIssuer,
}

impl std::ops::Deref for Servers {
    type Target = ServersFor;
    fn deref(&self) -> &ServersFor {
        &self.pair
    }
}

/// Serves `for_axum` with the axum app on `axum`, and `for_actix` with the
/// actix app on `actix` (listeners bound beforehand on 127.0.0.1).
fn serve_both(
    for_axum: &Prepared,
    axum: std::net::TcpListener,
    for_actix: &Prepared,
    actix: std::net::TcpListener,
) {
    axum.set_nonblocking(true).unwrap();
    let axum = tokio::net::TcpListener::from_std(axum).unwrap();
    tokio::spawn(axum_app::serve(axum, axum_app::router(for_axum), std::future::pending()));
    tokio::spawn(actix_app::server(for_actix, actix, Duration::from_secs(1)).unwrap());
}

/// Starts both demo servers (in this process, on 127.0.0.1) with the
/// issuer's configuration plus `extra` variables, and waits for their keys.
pub async fn start(extra: &[(&str, String)]) -> Servers {
    let idp = DemoIssuer::start(AlgorithmSet::ASYMMETRIC).await.unwrap();
    let pair = start_for(idp.issuer(), DEMO_AUDIENCE, extra).await;
    pair.wait_for_keys(&idp.valid_token()).await;
    Servers { pair, idp }
}

/// A request, sent alike to both servers.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn get(path: &str) -> Self {
        Request { method: "GET", path: path.to_owned(), headers: Vec::new(), body: None }
    }
    pub fn post(path: &str) -> Self {
        Request { method: "POST", ..Request::get(path) }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
    /// `Authorization: DPoP <token>` and one `DPoP: <proof>` header (RFC 9449 §7.1).
    pub fn dpop(self, token: &str, proof: &str) -> Self {
        self.header("authorization", format!("DPoP {token}")).proof(proof)
    }
    /// One more `DPoP` header (call twice for two).
    pub fn proof(self, proof: &str) -> Self {
        self.header("dpop", proof)
    }
    pub fn json(self, body: Value) -> Self {
        Request { body: Some(body.to_string()), ..self.header("content-type", "application/json") }
    }
    pub fn form(self, body: String) -> Self {
        Request { body: Some(body), ..self.header("content-type", "application/x-www-form-urlencoded") }
    }
    pub fn body(self, body: String) -> Self {
        Request { body: Some(body), ..self }
    }
}

/// Waits (bounded) until something accepts connections on `addr`.
pub async fn wait_until_listening(addr: SocketAddr, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What is compared: everything a client can act on.
#[derive(Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The `Bearer` challenge's attributes (the first `WWW-Authenticate`
    /// line that is not a `DPoP` one).
    pub challenge: Option<BTreeMap<String, String>>,
    /// The `DPoP` challenge's attributes (RFC 9449 §7.1), when one was sent.
    pub dpop_challenge: Option<BTreeMap<String, String>>,
    /// The scheme of every `WWW-Authenticate` line, in order (`["Bearer", "DPoP"]`).
    pub schemes: Vec<String>,
    /// The `resource_metadata` of a 401's challenges (taken out of
    /// `challenge` and `dpop_challenge`), the server's own address written
    /// `{self}`: `{self}/.well-known/oauth-protected-resource` by default.
    pub resource_metadata: Option<String>,
    /// The `DPoP-Nonce` header (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The challenge of `scheme` (`"Bearer"` or `"DPoP"`).
    pub fn challenge_of(&self, scheme: &str) -> Option<&BTreeMap<String, String>> {
        if scheme.eq_ignore_ascii_case("dpop") {
            self.dpop_challenge.as_ref()
        } else {
            self.challenge.as_ref()
        }
    }
}

/// `Bearer realm="x", error="y"` → {scheme: Bearer, realm: x, error: y}.
fn attributes(challenge: &str) -> BTreeMap<String, String> {
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut map = BTreeMap::from([("scheme".to_owned(), scheme.to_owned())]);
    let mut rest = rest.trim();
    while let Some((name, after)) = rest.split_once("=\"") {
        let end = after.find('"').expect("a closing quote");
        map.insert(name.trim_start_matches(',').trim().to_owned(), after[..end].to_owned());
        rest = after[end + 1..].trim();
    }
    map
}

pub async fn send(addr: SocketAddr, request: &Request) -> Answer {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = client.request(method, format!("http://{addr}{}", request.path));
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    let mut lines: Vec<BTreeMap<String, String>> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|line| attributes(line.to_str().unwrap()))
        .collect();
    let resource_metadata = take_resource_metadata(addr, status, &mut lines);
    let is_dpop = |line: &&BTreeMap<String, String>| line["scheme"].eq_ignore_ascii_case("dpop");
    let challenge = lines.iter().find(|line| !is_dpop(line)).cloned();
    let dpop_challenge = lines.iter().find(is_dpop).cloned();
    let schemes = lines.iter().map(|line| line["scheme"].clone()).collect();
    let (retry_after, content_type) = (header("retry-after"), header("content-type"));
    let dpop_nonce = header("dpop-nonce");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        challenge,
        dpop_challenge,
        schemes,
        resource_metadata,
        dpop_nonce,
        retry_after,
        content_type,
        body,
    }
}

/// RFC 9728 §5.1's `resource_metadata`, checked on every answer: never
/// outside a 401, and the same URL on every challenge line of one. The
/// attribute is taken out of `lines` (so that tests compare the rest) and
/// returned with the server's own `http://ADDR` written `{self}`, so that
/// two servers on two ports compare equal.
fn take_resource_metadata(
    addr: SocketAddr,
    status: u16,
    lines: &mut [BTreeMap<String, String>],
) -> Option<String> {
    let urls: Vec<Option<String>> = lines.iter_mut().map(|line| line.remove("resource_metadata")).collect();
    if status != 401 {
        assert!(urls.iter().all(Option::is_none), "resource_metadata outside a 401: {urls:?}");
        return None;
    }
    let first = urls.first()?.clone();
    assert!(urls.iter().all(|url| *url == first), "one URL on every challenge line: {urls:?}");
    first.map(|url| url.replace(&format!("http://{addr}"), "{self}"))
}

impl Servers {
    pub fn token(&self, changes: Value) -> String {
        let claims = json!({
            "iss": self.idp.issuer(), "aud": DEMO_AUDIENCE, "sub": "alice", "client_id": "app",
            "jti": "t-1", "iat": now(), "exp": now() + 300, "scope": "profile",
        });
        self.idp.key().token(&tokengate_tests::merged(claims, &changes))
    }

    pub fn with_header(&self, header: Value) -> String {
        let mut full = self.idp.key().header();
        full.as_object_mut().unwrap().extend(header.as_object().unwrap().clone());
        self.idp.key().token_with_header(
            &full,
            &json!({ "iss": self.idp.issuer(), "aud": DEMO_AUDIENCE, "exp": now() + 300 }),
        )
    }
}

/// The axum and the actix-web demo servers trusting an issuer the test runs
/// itself (e.g. a real OpenID Provider), configured like a user would:
/// `TOKENGATE_ISSUER` and `TOKENGATE_AUDIENCE` only, keys by discovery.
pub struct ServersFor {
    /// The axum server.
    pub axum: SocketAddr,
    /// The actix-web server.
    pub actix: SocketAddr,
    _prepared: (Prepared, Prepared),
}

async fn prepared_for(issuer: &str, audience: &str, extra: &[(&str, String)], bound: SocketAddr) -> Prepared {
    let mut vars = vec![
        ("TOKENGATE_ADDR", "127.0.0.1:0".to_owned()),
        ("TOKENGATE_ISSUER", issuer.to_owned()),
        ("TOKENGATE_AUDIENCE", audience.to_owned()),
        ("TOKENGATE_INSECURE_HTTP", "1".to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    let config =
        Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
    prepare(config, bound).await.unwrap()
}

/// Starts both demo servers (in this process, on 127.0.0.1) trusting
/// `issuer` (OpenID Connect discovery, loopback `http://` allowed) for
/// `audience`, plus `extra` variables. Does not wait for the keys: the
/// caller has the only tokens that can tell (until then, 503).
pub async fn start_for(issuer: &str, audience: &str, extra: &[(&str, String)]) -> ServersFor {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (axum_listener, actix_listener) = (bind(), bind());
    let (axum, actix) = (axum_listener.local_addr().unwrap(), actix_listener.local_addr().unwrap());
    let for_axum = prepared_for(issuer, audience, extra, axum).await;
    let for_actix = prepared_for(issuer, audience, extra, actix).await;
    serve_both(&for_axum, axum_listener, &for_actix, actix_listener);
    ServersFor { axum, actix, _prepared: (for_axum, for_actix) }
}

impl ServersFor {
    /// Sends `request` to both servers and asserts identical answers; returns one.
    pub async fn same(&self, label: &str, request: Request) -> Answer {
        let axum = send(self.axum, &request).await;
        let actix = send(self.actix, &request).await;
        assert_eq!(axum, actix, "{label}: axum (left) and actix (right) differ");
        // The demos' contract: every 401 challenge names the metadata document.
        if axum.status == 401 {
            let url =
                axum.resource_metadata.as_deref().unwrap_or_else(|| panic!("{label}: no resource_metadata"));
            assert!(url.ends_with("/.well-known/oauth-protected-resource"), "{label}: {url}");
        }
        axum
    }

    /// Waits (at most 10 s) until both servers accept `token` on `/me`,
    /// i.e. until they have fetched the issuer's keys.
    pub async fn wait_for_keys(&self, token: &str) {
        for addr in [self.axum, self.actix] {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let answer = send(addr, &Request::get("/me").bearer(token)).await;
                if answer.status == 200 {
                    break;
                }
                assert!(Instant::now() < deadline, "keys never arrived at {addr}: {answer:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
