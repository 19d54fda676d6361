//! Capability: market data. Subscriptions to bars, quotes and trades of granted
//! instruments; instrument definitions; last values. The host's data source behind it is a
//! trait, implemented by the Nautilus adapter (cache) and by the replay driver.

mod host;
mod state;

pub use state::{
    MAX_INDICATORS, MAX_SMOOTHING_PERIOD, MAX_WINDOW_PERIOD, MarketDataState, MarketSession,
    Registration, Subscription,
};

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

    use super::{CapabilityUnit, MarketDataSource, MarketDataState, MarketSession, Subscription};
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

    #[test]
    fn indicators_are_checked_deduplicated_dropped_with_their_stream_and_moved_on_swap() {
        use crate::bindings::types::{
            AggregationSource, AverageSpec, BandsSpec, BarAggregation, BarSpec, BarType,
            IndicatorSpec, PriceType,
        };
        let invalid = |r: Result<u32, HostError<DataError>>| match r {
            Err(HostError::Wit(DataError::Invalid(m))) => m,
            other => panic!("{other:?}"),
        };
        let ema = |period, price_type| IndicatorSpec::Ema(AverageSpec { period, price_type });
        let mut s = state(None);
        let quotes = s.subscribe_quotes(GBP.into()).unwrap();
        // Only a component that can receive the values may register.
        let m = invalid(s.register_indicator(quotes, ema(10, PriceType::Mid)));
        assert!(m.contains("indicator-events"), "{m}");
        s.set_indicator_events(true);

        let bars = s
            .subscribe_bars(BarType {
                instrument_id: GBP.into(),
                spec: BarSpec {
                    step: 1,
                    aggregation: BarAggregation::Minute,
                    price_type: PriceType::Bid,
                },
                source: AggregationSource::External,
            })
            .unwrap();
        let g0 = s.indicator_generation();
        let a = s
            .register_indicator(quotes, ema(10, PriceType::Mid))
            .unwrap();
        assert_eq!(
            s.register_indicator(quotes, ema(10, PriceType::Mid))
                .unwrap(),
            a
        );
        assert_ne!(s.indicator_generation(), g0);
        let b = s.register_indicator(bars, IndicatorSpec::Atr(14)).unwrap();
        assert_ne!(a, b);
        assert_eq!(s.indicators().len(), 2);

        // What Nautilus cannot feed, or would assert on, is refused with the reason.
        for (stream, spec, why) in [
            (quotes, IndicatorSpec::Atr(14), "bars only"),
            (quotes, IndicatorSpec::Donchian(20), "bars only"),
            (quotes, ema(10, PriceType::Last), "bid, ask or mid"),
            (quotes, ema(0, PriceType::Mid), "outside 1..=100000"),
            (
                bars,
                IndicatorSpec::Sma(AverageSpec {
                    period: 1_025,
                    price_type: PriceType::Last,
                }),
                "outside 1..=1024",
            ),
            (
                bars,
                IndicatorSpec::Bollinger(BandsSpec {
                    period: 20,
                    k: f64::NAN,
                }),
                "finite",
            ),
            (
                bars,
                IndicatorSpec::Bollinger(BandsSpec { period: 20, k: 0.0 }),
                "finite",
            ),
        ] {
            let m = invalid(s.register_indicator(stream, spec));
            assert!(m.contains(why), "{spec:?}: {m}");
        }
        match s.register_indicator(99, IndicatorSpec::Rsi(14)) {
            Err(HostError::Wit(DataError::UnknownStream(99))) => {}
            other => panic!("{other:?}"),
        }
        for p in 1..=30 {
            s.register_indicator(bars, IndicatorSpec::Rsi(p)).unwrap();
        }
        let m = invalid(s.register_indicator(bars, IndicatorSpec::Rsi(31)));
        assert!(m.contains("at most 32"), "{m}");

        // A swap moves them with their ids; the new version must be able to receive them.
        let mut old_cannot = state(None);
        let e = CapabilityUnit::take_over(&mut old_cannot, &mut s).unwrap_err();
        assert!(e.contains("indicator-events"), "{e}");
        let mut next = state(None);
        next.set_indicator_events(true);
        let before = s.indicators().to_vec();
        CapabilityUnit::take_over(&mut next, &mut s).unwrap();
        assert_eq!(next.indicators(), before.as_slice());
        assert!(s.indicators().is_empty());

        // Unsubscribing drops the stream's indicators.
        next.unsubscribe(quotes).unwrap();
        assert!(next.indicators().iter().all(|r| r.stream == bars));
        assert_eq!(next.indicators().len(), 31);
    }

    #[test]
    fn a_checkpoint_session_resumes_with_its_ids_and_is_checked_like_data_from_disk() {
        use crate::bindings::types::{AverageSpec, IndicatorSpec, PriceType};
        let ema = |period| {
            IndicatorSpec::Ema(AverageSpec {
                period,
                price_type: PriceType::Mid,
            })
        };
        let mut old = state(None);
        old.set_indicator_events(true);
        old.subscribe_quotes(EUR.into()).unwrap();
        let gbp = old.subscribe_quotes(GBP.into()).unwrap();
        old.unsubscribe(0).unwrap();
        let fast = old.register_indicator(gbp, ema(10)).unwrap();
        let slow = old.register_indicator(gbp, ema(20)).unwrap();
        let session = old.session();
        // Through JSON, as a checkpoint keeps it.
        let session: MarketSession =
            serde_json::from_str(&serde_json::to_string(&session).unwrap()).unwrap();

        let mut resumed = state(None);
        resumed.set_indicator_events(true);
        resumed.resume_session(session.clone()).unwrap();
        assert_eq!(resumed.quote_stream(GBP), Some(gbp), "stream ids are kept");
        assert_eq!(resumed.indicators(), old.indicators());
        // The plugin's on-start registering again finds the same ids.
        assert_eq!(resumed.subscribe_quotes(GBP.into()).unwrap(), gbp);
        assert_eq!(resumed.register_indicator(gbp, ema(20)).unwrap(), slow);
        assert_eq!(resumed.register_indicator(gbp, ema(10)).unwrap(), fast);
        assert_eq!(
            resumed.subscribe_quotes(EUR.into()).unwrap(),
            2,
            "new ids follow"
        );
        let e = resumed.resume_session(session.clone()).unwrap_err();
        assert!(e.contains("fresh"), "{e}");

        let refused = |edit: &dyn Fn(&mut MarketSession), scope: Option<&[&str]>, events| {
            let mut s = session.clone();
            edit(&mut s);
            let mut fresh = state(scope);
            fresh.set_indicator_events(events);
            let e = fresh.resume_session(s).unwrap_err();
            assert!(fresh.subscriptions().is_empty() && fresh.indicators().is_empty());
            e
        };
        let e = refused(&|_| {}, Some(&[EUR]), true);
        assert!(
            e.contains("outside this version's market-data grant"),
            "{e}"
        );
        let e = refused(&|_| {}, None, false);
        assert!(e.contains("indicator-events"), "{e}");
        let e = refused(&|s| s.next_stream = gbp, None, true);
        assert!(e.contains("next stream"), "{e}");
        let e = refused(&|s| s.indicators[1].id = fast, None, true);
        assert!(e.contains("twice"), "{e}");
        let e = refused(&|s| s.indicators[0].stream = 9, None, true);
        assert!(e.contains("not subscribed"), "{e}");
        let e = refused(&|s| s.indicators[0].spec = ema(0), None, true);
        assert!(e.contains("period 0"), "{e}");
        let e = refused(
            &|s| {
                if let Subscription::Quotes { instrument_id, .. } = &mut s.subscriptions[0] {
                    *instrument_id = "XAU/USD.FXCM".into();
                }
            },
            None,
            true,
        );
        assert!(e.contains("unknown instrument"), "{e}");
    }
}
