//! The demo servers' configuration, from `TOKENGATE_*` environment variables
//! (the table of `docs/demo-servers.md`).

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use tokengate_core::{AlgorithmSet, MAX_LEEWAY};
use url::{Host, Url};

/// The allow-list used when `TOKENGATE_ALGORITHMS` is unset.
pub const DEFAULT_ALGORITHMS: &str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,EdDSA";
/// The listen address used when `TOKENGATE_ADDR` is unset.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// A configuration the server refuses to start with; its `Display` is the one
/// line printed on stderr before exiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn error(message: impl Into<String>) -> ConfigError {
    ConfigError(message.into())
}

/// Which issuer the server trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// None of `TOKENGATE_ISSUER`, `TOKENGATE_AUDIENCE`, `TOKENGATE_JWKS_URL`
    /// is set: start the built-in demo issuer and trust it.
    Demo,
    /// A real issuer.
    Issuer {
        /// `TOKENGATE_ISSUER`: the expected `iss`, compared exactly.
        issuer: String,
        /// `TOKENGATE_AUDIENCE`: the expected `aud`.
        audience: String,
        /// `TOKENGATE_JWKS_URL`; `None`: discovery from the issuer.
        jwks_url: Option<Url>,
    },
}

/// Everything the demo servers read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `TOKENGATE_ADDR`.
    pub addr: SocketAddr,
    /// `TOKENGATE_ISSUER`, `TOKENGATE_AUDIENCE`, `TOKENGATE_JWKS_URL`.
    pub trust: Trust,
    /// `TOKENGATE_ALGORITHMS`.
    pub algorithms: AlgorithmSet,
    /// `TOKENGATE_LEEWAY_SECS`.
    pub leeway: Duration,
    /// `TOKENGATE_JWKS_COOLDOWN_SECS`.
    pub jwks_cooldown: Duration,
    /// `TOKENGATE_JWKS_REFRESH_SECS`.
    pub jwks_refresh: Duration,
    /// `TOKENGATE_INSECURE_HTTP=1`: `http://` allowed for loopback hosts.
    pub insecure_http: bool,
    /// `TOKENGATE_REDIS_URL`: one `redis://` or `rediss://` URL, or several
    /// separated by commas (the seeds of a Redis Cluster), as given.
    pub redis_url: Option<String>,
    /// `TOKENGATE_REDIS_CA`: the PEM file of the CA that signs the Redis
    /// server's certificate (with `rediss://`); `None`: the system's roots.
    pub redis_ca: Option<PathBuf>,
    /// `TOKENGATE_LOG` (tracing `EnvFilter` syntax).
    pub log: String,
    /// `TOKENGATE_DPOP=1`: DPoP (RFC 9449) on every protected route.
    pub dpop: bool,
    /// `TOKENGATE_PUBLIC_URL`; `None`: `http://ADDR` as bound.
    pub public_url: Option<Url>,
    /// `TOKENGATE_DPOP_WINDOW_SECS`.
    pub dpop_window: Duration,
    /// `TOKENGATE_RESOURCE`; `None`: the audience.
    pub resource: Option<String>,
    /// `TOKENGATE_TOKEN_CACHE`: how many verified tokens the verified-token
    /// cache keeps (`Some(0)`: no cache); `None`: the library's default.
    pub token_cache: Option<u64>,
    /// `TOKENGATE_INTROSPECTION_URL` and its companions; `None`: opaque
    /// tokens are `invalid_token`.
    pub introspection: Option<IntrospectionConfig>,
}

/// Opaque tokens: where to introspect them (RFC 7662) and how.
#[derive(Clone, PartialEq, Eq)]
pub struct IntrospectionConfig {
    /// `TOKENGATE_INTROSPECTION_URL`.
    pub url: Url,
    /// `TOKENGATE_CLIENT_ID`.
    pub client_id: String,
    /// `TOKENGATE_CLIENT_SECRET` (`client_secret_basic`); never printed.
    pub client_secret: String,
    /// `TOKENGATE_INTROSPECT_ALL=1`: JWTs are introspected too.
    pub all_tokens: bool,
    /// `TOKENGATE_INTROSPECTION_CACHE_SECS`: longest reuse of an answer.
    pub cache: Duration,
}

