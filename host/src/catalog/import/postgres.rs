//! A PostgreSQL table as a source. Columns are looked up in `information_schema` first,
//! so a name that is not a column of the table is refused before any data query, and
//! every identifier is quoted. Values are fetched as text (`numeric` and `double precision`
//! print exactly), timestamps as integer microseconds (`timestamp[tz]`, taken as UTC) or,
//! for integer columns, as nanoseconds. Rows are read in time order; errors name the row.

use std::collections::BTreeMap;

use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{Bar, BarType, TradeTick},
    enums::AggressorSide,
    identifiers::TradeId,
};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

use super::{ImportError, Instrument, SourceInfo};
use crate::catalog::series::{Kind, Parsed, Series, Unit};
use crate::catalog::{fields, quote};

fn defaults(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Bars => &["ts", "open", "high", "low", "close", "volume"],
        Kind::Quotes => &["ts", "bid", "ask", "bid_size", "ask_size"],
        Kind::Trades => &["ts", "price", "size", "aggressor", "trade_id"],
    }
}

/// `url` without its password, for reports and lineage.
#[must_use]
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((auth, host)) => {
            let user = auth.split_once(':').map_or(auth, |(u, _)| u);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Reads table `table` (optionally `schema.table`) of the database at `url`.
///
/// # Errors
/// An unreachable database, a missing table or column, or a malformed row.
pub fn read(
    url: &str,
    table: &str,
    columns: &[(String, String)],
    kind: Kind,
    instrument: &Instrument,
    bar_type: Option<BarType>,
) -> Result<(Parsed, Vec<SourceInfo>), ImportError> {
    let shown = format!("{} table {table}", redact(url));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ImportError::Other(format!("cannot start the database client: {e}")))?;
    rt.block_on(read_async(
        url, &shown, table, columns, kind, instrument, bar_type,
    ))
}

