//! The Python side of `stratbox bench peer`: the script (`light.py`), the files it reads
//! (the quotes, exactly as the Rust side loaded them, and the settings) and the running
//! interpreter, which runs one backtest per line it reads on stdin.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
};

use nautilus_model::{
    data::Data,
    instruments::{Instrument, InstrumentAny},
};
use serde::{Deserialize, de::DeserializeOwned};

use super::{Decisions, tail};
use crate::{backtest::data::Loaded, bench::backtest, storage};

/// The Python strategy and its driver.
const SCRIPT: &str = include_str!("light.py");

/// Prefix of the script's result lines on its stdout.
const TAG: &str = "stratbox-peer ";

/// The script's stderr, in the scratch folder.
const STDERR: &str = "python.stderr";

/// The script's first line.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct Header {
    pub nautilus_trader: String,
    pub python: String,
    pub quotes: usize,
    pub load_ns: u64,
}

/// The script's line for one run.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct PythonRun {
    pub wall_ns: u64,
    #[serde(flatten)]
    pub decisions: Decisions,
}

/// The object on a tagged line, `None` for an untagged line.
fn tagged<T: DeserializeOwned>(line: &str) -> Option<Result<T, String>> {
    let json = line.trim_end().strip_prefix(TAG)?;
    Some(serde_json::from_str(json).map_err(|e| format!("the Python side printed `{json}`: {e}")))
}

/// The quotes of `data` as CSV lines `ts_event,ts_init,bid,ask,bid_size,ask_size`, prices
/// and sizes as exact decimals at their precision.
pub fn quotes_csv(data: &[Data]) -> Result<String, String> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(data.len() * 64);
    for (i, d) in data.iter().enumerate() {
        let Data::Quote(q) = d else {
            return Err(format!(
                "event {i} of the data is not a quote: bench peer compares strategies on quotes \
                 (use --format fxcm-quotes-ohlc or another quote format)"
            ));
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            q.ts_event.as_u64(),
            q.ts_init.as_u64(),
            q.bid_price.as_decimal(),
            q.ask_price.as_decimal(),
            q.bid_size.as_decimal(),
            q.ask_size.as_decimal()
        );
    }
    Ok(out)
}

/// The settings file of the script: the instrument's definition, the starting balance and
/// the strategy's settings.
fn settings_json(config: &backtest::Config, instrument: &InstrumentAny) -> Result<String, String> {
    let InstrumentAny::CurrencyPair(p) = instrument else {
        return Err(format!(
            "{}: bench peer builds a currency pair on the Python side; this is another kind of instrument",
            instrument.id()
        ));
    };
    if p.max_notional.is_some()
        || p.min_notional.is_some()
        || p.max_price.is_some()
        || p.min_price.is_some()
    {
        return Err(format!(
            "{}: notional or price limits are not carried to the Python side",
            p.id
        ));
    }
    let dec = |d: rust_decimal::Decimal| d.to_string();
    let qty = |q: Option<nautilus_model::types::Quantity>| q.map(|q| q.as_decimal().to_string());
    let l = config.light;
    let settings = serde_json::json!({
        "instrument": {
            "id": p.id.to_string(),
            "base": p.base_currency.code.to_string(),
            "quote": p.quote_currency.code.to_string(),
            "price_precision": p.price_precision,
            "size_precision": p.size_precision,
            "price_increment": p.price_increment.as_decimal().to_string(),
            "size_increment": p.size_increment.as_decimal().to_string(),
            "multiplier": p.multiplier.as_decimal().to_string(),
            "lot_size": qty(p.lot_size),
            "min_quantity": qty(p.min_quantity),
            "max_quantity": qty(p.max_quantity),
            "margin_init": dec(p.margin_init),
            "margin_maint": dec(p.margin_maint),
            "maker_fee": dec(p.maker_fee),
            "taker_fee": dec(p.taker_fee),
        },
        // As `bench backtest`'s runs (`backtest::run_once`).
        "balance": format!("1000000 {}", instrument.settlement_currency().code),
        "strategy": {
            "trade_size": config.trade_size,
            "fast_period": l.fast_period,
            "slow_period": l.slow_period,
            "atr_period": l.atr_period,
            "atr_mult": l.atr_mult,
            "cooldown": l.cooldown,
        },
    });
    serde_json::to_string_pretty(&settings).map_err(|e| e.to_string())
}

