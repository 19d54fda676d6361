//! Capability grants under review: an author requests what one uploaded component (by its
//! sha256 digest) may touch, an admin approves or rejects it, and a deployment runs only
//! under an approved grant for the very component it runs: a new upload under the same
//! manifest name needs its own grant (docs/decisions/0022-grants-bound-to-digest.md). A
//! grant can only narrow what the manifest requests; the diff against the plugin's (same
//! name, any version) previous approved grant is computed at request time, shown to the
//! reviewer and audited.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use stratbox_manifest::{Capability, CapabilityRequest};

use super::{
    db::{self, DbError},
    error::{ApiError, ErrorCode},
};
use crate::{
    capabilities,
    sandbox::{Limits, PluginComponent},
};

/// What a plugin may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// Capability → scope. An empty list means "whatever the manifest requests"; a list
    /// narrows it (instruments, signal types, source models).
    #[schema(value_type = Object, example = json!({"market-data": {"instruments": ["GBP/USD.FXCM"]}, "risk-gate": {"instruments": ["GBP/USD.FXCM"]}}))]
    pub capabilities: BTreeMap<Capability, CapabilityRequest>,
    /// Sandbox ceilings; each applies only if lower than the manifest's own.
    #[serde(default)]
    pub limits: GrantLimits,
    /// Venues this component may trade on with real orders (`session.mode = "live"`),
    /// e.g. `["BINANCE"]`. Empty: paper only. Approving a grant that lists a venue is the
    /// admin's decision to let it trade real money there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_venues: Vec<String>,
}

/// Optional sandbox ceilings of a grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantLimits {
    pub fuel_per_callback: Option<u64>,
    pub max_memory_bytes: Option<u64>,
    pub max_orders_per_callback: Option<u64>,
}

/// One change between two grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// `capability`, `instruments`, `signal-types`, `source-models`, or a limit name.
    pub what: String,
    #[schema(value_type = String)]
    pub capability: Option<Capability>,
    pub from: String,
    pub to: String,
    /// True when the change gives the plugin more than before.
    pub widens: bool,
}

