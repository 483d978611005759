//! # tokengate-redis
//!
//! Single-use token records and revocations shared by a fleet through Redis,
//! for [tokengate](https://docs.rs/tokengate): with one [`RedisStore`] behind
//! every instance, a single-use token is accepted **once across all of
//! them**, and a revocation made through one holds on all.
//!
//! ```no_run
//! use tokengate_core::{Algorithm, Issuer, KeySet, Validator};
//! use tokengate_redis::RedisStore;
//!
//! # async fn demo(keys: KeySet) -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379/").key_prefix("payments:").connect().await?;
//! let validator = Validator::builder()
//!     .issuer(
//!         Issuer::new("https://auth.example.com/")
//!             .audience("https://api.example.com")
//!             .algorithms([Algorithm::ES256])
//!             .keys(keys),
//!     )
//!     .stores(store)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## Where Redis is
//!
//! - One node: [`RedisStore::builder`]`("redis://host:6379/")`, or
//!   `rediss://` for TLS, `unix:///run/redis.sock` for a socket.
//! - A Redis Cluster: [`RedisStore::builder_from_urls`]`(["redis://a:7000",
//!   "redis://b:7000"])` with some of its nodes as seeds.
//! - A master behind Redis Sentinel:
//!   [`RedisStore::builder_from_sentinels`]`(["redis://s1:26379"], "tokens")`;
//!   the master is asked again after a failure, so a failover is followed.
//! - From configuration: [`RedisStore::builder_from_list`]`("redis://a:7000,redis://b:7000")`:
//!   one URL is a single node, several are cluster seeds.
//! - TLS (`rediss://`): the server's certificate is checked against the
//!   system's trust store, or only against the CA given with
//!   [`ca_certificate_file`](RedisStoreBuilder::ca_certificate_file) /
//!   [`ca_certificate_pem`](RedisStoreBuilder::ca_certificate_pem); a client
//!   certificate (mutual TLS) with
//!   [`client_certificate_files`](RedisStoreBuilder::client_certificate_files).
//!   Certificates are read and checked at [`connect`](RedisStoreBuilder::connect);
//!   a CA that does not sign the server's certificate fails `connect` with
//!   [`ConnectError::Tls`]. rustls with aws-lc-rs does the TLS.
//!
//! ## What it guarantees
//!
//! - **Atomic single use**: a use is one Lua script around
//!   `SET key 1 NX PX ttl`; of any number of concurrent presentations, on any
//!   number of instances, exactly one is first.
//! - **Bounded records**: each record expires in Redis when its token does
//!   (`exp` + leeway). Keys are a configurable prefix and a 128-bit hash of
//!   issuer and `jti`/`sub`, never token text.
//! - **Fail closed**: when Redis cannot be reached or does not answer within
//!   the [timeout](RedisStoreBuilder::timeout) (every command, single node
//!   and cluster alike), tokens are refused with 503
//!   ([`Error::StoreUnavailable`](tokengate_core::Error::StoreUnavailable)),
//!   never accepted; a reply lost after Redis recorded a use spends the token
//!   without accepting it. Connections are re-established by themselves
//!   (cluster: `MOVED`/`ASK` followed, the slot map refreshed), and service
//!   resumes when Redis returns, without rebuilding the validator.
//! - **Lost data is noticed**, see below.
//!
//! ## Key layout
//!
//! Every key carries a cluster hash tag (`{…}`), so that the keys one script
//! or one `MGET` touches share a hash slot; the layout is the same on a
//! single node. `<prefix>` is the [key prefix](RedisStoreBuilder::key_prefix)
//! (default `tokengate:`), `NN` one of [`USE_GROUPS`] groups in two hex
//! digits, `<hex>` the record's 128-bit
//! [`RecordKey`](tokengate_core::store::RecordKey), `<issuer>` 8 hex digits
//! of a hash of the issuer:
//!
//! | key | holds | expires |
//! | --- | --- | --- |
//! | `<prefix>{u:NN}:use:<hex>` | a used single-use token | with the token (`exp` + leeway) |
//! | `<prefix>{u:NN}:since` | group `NN`'s marker: tokens issued (`iat`) before it are refused | never |
//! | `<prefix>{u:NN}:seq` | group `NN`'s use counter | never |
//! | `<prefix>{r:<issuer>}:revoked:jti:<hex>` | a revoked token | when the token has expired |
//! | `<prefix>{r:<issuer>}:revoked:sub:<hex>` | a subject's revocation cut-off | idem |
//! | `<prefix>{r:<issuer>}:revoked:iss:<hex>` | the issuer-wide cut-off | idem, or never |
//!
//! Single-use records spread over the 16 groups (so over up to 16 cluster
//! shards); all revocations of one issuer share a slot, so the revocation
//! check is one `MGET` round trip. [`RedisStore::key`] and
//! [`RedisStore::layout`] name the keys.
//!
//! ## Lost data and rollbacks
//!
//! Redis can lose writes it acknowledged: a restart without persistence, a
//! restart from an older RDB snapshot, a failover to a replica that had not
//! received the latest writes, `FLUSHALL`. A lost use record would let a
//! replay through, so the store watches for it, per use group:
//!
//! - the group's **marker** (`since`) is set at [connect](RedisStoreBuilder::connect)
//!   to now unless it is set; tokens issued before it are refused
//!   ([`UseOutcome::IssuedBeforeRecords`](tokengate_core::store::UseOutcome::IssuedBeforeRecords),
//!   401 [`Error::PossiblyReplayed`](tokengate_core::Error::PossiblyReplayed));
//! - every use increments the group's **counter** in the same script, and
//!   each [`RedisStore`] remembers the highest value it has seen. A counter
//!   that comes back not above that value means Redis went back in time; a
//!   marker missing while running means it lost everything. Either way the
//!   script moves the marker to *now +
//!   [clock skew allowance](RedisStoreBuilder::clock_skew_allowance)*
//!   (never back) and the counter past the seen value, and logs an error: a
//!   token used before the loss is refused rather than accepted again.
//!
//! What it cannot do:
//!
//! - **Revocations** lost in a rollback are not recovered (nor detected):
//!   use persistence (`appendonly yes`) if they must survive Redis.
//! - A store that **never saw** the lost uses cannot tell: a fleet restarted
//!   together with Redis (or an instance started after the loss) sees a
//!   consistent, older Redis. At connect, an absent marker is set to now
//!   without the allowance: a fresh Redis cannot be told from a flushed one
//!   then, so tokens used before a loss that went unnoticed until a restart
//!   of every instance are accepted once more (until they expire).
//! - Records lost while markers and counters survive (eviction, a `DEL`)
//!   go unnoticed: run Redis with `maxmemory-policy noeviction` (a full
//!   Redis then fails writes, which is a 503).
//!
//! `appendonly yes` with `appendfsync always` (no acknowledged write lost to
//! a crash) or `everysec` (at most about a second), and replication
//! acknowledged with `WAIT`, shrink the window this detection covers. See
//! `docs/redis.md` in the repository for production settings and sizing,
//! and `docs/single-use.md` for the single-use guide.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod connect;
mod connection;
mod keys;
mod scripts;
mod sentinel;
mod store;

pub use builder::{
    ConnectError, DEFAULT_CLOCK_SKEW_ALLOWANCE, DEFAULT_KEY_PREFIX, DEFAULT_RETRY_AFTER, DEFAULT_TIMEOUT,
    RedisStoreBuilder,
};
pub use keys::{KeyLayout, USE_GROUPS};
pub use store::RedisStore;
