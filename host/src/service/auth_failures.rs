//! Authentication failures, per client address: rate-limited (a keyed GCRA limiter from
//! `governor`, the crate `tower_governor` wraps) and audited as ONE summary record per
//! window and address instead of one record per request. Without this an anonymous
//! client could grow the hash chain without bound and hold its lock against operators.
//!
//! Only failures count: a request with a valid token of the right role is never limited
//! here, so an operator's `halt` still passes while its address is over the rate.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
    num::NonZeroU32,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};
use serde::Serialize;

use super::{AppState, error::ApiError};
use crate::audit::AuditAction;

/// Addresses summarised separately per window; failures from further addresses in the
/// same window are folded into one `other` summary (memory stays bounded).
const MAX_ADDRESSES: usize = 4096;
/// Distinct actors and routes named in one summary.
const MAX_NAMES: usize = 8;
/// The key of the folded summary (and of requests without a known peer address).
const OTHER: &str = "other";

/// What happened to one failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Under the rate: answer 401 / 403.
    Refuse,
    /// Over the rate: answer 429, retry after this long.
    Limited(Duration),
}

/// One address's failures in the current window.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub address: String,
    pub failures: u64,
    /// Of `failures`, how many were answered 429.
    pub limited: u64,
    pub window_s: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    pub first_reason: String,
    pub last_reason: String,
    /// Up to 8 distinct actors (`anonymous` or `name (role)`).
    pub actors: BTreeSet<String>,
    /// Up to 8 distinct `METHOD /route` templates.
    pub routes: BTreeSet<String>,
}

/// The limiter and the window's summaries.
pub struct AuthFailures {
    limiter: DefaultKeyedRateLimiter<String>,
    window: Duration,
    pending: Mutex<BTreeMap<String, Summary>>,
}

impl std::fmt::Debug for AuthFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFailures")
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl AuthFailures {
    /// `per_window` failures per address per `window` (refilling evenly), burst of
    /// `per_window`. Zero values are raised to 1 (the configuration check refuses them).
    #[must_use]
    pub fn new(per_window: u32, window: Duration) -> Self {
        let n = NonZeroU32::new(per_window).unwrap_or(NonZeroU32::MIN);
        let window = window.max(Duration::from_secs(1));
        let quota = Quota::with_period(window / n.get())
            .unwrap_or_else(|| Quota::per_second(n))
            .allow_burst(n);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            window,
            pending: Mutex::default(),
        }
    }

    /// The summary window.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Counts one failure of `address` (None: unknown peer) and says how to answer it.
    pub fn record(
        &self,
        address: Option<IpAddr>,
        actor: &str,
        route: &str,
        reason: &str,
    ) -> Verdict {
        let key = address.map_or_else(|| OTHER.to_string(), |a| a.to_string());
        let verdict = match self.limiter.check_key(&key) {
            Ok(()) => Verdict::Refuse,
            Err(not_until) => {
                Verdict::Limited(not_until.wait_time_from(DefaultClock::default().now()))
            }
        };
        let now = crate::time::wall_clock_ns();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if pending.contains_key(&key) || pending.len() < MAX_ADDRESSES {
            key
        } else {
            OTHER.to_string()
        };
        let window_s = self.window.as_secs();
        let s = pending.entry(key.clone()).or_insert_with(|| Summary {
            address: key,
            failures: 0,
            limited: 0,
            window_s,
            first_ns: now,
            last_ns: now,
            first_reason: reason.to_string(),
            last_reason: String::new(),
            actors: BTreeSet::new(),
            routes: BTreeSet::new(),
        });
        s.failures += 1;
        if matches!(verdict, Verdict::Limited(_)) {
            s.limited += 1;
        }
        s.last_ns = now;
        reason.clone_into(&mut s.last_reason);
        if s.actors.len() < MAX_NAMES && !s.actors.contains(actor) {
            s.actors.insert(actor.to_string());
        }
        if s.routes.len() < MAX_NAMES && !s.routes.contains(route) {
            s.routes.insert(route.to_string());
        }
        verdict
    }

    /// Takes the window's summaries (and forgets limiter state that has refilled).
    pub fn take(&self) -> Vec<Summary> {
        self.limiter.retain_recent();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *pending).into_values().collect()
    }
}

impl AppState {
    /// Audits the window's authentication failures: one `auth-failed` record per address.
    pub async fn flush_auth_failures(&self) -> Result<usize, ApiError> {
        let summaries = self.auth_failures.take();
        for s in &summaries {
            let actor = if s.actors.len() == 1 && s.actors.contains("anonymous") {
                "anonymous".to_string()
            } else {
                format!("client {}", s.address)
            };
            let details = serde_json::to_value(s).map_err(ApiError::internal)?;
            self.audit(
                &actor,
                AuditAction::AuthFailed,
                &format!("auth failures from {}", s.address),
                details,
            )
            .await?;
        }
        Ok(summaries.len())
    }
}

/// Flushes the summaries every window until the state is dropped by the server.
pub(super) async fn flush_every_window(state: std::sync::Weak<AppState>, window: Duration) {
    let mut tick = tokio::time::interval(window);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if let Err(e) = state.flush_auth_failures().await {
            tracing::error!("auditing authentication failures: {}", e.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_over_the_rate_are_limited_and_summarised_per_address() {
        let f = AuthFailures::new(3, Duration::from_secs(3600));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..10)
            .map(|i| f.record(Some(a), "anonymous", "GET /v1/whoami", &format!("r{i}")))
            .collect();
        assert!(
            verdicts[..3].iter().all(|v| *v == Verdict::Refuse),
            "{verdicts:?}"
        );
        assert!(
            verdicts[3..]
                .iter()
                .all(|v| matches!(v, Verdict::Limited(_))),
            "{verdicts:?}"
        );
        // Another address has its own budget.
        assert_eq!(
            f.record(Some(b), "eve (author)", "POST /v1/tokens", "forbidden"),
            Verdict::Refuse
        );
        let mut s = f.take();
        s.sort_by(|x, y| x.address.cmp(&y.address));
        assert_eq!(s.len(), 2);
        let sa = &s[0];
        assert_eq!(
            (sa.address.as_str(), sa.failures, sa.limited),
            ("127.0.0.2", 10, 7)
        );
        assert_eq!(
            (sa.first_reason.as_str(), sa.last_reason.as_str()),
            ("r0", "r9")
        );
        assert_eq!(s[1].address, "::1");
        assert!(f.take().is_empty(), "a window's summaries are taken once");
    }

    #[test]
    fn many_addresses_fold_into_one_summary() {
        let f = AuthFailures::new(1, Duration::from_secs(60));
        for i in 0..(MAX_ADDRESSES as u32 + 50) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            f.record(Some(ip), "anonymous", "GET /v1/whoami", "unauthorized");
        }
        let s = f.take();
        assert_eq!(s.len(), MAX_ADDRESSES + 1);
        let other = s.iter().find(|x| x.address == OTHER).unwrap();
        assert_eq!(other.failures, 50);
    }
}
