//! The host service (`stratbox serve`): a content-addressed component registry,
//! deployments under reviewed capability grants, hot-swap with state transfer and
//! rollback, an HTTP API with roles, the hash-chained audit trail in the database,
//! Prometheus metrics and a WebSocket stream of session events.
//!
//! Layering: the API ([`api`]) parses and answers; [`ops`] decides and audits; sessions
//! run in the Nautilus layer ([`crate::nautilus::paper`]).

pub mod api;
pub mod audit_store;
mod audit_tx;
pub mod auth;
pub mod auth_failures;
mod body;
pub mod config;
pub mod console;
pub mod db;
pub mod deployments;
pub mod error;
pub mod grants;
pub mod jobs;
mod launch;
pub mod metrics;
mod openapi_doc;
pub mod ops;
mod recovery;
pub mod registry;
pub mod session;
pub mod signals;
pub mod translations;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use cap_std::fs::Dir;
use sqlx::AnyPool;
use tokio::sync::broadcast;

pub use self::config::ServiceConfig;
use self::{deployments::Deployment, registry::Registry};
use crate::{
    audit::{AuditAction, AuditLog},
    sandbox::{EngineOptions, SandboxEngine},
};

/// Shared by every request.
pub struct AppState {
    pub config: ServiceConfig,
    pub pool: AnyPool,
    pub audit: AuditLog,
    /// Signs the audit trail's checkpoints (also for appends made in a request's own
    /// transaction: [`audit_store::append_in`]).
    pub audit_signer: Arc<crate::audit::Signer>,
    pub registry: Registry,
    pub snapshots: Dir,
    /// Live deployments' checkpoints and signal journals (`<state_dir>/checkpoints`).
    pub checkpoints: Dir,
    pub data_dir: Dir,
    pub stream: broadcast::Sender<deployments::StreamEvent>,
    pub accepting: AtomicBool,
    /// The service-wide kill switch and the host-wide book every deployment shares.
    pub risk: crate::capabilities::risk_gate::SharedRisk,
    /// The state folder (`trading-state.json` keeps the service-wide trading state).
    pub state_dir: Dir,
    /// Authentication failures per client address: rate and audit summaries.
    pub auth_failures: auth_failures::AuthFailures,
    /// Backtest and sweep jobs: the worker pool, the jobs of this process and their
    /// stream (a second broadcast channel beside [`Self::stream`]).
    pub jobs: jobs::Jobs,
    /// Breakers and numbering of the signals posted to the service.
    pub signals: signals::SignalBook,
    deployments: Mutex<BTreeMap<String, Arc<Deployment>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub(crate) fn insert_deployment(&self, d: Arc<Deployment>) {
        self.deployments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(d.id.clone(), d);
    }

