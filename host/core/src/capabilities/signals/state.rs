//! Per-instance signal state: grant scope and subscriptions.

use std::{collections::BTreeSet, sync::Arc};

use serde::Serialize;

use crate::{
    bindings::types::{AiSignal, InstrumentId, SignalType},
    capabilities::{contract::in_scope, market_data::MarketDataSource},
};

/// What a signals grant covers; empty / `None` fields do not narrow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalScope {
    pub types: Option<Vec<SignalType>>,
    pub instruments: Option<BTreeSet<String>>,
    pub source_models: Option<BTreeSet<String>>,
}

/// One signal subscription of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalSubscription {
    pub id: u32,
    pub signal_type: SignalType,
    /// `None`: every granted instrument.
    pub instrument_id: Option<InstrumentId>,
}

/// Signal state of one instance.
pub struct SignalsState {
    pub(super) granted: bool,
    pub(super) scope: SignalScope,
    pub(super) market: Arc<dyn MarketDataSource>,
    pub(super) subscriptions: Vec<SignalSubscription>,
    pub(super) next_id: u32,
    pub(super) max_subscriptions: usize,
}

impl std::fmt::Debug for SignalsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalsState")
            .field("granted", &self.granted)
            .field("scope", &self.scope)
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl SignalsState {
    #[must_use]
    pub fn new(
        granted: bool,
        scope: SignalScope,
        market: Arc<dyn MarketDataSource>,
        max_subscriptions: u64,
    ) -> Self {
        Self {
            granted,
            scope,
            market,
            subscriptions: Vec::new(),
            next_id: 0,
            max_subscriptions: usize::try_from(max_subscriptions).unwrap_or(usize::MAX),
        }
    }

    #[must_use]
    pub fn subscriptions(&self) -> &[SignalSubscription] {
        &self.subscriptions
    }

    /// Whether `signal` may and should be delivered to this plugin: the capability is
    /// granted, the signal is inside the grant's scope, and a subscription matches.
    #[must_use]
    pub fn wants(&self, signal: &AiSignal) -> bool {
        self.wants_parts(
            signal.signal_type,
            &signal.instrument_id,
            &signal.source_model,
        )
    }

    /// [`Self::wants`] from the three fields it looks at (no conversion on the hot path).
    #[must_use]
    pub fn wants_parts(
        &self,
        signal_type: SignalType,
        instrument_id: &str,
        source_model: &str,
    ) -> bool {
        self.granted
            && self
                .scope
                .types
                .as_ref()
                .is_none_or(|t| t.contains(&signal_type))
            && in_scope(self.scope.instruments.as_ref(), instrument_id)
            && self
                .scope
                .source_models
                .as_ref()
                .is_none_or(|m| m.contains(source_model))
            && self.subscriptions.iter().any(|s| {
                s.signal_type == signal_type
                    && s.instrument_id
                        .as_deref()
                        .is_none_or(|i| i == instrument_id)
            })
    }
}

impl SignalsState {
    /// Takes over `from`'s signal subscriptions (a hot-swap). Delivery still checks every
    /// signal against this (the new) state's scope.
    pub(super) fn take_over_session(&mut self, from: &mut Self) -> Result<(), String> {
        if from.subscriptions.is_empty() {
            return Ok(());
        }
        if !self.granted {
            return Err(
                "the new version holds no signals grant but the running one is subscribed".into(),
            );
        }
        if from.subscriptions.len() > self.max_subscriptions {
            return Err(format!(
                "{} signal subscriptions exceed the new version's limit of {}",
                from.subscriptions.len(),
                self.max_subscriptions
            ));
        }
        self.subscriptions = std::mem::take(&mut from.subscriptions);
        self.next_id = from.next_id;
        Ok(())
    }
}