impl fmt::Debug for IntrospectionConfig {
    /// Everything but the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("all_tokens", &self.all_tokens)
            .field("cache", &self.cache)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map). An empty
    /// value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let addr = var("TOKENGATE_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = parse_addr(&addr)?;
        let insecure_http = flag(&var, "TOKENGATE_INSECURE_HTTP")?;

        let (issuer, audience, jwks_url) =
            (var("TOKENGATE_ISSUER"), var("TOKENGATE_AUDIENCE"), var("TOKENGATE_JWKS_URL"));
        let trust = match (issuer, audience, jwks_url) {
            (None, None, None) => Trust::Demo,
            (None, _, _) => {
                return Err(error(
                    "TOKENGATE_ISSUER is required when TOKENGATE_AUDIENCE or TOKENGATE_JWKS_URL is set \
                     (leave all three unset for the built-in demo issuer)",
                ));
            }
            (Some(_), None, _) => {
                return Err(error(
                    "TOKENGATE_AUDIENCE is required when TOKENGATE_ISSUER is set \
                     (leave all three unset for the built-in demo issuer)",
                ));
            }
            (Some(issuer), Some(audience), jwks_url) => {
                let jwks_url = match jwks_url {
                    Some(url) => Some(fetchable_url("TOKENGATE_JWKS_URL", &url, insecure_http)?),
                    None => {
                        fetchable_url(
                            "TOKENGATE_ISSUER (used for discovery, since TOKENGATE_JWKS_URL is unset)",
                            &issuer,
                            insecure_http,
                        )?;
                        None
                    }
                };
                Trust::Issuer { issuer, audience, jwks_url }
            }
        };

        let algorithms_text = var("TOKENGATE_ALGORITHMS").unwrap_or_else(|| DEFAULT_ALGORITHMS.to_owned());
        let algorithms: AlgorithmSet =
            algorithms_text.parse().map_err(|e| error(format!("TOKENGATE_ALGORITHMS: {e}")))?;
        if algorithms.is_empty() {
            return Err(error("TOKENGATE_ALGORITHMS lists no algorithm"));
        }
        if algorithms.has_symmetric() {
            return Err(error(
                "TOKENGATE_ALGORITHMS: HS256/HS384/HS512 cannot be used, keys come from a JWK Set, which never holds shared secrets",
            ));
        }

        let leeway = seconds(&var, "TOKENGATE_LEEWAY_SECS", 30)?;
        if leeway > MAX_LEEWAY {
            return Err(error(format!(
                "TOKENGATE_LEEWAY_SECS must be at most {} seconds",
                MAX_LEEWAY.as_secs()
            )));
        }
        let jwks_cooldown = seconds(&var, "TOKENGATE_JWKS_COOLDOWN_SECS", 30)?;
        let jwks_refresh = seconds(&var, "TOKENGATE_JWKS_REFRESH_SECS", 300)?;
        if jwks_refresh.is_zero() {
            return Err(error("TOKENGATE_JWKS_REFRESH_SECS must be at least 1"));
        }

        let redis_url = var("TOKENGATE_REDIS_URL").map(|text| redis_urls(&text)).transpose()?;
        let redis_ca = var("TOKENGATE_REDIS_CA").map(PathBuf::from);
        if let Some(ca) = &redis_ca {
            if !redis_url.as_deref().is_some_and(|urls| urls.starts_with("rediss://")) {
                return Err(error("TOKENGATE_REDIS_CA needs a rediss:// (TLS) TOKENGATE_REDIS_URL"));
            }
            std::fs::metadata(ca)
                .map_err(|e| error(format!("TOKENGATE_REDIS_CA `{}` cannot be read: {e}", ca.display())))?;
        }

        let log = var("TOKENGATE_LOG").unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::try_new(&log)
            .map_err(|e| error(format!("TOKENGATE_LOG is not a valid log filter: {e}")))?;

        let public_url = var("TOKENGATE_PUBLIC_URL")
            .map(|text| {
                let url = Url::parse(&text)
                    .map_err(|e| error(format!("TOKENGATE_PUBLIC_URL is not a URL: {e}")))?;
                match url.scheme() {
                    "http" | "https" => Ok(url),
                    other => Err(error(format!(
                        "TOKENGATE_PUBLIC_URL must be http:// or https://, not {other}://"
                    ))),
                }
            })
            .transpose()?;

        let dpop_window = seconds(&var, "TOKENGATE_DPOP_WINDOW_SECS", 60)?;
        if dpop_window.is_zero() {
            return Err(error("TOKENGATE_DPOP_WINDOW_SECS must be at least 1"));
        }

        let introspection = introspection(&var, insecure_http)?;

        let token_cache = var("TOKENGATE_TOKEN_CACHE")
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    error(format!("TOKENGATE_TOKEN_CACHE must be a whole number of tokens, not `{text}`"))
                })
            })
            .transpose()?;

        Ok(Config {
            addr,
            trust,
            algorithms,
            leeway,
            jwks_cooldown,
            jwks_refresh,
            insecure_http,
            redis_url,
            redis_ca,
            log,
            dpop: flag(&var, "TOKENGATE_DPOP")?,
            public_url,
            dpop_window,
            resource: var("TOKENGATE_RESOURCE"),
            token_cache,
            introspection,
        })
    }
}

