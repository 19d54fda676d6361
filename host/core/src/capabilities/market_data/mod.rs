//! Capability: market data. Subscriptions to bars, quotes and trades of granted
//! instruments; instrument definitions; last values. The host's data source behind it is a
//! trait, implemented by the Nautilus adapter (cache) and by the replay driver.

mod host;
mod state;

pub use state::{MarketDataState, Subscription};

use std::sync::Arc;

use stratbox_manifest::Capability;
use wasmtime::component::{HasSelf, Linker};

use super::{CapabilityUnit, Prepare, contract::requested_instruments};
use crate::bindings::{
    self,
    types::{Bar, BarType, InstrumentInfo, QuoteTick},
};

/// Where market data comes from. Values returned here are delivered as they are (the
/// `stream` field of bars and quotes is set by the capability).
pub trait MarketDataSource: Send + Sync {
    /// The definition of `instrument_id`, if the host knows it.
    fn instrument(&self, instrument_id: &str) -> Option<InstrumentInfo>;
    /// The latest quote at or before the current event.
    fn last_quote(&self, instrument_id: &str) -> Option<QuoteTick>;
    /// The latest bar of `bar_type` at or before the current event.
    fn last_bar(&self, bar_type: &BarType) -> Option<Bar>;
    /// Raw (bid, ask) to value positions and orders at: the last quote, or where a source
    /// knows no quote, its latest bar's close on both sides.
    fn mark(&self, instrument_id: &str) -> Option<(i64, i64)> {
        self.last_quote(instrument_id)
            .map(|q| (q.bid.raw, q.ask.raw))
    }
}

impl CapabilityUnit for MarketDataState {
    const CAPABILITY: Option<Capability> = Some(Capability::MarketData);

    fn link<T: 'static>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()> {
        bindings::market_data::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }

    fn prepare(cx: &mut Prepare<'_>) -> Self {
        Self::new(
            cx.granted(Capability::MarketData),
            requested_instruments(cx.request(Capability::MarketData)),
            Arc::clone(cx.market),
            cx.limits().max_subscriptions,
        )
    }

    fn take_over(&mut self, from: &mut Self) -> Result<(), String> {
        self.take_over_session(from)
    }

    fn revoke(&mut self) {
        self.granted = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use stratbox_manifest::CapabilityRequest;

    use super::{CapabilityUnit, MarketDataSource, MarketDataState};
    use crate::{
        bindings::market_data::{DataError, Host},
        capabilities::contract::HostError,
        sandbox::HostTrap,
        stubs::StaticMarket,
    };

    const GBP: &str = "GBP/USD.FXCM";
    const EUR: &str = "EUR/USD.FXCM";

    fn state(instruments: Option<&[&str]>) -> MarketDataState {
        let market: Arc<dyn MarketDataSource> = Arc::new(StaticMarket::gbpusd_and(&[EUR]));
        MarketDataState::new(
            true,
            instruments.map(|i| i.iter().map(|s| (*s).to_string()).collect()),
            market,
            4,
        )
    }

    fn request(instruments: &[&str]) -> CapabilityRequest {
        CapabilityRequest {
            instruments: instruments.iter().map(|s| (*s).to_string()).collect(),
            ..CapabilityRequest::default()
        }
    }

    #[test]
    fn scope_is_the_request_narrowed_by_the_grant() {
        let scope = MarketDataState::scope(&request(&[GBP, EUR]), &request(&[EUR])).unwrap();
        assert_eq!(scope.instruments, [EUR]);
        let all = MarketDataState::scope(&request(&[GBP]), &request(&[])).unwrap();
        assert_eq!(all.instruments, [GBP]);
        let e = MarketDataState::scope(&request(&[GBP]), &request(&["USD/JPY.FXCM"])).unwrap_err();
        assert_eq!(e.what, "instruments");
    }

    #[test]
    fn take_over_moves_subscriptions_only_into_a_scope_that_fits_them() {
        let mut old = state(None);
        old.subscribe_quotes(GBP.into()).unwrap();
        old.subscribe_quotes(EUR.into()).unwrap();
        let mut narrow = state(Some(&[GBP]));
        let e = CapabilityUnit::take_over(&mut narrow, &mut old).unwrap_err();
        assert!(e.contains(EUR), "{e}");
        assert_eq!(old.subscriptions().len(), 2, "nothing moved");
        let mut wide = state(None);
        CapabilityUnit::take_over(&mut wide, &mut old).unwrap();
        assert!(old.subscriptions().is_empty());
        assert_eq!(wide.quote_stream(EUR), Some(1), "stream ids move with them");
        assert_eq!(wide.subscribe_quotes(GBP.into()).unwrap(), 0);
    }

    #[test]
    fn out_of_scope_is_a_wit_error_and_a_revoked_grant_traps() {
        let mut s = state(Some(&[GBP]));
        match s.subscribe_quotes(EUR.into()) {
            Err(HostError::Wit(DataError::NotGranted(id))) => assert_eq!(id, EUR),
            other => panic!("{other:?}"),
        }
        match s.instrument("XXX/YYY.FXCM".into()) {
            Err(HostError::Wit(DataError::UnknownInstrument(_))) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(s.instrument(GBP.into()).unwrap().id, GBP);
        CapabilityUnit::revoke(&mut s);
        match s.subscribe_quotes(GBP.into()) {
            Err(HostError::Trap(t)) => assert!(
                matches!(
                    t.downcast_ref::<HostTrap>(),
                    Some(HostTrap::CapabilityDenied { .. })
                ),
                "{t:?}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
