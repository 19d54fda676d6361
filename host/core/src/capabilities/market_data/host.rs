//! The `market-data` interface as seen by the guest. Every call is charged fuel for itself
//! and for the bytes it copies (decision 0021).

use super::state::{
    MAX_INDICATORS, MAX_SMOOTHING_PERIOD, MAX_WINDOW_PERIOD, MarketDataState, Registration,
    Subscription,
};
use crate::{
    bindings::{
        market_data::{DataError, Host},
        types::{
            Bar, BarType, IndicatorId, IndicatorSpec, InstrumentId, InstrumentInfo, PriceType,
            QuoteTick, StreamId,
        },
    },
    capabilities::contract::{DataTrap, check_granted, check_str, in_scope},
    sandbox::charge_host_call,
};

/// Bytes a data error hands back to the guest.
fn error_bytes<T>(result: &Result<T, DataTrap>) -> usize {
    match result {
        Err(DataTrap::Wit(
            DataError::UnknownInstrument(s) | DataError::NotGranted(s) | DataError::Invalid(s),
        )) => s.len(),
        _ => 0,
    }
}

/// Charges one call that took `bytes_in` and returns `result` (plus `bytes_out` of it).
fn charged<T>(
    bytes_in: usize,
    result: Result<T, DataTrap>,
    bytes_out: impl FnOnce(&T) -> usize,
) -> Result<T, DataTrap> {
    let out = result.as_ref().map_or(0, bytes_out) + error_bytes(&result);
    charge_host_call(bytes_in + out);
    result
}

fn info_bytes(i: &InstrumentInfo) -> usize {
    i.id.len()
        + i.base_currency.as_ref().map_or(0, String::len)
        + i.quote_currency.len()
        + i.settlement_currency.len()
}

/// The `stream` value of a last quote/bar for an instrument the plugin has not subscribed to.
pub const NO_STREAM: StreamId = StreamId::MAX;

impl MarketDataState {
    fn enter(&self, function: &str) -> wasmtime::Result<()> {
        check_granted(self.granted, "market-data", function)
    }

    /// Checks an instrument id the guest named: size cap (trap), known, in scope.
    fn check_instrument(&self, id: &str, function: &str) -> Result<(), DataTrap> {
        check_str(id, &format!("market-data.{function}: instrument id"))?;
        if self.source.instrument(id).is_none() {
            return Err(DataError::UnknownInstrument(id.to_string()).into());
        }
        if !in_scope(self.instruments.as_ref(), id) {
            return Err(DataError::NotGranted(id.to_string()).into());
        }
        Ok(())
    }

    fn add(&mut self, make: impl FnOnce(StreamId) -> Subscription) -> Result<StreamId, DataError> {
        if self.subscriptions.len() >= self.max_subscriptions {
            return Err(DataError::TooManySubscriptions(
                u32::try_from(self.max_subscriptions).unwrap_or(u32::MAX),
            ));
        }
        let stream = self.next_stream;
        self.next_stream = self.next_stream.wrapping_add(1);
        self.subscriptions.push(make(stream));
        Ok(stream)
    }
}

impl MarketDataState {
    fn do_subscribe_bars(&mut self, bar_type: BarType) -> Result<StreamId, DataTrap> {
        self.enter("subscribe-bars")?;
        self.check_instrument(&bar_type.instrument_id, "subscribe-bars")?;
        if bar_type.spec.step == 0 {
            return Err(DataError::Invalid("bar step must be at least 1".to_string()).into());
        }
        if let Some(stream) = self.bar_stream(&bar_type) {
            return Ok(stream);
        }
        Ok(self.add(|stream| Subscription::Bars { stream, bar_type })?)
    }

    fn do_subscribe_quotes(&mut self, instrument_id: InstrumentId) -> Result<StreamId, DataTrap> {
        self.enter("subscribe-quotes")?;
        self.check_instrument(&instrument_id, "subscribe-quotes")?;
        if let Some(stream) = self.quote_stream(&instrument_id) {
            return Ok(stream);
        }
        Ok(self.add(|stream| Subscription::Quotes {
            stream,
            instrument_id,
        })?)
    }

