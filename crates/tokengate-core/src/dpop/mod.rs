//! DPoP (RFC 9449): sender-constrained tokens. A token bound to a key
//! (`cnf.jkt`) is accepted only with a proof, made for this request with
//! that key, never seen before: a stolen token alone gets the thief nothing.
//!
//! | piece | where |
//! | --- | --- |
//! | configuration, policy, the binding decision | this module |
//! | one proof's checks (§4.3) | `proof.rs` |
//! | `htu` normalisation (RFC 3986 §6.2.2–6.2.3) | `htu.rs` |
//! | JWK thumbprints (RFC 7638) and `ath` | `thumbprint.rs` |
//! | server nonces (§8–9) | `nonce.rs` |
//!
//! The proof's `jti` is recorded in the validator's
//! [`ReplayStore`](crate::store::ReplayStore) — the same store as single-use
//! tokens, so a proof accepted by one instance of a fleet sharing Redis is
//! refused by every other.

mod htu;
mod nonce;
mod proof;
mod thumbprint;

use std::fmt;
use std::time::Duration;

pub use self::nonce::{DpopNonces, MIN_NONCE_SECRET_BYTES};
pub(crate) use self::proof::CheckedProof;
pub(crate) use self::thumbprint::sha256_b64;
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::Error;
use crate::request::{Presented, Proofs, Scheme};

/// The proof algorithms accepted unless configured otherwise: every
/// asymmetric algorithm tokengate verifies.
pub const DEFAULT_PROOF_ALGORITHMS: AlgorithmSet = AlgorithmSet::ASYMMETRIC;
/// How far a proof's `iat` may be from now, either way, unless configured
/// otherwise.
pub const DEFAULT_PROOF_WINDOW: Duration = Duration::from_secs(60);

/// Whether tokens must, may or need not be sender-constrained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DpopPolicy {
    /// DPoP is not used: the `DPoP` scheme is refused, and so is a bound
    /// token (it is never good without its proof, RFC 9449 §7.2).
    Off,
    /// Bound tokens (with `cnf.jkt`) need a proof under the `DPoP` scheme
    /// and are refused as `Bearer`; unbound tokens still pass as `Bearer`.
    #[default]
    Allowed,
    /// Every token must be bound and come with a proof: `Bearer` is refused.
    Required,
}

/// Why a DPoP proof was refused (`invalid_dpop_proof`, RFC 9449 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DpopProblem {
    /// No `DPoP` header.
    #[error("the request uses the DPoP scheme but carries no DPoP proof header")]
    Missing,
    /// More than one `DPoP` header.
    #[error("the request carries more than one DPoP proof header")]
    Multiple,
    /// Not a well-formed compact JWS with JSON header and claims.
    #[error("the DPoP proof is not a well-formed JWT")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's `typ` is not dpop+jwt")]
    WrongType,
    /// `alg` is not an asymmetric algorithm this API accepts for proofs.
    #[error("the DPoP proof is signed with an algorithm this API does not accept for proofs")]
    AlgorithmNotAllowed,
    /// No `jwk` header.
    #[error("the DPoP proof has no `jwk` header")]
    MissingKey,
    /// The `jwk` header carries private key material.
    #[error("the DPoP proof's `jwk` header carries a private key")]
    PrivateKey,
    /// The `jwk` header is not a usable public key for the proof's `alg`.
    #[error("the DPoP proof's `jwk` header is not a usable public key for its `alg`")]
    UnusableKey,
    /// The signature does not verify with the `jwk` header.
    #[error("the DPoP proof's signature is invalid")]
    InvalidSignature,
    /// A required claim is absent.
    #[error("the DPoP proof has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `htm` is not the request's method.
    #[error("the DPoP proof's `htm` is not this request's method")]
    MethodMismatch,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof's `htu` is not this request's URL")]
    UrlMismatch,
    /// `iat` is too far from now.
    #[error("the DPoP proof's `iat` is outside the accepted window; check the client's clock")]
    OutsideWindow,
    /// `ath` is not the hash of the access token sent with it.
    #[error("the DPoP proof's `ath` does not match the access token")]
    AccessTokenMismatch,
    /// A proof with this `jti` (and key) was accepted before.
    #[error("the DPoP proof was already used; make a new proof for each request")]
    Replayed,
    /// The proof was made before the replay store's records begin: its
    /// earlier use cannot be ruled out.
    #[error("the DPoP proof was made before this API's record of used proofs begins; make a new proof")]
    PossiblyReplayed,
}

/// DPoP for a validator ([`ValidatorBuilder::dpop`](crate::ValidatorBuilder::dpop)):
/// the public URL proofs are made for, the accepted proof algorithms, the
/// `iat` window, optional server nonces, and the default policy of its
/// issuers.
///
/// ```
/// use std::time::Duration;
/// use tokengate_core::dpop::{Dpop, DpopPolicy};
/// let dpop = Dpop::new("https://api.example.com")
///     .window(Duration::from_secs(30))
///     .policy(DpopPolicy::Required);
/// # let _ = dpop;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Dpop {
    public_url: String,
    algorithms: AlgorithmSet,
    window: Duration,
    nonces: Option<DpopNonces>,
    policy: DpopPolicy,
}

impl Dpop {
    /// DPoP for an API reachable at `public_url` (scheme, host, optional
    /// port and path prefix — as clients see it, in front of any proxy or
    /// load balancer): a proof's `htu` must be this URL followed by the
    /// request's path. Checked by [`ValidatorBuilder::build`](crate::ValidatorBuilder::build).
    pub fn new(public_url: impl Into<String>) -> Self {
        Dpop {
            public_url: public_url.into(),
            algorithms: DEFAULT_PROOF_ALGORITHMS,
            window: DEFAULT_PROOF_WINDOW,
            nonces: None,
            policy: DpopPolicy::Allowed,
        }
    }