/// The running script and its scratch folder; killed if dropped before it finished.
#[derive(Debug)]
pub(super) struct PythonSide {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// The scratch folder: the script, its inputs and its stderr.
    dir: cap_std::fs::Dir,
    _scratch: tempfile::TempDir,
    /// The script's first line, printed once it built its quotes.
    pub header: Header,
}

impl PythonSide {
    /// Writes the script, its settings and `loaded`'s quotes to a scratch folder, starts
    /// the script with `python` and waits until it has built its quotes.
    pub fn start(
        python: &Path,
        config: &backtest::Config,
        loaded: &Loaded,
    ) -> Result<Self, String> {
        let scratch = tempfile::tempdir().map_err(|e| format!("a scratch folder: {e}"))?;
        let path = scratch.path();
        let dir = storage::open_dir(path).map_err(|e| e.to_string())?;
        for (name, text) in [
            ("light.py", SCRIPT.to_string()),
            ("settings.json", settings_json(config, &loaded.instrument)?),
            ("quotes.csv", quotes_csv(&loaded.data)?),
        ] {
            dir.write(name, text)
                .map_err(|e| format!("{}: {e}", path.join(name).display()))?;
        }
        let stderr = dir
            .create(STDERR)
            .map_err(|e| format!("{}: {e}", path.join(STDERR).display()))?
            .into_std();
        let mut child = Command::new(python)
            .arg(path.join("light.py"))
            .arg(path.join("settings.json"))
            .arg(path.join("quotes.csv"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", python.display()))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let Some(stdout) = stdout else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the Python side has no stdout".to_string());
        };
        let mut side = Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            dir,
            _scratch: scratch,
            header: Header::default(),
        };
        side.header = side.next("building its quotes")?;
        if side.header.quotes != loaded.data.len() {
            return Err(format!(
                "the Python side read {} quotes of {}",
                side.header.quotes,
                loaded.data.len()
            ));
        }
        Ok(side)
    }

    /// Why the script stopped answering: its exit status and last lines of stderr.
    fn died(&mut self, what: &str) -> String {
        let status = self
            .child
            .wait()
            .map_or_else(|e| e.to_string(), |s| s.to_string());
        let stderr = self.dir.read(STDERR).unwrap_or_default();
        format!(
            "the Python side ({what}) stopped ({status}). Its last lines:\n{}",
            tail(&stderr, 20)
        )
    }

    /// The next tagged line of the script's stdout.
    fn next<T: DeserializeOwned>(&mut self, what: &str) -> Result<T, String> {
        let mut line = String::new();
        loop {
            line.clear();
            match self.stdout.read_line(&mut line) {
                Ok(0) | Err(_) => return Err(self.died(what)),
                Ok(_) => {
                    if let Some(parsed) = tagged(&line) {
                        return parsed;
                    }
                }
            }
        }
    }

    /// One whole backtest on the Python side.
    pub fn run(&mut self) -> Result<PythonRun, String> {
        let sent = self
            .stdin
            .as_mut()
            .map(|s| s.write_all(b"run\n").and_then(|()| s.flush()));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.died("a run"));
        }
        self.next("a run")
    }
}

impl Drop for PythonSide {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use nautilus_model::{
        data::QuoteTick,
        identifiers::InstrumentId,
        types::{Price, Quantity},
    };

    use super::*;