    #[must_use]
    pub fn deployment(&self, id: &str) -> Option<Arc<Deployment>> {
        self.deployments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    #[must_use]
    pub fn deployments(&self) -> Vec<Arc<Deployment>> {
        self.deployments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// The service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Audit(#[from] audit_store::OpenAuditError),
    #[error("{0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("the sandbox engine: {0}")]
    Engine(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Opens the database (migrations), verifies and continues the audit trail, opens the
    /// registry and data folders, and starts listening. Call inside a multi-thread tokio
    /// runtime.
    pub async fn start(config: ServiceConfig) -> Result<Self, StartError> {
        config.check()?;
        let pool = db::open(&config.database_url, 8).await?;
        let url = config.database_url.clone();
        let key = config.audit_key_path();
        let trail = tokio::task::spawn_blocking(move || {
            let (signer, new_key) = audit_store::load_key(&key)?;
            audit_store::open(&url, signer, new_key).map_err(StartError::from)
        })
        .await
        .map_err(|e| StartError::Other(e.to_string()))??;
        let (audit, audit_signer, records) = (trail.log, trail.signer, trail.records);
        let state_dir = crate::storage::create_dir(&config.state_dir)?;
        for sub in [
            "plugins",
            "snapshots",
            crate::nautilus::live::checkpoint::CHECKPOINTS_DIR,
            jobs::JOBS_DIR,
        ] {
            state_dir.create_dir_all(sub).map_err(|source| {
                crate::storage::StorageError::Write {
                    name: sub.into(),
                    source,
                }
            })?;
        }
        let open_sub = |name: &str| {
            state_dir
                .open_dir(name)
                .map_err(|source| crate::storage::StorageError::Dir {
                    path: config.state_dir.join(name),
                    source,
                })
        };
        let blobs = open_sub("plugins")?;
        let snapshots = open_sub("snapshots")?;
        let checkpoints = open_sub(crate::nautilus::live::checkpoint::CHECKPOINTS_DIR)?;
        let jobs = jobs::Jobs::new(
            open_sub(jobs::JOBS_DIR)?,
            config.job_workers,
            config.job_queue,
        );
        let data_dir = crate::storage::open_dir(&config.data_dir)?;
        let signals =
            signals::SignalBook::open(&pool, crate::signals::router::BreakerConfig::default())
                .await?;
        let engine = SandboxEngine::new(EngineOptions::default())
            .map_err(|e| StartError::Engine(e.to_string()))?;
        metrics::handle();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
        let (stream, _) = broadcast::channel(4096);
        let risk = crate::capabilities::risk_gate::SharedRisk::new(
            audit.clone(),
            crate::notify::Notifiers::log(),
        );
        // A service-wide halt outlives a restart: it was audited when it was set.
        let stored = crate::capabilities::risk_gate::persist::StoredStates::load(&state_dir)
            .map_err(|e| StartError::Other(format!("{}: {e}", config.state_dir.display())))?;
        risk.control.restore(&stored);
        let auth_window = Duration::from_secs(config.auth_failure_window_s);
        let auth_failures =
            auth_failures::AuthFailures::new(config.auth_failures_per_window, auth_window);
        let state = Arc::new(AppState {
            config,
            pool,
            audit,
            audit_signer,
            registry: Registry::new(blobs, engine),
            snapshots,
            checkpoints,
            data_dir,
            stream,
            accepting: AtomicBool::new(true),
            risk,
            state_dir,
            auth_failures,
            jobs,
            signals,
            deployments: Mutex::default(),
        });
        let bootstrap = match std::env::var("STRATBOX_ADMIN_TOKEN") {
            Ok(token) => Some(bootstrap_admin(&state, &token).await?),
            Err(_) => None,
        };
        state
            .audit(
                "host",
                AuditAction::ServiceLifecycle,
                "service",
                serde_json::json!({ "event": "started", "listen": addr.to_string(), "audit_records": records, "database": db::redact(&state.config.database_url), "bootstrap_token": bootstrap }),
            )
            .await
            .map_err(|e| StartError::Other(e.message))?;
        // Live deployments a crash interrupted resume from their checkpoints before the
        // first request is served.
        recovery::resume_interrupted(&state).await;
        // Jobs a crash left queued or running are not rerun: marked interrupted (audited).
        jobs::interrupt_left_over(&state).await;
        let app = api::router(Arc::clone(&state));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let flusher = tokio::spawn(auth_failures::flush_every_window(
            Arc::downgrade(&state),
            state.auth_failures.window(),
        ));
        let task = tokio::spawn(async move {
            // The peer address keys the rate limit of authentication failures.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("server: {e}");
            }
            flusher.abort();
        });
        tracing::info!(%addr, "stratbox service listening");
        Ok(Self {
            addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Graceful shutdown: stop intake (readiness fails, new requests get 503), stop every
    /// session (each snapshots its plugin's state), close the listener, audit, close the
    /// database.
    pub async fn shutdown(mut self) {
        self.state.accepting.store(false, Ordering::SeqCst);
        for dep in self.state.deployments() {
            if dep.current().status == "running"
                && let Err(e) = ops::stop(&dep, Duration::from_secs(30)).await
            {
                tracing::error!(deployment = %dep.id, "{}", e.message);
            }
        }
        // Queued jobs end now, running ones at their next chunk boundary: `interrupted`.
        jobs::shut_down(&self.state, Duration::from_secs(30)).await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Err(e) = self.state.flush_auth_failures().await {
            tracing::error!("auditing authentication failures: {}", e.message);
        }
        let _ = self
            .state
            .audit(
                "host",
                AuditAction::ServiceLifecycle,
                "service",
                serde_json::json!({ "event": "stopped" }),
            )
            .await;
        if let Err(e) = audit_store::sign_head(&self.state.pool, &self.state.audit_signer).await {
            tracing::error!("the audit head was not signed at shutdown: {e}");
        }
        self.state.pool.close().await;
    }
}

/// What became of `STRATBOX_ADMIN_TOKEN` at a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bootstrap {
    /// First start: stored as the admin token `bootstrap` (audited).
    Stored,
    /// Known and live: nothing to do.
    Known,
    /// Known but revoked: it stays revoked and grants nothing; the service starts anyway
    /// and says so in the log (remove it from the environment).
    Revoked,
}

/// Stores `STRATBOX_ADMIN_TOKEN` as an admin token named `bootstrap` if it is not known
/// yet (first start of a container); audited. A token revoked since is never revived: the
/// start goes on without it (a revoked token in the environment must not keep the service
/// down, nor come back to life).
pub async fn bootstrap_admin(state: &AppState, token: &str) -> Result<Bootstrap, StartError> {
    use sqlx::Row;
    if token.len() < 32 {
        return Err(StartError::Other(
            "STRATBOX_ADMIN_TOKEN must be at least 32 characters (use `openssl rand -hex 32`)"
                .into(),
        ));
    }
    let known = sqlx::query("SELECT revoked_ns FROM tokens WHERE hash = $1")
        .bind(auth::token_hash(token))
        .fetch_optional(&state.pool)
        .await
        .map_err(db::err("looking up the bootstrap token"))?;
    if let Some(row) = known {
        let revoked: Option<i64> = row
            .try_get("revoked_ns")
            .map_err(db::err("reading the bootstrap token"))?;
        if revoked.is_some() {
            tracing::warn!(
                "STRATBOX_ADMIN_TOKEN was revoked: it grants nothing; remove it from the environment"
            );
            return Ok(Bootstrap::Revoked);
        }
        return Ok(Bootstrap::Known);
    }
    // The token and its audit record commit together: it exists only once it is on record.
    let other = |e: error::ApiError| StartError::Other(e.message);
    let mut tx = state.begin().await.map_err(other)?;
    auth::store_token(
        &mut *tx,
        token,
        "bootstrap",
        auth::Role::Admin,
        "environment",
    )
    .await?;
    state
        .audit_in(
            &mut tx,
            "environment",
            AuditAction::TokenChanged,
            "token bootstrap",
            serde_json::json!({ "issued": "bootstrap", "role": "admin" }),
        )
        .await
        .map_err(other)?;
    audit_tx::commit(tx, "the bootstrap token")
        .await
        .map_err(other)?;
    Ok(Bootstrap::Stored)
}

/// Runs the service until SIGINT/SIGTERM, then shuts down gracefully.
pub fn serve(config: ServiceConfig) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(e.to_string()))?;
    runtime.block_on(async move {
        let server = Server::start(config).await?;
        eprintln!("stratbox service listening on http://{}", server.addr);
        shutdown_signal().await;
        eprintln!("stopping: sessions snapshot their state, the audit trail is flushed");
        server.shutdown().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Creates a token directly in the database (the first admin, or from an operator shell).
pub fn create_token(
    database_url: &str,
    audit_key: &std::path::Path,
    name: &str,
    role: auth::Role,
) -> Result<String, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(e.to_string()))?;
    let url = database_url.to_string();
    let (signer, new_key) = audit_store::load_key(audit_key)?;
    let audit = audit_store::open(&url, signer, new_key)?.log;
    runtime.block_on(async {
        let pool = db::open(&url, 1).await?;
        let token = auth::new_token().map_err(|e| StartError::Other(e.message))?;
        auth::store_token(&pool, &token, name, role, "cli").await?;
        audit
            .append(
                "cli",
                AuditAction::TokenChanged,
                &format!("token {name}"),
                serde_json::json!({ "issued": name, "role": role.name() }),
            )
            .map_err(|e| StartError::Other(e.to_string()))?;
        pool.close().await;
        Ok(token)
    })
}

/// Reads and verifies the audit trail in the database: the chain, every signed
/// checkpoint against `public_key` (hex), and the operator's `anchor` if given.
pub fn verify_audit(
    database_url: &str,
    public_key: &str,
    anchor: Option<&crate::audit::Anchor>,
) -> Result<Result<crate::audit::Verified, crate::audit::TrailError>, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(e.to_string()))?;
    runtime.block_on(async {
        let pool = db::open(database_url, 1).await?;
        let (records, checkpoints) = audit_store::trail(&pool).await?;
        pool.close().await;
        Ok(crate::audit::verify_trail(
            &records,
            &checkpoints,
            public_key,
            anchor,
        ))
    })
}
