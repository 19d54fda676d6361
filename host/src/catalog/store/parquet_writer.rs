//! Nautilus catalog Parquet, written with its row groups encoded and compressed in parallel.
//!
//! The rows go through Nautilus's own `EncodeToRecordBatch` (the same schema, metadata and
//! fixed-point columns `ParquetDataCatalog::write_to_parquet` writes) and `parquet`'s
//! `ArrowWriter` with Nautilus's properties, except that the timestamp columns are
//! delta-encoded ([`TIME_COLUMNS`]). Each row group is encoded and compressed on a worker
//! thread (`ArrowRowGroupWriterFactory`, the parallel path `parquet` documents), the calling
//! thread appends the finished row groups in order, and the file is hashed as it is written
//! rather than read back. The bytes do not depend on the number of threads (a test holds us
//! to it); see docs/decisions/0040-parallel-catalog-writes.md.
//!
//! Memory: the compressed row groups that finish before an earlier one wait for it; at worst
//! that is the compressed file, which Nautilus's writer always holds whole.

use std::{
    collections::BTreeMap,
    io::Write,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
};

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch, cast::AsArray};
use bytes::Bytes;
use nautilus_serialization::arrow::EncodeToRecordBatch;
use parquet::{
    arrow::{
        ArrowWriter,
        arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves},
    },
    basic::{Encoding, Type as PhysicalType},
    column::writer::{ColumnCloseResult, get_column_writer, get_typed_column_writer},
    data_type::{ByteArray, FixedLenByteArray, FixedLenByteArrayType},
    file::{
        properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr},
        writer::{SerializedPageWriter, TrackedWrite},
    },
    schema::types::{ColumnDescPtr, ColumnPath},
};
use sha2::{Digest, Sha256};

use super::write::WriteOptions;
use crate::catalog::series::Series;

/// Most worker threads used for one file.
const MAX_WORKERS: usize = 8;

/// Nautilus's timestamp columns (`u64` nanoseconds, rising): delta-encoded without a
/// dictionary. Nautilus's writer dictionary-encodes them, which for values that are all
/// different builds a dictionary as large as the column; deltas halve the file (69.2 MB to
/// 35.6 MB on the bench's 2M bars) and take a fifth off the write.
///
/// Only these columns carry min/max statistics: readers prune row groups by time and by
/// nothing else, and the fixed-point price and size columns are byte strings whose byte
/// order is not their numeric order, so their statistics cost time and serve nobody.
const TIME_COLUMNS: [&str; 2] = ["ts_event", "ts_init"];

/// What was written.
#[derive(Debug)]
pub struct Written<W> {
    /// The writer given, after the file's last byte.
    pub out: W,
    /// sha256 of the file's bytes (hex).
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
}

/// Hashes and counts what passes through to `inner`.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Worker threads for `groups` row groups with `threads` cores.
fn workers(groups: usize, threads: usize) -> usize {
    threads.min(MAX_WORKERS).min(groups).max(1)
}

/// Writes `series` to `out` as one Nautilus Parquet file.
///
/// # Errors
/// An empty series, rows out of time order, rows whose metadata (instrument, bar type,
/// precisions) differ, or an encoding or I/O error.
pub fn write<W: Write + Send>(
    series: &Series,
    out: W,
    opts: &WriteOptions,
) -> Result<Written<W>, String> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    write_with(series, out, opts, threads)
}

fn write_with<W: Write + Send>(
    series: &Series,
    out: W,
    opts: &WriteOptions,
    threads: usize,
) -> Result<Written<W>, String> {
    match series {
        Series::Bars(v) => write_rows(v, out, opts, threads),
        Series::Quotes(v) => write_rows(v, out, opts, threads),
        Series::Trades(v) => write_rows(v, out, opts, threads),
    }
}

