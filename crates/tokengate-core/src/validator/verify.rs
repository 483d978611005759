//! The validation path: where a token's claims come from (the token cache,
//! a JWT verified here, or the authorization server's introspection), then
//! what every presentation is checked for (DPoP, revocation, single use).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::{Inner, IssuerRef, Validator};
use crate::algorithm::Algorithm;
use crate::cache::{Entry, Held};
use crate::dpop::DpopProblem;
use crate::error::{Error, TokenProblem};
use crate::introspection::Introspection;
use crate::issuer::Origin;
use crate::keys::{KeySet, KeySource, RefreshReason};
use crate::observe;
use crate::parse::claims::RawClaims;
use crate::parse::jws;
use crate::request::{Presented, Scheme};
use crate::store::{TokenRef, TokenUse, record_once, spend};
use crate::verdict::{Verdict, short_hash};
use crate::verified::{Presentation, TokenFacts, Verified};

/// A token's checked claims: the issuer whose rules accepted them, the
/// facts, and the claims as the caller's type.
type Claims<'v, C> = (IssuerRef<'v>, Arc<TokenFacts>, Arc<C>);

impl Validator {
    /// Every check, in order: the token's claims (from the cache, a JWT
    /// verified here, or an introspection answer), the DPoP binding and
    /// proof, revocation, then the records — the proof's `jti`, the issuer's
    /// own single use — last, so that no other refusal spends a proof or a
    /// token.
    pub(super) async fn verify<C>(&self, presented: Presented<'_>) -> Result<Verified<C>, Error>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        // One span per validation, at `debug`: nothing is computed for it
        // unless a subscriber wants it. Never the token, only a short hash.
        let span = tracing::debug_span!(
            "tokengate.validate",
            token = tracing::field::Empty,
            outcome = tracing::field::Empty,
            cause = tracing::field::Empty,
            iss = tracing::field::Empty,
            sub = tracing::field::Empty,
            jti = tracing::field::Empty,
            alg = tracing::field::Empty,
            kid = tracing::field::Empty,
        );
        let started = observe::start();
        let traced = !span.is_disabled();
        let hook = self.inner.verdicts.as_ref().map(|sink| (sink, Instant::now()));
        // The short hash only when a subscriber or the verdict hook wants it.
        let token_hash = (traced || hook.is_some()).then(|| short_hash(presented.token));
        let result = if traced {
            span.record("token", token_hash.as_deref());
            self.verify_unobserved::<C>(presented).instrument(span.clone()).await
        } else {
            self.verify_unobserved::<C>(presented).await
        };
        observe::validation(started, result.as_ref().map(Verified::issuer));
        if let (Some((sink, began)), Some(token_hash)) = (hook, token_hash) {
            sink.send(self.verdict(&result, began, token_hash));
        }
        if !traced {
            return result;
        }
        match &result {
            Ok(verified) => {
                span.record("outcome", "accepted");
                span.record("iss", verified.issuer());
                span.record("sub", verified.subject());
                span.record("jti", verified.token_id());
                span.record("alg", verified.algorithm().map(Algorithm::name));
                span.record("kid", verified.key_id());
            }
            Err(error) => {
                span.record("outcome", "refused");
                span.record("cause", error.cause());
                tracing::debug!(parent: &span, cause = error.cause(), "token refused: {error}");
            }
        }
        result
    }

    /// The verdict on `result`, for the hook.
    fn verdict<C>(&self, result: &Result<Verified<C>, Error>, began: Instant, token_hash: String) -> Verdict {
        let owned = |value: Option<&str>| value.map(str::to_owned);
        let accepted = result.as_ref().ok();
        Verdict {
            outcome: result.as_ref().map(drop).map_err(Clone::clone),
            token_hash,
            issuer: accepted.and_then(|v| owned(v.issuer())),
            subject: accepted.and_then(|v| owned(v.subject())),
            token_id: accepted.and_then(|v| owned(v.token_id())),
            client_id: accepted.and_then(|v| owned(v.client_id())),
            algorithm: accepted.and_then(Verified::algorithm),
            key_id: accepted.and_then(|v| owned(v.key_id())),
            at: self.inner.clock.now(),
            elapsed: began.elapsed(),
        }
    }