    #[test]
    fn the_quotes_file_holds_exact_values() {
        let id = InstrumentId::from("GBP/USD.FXCM");
        let quote = |bid: &str, ask: &str, size: &str, ts: u64| {
            Data::Quote(QuoteTick::new(
                id,
                Price::from(bid),
                Price::from(ask),
                Quantity::from(size),
                Quantity::from(size),
                ts.into(),
                (ts + 1).into(),
            ))
        };
        let data = vec![
            quote("1.57600", "1.57610", "1000000", 1_328_054_400_000_000_000),
            quote("0.00001", "1.99999", "1", 1),
            quote("1.30000", "1.30000", "0", 2),
        ];
        let text = quotes_csv(&data).unwrap();
        assert!(
            text.starts_with(
                "1328054400000000000,1328054400000000001,1.57600,1.57610,1000000,1000000\n"
            ),
            "{text}"
        );
        let back: Vec<Data> = text
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                Data::Quote(QuoteTick::new(
                    id,
                    Price::from_str(f[2]).unwrap(),
                    Price::from_str(f[3]).unwrap(),
                    Quantity::from_str(f[4]).unwrap(),
                    Quantity::from_str(f[5]).unwrap(),
                    f[0].parse::<u64>().unwrap().into(),
                    f[1].parse::<u64>().unwrap().into(),
                ))
            })
            .collect();
        // QuoteTick's equality compares raw values and precisions.
        for (a, b) in data.iter().zip(&back) {
            let (Data::Quote(a), Data::Quote(b)) = (a, b) else {
                panic!()
            };
            assert_eq!(
                (a.bid_price.raw, a.bid_price.precision),
                (b.bid_price.raw, b.bid_price.precision)
            );
            assert_eq!(
                (a.ask_price.raw, a.ask_price.precision),
                (b.ask_price.raw, b.ask_price.precision)
            );
            assert_eq!(
                (a.bid_size.raw, a.bid_size.precision),
                (b.bid_size.raw, b.bid_size.precision)
            );
            assert_eq!((a.ts_event, a.ts_init), (b.ts_event, b.ts_init));
        }
        assert_eq!(back.len(), data.len());
    }

    #[test]
    fn the_scripts_lines_parse() {
        assert!(tagged::<Header>("some log line\n").is_none());
        let h: Header = tagged(
            "stratbox-peer {\"nautilus_trader\": \"1.221.0\", \"python\": \"3.11.7\", \"quotes\": 3, \"load_ns\": 5}\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (h.nautilus_trader.as_str(), h.quotes, h.load_ns),
            ("1.221.0", 3, 5)
        );
        let r: PythonRun = tagged(
            "stratbox-peer {\"wall_ns\": 7, \"orders\": [[10, \"BUY\"], [20, \"SELL\"]], \"fills\": [[10, \"BUY\", \"100000\", \"1.57623\"]]}",
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.wall_ns, 7);
        assert_eq!(r.decisions.orders[1], (20, "SELL".to_string()));
        assert!(
            tagged::<PythonRun>("stratbox-peer {\"wall_ns\": -1}")
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn the_settings_carry_the_bundled_definition() {
        let defs = crate::catalog::instrument_defs::Instruments::bundled();
        let gbpusd = defs.nautilus("GBP/USD.FXCM").unwrap();
        let config = backtest::Config {
            plugin_dir: "unused".into(),
            workloads: vec![backtest::Workload::Light],
            data: "unused".into(),
            format: crate::backtest::data::DataFormat::FxcmQuotesOhlc,
            reps: 5,
            trade_size: "100000".to_string(),
            light: backtest::LightSettings::default(),
            heavy_periods: (10, 20),
        };
        let text = settings_json(&config, gbpusd).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let i = &v["instrument"];
        assert_eq!(i["id"], "GBP/USD.FXCM");
        assert_eq!(
            (i["price_precision"].as_u64(), i["size_precision"].as_u64()),
            (Some(5), Some(0))
        );
        for (key, want) in [
            ("price_increment", "0.00001"),
            ("size_increment", "1"),
            ("multiplier", "1"),
            ("lot_size", "1000"),
            ("min_quantity", "1"),
            ("max_quantity", "50000000"),
            ("margin_init", "0.03"),
            ("taker_fee", "0.00002"),
        ] {
            assert_eq!(i[key], want, "{key}");
        }
        assert_eq!(v["balance"], "1000000 USD");
        assert_eq!(v["strategy"]["cooldown"], 2000);
        assert_eq!(v["strategy"]["atr_mult"], 0.5);
    }
}