    /// The algorithms accepted for proofs (asymmetric only; default
    /// [`DEFAULT_PROOF_ALGORITHMS`]), also announced in the `DPoP`
    /// challenge's `algs`.
    pub fn algorithms(mut self, algorithms: impl Into<AlgorithmSet>) -> Self {
        self.algorithms = algorithms.into();
        self
    }

    /// How far a proof's `iat` may be from now, either way (default
    /// [`DEFAULT_PROOF_WINDOW`]). Used proofs are remembered this long.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Requires server-provided nonces (RFC 9449 §9): a proof without a
    /// current nonce is answered 401 `use_dpop_nonce` with a fresh one in
    /// `DPoP-Nonce`. Stateless: give every instance the same [`DpopNonces`].
    pub fn nonces(mut self, nonces: DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The policy of issuers that set none themselves (default
    /// [`DpopPolicy::Allowed`]); see also [`Issuer::dpop`](crate::Issuer::dpop).
    pub fn policy(mut self, policy: DpopPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Checks the configuration: `Err` names what is wrong.
    pub(crate) fn checked(mut self) -> Result<Dpop, &'static str> {
        if self.public_url.contains(['?', '#']) {
            return Err("the DPoP public URL must have no query or fragment");
        }
        let normalised =
            htu::normalise(&self.public_url).ok_or("the DPoP public URL must be an absolute http(s) URL")?;
        self.public_url = normalised.trim_end_matches('/').to_owned();
        if self.algorithms.is_empty() || self.algorithms.has_symmetric() {
            return Err("DPoP proofs need at least one algorithm, all asymmetric");
        }
        if self.window.is_zero() {
            return Err("the DPoP proof window must be at least one second");
        }
        Ok(self)
    }

    /// The accepted proof algorithms, space-separated (the challenge's `algs`).
    pub(crate) fn algs(&self) -> String {
        self.algorithms.iter().map(Algorithm::name).collect::<Vec<_>>().join(" ")
    }

    /// The accepted proof algorithms.
    pub fn proof_algorithms(&self) -> AlgorithmSet {
        self.algorithms
    }

    /// The default policy.
    pub fn default_policy(&self) -> DpopPolicy {
        self.policy
    }

    /// How long a used proof must be remembered: until it falls out of the window.
    pub(crate) fn proof_kept_until(&self, proof: &CheckedProof) -> u64 {
        proof.iat.saturating_add(self.window.as_secs()).saturating_add(1)
    }

    /// The binding decision for a token whose `cnf.jkt` is `bound_to`,
    /// presented as `presented`, under `policy`: `Ok(None)` for a token that
    /// passes as a bearer token, `Ok(Some(proof))` for a checked proof
    /// (whose `jti` the caller records last), or the refusal.
    pub(crate) fn bind(
        &self,
        policy: DpopPolicy,
        presented: &Presented<'_>,
        bound_to: Option<&str>,
        now: u64,
    ) -> Result<Option<CheckedProof>, Error> {
        match (presented.scheme, policy) {
            // A bound token is never good without its proof, whatever the policy.
            (Scheme::Bearer, _) if bound_to.is_some() => Err(Error::BoundTokenAsBearer),
            (Scheme::Dpop, DpopPolicy::Off) => Err(Error::DpopNotAccepted),
            (Scheme::Bearer, DpopPolicy::Off) => Ok(None),
            (Scheme::Bearer, DpopPolicy::Required) => Err(Error::DpopRequired),
            (Scheme::Bearer, DpopPolicy::Allowed) => Ok(None),
            (Scheme::Dpop, _) => {
                let bound_to = bound_to.ok_or(Error::TokenNotBound)?;
                self.check_proof(presented, bound_to, now).map(Some)
            }
        }
    }

    fn check_proof(
        &self,
        presented: &Presented<'_>,
        bound_to: &str,
        now: u64,
    ) -> Result<CheckedProof, Error> {
        let invalid = Error::InvalidDpopProof;
        let proof = match presented.proofs {
            Proofs::None => return Err(invalid(DpopProblem::Missing)),
            Proofs::Several => return Err(invalid(DpopProblem::Multiple)),
            Proofs::One(proof) => proof,
        };
        // The request's URL as clients see it: the public URL and the path.
        let url = htu::normalise(&format!("{}{}", self.public_url, presented.path))
            .ok_or(invalid(DpopProblem::UrlMismatch))?;
        let target = proof::Target { method: presented.method, url: &url };
        let checked =
            proof::check(proof, self.algorithms, &target, self.window.as_secs(), now).map_err(invalid)?;
        // §4.3 check 12: the proof is for this token, and made with its key.
        if checked.ath != sha256_b64(presented.token.as_bytes()) {
            return Err(invalid(DpopProblem::AccessTokenMismatch));
        }
        if checked.thumbprint != bound_to {
            return Err(Error::DpopKeyMismatch);
        }
        // Check 10, last: a client learns of the nonce only for an otherwise good proof.
        if let Some(nonces) = &self.nonces
            && !checked.nonce.as_deref().is_some_and(|nonce| nonces.accepts(nonce, now))
        {
            return Err(Error::UseDpopNonce { nonce: nonces.issue(now) });
        }
        Ok(checked)
    }
}

impl fmt::Display for DpopPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DpopPolicy::Off => "off",
            DpopPolicy::Allowed => "allowed",
            DpopPolicy::Required => "required",
        })
    }
}
