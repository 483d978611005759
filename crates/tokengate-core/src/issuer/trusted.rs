//! An issuer as the validator holds it after `build()`: its configuration
//! checked once, its keys certain to exist, and the claim rules applied to
//! every token it signs.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::{Issuer, MAX_LEEWAY};
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::build_error::BuildError;
use crate::dpop::DpopPolicy;
use crate::error::Error;
use crate::introspection::{IntrospectionPolicy, Introspector};
use crate::keys::KeySource;
use crate::parse::claims::RawClaims;
use crate::store::SingleUse;
use crate::verified::TokenFacts;

/// A trusted issuer, as a built [`Validator`](crate::Validator) holds it.
///
/// Made from an [`Issuer`] by [`ValidatorBuilder::build`](crate::ValidatorBuilder::build),
/// which checks the configuration once; read-only afterwards.
pub struct TrustedIssuer {
    rules: Issuer,
    verification: Verification,
}

/// How an issuer's tokens are verified: never nothing.
enum Verification {
    /// JWTs with the issuer's keys; opaque tokens are refused.
    Keys(Arc<dyn KeySource>),
    /// Every token at the issuer's introspection endpoint.
    Introspection(Arc<dyn Introspector>),
    /// JWTs with the keys, opaque tokens by introspection.
    Both { keys: Arc<dyn KeySource>, introspection: Arc<dyn Introspector> },
}

impl TrustedIssuer {
    /// Checks `issuer`'s configuration and takes its key source.
    pub(crate) fn resolve(mut issuer: Issuer) -> Result<TrustedIssuer, BuildError> {
        if issuer.name.as_deref() == Some("") {
            return Err(BuildError::EmptyIssuer);
        }
        let name = issuer.display_name();
        if issuer.audiences.is_empty() && !issuer.audience_waived {
            return Err(BuildError::MissingAudience(name));
        }
        if issuer.audiences.iter().any(String::is_empty) {
            return Err(BuildError::EmptyAudience(name));
        }
        let verification = match (issuer.keys.take(), issuer.introspection.take()) {
            (None, None) => return Err(BuildError::MissingKeys(name)),
            (None, Some(introspection)) => Verification::Introspection(introspection),
            (Some(_), Some(introspection))
                if issuer.introspection_policy == IntrospectionPolicy::AllTokens =>
            {
                Verification::Introspection(introspection)
            }
            (Some(keys), introspection) => {
                check_algorithms(&issuer, &*keys, &name)?;
                match introspection {
                    Some(introspection) => Verification::Both { keys, introspection },
                    None => Verification::Keys(keys),
                }
            }
        };
        if issuer.leeway > MAX_LEEWAY {
            return Err(BuildError::LeewayTooLarge(name));
        }
        if !issuer.require_exp && issuer.max_lifetime.is_some() {
            return Err(BuildError::MissingExpWithLifetimeCap(name));
        }
        Ok(TrustedIssuer { rules: issuer, verification })
    }

    /// The trusted `iss`, or `None` for [`Issuer::any_issuer`].
    pub fn name(&self) -> Option<&str> {
        self.rules.name.as_deref()
    }

    /// The accepted audiences (empty when the check is waived).
    pub fn audiences(&self) -> &[String] {
        &self.rules.audiences
    }

