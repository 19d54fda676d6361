//! `GET /v1/deployments/{id}/risk`: the limits a deployment's risk gate applies and how
//! much of them it uses now (the console's "risk limits" table).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Serialize;

use super::ApiResult;
use crate::{
    capabilities::risk_gate::{RiskPolicy, hub::PluginFigures, policy::Amount},
    service::AppState,
};

/// Figures in the policy currency (decimal text) and counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Figures {
    /// Σ |position| × mark.
    gross_exposure: String,
    open_orders: u32,
    /// Realized + unrealized.
    pnl: String,
}

impl From<PluginFigures> for Figures {
    fn from(f: PluginFigures) -> Self {
        Self {
            gross_exposure: Amount(f.gross_exposure).to_string(),
            open_orders: f.open_orders,
            pnl: Amount(f.pnl).to_string(),
        }
    }
}

/// What `GET /v1/deployments/{id}/risk` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RiskView {
    /// The policy's label, its text's sha256 and its currency.
    policy_version: String,
    policy_sha256: String,
    currency: String,
    /// The limits of this deployment's plugin (its own section over `[defaults]`); absent
    /// keys are no limit.
    #[schema(value_type = Object)]
    limits: serde_json::Value,
    /// The limits on every deployment of the service together (`[global]`).
    #[schema(value_type = Object)]
    global: serde_json::Value,
    /// Whether a halt also closes the positions (`[halt] flatten`).
    flatten_on_halt: bool,
    /// The deployment's plugin, as its gate counts it now.
    usage: Figures,
    /// Every deployment of the service together.
    service_usage: Figures,
    /// The service-wide book's fall from its PnL peak and loss since the UTC day began.
    service_drawdown: String,
    service_daily_loss: String,
    /// `ACTIVE`, `REDUCING` or `HALTED`, and why.
    trading_state: String,
    trading_reason: String,
}

fn limits_json(policy: &RiskPolicy, plugin: &str) -> (serde_json::Value, serde_json::Value) {
    let strip = |v: serde_json::Value| match v {
        serde_json::Value::Object(m) => {
            serde_json::Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    };
    (
        strip(serde_json::to_value(policy.limits_for(plugin)).unwrap_or_default()),
        strip(serde_json::to_value(&policy.global).unwrap_or_default()),
    )
}

#[utoipa::path(get, path = "/v1/deployments/{id}/risk", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), responses((status = 200, body = RiskView), (status = 404, body = crate::service::error::ApiError)), security(("token" = [])))]
pub(super) async fn deployment_risk(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<RiskView>> {
    let dep = super::deployment(&state, &id)?;
    let hub = &dep.risk;
    let usage = hub.usage(&dep.plugin_name);
    let (limits, global) = limits_json(&hub.policy, &dep.plugin_name);
    let (trading, reason) = hub.control.effective(&dep.plugin_name);
    Ok(Json(RiskView {
        policy_version: hub.policy.version.clone(),
        policy_sha256: hub.policy.sha256.clone(),
        currency: hub.policy.currency.clone(),
        limits,
        global,
        flatten_on_halt: hub.policy.halt.flatten,
        usage: usage.plugin.into(),
        service_usage: usage.all.into(),
        service_drawdown: Amount(usage.drawdown).to_string(),
        service_daily_loss: Amount(usage.daily_loss).to_string(),
        trading_state: trading.to_string(),
        trading_reason: reason,
    }))
}
