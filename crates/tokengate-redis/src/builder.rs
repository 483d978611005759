//! [`RedisStoreBuilder`]: URLs (single node or cluster seeds), TLS, timeouts,
//! and the checks that turn a misconfiguration into a [`ConnectError`] at
//! start-up rather than a failure on the first request.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClientBuilder, SentinelServerType};
use redis::{
    Client, ClientTlsConfig, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisError, ServerErrorKind,
    TlsCertificates, TlsMode,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::connection::Connection;
use crate::keys::KeyLayout;
use crate::sentinel::SentinelConnection;
use crate::store::{RedisStore, Settings};

/// The default key prefix: every key this store writes starts with it.
pub const DEFAULT_KEY_PREFIX: &str = "tokengate:";
/// The default time one Redis operation may take before the request is
/// refused with 503.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// The default `Retry-After` of a 503 caused by Redis.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The default [`RedisStoreBuilder::clock_skew_allowance`].
pub const DEFAULT_CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(30);

/// How many times a cluster command is retried (redirections included).
const CLUSTER_RETRIES: u32 = 3;

/// Why [`RedisStoreBuilder::connect`] failed: a configuration error, reported
/// at start-up rather than discovered on the first request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A URL is not a Redis URL this build supports (`redis://`, `rediss://`,
    /// `unix://`), or none was given.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// The settings do not fit together: a key prefix with `{` or `}`, a CA
    /// or client certificate with a `redis://` URL, TLS and plain seeds mixed,
    /// `#insecure`, a cluster node given as a single node or the reverse.
    #[error("invalid Redis store configuration: {0}")]
    InvalidConfig(String),
    /// A CA certificate, client certificate or key cannot be read, or is not
    /// valid PEM holding what it should.
    #[error("invalid TLS certificate or key: {0}")]
    InvalidCertificate(String),
    /// The TLS handshake failed: the server's certificate is not signed by
    /// the configured CA (or the system's, without one) or does not name the
    /// host of the URL, or the server refused our client certificate.
    #[error("TLS with Redis failed: {0}")]
    Tls(String),
    /// Redis did not answer.
    #[error("Redis is unreachable: {0}")]
    Unreachable(String),
}

/// PEM text given as a file (read at [`connect`](RedisStoreBuilder::connect)) or in memory.
#[derive(Clone)]
enum Pem {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Pem {
    fn describe(&self, what: &str) -> String {
        match self {
            Pem::File(path) => format!("the {what} file {}", path.display()),
            Pem::Bytes(_) => format!("the {what} (PEM given in memory)"),
        }
    }

