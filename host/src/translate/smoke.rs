//! The smoke backtest a translation must pass: its component, with its default parameters,
//! replays bundled real data for its market (and bundled signals when it reads them) and
//! must finish without a fault.

use std::{path::Path, sync::Arc};

use nautilus_model::{data::HasTsInit, instruments::Instrument};
use serde::{Deserialize, Serialize};
use stratbox_manifest::Capability;

use super::TranslateError;
use crate::{
    audit::AuditLog,
    backtest::{
        self, BacktestReport, BacktestSpec, SignalInput, StrategySpec,
        data::{self, DataFormat},
        report::SignalsReport,
    },
    capabilities::risk_gate::RiskHub,
    catalog::instrument_defs::Instruments,
    sandbox::{PluginComponent, SandboxEngine},
    signals::{SignalLimits, TimeCheck, Validator, ingest::Format},
};

/// The bundled data a smoke backtest uses for a market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeData {
    /// Relative to the data root.
    pub file: &'static str,
    pub quotes: DataFormat,
    pub bars: DataFormat,
    pub signals: Option<&'static str>,
}

/// Bundled data per instrument (see data/README.md for provenance).
#[must_use]
pub fn bundled(instrument: &str) -> Option<SmokeData> {
    match instrument {
        "GBP/USD.FXCM" => Some(SmokeData {
            file: "fxcm/gbpusd-m1-bid-2012.csv",
            quotes: DataFormat::FxcmQuotes,
            bars: DataFormat::FxcmBars,
            signals: None,
        }),
        "BTCUSDT-PERP.BINANCE" => Some(SmokeData {
            file: "btc-perp/btc-perp-20211231-20220201_1m.csv",
            quotes: DataFormat::OhlcvQuotes,
            bars: DataFormat::OhlcvBars,
            signals: Some("signals/btc-perp-regimes-2022-01.jsonl"),
        }),
        _ => None,
    }
}

/// What the smoke backtest saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmokeReport {
    pub data: String,
    pub events: usize,
    pub callbacks: u64,
    pub orders: usize,
    pub fills: usize,
    pub signals_received: u64,
}

/// Runs `component` over at most `max_events` events of the bundled data for
/// `instrument`; any fault fails the smoke test.
pub fn run(
    engine: &SandboxEngine,
    component: &PluginComponent,
    instrument: &str,
    bars: bool,
    data_root: &Path,
    max_events: usize,
) -> Result<SmokeReport, TranslateError> {
    let fail = |m: String| TranslateError::Smoke(m);
    let Some(d) = bundled(instrument) else {
        return Err(fail(format!(
            "no bundled data for {instrument} (bundled: GBP/USD.FXCM, BTCUSDT-PERP.BINANCE); translate with --no-smoke and backtest it on your own data"
        )));
    };
    let defs = Instruments::bundled();
    let path = data_root.join(d.file);
    let format = if bars { d.bars } else { d.quotes };
    let mut loaded = data::load(&path, format, Some(instrument), None, &defs)
        .map_err(|e| fail(format!("loading {}: {e}", path.display())))?;
    loaded.data.truncate(max_events);
    let span = (
        loaded.data.first().map_or(0, |x| x.ts_init().as_u64()),
        loaded.data.last().map_or(0, |x| x.ts_init().as_u64()),
    );
    let signals = match d.signals {
        Some(file) if component.manifest().requests(Capability::Signals) => {
            let path = data_root.join(file);
            let validator =
                Validator::new([instrument], SignalLimits::default(), TimeCheck::Backtest);
            let f = crate::signals::load_file(&path, Format::Jsonl, &validator)
                .map_err(|e| fail(format!("loading {}: {e}", path.display())))?;
            SignalInput {
                signals: f
                    .signals
                    .into_iter()
                    .filter(|s| s.timestamp >= span.0 && s.timestamp <= span.1)
                    .collect(),
                report: SignalsReport {
                    source: Some(file.to_string()),
                    ..SignalsReport::default()
                },
            }
        }
        _ => SignalInput::default(),
    };
    let params = component
        .manifest()
        .resolve_params(&[])
        .map_err(|p| fail(format!("default parameters: {p}")))?;
    let settlement = loaded.instrument.settlement_currency();
    let audit = AuditLog::memory();
    let spec = BacktestSpec {
        instruments: vec![loaded.instrument.clone()],
        table: Arc::new(defs.table()),
        data: loaded.data,
        balances: vec![nautilus_model::types::Money::new(1_000_000.0, settlement)],
        strategies: vec![StrategySpec::Component { component, params }],
        chunk: backtest::DEFAULT_CHUNK,
        timing: false,
        risk: RiskHub::permissive(AuditLog::memory()),
        signals,
        purge_account_events: true,
    };
    let out =
        backtest::run(spec, engine, &audit, &mut |_, _| {}).map_err(|e| fail(e.to_string()))?;
    check(&out.report, d.file)
}

fn check(r: &BacktestReport, file: &str) -> Result<SmokeReport, TranslateError> {
    let s = r
        .strategies
        .first()
        .ok_or_else(|| TranslateError::Smoke("the backtest ran no strategy".into()))?;
    let p = s
        .plugin
        .as_ref()
        .ok_or_else(|| TranslateError::Smoke("the backtest ran no component".into()))?;
    if let Some(fault) = &p.fault {
        return Err(TranslateError::Smoke(format!(
            "the component faulted on {file}: {fault:?}"
        )));
    }
    Ok(SmokeReport {
        data: file.to_string(),
        events: r.events,
        callbacks: p.callbacks,
        orders: s.orders.len(),
        fills: s.fills.len(),
        signals_received: p.signals_received,
    })
}
