//! [`RedisStoreBuilder`]: the URLs and their topology (one node, Cluster
//! seeds, Sentinels), TLS material, timeouts and key prefix, and
//! [`connect`](RedisStoreBuilder::connect). The checks and the connector of
//! each topology are in `connect.rs`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::keys::KeyLayout;
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
pub(crate) enum Pem {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Pem {
    pub(crate) fn describe(&self, what: &str) -> String {
        match self {
            Pem::File(path) => format!("the {what} file {}", path.display()),
            Pem::Bytes(_) => format!("the {what} (PEM given in memory)"),
        }
    }

    pub(crate) fn load(&self, what: &str) -> Result<Vec<u8>, ConnectError> {
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
    pub(crate) urls: Vec<String>,
    pub(crate) topology: Topology,
    /// The master's user name and password, behind Sentinels.
    pub(crate) master_credentials: Option<(Option<String>, String)>,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    pub(crate) retry_after: Duration,
    pub(crate) clock_skew_allowance: Duration,
    pub(crate) ca: Option<Pem>,
    pub(crate) client: Option<(Pem, Pem)>,
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
}

/// Splits the comma-separated form (`redis://a:6379,redis://b:6379`).
pub(crate) fn split_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(str::to_owned).collect()
}