    fn load(&self, what: &str) -> Result<Vec<u8>, ConnectError> {
        match self {
            Pem::File(path) => std::fs::read(path).map_err(|error| {
                ConnectError::InvalidCertificate(format!("cannot read {}: {error}", self.describe(what)))
            }),
            Pem::Bytes(bytes) => Ok(bytes.clone()),
        }
    }
}

/// What the URLs name.
#[derive(Clone, Debug)]
pub(crate) enum Topology {
    /// One node.
    Single,
    /// Seeds of a Redis Cluster.
    Cluster,
    /// Sentinels, and the name of the master they monitor.
    Sentinel { master: String },
}

/// Configures a [`RedisStore`]; see [`RedisStore::builder`] (one node),
/// [`RedisStore::builder_from_urls`] (a cluster),
/// [`RedisStore::builder_from_sentinels`] (a master behind Sentinels) and
/// [`RedisStore::builder_from_list`] (one node or a cluster, from `redis://a,redis://b`).
#[derive(Clone)]
#[must_use = "a builder does nothing until connect() is awaited"]
pub struct RedisStoreBuilder {
    urls: Vec<String>,
    topology: Topology,
    /// The master's user name and password, behind Sentinels.
    master_credentials: Option<(Option<String>, String)>,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
    clock_skew_allowance: Duration,
    ca: Option<Pem>,
    client: Option<(Pem, Pem)>,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs may carry a password: never printed.
        f.debug_struct("RedisStoreBuilder")
            .field("urls", &self.urls.len())
            .field("topology", &self.topology)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("retry_after", &self.retry_after)
            .field("clock_skew_allowance", &self.clock_skew_allowance)
            .field("ca", &self.ca.as_ref().map(|pem| pem.describe("CA certificate")))
            .field("client_certificate", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    pub(crate) fn new(urls: Vec<String>, topology: Topology) -> Self {
        RedisStoreBuilder {
            urls,
            topology,
            master_credentials: None,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
            clock_skew_allowance: DEFAULT_CLOCK_SKEW_ALLOWANCE,
            ca: None,
            client: None,
        }
    }

    /// Every key starts with `prefix` (default [`DEFAULT_KEY_PREFIX`]), so
    /// several services can share one Redis. Services that must **not**
    /// share single-use records (each may accept the token once) need
    /// distinct prefixes; instances of one service need the same one. It
    /// must not contain `{` or `}` (they would change the cluster hash tags
    /// of the [key layout](crate#key-layout)).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one Redis operation (connecting included) may take before the
    /// token is refused with 503 (default [`DEFAULT_TIMEOUT`]). It bounds the
    /// latency Redis can add to a request, outage or not, in both modes: it
    /// is the per-command response timeout of the connection (cluster:
    /// per node and overall, redirections included), and the connect timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `Retry-After` of 503s caused by Redis (default [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// How far ahead of this instance's clock an issuer's clock may run
    /// (default [`DEFAULT_CLOCK_SKEW_ALLOWANCE`], whole seconds).
    ///
    /// When the store detects that Redis lost single-use records (see
    /// [lost data](crate#lost-data-and-rollbacks)), it refuses tokens issued
    /// before *now + this allowance*: an issuer whose clock runs ahead stamps
    /// tokens with an `iat` in our future, so a token used just before the
    /// loss can carry an `iat` later than the detection. The cost: single-use
    /// tokens issued within the allowance after a detected loss are refused
    /// once (401 `PossiblyReplayed`; the client gets a new token).
    pub fn clock_skew_allowance(mut self, allowance: Duration) -> Self {
        self.clock_skew_allowance = allowance;
        self
    }

    /// Trust only the CA certificate(s) in the PEM file at `path` for the
    /// server's certificate (`rediss://` URLs), instead of the system's
    /// trust store. Read and checked by [`connect`](Self::connect): an
    /// unreadable file, or one holding no valid certificate, is
    /// [`ConnectError::InvalidCertificate`].
    pub fn ca_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Pem::File(path.into()));
        self
    }

