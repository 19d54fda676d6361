//! Signal records as files carry them (JSONL lines, CSV rows), read into the schema's JSON
//! objects so one [`Validator`] judges them all. Every record keeps its origin (`file:line`)
//! for dead letters and errors. The host's `signals::ingest` opens files (and reads Parquet,
//! whose Arrow readers do not belong in the core) and hands the bytes to these readers.
//!
//! - **JSONL**: one signal object per line; blank lines are skipped.
//! - **CSV**: a header naming the schema fields (`metadata` optional). `timestamp` is an
//!   integer of nanoseconds; `confidence` a number; `value` is a map if it is a JSON object
//!   (`{"trend": 0.7}`), a number if it parses as one, otherwise text; `metadata` is empty
//!   or a JSON object of strings.
//!
//! Pure parsing: no file system, so the fuzz target `signals` runs it on arbitrary bytes.

use std::io::{BufRead, Read};

use serde_json::{Map, Value as Json};

use super::{
    schema::Signal,
    strict_json,
    validate::{OPTIONAL_FIELD, Problem, REQUIRED_FIELDS as REQUIRED, Refusal, Validator},
};

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
    /// Validates the record: the signal, or its refusal with the input's `signal_id` (if
    /// it has a string one) so that its dead letter can be found by id.
    pub fn check(&self, validator: &Validator) -> Result<Signal, (Refusal, Option<String>)> {
        let object = match &self.object {
            Ok(o) => o,
            Err(p) => return Err((Refusal(vec![p.clone()]), None)),
        };
        // A JSONL record's size is its line; CSV / Parquet rows are measured as JSON.
        let checked = if self.parsed_from_raw {
            validator.validate_parsed(object, self.raw.len())
        } else {
            validator.validate(object)
        };
        checked.map_err(|refusal| (refusal, signal_id_of(object)))
    }
}

/// The `signal_id` of a refused input, if it has a string one (cut to 128 characters), so
/// its dead letter can be found by id.
pub fn signal_id_of(object: &Json) -> Option<String> {
    object
        .get("signal_id")
        .and_then(Json::as_str)
        .map(|s| s.chars().take(128).collect())
}

/// A file could not be read at all (as opposed to a bad record, which is dead-lettered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

