//! Placeholder: the JWK Set fetcher arrives with its issue.
#![forbid(unsafe_code)]
