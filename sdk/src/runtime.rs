//! The glue between the generated export trait and a [`Strategy`]: one static per plugin
//! (created by [`crate::export_strategy!`]), stream-id -> Nautilus identifier mapping, exact
//! WIT -> Nautilus conversion of each event, the panic hook, and the snapshot envelope.

use std::sync::{Mutex, MutexGuard, PoisonError};

use nautilus_model::types::{Price, Quantity};
use serde::{Deserialize, Serialize};

use crate::{
    Strategy,
    context::{Context, Stream},
    convert::{self, MAX_PRECISION},
    data::{Bar, BarType, InstrumentId, QuoteTick, TradeTick},
    params::Params,
    registered::Slot,
    wit,
};

const NOT_INITIALISED: &str =
    "stratbox contract violation: a callback arrived before `init` succeeded";

/// Host-sent price (the host validated it; a precision above 9 is a host bug and aborts).
#[inline]
fn px(p: wit::Price) -> Price {
    assert!(
        p.precision <= MAX_PRECISION,
        "stratbox contract violation: host sent price precision {}",
        p.precision
    );
    Price {
        raw: p.raw,
        precision: p.precision,
    }
}

/// Host-sent quantity (see [`px`]).
#[inline]
fn qty(q: wit::Quantity) -> Quantity {
    assert!(
        q.precision <= MAX_PRECISION,
        "stratbox contract violation: host sent quantity precision {}",
        q.precision
    );
    Quantity {
        raw: q.raw,
        precision: q.precision,
    }
}

/// Converts a WIT quote of a known instrument into an SDK quote, exactly.
pub(crate) fn quote(instrument_id: InstrumentId, q: &wit::QuoteTick) -> QuoteTick {
    QuoteTick {
        instrument_id,
        bid_price: px(q.bid),
        ask_price: px(q.ask),
        bid_size: qty(q.bid_size),
        ask_size: qty(q.ask_size),
        ts_event: q.ts_event,
        ts_init: q.ts_init,
    }
}

fn bar(bar_type: BarType, b: &wit::Bar) -> Bar {
    Bar {
        bar_type,
        open: px(b.open),
        high: px(b.high),
        low: px(b.low),
        close: px(b.close),
        volume: qty(b.volume),
        ts_event: b.ts_event,
        ts_init: b.ts_init,
    }
}

fn trade(instrument_id: InstrumentId, t: &wit::TradeTick) -> TradeTick {
    TradeTick {
        instrument_id,
        price: px(t.price),
        size: qty(t.size),
        aggressor_side: convert::aggressor(t.aggressor),
        trade_id: t.trade_id.clone(),
        ts_event: t.ts_event,
        ts_init: t.ts_init,
    }
}

/// What `snapshot` returns: the SDK's own state around the strategy's bytes, after the
/// format number (a `u16`).
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    streams: Vec<(u32, Stream)>,
    /// Registered indicators (format 2; the host moves them with the streams).
    indicators: Vec<Slot>,
    strategy: Vec<u8>,
}

/// Format 1 (SDK for contract 0.1.0): no indicators.
#[derive(Debug, Deserialize)]
struct EnvelopeV1 {
    streams: Vec<(u32, Stream)>,
    strategy: Vec<u8>,
}

const ENVELOPE_FORMAT: u16 = 2;

/// Reads an envelope of format 1 or 2.
fn read_envelope(bytes: &[u8]) -> Result<Envelope, String> {
    let bad = |e: postcard::Error| format!("snapshot is not a stratbox-sdk snapshot: {e}");
    let (format, rest) = postcard::take_from_bytes::<u16>(bytes).map_err(bad)?;
    match format {
        1 => {
            let v1: EnvelopeV1 = postcard::from_bytes(rest).map_err(bad)?;
            Ok(Envelope {
                streams: v1.streams,
                indicators: Vec::new(),
                strategy: v1.strategy,
            })
        }
        2 => postcard::from_bytes(rest).map_err(bad),
        other => Err(format!(
            "snapshot is not a stratbox-sdk snapshot this SDK can read: it says format {other}, this SDK reads formats 1 and {ENVELOPE_FORMAT}"
        )),
    }
}

struct State<S> {
    strategy: Option<S>,
    ctx: Context,
}

/// Holds one strategy instance. Wasm components are single-threaded and the host never
/// re-enters a component, so the mutex is never contended; it keeps this code free of
/// `unsafe` and sound when the SDK is compiled natively for tests.
#[doc(hidden)]
#[derive(Debug)]
pub struct Runtime<S> {
    state: Mutex<Option<State<S>>>,
}

impl<S> std::fmt::Debug for State<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("initialised", &self.strategy.is_some())
            .finish()
    }
}

