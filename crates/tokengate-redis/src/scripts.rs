//! The Lua scripts: each runs atomically on the server, and touches only
//! keys of one hash slot (see [`keys`](crate::keys)).

use redis::{ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind};

use crate::connection::Connection;

/// Records a use unless one exists, and detects lost data.
///
/// KEYS: the group's marker, the group's counter, the use record (without
/// it: only the check, for the sweep of the other groups after a detection).
/// ARGV: now (s), iat (s), record TTL (ms), highest counter value this
/// instance has seen for the group, clock skew allowance (s).
///
/// Returns `{outcome, counter, lost}`: outcome 0 first use, 1 already used,
/// 2 issued before the records begin (nothing recorded), 3 checked only;
/// the counter after this call; lost 1 when this call detected lost data.
///
/// Lost data is a missing marker (`FLUSHALL`, a restart without
/// persistence) or a counter that is not above the highest value this
/// instance saw (a restart from an older snapshot, a failover to a replica
/// that lagged). Then the marker moves to `now + allowance` (never back),
/// the counter above the seen value, and tokens issued before the marker
/// are refused: one used before the loss cannot be accepted again.
pub(crate) const USE: &str = r"
local now = tonumber(ARGV[1])
local seen = tonumber(ARGV[4])
local since = redis.call('GET', KEYS[1])
local counter = redis.call('INCR', KEYS[2])
local lost = 0
if (not since) or counter <= seen then
  lost = 1
  local cut = now + tonumber(ARGV[5])
  if (not since) or tonumber(since) < cut then
    redis.call('SET', KEYS[1], string.format('%d', cut))
    since = cut
  end
  if counter <= seen then
    counter = seen + 1
    redis.call('SET', KEYS[2], string.format('%d', counter))
  end
end
if #KEYS < 3 then return {3, counter, lost} end
if tonumber(ARGV[2]) < tonumber(since) then return {2, counter, lost} end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then return {0, counter, lost} end
return {1, counter, lost}
";

/// At connect: the records begin now unless they began earlier (a fresh or
/// flushed Redis vouches for no use before this moment); answers the
/// group's counter, the instance's starting "highest seen".
///
/// KEYS: the group's marker, the group's counter. ARGV: now (s).
pub(crate) const INIT: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return tonumber(redis.call('GET', KEYS[2]) or '0')
";

/// Records a client among a token's sightings, keeping at most `cap`.
///
/// KEYS: the token's sightings (a set). ARGV: the client's hash, cap, TTL
/// in ms (set with the first client: the token's life does not change).
/// Returns how many distinct clients presented the token, this one
/// included; `cap` for a new client once `cap` are held (not recorded).
pub(crate) const SIGHTING: &str = r"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return redis.call('SCARD', KEYS[1]) end
local held = redis.call('SCARD', KEYS[1])
local cap = tonumber(ARGV[2])
if held >= cap then return cap end
redis.call('SADD', KEYS[1], ARGV[1])
if held == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return held + 1
";

/// Sets a cut-off unless a later one is held.
///
/// KEYS: the cut-off. ARGV: cut-off (s), TTL in ms (`0`: kept forever).
/// Returns 1 when set, 0 when a later (or equal) one is held.
pub(crate) const CUTOFF: &str = r"
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
";

/// A script sent as `EVALSHA`, and as `EVAL` (which caches it on that node)
/// when the node answers `NOSCRIPT`. Unlike `redis::Script::invoke_async`,
/// this never sends `SCRIPT LOAD` to every node of a cluster, so one node
/// that is down or restarted does not stop scripts on the others.
pub(crate) struct LuaScript {
    script: Script,
    code: &'static str,
}

impl LuaScript {
    pub(crate) fn new(code: &'static str) -> Self {
        LuaScript { script: Script::new(code), code }
    }

    /// Runs the script; routed (in a cluster) by its first key.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        connection: &mut Connection,
        keys: &[&str],
        args: &[u64],
    ) -> RedisResult<T> {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(self.script.get_hash()).arg(keys.len()).arg(keys).arg(args);
        match evalsha.query_async(connection).await {
            Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                let mut eval = redis::cmd("EVAL");
                eval.arg(self.code).arg(keys.len()).arg(keys).arg(args);
                eval.query_async(connection).await
            }
            answer => answer,
        }
    }
}