    fn do_subscribe_trades(&mut self, instrument_id: InstrumentId) -> Result<StreamId, DataTrap> {
        self.enter("subscribe-trades")?;
        self.check_instrument(&instrument_id, "subscribe-trades")?;
        if let Some(stream) = self.trade_stream(&instrument_id) {
            return Ok(stream);
        }
        Ok(self.add(|stream| Subscription::Trades {
            stream,
            instrument_id,
        })?)
    }

    fn do_unsubscribe(&mut self, stream: StreamId) -> Result<(), DataTrap> {
        self.enter("unsubscribe")?;
        let Some(pos) = self.subscriptions.iter().position(|s| s.stream() == stream) else {
            return Err(DataError::UnknownStream(stream).into());
        };
        self.subscriptions.remove(pos);
        let before = self.indicators.len();
        self.indicators.retain(|r| r.stream != stream);
        if self.indicators.len() != before {
            self.indicator_generation = self.indicator_generation.wrapping_add(1);
        }
        Ok(())
    }

    fn do_register_indicator(
        &mut self,
        stream: StreamId,
        spec: IndicatorSpec,
    ) -> Result<IndicatorId, DataTrap> {
        self.enter("register-indicator")?;
        if !self.indicator_events {
            return Err(DataError::Invalid(
                "this component does not export indicator-events, so it could not receive indicator values; build it with stratbox-sdk for contract 0.1.1 or later".to_string(),
            )
            .into());
        }
        let Some(sub) = self.subscriptions.iter().find(|s| s.stream() == stream) else {
            return Err(DataError::UnknownStream(stream).into());
        };
        check_spec(sub, &spec).map_err(DataError::Invalid)?;
        if let Some(r) = self
            .indicators
            .iter()
            .find(|r| r.stream == stream && r.spec == spec)
        {
            return Ok(r.id);
        }
        if self.indicators.len() >= MAX_INDICATORS {
            return Err(DataError::Invalid(format!(
                "at most {MAX_INDICATORS} indicators per instance; this one would be number {}",
                self.indicators.len() + 1
            ))
            .into());
        }
        let id = self.next_indicator;
        self.next_indicator = self.next_indicator.wrapping_add(1);
        self.indicators.push(Registration { id, stream, spec });
        self.indicator_generation = self.indicator_generation.wrapping_add(1);
        Ok(id)
    }

    fn do_instrument(&mut self, instrument_id: InstrumentId) -> Result<InstrumentInfo, DataTrap> {
        self.enter("instrument")?;
        self.check_instrument(&instrument_id, "instrument")?;
        Ok(self
            .source
            .instrument(&instrument_id)
            .ok_or(DataError::UnknownInstrument(instrument_id))?)
    }

    fn do_last_quote(
        &mut self,
        instrument_id: InstrumentId,
    ) -> Result<Option<QuoteTick>, DataTrap> {
        self.enter("last-quote")?;
        self.check_instrument(&instrument_id, "last-quote")?;
        let stream = self.quote_stream(&instrument_id).unwrap_or(NO_STREAM);
        Ok(self
            .source
            .last_quote(&instrument_id)
            .map(|q| QuoteTick { stream, ..q }))
    }

    fn do_last_bar(&mut self, bar_type: BarType) -> Result<Option<Bar>, DataTrap> {
        self.enter("last-bar")?;
        self.check_instrument(&bar_type.instrument_id, "last-bar")?;
        let stream = self.bar_stream(&bar_type).unwrap_or(NO_STREAM);
        Ok(self.source.last_bar(&bar_type).map(|b| Bar { stream, ..b }))
    }
}