    /// The algorithm allow-list.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.rules.algorithms
    }

    /// The clock-skew leeway.
    pub fn leeway(&self) -> std::time::Duration {
        self.rules.leeway
    }

    /// The longest accepted token lifetime; `None` when unbounded.
    pub fn max_lifetime(&self) -> Option<std::time::Duration> {
        self.rules.max_lifetime
    }

    /// The issuer name this issuer's single-use records and revocations are
    /// kept under: its `iss`, or `""` for [`Issuer::any_issuer`], whose
    /// tokens are one issuer's (its keys') whatever `iss` they carry.
    pub(crate) fn record_name(&self) -> &str {
        self.name().unwrap_or("")
    }

    /// Until when a revocation made `now` must be kept so that it outlives
    /// every token it names: the tokens issued (`iat`) at or before
    /// `cutoff` — for a single token, at or before now plus the leeway, as
    /// the issuer's clock may run ahead — expire by then under the lifetime
    /// cap, and so do the tokens without `iat` acceptable now. Forever
    /// (`u64::MAX`) without a cap.
    pub(crate) fn revocation_kept_until(&self, cutoff: Option<u64>, now: u64) -> u64 {
        let Some(max_lifetime) = self.rules.max_lifetime else { return u64::MAX };
        let leeway = self.rules.leeway.as_secs();
        let issued_by = cutoff.unwrap_or(now.saturating_add(leeway)).max(now);
        issued_by.saturating_add(max_lifetime.as_secs()).saturating_add(leeway)
    }

    /// The keys that verify this issuer's JWTs; `None` when its JWTs are
    /// introspected instead.
    pub(crate) fn keys(&self) -> Option<&dyn KeySource> {
        match &self.verification {
            Verification::Keys(keys) | Verification::Both { keys, .. } => Some(&**keys),
            Verification::Introspection(_) => None,
        }
    }

    /// The introspection source, for this issuer's opaque tokens (and its
    /// JWTs when [`TrustedIssuer::keys`] is `None`).
    pub(crate) fn introspector(&self) -> Option<&dyn Introspector> {
        match &self.verification {
            Verification::Introspection(introspection) | Verification::Both { introspection, .. } => {
                Some(&**introspection)
            }
            Verification::Keys(_) => None,
        }
    }

    pub(crate) fn rules(&self) -> &Issuer {
        &self.rules
    }

    pub(crate) fn single_use(&self) -> Option<&SingleUse> {
        self.rules.single_use.as_ref()
    }

    /// The issuer's own DPoP policy, if it sets one.
    pub(crate) fn dpop(&self) -> Option<DpopPolicy> {
        self.rules.dpop
    }

    /// Every claims rule of this issuer, in a fixed order: time, audience,
    /// required claims, types of the other registered claims, custom checks.
    pub(crate) fn check_claims(
        &self,
        claims: &RawClaims<'_>,
        now: u64,
        origin: Origin,
    ) -> Result<TokenFacts, Error> {
        let rules = &self.rules;
        let missing = |name: &'static str| Error::MissingClaim(Cow::Borrowed(name));
        // An introspection answer vouches for the token being active: `exp`
        // and `aud` are optional members there (RFC 7662 §2.2).
        let introspected = matches!(origin, Origin::Introspection);
        let leeway = rules.leeway.as_secs();
        let exp = claims.numeric_date("exp")?;
        let nbf = claims.numeric_date("nbf")?;
        let iat = claims.numeric_date("iat")?;
        let issuer = claims.string("iss")?;
        if introspected
            && let (Some(ours), Some(theirs)) = (self.name(), issuer.as_deref())
            && ours != theirs
        {
            return Err(Error::UntrustedIssuer);
        }

        // The first second at which the token is refused on time alone, by
        // `exp` and by its maximum age: decided here once, and kept in the
        // facts for whatever outlives this check (the token cache, sightings).
        let expires_from = match exp {
            None if rules.require_exp && !introspected => return Err(missing("exp")),
            None => u64::MAX,
            Some(exp) => exp.saturating_add(leeway),
        };
        if now >= expires_from {
            return Err(Error::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(Error::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(Error::IssuedInFuture);
        }
        let aged_from = match rules.max_age {
            None => u64::MAX,
            Some(max_age) => {
                let iat = iat.ok_or_else(|| missing("iat"))?;
                iat.saturating_add(max_age.as_secs()).saturating_add(leeway).saturating_add(1)
            }
        };
        if now >= aged_from {
            return Err(Error::TooOld);
        }
        // The cap revocations rely on: `exp - iat`, or, without `iat`, what is left.
        if let (Some(max_lifetime), Some(exp)) = (rules.max_lifetime, exp)
            && exp.saturating_sub(iat.unwrap_or(now)) > max_lifetime.as_secs()
        {
            return Err(Error::LifetimeTooLong);
        }

        // The type of `aud` is checked even when the audience check is waived.
        let audiences = claims.audiences()?;
        let unchecked = rules.audience_waived || (introspected && audiences.is_none());
        if !unchecked {
            let audiences = audiences.ok_or_else(|| missing("aud"))?;
            if !audiences.iter().any(|aud| rules.audiences.iter().any(|ours| ours == aud)) {
                return Err(Error::WrongAudience);
            }
        }
        if let Some(name) = rules.required_claims.iter().find(|name| !claims.contains(name)) {
            return Err(Error::MissingClaim(Cow::Owned(name.clone())));
        }
        let facts = TokenFacts {
            scopes: claims.scopes()?,
            issuer: issuer.map(Cow::into_owned),
            subject: claims.string("sub")?.map(Cow::into_owned),
            token_id: claims.string("jti")?.map(Cow::into_owned),
            client_id: claims.string("client_id")?.map(Cow::into_owned),
            expires_at: exp,
            issued_at: iat,
            refused_from: expires_from.min(aged_from),
            origin,
            bound_to: claims.confirmation_key()?,
        };
        let view = claims.view();
        for check in &rules.checks {
            check(&view).map_err(Error::ClaimCheckFailed)?;
        }
        Ok(facts)
    }
}

/// The algorithm rules of an issuer verifying JWTs with `keys`.
fn check_algorithms(issuer: &Issuer, keys: &dyn KeySource, name: &str) -> Result<(), BuildError> {
    let algorithms = issuer.algorithms;
    if algorithms.is_empty() {
        return Err(BuildError::NoAlgorithms(name.to_owned()));
    }
    if algorithms.has_symmetric() && algorithms.has_asymmetric() {
        return Err(BuildError::MixedAlgorithms(name.to_owned()));
    }
    if let Some(algorithm) = algorithms.iter().find(|alg| alg.is_symmetric())
        && !keys.provides_secrets()
    {
        return Err(BuildError::SymmetricWithoutSecret { issuer: name.to_owned(), algorithm });
    }
    if let Some(usable) = issuer.static_key_algorithms
        && let Some(algorithm) = algorithms.iter().find(|alg| !usable.contains(*alg))
    {
        return Err(BuildError::NoKeyForAlgorithm { issuer: name.to_owned(), algorithm });
    }
    Ok(())
}

/// Where a token's claims come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A JWT's claims set, verified with this key.
    Jwt { algorithm: Algorithm, key_id: Option<String> },
    /// An introspection answer (`active: true`).
    Introspection,
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (keys, introspection) = (self.keys().is_some(), self.introspector().is_some());
        f.debug_struct("TrustedIssuer")
            .field("rules", &self.rules)
            .field("keys", &keys)
            .field("introspection", &introspection)
            .finish()
    }
}
