//! Parquet importers: pandas files (float or text columns, a timestamp column) and
//! Nautilus catalog files (64-bit fixed point, decoded with Nautilus's own decoders).

use arrow_array::{
    Array, BooleanArray, Float32Array, Float64Array, Int64Array, LargeStringArray, RecordBatch,
    StringArray, TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt64Array,
};
use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{Data, TradeTick},
    enums::AggressorSide,
    identifiers::TradeId,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{ImportError, Instrument};
use crate::catalog::series::{Kind, Parsed, Series, Unit};
use crate::catalog::{fields, quote};

/// One column, whatever its Arrow type, read as text or a number per row.
struct Column<'a> {
    name: String,
    array: &'a dyn Array,
}

impl Column<'_> {
    fn null_check(&self, i: usize) -> Result<(), String> {
        if self.array.is_null(i) {
            return Err(format!("column `{}` is null", self.name));
        }
        Ok(())
    }

    /// The value as decimal text (floats: their shortest round-trip text).
    fn decimal(&self, i: usize) -> Result<String, String> {
        self.null_check(i)?;
        let a = self.array.as_any();
        if let Some(a) = a.downcast_ref::<Float64Array>() {
            let v = a.value(i);
            return if v.is_finite() {
                Ok(format!("{v}"))
            } else {
                Err(format!(
                    "column `{}`: {v} is not a finite number",
                    self.name
                ))
            };
        }
        if let Some(a) = a.downcast_ref::<Float32Array>() {
            let v = a.value(i);
            return if v.is_finite() {
                Ok(format!("{v}"))
            } else {
                Err(format!(
                    "column `{}`: {v} is not a finite number",
                    self.name
                ))
            };
        }
        if let Some(a) = a.downcast_ref::<Int64Array>() {
            return Ok(a.value(i).to_string());
        }
        if let Some(a) = a.downcast_ref::<UInt64Array>() {
            return Ok(a.value(i).to_string());
        }
        if let Some(a) = a.downcast_ref::<StringArray>() {
            return Ok(a.value(i).to_string());
        }
        if let Some(a) = a.downcast_ref::<LargeStringArray>() {
            return Ok(a.value(i).to_string());
        }
        Err(format!(
            "column `{}` is {}, expected a float, integer or decimal text",
            self.name,
            self.array.data_type()
        ))
    }

    /// The value as a timestamp in ns since 1970.
    fn timestamp(&self, i: usize) -> Result<u64, String> {
        self.null_check(i)?;
        let a = self.array.as_any();
        let (v, scale) = if let Some(a) = a.downcast_ref::<TimestampNanosecondArray>() {
            (a.value(i), 1)
        } else if let Some(a) = a.downcast_ref::<TimestampMicrosecondArray>() {
            (a.value(i), 1_000)
        } else if let Some(a) = a.downcast_ref::<TimestampMillisecondArray>() {
            (a.value(i), 1_000_000)
        } else if let Some(a) = a.downcast_ref::<TimestampSecondArray>() {
            (a.value(i), 1_000_000_000)
        } else {
            return Err(format!(
                "column `{}` is {}, expected a timestamp type",
                self.name,
                self.array.data_type()
            ));
        };
        u64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(scale))
            .ok_or_else(|| {
                format!(
                    "column `{}`: time {v} is before 1970 or out of range",
                    self.name
                )
            })
    }

    fn boolean(&self, i: usize) -> Result<bool, String> {
        self.null_check(i)?;
        if let Some(a) = self.array.as_any().downcast_ref::<BooleanArray>() {
            return Ok(a.value(i));
        }
        match self.decimal(i)?.as_str() {
            "True" | "true" | "1" => Ok(true),
            "False" | "false" | "0" => Ok(false),
            other => Err(format!(
                "column `{}`: `{other}` is not true or false",
                self.name
            )),
        }
    }
}

fn column<'a>(
    batch: &'a RecordBatch,
    names: &[&str],
    file: &str,
) -> Result<Column<'a>, ImportError> {
    for name in names {
        if let Some(array) = batch.column_by_name(name) {
            return Ok(Column {
                name: (*name).to_string(),
                array: array.as_ref(),
            });
        }
    }
    let have: Vec<String> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    Err(ImportError::Other(format!(
        "{file}: no column `{}` (has {})",
        names.join("` or `"),
        have.join(", ")
    )))
}

