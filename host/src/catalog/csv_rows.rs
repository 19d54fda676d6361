//! The one checked CSV loop behind every text reader in `catalog/`: open through the
//! directory handle, check the header, check the field count, parse each row, keep time
//! order, and name `file:line` in every error.

use std::{io::BufReader, ops::RangeInclusive};

use cap_std::fs::Dir;
use csv::StringRecord;

use super::DataError;

/// How the timestamps of consecutive rows must relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeOrder {
    /// Each row strictly after the previous one (bar files: one row per period).
    Increasing,
    /// Equal timestamps allowed (tick files: ticks can share a millisecond).
    NonDecreasing,
}

/// The shape of a file's rows.
pub(super) struct Layout<'a> {
    /// The exact header line, or `None` for a headerless file.
    pub header: Option<&'a [&'a str]>,
    /// Allowed number of fields in a row.
    pub fields: RangeInclusive<usize>,
    /// What a row looks like, for the field-count error.
    pub row_hint: &'a str,
    pub order: TimeOrder,
}

/// Reads every row of `name` in `dir` through `parse`, which returns the row's value and
/// its timestamp (ns). Errors carry the file name and the 1-based line.
pub(super) fn read<T>(
    dir: &Dir,
    name: &str,
    layout: &Layout<'_>,
    mut parse: impl FnMut(&StringRecord) -> Result<(T, u64), String>,
) -> Result<Vec<T>, DataError> {
    let file = dir.open(name).map_err(|source| DataError::Open {
        file: name.to_string(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(layout.header.is_some())
        .flexible(true)
        .from_reader(BufReader::new(file));
    let row_err = |line: u64, message: String| DataError::Row {
        file: name.to_string(),
        line,
        message,
    };
    let mut first_line = 1;
    if let Some(expected) = layout.header {
        let headers = reader.headers().map_err(|e| row_err(1, e.to_string()))?;
        if headers.iter().ne(expected.iter().copied()) {
            return Err(row_err(
                1,
                format!("header is {headers:?}, expected {}", expected.join(",")),
            ));
        }
        first_line = 2;
    }
    let mut rows = Vec::new();
    let mut last_ts: Option<u64> = None;
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + first_line;
        let record = record.map_err(|e| row_err(line, e.to_string()))?;
        if !layout.fields.contains(&record.len()) {
            return Err(row_err(
                line,
                format!("{} fields, expected `{}`", record.len(), layout.row_hint),
            ));
        }
        let (value, ts) = parse(&record).map_err(|m| row_err(line, m))?;
        if let Some(last) = last_ts {
            match layout.order {
                TimeOrder::Increasing if ts <= last => {
                    return Err(row_err(
                        line,
                        "timestamp is not after the previous row's".to_string(),
                    ));
                }
                TimeOrder::NonDecreasing if ts < last => {
                    return Err(row_err(
                        line,
                        "timestamp is before the previous row's".to_string(),
                    ));
                }
                _ => {}
            }
        }
        last_ts = Some(ts);
        rows.push(value);
    }
    if rows.is_empty() {
        return Err(row_err(first_line, "the file has no data rows".to_string()));
    }
    Ok(rows)
}

/// Checks that `high`/`low` bound `open`/`close`.
pub(super) fn check_ohlc<P: PartialOrd>(
    open: &P,
    high: &P,
    low: &P,
    close: &P,
) -> Result<(), String> {
    let within = |p: &P| p >= low && p <= high;
    if high < low || !within(open) || !within(close) {
        return Err("high/low do not bound open/close".to_string());
    }
    Ok(())
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

    const LAYOUT: Layout<'static> = Layout {
        header: Some(&["t", "v"]),
        fields: 2..=2,
        row_hint: "t,v",
        order: TimeOrder::Increasing,
    };

    fn parse(r: &StringRecord) -> Result<(u64, u64), String> {
        let t: u64 = r[0].parse().map_err(|e| format!("t: {e}"))?;
        Ok((t, t))
    }

    fn err(text: &str, layout: &Layout<'_>) -> String {
        let (_t, dir) = dir_with(text);
        read(&dir, "f.csv", layout, parse).unwrap_err().to_string()
    }

    #[test]
    fn every_error_names_file_and_line() {
        assert!(err("a,b\n1,2\n", &LAYOUT).starts_with("f.csv:1: header is"));
        assert_eq!(
            err("t,v\n1,2\n3\n", &LAYOUT),
            "f.csv:3: 1 fields, expected `t,v`"
        );
        assert!(err("t,v\n1,2\nx,2\n", &LAYOUT).starts_with("f.csv:3: t: "));
        assert_eq!(
            err("t,v\n2,2\n2,2\n", &LAYOUT),
            "f.csv:3: timestamp is not after the previous row's"
        );
        assert_eq!(err("t,v\n", &LAYOUT), "f.csv:2: the file has no data rows");
        let ticks = Layout {
            header: None,
            order: TimeOrder::NonDecreasing,
            ..LAYOUT
        };
        assert_eq!(
            err("2,2\n1,2\n", &ticks),
            "f.csv:2: timestamp is before the previous row's"
        );
        let (_t, dir) = dir_with("1,1\n1,1\n2,1\n");
        assert_eq!(read(&dir, "f.csv", &ticks, parse).unwrap(), vec![1, 1, 2]);
    }

    #[test]
    fn ohlc_bounds() {
        assert!(check_ohlc(&2, &3, &1, &2).is_ok());
        assert!(check_ohlc(&4, &3, &1, &2).is_err());
        assert!(check_ohlc(&2, &1, &3, &2).is_err());
        assert!(check_ohlc(&2, &3, &1, &0).is_err());
    }
}