    /// As [`ca_certificate_file`](Self::ca_certificate_file), with the PEM
    /// text in memory.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(Pem::Bytes(pem.into()));
        self
    }

    /// Present a client certificate (mutual TLS, Redis's
    /// `tls-auth-clients yes`): `certificate` a PEM file holding the
    /// certificate (and its chain), `key` a PEM file holding its private key
    /// (PKCS#8, PKCS#1 or SEC1). Read and checked by [`connect`](Self::connect).
    pub fn client_certificate_files(
        mut self,
        certificate: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client = Some((Pem::File(certificate.into()), Pem::File(key.into())));
        self
    }

    /// As [`client_certificate_files`](Self::client_certificate_files), with
    /// the PEM texts in memory.
    pub fn client_certificate_pem(
        mut self,
        certificate: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client = Some((Pem::Bytes(certificate.into()), Pem::Bytes(key.into())));
        self
    }

    /// Behind Sentinels ([`RedisStore::builder_from_sentinels`]): the user
    /// name (ACL; `None` for the default user) and password of the master
    /// and its replicas. The Sentinels' own are those of the first URL.
    /// With any other topology, [`connect`](Self::connect) refuses it
    /// ([`ConnectError::InvalidConfig`]): there the URL carries them.
    pub fn master_credentials(mut self, username: Option<&str>, password: &str) -> Self {
        self.master_credentials = Some((username.map(str::to_owned), password.to_owned()));
        self
    }

    /// Connects (inside a Tokio runtime), failing if the configuration is
    /// invalid or Redis does not answer: an unreachable store at start-up is
    /// a configuration error. Later outages are survived: connections are
    /// re-established by themselves, and requests meanwhile answered 503.
    ///
    /// It also sets each use group's marker to now unless it is set (see
    /// [lost data](crate#lost-data-and-rollbacks)), and reads the groups'
    /// counters.
    pub async fn connect(self) -> Result<RedisStore, ConnectError> {
        let layout = KeyLayout::new(self.prefix.clone()).map_err(ConnectError::InvalidConfig)?;
        let tls = self.check_urls()?;
        if !tls && (self.ca.is_some() || self.client.is_some()) {
            return Err(ConnectError::InvalidConfig(
                "a CA or client certificate was given, but TLS needs rediss:// URLs".to_owned(),
            ));
        }
        let certificates = if tls {
            // redis builds rustls configurations with the process-wide
            // provider, and rustls panics when none can be chosen (none or
            // several compiled in): install aws-lc-rs unless one is installed.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            Some(self.certificates()?)
        } else {
            None
        };
        if self.master_credentials.is_some() && !matches!(self.topology, Topology::Sentinel { .. }) {
            return Err(ConnectError::InvalidConfig(
                "master_credentials is for a master behind Sentinels: put the password in the URL".to_owned(),
            ));
        }
        let connection = match &self.topology {
            Topology::Single => self.connect_single(certificates, tls).await?,
            Topology::Cluster => self.connect_cluster(certificates, tls).await?,
            Topology::Sentinel { master } => self.connect_sentinel(master, certificates, tls).await?,
        };
        let settings = Settings {
            layout,
            timeout: self.timeout,
            retry_after: self.retry_after,
            clock_skew_allowance: self.clock_skew_allowance.as_secs(),
            tls,
        };
        RedisStore::start(connection, settings).await
    }

    /// Checks every URL; answers whether they use TLS (all or none may).
    fn check_urls(&self) -> Result<bool, ConnectError> {
        if self.urls.is_empty() {
            return Err(ConnectError::InvalidUrl("no Redis URL was given".to_owned()));
        }
        let mut modes = Vec::with_capacity(self.urls.len());
        for (index, url) in self.urls.iter().enumerate() {
            // The URL itself is never echoed: it may carry a password.
            let which =
                if self.urls.len() == 1 { "the URL".to_owned() } else { format!("URL #{}", index + 1) };
            let info = url.as_str().into_connection_info().map_err(|error| {
                ConnectError::InvalidUrl(format!(
                    "{which}: {error} (expected redis://, rediss:// or unix://; a ',' inside a URL \
                     must be written %2C)"
                ))
            })?;
            modes.push(match info.addr() {
                ConnectionAddr::TcpTls { insecure: true, .. } => {
                    return Err(ConnectError::InvalidConfig(format!(
                        "{which}: #insecure turns certificate verification off, which this store does \
                         not allow: give the server's CA with ca_certificate_file instead"
                    )));
                }
                ConnectionAddr::TcpTls { .. } => true,
                ConnectionAddr::Unix(_) if matches!(self.topology, Topology::Cluster) => {
                    return Err(ConnectError::InvalidConfig(format!(
                        "{which}: a Redis Cluster is reached over TCP, not a unix socket"
                    )));
                }
                _ => false,
            });
        }
        if modes.iter().any(|tls| *tls != modes[0]) {
            return Err(ConnectError::InvalidConfig(
                "some URLs are rediss:// (TLS) and others are not: use one scheme for all".to_owned(),
            ));
        }
        Ok(modes[0])
    }

    /// Loads and checks the CA and client certificates.
    fn certificates(&self) -> Result<TlsCertificates, ConnectError> {
        let root_cert = match &self.ca {
            Some(pem) => {
                let what = pem.describe("CA certificate");
                let bytes = pem.load("CA certificate")?;
                check_certificates(&bytes, &what)?;
                Some(bytes)
            }
            None => None,
        };
        let client_tls = match &self.client {
            Some((certificate, key)) => {
                let client_cert = certificate.load("client certificate")?;
                check_certificates(&client_cert, &certificate.describe("client certificate"))?;
                let client_key = key.load("client key")?;
                PrivateKeyDer::from_pem_slice(&client_key).map_err(|error| {
                    ConnectError::InvalidCertificate(format!(
                        "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {error}",
                        key.describe("client key")
                    ))
                })?;
                Some(ClientTlsConfig { client_cert, client_key })
            }
            None => None,
        };
        Ok(TlsCertificates { client_tls, root_cert })
    }

    fn connection_manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(self.timeout)
    }

    async fn connect_single(
        &self,
        certificates: Option<TlsCertificates>,
        tls: bool,
    ) -> Result<Connection, ConnectError> {
        let url = self.urls[0].as_str();
        let client = match certificates {
            Some(certificates) => Client::build_with_tls(url, certificates)
                .map_err(|error| ConnectError::InvalidCertificate(error.to_string()))?,
            None => Client::open(url).map_err(|error| ConnectError::InvalidUrl(error.to_string()))?,
        };
        let manager = tokio::time::timeout(
            self.timeout * 4,
            ConnectionManager::new_with_config(client, self.connection_manager_config()),
        )
        .await
        .map_err(|_| ConnectError::Unreachable(format!("no answer within {:?}", self.timeout * 4)))?
        .map_err(|error| classify(&error, tls))?;
        Ok(Connection::Single(manager))
    }

    async fn connect_cluster(
        &self,
        certificates: Option<TlsCertificates>,
        tls: bool,
    ) -> Result<Connection, ConnectError> {
        let wait_ms = u64::try_from(self.timeout.as_millis() / 4).unwrap_or(u64::MAX).max(20);
        let mut builder = ClusterClient::builder(self.urls.iter().map(String::as_str))
            .connection_timeout(self.timeout)
            // Without it a command to a hung node waits forever; it is also
            // the overall budget, redirections and retries included, so a
            // timed-out script is never sent a second time.
            .response_timeout(self.timeout)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(wait_ms);
        if let Some(certificates) = certificates.filter(|c| c.root_cert.is_some() || c.client_tls.is_some()) {
            builder = builder.certs(certificates);
        }
        let client = builder
            .build()
            .map_err(|error| ConnectError::InvalidConfig(format!("Redis Cluster seeds: {error}")))?;
        let connection = tokio::time::timeout(self.timeout * 4, client.get_async_connection())
            .await
            .map_err(|_| ConnectError::Unreachable(format!("no answer within {:?}", self.timeout * 4)))?
            .map_err(|error| classify(&error, tls))?;
        Ok(Connection::Cluster(connection))
    }
}

