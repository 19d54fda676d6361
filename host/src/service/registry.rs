//! The component registry: components checked with the `inspect` rules, stored under their
//! sha256 (`<state_dir>/plugins/<digest>.wasm`, written atomically, never rewritten) and
//! listed by manifest name and version. One name and version is one digest, forever.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use cap_std::fs::Dir;
use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::{
    db::{self, DbError},
    error::{ApiError, ErrorCode},
};
use crate::sandbox::{LoadPolicy, PluginComponent, SandboxEngine};

/// A stored component.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginRecord {
    pub digest: String,
    pub name: String,
    pub version: String,
    pub size: i64,
    /// What `stratbox inspect --json` says about it: imports, exports, requested
    /// capabilities, limits.
    #[schema(value_type = Object)]
    pub inspection: serde_json::Value,
    pub uploaded_by: String,
    pub uploaded_ns: i64,
}

/// Blob store + compiled-component cache.
pub struct Registry {
    blobs: Dir,
    engine: SandboxEngine,
    compiled: Mutex<HashMap<String, Arc<PluginComponent>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// Only `<64 hex>` names a blob: anything else is refused before touching the disk.
pub fn check_digest(digest: &str) -> Result<(), ApiError> {
    if digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "`{digest}` is not a sha256 digest (64 lowercase hex digits)"
        )))
    }
}

impl Registry {
    #[must_use]
    pub fn new(blobs: Dir, engine: SandboxEngine) -> Self {
        Self {
            blobs,
            engine,
            compiled: Mutex::default(),
        }
    }

    #[must_use]
    pub fn engine(&self) -> &SandboxEngine {
        &self.engine
    }

    /// Checks and compiles `bytes` (CPU work: call from a blocking thread).
    pub fn check(&self, bytes: &[u8]) -> Result<PluginComponent, ApiError> {
        PluginComponent::load(&self.engine, bytes, &LoadPolicy::default()).map_err(|refused| {
            ApiError::new(
                ErrorCode::ComponentRefused,
                format!("the component was refused:\n{}", refused.0.refusal_text()),
            )
            .with_details(serde_json::to_value(&*refused.0).unwrap_or_default())
        })
    }

    /// Stores the blob of an accepted component (idempotent: same digest, same bytes).
    pub fn store_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), ApiError> {
        check_digest(digest)?;
        let name = format!("{digest}.wasm");
        if self.blobs.exists(&name) {
            return Ok(());
        }
        crate::storage::write_atomic(&self.blobs, &name, bytes).map_err(ApiError::internal)
    }

    /// The stored bytes of `digest` (re-hashed).
    pub fn blob(&self, digest: &str) -> Result<Vec<u8>, ApiError> {
        check_digest(digest)?;
        let bytes = self
            .blobs
            .read(format!("{digest}.wasm"))
            .map_err(|e| ApiError::internal(format!("reading component {digest}: {e}")))?;
        let actual = crate::sandbox::sha256_hex(&bytes);
        if actual != digest {
            return Err(ApiError::internal(format!(
                "the stored blob {digest}.wasm hashes to {actual}: the registry was altered on disk"
            )));
        }
        Ok(bytes)
    }

    /// The compiled component of `digest`, from the cache or the blob (re-hashed).
    pub fn component(&self, digest: &str) -> Result<Arc<PluginComponent>, ApiError> {
        check_digest(digest)?;
        if let Some(c) = self
            .compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
        {
            return Ok(Arc::clone(c));
        }
        let bytes = self.blobs.read(format!("{digest}.wasm")).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ApiError::not_found(format!(
                    "no component with digest {digest}; upload it with POST /v1/plugins"
                ))
            } else {
                ApiError::internal(format!("reading component {digest}: {e}"))
            }
        })?;
        let actual = crate::sandbox::sha256_hex(&bytes);
        if actual != digest {
            return Err(ApiError::internal(format!(
                "the stored blob {digest}.wasm hashes to {actual}: the registry was altered on disk"
            )));
        }
        let component = Arc::new(self.check(&bytes)?);
        self.compiled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest.to_string(), Arc::clone(&component));
        Ok(component)
    }
}

const COLUMNS: &str =
    "SELECT digest, name, version, size, inspection, uploaded_by, uploaded_ns FROM plugins";

fn row(r: &sqlx::any::AnyRow) -> Result<PluginRecord, DbError> {
    let get = || -> Result<PluginRecord, sqlx::Error> {
        let inspection: String = r.try_get("inspection")?;
        Ok(PluginRecord {
            digest: r.try_get("digest")?,
            name: r.try_get("name")?,
            version: r.try_get("version")?,
            size: r.try_get("size")?,
            inspection: serde_json::from_str(&inspection)
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?,
            uploaded_by: r.try_get("uploaded_by")?,
            uploaded_ns: r.try_get("uploaded_ns")?,
        })
    };
    get().map_err(db::err("reading a plugin"))
}

pub async fn get(pool: &AnyPool, digest: &str) -> Result<Option<PluginRecord>, DbError> {
    let q = format!("{COLUMNS} WHERE digest = $1");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(digest.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db::err("reading a plugin"))?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn by_name_version(
    pool: &AnyPool,
    name: &str,
    version: &str,
) -> Result<Option<PluginRecord>, DbError> {
    let q = format!("{COLUMNS} WHERE name = $1 AND version = $2");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(name.to_string())
        .bind(version.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db::err("reading a plugin"))?
        .as_ref()
        .map(row)
        .transpose()
}

pub async fn list(pool: &AnyPool) -> Result<Vec<PluginRecord>, DbError> {
    let q = format!("{COLUMNS} ORDER BY name, uploaded_ns");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(pool)
        .await
        .map_err(db::err("listing plugins"))?
        .iter()
        .map(row)
        .collect()
}

pub async fn insert(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    p: &PluginRecord,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO plugins (digest, name, version, size, inspection, uploaded_by, uploaded_ns) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(p.digest.clone())
    .bind(p.name.clone())
    .bind(p.version.clone())
    .bind(p.size)
    .bind(p.inspection.to_string())
    .bind(p.uploaded_by.clone())
    .bind(p.uploaded_ns)
    .execute(db)
    .await
    .map_err(db::err("storing a plugin"))?;
    Ok(())
}
