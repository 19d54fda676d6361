//! The evaluator a translated component runs (feature `runtime`, guest side).
//!
//! A generated crate embeds its checked [`Program`] and exports
//! [`Translated`]`<ItsProgram>` through the SDK. Each input event feeds the indicators (the
//! same Nautilus indicators, fed exactly as the hand-written plugins feed them), updates
//! every cross of the rules it triggers, then evaluates those rules in order: the first
//! whose condition is defined and true acts through the risk gate.
//!
//! Indicators Nautilus itself can feed from the input (moving averages and RSI of a bar's
//! close or of a quote's bid/ask/mid, Bollinger bands of bars) are registered with the
//! host, which updates them natively before each event (`Context::register_indicator`);
//! the others (a moving average of the high, say, and the exact Donchian channel) are
//! computed here. Both give the same values bit for bit.

use std::{
    collections::{BTreeMap, VecDeque},
    marker::PhantomData,
};

use serde::{Deserialize, Serialize};
use stratbox_sdk::{
    channel::Channel,
    indicators::{
        average::{ema::ExponentialMovingAverage, sma::SimpleMovingAverage},
        momentum::{bb::BollingerBands, rsi::RelativeStrengthIndex},
    },
    persist::{self, EmaState},
    prelude::*,
    signal,
    wit::{IndicatorSpec, SignalValue},
};

mod feeds;

use feeds::{host_spec, price_type};

use crate::{
    eval::{self, Leaves, Value},
    program::{
        Action, BAR_TYPE_PARAM, Expr, Field, INSTRUMENT_PARAM, Indicator, IndicatorKind, Input,
        IntArg, NumArg, Output, Program, Side, SignalField, TRADE_SIZE_PARAM, Trigger,
    },
};

/// The program a generated crate embeds.
pub trait ProgramSource: Send + 'static {
    /// The program as JSON (what `stratbox translate` wrote).
    const PROGRAM: &'static str;
}

/// A translated strategy: [`Program`] `P` run by this evaluator.
#[derive(Debug)]
pub struct Translated<P> {
    m: Machine,
    _program: PhantomData<fn() -> P>,
}

#[derive(Debug)]
enum Ind {
    /// Kept by the host: its spec, its handle once registered, its reading at this event.
    Host {
        spec: IndicatorSpec,
        handle: Option<Registered>,
        reading: Reading,
    },
    Ema(ExponentialMovingAverage, Field),
    Sma(SimpleMovingAverage, Field),
    Rsi(RelativeStrengthIndex, Field),
    Bands(BollingerBands),
    /// The channel, and its bounds before the current bar.
    Donchian(Channel, Option<(f64, f64)>),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LastSignal {
    label: Option<String>,
    value: Option<f64>,
    confidence: f64,
}

#[derive(Debug)]
struct Machine {
    program: Program,
    instrument: InstrumentId,
    bar_type: Option<BarType>,
    trade_size: Quantity,
    params: BTreeMap<String, Value>,
    indicators: Vec<Ind>,
    cross_prev: Vec<Option<bool>>,
    cross_now: Vec<Option<bool>>,
    /// The latest input event's fields (by [`field_index`]).
    latest: [Option<f64>; 10],
    /// Per lagged field: values of the latest events, newest last (longest lag + 1).
    history: BTreeMap<Field, VecDeque<f64>>,
    signals: BTreeMap<String, LastSignal>,
}

/// A Donchian window: (high raw, high precision, low raw, low precision) per bar.
type ChannelBars = Vec<(i64, u8, i64, u8)>;

/// What survives a hot-swap.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    /// The rules (as JSON) the cross memory belongs to: carried over only to identical
    /// rules, whatever else changed in the definition (its version, its description).
    rules: String,
    /// Exactly restorable indicators, by their spec: EMA states and Donchian bars.
    emas: Vec<(Indicator, EmaState)>,
    channels: Vec<(Indicator, ChannelBars)>,
    crosses: Vec<Option<bool>>,
    history: Vec<(Field, Vec<f64>)>,
    signals: Vec<(String, LastSignal)>,
    /// Indicators kept by the host, by their spec: their handles (the host moves them, warm,
    /// to the new version). Absent from states of runtimes before registered indicators.
    registered: Vec<(Indicator, Registered)>,
}

