//! The key layout: which Redis key holds what, and which keys share a
//! cluster hash slot.
//!
//! A Lua script may only touch keys of one hash slot in Redis Cluster, and a
//! multi-key `MGET` is one round trip only when its keys share a slot. The
//! layout therefore puts a hash tag (the text between the first `{` and the
//! next `}`) in every key:
//!
//! | key | holds | expires |
//! | --- | --- | --- |
//! | `<prefix>{u:NN}:use:<hex>` | a used single-use token (`1`) | with the token (`exp` + leeway) |
//! | `<prefix>{u:NN}:since` | group `NN`'s marker: tokens issued before it are refused | never |
//! | `<prefix>{u:NN}:seq` | group `NN`'s use counter (rollback detection) | never |
//! | `<prefix>{r:<issuer>}:revoked:jti:<hex>` | a revoked token (`1`) | when the token has expired |
//! | `<prefix>{r:<issuer>}:revoked:sub:<hex>` | a subject's cut-off (`iat` at or before it is revoked) | idem |
//! | `<prefix>{r:<issuer>}:revoked:iss:<hex>` | the issuer-wide cut-off | idem |
//! | `<prefix>{c:<hex>}:clients` | the clients that presented a token (a set of at most limit + 1 fingerprint hashes; token-sharing detection) | with the token |
//!
//! `<prefix>` stands for the configured prefix (default `tokengate:`), `NN`
//! for the use group in two hex digits (`00` to `0f`), `<hex>` for the
//! record's 128-bit [`RecordKey`] in 32 hex digits and `<issuer>` for the
//! first 8 hex digits of the issuer's revocation record key, so every
//! revocation of one issuer sits in one slot.

use std::fmt;

use tokengate_core::store::{RecordKey, RecordKind};

/// How many groups single-use records are spread over. Each group has its
/// own marker and counter, in its own hash slot, so a Redis Cluster spreads
/// the records over up to this many shards.
pub const USE_GROUPS: usize = 16;

/// Where this store's keys live; see [the key layout](crate#key-layout) and
/// `docs/redis.md`. Get it from [`RedisStore::layout`](crate::RedisStore::layout).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: String,
}

impl fmt::Debug for KeyLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLayout").field("prefix", &self.prefix).finish()
    }
}

