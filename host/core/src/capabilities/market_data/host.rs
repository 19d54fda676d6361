//! The `market-data` interface as seen by the guest. Every call is charged fuel for itself
//! and for the bytes it copies (decision 0021).

use super::state::{MarketDataState, Subscription};
use crate::{
    bindings::{
        market_data::{DataError, Host},
        types::{Bar, BarType, InstrumentId, InstrumentInfo, QuoteTick, StreamId},
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
        Ok(())
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
}