/// [`Saved`] as runtimes before registered indicators wrote it.
#[derive(Debug, Deserialize)]
struct SavedBefore {
    rules: String,
    emas: Vec<(Indicator, EmaState)>,
    channels: Vec<(Indicator, ChannelBars)>,
    crosses: Vec<Option<bool>>,
    history: Vec<(Field, Vec<f64>)>,
    signals: Vec<(String, LastSignal)>,
}

fn value_of(
    params: &Params,
    name: &str,
    v: &stratbox_sdk::wit::ParamValue,
) -> Result<Value, String> {
    use stratbox_sdk::wit::ParamValue as P;
    #[allow(clippy::cast_precision_loss)]
    Ok(match v {
        P::Int(i) => Value::Num(*i as f64),
        P::Float(x) => Value::Num(*x),
        P::Boolean(b) => Value::Bool(*b),
        P::Text(s) => Value::Text(s.clone()),
        P::Decimal(_) => Value::Num(params.price(name)?.as_f64()),
    })
}

impl Machine {
    fn new(program: Program, params: &Params) -> Result<Self, String> {
        let (instrument, bar_type) = match program.input {
            Input::Quotes => (params.instrument_id(INSTRUMENT_PARAM)?, None),
            Input::Bars => {
                let bt = params.bar_type(BAR_TYPE_PARAM)?;
                (bt.instrument_id(), Some(bt))
            }
        };
        let mut values = BTreeMap::new();
        for (name, v) in params.iter() {
            values.insert(name.to_string(), value_of(params, name, v)?);
        }
        for c in &program.constraints {
            match eval::constant(&c.check, &|n| values.get(n).cloned()) {
                Some(Value::Bool(true)) => {}
                _ => {
                    let named: Vec<String> = values
                        .iter()
                        .filter(|(n, _)| c.text.contains(n.as_str()))
                        .map(|(n, v)| format!("{n} = {}", show(v)))
                        .collect();
                    return Err(format!(
                        "constraint `{}` does not hold ({})",
                        c.text,
                        named.join(", ")
                    ));
                }
            }
        }
        let period = |a: &IntArg| -> Result<usize, String> {
            let v = match a {
                IntArg::Literal(n) => *n,
                IntArg::Param(p) => params.int(p)?,
            };
            usize::try_from(v)
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| format!("period {v} is outside 1..=100000"))
        };
        let mut indicators = Vec::new();
        for spec in &program.indicators {
            let n = period(&spec.period)?;
            let source = spec.source.unwrap_or(Field::Close);
            let k = match &spec.k {
                Some(NumArg::Literal(k)) => Some(*k),
                Some(NumArg::Param(p)) => Some(params.float(p)?),
                None => None,
            };
            if let Some(host) = host_spec(program.input, spec.kind, source, n, k) {
                indicators.push(Ind::Host {
                    spec: host,
                    handle: None,
                    reading: Reading::default(),
                });
                continue;
            }
            indicators.push(match spec.kind {
                IndicatorKind::Ema => {
                    Ind::Ema(ExponentialMovingAverage::new(n, price_type(source)), source)
                }
                IndicatorKind::Sma => {
                    Ind::Sma(SimpleMovingAverage::new(n, price_type(source)), source)
                }
                IndicatorKind::Rsi => Ind::Rsi(RelativeStrengthIndex::new(n, None), source),
                IndicatorKind::Bollinger => {
                    let k = k.ok_or("Bollinger bands without a width")?;
                    Ind::Bands(BollingerBands::new(n, k, None))
                }
                IndicatorKind::Donchian => Ind::Donchian(Channel::new(n), None),
            });
        }
        let history = program
            .lags
            .iter()
            .map(|(f, lag)| (*f, VecDeque::with_capacity(*lag as usize + 1)))
            .collect();
        Ok(Self {
            instrument,
            bar_type,
            trade_size: params.quantity(TRADE_SIZE_PARAM)?,
            params: values,
            indicators,
            cross_prev: vec![None; program.crosses],
            cross_now: vec![None; program.crosses],
            latest: [None; 10],
            history,
            signals: BTreeMap::new(),
            program,
        })
    }

    /// Takes in one input event's fields: the latest values and the lag history.
    fn record(&mut self, fields: &dyn Fn(Field) -> Option<f64>) {
        for f in Field::ALL {
            self.latest[field_index(f)] = fields(f);
        }
        for (f, lag) in &self.program.lags {
            if let (Some(h), Some(v)) = (self.history.get_mut(f), fields(*f)) {
                h.push_back(v);
                if h.len() > *lag as usize + 1 {
                    h.pop_front();
                }
            }
        }
    }

    /// Feeds the indicators of one market field (EMA, SMA, RSI) from the event's fields.
    fn feed_values(&mut self, fields: &impl Fn(Field) -> Option<f64>) {
        for ind in &mut self.indicators {
            match ind {
                Ind::Ema(i, f) => i.update_raw(fields(*f).unwrap_or_default()),
                Ind::Sma(i, f) => i.update_raw(fields(*f).unwrap_or_default()),
                Ind::Rsi(i, f) => i.update_raw(fields(*f).unwrap_or_default()),
                Ind::Bands(_) | Ind::Donchian(..) | Ind::Host { .. } => {}
            }
        }
    }

    /// The source of the host's indicators: this program's input stream.
    fn source(&self) -> Stream {
        match self.bar_type {
            Some(bt) => Stream::Bars(bt),
            None => Stream::Quotes(self.instrument),
        }
    }

    /// Registers the host's indicators: all of them at start (`every`; a session resumed
    /// from a checkpoint registers them again, and the host answers with the ids the
    /// restored handles name), else those without a handle (after a swap to a program with
    /// new ones: those start cold).
    fn register(&mut self, ctx: &mut Context, every: bool) {
        let source = self.source();
        for ind in &mut self.indicators {
            if let Ind::Host { spec, handle, .. } = ind
                && (every || handle.is_none())
            {
                match ctx.register_indicator(source, *spec) {
                    Ok(h) => *handle = Some(h),
                    Err(e) => ctx.error(&format!("cannot register {spec:?}: {e:?}")),
                }
            }
        }
    }

    /// Reads the host's indicators as updated with the current event.
    fn read_host(&mut self, ctx: &mut Context) {
        let mut missing = false;
        for ind in &mut self.indicators {
            if let Ind::Host {
                handle, reading, ..
            } = ind
            {
                match handle {
                    Some(h) => *reading = ctx.indicator(*h),
                    None => missing = true,
                }
            }
        }
        if missing {
            self.register(ctx, false);
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        let fields = |f: Field| {
            Some(match f {
                Field::Open => bar.open.as_f64(),
                Field::High => bar.high.as_f64(),
                Field::Low => bar.low.as_f64(),
                Field::Close => bar.close.as_f64(),
                Field::Volume => bar.volume.as_f64(),
                _ => return None,
            })
        };
        self.record(&fields);
        self.feed_values(&fields);
        self.read_host(ctx);
        for ind in &mut self.indicators {
            match ind {
                // Exactly `FeedBar for BollingerBands` (nautilus `handle_bar`).
                Ind::Bands(b) => {
                    b.update_raw(bar.high.as_f64(), bar.low.as_f64(), bar.close.as_f64());
                }
                Ind::Donchian(c, before) => {
                    *before = c.bounds().map(|(u, l)| (u.as_f64(), l.as_f64()));
                    c.update(bar.high, bar.low);
                }
                Ind::Ema(..) | Ind::Sma(..) | Ind::Rsi(..) | Ind::Host { .. } => {}
            }
        }
        self.run(ctx, Trigger::Input);
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        let fields = |f: Field| {
            Some(match f {
                Field::Bid => quote.bid_price.as_f64(),
                Field::Ask => quote.ask_price.as_f64(),
                // What `extract_price(PriceType::Mid)` gives the Nautilus indicators.
                Field::Mid => quote.extract_price(PriceType::Mid).as_f64(),
                Field::BidSize => quote.bid_size.as_f64(),
                Field::AskSize => quote.ask_size.as_f64(),
                _ => return None,
            })
        };
        self.record(&fields);
        // The checks allow bands and channels on bars only.
        self.feed_values(&fields);
        self.read_host(ctx);
        self.run(ctx, Trigger::Input);
    }

    fn on_signal(&mut self, ctx: &mut Context, s: &AiSignal) {
        let name = signal::type_name(s.signal_type);
        if !self.program.signals.iter().any(|t| t == name) {
            return;
        }
        let value = match &s.value {
            SignalValue::Float(x) => Some(*x),
            _ => None,
        };
        self.signals.insert(
            name.to_string(),
            LastSignal {
                label: signal::label(&s.value).map(str::to_string),
                value,
                confidence: s.confidence,
            },
        );
        self.run(ctx, Trigger::Signal);
    }

    /// Updates the crosses of `trigger`'s rules, then lets the first rule that holds act.
    fn run(&mut self, ctx: &mut Context, trigger: Trigger) {
        let rules = std::mem::take(&mut self.program.rules);
        for rule in rules.iter().filter(|r| r.on == trigger) {
            self.update_crosses(&rule.when);
        }
        let mut position = None;
        let fired = rules.iter().filter(|r| r.on == trigger).find(|r| {
            let mut leaves = Reader {
                m: self,
                ctx,
                position: &mut position,
            };
            eval::truth(eval::eval(&r.when, &mut leaves)) == Some(true)
        });
        if let Some(rule) = fired {
            self.act(ctx, rule.then);
        }
        self.program.rules = rules;
    }

    fn update_crosses(&mut self, e: &Expr) {
        match e {
            Expr::Cross {
                slot,
                above,
                left,
                right,
            } => {
                let l = self.pure(left);
                let r = self.pure(right);
                let now = match (l, r) {
                    (Some(Value::Num(a)), Some(Value::Num(b))) => Some(a > b),
                    _ => None,
                };
                let result = now.map(|now| {
                    let prev = self.cross_prev[*slot];
                    if *above {
                        prev == Some(false) && now
                    } else {
                        prev == Some(true) && !now
                    }
                });
                if let Some(now) = now {
                    self.cross_prev[*slot] = Some(now);
                }
                self.cross_now[*slot] = result;
            }
            Expr::Not(x) | Expr::Neg(x) => self.update_crosses(x),
            Expr::Binary { left, right, .. } => {
                self.update_crosses(left);
                self.update_crosses(right);
            }
            Expr::Call { args, .. } => args.iter().for_each(|a| self.update_crosses(a)),
            _ => {}
        }
    }

    /// Evaluates a cross operand (no position, no crosses inside: the checks make sure).
    fn pure(&self, e: &Expr) -> Option<Value> {
        struct Pure<'a>(&'a Machine);
        impl Leaves for Pure<'_> {
            fn param(&self, name: &str) -> Option<Value> {
                self.0.params.get(name).cloned()
            }
            fn leaf(&mut self, e: &Expr) -> Option<Value> {
                self.0.read(e)
            }
        }
        eval::eval(e, &mut Pure(self))
    }

    /// Fields, indicators, signals and cross results (everything but the position).
    fn read(&self, e: &Expr) -> Option<Value> {
        match e {
            Expr::Field { field, lag: 0 } => self.latest[field_index(*field)].map(Value::Num),
            Expr::Field { field, lag } => {
                let h = self.history.get(field)?;
                let i = h.len().checked_sub(1 + *lag as usize)?;
                h.get(i).copied().map(Value::Num)
            }
            Expr::Indicator { index, output } => self.indicator(*index, *output).map(Value::Num),
            Expr::Signal { signal_type, field } => {
                let s = self.signals.get(signal_type)?;
                match field {
                    SignalField::Label => s.label.clone().map(Value::Text),
                    SignalField::Value => s.value.map(Value::Num),
                    SignalField::Confidence => Some(Value::Num(s.confidence)),
                }
            }
            Expr::Cross { slot, .. } => self
                .cross_now
                .get(*slot)
                .copied()
                .flatten()
                .map(Value::Bool),
            _ => None,
        }
    }

    fn indicator(&self, index: usize, output: Output) -> Option<f64> {
        match (self.indicators.get(index)?, output) {
            (Ind::Host { spec, reading, .. }, output) => {
                let r = reading.initialized.then_some(reading)?;
                Some(match (spec, output) {
                    // Nautilus's RSI runs 0..=1; the rule language reads 0..=100.
                    (IndicatorSpec::Rsi(_), _) => r.value * 100.0,
                    (IndicatorSpec::Bollinger(_), Output::Upper) => r.upper,
                    (IndicatorSpec::Bollinger(_), Output::Lower) => r.lower,
                    _ => r.value,
                })
            }
            (Ind::Ema(i, _), _) => i.initialized.then_some(i.value),
            (Ind::Sma(i, _), _) => i.initialized.then_some(i.value),
            // Nautilus's RSI runs 0..=1; the rule language reads 0..=100.
            (Ind::Rsi(i, _), _) => i.initialized.then_some(i.value * 100.0),
            (Ind::Bands(b), Output::Upper) => b.initialized.then_some(b.upper),
            (Ind::Bands(b), Output::Lower) => b.initialized.then_some(b.lower),
            (Ind::Bands(b), _) => b.initialized.then_some(b.middle),
            (Ind::Donchian(_, before), Output::Lower) => before.map(|(_, l)| l),
            (Ind::Donchian(_, before), _) => before.map(|(u, _)| u),
        }
    }

    fn act(&self, ctx: &mut Context, action: Action) {
        if self.program.one_order_at_a_time && !ctx.open_orders().is_empty() {
            return;
        }
        let size = i128::from(self.trade_size.raw);
        let target = match action {
            Action::Buy | Action::Sell => {
                let side = if action == Action::Buy {
                    OrderSide::Buy
                } else {
                    OrderSide::Sell
                };
                ctx.submit_or_warn(Order::market(self.instrument, side, self.trade_size));
                return;
            }
            Action::Long => size,
            Action::Short => -size,
            Action::Flat => 0,
        };
        ctx.move_to(self.instrument, target, self.trade_size.precision);
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut saved = Saved {
            rules: serde_json::to_string(&self.program.rules).unwrap_or_default(),
            emas: Vec::new(),
            channels: Vec::new(),
            crosses: self.cross_prev.clone(),
            history: self
                .history
                .iter()
                .map(|(f, h)| (*f, h.iter().copied().collect()))
                .collect(),
            signals: self
                .signals
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            registered: Vec::new(),
        };
        for (spec, ind) in self.program.indicators.iter().zip(&self.indicators) {
            match ind {
                Ind::Ema(e, _) => saved.emas.push((spec.clone(), EmaState::of(e))),
                Ind::Donchian(c, _) => saved.channels.push((
                    spec.clone(),
                    c.bars()
                        .map(|(h, l)| (h.raw, h.precision, l.raw, l.precision))
                        .collect(),
                )),
                Ind::Host {
                    handle: Some(h), ..
                } => saved.registered.push((spec.clone(), *h)),
                Ind::Sma(..) | Ind::Rsi(..) | Ind::Bands(_) | Ind::Host { .. } => {}
            }
        }
        persist::encode(&saved).unwrap_or_default()
    }

    /// Restores what can be restored exactly; the rest starts cold (and is logged).
    fn restore(&mut self, ctx: &Context, state: &[u8]) -> Result<(), String> {
        let saved: Saved = persist::decode(state).or_else(|e| {
            persist::decode::<SavedBefore>(state)
                .map(|b| Saved {
                    rules: b.rules,
                    emas: b.emas,
                    channels: b.channels,
                    crosses: b.crosses,
                    history: b.history,
                    signals: b.signals,
                    registered: Vec::new(),
                })
                .map_err(|_| e)
        })?;
        let same_rules = serde_json::to_string(&self.program.rules).is_ok_and(|r| r == saved.rules);
        let mut cold = Vec::new();
        for (spec, ind) in self
            .program
            .indicators
            .iter()
            .zip(self.indicators.iter_mut())
        {
            let restored = match ind {
                Ind::Ema(e, _) => saved
                    .emas
                    .iter()
                    .find(|(s, _)| s == spec)
                    .map(|(_, st)| st.apply(e))
                    .is_some(),
                Ind::Donchian(c, before) => match saved.channels.iter().find(|(s, _)| s == spec) {
                    Some((_, bars)) => {
                        let mut fresh = Channel::new(c.period());
                        for (hr, hp, lr, lp) in bars {
                            fresh.update(Price::from_raw(*hr, *hp), Price::from_raw(*lr, *lp));
                        }
                        *before = None;
                        *c = fresh;
                        true
                    }
                    None => false,
                },
                // The host moved the running version's indicators here, warm; the handle
                // of one with the same spec reads it. A new one registers on the next event.
                Ind::Host { handle, .. } => {
                    *handle = saved
                        .registered
                        .iter()
                        .find(|(s, _)| s == spec)
                        .map(|(_, h)| *h);
                    handle.is_some()
                }
                Ind::Sma(..) | Ind::Rsi(..) | Ind::Bands(_) => false,
            };
            if !restored {
                cold.push(format!("{:?}", spec.kind).to_lowercase());
            }
        }
        if same_rules && saved.crosses.len() == self.cross_prev.len() {
            self.cross_prev = saved.crosses;
        } else if !self.cross_prev.is_empty() {
            cold.push("crosses".into());
        }
        for (f, values) in saved.history {
            if let Some(h) = self.history.get_mut(&f) {
                h.extend(values);
                let keep = self
                    .program
                    .lags
                    .iter()
                    .find(|(x, _)| *x == f)
                    .map_or(1, |(_, l)| *l as usize + 1);
                while h.len() > keep {
                    h.pop_front();
                }
            }
        }
        self.signals = saved
            .signals
            .into_iter()
            .filter(|(k, _)| self.program.signals.contains(k))
            .collect();
        if !cold.is_empty() {
            ctx.warn(&format!(
                "restored state; these start cold and warm up again: {}",
                cold.join(", ")
            ));
        }
        Ok(())
    }
}

