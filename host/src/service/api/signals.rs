//! `POST /v1/signals` (validate, hand to the running deployments their breakers admit,
//! record) and the reads of what happened: the intake log, dead letters and breakers
//! ([`crate::service::signals`]).

use std::sync::Arc;

use axum::{Extension, Json, extract::State};
use serde::{Deserialize, Serialize};

use super::{ApiResult, AppState};
use crate::{
    service::{
        auth::Principal,
        error::{ApiError, ApiJson, ApiQuery},
        signals::{self, Admit, ConsumerView, DeadLetter, IntakeRecord, Skipped},
    },
    signals::router::Breaker,
};

/// At most this many signals per request.
const MAX_PER_REQUEST: usize = 10_000;

/// What happened to posted signals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct SignalsOutcome {
    accepted: usize,
    /// Running deployments each accepted signal was offered to.
    deployments: usize,
    #[schema(value_type = Vec<Object>)]
    refused: Vec<serde_json::Value>,
    /// The intake records' sequence numbers, in posting order.
    intake: Vec<i64>,
}

#[utoipa::path(post, path = "/v1/signals", request_body(content = Object, description = "One signal object or an array of them (the signal schema of docs/signals.md)"), responses((status = 200, body = SignalsOutcome), (status = 400, body = ApiError)), security(("token" = [])))]
pub(super) async fn post_signals(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Json<SignalsOutcome>> {
    use crate::signals::validate::{SignalLimits, TimeCheck, Validator};
    let items = match body {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    if items.len() > MAX_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "{} signals in one request: at most {MAX_PER_REQUEST}; split the batch",
            items.len()
        )));
    }
    let defs = crate::catalog::instrument_defs::Instruments::bundled();
    let validator = Validator::new(defs.ids(), SignalLimits::default(), TimeCheck::Backtest);
    let running: Vec<_> = state
        .deployments()
        .into_iter()
        .filter(|d| d.current().status == "running")
        .collect();
    let actor = p.actor();
    let mut out = SignalsOutcome {
        accepted: 0,
        deployments: running.len(),
        refused: Vec::new(),
        intake: Vec::with_capacity(items.len()),
    };
    let mut records = Vec::with_capacity(items.len());
    let mut dead = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let now = crate::time::wall_clock_ns();
        let mut record = IntakeRecord {
            seq: state.signals.next_intake_seq(),
            received_ns: i64::try_from(now).unwrap_or(i64::MAX),
            actor: actor.clone(),
            signal_id: text_field(item, "signal_id"),
            signal_type: text_field(item, "signal_type"),
            instrument_id: text_field(item, "instrument_id"),
            source_model: text_field(item, "source_model"),
            accepted: false,
            reason: None,
            handed_to: Vec::new(),
            skipped: Vec::new(),
        };
        out.intake.push(record.seq);
        let signal = match validator.parse_json(&item.to_string()) {
            Ok(signal) => signal,
            Err(refusal) => {
                let reason = refusal.to_string();
                out.refused
                    .push(serde_json::json!({ "index": i, "reason": reason }));
                record.reason = Some(reason);
                records.push(record);
                continue;
            }
        };
        out.accepted += 1;
        record.accepted = true;
        for d in &running {
            let admit = state.signals.admit(&d.id, now);
            let refused = match admit {
                Admit::Skip(reason) => Some(("breaker", reason)),
                Admit::Hand | Admit::HandHalfOpen => {
                    if admit == Admit::HandHalfOpen {
                        signals::breaker_changed(
                            &state,
                            &d.id,
                            Breaker::HalfOpen,
                            &signal.signal_id,
                            now,
                        )
                        .await;
                    }
                    d.hand_signal(&signal).err().map(|e| {
                        tracing::error!(deployment = %d.id, "signal not journaled: {e}");
                        (
                            "handoff",
                            format!("not delivered to deployment {}: {e}", d.id),
                        )
                    })
                }
            };
            match refused {
                None => record.handed_to.push(d.id.clone()),
                Some((stage, reason)) => {
                    if stage == "handoff" {
                        out.refused.push(serde_json::json!({
                            "index": i, "deployment": d.id, "reason": reason,
                        }));
                    }
                    record.skipped.push(Skipped {
                        deployment: d.id.clone(),
                        reason: reason.clone(),
                    });
                    dead.push(DeadLetter {
                        seq: state.signals.next_dead_seq(),
                        ts_ns: record.received_ns,
                        deployment: d.id.clone(),
                        plugin: d.plugin_name.clone(),
                        signal_id: signal.signal_id.clone(),
                        stage: stage.to_string(),
                        reason,
                    });
                }
            }
        }
        records.push(record);
    }
    signals::store(&state.pool, &records, &dead).await?;
    Ok(Json(out))
}

/// A short text field of a posted item, whatever else is wrong with it (for the log).
fn text_field(item: &serde_json::Value, name: &str) -> Option<String> {
    let s = item.get(name)?.as_str()?;
    Some(s.chars().take(200).collect())
}

/// Paging newest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct Before {
    /// Only entries with a sequence number below this (the next older page).
    #[param(minimum = 1)]
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 0, maximum = 1000)]
    limit: Option<i64>,
}

impl Before {
    fn checked(&self) -> ApiResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(100);
        if !(0..=1000).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "limit={limit}: between 0 and 1000 entries per page; page on with `before`"
            )));
        }
        Ok((self.before.unwrap_or(i64::MAX), limit))
    }
}

#[utoipa::path(get, path = "/v1/signals", params(Before), responses((status = 200, body = Vec<IntakeRecord>, description = "Posted signals, newest first, with where each went")), security(("token" = [])))]
pub(super) async fn list_signals(
    State(state): State<Arc<AppState>>,
    ApiQuery(page): ApiQuery<Before>,
) -> ApiResult<Json<Vec<IntakeRecord>>> {
    let (before, limit) = page.checked()?;
    Ok(Json(signals::intake(&state.pool, before, limit).await?))
}

#[utoipa::path(get, path = "/v1/signals/dead-letters", params(Before), responses((status = 200, body = Vec<DeadLetter>, description = "Signals a deployment should have received and did not, newest first")), security(("token" = [])))]
pub(super) async fn list_dead_letters(
    State(state): State<Arc<AppState>>,
    ApiQuery(page): ApiQuery<Before>,
) -> ApiResult<Json<Vec<DeadLetter>>> {
    let (before, limit) = page.checked()?;
    Ok(Json(
        signals::dead_letters(&state.pool, before, limit).await?,
    ))
}

#[utoipa::path(get, path = "/v1/signals/breakers", responses((status = 200, body = Vec<ConsumerView>, description = "Every deployment of this process as a signal consumer: its breaker and counts")), security(("token" = [])))]
pub(super) async fn list_breakers(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<ConsumerView>>> {
    let deployments: Vec<(String, String, String)> = state
        .deployments()
        .into_iter()
        .map(|d| (d.id.clone(), d.plugin_name.clone(), d.current().status))
        .collect();
    Ok(Json(state.signals.consumers(&deployments)))
}
