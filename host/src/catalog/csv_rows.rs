//! The one checked CSV loop behind every text reader in `catalog/`: read through the
//! directory handle (or bytes already read from one), check the header and the field
//! count, parse each row, keep time order when asked, and name `file:line` in every error.

use std::{io::Read, ops::RangeInclusive};

use cap_std::fs::Dir;
use csv::ByteRecord;
use nautilus_model::types::Price;

use super::{
    DataError,
    fields::{self, text},
    series::{Parsed, Series, Unit},
};

/// What a reader checks besides syntax (field counts, numbers, timestamps, precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// Syntax only. Order, duplicates and price sanity are the quality checks' job, so a
    /// policy can decide (`stratbox catalog import`).
    Syntax,
    /// Also time order, positive prices, high/low bounding open/close and ask not below
    /// bid: data a backtest runs on as it is.
    Strict,
}

/// A text file to read: a name in a directory handle, or the bytes already read from one
/// (the importer parses exactly the bytes it hashes for lineage).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    name: &'a str,
    body: Body<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    File(&'a Dir),
    Bytes(&'a [u8]),
}

impl<'a> Source<'a> {
    /// `name` in `dir`, opened through the handle (nothing outside `dir` is reachable).
    #[must_use]
    pub fn file(dir: &'a Dir, name: &'a str) -> Self {
        Self {
            name,
            body: Body::File(dir),
        }
    }

    /// `bytes`, named `name` in errors.
    #[must_use]
    pub fn bytes(name: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            name,
            body: Body::Bytes(bytes),
        }
    }

    /// The name errors give.
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.name
    }
}

/// The first line of a file.
pub(super) enum Header {
    /// This exact line.
    Exactly(&'static [&'static str]),
    /// No header line.
    Absent,
    /// A header line when the first field of the first line is not a number.
    Optional,
}

/// How the timestamps of consecutive rows must relate ([`Checks::Strict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeOrder {
    /// Each row strictly after the previous one (bar files: one row per period).
    Increasing,
    /// Equal timestamps allowed (tick files: ticks can share a millisecond).
    NonDecreasing,
}

/// The shape of a file's rows.
pub(super) struct Layout {
    pub header: Header,
    /// Allowed number of fields in a row.
    pub fields: RangeInclusive<usize>,
    /// What a row looks like, for the field-count error.
    pub hint: &'static str,
    pub order: TimeOrder,
}

/// The values of a file's rows and the 1-based line each came from.
pub(super) struct Rows<T> {
    pub values: Vec<T>,
    pub lines: Vec<u64>,
}

impl Rows<nautilus_model::data::Bar> {
    /// The bars of `bar_type` with their lines.
    pub fn into_bars(self, bar_type: nautilus_model::data::BarType) -> Parsed {
        Parsed {
            series: Series::Bars(self.values),
            origin: self.lines,
            unit: Unit::Line,
            bar_type: Some(bar_type),
        }
    }
}

impl Rows<nautilus_model::data::QuoteTick> {
    /// The quotes with their lines.
    pub fn into_quotes(self) -> Parsed {
        Parsed {
            series: Series::Quotes(self.values),
            origin: self.lines,
            unit: Unit::Line,
            bar_type: None,
        }
    }
}

/// Reads every row of `source` through `parse`, which returns the row's value and its
/// timestamp (ns). Errors carry the source's name and the 1-based line.
pub(super) fn read<T>(
    source: &Source<'_>,
    layout: &Layout,
    checks: Checks,
    parse: impl FnMut(&ByteRecord) -> Result<(T, u64), String>,
) -> Result<Rows<T>, DataError> {
    match source.body {
        Body::File(dir) => {
            let file = dir.open(source.name).map_err(|e| DataError::Open {
                file: source.name.to_string(),
                source: e,
            })?;
            read_from(file, 0, source.name, layout, checks, parse)
        }
        Body::Bytes(bytes) => read_from(bytes, bytes.len(), source.name, layout, checks, parse),
    }
}

fn read_from<T>(
    input: impl Read,
    size_hint: usize,
    name: &str,
    layout: &Layout,
    checks: Checks,
    mut parse: impl FnMut(&ByteRecord) -> Result<(T, u64), String>,
) -> Result<Rows<T>, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let at = |line: u64, message: String| DataError::Row {
        file: name.to_string(),
        line,
        message,
    };
    let mut record = ByteRecord::new();
    let mut values = Vec::with_capacity(size_hint / 48);
    let mut lines = Vec::with_capacity(size_hint / 48);
    let mut first = true;
    let mut last_line = 0;
    let mut last_ts: Option<u64> = None;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| at(e.position().map_or(0, csv::Position::line), e.to_string()))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, csv::Position::line);
        last_line = line;
        if std::mem::take(&mut first) {
            match &layout.header {
                Header::Exactly(expected) => {
                    if record.iter().ne(expected.iter().map(|s| s.as_bytes())) {
                        let got: Vec<String> = record.iter().map(text).collect();
                        return Err(at(
                            line,
                            format!(
                                "header is `{}`, expected `{}`",
                                got.join(","),
                                expected.join(",")
                            ),
                        ));
                    }
                    continue;
                }
                Header::Optional
                    if record
                        .get(0)
                        .is_some_and(|f| !f.first().is_some_and(u8::is_ascii_digit)) =>
                {
                    continue;
                }
                _ => {}
            }
        }
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
            continue; // a blank line
        }
        if !layout.fields.contains(&record.len()) {
            return Err(at(
                line,
                format!("{} fields, expected `{}`", record.len(), layout.hint),
            ));
        }
        let (value, ts) = parse(&record).map_err(|m| at(line, m))?;
        if checks == Checks::Strict {
            if let Some(last) = last_ts {
                match layout.order {
                    TimeOrder::Increasing if ts <= last => {
                        return Err(at(
                            line,
                            "timestamp is not after the previous row's".to_string(),
                        ));
                    }
                    TimeOrder::NonDecreasing if ts < last => {
                        return Err(at(
                            line,
                            "timestamp is before the previous row's".to_string(),
                        ));
                    }
                    _ => {}
                }
            }
            last_ts = Some(ts);
        }
        values.push(value);
        lines.push(line);
    }
    if values.is_empty() {
        return Err(at(last_line + 1, "the file has no data rows".to_string()));
    }
    Ok(Rows { values, lines })
}

