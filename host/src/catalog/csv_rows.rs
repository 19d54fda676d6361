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

/// Bytes below which a file is parsed on one thread.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Reads every row of `source` through `parse`, which returns the row's value and its
/// timestamp (ns). Errors carry the source's name and the 1-based line.
///
/// Bytes already in memory are split at line ends and parsed on one thread per core when
/// they are large and hold no quote character (a quoted field may hold a line end, so such
/// files are read on one thread); the result, errors included, is the same as one pass.
pub(super) fn read<T: Send>(
    source: &Source<'_>,
    layout: &Layout,
    checks: Checks,
    parse: impl Fn(&ByteRecord) -> Result<(T, u64), String> + Sync,
) -> Result<Rows<T>, DataError> {
    let part = match source.body {
        Body::File(dir) => {
            let file = dir.open(source.name).map_err(|e| DataError::Open {
                file: source.name.to_string(),
                source: e,
            })?;
            scan(file, 0, 0, layout, checks, &parse)
        }
        Body::Bytes(bytes) => {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
            scan_bytes(bytes, cores, layout, checks, &parse)
        }
    };
    let at = |line: u64, message: String| DataError::Row {
        file: source.name.to_string(),
        line,
        message,
    };
    if let Some((line, message)) = part.error {
        return Err(at(line, message));
    }
    if part.values.is_empty() {
        return Err(at(
            part.last_line + 1,
            "the file has no data rows".to_string(),
        ));
    }
    Ok(Rows {
        values: part.values,
        lines: part.lines,
    })
}

/// [`scan`] of `bytes`, on `threads` threads when that pays.
fn scan_bytes<T: Send>(
    bytes: &[u8],
    threads: usize,
    layout: &Layout,
    checks: Checks,
    parse: &(impl Fn(&ByteRecord) -> Result<(T, u64), String> + Sync),
) -> Part<T> {
    let parts = split(bytes, threads);
    if parts.len() == 1 {
        return scan(bytes, bytes.len(), 0, layout, checks, parse);
    }
    let scanned: Vec<Part<T>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|&(chunk, lines_before)| {
                // The first part is reserved for the whole file: the others join it.
                let room = if lines_before == 0 {
                    bytes.len()
                } else {
                    chunk.len()
                };
                std::thread::Builder::new()
                    .name("csv-parse".into())
                    .spawn_scoped(s, move || {
                        scan(chunk, room, lines_before, layout, checks, parse)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.map(|h| h.join()) {
                Ok(Ok(part)) => part,
                Ok(Err(_)) => Part::failed("a parsing thread failed"),
                Err(e) => Part::failed(&format!("cannot start a parsing thread: {e}")),
            })
            .collect()
    });
    join(scanned, layout, checks)
}

/// `bytes` split after line ends into up to `pieces` pieces, each with the number of lines
/// before it; one piece when small or when it holds a quote.
fn split(bytes: &[u8], pieces: usize) -> Vec<(&[u8], u64)> {
    if pieces < 2 || bytes.len() < PARALLEL_MIN_BYTES || bytes.contains(&b'"') {
        return vec![(bytes, 0)];
    }
    let mut parts = Vec::with_capacity(pieces);
    let (mut from, mut lines_before) = (0, 0);
    for k in 1..pieces {
        let goal = (bytes.len() * k / pieces).max(from);
        let Some(end) = bytes[goal..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| goal + p + 1)
        else {
            break;
        };
        parts.push((&bytes[from..end], lines_before));
        lines_before += bytes[from..end].iter().filter(|&&b| b == b'\n').count() as u64;
        from = end;
    }
    if from < bytes.len() || parts.is_empty() {
        parts.push((&bytes[from..], lines_before));
    }
    parts
}

/// What one pass over (part of) a file found: the rows up to the first error, and that
/// error with its line.
struct Part<T> {
    values: Vec<T>,
    lines: Vec<u64>,
    /// Timestamps of the first and the last row.
    first_ts: u64,
    last_ts: u64,
    last_line: u64,
    error: Option<(u64, String)>,
}

impl<T> Part<T> {
    fn failed(message: &str) -> Self {
        Self {
            values: Vec::new(),
            lines: Vec::new(),
            first_ts: 0,
            last_ts: 0,
            last_line: 0,
            error: Some((0, message.to_string())),
        }
    }
}

/// Whether `ts` may follow `last` under `layout`'s order; the error otherwise.
fn order_error(layout: &Layout, last: u64, ts: u64) -> Option<String> {
    match layout.order {
        TimeOrder::Increasing if ts <= last => {
            Some("timestamp is not after the previous row's".to_string())
        }
        TimeOrder::NonDecreasing if ts < last => {
            Some("timestamp is before the previous row's".to_string())
        }
        _ => None,
    }
}

