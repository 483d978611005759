//! One trusted issuer: its keys, audiences and rules ([`Issuer`], as
//! configured), and the same issuer resolved by `build()` ([`TrustedIssuer`]),
//! which applies the rules to every token it signs.

mod trusted;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::trusted::Origin;
pub use self::trusted::TrustedIssuer;
use crate::algorithm::AlgorithmSet;
use crate::dpop::DpopPolicy;
use crate::introspection::{IntrospectionPolicy, Introspector};
use crate::keys::{KeySet, KeySource, StaticKeys};
use crate::parse::claims::ClaimsView;
use crate::store::SingleUse;

/// The default clock-skew leeway for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway [`Issuer::leeway`] accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The longest lifetime a token is accepted with unless configured otherwise
/// ([`Issuer::max_lifetime`]): one day, as long as the longest-lived access
/// tokens of the common identity providers. Revocations are kept for this
/// long plus twice the leeway.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A custom claims check: `Err(text)` refuses the token as `invalid_token`
/// with `text` as its `error_description` (so never put claim values in it).
pub type ClaimCheck = Arc<dyn Fn(&ClaimsView<'_>) -> Result<(), Cow<'static, str>> + Send + Sync>;

/// Which `typ` header values a token may carry (RFC 7515 §4.1.9, RFC 9068 §2.1).
///
/// Compared case-insensitively, with or without the `application/` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenTypes {
    allow_absent: bool,
    /// Lower case, without `application/`.
    allowed: Vec<String>,
}

impl Default for TokenTypes {
    /// Absent, `JWT`, `at+jwt` or `application/at+jwt`.
    fn default() -> Self {
        TokenTypes { allow_absent: true, allowed: vec!["jwt".into(), "at+jwt".into()] }
    }
}

impl TokenTypes {
    /// RFC 9068 access tokens only: `typ` must be `at+jwt` (or `application/at+jwt`).
    /// This stops ID tokens and other JWTs of the same issuer from being used as access tokens.
    pub fn access_tokens_only() -> Self {
        TokenTypes { allow_absent: false, allowed: vec!["at+jwt".into()] }
    }

    /// Also accepts the explicit type `typ` (e.g. a provider's own media type).
    pub fn also(mut self, typ: &str) -> Self {
        self.allowed.push(normalise(typ));
        self
    }

    pub(crate) fn allows(&self, typ: Option<&str>) -> bool {
        match typ {
            None => self.allow_absent,
            Some(typ) => {
                let typ = typ.strip_prefix_ignore_case("application/");
                self.allowed.iter().any(|allowed| allowed.eq_ignore_ascii_case(typ))
            }
        }
    }
}

fn normalise(typ: &str) -> String {
    typ.strip_prefix_ignore_case("application/").to_ascii_lowercase()
}

trait StripPrefixIgnoreCase {
    fn strip_prefix_ignore_case(&self, prefix: &str) -> &str;
}

impl StripPrefixIgnoreCase for str {
    fn strip_prefix_ignore_case(&self, prefix: &str) -> &str {
        match self.get(..prefix.len()) {
            Some(head) if head.eq_ignore_ascii_case(prefix) => &self[prefix.len()..],
            _ => self,
        }
    }
}

/// An issuer the validator trusts, with everything that decides whether its
/// tokens are good for this API.
///
/// ```
/// use tokengate_core::{Algorithm, Issuer, Key, KeySet};
/// # let secret = [7u8; 32];
/// let issuer = Issuer::new("https://auth.example.com/")
///     .audience("https://api.example.com")
///     .algorithms([Algorithm::HS256])
///     .keys(KeySet::new([Key::hmac_secret(secret)?]));
/// # Ok::<(), tokengate_core::KeyError>(())
/// ```
#[derive(Clone)]
#[must_use = "an Issuer does nothing until given to ValidatorBuilder::issuer"]
pub struct Issuer {
    pub(crate) name: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) audience_waived: bool,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) keys: Option<Arc<dyn KeySource>>,
    /// What a fixed key set can verify, checked against `algorithms` at build.
    pub(crate) static_key_algorithms: Option<AlgorithmSet>,
    pub(crate) leeway: Duration,
    pub(crate) require_exp: bool,
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) token_types: TokenTypes,
    pub(crate) required_claims: Vec<String>,
    pub(crate) checks: Vec<ClaimCheck>,
    pub(crate) single_use: Option<SingleUse>,
    pub(crate) dpop: Option<DpopPolicy>,
    pub(crate) introspection: Option<Arc<dyn Introspector>>,
    pub(crate) introspection_policy: IntrospectionPolicy,
}

