//! What every gate of one host shares: the policy, the trading states, the audit trail and
//! the host-wide book behind the `[global]` limits.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use super::{control::TradingControl, policy::RiskPolicy};
use crate::{audit::AuditLog, notify::Notifiers};

/// One plugin's share of the host-wide figures (policy currency, raw at scale 10^9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginFigures {
    pub gross_exposure: i128,
    pub open_orders: u32,
    /// Realized + unrealized PnL.
    pub pnl: i128,
}

/// What a hub's book holds now, for display (raw at scale 10^9, policy currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// One plugin of this member.
    pub plugin: PluginFigures,
    /// Every plugin of every member of the book together.
    pub all: PluginFigures,
    /// Fall of the book's PnL from its peak (≥ 0).
    pub drawdown: i128,
    /// Loss since the start of the UTC day of event time (≥ 0; 0 before the first day).
    pub daily_loss: i128,
}

/// Host-wide figures.
#[derive(Debug, Default)]
pub struct Book {
    pub(super) plugins: BTreeMap<String, PluginFigures>,
    /// Event times of accepted orders in the last second, all plugins.
    pub(super) recent: VecDeque<u64>,
    pub(super) peak_pnl: i128,
    pub(super) day: Option<u64>,
    pub(super) day_start_pnl: i128,
}

impl Book {
    /// Sum over plugins other than `except`.
    pub(super) fn others(&self, except: &str) -> PluginFigures {
        self.plugins
            .iter()
            .filter(|(name, _)| name.as_str() != except)
            .fold(PluginFigures::default(), |acc, (_, f)| PluginFigures {
                gross_exposure: acc.gross_exposure.saturating_add(f.gross_exposure),
                open_orders: acc.open_orders.saturating_add(f.open_orders),
                pnl: acc.pnl.saturating_add(f.pnl),
            })
    }
}

/// What the hubs of one service share: the service-wide trading state (its kill switch,
/// the parent of every deployment's control) and the host-wide book its `[global]` limits
/// are checked against.
#[derive(Debug, Clone)]
pub struct SharedRisk {
    pub control: TradingControl,
    book: Arc<Mutex<Book>>,
}

impl SharedRisk {
    /// Everything `ACTIVE`, an empty book; changes audited to `audit`.
    #[must_use]
    pub fn new(audit: AuditLog, notifiers: Notifiers) -> Self {
        Self {
            control: TradingControl::new(audit, notifiers),
            book: Arc::default(),
        }
    }
}

/// Shared by the gates of one host (one backtest, one live node, one deployment).
#[derive(Debug)]
pub struct RiskHub {
    pub policy: Arc<RiskPolicy>,
    pub control: TradingControl,
    pub audit: AuditLog,
    book: Arc<Mutex<Book>>,
    /// Prefix of this hub's entries in a shared book (`<deployment>/`), empty alone.
    member: String,
}

impl RiskHub {
    /// A hub applying `policy`, auditing to `audit`, notifying `notifiers`.
    #[must_use]
    pub fn new(policy: RiskPolicy, audit: AuditLog, notifiers: Notifiers) -> Arc<Self> {
        Arc::new(Self {
            policy: Arc::new(policy),
            control: TradingControl::new(audit.clone(), notifiers),
            audit,
            book: Arc::default(),
            member: String::new(),
        })
    }

    /// A hub of one member (`member`, e.g. a deployment id) of `shared`: its own control is
    /// a child of the shared one, and its gates publish to and check against the shared
    /// book, so `[global]` limits hold across every member.
    #[must_use]
    pub fn joined(
        policy: RiskPolicy,
        shared: &SharedRisk,
        member: &str,
        notifiers: Notifiers,
    ) -> Arc<Self> {
        let control = shared.control.child(notifiers);
        Arc::new(Self {
            policy: Arc::new(policy),
            audit: control.audit().clone(),
            control,
            book: Arc::clone(&shared.book),
            member: format!("{member}/"),
        })
    }

    /// The key of `plugin`'s figures in the book.
    pub(super) fn book_key(&self, plugin: &str) -> String {
        format!("{}{plugin}", self.member)
    }

    /// No limits beyond the contract's checks; changes logged; audit to `audit`.
    #[must_use]
    pub fn permissive(audit: AuditLog) -> Arc<Self> {
        Self::new(RiskPolicy::default(), audit, Notifiers::log())
    }

    /// `plugin`'s figures (of this member) and the whole book's, as the gates see them now.
    #[must_use]
    pub fn usage(&self, plugin: &str) -> Usage {
        let book = self.book();
        let mine = book
            .plugins
            .get(&self.book_key(plugin))
            .copied()
            .unwrap_or_default();
        // Keys are never empty: "every plugin but none".
        let all = book.others("");
        Usage {
            plugin: mine,
            all,
            drawdown: book.peak_pnl.saturating_sub(all.pnl).max(0),
            daily_loss: book
                .day
                .map_or(0, |_| book.day_start_pnl.saturating_sub(all.pnl).max(0)),
        }
    }

    pub(super) fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