impl IngestError {
    /// The input at `path` could not be read, because of `reason`.
    pub fn file(path: impl std::fmt::Display, reason: impl ToString) -> Self {
        Self::File {
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Reads JSONL from `input`: one signal object per line, blank lines skipped. `path`
/// names the input in errors, `name` prefixes each record's source (`name:line`).
pub fn read_jsonl(
    input: impl Read,
    path: &str,
    name: &str,
    each: &mut dyn FnMut(Record) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let reader = std::io::BufReader::new(input);
    for (i, line) in reader.split(b'\n').enumerate() {
        let bytes = line.map_err(|e| IngestError::file(path, e))?;
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
        let object =
            strict_json::parse(text).map_err(|e| problem("signal", format!("not valid JSON: {e}")));
        each(Record {
            source,
            raw: text.to_string(),
            object,
            parsed_from_raw: true,
        })?;
    }
    Ok(())
}

/// A problem of one record: `field` (or `signal` for the whole record) and why.
pub fn problem(field: &str, reason: impl Into<String>) -> Problem {
    Problem {
        at: field.into(),
        message: reason.into(),
    }
}

/// A CSV / Parquet `value` text cell as the schema value it stands for.
pub fn value_cell(s: &str) -> Result<Json, Problem> {
    let t = s.trim();
    if t.starts_with('{') {
        return strict_json::parse(t).map_err(|e| {
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

/// A CSV / Parquet `metadata` text cell: empty, or a JSON object.
pub fn metadata_cell(s: &str) -> Result<Json, Problem> {
    if s.trim().is_empty() {
        return Ok(Json::Object(Map::new()));
    }
    strict_json::parse(s).map_err(|e| problem("metadata", format!("not a JSON object: {e}")))
}

/// Builds the schema object of one CSV / Parquet row from its text cells.
pub fn object_of(cells: &[(&str, Option<Cell>)]) -> Result<Json, Problem> {
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

/// One cell of a CSV / Parquet row, before it becomes a schema value.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Json(Json),
    /// A float column holding NaN or an infinity.
    NonFinite(f64),
}

/// Reads CSV from `input`: a header naming the schema fields, then one signal per row.
/// A header that lacks a field or names an unknown one is an error (nothing is read); a
/// row that cannot be read is passed on with its problem. `path` names the input in
/// errors, `name` prefixes each record's source (`name:line`, the header is line 1).
pub fn read_csv(
    input: impl Read,
    path: &str,
    name: &str,
    each: &mut dyn FnMut(Record) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| IngestError::file(path, e))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|n| col(n).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(IngestError::file(
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
        return Err(IngestError::file(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal_input::validate::{SignalLimits, TimeCheck};

    type Reader = fn(
        &[u8],
        &str,
        &str,
        &mut dyn FnMut(Record) -> Result<(), IngestError>,
    ) -> Result<(), IngestError>;

    fn collect(read: Reader, bytes: &[u8]) -> Result<Vec<Record>, IngestError> {
        let mut out = Vec::new();
        read(bytes, "in/x", "x", &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    fn jsonl(
        b: &[u8],
        p: &str,
        n: &str,
        e: &mut dyn FnMut(Record) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        read_jsonl(b, p, n, e)
    }

    fn csv(
        b: &[u8],
        p: &str,
        n: &str,
        e: &mut dyn FnMut(Record) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        read_csv(b, p, n, e)
    }

    const GOOD: &str = r#"{"signal_id":"s1","signal_type":"SENTIMENT","instrument_id":"GBP/USD.SIM","timestamp":1641081600000000000,"confidence":0.5,"value":0.25,"source_model":"m/1"}"#;

    #[test]
    fn jsonl_lines_keep_their_line_numbers_and_bad_lines_their_problem() {
        let mut text = format!("{GOOD}\r\n\n  \n").into_bytes();
        text.extend_from_slice(b"\xff\n{\"a\": 1, \"a\": 2}\n");
        let records = collect(jsonl, &text).unwrap();
        let v = Validator::new(
            ["GBP/USD.SIM"],
            SignalLimits::default(),
            TimeCheck::Backtest,
        );
        let sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(sources, ["x:1", "x:4", "x:5"]);
        assert_eq!(records[0].check(&v).unwrap().signal_id, "s1");
        let utf8 = records[1].check(&v).unwrap_err().0;
        assert_eq!(utf8.to_string(), "signal: not UTF-8 text");
        let twice = records[2].check(&v).unwrap_err().0;
        assert!(twice.to_string().contains("`a` appears twice"), "{twice}");
    }

    #[test]
    fn csv_headers_are_checked_before_any_row_and_rows_become_schema_objects() {
        let e = collect(csv, b"signal_id,confidence\ns,1\n").unwrap_err();
        assert!(
            e.to_string().starts_with("in/x: header lacks signal_type"),
            "{e}"
        );
        let e = collect(
            csv,
            b"signal_id,signal_type,instrument_id,timestamp,confidence,value,source_model,colour\n",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "in/x: unknown columns: colour");

        let text = b"signal_id,signal_type,instrument_id,timestamp,confidence,value,source_model,metadata\n\
            s1,SENTIMENT,GBP/USD.SIM,1641081600000000000,0.5,\"{\"\"up\"\": 0.7}\",m/1,\n\
            s2,SENTIMENT,GBP/USD.SIM,1641081600000000000,0.5,inf,m/1,\n";
        let records = collect(csv, text).unwrap();
        let v = Validator::new(
            ["GBP/USD.SIM"],
            SignalLimits::default(),
            TimeCheck::Backtest,
        );
        let s1 = records[0].check(&v).unwrap();
        assert_eq!(
            s1.canonical_json(),
            r#"{"signal_id":"s1","signal_type":"SENTIMENT","instrument_id":"GBP/USD.SIM","timestamp":1641081600000000000,"confidence":0.5,"value":{"up":0.7},"metadata":{},"source_model":"m/1"}"#
        );
        assert_eq!(records[1].source, "x:3");
        let (refusal, id) = records[1].check(&v).unwrap_err();
        assert_eq!(refusal.to_string(), "value: `inf` is not a finite number");
        assert_eq!(id, None);
    }
}