/// Reads leaves for rule evaluation, fetching the position once per event, on demand.
struct Reader<'a> {
    m: &'a Machine,
    ctx: &'a mut Context,
    position: &'a mut Option<Side>,
}

impl Leaves for Reader<'_> {
    fn param(&self, name: &str) -> Option<Value> {
        self.m.params.get(name).cloned()
    }

    fn leaf(&mut self, e: &Expr) -> Option<Value> {
        if *e == Expr::Position {
            if self.position.is_none() {
                let side = match self.ctx.position(&self.m.instrument).side {
                    PositionSide::Flat => Side::Flat,
                    PositionSide::Long => Side::Long,
                    PositionSide::Short => Side::Short,
                };
                *self.position = Some(side);
            }
            return self.position.map(Value::Side);
        }
        self.m.read(e)
    }
}

const fn field_index(f: Field) -> usize {
    match f {
        Field::Open => 0,
        Field::High => 1,
        Field::Low => 2,
        Field::Close => 3,
        Field::Volume => 4,
        Field::Bid => 5,
        Field::Ask => 6,
        Field::Mid => 7,
        Field::BidSize => 8,
        Field::AskSize => 9,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Num(x) => format!("{x}"),
        Value::Bool(b) => format!("{b}"),
        Value::Text(s) => format!("{s:?}"),
        Value::Side(s) => format!("{s:?}").to_lowercase(),
    }
}