/// Whether `spec` is in range and something `sub` can feed, the way Nautilus's indicator
/// handlers take that kind of data.
pub(super) fn check_spec(sub: &Subscription, spec: &IndicatorSpec) -> Result<(), String> {
    let (name, period, max) = match spec {
        IndicatorSpec::Sma(a) => ("sma", a.period, MAX_WINDOW_PERIOD),
        IndicatorSpec::Ema(a) => ("ema", a.period, MAX_SMOOTHING_PERIOD),
        IndicatorSpec::Rsi(p) => ("rsi", *p, MAX_SMOOTHING_PERIOD),
        IndicatorSpec::Atr(p) => ("atr", *p, MAX_WINDOW_PERIOD),
        IndicatorSpec::Bollinger(b) => ("bollinger", b.period, MAX_WINDOW_PERIOD),
        IndicatorSpec::Donchian(p) => ("donchian", *p, MAX_WINDOW_PERIOD),
    };
    if !(1..=max).contains(&period) {
        return Err(format!("{name} period {period} is outside 1..={max}"));
    }
    if let IndicatorSpec::Bollinger(b) = spec
        && !(b.k.is_finite() && b.k > 0.0)
    {
        return Err(format!("bollinger k {} must be finite and > 0", b.k));
    }
    let bars_only = matches!(spec, IndicatorSpec::Atr(_) | IndicatorSpec::Donchian(_));
    match sub {
        Subscription::Bars { .. } => Ok(()),
        Subscription::Quotes { .. } | Subscription::Trades { .. } if bars_only => Err(format!(
            "{name} is updated from bars only (Nautilus has no quote or trade handler for it); register it on a bar stream"
        )),
        Subscription::Quotes { .. } => match spec {
            IndicatorSpec::Sma(a) | IndicatorSpec::Ema(a) if a.price_type == PriceType::Last => {
                Err(format!(
                    "{name} on quotes needs price type bid, ask or mid (a quote has no last price)"
                ))
            }
            _ => Ok(()),
        },
        Subscription::Trades { .. } => Ok(()),
    }
}

impl Host for MarketDataState {
    fn convert_data_error(&mut self, err: DataTrap) -> wasmtime::Result<DataError> {
        err.into_wit()
    }

    fn subscribe_bars(&mut self, bar_type: BarType) -> Result<StreamId, DataTrap> {
        let bytes = bar_type.instrument_id.len();
        charged(bytes, self.do_subscribe_bars(bar_type), |_| 0)
    }

    fn subscribe_quotes(&mut self, instrument_id: InstrumentId) -> Result<StreamId, DataTrap> {
        let bytes = instrument_id.len();
        charged(bytes, self.do_subscribe_quotes(instrument_id), |_| 0)
    }

    fn subscribe_trades(&mut self, instrument_id: InstrumentId) -> Result<StreamId, DataTrap> {
        let bytes = instrument_id.len();
        charged(bytes, self.do_subscribe_trades(instrument_id), |_| 0)
    }

    fn unsubscribe(&mut self, stream: StreamId) -> Result<(), DataTrap> {
        charged(0, self.do_unsubscribe(stream), |()| 0)
    }

    fn instrument(&mut self, instrument_id: InstrumentId) -> Result<InstrumentInfo, DataTrap> {
        let bytes = instrument_id.len();
        charged(bytes, self.do_instrument(instrument_id), info_bytes)
    }

    fn last_quote(&mut self, instrument_id: InstrumentId) -> Result<Option<QuoteTick>, DataTrap> {
        let bytes = instrument_id.len();
        charged(bytes, self.do_last_quote(instrument_id), |_| 0)
    }

    fn last_bar(&mut self, bar_type: BarType) -> Result<Option<Bar>, DataTrap> {
        let bytes = bar_type.instrument_id.len();
        charged(bytes, self.do_last_bar(bar_type), |_| 0)
    }

    fn register_indicator(
        &mut self,
        stream: StreamId,
        spec: IndicatorSpec,
    ) -> Result<IndicatorId, DataTrap> {
        charged(0, self.do_register_indicator(stream, spec), |_| 0)
    }
}
