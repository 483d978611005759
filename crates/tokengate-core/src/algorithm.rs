//! JWS signature algorithms (RFC 7518 §3, RFC 8037) and sets of them.

use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm tokengate can verify.
///
/// `none` is deliberately not representable: an unsigned token can never be
/// accepted, whatever the configuration says. Names are case-sensitive, as
/// RFC 7515 §4.1.1 requires (`rs256` is not `RS256`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

/// The kind of key an [`Algorithm`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlgorithmFamily {
    /// A shared secret (HMAC).
    Hmac,
    /// An RSA public key.
    Rsa,
    /// An elliptic-curve public key (P-256 or P-384).
    Ec,
    /// An Edwards-curve public key (Ed25519).
    Ed,
}

impl Algorithm {
    /// Every supported algorithm, in a fixed order.
    pub const ALL: [Algorithm; 12] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The registered JWS name (`"RS256"`, `"EdDSA"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Looks an algorithm up by its exact, case-sensitive JWS name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The kind of key this algorithm verifies with.
    pub const fn family(self) -> AlgorithmFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => AlgorithmFamily::Rsa,
            Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
            Algorithm::EdDSA => AlgorithmFamily::Ed,
        }
    }

    /// Whether the algorithm uses a shared secret rather than a public key.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.family(), AlgorithmFamily::Hmac)
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given is not a supported JWS algorithm.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a supported JWS algorithm (supported: HS256/384/512, RS256/384/512, PS256/384/512, ES256, ES384, EdDSA)"
)]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Algorithm::from_name(name).ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }
}

/// A set of [`Algorithm`]s: an allow-list. Copy-cheap (a bit set).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    /// The empty set.
    pub const EMPTY: AlgorithmSet = AlgorithmSet(0);

    /// The asymmetric algorithms an OpenID Provider typically signs with:
    /// RS256/384/512, PS256/384/512, ES256, ES384 and EdDSA.
    pub const ASYMMETRIC: AlgorithmSet = AlgorithmSet(
        Algorithm::RS256.bit()
            | Algorithm::RS384.bit()
            | Algorithm::RS512.bit()
            | Algorithm::PS256.bit()
            | Algorithm::PS384.bit()
            | Algorithm::PS512.bit()
            | Algorithm::ES256.bit()
            | Algorithm::ES384.bit()
            | Algorithm::EdDSA.bit(),
    );

    /// Whether `alg` is in the set.
    pub const fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// Adds `alg`.
    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms in the set, in [`Algorithm::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL.into_iter().filter(move |alg| self.contains(*alg))
    }

    /// Whether any algorithm of the set is symmetric (HMAC).
    pub fn has_symmetric(self) -> bool {
        self.iter().any(Algorithm::is_symmetric)
    }

    /// Whether any algorithm of the set is asymmetric.
    pub fn has_asymmetric(self) -> bool {
        self.iter().any(|alg| !alg.is_symmetric())
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgorithmSet::EMPTY;
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

impl<const N: usize> From<[Algorithm; N]> for AlgorithmSet {
    fn from(algs: [Algorithm; N]) -> Self {
        algs.into_iter().collect()
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alg) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(alg.name())?;
        }
        Ok(())
    }
}

impl FromStr for AlgorithmSet {
    type Err = UnknownAlgorithm;

    /// Parses a comma-separated list such as `"RS256, ES256"`.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::parse::<Algorithm>).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(alg.name().parse::<Algorithm>(), Ok(alg));
        }
        assert_eq!(Algorithm::from_name("rs256"), None);
        assert_eq!(Algorithm::from_name("none"), None);
        assert_eq!(Algorithm::from_name("None"), None);
    }

    #[test]
    fn sets_parse_lists_and_refuse_unknown_names() {
        let set: AlgorithmSet = "RS256, ES256,,EdDSA".parse().unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]);
        assert_eq!(set.to_string(), "RS256 ES256 EdDSA");
        assert!(!set.has_symmetric());
        assert_eq!("RS256,none".parse::<AlgorithmSet>(), Err(UnknownAlgorithm("none".into())));
        assert!(AlgorithmSet::ASYMMETRIC.has_asymmetric() && !AlgorithmSet::ASYMMETRIC.has_symmetric());
    }
}