/// The parts of one file, in order, as one pass over it would have read them: the first
/// error in file order wins (an order error across two parts is at the later part's first
/// row, before any error later in that part).
fn join<T>(parts: Vec<Part<T>>, layout: &Layout, checks: Checks) -> Part<T> {
    let total: usize = parts.iter().map(|p| p.values.len()).sum();
    let mut parts = parts.into_iter();
    // The first part's rows stay where they are; only the later parts' are moved.
    let Some(mut out) = parts.next() else {
        return Part::failed("nothing was read");
    };
    if out.error.is_some() {
        return out;
    }
    out.values.reserve(total - out.values.len());
    out.lines.reserve(total - out.lines.len());
    for p in parts {
        if let (Some(&line), false) = (p.lines.first(), out.values.is_empty())
            && checks == Checks::Strict
            && let Some(message) = order_error(layout, out.last_ts, p.first_ts)
        {
            out.error = Some((line, message));
            return out;
        }
        if !p.values.is_empty() {
            if out.values.is_empty() {
                out.first_ts = p.first_ts;
            }
            out.last_ts = p.last_ts;
        }
        out.values.extend(p.values);
        out.lines.extend(p.lines);
        out.last_line = out.last_line.max(p.last_line);
        if p.error.is_some() {
            out.error = p.error;
            return out;
        }
    }
    out
}

/// One pass over `input`, whose first line is line `lines_before + 1` of the file (the
/// header is looked for only when `lines_before` is 0); room is reserved for the rows of
/// `size_hint` bytes.
fn scan<T>(
    input: impl Read,
    size_hint: usize,
    lines_before: u64,
    layout: &Layout,
    checks: Checks,
    parse: &impl Fn(&ByteRecord) -> Result<(T, u64), String>,
) -> Part<T> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = ByteRecord::new();
    let mut part = Part {
        values: Vec::with_capacity(size_hint / 48),
        lines: Vec::with_capacity(size_hint / 48),
        first_ts: 0,
        last_ts: 0,
        last_line: lines_before,
        error: None,
    };
    let mut first = lines_before == 0;
    loop {
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                part.error = Some((lines_before + line, e.to_string()));
                return part;
            }
        };
        if !more {
            break;
        }
        let line = lines_before + record.position().map_or(0, csv::Position::line);
        part.last_line = line;
        if std::mem::take(&mut first) {
            match &layout.header {
                Header::Exactly(expected) => {
                    if record.iter().ne(expected.iter().map(|s| s.as_bytes())) {
                        let got: Vec<String> = record.iter().map(text).collect();
                        part.error = Some((
                            line,
                            format!(
                                "header is `{}`, expected `{}`",
                                got.join(","),
                                expected.join(",")
                            ),
                        ));
                        return part;
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
            part.error = Some((
                line,
                format!("{} fields, expected `{}`", record.len(), layout.hint),
            ));
            return part;
        }
        let (value, ts) = match parse(&record) {
            Ok(v) => v,
            Err(m) => {
                part.error = Some((line, m));
                return part;
            }
        };
        if part.values.is_empty() {
            part.first_ts = ts;
        } else if checks == Checks::Strict
            && let Some(message) = order_error(layout, part.last_ts, ts)
        {
            part.error = Some((line, message));
            return part;
        }
        part.last_ts = ts;
        part.values.push(value);
        part.lines.push(line);
    }
    part
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

    /// A file over the parallel threshold, parsed in 1 to 7 pieces, gives what one pass
    /// gives: the same rows and lines, or the same first error at the same line.
    #[test]
    fn pieces_read_like_one_pass() {
        let mut ok = String::from("t,v\n");
        let mut t = 0;
        while ok.len() < PARALLEL_MIN_BYTES + 1000 {
            t += 1;
            ok.push_str(&format!("{t},{}\n", t % 7));
            if t % 1000 == 0 {
                ok.push('\n'); // blank lines are skipped
            }
        }
        let n = ok.len();
        let mut bad_late = ok.clone();
        bad_late.insert_str(n * 9 / 10, "x,1\n");
        let mut unordered = ok.clone();
        unordered.push_str("5,5\n");
        let mut two_errors = ok.clone();
        two_errors.insert_str(n / 3, "1,1\n");
        two_errors.insert_str(n * 2 / 3, "y,1\n");
        let ticks = Layout {
            order: TimeOrder::NonDecreasing,
            ..LAYOUT
        };
        for text in [&ok, &bad_late, &unordered, &two_errors] {
            // Cut a line in two at each piece boundary: the split must move to a line end.
            for (layout, checks) in [
                (&LAYOUT, Checks::Strict),
                (&LAYOUT, Checks::Syntax),
                (&ticks, Checks::Strict),
            ] {
                let one = scan(text.as_bytes(), n, 0, layout, checks, &parse);
                for threads in 1..=7 {
                    let many = scan_bytes(text.as_bytes(), threads, layout, checks, &parse);
                    assert_eq!(many.error, one.error, "{threads} pieces");
                    assert_eq!(many.values, one.values, "{threads} pieces");
                    assert_eq!(many.lines, one.lines, "{threads} pieces");
                    assert_eq!(many.last_line, one.last_line, "{threads} pieces");
                }
            }
        }
        let one = scan(ok.as_bytes(), n, 0, &LAYOUT, Checks::Strict, &parse);
        assert!(one.error.is_none() && one.values.len() as u64 == t);
        let quoted = format!("{ok}\"1\",2\n");
        assert_eq!(
            split(quoted.as_bytes(), 4).len(),
            1,
            "a quote keeps one pass"
        );
        assert_eq!(split(ok.as_bytes(), 4).len(), 4);
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