/// `TOKENGATE_INTROSPECTION_URL` with `TOKENGATE_CLIENT_ID` and
/// `TOKENGATE_CLIENT_SECRET` (required with it), `TOKENGATE_INTROSPECT_ALL`
/// and `TOKENGATE_INTROSPECTION_CACHE_SECS` (meaningless without it, so
/// refused without it).
fn introspection(
    var: &impl Fn(&str) -> Option<String>,
    insecure_http: bool,
) -> Result<Option<IntrospectionConfig>, ConfigError> {
    const COMPANIONS: [&str; 4] = [
        "TOKENGATE_CLIENT_ID",
        "TOKENGATE_CLIENT_SECRET",
        "TOKENGATE_INTROSPECT_ALL",
        "TOKENGATE_INTROSPECTION_CACHE_SECS",
    ];
    let Some(url) = var("TOKENGATE_INTROSPECTION_URL") else {
        return match COMPANIONS.iter().find(|name| var(name).is_some()) {
            Some(name) => Err(error(format!("{name} is set but TOKENGATE_INTROSPECTION_URL is not"))),
            None => Ok(None),
        };
    };
    let url = fetchable_url("TOKENGATE_INTROSPECTION_URL", &url, insecure_http)?;
    let (Some(client_id), Some(client_secret)) = (var("TOKENGATE_CLIENT_ID"), var("TOKENGATE_CLIENT_SECRET"))
    else {
        return Err(error(
            "TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET are required with TOKENGATE_INTROSPECTION_URL \
             (the server's own credentials at the introspection endpoint)",
        ));
    };
    Ok(Some(IntrospectionConfig {
        url,
        client_id,
        client_secret,
        all_tokens: flag(var, "TOKENGATE_INTROSPECT_ALL")?,
        cache: seconds(var, "TOKENGATE_INTROSPECTION_CACHE_SECS", 30)?,
    }))
}

/// `TOKENGATE_REDIS_URL`: one URL, or a comma-separated list of cluster
/// seeds, each `redis://` or `rediss://` (all the same).
fn redis_urls(text: &str) -> Result<String, ConfigError> {
    let mut schemes = Vec::new();
    for part in text.split(',').map(str::trim) {
        let url = Url::parse(part)
            .map_err(|e| error(format!("TOKENGATE_REDIS_URL: `{part}` is not a URL: {e}")))?;
        match url.scheme() {
            "redis" | "rediss" => schemes.push(url.scheme().to_owned()),
            other => {
                return Err(error(format!(
                    "TOKENGATE_REDIS_URL must use redis:// or rediss://, not {other}://"
                )));
            }
        }
    }
    if schemes.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(error("TOKENGATE_REDIS_URL mixes redis:// and rediss:// seeds"));
    }
    Ok(text.to_owned())
}

fn parse_addr(text: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let bad = || error(format!("TOKENGATE_ADDR `{text}` is not a listen address such as 127.0.0.1:3000"));
    text.to_socket_addrs().map_err(|_| bad())?.next().ok_or_else(bad)
}

fn flag(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<bool, ConfigError> {
    match var(name).as_deref() {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(error(format!("{name} must be 1 or 0, not `{other}`"))),
    }
}

fn seconds(var: &impl Fn(&str) -> Option<String>, name: &str, default: u64) -> Result<Duration, ConfigError> {
    match var(name) {
        None => Ok(Duration::from_secs(default)),
        Some(text) => text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| error(format!("{name} must be a whole number of seconds, not `{text}`"))),
    }
}

