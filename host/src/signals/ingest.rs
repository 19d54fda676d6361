//! Signal files: JSONL, CSV and Parquet, read into the schema's JSON objects so one
//! validator judges them all. Every record keeps its origin (`file:line` or
//! `file:row`) for dead letters and errors.
//!
//! - **JSONL**: one signal object per line; blank lines are skipped.
//! - **CSV**: a header naming the schema fields (`metadata` optional). `timestamp` is an
//!   integer of nanoseconds; `confidence` a number; `value` is a map if it is a JSON object
//!   (`{"trend": 0.7}`), a number if it parses as one, otherwise text; `metadata` is empty
//!   or a JSON object of strings.
//! - **Parquet**: the same columns. `timestamp` Int64/UInt64 or Timestamp(ns);
//!   `confidence` Float64; `value` Float64 or Utf8 (read like the CSV column); `metadata`
//!   Utf8 (JSON) or absent.

use std::{io::BufRead, path::Path, str::FromStr};

use arrow_array::{
    Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt64Array,
};
use serde_json::{Map, Value as Json};

use super::{
    store::Incoming,
    validate::{Problem, Refusal, Validator},
};

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

/// One record of a file, not yet validated.
#[derive(Debug, Clone)]
pub struct Record {
    /// `file:line` / `file:row`.
    pub source: String,
    /// The record as received (for dead letters).
    pub raw: String,
    /// The record as a schema object, or why it is not one.
    pub object: Result<Json, Problem>,
    /// `object` was parsed from `raw` itself (JSONL), so `raw`'s length is its size.
    pub parsed_from_raw: bool,
}

impl Record {
    /// Validates the record into what the buffer stores: the signal, or its refusal.
    #[must_use]
    pub fn judge(self, validator: &Validator, correlation_id: String) -> Incoming {
        let object = match self.object {
            Ok(o) => o,
            Err(p) => {
                return Incoming::Refused {
                    input: self.raw,
                    refusal: Refusal(vec![p]),
                    signal_id: None,
                    source: self.source,
                    correlation_id,
                };
            }
        };
        // A JSONL record's size is its line; CSV / Parquet rows are measured as JSON.
        let checked = if self.parsed_from_raw {
            validator.validate_parsed(&object, self.raw.len())
        } else {
            validator.validate(&object)
        };
        match checked {
            Ok(signal) => Incoming::Valid {
                signal,
                source: self.source,
                correlation_id,
            },
            Err(refusal) => Incoming::Refused {
                signal_id: signal_id_of(&object),
                input: self.raw,
                refusal,
                source: self.source,
                correlation_id,
            },
        }
    }
}

/// The `signal_id` of a refused input, if it has a string one (cut to 128 characters), so
/// its dead letter can be found by id.
pub(crate) fn signal_id_of(object: &Json) -> Option<String> {
    object
        .get("signal_id")
        .and_then(Json::as_str)
        .map(|s| s.chars().take(128).collect())
}

/// A file could not be read at all (as opposed to a bad record, which is dead-lettered).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

fn file_err(path: &Path, reason: impl ToString) -> IngestError {
    IngestError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
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
        Format::Jsonl => read_jsonl(path, each),
        Format::Csv => read_csv(path, each),
        Format::Parquet => read_parquet(path, each),
    }
}

fn read_jsonl(
    path: &Path,
    each: &mut dyn FnMut(Record) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let name = label(path);
    let reader = std::io::BufReader::new(open(path)?.into_std());
    for (i, line) in reader.split(b'\n').enumerate() {
        let bytes = line.map_err(|e| file_err(path, e))?;
        let source = format!("{name}:{}", i + 1);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                each(Record {
                    source,
                    raw: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    object: Err(problem("signal", "not UTF-8 text")),
                    parsed_from_raw: false,
                })?;
                continue;
            }
        };
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let object = super::strict_json::parse(text)
            .map_err(|e| problem("signal", format!("not valid JSON: {e}")));
        each(Record {
            source,
            raw: text.to_string(),
            object,
            parsed_from_raw: true,
        })?;
    }
    Ok(())
}

fn problem(field: &str, reason: impl Into<String>) -> Problem {
    Problem {
        at: field.into(),
        message: reason.into(),
    }
}