impl<S: Strategy> Default for Runtime<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Strategy> Runtime<S> {
    /// An empty runtime; `init` creates the strategy.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<State<S>>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the initialised strategy; a callback before `init` is a contract
    /// violation and aborts the guest (the host reports a panic).
    fn with<R>(&self, f: impl FnOnce(&mut S, &mut Context) -> R) -> R {
        let mut guard = self.lock();
        let Some(State {
            strategy: Some(strategy),
            ctx,
        }) = guard.as_mut()
        else {
            panic!("{NOT_INITIALISED}");
        };
        f(strategy, ctx)
    }

    pub fn init(&self, params: Vec<wit::Param>) -> Result<(), String> {
        install_panic_hook();
        let strategy = S::init(&Params::new(params))?;
        *self.lock() = Some(State {
            strategy: Some(strategy),
            ctx: Context::new(),
        });
        Ok(())
    }

    pub fn on_start(&self) {
        self.with(|s, ctx| s.on_start(ctx));
    }

    pub fn on_stop(&self) {
        self.with(|s, ctx| s.on_stop(ctx));
    }

    pub fn on_bar(&self, b: wit::Bar) {
        self.with(|s, ctx| deliver_bar(s, ctx, &b));
    }

    pub fn on_quote(&self, q: wit::QuoteTick) {
        self.with(|s, ctx| deliver_quote(s, ctx, &q));
    }

    pub fn on_trade(&self, t: wit::TradeTick) {
        self.with(|s, ctx| deliver_trade(s, ctx, &t));
    }

    pub fn on_bar_with(&self, b: wit::Bar, initialized: u64, values: &[f64]) {
        self.with(|s, ctx| {
            ctx.indicators.take(b.stream, initialized, values);
            deliver_bar(s, ctx, &b);
        });
    }

    pub fn on_quote_with(&self, q: wit::QuoteTick, initialized: u64, values: &[f64]) {
        self.with(|s, ctx| {
            ctx.indicators.take(q.stream, initialized, values);
            deliver_quote(s, ctx, &q);
        });
    }

    pub fn on_trade_with(&self, t: wit::TradeTick, values: wit::IndicatorValues) {
        self.with(|s, ctx| {
            ctx.indicators
                .take(t.stream, values.initialized, &values.values);
            deliver_trade(s, ctx, &t);
        });
    }

    pub fn on_signal(&self, signal: wit::AiSignal) {
        self.with(|s, ctx| s.on_signal(ctx, &signal));
    }

    pub fn on_order_event(&self, event: wit::OrderEvent) {
        self.with(|s, ctx| s.on_order_event(ctx, &event));
    }

    pub fn snapshot(&self) -> Vec<u8> {
        self.with(|s, ctx| {
            let envelope = Envelope {
                streams: ctx.streams.clone(),
                indicators: ctx.indicators.slots.clone(),
                strategy: s.snapshot(),
            };
            let mut bytes = postcard::to_allocvec(&ENVELOPE_FORMAT)
                .unwrap_or_else(|e| panic!("snapshot encoding failed: {e}"));
            bytes.extend(
                postcard::to_allocvec(&envelope)
                    .unwrap_or_else(|e| panic!("snapshot encoding failed: {e}")),
            );
            bytes
        })
    }

    pub fn restore(&self, bytes: Vec<u8>) -> Result<(), String> {
        let envelope = read_envelope(&bytes)?;
        self.with(|s, ctx| {
            s.restore(&envelope.strategy)?;
            ctx.streams = envelope.streams;
            ctx.indicators.slots = envelope.indicators;
            Ok(())
        })
    }
}

fn deliver_bar<S: Strategy>(s: &mut S, ctx: &mut Context, b: &wit::Bar) {
    match ctx.stream(b.stream) {
        Some(Stream::Bars(bar_type)) => {
            let bar = bar(*bar_type, b);
            s.on_bar(ctx, &bar);
        }
        _ => ctx.warn(&format!(
            "dropped a bar of stream {} (not a bar subscription)",
            b.stream
        )),
    }
}

fn deliver_quote<S: Strategy>(s: &mut S, ctx: &mut Context, q: &wit::QuoteTick) {
    match ctx.stream(q.stream) {
        Some(Stream::Quotes(id)) => {
            let quote = quote(*id, q);
            s.on_quote(ctx, &quote);
        }
        _ => ctx.warn(&format!(
            "dropped a quote of stream {} (not a quote subscription)",
            q.stream
        )),
    }
}

fn deliver_trade<S: Strategy>(s: &mut S, ctx: &mut Context, t: &wit::TradeTick) {
    match ctx.stream(t.stream) {
        Some(Stream::Trades(id)) => {
            let trade = trade(*id, t);
            s.on_trade(ctx, &trade);
        }
        _ => ctx.warn(&format!(
            "dropped a trade of stream {} (not a trade subscription)",
            t.stream
        )),
    }
}

/// Reports a panic's message to the host (diagnostics import) before the guest aborts, so
/// the fault is classified as a panic with its message. Native builds keep the default hook.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    std::panic::set_hook(Box::new(|info| {
        let mut message = info.to_string();
        if message.len() > 1024 {
            let mut cut = 1024;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        crate::bindings::stratbox::strategy::diagnostics::panic_message(&message);
    }));
}