    async fn verify_unobserved<C>(&self, presented: Presented<'_>) -> Result<Verified<C>, Error>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = &*self.inner;
        if inner.dpop.is_none() && presented.scheme == Scheme::Dpop {
            // Refused before any signature work: this validator takes no proofs.
            return Err(Error::DpopNotAccepted);
        }
        // One reading of the clock for every check of this presentation.
        let now = inner.clock.now();
        let (issuer, facts, claims) = self.claims_of::<C>(presented.token, now).await?;
        let proof = match &inner.dpop {
            Some(dpop) => {
                let policy = presented.policy.or(issuer.dpop()).unwrap_or(dpop.default_policy());
                dpop.bind(policy, &presented, facts.bound_to.as_deref(), now)?
            }
            // Without DPoP a bound token cannot show its proof, so it is not
            // good here (RFC 9449 §7.2: never downgraded to a bearer token).
            None if facts.bound_to.is_some() => return Err(Error::BoundTokenAsBearer),
            None => None,
        };

        let iss = issuer.record_name();
        let revocable =
            TokenRef::new(iss, facts.token_id.as_deref(), facts.subject.as_deref(), facts.issued_at, now);
        if observe::store_call("revocation", inner.revocations.is_revoked(revocable)).await? {
            return Err(Error::Revoked);
        }
        let mut presentation = Presentation::default();
        if let (Some(proof), Some(dpop)) = (&proof, &inner.dpop) {
            let keep_until = dpop.proof_kept_until(proof);
            let record = TokenUse::dpop_proof(&proof.thumbprint, &proof.jti, proof.iat, keep_until, now);
            let replayed = Error::InvalidDpopProof(DpopProblem::Replayed);
            let possibly_replayed = Error::InvalidDpopProof(DpopProblem::PossiblyReplayed);
            record_once(&*inner.replays, record, replayed, possibly_replayed).await?;
            presentation.proven = true;
        }
        // After the proof's record, so that a replayed request (token and
        // proof copied together) counts no client; before single use, so
        // that a token refused as shared is not spent.
        if let Some(sharing) = &inner.sharing {
            let store = &*inner.replays;
            presentation.clients =
                sharing.note(store, iss, presented.token, presented.client, facts.refused_from, now).await?;
        }
        if let Some(policy) = issuer.single_use() {
            spend(&*inner.replays, policy, iss, issuer.leeway().as_secs(), &facts, now).await?;
            presentation.used_once = true;
        }
        Ok(Verified::from_parts(facts, claims, presentation))
    }

