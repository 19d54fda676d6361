//! Definitions and their translation status, as `stratbox translate --watch --server`
//! reports them (decision 0038): the newest outcome per definition origin, in the
//! `translations` table (migration 0006). The console's Strategies page lists them beside
//! the registry, whose components carry their translated-from provenance.

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use super::{
    db::{self, DbError},
    error::ApiError,
};

/// How a definition's last translation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TranslationStatus {
    Translated,
    Failed,
}

impl TranslationStatus {
    fn name(self) -> &'static str {
        match self {
            Self::Translated => "translated",
            Self::Failed => "failed",
        }
    }
}

/// What the watch reports for one definition (`PUT /v1/translations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationReport {
    /// The definition's file path or URL (the key: a new report replaces the last one).
    pub origin: String,
    pub definition_id: String,
    pub status: TranslationStatus,
    pub definition_sha256: Option<String>,
    pub version: Option<String>,
    /// The translated component's plugin name.
    pub plugin: Option<String>,
    pub component_sha256: Option<String>,
    /// Why it failed (required when `status` is `failed`).
    pub error: Option<String>,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TranslationView {
    #[serde(flatten)]
    pub report: TranslationReport,
    pub updated_ns: i64,
    /// Who reported it (`name (role)`).
    pub reported_by: String,
}

const MAX_ORIGIN: usize = 2_048;
const MAX_NAME: usize = 256;
const MAX_ERROR: usize = 16 * 1024;

impl TranslationReport {
    /// Refuses what the table should not hold, naming the field.
    pub fn check(&self) -> Result<(), ApiError> {
        let bad = |field: &str, why: String| {
            Err(ApiError::bad_request(format!(
                "translation report `{field}`: {why}"
            )))
        };
        if self.origin.trim().is_empty() || self.origin.len() > MAX_ORIGIN {
            return bad(
                "origin",
                format!("1 to {MAX_ORIGIN} bytes (a file path or URL)"),
            );
        }
        for (field, v) in [
            ("definition_id", Some(&self.definition_id)),
            ("version", self.version.as_ref()),
            ("plugin", self.plugin.as_ref()),
        ] {
            if let Some(v) = v
                && (v.trim().is_empty() || v.len() > MAX_NAME || v.chars().any(char::is_control))
            {
                return bad(
                    field,
                    format!("1 to {MAX_NAME} bytes without control characters"),
                );
            }
        }
        for (field, v) in [
            ("definition_sha256", &self.definition_sha256),
            ("component_sha256", &self.component_sha256),
        ] {
            if let Some(v) = v
                && (v.len() != 64
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            {
                return bad(field, "64 lowercase hex digits".to_string());
            }
        }
        if self.error.as_ref().is_some_and(|e| e.len() > MAX_ERROR) {
            return bad("error", format!("at most {MAX_ERROR} bytes"));
        }
        match (self.status, &self.error) {
            (TranslationStatus::Failed, None) => {
                bad("error", "required when status is `failed`".into())
            }
            (TranslationStatus::Translated, Some(_)) => {
                bad("error", "only with status `failed`".into())
            }
            _ => Ok(()),
        }
    }
}

/// Stores `report` as the newest outcome of its origin.
pub async fn upsert(
    pool: &AnyPool,
    report: &TranslationReport,
    reported_by: &str,
    now_ns: i64,
) -> Result<TranslationView, DbError> {
    sqlx::query(
        "INSERT INTO translations (origin, definition_id, status, definition_sha256, version, plugin, component_sha256, error, updated_ns, reported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (origin) DO UPDATE SET definition_id = excluded.definition_id, status = excluded.status, definition_sha256 = excluded.definition_sha256, version = excluded.version, plugin = excluded.plugin, component_sha256 = excluded.component_sha256, error = excluded.error, updated_ns = excluded.updated_ns, reported_by = excluded.reported_by",
    )
    .bind(report.origin.clone())
    .bind(report.definition_id.clone())
    .bind(report.status.name())
    .bind(report.definition_sha256.clone())
    .bind(report.version.clone())
    .bind(report.plugin.clone())
    .bind(report.component_sha256.clone())
    .bind(report.error.clone())
    .bind(now_ns)
    .bind(reported_by.to_string())
    .execute(pool)
    .await
    .map_err(db::err("storing a translation report"))?;
    Ok(TranslationView {
        report: report.clone(),
        updated_ns: now_ns,
        reported_by: reported_by.to_string(),
    })
}

/// Every definition's newest outcome, most recently updated first.
pub async fn list(pool: &AnyPool) -> Result<Vec<TranslationView>, DbError> {
    let rows = sqlx::query(
        "SELECT origin, definition_id, status, definition_sha256, version, plugin, component_sha256, error, updated_ns, reported_by FROM translations ORDER BY updated_ns DESC, origin",
    )
    .fetch_all(pool)
    .await
    .map_err(db::err("reading translation reports"))?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(TranslationView {
                report: TranslationReport {
                    origin: r.try_get("origin")?,
                    definition_id: r.try_get("definition_id")?,
                    status: if status == "translated" {
                        TranslationStatus::Translated
                    } else {
                        TranslationStatus::Failed
                    },
                    definition_sha256: r.try_get("definition_sha256")?,
                    version: r.try_get("version")?,
                    plugin: r.try_get("plugin")?,
                    component_sha256: r.try_get("component_sha256")?,
                    error: r.try_get("error")?,
                },
                updated_ns: r.try_get("updated_ns")?,
                reported_by: r.try_get("reported_by")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db::err("reading a translation report"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> TranslationReport {
        TranslationReport {
            origin: "defs/cross.json".into(),
            definition_id: "cross".into(),
            status: TranslationStatus::Failed,
            definition_sha256: Some("a".repeat(64)),
            version: None,
            plugin: None,
            component_sha256: None,
            error: Some("rules[0]: unknown indicator".into()),
        }
    }

    #[test]
    fn reports_are_checked_field_by_field() {
        report().check().unwrap();
        let msg = |r: TranslationReport| r.check().unwrap_err().message;
        assert!(
            msg(TranslationReport {
                origin: " ".into(),
                ..report()
            })
            .contains("`origin`")
        );
        assert!(
            msg(TranslationReport {
                definition_sha256: Some("AB".into()),
                ..report()
            })
            .contains("`definition_sha256`")
        );
        assert!(
            msg(TranslationReport {
                error: None,
                ..report()
            })
            .contains("required when status is `failed`")
        );
        assert!(
            msg(TranslationReport {
                status: TranslationStatus::Translated,
                ..report()
            })
            .contains("only with status `failed`")
        );
        assert!(
            msg(TranslationReport {
                version: Some("1\n".into()),
                ..report()
            })
            .contains("`version`")
        );
    }
}