/// `new` compared with `old` (or with nothing).
#[must_use]
pub fn diff(old: Option<&GrantSpec>, new: &GrantSpec) -> Vec<Change> {
    let empty = GrantSpec::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let caps: BTreeSet<Capability> = old
        .capabilities
        .keys()
        .chain(new.capabilities.keys())
        .copied()
        .collect();
    for cap in caps {
        match (old.capabilities.get(&cap), new.capabilities.get(&cap)) {
            (None, Some(_)) => out.push(Change {
                what: "capability".into(),
                capability: Some(cap),
                from: "not granted".into(),
                to: "granted".into(),
                widens: true,
            }),
            (Some(_), None) => out.push(Change {
                what: "capability".into(),
                capability: Some(cap),
                from: "granted".into(),
                to: "not granted".into(),
                widens: false,
            }),
            (Some(a), Some(b)) => {
                for (what, x, y) in [
                    ("instruments", &a.instruments, &b.instruments),
                    ("signal-types", &a.signal_types, &b.signal_types),
                    ("source-models", &a.source_models, &b.source_models),
                ] {
                    if let Some(c) = list_change(what, cap, x, y) {
                        out.push(c);
                    }
                }
            }
            (None, None) => {}
        }
    }
    for (what, a, b) in [
        (
            "fuel_per_callback",
            old.limits.fuel_per_callback,
            new.limits.fuel_per_callback,
        ),
        (
            "max_memory_bytes",
            old.limits.max_memory_bytes,
            new.limits.max_memory_bytes,
        ),
        (
            "max_orders_per_callback",
            old.limits.max_orders_per_callback,
            new.limits.max_orders_per_callback,
        ),
    ] {
        if a != b {
            let show = |v: Option<u64>| v.map_or("manifest's own".to_string(), |v| v.to_string());
            out.push(Change {
                what: what.into(),
                capability: None,
                from: show(a),
                to: show(b),
                // No ceiling, or a higher one, gives more.
                widens: match (a, b) {
                    (Some(_), None) => true,
                    (Some(x), Some(y)) => y > x,
                    _ => false,
                },
            });
        }
    }
    let (a, b): (BTreeSet<&String>, BTreeSet<&String>) = (
        old.live_venues.iter().collect(),
        new.live_venues.iter().collect(),
    );
    if a != b {
        let show = |s: &BTreeSet<&String>| {
            if s.is_empty() {
                "paper only".to_string()
            } else {
                s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        out.push(Change {
            what: "live-venues".into(),
            capability: None,
            from: show(&a),
            to: show(&b),
            widens: !b.is_subset(&a),
        });
    }
    out
}

fn list_change(what: &str, cap: Capability, a: &[String], b: &[String]) -> Option<Change> {
    let sa: BTreeSet<&String> = a.iter().collect();
    let sb: BTreeSet<&String> = b.iter().collect();
    if sa == sb {
        return None;
    }
    let show = |s: &BTreeSet<&String>| {
        if s.is_empty() {
            "all the manifest requests".to_string()
        } else {
            s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
        }
    };
    // An empty list is everything the manifest asks for: the widest scope.
    let widens = sb.is_empty() || (!sa.is_empty() && !sb.is_subset(&sa));
    Some(Change {
        what: what.into(),
        capability: Some(cap),
        from: show(&sa),
        to: show(&sb),
        widens,
    })
}

/// The component as it runs under `grant`: capabilities and scopes narrowed, limits
/// lowered. Refused when the grant does not cover a capability the component imports, or
/// when a scope leaves nothing.
pub fn apply(component: &PluginComponent, grant: &GrantSpec) -> Result<PluginComponent, String> {
    let scopes = capabilities::scopes_under_grant(component, &grant.capabilities)?;
    let own = component.limits();
    let lower = |mine: u64, ceiling: Option<u64>| ceiling.map_or(mine, |c| mine.min(c));
    let limits = Limits {
        fuel_per_callback: lower(own.fuel_per_callback, grant.limits.fuel_per_callback),
        max_memory_bytes: lower(own.max_memory_bytes, grant.limits.max_memory_bytes),
        max_orders_per_callback: lower(
            own.max_orders_per_callback,
            grant.limits.max_orders_per_callback,
        ),
        ..own
    };
    Ok(component.narrowed(scopes, limits))
}

/// `POST /v1/grants`: the component by `digest`, or by `plugin` (manifest name) and
/// `version`, resolved to its digest now; the grant is stored bound to that digest.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequestBody {
    /// sha256 digest of the uploaded component.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub digest: Option<String>,
    /// Manifest name (with `version`, instead of `digest`; with `digest`, must match it).
    #[serde(default)]
    #[schema(min_length = 1)]
    pub plugin: Option<String>,
    /// Manifest version (with `plugin`).
    #[serde(default)]
    #[schema(min_length = 1)]
    pub version: Option<String>,
    pub grant: GrantSpec,
    /// Why it needs this (shown to the reviewer).
    #[schema(min_length = 1, pattern = "\\S")]
    pub reason: String,
}

/// Records a grant request (pending) for one uploaded component; audited.
pub async fn request(
    state: &super::AppState,
    who: &super::auth::Principal,
    body: GrantRequestBody,
) -> Result<GrantRecord, ApiError> {
    use super::registry;
    if body.reason.trim().is_empty() {
        return Err(ApiError::bad_request("`reason` must not be empty"));
    }
    if body.grant.capabilities.is_empty() {
        return Err(ApiError::bad_request(
            "grant.capabilities is empty: name at least one capability",
        ));
    }
    let component = match (&body.digest, &body.plugin, &body.version) {
        (Some(digest), name, None) => {
            registry::check_digest(digest)?;
            let record = registry::get(&state.pool, digest)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no component with digest {digest}")))?;
            if let Some(name) = name.as_ref().filter(|n| **n != record.name) {
                return Err(ApiError::bad_request(format!(
                    "`plugin` is `{name}` but component {digest} is `{}`",
                    record.name
                )));
            }
            record
        }
        (None, Some(name), Some(version)) => registry::by_name_version(&state.pool, name, version)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no component `{name}` version {version} is registered (upload it first)"
                ))
            })?,
        _ => {
            return Err(ApiError::bad_request(
                "a grant is for one uploaded component: give `digest`, or `plugin` with `version`",
            ));
        }
    };
    let previous = latest_approved(&state.pool, &component.name).await?;
    let diff = diff(previous.as_ref().map(|g| &g.spec), &body.grant);
    let record = GrantRecord {
        id: super::deployments::new_id("grant")?,
        plugin: component.name.clone(),
        digest: Some(component.digest.clone()),
        spec: body.grant,
        status: "pending".into(),
        reason: body.reason,
        diff,
        requested_by: who.actor(),
        requested_ns: crate::time::wall_clock_ns() as i64,
        decided_by: None,
        decided_ns: None,
        decision_note: None,
    };
    // The request and its record commit together: a stored request always has its record.
    let mut tx = state.begin().await?;
    state
        .audit_in(
            &mut tx,
            &who.actor(),
            crate::audit::AuditAction::GrantRequested,
            &format!("grant {}", record.id),
            serde_json::json!({ "plugin": record.plugin, "version": component.version, "digest": record.digest, "grant": record.spec, "diff": record.diff, "previous": previous.map(|g| g.id), "reason": record.reason }),
        )
        .await?;
    insert(&mut *tx, &record).await?;
    super::audit_tx::commit(tx, "a grant request").await?;
    Ok(record)
}