impl<P: ProgramSource> Strategy for Translated<P> {
    fn init(params: &Params) -> Result<Self, String> {
        let program = Program::from_json(P::PROGRAM)?;
        Ok(Self {
            m: Machine::new(program, params)?,
            _program: PhantomData,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        self.m.register(ctx, true);
        let m = &self.m;
        match &m.bar_type {
            Some(bt) => {
                if let Err(e) = ctx.subscribe_bars(bt) {
                    ctx.error(&format!("cannot subscribe to {bt}: {e:?}"));
                }
            }
            None => {
                if let Err(e) = ctx.subscribe_quotes(&m.instrument) {
                    ctx.error(&format!(
                        "cannot subscribe to quotes of {}: {e:?}",
                        m.instrument
                    ));
                }
            }
        }
        // Only a component built with the `signals` feature imports the signals interface
        // (the translator enables it exactly when the definition subscribes), so a
        // component without subscriptions does not even ask for the capability.
        #[cfg(feature = "signals")]
        for name in &m.program.signals {
            let Some(t) = signal::type_named(name) else {
                continue;
            };
            if let Err(e) = ctx.subscribe_signals(t, Some(&m.instrument)) {
                ctx.error(&format!(
                    "cannot subscribe to {name} signals for {}: {e:?}",
                    m.instrument
                ));
            }
        }
        #[cfg(not(feature = "signals"))]
        if !m.program.signals.is_empty() {
            ctx.error("the program subscribes to signals but was built without the `signals` feature; translate it again");
        }
    }

    fn on_stop(&mut self, ctx: &mut Context) {
        if self.m.bar_type.is_none() {
            let _ = ctx.unsubscribe_quotes(&self.m.instrument);
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        self.m.on_bar(ctx, bar);
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        self.m.on_quote(ctx, quote);
    }

    fn on_signal(&mut self, ctx: &mut Context, signal: &AiSignal) {
        self.m.on_signal(ctx, signal);
    }

    fn snapshot(&self) -> Vec<u8> {
        self.m.snapshot()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let ctx = Context::default();
        self.m.restore(&ctx, state)
    }
}
