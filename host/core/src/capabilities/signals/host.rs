//! The `signals` interface as seen by the guest.

use super::state::{SignalSubscription, SignalsState};
use crate::{
    bindings::{
        signals::{Host, SignalError, SubscriptionId},
        types::{InstrumentId, SignalType},
    },
    capabilities::contract::{SignalTrap, check_granted, check_str, in_scope},
};

impl Host for SignalsState {
    fn convert_signal_error(&mut self, err: SignalTrap) -> wasmtime::Result<SignalError> {
        err.into_wit()
    }

    fn subscribe(
        &mut self,
        signal_type: SignalType,
        instrument_id: Option<InstrumentId>,
    ) -> Result<SubscriptionId, SignalTrap> {
        check_granted(self.granted, "signals", "subscribe")?;
        if self
            .scope
            .types
            .as_ref()
            .is_some_and(|t| !t.contains(&signal_type))
        {
            return Err(SignalError::TypeNotGranted(signal_type).into());
        }
        if let Some(id) = &instrument_id {
            check_str(id, "signals.subscribe: instrument id")?;
            if self.market.instrument(id).is_none()
                || !in_scope(self.scope.instruments.as_ref(), id)
            {
                return Err(SignalError::InstrumentNotGranted(id.clone()).into());
            }
        }
        if let Some(existing) = self
            .subscriptions
            .iter()
            .find(|s| s.signal_type == signal_type && s.instrument_id == instrument_id)
        {
            return Ok(existing.id);
        }
        if self.subscriptions.len() >= self.max_subscriptions {
            return Err(SignalError::TooManySubscriptions(
                u32::try_from(self.max_subscriptions).unwrap_or(u32::MAX),
            )
            .into());
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.subscriptions.push(SignalSubscription {
            id,
            signal_type,
            instrument_id,
        });
        Ok(id)
    }

    fn unsubscribe(&mut self, id: SubscriptionId) -> Result<(), SignalTrap> {
        check_granted(self.granted, "signals", "unsubscribe")?;
        let Some(pos) = self.subscriptions.iter().position(|s| s.id == id) else {
            return Err(SignalError::UnknownSubscription(id).into());
        };
        self.subscriptions.remove(pos);
        Ok(())
    }
}