impl Issuer {
    /// Trusts tokens whose `iss` is exactly `issuer` (no normalisation: a
    /// trailing slash or a different letter case is another issuer).
    pub fn new(issuer: impl Into<String>) -> Self {
        Issuer::with_name(Some(issuer.into()))
    }

    /// **Waiver**: trusts the configured keys whatever `iss` a token carries,
    /// even none. Only for a validator with exactly one issuer, when the
    /// keys alone identify it.
    pub fn any_issuer() -> Self {
        Issuer::with_name(None)
    }

    fn with_name(name: Option<String>) -> Self {
        Issuer {
            name,
            audiences: Vec::new(),
            audience_waived: false,
            algorithms: AlgorithmSet::EMPTY,
            keys: None,
            static_key_algorithms: None,
            leeway: DEFAULT_LEEWAY,
            require_exp: true,
            max_age: None,
            max_lifetime: Some(DEFAULT_MAX_LIFETIME),
            token_types: TokenTypes::default(),
            required_claims: Vec::new(),
            checks: Vec::new(),
            single_use: None,
            dpop: None,
            introspection: None,
            introspection_policy: IntrospectionPolicy::OpaqueTokens,
        }
    }

    /// Accepts tokens whose `aud` (a string, or an array) contains `audience`.
    /// May be called several times: any one of them is enough.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// **Waiver**: does not check `aud` at all. Only safe when this issuer
    /// mints tokens for this API alone.
    pub fn skip_audience_check(mut self) -> Self {
        self.audience_waived = true;
        self
    }

    /// The allow-list of signature algorithms. Required; a list that mixes
    /// symmetric (HS*) and asymmetric algorithms is refused at build time.
    pub fn algorithms(mut self, algorithms: impl Into<AlgorithmSet>) -> Self {
        self.algorithms = algorithms.into();
        self
    }

    /// Fixed keys.
    pub fn keys(self, keys: KeySet) -> Self {
        let algorithms = keys.algorithms();
        let mut issuer = self.key_source(StaticKeys::new(keys));
        issuer.static_key_algorithms = Some(algorithms);
        issuer
    }

    /// Keys from a source that may change them (e.g. a JWK Set fetched over HTTPS).
    pub fn key_source(self, source: impl KeySource) -> Self {
        self.shared_key_source(Arc::new(source))
    }

    /// Keys from a source shared with other issuers or validators.
    pub fn shared_key_source(mut self, source: Arc<dyn KeySource>) -> Self {
        self.keys = Some(source);
        self.static_key_algorithms = None;
        self
    }

    /// Opaque tokens of this issuer (not a compact JWS) are introspected at
    /// its authorization server (RFC 7662; `tokengate-introspect` provides
    /// the source): an answer counts only when `active` is `true`, and then
    /// meets this issuer's claim rules — `exp`, `nbf` and `iat` when present,
    /// `iss` (exact) and `aud` (containing the audience) when present,
    /// scopes, required claims, custom checks, revocation, single use, DPoP
    /// — and handlers receive the same `Verified<C>` as for a JWT. With
    /// introspection, keys are optional (without them, JWTs are introspected too).
    pub fn introspection(self, source: impl Introspector) -> Self {
        self.shared_introspection(Arc::new(source))
    }

    /// An introspection source shared with other issuers or validators.
    pub fn shared_introspection(mut self, source: Arc<dyn Introspector>) -> Self {
        self.introspection = Some(source);
        self
    }

