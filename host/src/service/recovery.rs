//! Resuming the live deployments a crash interrupted (decision 0031).
//!
//! A deployment still stored as `running` when the service starts was not stopped: its
//! process was killed. A live one resumes from its last checkpoint: the component version,
//! plugin state, gate book and trading states it had, the sandbox venue's balances and
//! positions, the feed after the events it had handled, and the signals acknowledged since
//! (the journal's tail). Every resume is audited before the session starts. If the
//! checkpoint's audit head is not in the chain or the journal is shorter than the
//! checkpoint says, the deployment resumes HALTED: an operator looks before it trades.
//! Anything that cannot be resumed (a paper session, no checkpoint, an unreadable one, a
//! revoked grant) is marked `interrupted`, audited with the reason, and left alone.

use std::sync::Arc;

use super::{
    AppState, audit_store,
    deployments::{self, Current, Interrupted, SessionKind},
    launch, ops,
};
use crate::{
    audit::AuditAction,
    capabilities::risk_gate::{RiskPolicy, Scope},
    nautilus::live::checkpoint,
};

/// Resumes every interrupted live deployment; marks the others `interrupted`. Never fails
/// the start: each deployment's outcome is audited and logged.
pub(super) async fn resume_interrupted(state: &Arc<AppState>) {
    let runs = match deployments::interrupted(&state.pool).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot look for interrupted deployments: {e}");
            return;
        }
    };
    for run in runs {
        let id = run.id.clone();
        match resume_one(state, run).await {
            Ok(()) => tracing::info!(deployment = %id, "resumed from its checkpoint"),
            Err(reason) => {
                tracing::warn!(deployment = %id, "not resumed: {reason}");
                let outcome = serde_json::json!({ "error": format!("interrupted: {reason}") });
                let _ = state
                    .audit(
                        "recovery",
                        AuditAction::DeploymentStopped,
                        &format!("deployment {id}"),
                        serde_json::json!({ "status": "interrupted", "reason": reason }),
                    )
                    .await;
                if let Err(e) = deployments::finish(&state.pool, &id, "interrupted", &outcome).await
                {
                    tracing::error!(deployment = %id, "{e}");
                }
            }
        }
    }
}

async fn resume_one(state: &Arc<AppState>, run: Interrupted) -> Result<(), String> {
    let req = run.spec?;
    if req.session.session_kind() != SessionKind::Live {
        return Err(
            "a paper session replays recorded data in a backtest engine and is not resumed; deploy it again"
                .into(),
        );
    }
    if req.session.mode == Some(deployments::TradingMode::Live) {
        return Err(format!(
            "a deployment on a real venue ({}) is not resumed automatically (decision 0034): its orders and balances at the venue may have changed while the service was down; check them at the venue, then deploy again",
            req.session.venue.as_deref().unwrap_or("?")
        ));
    }
    let root = state.config.state_dir.join(checkpoint::CHECKPOINTS_DIR);
    let cp = checkpoint::load(&state.checkpoints, &root, &run.id)
        .map_err(|e| e.to_string())?
        .ok_or("the service stopped before the deployment wrote its first checkpoint")?;
    let grant = ops::approved_grant(state, &run.grant_id, &cp.digest)
        .await
        .map_err(|e| format!("grant {}: {}", run.grant_id, e.message))?;
    let policy =
        RiskPolicy::from_toml(&req.risk_policy).map_err(|e| format!("risk_policy: {e}"))?;
    let speed = req.session.speed.speed().map_err(|e| e.message)?;

    // What must match before the deployment may trade.
    let mut problems = Vec::new();
    if let Some((seq, hash)) = &cp.audit_head {
        match audit_store::hash_at(&state.pool, *seq).await {
            Ok(Some(h)) if &h == hash => {}
            Ok(Some(h)) => problems.push(format!(
                "the audit chain's record {seq} has hash {h}, the checkpoint recorded {hash}"
            )),
            Ok(None) => problems.push(format!(
                "the audit chain has no record {seq}, which the checkpoint recorded as its head"
            )),
            Err(e) => return Err(e.to_string()),
        }
    }
    let journal = checkpoint::read_journal(&state.checkpoints, &run.id)?;
    let delivered = usize::try_from(cp.journal).unwrap_or(usize::MAX);
    if delivered > journal.len() {
        problems.push(format!(
            "the checkpoint had {delivered} journaled signals but the journal holds {}",
            journal.len()
        ));
    }
    let pending: Vec<_> = journal.into_iter().skip(delivered).collect();

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let prepared = {
        let (st, req, grant, id, cp) = (
            Arc::clone(state),
            req.clone(),
            grant.clone(),
            run.id.clone(),
            cp.clone(),
        );
        tokio::task::spawn_blocking(move || {
            launch::prepare(
                &st,
                &launch::Plan {
                    id: &id,
                    digest: &cp.digest,
                    req: &req,
                    grant: &grant.spec,
                    kind: SessionKind::Live,
                    speed,
                    policy,
                    resume: Some(&cp),
                    venue: None,
                    sink: deployments::sink(tx),
                },
            )
        })
        .await
        .map_err(|e| format!("resume task: {e}"))?
        .map_err(|e| e.message)?
    };
    // Audited before the session starts, with what it starts from.
    state
        .audit(
            "recovery",
            AuditAction::DeploymentResumed,
            &format!("deployment {}", run.id),
            serde_json::json!({
                "checkpoint": cp.seq,
                "checkpoint_written_ns": cp.written_ns,
                "digest": cp.digest,
                "events": cp.events,
                "sim_ts": cp.sim_ts,
                "next_order": cp.next_order,
                "signals_pending": pending.len(),
                "venue": cp.venue,
                "audit_head": cp.audit_head,
                "problems": problems,
            }),
        )
        .await
        .map_err(|e| e.message)?;
    if !problems.is_empty() {
        let reason = format!("resumed after a crash: {}", problems.join("; "));
        prepared
            .risk
            .control
            .halt(&Scope::All, &reason, "recovery", None)
            .map_err(|e| e.to_string())?;
    }
    if cp.digest != run.digest
        && let Err(e) = deployments::set_digest(&state.pool, &run.id, &cp.digest).await
    {
        tracing::error!(deployment = %run.id, "{e}");
    }
    let plugin = if run.plugin.is_empty() {
        cp.digest.clone()
    } else {
        run.plugin.clone()
    };
    let current = Current {
        digest: cp.digest.clone(),
        grant_id: grant.id.clone(),
        grant: grant.spec.clone(),
        status: "running".into(),
    };
    let launched = launch::start(
        state,
        &run.id,
        &plugin,
        &run.created_by,
        current,
        SessionKind::Live,
        prepared,
        Some((cp, pending)),
    )
    .map_err(|e| e.message)?;
    launched.run(state, rx);
    Ok(())
}