/// A CSV / Parquet text cell as the schema value it stands for.
fn value_cell(s: &str) -> Result<Json, Problem> {
    let t = s.trim();
    if t.starts_with('{') {
        return super::strict_json::parse(t).map_err(|e| {
            problem(
                "value",
                format!("looks like a map but is not valid JSON: {e}"),
            )
        });
    }
    if let Ok(x) = t.parse::<f64>() {
        return serde_json::Number::from_f64(x)
            .map(Json::Number)
            .ok_or_else(|| problem("value", format!("`{t}` is not a finite number")));
    }
    Ok(Json::String(s.to_string()))
}

fn metadata_cell(s: &str) -> Result<Json, Problem> {
    if s.trim().is_empty() {
        return Ok(Json::Object(Map::new()));
    }
    super::strict_json::parse(s).map_err(|e| problem("metadata", format!("not a JSON object: {e}")))
}

use super::validate::{OPTIONAL_FIELD, REQUIRED_FIELDS as REQUIRED};

/// Builds the schema object of one CSV / Parquet row from its text cells.
fn object_of(cells: &[(&str, Option<Cell>)]) -> Result<Json, Problem> {
    let mut m = Map::new();
    for (name, cell) in cells {
        let Some(cell) = cell else { continue };
        let v = match (name, cell) {
            (_, Cell::Json(j)) => j.clone(),
            (&"timestamp", Cell::Text(t)) => match t.trim().parse::<u64>() {
                Ok(n) => Json::from(n),
                Err(_) => Json::String(t.clone()),
            },
            (_, Cell::NonFinite(x)) => {
                return Err(problem(name, format!("{x} is not a finite number")));
            }
            (&"confidence", Cell::Text(t)) => match t.trim().parse::<f64>() {
                Ok(x) => match serde_json::Number::from_f64(x) {
                    Some(n) => Json::Number(n),
                    None => return Err(problem(name, format!("`{t}` is not a finite number"))),
                },
                Err(_) => Json::String(t.clone()),
            },
            (&"value", Cell::Text(t)) => value_cell(t)?,
            (&"metadata", Cell::Text(t)) => metadata_cell(t)?,
            (_, Cell::Text(t)) => Json::String(t.clone()),
        };
        m.insert((*name).to_string(), v);
    }
    Ok(Json::Object(m))
}

#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Json(Json),
    /// A float column holding NaN or an infinity.
    NonFinite(f64),
}

fn read_csv(
    path: &Path,
    each: &mut dyn FnMut(Record) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let name = label(path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(open(path)?.into_std());
    let headers = reader.headers().map_err(|e| file_err(path, e))?.clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|n| col(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(file_err(
            path,
            format!(
                "header lacks {} (expected columns {}, and optionally metadata)",
                missing.join(", "),
                REQUIRED.join(",")
            ),
        ));
    }
    let extra: Vec<&str> = headers
        .iter()
        .filter(|h| !REQUIRED.contains(&h.trim()) && h.trim() != OPTIONAL_FIELD)
        .collect();
    if !extra.is_empty() {
        return Err(file_err(
            path,
            format!("unknown columns: {}", extra.join(", ")),
        ));
    }
    let names: Vec<&str> = REQUIRED.iter().copied().chain([OPTIONAL_FIELD]).collect();
    for (i, row) in reader.records().enumerate() {
        // Line numbers count the header as line 1.
        let source = format!("{name}:{}", i + 2);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                each(Record {
                    source,
                    raw: String::new(),
                    object: Err(problem(
                        "signal",
                        format!("not a CSV row of this file: {e}"),
                    )),
                    parsed_from_raw: false,
                })?;
                continue;
            }
        };
        let raw = row.iter().collect::<Vec<_>>().join(",");
        let cells: Vec<(&str, Option<Cell>)> = names
            .iter()
            .map(|n| {
                (
                    *n,
                    col(n)
                        .and_then(|c| row.get(c))
                        .map(|s| Cell::Text(s.to_string())),
                )
            })
            .collect();
        each(Record {
            source,
            raw,
            object: object_of(&cells),
            parsed_from_raw: false,
        })?;
    }
    Ok(())
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