    /// The token's claims: an opaque token's from its issuer's
    /// authorization server; a JWT's from the cache, or verified here.
    async fn claims_of<C>(&self, token: &str, now: u64) -> Result<Claims<'_, C>, Error>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = &*self.inner;
        if let Some((index, issuer)) = inner.issuers.introspecting().filter(|_| !jws::is_compact(token)) {
            return self.introspected(IssuerRef::Listed(index, issuer), token).await;
        }
        if let Some(cache) = &inner.cache {
            let cached = cache.get(token).and_then(|entry| inner.cached(&entry, now));
            observe::cache_lookup(cached.is_some());
            if let Some(cached) = cached {
                return Ok(cached);
            }
        }
        self.local(token, now).await
    }

    /// A JWT, verified here: parse, issuer, algorithm and `typ`, key,
    /// signature, claims (or, for an issuer whose JWTs are introspected, the
    /// introspection answer); then kept in the cache.
    async fn local<C>(&self, token: &str, now: u64) -> Result<Claims<'_, C>, Error>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let inner = &*self.inner;
        let jws = jws::parse(token, inner.max_token_bytes, &inner.headers)?;
        let claims = RawClaims::parse(jws.segments.payload())?;
        let issuer = inner.issuers.for_token(claims.string("iss")?.as_deref(), now)?;
        let Some(source) = issuer.keys() else { return self.introspected(issuer, token).await };

        let alg = jws.header.alg;
        if !issuer.algorithms().contains(alg) {
            return Err(Error::AlgorithmNotAllowed(alg));
        }
        if !issuer.rules().token_types.allows(jws.header.typ.as_deref()) {
            return Err(Error::UnsupportedTokenType);
        }
        let keys = match keys_for(source, alg, jws.header.kid.as_deref()).await {
            Ok(keys) => keys,
            Err(error) => {
                if let (IssuerRef::Tenant(tenant), Error::KeysUnavailable { .. }, Some(tenants)) =
                    (&issuer, &error, &inner.issuers.tenants)
                {
                    tenants.failed(tenant.name().unwrap_or_default());
                }
                return Err(error);
            }
        };
        if !keys
            .select(alg, jws.header.kid.as_deref())?
            .verify(jws.segments.signing_input, &jws.segments.signature)
        {
            return Err(Error::InvalidSignature);
        }
        let origin = Origin::Jwt { algorithm: alg, key_id: jws.header.kid };
        let facts = Arc::new(issuer.check_claims(&claims, now, origin)?);
        let typed: Arc<C> = Arc::new(claims.typed(jws.segments.payload(), &facts)?);
        if let Some(cache) = &inner.cache {
            let entry = Entry {
                issuer: match &issuer {
                    IssuerRef::Listed(index, _) => Held::Listed(*index),
                    IssuerRef::Tenant(tenant) => Held::Tenant(Arc::downgrade(tenant)),
                },
                keys,
                facts: facts.clone(),
                claims: typed.clone(),
            };
            cache.insert(token, entry);
        }
        Ok((issuer, facts, typed))
    }

    /// A token the issuer's authorization server vouches for (RFC 7662):
    /// `active: true`, then the issuer's claim rules on its answer.
    async fn introspected<'v, C>(&'v self, issuer: IssuerRef<'v>, token: &str) -> Result<Claims<'v, C>, Error>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let introspector = issuer.introspector().ok_or(Error::MalformedToken(TokenProblem::NotCompact))?;
        if token.len() > self.inner.max_token_bytes {
            return Err(Error::TokenTooLarge { limit: self.inner.max_token_bytes });
        }
        let unavailable = |retry_after| Error::IntrospectionUnavailable { retry_after };
        let answer = introspector.introspect(token).await.map_err(|u| unavailable(u.retry_after))?;
        let Introspection::Active(json) = answer else { return Err(Error::InactiveToken) };
        // An answer that is not a strict JSON object with `"active": true` is
        // garbage from the server: never a verdict on the token.
        let garbage = || unavailable(Duration::from_secs(1));
        let claims = RawClaims::parse(&json).map_err(|_| garbage())?;
        if claims.view().raw("active") != Some("true") {
            return Err(garbage());
        }
        let now = self.inner.clock.now();
        let facts = Arc::new(issuer.check_claims(&claims, now, Origin::Introspection)?);
        let typed = Arc::new(claims.typed(&json, &facts)?);
        Ok((issuer, facts, typed))
    }
}

impl Inner {
    /// A cached verification of the token, when it still stands: the same
    /// claims type, not refused on time alone, and its issuer's key set the
    /// one that verified it (a refreshed set — a rotated or removed key —
    /// means verifying again).
    fn cached<C: Send + Sync + 'static>(&self, entry: &Entry, now: u64) -> Option<Claims<'_, C>> {
        let claims = entry.claims::<C>()?;
        if now >= entry.facts.refused_from {
            return None;
        }
        let issuer = match &entry.issuer {
            Held::Listed(index) => IssuerRef::Listed(*index, self.issuers.list.get(*index)?),
            // An evicted tenant's entries go with it.
            Held::Tenant(tenant) => IssuerRef::Tenant(tenant.upgrade()?),
        };
        let current = issuer.keys()?.current()?;
        Arc::ptr_eq(&current, &entry.keys).then(|| (issuer, entry.facts.clone(), claims))
    }
}

/// The issuer's keys able to verify `alg` (and `kid`): the current set, or,
/// when it lacks them, the set after the one refresh a token may cause.
async fn keys_for(source: &dyn KeySource, alg: Algorithm, kid: Option<&str>) -> Result<Arc<KeySet>, Error> {
    let keys = match source.current() {
        Some(keys) => keys,
        None => source
            .refresh(RefreshReason::NoKeysYet)
            .await
            .map_err(|unavailable| Error::KeysUnavailable { retry_after: unavailable.retry_after })?,
    };
    if !matches!(keys.select(alg, kid), Err(Error::NoMatchingKey)) {
        return Ok(keys);
    }
    // The source rate-limits this refresh. Its failure means "unknown key",
    // unless the keys went stale meanwhile.
    source.refresh(RefreshReason::UnknownKey { kid }).await.map_err(|unavailable| match source.current() {
        Some(_) => Error::NoMatchingKey,
        None => Error::KeysUnavailable { retry_after: unavailable.retry_after },
    })
}
