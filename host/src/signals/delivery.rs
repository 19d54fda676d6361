//! Delivery from the store: pages of stored signals through a [`SignalRouter`], failed
//! deliveries recorded as dead letters, breaker changes audited.
//!
//! [`pump`] is the live path: it resumes from the delivery group's cursor, so after a
//! restart every stored signal not yet delivered is delivered, and nothing twice.
//! [`route_page`] is shared with `signals replay`.

use super::{
    router::{Consumer, RouteOutcome, SignalRouter},
    store::{FailedDelivery, SignalStore, StoreError, Stored},
};
use crate::audit::{AuditAction, AuditLog};

/// Signals read per page.
pub const PAGE: u32 = 1_024;

/// Routes `page` (in order), records every failed delivery as a dead letter and audits
/// every breaker change. Returns each signal's outcome.
pub async fn route_page<C: Consumer>(
    store: &SignalStore,
    router: &mut SignalRouter<C>,
    page: &[Stored],
    audit: &AuditLog,
    now_ns: u64,
) -> Result<Vec<RouteOutcome>, StoreError> {
    let outcomes: Vec<RouteOutcome> = page.iter().map(|s| router.route(s)).collect();
    let name = |i: usize| router.consumer(i).map_or("?", Consumer::name);
    let mut failed = Vec::new();
    for (stored, out) in page.iter().zip(&outcomes) {
        for (i, state) in &out.breaker_changes {
            // The breaker decision is security-relevant (a consumer stops receiving); a
            // failure to audit it is logged, delivery goes on.
            if let Err(e) = audit.append(
                "host",
                AuditAction::SignalBreakerChanged,
                name(*i),
                serde_json::json!({
                    "breaker": state,
                    "signal_id": stored.signal.signal_id,
                    "correlation_id": stored.correlation_id,
                }),
            ) {
                tracing::error!("cannot audit a breaker change: {e}");
            }
        }
        for (i, reason) in &out.failed {
            failed.push(FailedDelivery {
                stored,
                consumer: name(*i),
                reason: reason.clone(),
            });
        }
    }
    if !failed.is_empty() {
        store.dead_letter_deliveries(&failed, now_ns).await?;
    }
    Ok(outcomes)
}

/// Delivers every stored signal after `group`'s cursor, advancing the cursor page by page.
/// Returns how many signals were routed.
pub async fn pump<C: Consumer>(
    store: &SignalStore,
    router: &mut SignalRouter<C>,
    group: &str,
    audit: &AuditLog,
) -> Result<u64, StoreError> {
    let mut after = store.cursor(group).await?;
    let mut n = 0;
    loop {
        let page = store.read_after(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        let last = last.seq;
        route_page(store, router, &page, audit, crate::time::wall_clock_ns()).await?;
        store.set_cursor(group, last).await?;
        after = last;
        n += page.len() as u64;
    }
}