impl KeyLayout {
    /// The layout under `prefix`, or why the prefix cannot be used: it must
    /// not contain `{` or `}`, which would change the keys' hash tags.
    pub(crate) fn new(prefix: String) -> Result<Self, String> {
        if prefix.contains(['{', '}']) {
            return Err(format!(
                "the key prefix {prefix:?} contains '{{' or '}}', which would change the keys' \
                 Redis Cluster hash tags: choose a prefix without braces"
            ));
        }
        Ok(KeyLayout { prefix })
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The group (`0..USE_GROUPS`) of a single-use record.
    pub fn use_group(&self, record: &RecordKey) -> usize {
        usize::from(record.as_bytes()[0]) % USE_GROUPS
    }

    /// The key of a single-use record: `<prefix>{u:NN}:use:<hex>`.
    pub fn use_record(&self, record: &RecordKey) -> String {
        format!("{}{{u:{:02x}}}:use:{}", self.prefix, self.use_group(record), record.to_hex())
    }

    /// The marker of use group `group`: `<prefix>{u:NN}:since`, whose value
    /// is the moment (seconds since the epoch) this group's records begin.
    ///
    /// # Panics
    ///
    /// If `group` is not below [`USE_GROUPS`].
    pub fn marker(&self, group: usize) -> String {
        assert!(group < USE_GROUPS, "use group {group} out of range");
        format!("{}{{u:{group:02x}}}:since", self.prefix)
    }

    /// The use counter of group `group`: `<prefix>{u:NN}:seq`, incremented
    /// by every use; a counter lower than one already seen means Redis went
    /// back in time.
    ///
    /// # Panics
    ///
    /// If `group` is not below [`USE_GROUPS`].
    pub fn counter(&self, group: usize) -> String {
        assert!(group < USE_GROUPS, "use group {group} out of range");
        format!("{}{{u:{group:02x}}}:seq", self.prefix)
    }

    /// The key of a token's sightings (token-sharing detection):
    /// `<prefix>{c:<hex>}:clients`, in a hash slot of its own.
    pub fn sightings(&self, record: &RecordKey) -> String {
        format!("{}{{c:{}}}:clients", self.prefix, record.to_hex())
    }

    /// The key of a revocation record of `issuer`:
    /// `<prefix>{r:<issuer>}:revoked:{jti|sub|iss}:<hex>`. For
    /// [`RecordKind::Use`] and [`RecordKind::DpopProof`] (both single-use
    /// records), the use record's key; for [`RecordKind::Sighting`], the
    /// sightings' key.
    pub fn revocation(&self, kind: RecordKind, issuer: &str, record: &RecordKey) -> String {
        let what = match kind {
            RecordKind::RevokedToken => "jti",
            RecordKind::RevokedSubject => "sub",
            RecordKind::RevokedIssuer => "iss",
            RecordKind::Sighting => return self.sightings(record),
            _ => return self.use_record(record),
        };
        self.revoked(&issuer_tag(&RecordKey::new(RecordKind::RevokedIssuer, issuer, "")), what, record)
    }

    /// The keys a presented token's revocation is checked against, all in
    /// its issuer's slot: the issuer-wide cut-off, the subject's cut-off
    /// (with a `sub`), the token's own (with a `jti`, always last). The
    /// issuer's record key, which also gives the hash tag, is hashed once.
    pub(crate) fn revocation_checks(
        &self,
        issuer: &str,
        subject: Option<&str>,
        token_id: Option<&str>,
    ) -> Vec<String> {
        let issuer_record = RecordKey::new(RecordKind::RevokedIssuer, issuer, "");
        let tag = issuer_tag(&issuer_record);
        let mut keys = Vec::with_capacity(3);
        keys.push(self.revoked(&tag, "iss", &issuer_record));
        if let Some(sub) = subject {
            keys.push(self.revoked(&tag, "sub", &RecordKey::new(RecordKind::RevokedSubject, issuer, sub)));
        }
        if let Some(jti) = token_id {
            keys.push(self.revoked(&tag, "jti", &RecordKey::new(RecordKind::RevokedToken, issuer, jti)));
        }
        keys
    }

    fn revoked(&self, tag: &str, what: &str, record: &RecordKey) -> String {
        format!("{}{{r:{tag}}}:revoked:{what}:{}", self.prefix, record.to_hex())
    }

    /// The key of the record of `kind` for `value` (a `jti`, a `sub`, or `""`
    /// for an issuer-wide cut-off) of `issuer`: the arguments of
    /// [`RecordKey::new`].
    pub fn key(&self, kind: RecordKind, issuer: &str, value: &str) -> String {
        self.revocation(kind, issuer, &RecordKey::new(kind, issuer, value))
    }
}

/// The hash tag of an issuer's revocations: the first 8 hex digits of its
/// issuer-wide record key.
fn issuer_tag(issuer_record: &RecordKey) -> String {
    let mut hex = issuer_record.to_hex();
    hex.truncate(8);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_group_or_issuer_share_a_hash_tag() {
        let layout = KeyLayout::new("tg:".to_owned()).unwrap();
        let record = RecordKey::new(RecordKind::Use, "https://iss/", "jti-1");
        let group = layout.use_group(&record);
        let tag = format!("{{u:{group:02x}}}");
        for key in [layout.use_record(&record), layout.marker(group), layout.counter(group)] {
            assert!(key.starts_with(&format!("tg:{tag}:")), "{key}");
        }
        assert_eq!(layout.use_record(&record), format!("tg:{tag}:use:{}", record.to_hex()));
        let tag = &RecordKey::new(RecordKind::RevokedIssuer, "https://iss/", "").to_hex()[..8];
        for (kind, value, what) in [
            (RecordKind::RevokedToken, "jti-1", "jti"),
            (RecordKind::RevokedSubject, "user", "sub"),
            (RecordKind::RevokedIssuer, "", "iss"),
        ] {
            let hex = RecordKey::new(kind, "https://iss/", value).to_hex();
            assert_eq!(
                layout.key(kind, "https://iss/", value),
                format!("tg:{{r:{tag}}}:revoked:{what}:{hex}")
            );
        }
    }

    #[test]
    fn records_spread_over_every_group() {
        let layout = KeyLayout::new(String::new()).unwrap();
        let mut seen = [false; USE_GROUPS];
        for i in 0..1000 {
            seen[layout.use_group(&RecordKey::new(RecordKind::Use, "i", &i.to_string()))] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn braces_in_the_prefix_are_refused() {
        for prefix in ["{a}:", "a{", "}"] {
            assert!(KeyLayout::new(prefix.to_owned()).is_err(), "{prefix}");
        }
    }
}