impl RedisStoreBuilder {
    /// The master the Sentinels at `self.urls` name: their user name and
    /// password from the first URL, the master's from
    /// [`master_credentials`](Self::master_credentials), TLS to both when
    /// the URLs are `rediss://`.
    async fn connect_sentinel(
        &self,
        master: &str,
        certificates: Option<TlsCertificates>,
        tls: bool,
    ) -> Result<Connection, ConnectError> {
        let infos = self
            .urls
            .iter()
            .map(|url| url.as_str().into_connection_info())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ConnectError::InvalidUrl(error.to_string()))?;
        if infos.iter().any(|info| info.redis_settings().db() != 0) {
            return Err(ConnectError::InvalidConfig(
                "a database number in a Sentinel URL: the store uses the master's database 0".to_owned(),
            ));
        }
        let invalid = |error: RedisError| ConnectError::InvalidConfig(format!("Redis Sentinels: {error}"));
        let mut builder = SentinelClientBuilder::new(
            infos.iter().map(|info| info.addr().clone()),
            master,
            SentinelServerType::Master,
        )
        .map_err(invalid)?;
        let sentinel_auth = infos[0].redis_settings();
        if let Some(username) = sentinel_auth.username() {
            builder = builder.set_client_to_sentinel_username(username);
        }
        if let Some(password) = sentinel_auth.password() {
            builder = builder.set_client_to_sentinel_password(password);
        }
        if let Some((username, password)) = &self.master_credentials {
            if let Some(username) = username {
                builder = builder.set_client_to_redis_username(username);
            }
            builder = builder.set_client_to_redis_password(password);
        }
        if tls {
            builder = builder.set_client_to_redis_tls_mode(TlsMode::Secure);
            if let Some(certificates) =
                certificates.filter(|c| c.root_cert.is_some() || c.client_tls.is_some())
            {
                builder = builder
                    .set_client_to_redis_certificates(certificates.clone())
                    .set_client_to_sentinel_certificates(certificates);
            }
        }
        let client = builder.build().map_err(invalid)?;
        // The lookup has four timeouts of its own: its error, if any, comes first.
        let connection =
            tokio::time::timeout(self.timeout * 5, SentinelConnection::connect(client, self.timeout))
                .await
                .map_err(|_| ConnectError::Unreachable(format!("no answer within {:?}", self.timeout * 5)))?
                .map_err(|error| match error.kind() {
                    ErrorKind::MasterNameNotFoundBySentinel => ConnectError::InvalidConfig(format!(
                        "the Redis Sentinels monitor no master named {master:?}"
                    )),
                    _ => classify(&error, tls),
                })?;
        Ok(Connection::Sentinel(connection))
    }
}