/// A stored grant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GrantRecord {
    pub id: String,
    /// Manifest name of the component.
    pub plugin: String,
    /// The component (sha256) the grant is for; none for a grant made before grants were
    /// bound to digests whose plugin had no upload (usable by nothing).
    pub digest: Option<String>,
    pub spec: GrantSpec,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub reason: String,
    /// Against the plugin's approved grant when this was requested.
    pub diff: Vec<Change>,
    pub requested_by: String,
    pub requested_ns: i64,
    pub decided_by: Option<String>,
    pub decided_ns: Option<i64>,
    pub decision_note: Option<String>,
}

const COLUMNS: &str = "SELECT id, plugin, digest, spec, status, reason, diff, requested_by, requested_ns, decided_by, decided_ns, decision_note FROM grants";

fn row(r: &sqlx::any::AnyRow) -> Result<GrantRecord, DbError> {
    let e = db::err("reading a grant");
    let get = |r: &sqlx::any::AnyRow| -> Result<GrantRecord, sqlx::Error> {
        let spec: String = r.try_get("spec")?;
        let diff: String = r.try_get("diff")?;
        Ok(GrantRecord {
            id: r.try_get("id")?,
            plugin: r.try_get("plugin")?,
            digest: r.try_get("digest")?,
            spec: serde_json::from_str(&spec).map_err(|e| sqlx::Error::Protocol(e.to_string()))?,
            status: r.try_get("status")?,
            reason: r.try_get("reason")?,
            diff: serde_json::from_str::<Vec<serde_json::Value>>(&diff)
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?
                .into_iter()
                .filter_map(change_from_json)
                .collect(),
            requested_by: r.try_get("requested_by")?,
            requested_ns: r.try_get("requested_ns")?,
            decided_by: r.try_get("decided_by")?,
            decided_ns: r.try_get("decided_ns")?,
            decision_note: r.try_get("decision_note")?,
        })
    };
    get(r).map_err(e)
}

