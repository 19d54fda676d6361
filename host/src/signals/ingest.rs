//! Signal files: JSONL, CSV and Parquet, read into the schema's JSON objects so one
//! validator judges them all. Every record keeps its origin (`file:line` or
//! `file:row`) for dead letters and errors. The JSONL and CSV readers themselves are pure
//! parsing and live in the core (`stratbox_core::signal_input::records`, fuzzed); this
//! module opens the files and reads Parquet.
//!
//! - **JSONL**: one signal object per line; blank lines are skipped.
//! - **CSV**: a header naming the schema fields (`metadata` optional). `timestamp` is an
//!   integer of nanoseconds; `confidence` a number; `value` is a map if it is a JSON object
//!   (`{"trend": 0.7}`), a number if it parses as one, otherwise text; `metadata` is empty
//!   or a JSON object of strings.
//! - **Parquet**: the same columns. `timestamp` Int64/UInt64 or Timestamp(ns);
//!   `confidence` Float64; `value` Float64 or Utf8 (read like the CSV column); `metadata`
//!   Utf8 (JSON) or absent.

use std::{path::Path, str::FromStr};

use arrow_array::{
    Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt64Array,
};
use serde_json::{Map, Value as Json};
pub use stratbox_core::signal_input::records::{IngestError, Record, signal_id_of};
use stratbox_core::signal_input::{
    records::{Cell, object_of, read_csv, read_jsonl},
    validate::{OPTIONAL_FIELD, REQUIRED_FIELDS as REQUIRED},
};

use super::{store::Incoming, validate::Validator};

/// File formats `signals ingest` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Parquet,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            "parquet" => Ok(Self::Parquet),
            _ => Err(format!(
                "unknown signal file format `{s}` (expected jsonl, csv or parquet)"
            )),
        }
    }
}

impl Format {
    /// The format a file name suggests.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        path.extension()?.to_str()?.parse().ok()
    }
}

/// Validates a record into what the buffer stores: the signal, or its refusal with the
/// record kept for the dead letter.
#[must_use]
pub fn judge(record: Record, validator: &Validator, correlation_id: String) -> Incoming {
    match record.check(validator) {
        Ok(signal) => Incoming::Valid {
            signal,
            source: record.source,
            correlation_id,
        },
        Err((refusal, signal_id)) => Incoming::Refused {
            input: record.raw,
            refusal,
            signal_id,
            source: record.source,
            correlation_id,
        },
    }
}

fn file_err(path: &Path, reason: impl ToString) -> IngestError {
    IngestError::file(path.display(), reason)
}

/// Opens a file the operator named (through a `cap-std` handle on its directory).
fn open(path: &Path) -> Result<cap_std::fs::File, IngestError> {
    let name = path
        .file_name()
        .ok_or_else(|| file_err(path, "does not name a file"))?;
    let dir = crate::storage::open_dir(path.parent().unwrap_or(Path::new("")))
        .map_err(|e| file_err(path, e))?;
    dir.open(name).map_err(|e| file_err(path, e))
}

fn label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reads every record of `path`, calling `each` in file order. A record that cannot be
/// read as an object is still passed on (with its problem): it becomes a dead letter.
pub fn read(
    path: &Path,
    format: Format,
    each: &mut dyn FnMut(Record) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    match format {
        Format::Jsonl => read_jsonl(
            open(path)?.into_std(),
            &path.display().to_string(),
            &label(path),
            each,
        ),
        Format::Csv => read_csv(
            open(path)?.into_std(),
            &path.display().to_string(),
            &label(path),
            each,
        ),
        Format::Parquet => read_parquet(path, each),
    }
}

fn read_parquet(
    path: &Path,
    each: &mut dyn FnMut(Record) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let name = label(path);
    let file = open(path)?.into_std();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| file_err(path, format!("not a Parquet file: {e}")))?
        .with_batch_size(8_192)
        .build()
        .map_err(|e| file_err(path, e))?;
    let mut row_no = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| file_err(path, e))?;
        let columns = ParquetColumns::of(&batch).map_err(|e| file_err(path, e))?;
        for r in 0..batch.num_rows() {
            row_no += 1;
            let cells = columns.row(r);
            let raw = serde_json::to_string(
                &cells
                    .iter()
                    .filter_map(|(n, c)| {
                        c.as_ref().map(|c| {
                            (
                                (*n).to_string(),
                                match c {
                                    Cell::Text(t) => Json::String(t.clone()),
                                    Cell::Json(j) => j.clone(),
                                    Cell::NonFinite(x) => Json::String(x.to_string()),
                                },
                            )
                        })
                    })
                    .collect::<Map<String, Json>>(),
            )
            .unwrap_or_default();
            each(Record {
                source: format!("{name}:row {row_no}"),
                raw,
                object: object_of(&cells),
                parsed_from_raw: false,
            })?;
        }
    }
    Ok(())
}

