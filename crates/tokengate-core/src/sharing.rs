//! Token-sharing detection: how many distinct clients present one token.
//!
//! Single use stops a token from being presented twice; most tokens are
//! meant to be presented many times, by one client. A bearer token copied
//! out of a browser or a log works just as well for whoever holds it, and
//! nothing in the token says who that is. [`TokenSharing`] counts the
//! distinct client fingerprints (a header set by a proxy you trust, such as
//! the client's address, or a fingerprint you compute) that present each
//! token while it lives, in the replay store — in memory, or shared by a
//! fleet through Redis — and reports, or refuses, a token seen from more
//! than a configured number of them.

use std::time::Duration;

use crate::build_error::BuildError;
use crate::error::Error;
use crate::request::{TokenLocations, is_header_name, is_reserved_header};
use crate::store::{ClientSighting, RecordKey, RecordKind, ReplayStore};

/// The largest client limit [`TokenSharing`] accepts: stores keep at most
/// one more fingerprint than the limit per token, so that a token's record
/// stays small whoever presents it.
pub const MAX_SHARING_LIMIT: u32 = 15;

/// How long a sighting record of a token without `exp` (nor a maximum age)
/// is kept.
const WINDOW_WITHOUT_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// Token-sharing detection: once more than `limit` distinct clients have
/// presented one token, that token is reported (a `warn` event and
/// [`Verified::clients_seen`](crate::Verified::clients_seen)) or refused
/// ([`Error::SharedToken`], 401 `invalid_token`) **for every client**,
/// until it expires: a token seen from too many places has leaked.
///
/// A client is what its fingerprint says: the value of
/// [`client_header`](Self::client_header) for requests (set it at a proxy
/// you trust — `x-real-ip`, a device identifier — since a client can send
/// any header it likes), or the fingerprint given with
/// [`Presentation::from_client`](crate::Presentation::from_client). A
/// request without one counts as one client of its own, "unknown".
///
/// Sightings are kept in the validator's replay store (128-bit token key,
/// 64-bit client hashes, at most `limit + 1` per token), until the token is
/// refused on time. Counting is detection, not a guarantee: a store that
/// loses its data (a restart of an in-memory store, a Redis flush) starts
/// counting again, and clients behind one address count as one.
///
/// ```
/// # use tokengate_core::{Issuer, Validator};
/// use tokengate_core::TokenSharing;
/// # fn demo(issuer: Issuer) -> Result<(), tokengate_core::BuildError> {
/// let validator = Validator::builder()
///     .issuer(issuer)
///     // The proxy in front of this API sets `x-real-ip` to the client's address.
///     .token_sharing(TokenSharing::refuse_above(3).client_header("x-real-ip"))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct TokenSharing {
    limit: u32,
    refuse: bool,
    header: Option<&'static str>,
}

impl TokenSharing {
    /// Reports a token presented by more than `limit` clients: accepted,
    /// with a `warn` event (short token hash, issuer, never the token) and
    /// [`Verified::clients_seen`](crate::Verified::clients_seen) above the limit.
    pub fn report_above(limit: u32) -> Self {
        TokenSharing { limit, refuse: false, header: None }
    }

    /// Refuses a token presented by more than `limit` clients
    /// ([`Error::SharedToken`]), for every client, until it expires.
    pub fn refuse_above(limit: u32) -> Self {
        TokenSharing { limit, refuse: true, header: None }
    }

    /// The request header whose value is the client's fingerprint (a
    /// lower-case header name; several values are taken together).
    pub fn client_header(mut self, name: &'static str) -> Self {
        self.header = Some(name);
        self
    }

    /// The limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Whether a token above the limit is refused (else reported).
    pub fn refuses(&self) -> bool {
        self.refuse
    }

    /// The header read for the client's fingerprint.
    pub fn header(&self) -> Option<&'static str> {
        self.header
    }

    /// Checks the configuration against the store it will count in and the
    /// places tokens are read from.
    pub(crate) fn checked(
        self,
        store: &dyn ReplayStore,
        locations: TokenLocations,
    ) -> Result<Self, BuildError> {
        let problem = if !(1..=MAX_SHARING_LIMIT).contains(&self.limit) {
            format!("the client limit must be between 1 and {MAX_SHARING_LIMIT}, not {}", self.limit)
        } else if let Some(problem) = self.header.and_then(header_problem) {
            problem
        } else if let Some(header) = self.header.filter(|header| locations.header == Some(header)) {
            format!("the client header {header:?} is where tokens are read from")
        } else if !store.counts_clients() {
            format!("the replay store ({store:?}) does not count clients")
        } else {
            return Ok(self);
        };
        Err(BuildError::TokenSharing(problem))
    }

    /// Notes that `client` presented `token` of `issuer` and answers how
    /// many distinct clients have (at most `limit + 1`); refuses the token
    /// above the limit when so configured. When reporting only, a store
    /// that cannot answer (full, unreachable) is no reason to refuse: the
    /// count is `None` and the token goes on.
    pub(crate) async fn note(
        &self,
        store: &dyn ReplayStore,
        issuer: &str,
        token: &str,
        client: Option<&[u8]>,
        refused_from: u64,
        now: u64,
    ) -> Result<Option<u32>, Error> {
        // Kept as long as the token can be accepted: a refusal holds until
        // the token expires. Only a token that never expires gets a window.
        let keep_until = match refused_from {
            u64::MAX => now.saturating_add(WINDOW_WITHOUT_EXPIRY.as_secs()),
            refused_from => refused_from,
        };
        let sighting = ClientSighting::new(
            RecordKey::new(RecordKind::Sighting, issuer, token),
            client_hash(client.unwrap_or_default()),
            self.limit + 1,
            keep_until,
            now,
        );
        let clients = match crate::observe::store_call("replay", store.note_client(sighting)).await {
            Ok(clients) => clients,
            Err(error) if !self.refuse => {
                tracing::debug!(%error, "token sharing not counted: the store could not answer");
                return Ok(None);
            }
            Err(error) => return Err(error.into()),
        };
        if clients <= self.limit {
            return Ok(Some(clients));
        }
        crate::observe::token_shared(self.refuse);
        if self.refuse {
            return Err(Error::SharedToken);
        }
        tracing::warn!(
            token = %crate::verdict::short_hash(token),
            iss = issuer,
            clients,
            limit = self.limit,
            "a token was presented by more distinct clients than allowed (reported, not refused)"
        );
        Ok(Some(clients))
    }
}

/// Why `name` cannot be read as the client's fingerprint, if it cannot.
fn header_problem(name: &'static str) -> Option<String> {
    if !is_header_name(name) {
        return Some(format!("the client header {name:?} is not a lower-case header name"));
    }
    is_reserved_header(name)
        .then(|| format!("the client header {name:?} carries credentials, not a client fingerprint"))
}

/// The first 64 bits of SHA-256 over a fingerprint: what stores keep.
fn client_hash(fingerprint: &[u8]) -> u64 {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, fingerprint);
    let mut first = [0; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}