fn write_rows<T, W>(
    rows: &[T],
    out: W,
    opts: &WriteOptions,
    threads: usize,
) -> Result<Written<W>, String>
where
    T: EncodeToRecordBatch + nautilus_model::data::HasTsInit + Sync,
    W: Write + Send,
{
    if rows.is_empty() {
        return Err("nothing to write: no rows".into());
    }
    if let Some(i) = rows
        .windows(2)
        .position(|w| w[1].ts_init() < w[0].ts_init())
    {
        return Err(format!(
            "rows are not in time order: row {} is before row {i}",
            i + 1
        ));
    }
    let per_group = opts.row_group_rows.max(1);
    let groups: Vec<&[T]> = rows.chunks(per_group).collect();
    let encode = |chunk: &[T]| {
        T::encode_batch(&T::chunk_metadata(chunk), chunk)
            .map_err(|e| format!("encoding rows for Parquet: {e}"))
    };
    let first = encode(groups[0])?;
    let schema = first.schema();
    let props = properties(&schema, opts, per_group);
    let hashing = Hashing {
        inner: out,
        hash: Sha256::new(),
        bytes: 0,
    };
    let writer = ArrowWriter::try_new(hashing, Arc::clone(&schema), Some(props))
        .map_err(|e| format!("starting the Parquet file: {e}"))?;
    let (mut file, factory) = writer
        .into_serialized_writer()
        .map_err(|e| format!("starting the Parquet file: {e}"))?;
    let columns = Columns {
        descr: file.schema_descr().columns().to_vec(),
        props: Arc::clone(file.properties()),
        factory,
    };

    let group = |i: usize| -> Result<Vec<Chunk>, String> {
        let batch = if i == 0 {
            first.clone()
        } else {
            encode(groups[i])?
        };
        encode_group(&columns, &schema, i, &batch)
    };
    let mut append = |chunks: Vec<Chunk>| -> Result<(), String> {
        let err = |e: parquet::errors::ParquetError| format!("writing a row group: {e}");
        let mut rg = file.next_row_group().map_err(err)?;
        for c in chunks {
            match c {
                Chunk::Arrow(c) => c.append_to_row_group(&mut rg),
                Chunk::Encoded { data, close } => rg.append_column(&data, close),
            }
            .map_err(err)?;
        }
        rg.close().map_err(err).map(|_| ())
    };

    let n = workers(groups.len(), threads);
    if n == 1 {
        for i in 0..groups.len() {
            append(group(i)?)?;
        }
    } else {
        let (next, stop, count) = (AtomicUsize::new(0), AtomicBool::new(false), groups.len());
        std::thread::scope(|s| -> Result<(), String> {
            let (tx, rx) = mpsc::channel::<(usize, Result<Vec<Chunk>, String>)>();
            for _ in 0..n {
                let tx = tx.clone();
                let (next, stop, group) = (&next, &stop, &group);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let r = group(i);
                        let failed = r.is_err();
                        if tx.send((i, r)).is_err() || failed {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut waiting = BTreeMap::new();
            let mut due = 0;
            let result = (|| {
                for (i, r) in &rx {
                    waiting.insert(i, r?);
                    while let Some(chunks) = waiting.remove(&due) {
                        append(chunks)?;
                        due += 1;
                    }
                }
                if due == count {
                    Ok(())
                } else {
                    Err(format!(
                        "a Parquet worker stopped after {due} of {count} row groups"
                    ))
                }
            })();
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            result
        })?;
    }
    let hashing = file
        .into_inner()
        .map_err(|e| format!("finishing the Parquet file: {e}"))?;
    let Hashing {
        mut inner,
        hash,
        bytes,
    } = hashing;
    inner
        .flush()
        .map_err(|e| format!("finishing the Parquet file: {e}"))?;
    Ok(Written {
        out: inner,
        sha256: hex::encode(hash.finalize()),
        bytes,
        rows: rows.len() as u64,
    })
}

/// The writer properties: Nautilus's (compression, row-group size) except the time
/// columns' encoding, and statistics on the time columns only ([`TIME_COLUMNS`]).
fn properties(
    schema: &arrow_schema::Schema,
    opts: &WriteOptions,
    per_group: usize,
) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(opts.compression.parquet())
        .set_max_row_group_row_count(Some(per_group));
    for column in TIME_COLUMNS {
        let column = ColumnPath::from(column);
        props = props
            .set_column_dictionary_enabled(column.clone(), false)
            .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
    }
    for field in schema.fields() {
        if !TIME_COLUMNS.contains(&field.name().as_str()) {
            props = props.set_column_statistics_enabled(
                ColumnPath::from(field.name().as_str()),
                EnabledStatistics::None,
            );
        }
    }
    props.build()
}

/// An Arrow buffer as the owner of a [`Bytes`] (shared, not copied).
struct ArrowBytes(arrow_buffer::Buffer);

impl AsRef<[u8]> for ArrowBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// What encoding a row group's columns needs: the file's column descriptors and
/// properties, and `parquet`'s factory of Arrow column writers.
struct Columns {
    descr: Vec<ColumnDescPtr>,
    props: WriterPropertiesPtr,
    factory: ArrowRowGroupWriterFactory,
}

/// One encoded and compressed column chunk, ready to be appended to its row group.
enum Chunk {
    /// Written by `parquet`'s Arrow column writer.
    Arrow(ArrowColumnChunk),
    /// Written by [`encode_fixed`]: the chunk's bytes (offsets from 0) and its metadata.
    Encoded {
        data: Bytes,
        close: ColumnCloseResult,
    },
}

/// Encodes and compresses one row group's columns.
fn encode_group(
    columns: &Columns,
    schema: &arrow_schema::SchemaRef,
    index: usize,
    batch: &RecordBatch,
) -> Result<Vec<Chunk>, String> {
    if batch.schema() != *schema {
        return Err(format!(
            "row group {index} has other metadata (instrument, bar type or precision) than the first: one file holds one series"
        ));
    }
    let err = |e: parquet::errors::ParquetError| format!("encoding row group {index}: {e}");
    let writers = columns.factory.create_column_writers(index).map_err(err)?;
    if writers.len() != batch.num_columns() || columns.descr.len() != batch.num_columns() {
        return Err(format!(
            "row group {index}: {} columns, the schema has {}",
            batch.num_columns(),
            writers.len()
        ));
    }
    let mut chunks = Vec::with_capacity(writers.len());
    // One vector of values for every fixed-size column of the group.
    let mut values = Vec::new();
    for (((array, field), mut writer), descr) in batch
        .columns()
        .iter()
        .zip(schema.fields())
        .zip(writers)
        .zip(&columns.descr)
    {
        if let Some(fixed) = array.as_fixed_size_binary_opt()
            && descr.physical_type() == PhysicalType::FIXED_LEN_BYTE_ARRAY
            && !field.is_nullable()
            && fixed.null_count() == 0
        {
            chunks.push(encode_fixed(fixed, descr, &columns.props, &mut values).map_err(err)?);
            continue;
        }
        for leaf in compute_leaves(field, array).map_err(err)? {
            writer.write(&leaf).map_err(err)?;
        }
        chunks.push(Chunk::Arrow(writer.close().map_err(err)?));
    }
    Ok(chunks)
}

/// A fixed-size binary column (Nautilus's prices and sizes) without nulls, written as
/// `parquet`'s Arrow writer writes it, minus a heap allocation per value: its
/// `get_fsb_array_slice` copies every value into a `Vec` of its own, which was an eighth of
/// an import's CPU time; here every value is a slice of the array's own buffer (shared,
/// not copied). `values` is scratch space, left empty. The bytes are the same (a test
/// compares whole files).
fn encode_fixed(
    array: &FixedSizeBinaryArray,
    descr: &ColumnDescPtr,
    props: &WriterPropertiesPtr,
    values: &mut Vec<FixedLenByteArray>,
) -> parquet::errors::Result<Chunk> {
    let width = usize::try_from(array.value_length()).unwrap_or(0);
    let data = Bytes::from_owner(ArrowBytes(array.values().clone()));
    values.clear();
    values.extend((0..array.len()).map(|i| {
        let at = usize::try_from(array.value_offset(i)).unwrap_or(0);
        FixedLenByteArray::from(ByteArray::from(data.slice(at..at + width)))
    }));
    let mut sink = TrackedWrite::new(Vec::new());
    let close = {
        let pages = SerializedPageWriter::new(&mut sink);
        let writer = get_column_writer(Arc::clone(descr), Arc::clone(props), Box::new(pages));
        let mut typed = get_typed_column_writer::<FixedLenByteArrayType>(writer);
        typed.write_batch(values, None, None)?;
        typed.close()?
    };
    values.clear();
    Ok(Chunk::Encoded {
        data: Bytes::from(sink.into_inner()?),
        close,
    })
}

#[cfg(test)]
mod tests {
    use nautilus_model::data::{Bar, QuoteTick};

    use super::*;
    use crate::catalog::store::write::Compression;

    fn bars(n: usize) -> Vec<Bar> {
        let bar_type = "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
            .parse()
            .unwrap();
        (0..n as u64)
            .map(|i| {
                let p = |x: u64| {
                    nautilus_model::types::Price::from_raw((40_000 + x) as i64 * 1_000_000_000, 1)
                };
                let ts = (1_640_995_200 + i * 60) * 1_000_000_000;
                Bar::new(
                    bar_type,
                    p(i % 50),
                    p(i % 50 + 7),
                    p(i % 50),
                    p(i % 50 + 3),
                    nautilus_model::types::Quantity::from_raw(i * 1_000_000, 3),
                    ts.into(),
                    ts.into(),
                )
            })
            .collect()
    }

    #[test]
    fn the_bytes_do_not_depend_on_the_number_of_threads_and_read_back_exactly() {
        let rows = bars(5_500);
        let series = Series::Bars(rows.clone());
        let opts = WriteOptions {
            row_group_rows: 1_000,
            compression: Compression::Zstd(3),
            merge: false,
        };
        let one = write_with(&series, Vec::new(), &opts, 1).unwrap();
        for threads in [2, 3, 8] {
            let many = write_with(&series, Vec::new(), &opts, threads).unwrap();
            assert_eq!(many.out, one.out, "{threads} threads");
            assert_eq!(many.sha256, one.sha256);
        }
        assert_eq!(one.bytes, one.out.len() as u64);
        assert_eq!(one.sha256, hex::encode(Sha256::digest(&one.out)));
        assert_eq!(one.rows, 5_500);

        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::storage::open_dir(tmp.path()).unwrap();
        dir.write("f.parquet", &one.out).unwrap();
        let (kind, instrument, data) =
            crate::catalog::nautilus_parquet::read(&dir, "f.parquet").unwrap();
        assert_eq!(kind, crate::catalog::nautilus_parquet::ParquetKind::Bars);
        assert_eq!(instrument, "BTCUSDT-PERP.BINANCE");
        let back: Vec<Bar> = data
            .into_iter()
            .map(|d| Bar::try_from(d).unwrap())
            .collect();
        assert_eq!(back, rows);
        let meta = parquet::file::serialized_reader::SerializedFileReader::new(bytes::Bytes::from(
            one.out,
        ))
        .map(|r| parquet::file::reader::FileReader::metadata(&r).clone())
        .unwrap();
        assert_eq!(meta.num_row_groups(), 6);
        let ts = meta
            .row_group(0)
            .columns()
            .iter()
            .find(|c| c.column_path().string() == "ts_init")
            .unwrap();
        assert!(ts.encodings().any(|e| e == Encoding::DELTA_BINARY_PACKED));
    }

    /// The file `parquet`'s own `ArrowWriter` writes from the same batches and properties.
    fn arrow_writer_file<T: EncodeToRecordBatch>(rows: &[T], opts: &WriteOptions) -> Vec<u8> {
        let batches: Vec<RecordBatch> = rows
            .chunks(opts.row_group_rows)
            .map(|c| T::encode_batch(&T::chunk_metadata(c), c).unwrap())
            .collect();
        let schema = batches[0].schema();
        let props = properties(&schema, opts, opts.row_group_rows);
        let mut w = ArrowWriter::try_new(Vec::new(), schema, Some(props)).unwrap();
        for b in &batches {
            w.write(b).unwrap();
            w.flush().unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn the_file_is_the_one_parquets_arrow_writer_writes() {
        // The fixed-size price and size columns skip the Arrow writer (encode_fixed); the
        // result must not differ by a byte, for bars and quotes alike.
        for compression in [Compression::Zstd(1), Compression::Uncompressed] {
            let opts = WriteOptions {
                row_group_rows: 1_000,
                compression,
                merge: false,
            };
            let rows = bars(3_500);
            let ours = write_with(&Series::Bars(rows.clone()), Vec::new(), &opts, 2).unwrap();
            assert!(
                ours.out == arrow_writer_file(&rows, &opts),
                "bars, {compression:?}"
            );

            let quotes: Vec<QuoteTick> = rows
                .iter()
                .map(|b| {
                    QuoteTick::new(
                        b.bar_type.instrument_id(),
                        b.low,
                        b.high,
                        b.volume,
                        b.volume,
                        b.ts_event,
                        b.ts_init,
                    )
                })
                .collect();
            let ours = write_with(&Series::Quotes(quotes.clone()), Vec::new(), &opts, 2).unwrap();
            assert!(
                ours.out == arrow_writer_file(&quotes, &opts),
                "quotes, {compression:?}"
            );
        }
    }

    #[test]
    fn a_sliced_fixed_size_column_encodes_its_own_values() {
        let field =
            arrow_schema::Field::new("p", arrow_schema::DataType::FixedSizeBinary(8), false);
        let schema = arrow_schema::Schema::new(vec![field]);
        let descr = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .unwrap()
            .column(0);
        let props = Arc::new(properties(&schema, &WriteOptions::default(), 1_000));
        let all = FixedSizeBinaryArray::try_from_iter((0..10_u64).map(u64::to_le_bytes)).unwrap();
        let fresh = FixedSizeBinaryArray::try_from_iter((3..8_u64).map(u64::to_le_bytes)).unwrap();
        let encoded =
            |a: &FixedSizeBinaryArray| match encode_fixed(a, &descr, &props, &mut Vec::new())
                .unwrap()
            {
                Chunk::Encoded { data, close } => (data, close.metadata.num_values()),
                Chunk::Arrow(_) => unreachable!(),
            };
        assert_eq!(encoded(&all.slice(3, 5)), encoded(&fresh));
        assert_ne!(encoded(&all.slice(2, 5)), encoded(&fresh));
    }

    #[test]
    fn rows_out_of_time_order_or_of_two_series_are_refused() {
        let mut rows = bars(10);
        rows.swap(3, 4);
        let err =
            write_with(&Series::Bars(rows), Vec::new(), &WriteOptions::default(), 2).unwrap_err();
        assert_eq!(err, "rows are not in time order: row 4 is before row 3");
        assert_eq!(
            write_with(
                &Series::Bars(Vec::new()),
                Vec::new(),
                &WriteOptions::default(),
                2
            )
            .unwrap_err(),
            "nothing to write: no rows"
        );
        let mut rows = bars(20);
        let other = "ETHUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
            .parse()
            .unwrap();
        for b in &mut rows[10..] {
            b.bar_type = other;
        }
        let opts = WriteOptions {
            row_group_rows: 10,
            ..WriteOptions::default()
        };
        let err = write_with(&Series::Bars(rows), Vec::new(), &opts, 2).unwrap_err();
        assert!(err.starts_with("row group 1 has other metadata"), "{err}");
    }
}
