//! The `signals` interface as seen by the guest. Every call is charged fuel for itself and
//! for the bytes it copies (decision 0021).

use super::state::{SignalSubscription, SignalsState};
use crate::{
    bindings::{
        signals::{Host, SignalError, SubscriptionId},
        types::{InstrumentId, SignalType},
    },
    capabilities::contract::{SignalTrap, check_granted, check_str, in_scope},
    sandbox::charge_host_call,
};

/// Bytes a signal error hands back to the guest.
fn error_bytes<T>(result: &Result<T, SignalTrap>) -> usize {
    match result {
        Err(SignalTrap::Wit(SignalError::InstrumentNotGranted(s))) => s.len(),
        _ => 0,
    }
}

impl SignalsState {
    fn do_subscribe(
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

    fn do_unsubscribe(&mut self, id: SubscriptionId) -> Result<(), SignalTrap> {
        check_granted(self.granted, "signals", "unsubscribe")?;
        let Some(pos) = self.subscriptions.iter().position(|s| s.id == id) else {
            return Err(SignalError::UnknownSubscription(id).into());
        };
        self.subscriptions.remove(pos);
        Ok(())
    }
}

impl Host for SignalsState {
    fn convert_signal_error(&mut self, err: SignalTrap) -> wasmtime::Result<SignalError> {
        err.into_wit()
    }

    fn subscribe(
        &mut self,
        signal_type: SignalType,
        instrument_id: Option<InstrumentId>,
    ) -> Result<SubscriptionId, SignalTrap> {
        let bytes = instrument_id.as_ref().map_or(0, String::len);
        let result = self.do_subscribe(signal_type, instrument_id);
        charge_host_call(bytes + error_bytes(&result));
        result
    }

    fn unsubscribe(&mut self, id: SubscriptionId) -> Result<(), SignalTrap> {
        let result = self.do_unsubscribe(id);
        charge_host_call(error_bytes(&result));
        result
    }
}
