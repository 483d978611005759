//! Connecting: the checks of the URLs and certificates, one connector per
//! topology (single node, Cluster, Sentinel), and the classification of a
//! failure into a [`ConnectError`] that says what to fix.

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

use crate::builder::{ConnectError, RedisStoreBuilder, Topology};
use crate::connection::Connection;
use crate::sentinel::SentinelConnection;

/// How many times a cluster command is retried (redirections included).
const CLUSTER_RETRIES: u32 = 3;

impl RedisStoreBuilder {
    /// Checks every URL; answers whether they use TLS (all or none may).
    pub(crate) fn check_urls(&self) -> Result<bool, ConnectError> {
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
    pub(crate) fn certificates(&self) -> Result<TlsCertificates, ConnectError> {
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

    pub(crate) async fn connect_single(
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

    pub(crate) async fn connect_cluster(
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
    pub(crate) async fn connect_sentinel(
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
