//! Placeholder: the Tower layer arrives with its issue.
#![forbid(unsafe_code)]