/// Checks that `pem` holds at least one certificate, each a valid X.509
/// certificate: the redis crate would silently ignore garbage, and the
/// connect would then fail with an unhelpful "unknown issuer".
fn check_certificates(pem: &[u8], what: &str) -> Result<(), ConnectError> {
    let mut store = rustls::RootCertStore::empty();
    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        count += 1;
        let certificate = certificate
            .map_err(|error| ConnectError::InvalidCertificate(format!("{what} is not valid PEM: {error}")))?;
        store.add(certificate).map_err(|error| {
            ConnectError::InvalidCertificate(format!(
                "certificate #{count} of {what} is not a valid X.509 certificate: {error}"
            ))
        })?;
    }
    if count == 0 {
        return Err(ConnectError::InvalidCertificate(format!(
            "{what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(())
}

/// Splits the comma-separated form (`redis://a:6379,redis://b:6379`).
pub(crate) fn split_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(str::to_owned).collect()
}

/// Turns a failure to connect or to run the start-up script into a
/// [`ConnectError`] that says what to fix.
pub(crate) fn classify(error: &RedisError, tls: bool) -> ConnectError {
    let text = error.to_string();
    if error.kind() == ErrorKind::Server(ServerErrorKind::Moved)
        || error.kind() == ErrorKind::Server(ServerErrorKind::Ask)
    {
        return ConnectError::InvalidConfig(format!(
            "Redis answered {text}: it is a Redis Cluster node, so give the cluster's seed URLs to \
             RedisStore::builder_from_urls (or several URLs to builder_from_list)"
        ));
    }
    if text.contains("cluster support disabled") {
        return ConnectError::InvalidConfig(format!(
            "{text}: this Redis is not a cluster; use RedisStore::builder for a single node"
        ));
    }
    let lower = text.to_ascii_lowercase();
    let mentions_tls = ["certificate", "handshake", "alert", "tls"].iter().any(|word| lower.contains(word));
    let failed_after_connecting =
        error.kind() == ErrorKind::Io && !error.is_timeout() && !error.is_connection_refusal();
    if tls && (mentions_tls || failed_after_connecting) {
        return ConnectError::Tls(format!(
            "{text} (is the server's certificate signed by the configured CA and issued for the \
             URL's host name or IP address? does the server require a client certificate?)"
        ));
    }
    ConnectError::Unreachable(text)
}
