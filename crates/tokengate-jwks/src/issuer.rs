//! [`IssuerDiscovery`]: an issuer and its keys from one URL, written once.

use tokengate_core::Issuer;

use crate::builder::JwksBuilder;
use crate::error::JwksBuildError;
use crate::source::JwksSource;

/// `Issuer::discover(iss)`: an [`Issuer`] trusting `iss` whose keys are
/// found by discovery from that same URL ([`JwksSource::discover`]), so the
/// issuer is written once. Bring the trait into scope to use it.
///
/// ```no_run
/// use tokengate_core::{Algorithm, Issuer, Validator};
/// use tokengate_jwks::IssuerDiscovery as _;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let validator = Validator::builder()
///     .issuer(
///         Issuer::discover("https://auth.example.com/")?
///             .audience("https://api.example.com")
///             .algorithms([Algorithm::RS256]),
///     )
///     .build()?;
/// validator.warm_up().await?; // optional: fail at start-up when the keys cannot be had
/// # Ok(()) }
/// ```
pub trait IssuerDiscovery: Sized {
    /// The issuer `iss`, keys by discovery with the default settings. Must be
    /// called inside a Tokio runtime (the first fetch starts at once).
    fn discover(iss: &str) -> Result<Self, JwksBuildError> {
        Self::discover_with(iss, |keys| keys)
    }

    /// The same, with `configure` applied to the key source's settings
    /// (for example `|keys| keys.allow_http_loopback(true)` in tests).
    fn discover_with(
        iss: &str,
        configure: impl FnOnce(JwksBuilder) -> JwksBuilder,
    ) -> Result<Self, JwksBuildError>;
}

impl IssuerDiscovery for Issuer {
    fn discover_with(
        iss: &str,
        configure: impl FnOnce(JwksBuilder) -> JwksBuilder,
    ) -> Result<Issuer, JwksBuildError> {
        let keys = configure(JwksSource::discover(iss)).build()?;
        Ok(Issuer::new(iss).key_source(keys))
    }
}