async fn read_async(
    url: &str,
    shown: &str,
    table: &str,
    columns: &[(String, String)],
    kind: Kind,
    instrument: &Instrument,
    bar_type: Option<BarType>,
) -> Result<(Parsed, Vec<SourceInfo>), ImportError> {
    let other = |m: String| ImportError::Other(format!("{shown}: {m}"));
    let mut names: BTreeMap<&str, String> = defaults(kind)
        .iter()
        .map(|c| (*c, (*c).to_string()))
        .collect();
    for (k, v) in columns {
        let Some(role) = defaults(kind).iter().copied().find(|c| *c == k.as_str()) else {
            return Err(other(format!(
                "--column {k}={v}: `{k}` is not one of {}",
                defaults(kind).join(", ")
            )));
        };
        names.insert(role, v.clone());
    }
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| ImportError::Other(format!("cannot connect to {}: {e}", redact(url))))?;
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let types: BTreeMap<String, String> = sqlx::query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = $2",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut conn)
    .await
    .map_err(|e| other(format!("cannot read the table's columns: {e}")))?
    .into_iter()
    .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
    .collect();
    if types.is_empty() {
        return Err(other(
            "no such table (or no columns visible to this user)".into(),
        ));
    }
    let mut select = Vec::new();
    for role in defaults(kind) {
        let col = &names[role];
        let Some(ty) = types.get(col) else {
            if *role == "aggressor" && !columns.iter().any(|(k, _)| k == "aggressor") {
                select.push("NULL::text".to_string());
                continue;
            }
            return Err(other(format!(
                "no column `{col}` for {role} (columns: {}); map it with --column {role}=<name>",
                types.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        };
        let q = quote_ident(col);
        select.push(if *role == "ts" {
            match ty.as_str() {
                "timestamp with time zone" | "timestamp without time zone" => {
                    format!("(extract(epoch from {q}) * 1000000)::bigint::text")
                }
                "bigint" | "integer" | "numeric" => format!("{q}::text"),
                other_ty => {
                    return Err(other(format!(
                        "column `{col}` is {other_ty}; the time column must be a timestamp or integer nanoseconds"
                    )));
                }
            }
        } else {
            format!("{q}::text")
        });
    }
    let ts_is_micros = types
        .get(&names["ts"])
        .is_some_and(|t| t.starts_with("timestamp"));
    let sql = format!(
        "SELECT {} FROM {}.{} ORDER BY {}",
        select.join(", "),
        quote_ident(schema),
        quote_ident(name),
        quote_ident(&names["ts"])
    );
    // Safe: every identifier was checked against information_schema and is quoted.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| other(format!("query failed: {e}")))?;
    let _ = conn.close().await;
    let mut hasher = Sha256::new();
    let mut bytes: u64 = 0;
    let mut series = Series::empty(kind);
    let mut origin = Vec::with_capacity(rows.len());
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    for (i, row) in rows.iter().enumerate() {
        let n = i as u64 + 1;
        let at = |m: String| ImportError::at(shown, format!("row {n}"), m);
        let mut cells: Vec<Option<String>> = Vec::with_capacity(select.len());
        for c in 0..select.len() {
            let v: Option<String> = row.try_get(c).map_err(|e| at(e.to_string()))?;
            let text = v.as_deref().unwrap_or("\\N");
            hasher.update(text.as_bytes());
            hasher.update(if c + 1 == select.len() {
                b"\n"
            } else {
                b"\x1f"
            });
            bytes += text.len() as u64 + 1;
            cells.push(v);
        }
        let cell = |c: usize| -> Result<&[u8], String> {
            cells[c]
                .as_deref()
                .map(str::as_bytes)
                .ok_or_else(|| format!("column `{}` is null", names[defaults(kind)[c]]))
        };
        let result = (|| -> Result<(), String> {
            let raw_ts = cell(0)?;
            let ts = std::str::from_utf8(raw_ts)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .and_then(|v| {
                    if ts_is_micros {
                        v.checked_mul(1000)
                    } else {
                        Some(v)
                    }
                })
                .ok_or_else(|| {
                    format!(
                        "time `{}` is before 1970 or not an integer",
                        String::from_utf8_lossy(raw_ts)
                    )
                })?;
            match &mut series {
                Series::Bars(v) => {
                    let bar_type = bar_type.ok_or("a bar import needs a bar type")?;
                    let p = |c: usize, w: &str| fields::price(cell(c)?, w, pp);
                    let t = UnixNanos::from(ts);
                    v.push(Bar {
                        bar_type,
                        open: p(1, "open")?,
                        high: p(2, "high")?,
                        low: p(3, "low")?,
                        close: p(4, "close")?,
                        volume: fields::quantity(cell(5)?, "volume", sp)?,
                        ts_event: t,
                        ts_init: t,
                    });
                }
                Series::Quotes(v) => v.push(quote(
                    instrument,
                    fields::price(cell(1)?, "bid", pp)?,
                    fields::price(cell(2)?, "ask", pp)?,
                    fields::quantity(cell(3)?, "bid_size", sp)?,
                    fields::quantity(cell(4)?, "ask_size", sp)?,
                    ts,
                )),
                Series::Trades(v) => {
                    let side = match cells[3].as_deref().map(str::to_ascii_lowercase).as_deref() {
                        None | Some("" | "no_aggressor" | "none") => AggressorSide::NoAggressor,
                        Some("buyer" | "buy" | "b") => AggressorSide::Buyer,
                        Some("seller" | "sell" | "s") => AggressorSide::Seller,
                        Some(other) => {
                            return Err(format!(
                                "aggressor `{other}` is not buyer, seller or empty"
                            ));
                        }
                    };
                    let id = String::from_utf8_lossy(cell(4)?).into_owned();
                    let t = UnixNanos::from(ts);
                    v.push(TradeTick {
                        instrument_id: instrument.id,
                        price: fields::price(cell(1)?, "price", pp)?,
                        size: fields::quantity(cell(2)?, "size", sp)?,
                        aggressor_side: side,
                        trade_id: TradeId::new_checked(&id)
                            .map_err(|e| format!("trade_id `{id}`: {e}"))?,
                        ts_event: t,
                        ts_init: t,
                    });
                }
            }
            Ok(())
        })();
        result.map_err(at)?;
        origin.push(n);
    }
    if series.is_empty() {
        return Err(other("the table has no rows".into()));
    }
    Ok((
        Parsed {
            series,
            origin,
            unit: Unit::Row,
            bar_type: if kind == Kind::Bars { bar_type } else { None },
        },
        vec![SourceInfo {
            path: shown.to_string(),
            sha256: hex::encode(hasher.finalize()),
            bytes,
        }],
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_lineage() {
        assert_eq!(
            super::redact("postgres://u:secret@127.0.0.1:5432/db"),
            "postgres://u@127.0.0.1:5432/db"
        );
        assert_eq!(super::redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(super::quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
