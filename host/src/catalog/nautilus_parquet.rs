//! Nautilus catalog Parquet files (64-bit fixed point: `FixedSizeBinary(8)`, scale 10^9),
//! decoded with Nautilus's own Arrow decoders. The kind of data is read from the file:
//! bars carry a `bar_type` in the schema metadata, quotes a `bid_price` column, trades an
//! `aggressor_side` column. Files written by the Python wheels (128-bit) are refused with
//! a message saying so.

use std::collections::HashMap;

use cap_std::fs::Dir;
use nautilus_model::data::{Bar, Data, QuoteTick, TradeTick};
use nautilus_serialization::arrow::DecodeDataFromRecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::DataError;

/// What a Nautilus Parquet file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetKind {
    Quotes,
    Trades,
    Bars,
}

/// Reads every row of `name` in `dir`; returns the kind, the instrument id from the
/// metadata, and the data in file order.
pub fn read(dir: &Dir, name: &str) -> Result<(ParquetKind, String, Vec<Data>), DataError> {
    let err = |message: String| DataError::Row {
        file: name.to_string(),
        line: 0,
        message,
    };
    let file = dir.open(name).map_err(|source| DataError::Open {
        file: name.to_string(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file.into_std())
        .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let metadata: HashMap<String, String> = schema.metadata().clone();
    let has = |c: &str| schema.field_with_name(c).is_ok();
    let kind = if metadata.contains_key("bar_type") {
        ParquetKind::Bars
    } else if has("bid_price") {
        ParquetKind::Quotes
    } else if has("aggressor_side") {
        ParquetKind::Trades
    } else {
        return Err(err(
            "not a Nautilus quotes, trades or bars file (no bar_type metadata, no bid_price or aggressor_side column)"
                .to_string(),
        ));
    };
    let price_column = match kind {
        ParquetKind::Quotes => "bid_price",
        ParquetKind::Trades => "price",
        ParquetKind::Bars => "open",
    };
    if let Ok(f) = schema.field_with_name(price_column)
        && matches!(f.data_type(), arrow_schema::DataType::FixedSizeBinary(16))
    {
        return Err(err(
            "prices are 128-bit (written by the Python wheels); only Nautilus's 64-bit layout is supported — rewrite the file with nautilus-persistence 0.57 or `stratbox catalog`"
                .to_string(),
        ));
    }
    let instrument_id = metadata
        .get("instrument_id")
        .cloned()
        .or_else(|| {
            metadata
                .get("bar_type")
                .and_then(|b| b.parse::<nautilus_model::data::BarType>().ok())
                .map(|b| b.instrument_id().to_string())
        })
        .ok_or_else(|| err("schema metadata has no instrument_id".to_string()))?;
    let reader = builder
        .build()
        .map_err(|e| err(format!("cannot read: {e}")))?;
    let mut data = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(format!("cannot read a row group: {e}")))?;
        let decoded = match kind {
            ParquetKind::Quotes => QuoteTick::decode_data_batch(&metadata, batch),
            ParquetKind::Trades => TradeTick::decode_data_batch(&metadata, batch),
            ParquetKind::Bars => Bar::decode_data_batch(&metadata, batch),
        }
        .map_err(|e| err(format!("cannot decode: {e}")))?;
        data.extend(decoded);
    }
    if data.is_empty() {
        return Err(err("the file has no rows".to_string()));
    }
    Ok((kind, instrument_id, data))
}