/// Field `i` of a record (empty when missing).
pub(super) fn field(r: &ByteRecord, i: usize) -> &[u8] {
    r.get(i).unwrap_or_default()
}

/// Field `i` as a price exact at `precision`; positive under [`Checks::Strict`].
pub(super) fn price(
    r: &ByteRecord,
    i: usize,
    what: &str,
    precision: u8,
    checks: Checks,
) -> Result<Price, String> {
    let p = fields::price(field(r, i), what, precision)?;
    if checks == Checks::Strict && p.raw <= 0 {
        return Err(format!("{what} `{}` is not positive", text(field(r, i))));
    }
    Ok(p)
}

/// Fields `first..first + 4` as open, high, low and close; under [`Checks::Strict`] high
/// and low must bound open and close.
pub(super) fn ohlc(
    r: &ByteRecord,
    first: usize,
    precision: u8,
    checks: Checks,
) -> Result<[Price; 4], String> {
    let p = [
        price(r, first, "open", precision, checks)?,
        price(r, first + 1, "high", precision, checks)?,
        price(r, first + 2, "low", precision, checks)?,
        price(r, first + 3, "close", precision, checks)?,
    ];
    if checks == Checks::Strict {
        let [open, high, low, close] = &p;
        let within = |x: &Price| x >= low && x <= high;
        if high < low || !within(open) || !within(close) {
            return Err("high/low do not bound open/close".to_string());
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(text: &str) -> (tempfile::TempDir, Dir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        dir.write("f.csv", text).unwrap();
        (tmp, dir)
    }

    const LAYOUT: Layout = Layout {
        header: Header::Exactly(&["t", "v"]),
        fields: 2..=2,
        hint: "t,v",
        order: TimeOrder::Increasing,
    };

    fn parse(r: &ByteRecord) -> Result<(u64, u64), String> {
        let t: u64 = text(field(r, 0)).parse().map_err(|e| format!("t: {e}"))?;
        Ok((t, t))
    }

    fn err(text: &str, layout: &Layout, checks: Checks) -> String {
        let (_t, dir) = dir_with(text);
        read(&Source::file(&dir, "f.csv"), layout, checks, parse)
            .err()
            .unwrap()
            .to_string()
    }

    #[test]
    fn every_error_names_file_and_line() {
        let strict = Checks::Strict;
        assert_eq!(
            err("a,b\n1,2\n", &LAYOUT, strict),
            "f.csv:1: header is `a,b`, expected `t,v`"
        );
        assert_eq!(
            err("t,v\n1,2\n3\n", &LAYOUT, strict),
            "f.csv:3: 1 fields, expected `t,v`"
        );
        assert!(err("t,v\n1,2\nx,2\n", &LAYOUT, strict).starts_with("f.csv:3: t: "));
        assert_eq!(
            err("t,v\n2,2\n2,2\n", &LAYOUT, strict),
            "f.csv:3: timestamp is not after the previous row's"
        );
        assert_eq!(
            err("t,v\n", &LAYOUT, strict),
            "f.csv:2: the file has no data rows"
        );
        let ticks = Layout {
            header: Header::Absent,
            order: TimeOrder::NonDecreasing,
            ..LAYOUT
        };
        assert_eq!(
            err("2,2\n1,2\n", &ticks, strict),
            "f.csv:2: timestamp is before the previous row's"
        );
        let (_t, dir) = dir_with("1,1\n1,1\n2,1\n");
        let rows = read(&Source::file(&dir, "f.csv"), &ticks, strict, parse).unwrap();
        assert_eq!((rows.values, rows.lines), (vec![1, 1, 2], vec![1, 2, 3]));
    }

    #[test]
    fn syntax_checks_leave_order_to_the_quality_checks() {
        let rows = read(
            &Source::bytes("b.csv", b"t,v\n2,2\n1,2\n"),
            &LAYOUT,
            Checks::Syntax,
            parse,
        )
        .unwrap();
        assert_eq!((rows.values, rows.lines), (vec![2, 1], vec![2, 3]));
    }

    #[test]
    fn strict_prices_are_positive_and_bounded() {
        let rec = |s: &str| ByteRecord::from(s.split(',').collect::<Vec<_>>());
        let strict = Checks::Strict;
        assert!(ohlc(&rec("2,3,1,2"), 0, 0, strict).is_ok());
        assert!(ohlc(&rec("4,3,1,2"), 0, 0, strict).is_err());
        assert!(ohlc(&rec("2,1,3,2"), 0, 0, strict).is_err());
        assert!(ohlc(&rec("4,3,1,2"), 0, 0, Checks::Syntax).is_ok());
        assert_eq!(
            price(&rec("-1"), 0, "bid", 0, strict).unwrap_err(),
            "bid `-1` is not positive"
        );
        assert_eq!(
            price(&rec("-1"), 0, "bid", 0, Checks::Syntax).unwrap().raw,
            -1_000_000_000
        );
    }
}
