//! [`Context`]: what a strategy can do from inside a callback.
//!
//! Each method calls one import of the WIT contract. The host links only the capabilities a
//! plugin was granted, and `wasm-ld` keeps only the imports a plugin actually calls, so a
//! strategy that never calls, say, [`Context::subscribe_signals`] does not import `signals`.

use crate::{
    bindings::stratbox::strategy::{diagnostics, market_data, risk_gate, signals},
    convert,
    data::{BarType, InstrumentId, QuoteTick},
    registered::{Indicator, Reading, Table},
    wit::{
        AverageSpec, BandsSpec, DataError, IndicatorSpec, InstrumentInfo, Level, OrderIntent,
        PositionView, PriceType as WitPriceType, Rejection, RiskDecision, SignalError, SignalType,
        StreamId, SubscriptionId,
    },
};
use nautilus_model::enums::PriceType;

/// A market-data subscription: what a stream delivers (the SDK maps stream ids back to
/// identifiers), and what an indicator is registered on.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Stream {
    Bars(BarType),
    Quotes(InstrumentId),
    Trades(InstrumentId),
}

/// Handle passed to every callback. It holds the SDK's table of open subscriptions and of
/// registered indicators.
#[derive(Debug, Default)]
pub struct Context {
    pub(crate) streams: Vec<(StreamId, Stream)>,
    pub(crate) indicators: Table,
}

/// A period as the contract carries it.
fn period(n: usize) -> Result<u32, DataError> {
    u32::try_from(n).map_err(|_| DataError::Invalid(format!("period {n} is too large")))
}

fn wit_price_type(p: PriceType) -> Result<WitPriceType, DataError> {
    Ok(match p {
        PriceType::Bid => WitPriceType::Bid,
        PriceType::Ask => WitPriceType::Ask,
        PriceType::Mid => WitPriceType::Mid,
        PriceType::Last => WitPriceType::Last,
        other => {
            return Err(DataError::Invalid(format!(
                "price type {other:?} is not supported"
            )));
        }
    })
}

/// A moving average's spec as the contract carries it.
fn average(period_: usize, price_type: PriceType) -> Result<AverageSpec, DataError> {
    Ok(AverageSpec {
        period: period(period_)?,
        price_type: wit_price_type(price_type)?,
    })
}

impl Context {
    pub(crate) const fn new() -> Self {
        Self {
            streams: Vec::new(),
            indicators: Table { slots: Vec::new() },
        }
    }

    /// The stream of `source`, subscribing to it first if needed.
    fn stream_of(&mut self, source: Stream) -> Result<StreamId, DataError> {
        if let Some((id, _)) = self.streams.iter().find(|(_, k)| *k == source) {
            return Ok(*id);
        }
        match source {
            Stream::Bars(b) => self.subscribe_bars(&b)?,
            Stream::Quotes(i) => self.subscribe_quotes(&i)?,
            Stream::Trades(i) => self.subscribe_trades(&i)?,
        }
        self.streams
            .iter()
            .find(|(_, k)| *k == source)
            .map(|(id, _)| *id)
            .ok_or_else(|| DataError::Invalid("subscription not recorded".to_string()))
    }

    /// Registers a Nautilus indicator on `source` (subscribing to it if needed): from the
    /// next event of that stream on, the host updates it with Nautilus's own handler
    /// before the event reaches the strategy, and [`Context::indicator`] reads it. See
    /// [`crate::registered`].
    pub fn register_indicator(
        &mut self,
        source: Stream,
        spec: IndicatorSpec,
    ) -> Result<Indicator, DataError> {
        let stream = self.stream_of(source)?;
        let outputs = match spec {
            IndicatorSpec::Bollinger(_) | IndicatorSpec::Donchian(_) => 3,
            _ => 1,
        };
        let id = market_data::register_indicator(stream, spec)?;
        Ok(self.indicators.add(id, stream, source, outputs))
    }

    /// Nautilus `SimpleMovingAverage(period, price_type)` on `source` (quotes: bid, ask or
    /// mid; bars feed their close, trades their price).
    pub fn register_sma(
        &mut self,
        source: Stream,
        period_: usize,
        price_type: PriceType,
    ) -> Result<Indicator, DataError> {
        let spec = average(period_, price_type)?;
        self.register_indicator(source, IndicatorSpec::Sma(spec))
    }