fn change_from_json(v: serde_json::Value) -> Option<Change> {
    Some(Change {
        what: v.get("what")?.as_str()?.to_string(),
        capability: v
            .get("capability")
            .and_then(|c| serde_json::from_value(c.clone()).ok()),
        from: v.get("from")?.as_str()?.to_string(),
        to: v.get("to")?.as_str()?.to_string(),
        widens: v.get("widens")?.as_bool()?,
    })
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<GrantRecord>, DbError> {
    let q = format!("{COLUMNS} WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db::err("reading a grant"))?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn list(pool: &AnyPool) -> Result<Vec<GrantRecord>, DbError> {
    let q = format!("{COLUMNS} ORDER BY requested_ns, id");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(pool)
        .await
        .map_err(db::err("listing grants"))?
        .iter()
        .map(row)
        .collect()
}

/// The plugin's most recently approved grant.
pub async fn latest_approved(pool: &AnyPool, plugin: &str) -> Result<Option<GrantRecord>, DbError> {
    let q = format!(
        "{COLUMNS} WHERE plugin = $1 AND status = 'approved' ORDER BY decided_ns DESC, id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(plugin.to_string())
        .fetch_all(pool)
        .await
        .map_err(db::err("reading approved grants"))?;
    rows.first().map(row).transpose()
}

pub async fn insert(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    g: &GrantRecord,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO grants (id, plugin, digest, spec, status, reason, diff, requested_by, requested_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(g.id.clone())
    .bind(g.plugin.clone())
    .bind(g.digest.clone())
    .bind(serde_json::to_string(&g.spec).unwrap_or_default())
    .bind(g.status.clone())
    .bind(g.reason.clone())
    .bind(serde_json::to_string(&g.diff).unwrap_or_default())
    .bind(g.requested_by.clone())
    .bind(g.requested_ns)
    .execute(db)
    .await
    .map_err(db::err("storing a grant request"))?;
    Ok(())
}

/// Sets a pending grant's decision; false if it was not pending any more.
pub async fn decide(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: &str,
    status: &str,
    by: &str,
    note: &str,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE grants SET status = $1, decided_by = $2, decided_ns = $3, decision_note = $4 WHERE id = $5 AND status = 'pending'",
    )
    .bind(status.to_string())
    .bind(by.to_string())
    .bind(crate::time::wall_clock_ns() as i64)
    .bind(note.to_string())
    .bind(id.to_string())
    .execute(db)
    .await
    .map_err(db::err("deciding a grant"))?;
    Ok(done.rows_affected() == 1)
}

/// The most recently approved grant for the component `digest`.
pub async fn approved_for(pool: &AnyPool, digest: &str) -> Result<Option<GrantRecord>, DbError> {
    let q = format!(
        "{COLUMNS} WHERE digest = $1 AND status = 'approved' ORDER BY decided_ns DESC, id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(digest.to_string())
        .fetch_all(pool)
        .await
        .map_err(db::err("reading approved grants"))?;
    rows.first().map(row).transpose()
}

/// Checks a grant for use by a deployment of the component `digest`.
pub fn usable(g: &GrantRecord, digest: &str) -> Result<(), ApiError> {
    if g.digest.as_deref() != Some(digest) {
        let bound = g
            .digest
            .as_deref()
            .map_or("no component".to_string(), |d| format!("component {d}"));
        return Err(ApiError::new(
            ErrorCode::GrantMismatch,
            format!(
                "grant {} ({}) is for {bound}, not {digest}: a grant covers one upload; request one for this digest (POST /v1/grants with \"digest\")",
                g.id, g.plugin
            ),
        ));
    }
    if g.status != "approved" {
        return Err(ApiError::new(
            ErrorCode::GrantNotApproved,
            format!(
                "grant {} is {}; an admin must approve it first (POST /v1/grants/{}/approve)",
                g.id, g.status, g.id
            ),
        )
        .with_details(serde_json::json!({ "diff": g.diff })));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(caps: &[(Capability, &[&str])]) -> GrantSpec {
        GrantSpec {
            capabilities: caps
                .iter()
                .map(|(c, i)| {
                    (
                        *c,
                        CapabilityRequest {
                            instruments: i.iter().map(|s| (*s).to_string()).collect(),
                            ..CapabilityRequest::default()
                        },
                    )
                })
                .collect(),
            limits: GrantLimits::default(),
            live_venues: Vec::new(),
        }
    }

    #[test]
    fn diffs_say_what_widens() {
        let a = spec(&[(Capability::MarketData, &["A"])]);
        let b = spec(&[
            (Capability::MarketData, &["A", "B"]),
            (Capability::RiskGate, &["A"]),
        ]);
        let d = diff(Some(&a), &b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|c| c.widens), "{d:?}");
        let back = diff(Some(&b), &a);
        assert!(back.iter().all(|c| !c.widens), "{back:?}");
        // An empty list means everything the manifest asks for: wider than any list.
        let all = spec(&[(Capability::MarketData, &[])]);
        assert!(diff(Some(&a), &all)[0].widens);
        assert!(!diff(Some(&all), &a)[0].widens);
        assert!(diff(Some(&a), &a).is_empty());
    }

    #[test]
    fn a_live_venue_widens_and_dropping_it_narrows() {
        let paper = spec(&[(Capability::MarketData, &["A"])]);
        let mut live = paper.clone();
        live.live_venues = vec!["BINANCE".into()];
        let d = diff(Some(&paper), &live);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].what, "live-venues");
        assert_eq!(
            (d[0].from.as_str(), d[0].to.as_str()),
            ("paper only", "BINANCE")
        );
        assert!(d[0].widens);
        assert!(!diff(Some(&live), &paper)[0].widens);
        // Stored grants written before the field existed read back as paper only.
        let old: GrantSpec = serde_json::from_str(r#"{"capabilities": {}}"#).unwrap();
        assert!(old.live_venues.is_empty());
    }
}