/// The columns of one Parquet batch, typed.
struct ParquetColumns<'a> {
    text: Vec<(&'static str, Option<&'a StringArray>)>,
    timestamp: TsColumn<'a>,
    confidence: &'a Float64Array,
    value: ValueColumn<'a>,
}

enum TsColumn<'a> {
    I64(&'a Int64Array),
    U64(&'a UInt64Array),
    Ns(&'a TimestampNanosecondArray),
}

enum ValueColumn<'a> {
    F64(&'a Float64Array),
    Text(&'a StringArray),
}

impl<'a> ParquetColumns<'a> {
    fn of(batch: &'a RecordBatch) -> Result<Self, String> {
        let schema = batch.schema();
        for f in schema.fields() {
            let n = f.name().as_str();
            if !REQUIRED.contains(&n) && n != OPTIONAL_FIELD {
                return Err(format!("unknown column `{n}`"));
            }
        }
        let get = |n: &str| -> Result<&'a dyn Array, String> {
            batch
                .column_by_name(n)
                .map(AsRef::as_ref)
                .ok_or_else(|| format!("missing column `{n}` (expected {})", REQUIRED.join(", ")))
        };
        let text = |n: &'static str| -> Result<&'a StringArray, String> {
            get(n)?
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| format!("column `{n}` must be Utf8"))
        };
        let ts = get("timestamp")?;
        let timestamp = if let Some(a) = ts.as_any().downcast_ref::<Int64Array>() {
            TsColumn::I64(a)
        } else if let Some(a) = ts.as_any().downcast_ref::<UInt64Array>() {
            TsColumn::U64(a)
        } else if let Some(a) = ts.as_any().downcast_ref::<TimestampNanosecondArray>() {
            TsColumn::Ns(a)
        } else {
            return Err(format!(
                "column `timestamp` must be Int64, UInt64 or Timestamp(ns), found {}",
                ts.data_type()
            ));
        };
        let confidence = get("confidence")?
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or("column `confidence` must be Float64")?;
        let v = get("value")?;
        let value = if let Some(a) = v.as_any().downcast_ref::<Float64Array>() {
            ValueColumn::F64(a)
        } else if let Some(a) = v.as_any().downcast_ref::<StringArray>() {
            ValueColumn::Text(a)
        } else {
            return Err(format!(
                "column `value` must be Float64 or Utf8, found {}",
                v.data_type()
            ));
        };
        let metadata = match batch.column_by_name("metadata") {
            None => None,
            Some(_) => Some(text("metadata")?),
        };
        Ok(Self {
            text: vec![
                ("signal_id", Some(text("signal_id")?)),
                ("signal_type", Some(text("signal_type")?)),
                ("instrument_id", Some(text("instrument_id")?)),
                ("source_model", Some(text("source_model")?)),
                ("metadata", metadata),
            ],
            timestamp,
            confidence,
            value,
        })
    }

    fn row(&self, r: usize) -> Vec<(&'static str, Option<Cell>)> {
        let mut cells: Vec<(&'static str, Option<Cell>)> = self
            .text
            .iter()
            .map(|(n, a)| {
                (
                    *n,
                    a.filter(|a| a.is_valid(r))
                        .map(|a| Cell::Text(a.value(r).to_string())),
                )
            })
            .collect();
        let ts = match self.timestamp {
            TsColumn::I64(a) => a.is_valid(r).then(|| Json::from(a.value(r))),
            TsColumn::U64(a) => a.is_valid(r).then(|| Json::from(a.value(r))),
            TsColumn::Ns(a) => a.is_valid(r).then(|| Json::from(a.value(r))),
        };
        cells.push(("timestamp", ts.map(Cell::Json)));
        let number = |x: f64| {
            serde_json::Number::from_f64(x)
                .map_or(Cell::NonFinite(x), |n| Cell::Json(Json::Number(n)))
        };
        cells.push((
            "confidence",
            self.confidence
                .is_valid(r)
                .then(|| number(self.confidence.value(r))),
        ));
        cells.push((
            "value",
            match self.value {
                ValueColumn::F64(a) => a.is_valid(r).then(|| number(a.value(r))),
                ValueColumn::Text(a) => a.is_valid(r).then(|| Cell::Text(a.value(r).to_string())),
            },
        ));
        cells
    }
}