    /// Nautilus `ExponentialMovingAverage(period, price_type)` on `source` (see
    /// [`Context::register_sma`]).
    pub fn register_ema(
        &mut self,
        source: Stream,
        period_: usize,
        price_type: PriceType,
    ) -> Result<Indicator, DataError> {
        let spec = average(period_, price_type)?;
        self.register_indicator(source, IndicatorSpec::Ema(spec))
    }

    /// Nautilus `RelativeStrengthIndex(period)` on `source` (quotes: the mid), 0..=1.
    pub fn register_rsi(&mut self, source: Stream, period_: usize) -> Result<Indicator, DataError> {
        self.register_indicator(source, IndicatorSpec::Rsi(period(period_)?))
    }

    /// Nautilus `AverageTrueRange(period)` on bars of `bar_type`.
    pub fn register_atr(
        &mut self,
        bar_type: &BarType,
        period_: usize,
    ) -> Result<Indicator, DataError> {
        self.register_indicator(
            Stream::Bars(*bar_type),
            IndicatorSpec::Atr(period(period_)?),
        )
    }

    /// Nautilus `BollingerBands(period, k)` on `source`: upper, middle (`value`), lower.
    pub fn register_bollinger(
        &mut self,
        source: Stream,
        period_: usize,
        k: f64,
    ) -> Result<Indicator, DataError> {
        let spec = BandsSpec {
            period: period(period_)?,
            k,
        };
        self.register_indicator(source, IndicatorSpec::Bollinger(spec))
    }

    /// Nautilus `DonchianChannel(period)` on bars of `bar_type`: upper, middle, lower
    /// (Nautilus 0.57's window quirk included: see `docs/decisions/0009`).
    pub fn register_donchian(
        &mut self,
        bar_type: &BarType,
        period_: usize,
    ) -> Result<Indicator, DataError> {
        self.register_indicator(
            Stream::Bars(*bar_type),
            IndicatorSpec::Donchian(period(period_)?),
        )
    }

    /// The latest values of a registered indicator, as updated with the current event (or
    /// the last event of its stream).
    #[must_use]
    pub fn indicator(&self, indicator: Indicator) -> Reading {
        self.indicators.reading(indicator)
    }

    pub(crate) fn stream(&self, id: StreamId) -> Option<&Stream> {
        self.streams.iter().find(|(s, _)| *s == id).map(|(_, k)| k)
    }

    fn remember(&mut self, id: StreamId, stream: Stream) {
        if self.stream(id).is_none() {
            self.streams.push((id, stream));
        }
    }

    fn forget(&mut self, wanted: &Stream) -> Result<(), DataError> {
        let Some(pos) = self.streams.iter().position(|(_, k)| k == wanted) else {
            return Ok(());
        };
        let (id, _) = self.streams[pos];
        market_data::unsubscribe(id)?;
        self.streams.remove(pos);
        self.indicators.stop(id);
        Ok(())
    }

    /// Receive bars of `bar_type` in `Strategy::on_bar`.
    pub fn subscribe_bars(&mut self, bar_type: &BarType) -> Result<(), DataError> {
        let wit_type = convert::wit_bar_type(bar_type).map_err(DataError::Invalid)?;
        let id = market_data::subscribe_bars(&wit_type)?;
        self.remember(id, Stream::Bars(*bar_type));
        Ok(())
    }

    /// Receive quotes of `instrument_id` in `Strategy::on_quote`.
    pub fn subscribe_quotes(&mut self, instrument_id: &InstrumentId) -> Result<(), DataError> {
        let id = market_data::subscribe_quotes(instrument_id.as_str())?;
        self.remember(id, Stream::Quotes(*instrument_id));
        Ok(())
    }

    /// Receive trades of `instrument_id` in `Strategy::on_trade`.
    pub fn subscribe_trades(&mut self, instrument_id: &InstrumentId) -> Result<(), DataError> {
        let id = market_data::subscribe_trades(instrument_id.as_str())?;
        self.remember(id, Stream::Trades(*instrument_id));
        Ok(())
    }

    /// Stop receiving bars of `bar_type` (no-op if not subscribed).
    pub fn unsubscribe_bars(&mut self, bar_type: &BarType) -> Result<(), DataError> {
        self.forget(&Stream::Bars(*bar_type))
    }