    /// Which tokens are introspected (default: opaque ones only; JWTs of an
    /// issuer without keys are always introspected).
    pub fn introspect(mut self, policy: IntrospectionPolicy) -> Self {
        self.introspection_policy = policy;
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (default 30 s, at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// **Waiver**: accepts tokens without `exp` (they never expire). Off by
    /// default. Such a token has no lifetime to cap, so this needs
    /// [`Issuer::unbounded_lifetime`] as well (the build fails otherwise).
    pub fn allow_missing_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// Refuses tokens issued (`iat`) longer ago than `max_age`; `iat` becomes required.
    pub fn max_token_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The longest lifetime a token of this issuer is accepted with (default
    /// [`DEFAULT_MAX_LIFETIME`], one day): `exp - iat`, or, for a token
    /// without `iat`, what is left of it (`exp - now`). Longer-lived tokens
    /// are refused [`Error::LifetimeTooLong`](crate::Error::LifetimeTooLong).
    ///
    /// This bound is what lets a revocation be forgotten safely: revocations
    /// are kept for `max_lifetime` plus twice the leeway, by which time every
    /// token they name has expired. A token without `iat` cannot show when it
    /// was issued: one revoked while more than `max_lifetime` of its life
    /// remained could outlive its revocation — require `iat`
    /// ([`Issuer::require_claim`]) to close that gap.
    ///
    /// A longer cap accepts longer-lived tokens and keeps every revocation
    /// longer (more memory in the revocation store); see
    /// [`Issuer::unbounded_lifetime`] to remove it.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = Some(max_lifetime);
        self
    }

    /// **Waiver**: no lifetime cap at all. Then no revocation of this issuer
    /// can ever be forgotten safely, so revocations are kept forever (until
    /// the revocation store is full, when new ones are refused): prefer a
    /// generous [`Issuer::max_lifetime`].
    pub fn unbounded_lifetime(mut self) -> Self {
        self.max_lifetime = None;
        self
    }

    /// Which `typ` header values are accepted (default: absent, `JWT`, `at+jwt`).
    pub fn token_types(mut self, types: TokenTypes) -> Self {
        self.token_types = types;
        self
    }

    /// Refuses tokens without claim `name` (of any type).
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required_claims.push(name.into());
        self
    }

    /// Adds a custom check run on verified claims, after all built-in checks.
    ///
    /// ```
    /// use tokengate_core::Issuer;
    /// let issuer = Issuer::new("https://auth.example.com/").check(|claims| {
    ///     match claims.str("tenant").as_deref() {
    ///         Some("acme") => Ok(()),
    ///         _ => Err("the token is not for tenant acme".into()),
    ///     }
    /// });
    /// ```
    pub fn check<F>(mut self, check: F) -> Self
    where
        F: Fn(&ClaimsView<'_>) -> Result<(), Cow<'static, str>> + Send + Sync + 'static,
    {
        self.checks.push(Arc::new(check));
        self
    }

    /// Makes **every** token of this issuer single-use, on every route: its
    /// `jti` is accepted once and refused [`Error::Replayed`](crate::Error::Replayed)
    /// afterwards until it expires, in every validator sharing the
    /// [`ReplayStore`](crate::store::ReplayStore). `jti` and `exp` become required,
    /// and the lifetime (`exp - iat`, or without `iat` what is left of it) is
    /// capped by `policy`.
    ///
    /// The default is reusable until expiry. To make one route single-use
    /// (and check its scope before the token is spent), leave the issuer
    /// reusable and call [`Validator::use_once`](crate::Validator::use_once) on that route.
    pub fn single_use(mut self, policy: SingleUse) -> Self {
        self.single_use = Some(policy);
        self
    }

    /// This issuer's DPoP policy, instead of the validator's default
    /// ([`Dpop::policy`](crate::dpop::Dpop::policy)); only meaningful when
    /// the validator has DPoP ([`ValidatorBuilder::dpop`](crate::ValidatorBuilder::dpop)).
    pub fn dpop(mut self, policy: DpopPolicy) -> Self {
        self.dpop = Some(policy);
        self
    }

    /// The same rules for another issuer name (a tenant made from a template).
    pub(crate) fn renamed(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The trusted `iss`, or `None` for [`Issuer::any_issuer`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "(any issuer)".to_owned())
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("name", &self.name)
            .field("audiences", &self.audiences)
            .field("audience_waived", &self.audience_waived)
            .field("algorithms", &self.algorithms)
            .field("keys", &self.keys)
            .field("leeway", &self.leeway)
            .field("require_exp", &self.require_exp)
            .field("max_age", &self.max_age)
            .field("max_lifetime", &self.max_lifetime)
            .field("token_types", &self.token_types)
            .field("required_claims", &self.required_claims)
            .field("checks", &self.checks.len())
            .field("single_use", &self.single_use)
            .field("dpop", &self.dpop)
            .field("introspection", &self.introspection)
            .field("introspection_policy", &self.introspection_policy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_types() {
        let default = TokenTypes::default();
        for ok in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("at+jwt"),
            Some("application/at+JWT"),
            Some("Application/JWT"),
        ] {
            assert!(default.allows(ok), "{ok:?}");
        }
        for bad in
            [Some("dpop+jwt"), Some("id_token+jwt"), Some(""), Some("application/"), Some("logout+jwt")]
        {
            assert!(!default.allows(bad), "{bad:?}");
        }
        let strict = TokenTypes::access_tokens_only();
        assert!(strict.allows(Some("at+jwt")) && strict.allows(Some("application/at+jwt")));
        assert!(!strict.allows(None) && !strict.allows(Some("JWT")));
        assert!(TokenTypes::access_tokens_only().also("application/vnd.x+jwt").allows(Some("VND.X+JWT")));
    }
}
