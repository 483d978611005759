//! A presentation: the token, its scheme, and what DPoP needs of the request.

use super::{RequestParts, Scheme, TokenLocations, extract_credentials};
use crate::dpop::DpopPolicy;
use crate::error::Error;

/// The `DPoP` headers of a request, as the validator reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proofs<'a> {
    None,
    One(&'a str),
    /// More than one `DPoP` header (refused, RFC 9449 §4.3 check 1).
    Several,
}

/// What validation reads of a presentation, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Presented<'a> {
    pub(crate) token: &'a str,
    pub(crate) scheme: Scheme,
    pub(crate) proofs: Proofs<'a>,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) policy: Option<DpopPolicy>,
    /// The client's fingerprint, for token-sharing detection.
    pub(crate) client: Option<&'a [u8]>,
}

impl<'a> Presented<'a> {
    /// A token presented as `Bearer`, without a request around it.
    pub(crate) fn bearer(token: &'a str) -> Self {
        Presented {
            token,
            scheme: Scheme::Bearer,
            proofs: Proofs::None,
            method: "",
            path: "",
            policy: None,
            client: None,
        }
    }
}

/// A token as a request presents it, with what DPoP needs of that request
/// (method, path, the `DPoP` proof), owned: adapters take it from the
/// request, then validate it once the request has moved on
/// ([`Validator::validate_presentation`](crate::Validator::validate_presentation)).
///
/// Its `Debug` form shows a short hash of the token, never the token, the
/// proof or the client's fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct Presentation {
    token: String,
    scheme: Scheme,
    proofs: OwnedProofs,
    method: String,
    path: String,
    policy: Option<DpopPolicy>,
    client: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OwnedProofs {
    None,
    One(String),
    Several,
}

impl Presentation {
    /// A token presented as `Bearer` (obtained some other way: a WebSocket
    /// sub-protocol, a gRPC metadata entry…).
    pub fn bearer(token: impl Into<String>) -> Self {
        Presentation {
            token: token.into(),
            scheme: Scheme::Bearer,
            proofs: OwnedProofs::None,
            method: String::new(),
            path: String::new(),
            policy: None,
            client: None,
        }
    }

    /// A token presented under the `DPoP` scheme with `proof`, for a request
    /// with this `method` and `path` (the URL the proof must name is the
    /// validator's DPoP public URL followed by `path`).
    pub fn dpop(
        token: impl Into<String>,
        proof: impl Into<String>,
        method: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Presentation {
            token: token.into(),
            scheme: Scheme::Dpop,
            proofs: OwnedProofs::One(proof.into()),
            method: method.into(),
            path: path.into(),
            policy: None,
            client: None,
        }
    }

    /// What `request` presents, with its `DPoP` headers when `dpop` is on,
    /// and the values of `client_header` (token-sharing detection), if any.
    pub(crate) fn from_request<R: RequestParts + ?Sized>(
        request: &R,
        locations: TokenLocations,
        dpop: bool,
        client_header: Option<&'static str>,
    ) -> Result<Self, Error> {
        let (token, scheme) = extract_credentials(request, locations, dpop)?;
        let mut proofs = OwnedProofs::None;
        if dpop {
            let mut headers = request.header_values("dpop");
            proofs = match (headers.next(), headers.next()) {
                (None, _) => OwnedProofs::None,
                (Some(_), Some(_)) => OwnedProofs::Several,
                // A proof that is not UTF-8 is no JWS: refused as malformed.
                (Some(proof), None) => OwnedProofs::One(String::from_utf8_lossy(proof).into_owned()),
            };
        }
        Ok(Presentation {
            token: token.into_owned(),
            scheme,
            proofs,
            // Only a DPoP proof is checked against them: no copies otherwise.
            method: if dpop { request.method().to_owned() } else { String::new() },
            path: if dpop { request.path().to_owned() } else { String::new() },
            policy: None,
            client: client_header.map(|name| client_fingerprint(request, name)),
        })
    }

    /// The client presenting the token: its fingerprint, as
    /// [`TokenSharing`](crate::TokenSharing) counts clients (an address, a
    /// device identifier, anything that tells clients apart). Presentations
    /// without one count as one client.
    pub fn from_client(mut self, fingerprint: impl Into<Vec<u8>>) -> Self {
        self.client = Some(fingerprint.into());
        self
    }

    /// This route's DPoP policy, instead of the issuer's.
    pub fn with_dpop_policy(mut self, policy: DpopPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The scheme it was presented with.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub(crate) fn presented(&self) -> Presented<'_> {
        Presented {
            token: &self.token,
            scheme: self.scheme,
            proofs: match &self.proofs {
                OwnedProofs::None => Proofs::None,
                OwnedProofs::One(proof) => Proofs::One(proof),
                OwnedProofs::Several => Proofs::Several,
            },
            method: &self.method,
            path: &self.path,
            policy: self.policy,
            client: self.client.as_deref(),
        }
    }
}

impl std::fmt::Debug for Presentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proofs = match self.proofs {
            OwnedProofs::None => 0,
            OwnedProofs::One(_) => 1,
            OwnedProofs::Several => 2,
        };
        f.debug_struct("Presentation")
            .field("token", &format_args!("sha256:{}…", crate::verdict::short_hash(&self.token)))
            .field("scheme", &self.scheme)
            .field("proofs", &proofs)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("policy", &self.policy)
            .field("client", &self.client.as_ref().map(|client| format!("{} bytes", client.len())))
            .finish()
    }
}

/// Every value of the header `name`, joined by `,` (as a proxy may add one
/// per hop, they are taken together).
fn client_fingerprint<R: RequestParts + ?Sized>(request: &R, name: &'static str) -> Vec<u8> {
    let mut fingerprint = Vec::new();
    for (index, value) in request.header_values(name).enumerate() {
        if index > 0 {
            fingerprint.push(b',');
        }
        fingerprint.extend_from_slice(value);
    }
    fingerprint
}