    /// Stop receiving quotes of `instrument_id` (no-op if not subscribed).
    pub fn unsubscribe_quotes(&mut self, instrument_id: &InstrumentId) -> Result<(), DataError> {
        self.forget(&Stream::Quotes(*instrument_id))
    }

    /// Stop receiving trades of `instrument_id` (no-op if not subscribed).
    pub fn unsubscribe_trades(&mut self, instrument_id: &InstrumentId) -> Result<(), DataError> {
        self.forget(&Stream::Trades(*instrument_id))
    }

    /// The definition of an instrument in this plugin's grant.
    pub fn instrument(&self, instrument_id: &InstrumentId) -> Result<InstrumentInfo, DataError> {
        market_data::instrument(instrument_id.as_str())
    }

    /// The latest quote the host has seen for an instrument, as an SDK quote.
    pub fn last_quote(&self, instrument_id: &InstrumentId) -> Result<Option<QuoteTick>, DataError> {
        let Some(q) = market_data::last_quote(instrument_id.as_str())? else {
            return Ok(None);
        };
        Ok(Some(crate::runtime::quote(*instrument_id, &q)))
    }

    /// Receive AI signals of `signal_type` (for one instrument, or all granted ones) in
    /// `Strategy::on_signal`.
    pub fn subscribe_signals(
        &mut self,
        signal_type: SignalType,
        instrument_id: Option<&InstrumentId>,
    ) -> Result<SubscriptionId, SignalError> {
        signals::subscribe(signal_type, instrument_id.map(InstrumentId::as_str))
    }

    /// Stop a signal subscription.
    pub fn unsubscribe_signals(&mut self, id: SubscriptionId) -> Result<(), SignalError> {
        signals::unsubscribe(id)
    }

    /// Hand an order intent to the risk gate. Accepted means it is now an order with the
    /// returned id; its fate arrives later through `Strategy::on_order_event`.
    pub fn submit(&mut self, intent: impl Into<OrderIntent>) -> RiskDecision {
        risk_gate::submit_order(&intent.into())
    }

    /// [`Context::submit`], logging a refusal (code, message and the order) at warn level.
    pub fn submit_or_warn(&mut self, intent: impl Into<OrderIntent>) -> RiskDecision {
        let intent = intent.into();
        let decision = risk_gate::submit_order(&intent);
        if let RiskDecision::Rejected(r) = &decision {
            self.warn(&format!(
                "order refused ({:?}): {} [{:?} {} raw {} of {}]",
                r.code,
                r.message,
                intent.side,
                intent.quantity.raw,
                intent.quantity.precision,
                intent.instrument_id
            ));
        }
        decision
    }

    /// Submits the market order that takes this plugin's position in `instrument_id` to
    /// `target` (signed raw quantity, see [`crate::signed_raw`]) in quantities of
    /// `precision` decimals; `None` when already there. Refusals are logged.
    pub fn move_to(
        &mut self,
        instrument_id: InstrumentId,
        target: i128,
        precision: u8,
    ) -> Option<RiskDecision> {
        let order = crate::Order::to_target(
            instrument_id,
            &self.position(&instrument_id),
            target,
            precision,
        )?;
        Some(self.submit_or_warn(order))
    }

    /// Ask to cancel one of this plugin's open orders.
    pub fn cancel(&mut self, order_id: &str) -> Result<(), Rejection> {
        risk_gate::cancel_order(order_id)
    }

    /// This plugin's position in an instrument (flat when none).
    pub fn position(&self, instrument_id: &InstrumentId) -> PositionView {
        risk_gate::position(instrument_id.as_str())
    }

    /// Ids of this plugin's open orders, oldest first.
    pub fn open_orders(&self) -> Vec<String> {
        risk_gate::open_orders()
    }

    /// Write a line into the host's log (truncated to 1 KiB, at most 64 lines per callback).
    pub fn log(&self, level: Level, message: &str) {
        diagnostics::log(level, message);
    }

    /// `log(Level::Debug, ..)`.
    pub fn debug(&self, message: &str) {
        self.log(Level::Debug, message);
    }

    /// `log(Level::Info, ..)`.
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message);
    }

    /// `log(Level::Warn, ..)`.
    pub fn warn(&self, message: &str) {
        self.log(Level::Warn, message);
    }

    /// `log(Level::Error, ..)`.
    pub fn error(&self, message: &str) {
        self.log(Level::Error, message);
    }
}