/// A pandas Parquet file of quotes (`timestamp`, `bid`, `ask`, `bid_size`, `ask_size`) or
/// trades (`timestamp`, `price`, `quantity`, `buyer_maker`, `trade_id`).
pub fn pandas(
    bytes: bytes::Bytes,
    name: &str,
    kind: Kind,
    instrument: &Instrument,
) -> Result<Parsed, ImportError> {
    let other = |m: String| ImportError::Other(format!("{name}: {m}"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| other(format!("not a readable Parquet file: {e}")))?
        .build()
        .map_err(|e| other(format!("cannot read: {e}")))?;
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    let mut series = Series::empty(kind);
    let mut origin = Vec::new();
    let mut row: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| other(format!("cannot read a row group: {e}")))?;
        let ts = column(&batch, &["timestamp", "ts_event", "time"], name)?;
        match &mut series {
            Series::Quotes(out) => {
                let bid = column(&batch, &["bid", "bid_price"], name)?;
                let ask = column(&batch, &["ask", "ask_price"], name)?;
                let bid_size = column(&batch, &["bid_size"], name)?;
                let ask_size = column(&batch, &["ask_size"], name)?;
                for i in 0..batch.num_rows() {
                    row += 1;
                    let q = (|| {
                        let price =
                            |c: &Column<'_>| fields::price(c.decimal(i)?.as_bytes(), &c.name, pp);
                        let size = |c: &Column<'_>| {
                            fields::quantity(c.decimal(i)?.as_bytes(), &c.name, sp)
                        };
                        Ok::<_, String>(quote(
                            instrument,
                            price(&bid)?,
                            price(&ask)?,
                            size(&bid_size)?,
                            size(&ask_size)?,
                            ts.timestamp(i)?,
                        ))
                    })()
                    .map_err(|m| ImportError::at(name, format!("row {row}"), m))?;
                    out.push(q);
                    origin.push(row);
                }
            }
            Series::Trades(out) => {
                let price = column(&batch, &["price"], name)?;
                let size = column(&batch, &["quantity", "size", "qty"], name)?;
                let maker = column(&batch, &["buyer_maker", "is_buyer_maker"], name)?;
                let id = column(&batch, &["trade_id", "id"], name)?;
                for i in 0..batch.num_rows() {
                    row += 1;
                    let t = (|| {
                        let t = UnixNanos::from(ts.timestamp(i)?);
                        let trade_id = id.decimal(i)?;
                        Ok::<_, String>(TradeTick {
                            instrument_id: instrument.id,
                            price: fields::price(price.decimal(i)?.as_bytes(), "price", pp)?,
                            size: fields::quantity(size.decimal(i)?.as_bytes(), &size.name, sp)?,
                            // The buyer made the market: the seller was the aggressor.
                            aggressor_side: if maker.boolean(i)? {
                                AggressorSide::Seller
                            } else {
                                AggressorSide::Buyer
                            },
                            trade_id: TradeId::new_checked(&trade_id)
                                .map_err(|e| format!("trade_id `{trade_id}`: {e}"))?,
                            ts_event: t,
                            ts_init: t,
                        })
                    })()
                    .map_err(|m| ImportError::at(name, format!("row {row}"), m))?;
                    out.push(t);
                    origin.push(row);
                }
            }
            Series::Bars(_) => {
                return Err(other(
                    "pandas Parquet bars are not supported; import quotes or trades, or write bars as OHLCV CSV".into(),
                ));
            }
        }
    }
    if series.is_empty() {
        return Err(other("the file has no rows".into()));
    }
    Ok(Parsed {
        series,
        origin,
        unit: Unit::Row,
        bar_type: None,
    })
}

/// A Nautilus 64-bit catalog file of `kind` for `instrument`.
pub fn nautilus(
    dir: &cap_std::fs::Dir,
    name: &str,
    kind: Kind,
    instrument: &Instrument,
) -> Result<Parsed, ImportError> {
    use crate::catalog::nautilus_parquet::{self, ParquetKind};
    let (file_kind, file_instrument, data) =
        nautilus_parquet::read(dir, name).map_err(|e| ImportError::Other(e.to_string()))?;
    let file_kind = match file_kind {
        ParquetKind::Bars => Kind::Bars,
        ParquetKind::Quotes => Kind::Quotes,
        ParquetKind::Trades => Kind::Trades,
    };
    if file_kind != kind {
        return Err(ImportError::Other(format!(
            "{name} holds {file_kind}, not {kind} (--kind)"
        )));
    }
    if file_instrument != instrument.id.to_string() {
        return Err(ImportError::Other(format!(
            "{name} holds {file_instrument}, not {} (--instrument)",
            instrument.id
        )));
    }
    let mut series = Series::empty(kind);
    let mut bar_type = None;
    for d in data {
        match (&mut series, d) {
            (Series::Bars(v), Data::Bar(b)) => {
                bar_type = Some(b.bar_type);
                v.push(b);
            }
            (Series::Quotes(v), Data::Quote(q)) => v.push(q),
            (Series::Trades(v), Data::Trade(t)) => v.push(t),
            _ => {
                return Err(ImportError::Other(format!(
                    "{name}: mixed data in one file"
                )));
            }
        }
    }
    let origin = (1..=series.len() as u64).collect();
    Ok(Parsed {
        series,
        origin,
        unit: Unit::Row,
        bar_type,
    })
}