/// A URL the server may fetch keys or discovery documents from: `https://`,
/// or `http://` on a loopback host when `insecure_http` is on.
fn fetchable_url(name: &str, text: &str, insecure_http: bool) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| error(format!("{name} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if insecure_http && is_loopback(&url) => Ok(url),
        "http" if insecure_http => Err(error(format!(
            "{name}: http:// is allowed for loopback hosts only (127.0.0.1, ::1, localhost), even with TOKENGATE_INSECURE_HTTP=1"
        ))),
        "http" => Err(error(format!(
            "{name} must be an https:// URL (TOKENGATE_INSECURE_HTTP=1 allows http:// on loopback hosts, for tests and demos)"
        ))),
        other => Err(error(format!("{name} must be an https:// URL, not {other}://"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_is_demo_mode_with_the_defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.trust, Trust::Demo);
        assert_eq!(config.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.algorithms, DEFAULT_ALGORITHMS.parse().unwrap());
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert_eq!(config.jwks_cooldown, Duration::from_secs(30));
        assert_eq!(config.jwks_refresh, Duration::from_secs(300));
        assert!(!config.insecure_http && !config.dpop);
        assert_eq!(config.log, "info");
    }

    #[test]
    fn issuer_and_audience_go_together() {
        let err = parse(&[("TOKENGATE_AUDIENCE", "api")]).unwrap_err();
        assert!(err.to_string().contains("TOKENGATE_ISSUER is required"), "{err}");
        let err = parse(&[("TOKENGATE_ISSUER", "https://issuer.example")]).unwrap_err();
        assert!(err.to_string().contains("TOKENGATE_AUDIENCE is required"), "{err}");
        let ok =
            parse(&[("TOKENGATE_ISSUER", "https://issuer.example"), ("TOKENGATE_AUDIENCE", "api")]).unwrap();
        assert_eq!(
            ok.trust,
            Trust::Issuer { issuer: "https://issuer.example".into(), audience: "api".into(), jwks_url: None }
        );
    }

    #[test]
    fn urls_are_https_unless_loopback_and_insecure() {
        let base = [("TOKENGATE_ISSUER", "https://issuer.example"), ("TOKENGATE_AUDIENCE", "api")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            parse(&vars)
        };
        assert!(with(&[("TOKENGATE_JWKS_URL", "http://127.0.0.1:1/jwks")]).is_err());
        assert!(
            with(&[("TOKENGATE_JWKS_URL", "http://127.0.0.1:1/jwks"), ("TOKENGATE_INSECURE_HTTP", "1")])
                .is_ok()
        );
        assert!(
            with(&[("TOKENGATE_JWKS_URL", "http://example.com/jwks"), ("TOKENGATE_INSECURE_HTTP", "1")])
                .is_err()
        );
        assert!(with(&[("TOKENGATE_JWKS_URL", "not a url")]).is_err());
        assert!(
            parse(&[("TOKENGATE_ISSUER", "http://issuer.example"), ("TOKENGATE_AUDIENCE", "api")]).is_err()
        );
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for vars in [
            &[("TOKENGATE_ALGORITHMS", "RS256,none")][..],
            &[("TOKENGATE_ALGORITHMS", "HS256")],
            &[("TOKENGATE_ALGORITHMS", " , ")],
            &[("TOKENGATE_LEEWAY_SECS", "301")],
            &[("TOKENGATE_LEEWAY_SECS", "-1")],
            &[("TOKENGATE_JWKS_REFRESH_SECS", "0")],
            &[("TOKENGATE_ADDR", "nowhere")],
            &[("TOKENGATE_INSECURE_HTTP", "yes")],
            &[("TOKENGATE_REDIS_URL", "http://x")],
            &[("TOKENGATE_REDIS_URL", "redis://a:1,rediss://b:2")],
            &[("TOKENGATE_REDIS_URL", "redis://a:1"), ("TOKENGATE_REDIS_CA", "/etc/hosts")],
            &[("TOKENGATE_REDIS_URL", "rediss://a:1"), ("TOKENGATE_REDIS_CA", "/nonexistent/ca.pem")],
            &[("TOKENGATE_LOG", "info,[[[")],
            &[("TOKENGATE_PUBLIC_URL", "ftp://x")],
            &[("TOKENGATE_INTROSPECTION_URL", "https://as.example/introspect")],
            &[("TOKENGATE_CLIENT_ID", "api"), ("TOKENGATE_CLIENT_SECRET", "s")],
        ] {
            let err = parse(vars).unwrap_err().to_string();
            assert!(!err.contains('\n') && err.starts_with("configuration error: "), "{vars:?}: {err}");
        }
    }

    #[test]
    fn the_token_cache_size_is_a_count_of_tokens() {
        assert_eq!(parse(&[]).unwrap().token_cache, None, "the library's default");
        assert_eq!(parse(&[("TOKENGATE_TOKEN_CACHE", "0")]).unwrap().token_cache, Some(0), "off");
        assert_eq!(parse(&[("TOKENGATE_TOKEN_CACHE", "50000")]).unwrap().token_cache, Some(50_000));
        for bad in ["-1", "ten", "1e3"] {
            let err = parse(&[("TOKENGATE_TOKEN_CACHE", bad)]).unwrap_err().to_string();
            assert!(err.contains("TOKENGATE_TOKEN_CACHE must be a whole number of tokens"), "{bad}: {err}");
        }
    }

    fn with_introspection(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut vars = vec![
            ("TOKENGATE_INTROSPECTION_URL", "https://as.example/oauth2/introspect"),
            ("TOKENGATE_CLIENT_ID", "my-api"),
            ("TOKENGATE_CLIENT_SECRET", "s3cret-value"),
        ];
        vars.extend_from_slice(extra);
        parse(&vars)
    }

    #[test]
    fn introspection_is_off_by_default_and_configured_by_its_url() {
        assert_eq!(parse(&[]).unwrap().introspection, None);
        let config = with_introspection(&[]).unwrap().introspection.unwrap();
        assert_eq!(config.url.as_str(), "https://as.example/oauth2/introspect");
        assert_eq!((config.client_id.as_str(), config.client_secret.as_str()), ("my-api", "s3cret-value"));
        assert!(!config.all_tokens);
        assert_eq!(config.cache, Duration::from_secs(30));
        let config = with_introspection(&[
            ("TOKENGATE_INTROSPECT_ALL", "1"),
            ("TOKENGATE_INTROSPECTION_CACHE_SECS", "0"),
        ])
        .unwrap()
        .introspection
        .unwrap();
        assert!(config.all_tokens);
        assert_eq!(config.cache, Duration::ZERO);
        // The secret is never printed.
        let debug = format!("{:?}", with_introspection(&[]).unwrap());
        assert!(!debug.contains("s3cret-value") && debug.contains("my-api"), "{debug}");
    }

    #[test]
    fn introspection_errors_are_one_line() {
        let cases: [(&[(&str, &str)], &str); 8] = [
            (
                &[("TOKENGATE_CLIENT_SECRET", "")],
                "TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET are required",
            ),
            (&[("TOKENGATE_CLIENT_ID", " ")], "TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET are required"),
            (&[("TOKENGATE_INTROSPECT_ALL", "yes")], "TOKENGATE_INTROSPECT_ALL must be 1 or 0"),
            (
                &[("TOKENGATE_INTROSPECTION_CACHE_SECS", "-5")],
                "TOKENGATE_INTROSPECTION_CACHE_SECS must be a whole",
            ),
            (
                &[("TOKENGATE_INTROSPECTION_URL", "http://as.example/i")],
                "TOKENGATE_INTROSPECTION_URL must be an https://",
            ),
            (
                &[("TOKENGATE_INTROSPECTION_URL", "http://as.example/i"), ("TOKENGATE_INSECURE_HTTP", "1")],
                "loopback hosts only",
            ),
            (&[("TOKENGATE_INTROSPECTION_URL", "not a url")], "TOKENGATE_INTROSPECTION_URL is not a URL"),
            (&[("TOKENGATE_INTROSPECTION_URL", "ftp://as.example/i")], "must be an https:// URL, not ftp://"),
        ];
        for (extra, expected) in cases {
            let err = with_introspection(extra).unwrap_err().to_string();
            assert!(!err.contains('\n') && err.starts_with("configuration error: "), "{extra:?}: {err}");
            assert!(err.contains(expected), "{extra:?}: {err}");
            assert!(!err.contains("s3cret-value"), "{err}");
        }
        // Companions without the URL are a mistake, not silently ignored.
        for name in ["TOKENGATE_CLIENT_ID", "TOKENGATE_INTROSPECT_ALL", "TOKENGATE_INTROSPECTION_CACHE_SECS"]
        {
            let err = parse(&[(name, "1")]).unwrap_err().to_string();
            assert!(err.contains("TOKENGATE_INTROSPECTION_URL is not"), "{name}: {err}");
        }
        // Loopback http with TOKENGATE_INSECURE_HTTP=1.
        let ok = with_introspection(&[
            ("TOKENGATE_INTROSPECTION_URL", "http://127.0.0.1:9/introspect"),
            ("TOKENGATE_INSECURE_HTTP", "1"),
        ]);
        assert!(ok.is_ok(), "{ok:?}");
    }
}
