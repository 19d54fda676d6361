//! AI signals as they arrive, before anything stores or delivers them: the schema
//! ([`schema::Signal`]), the strict JSON parser that refuses repeated keys, the
//! [`validate::Validator`] and the JSONL / CSV record readers ([`records`]).
//!
//! Pure parsing and validation, no I/O of its own: the host's `signals` module (buffer,
//! store, router, Parquet, files) builds on it and re-exports it, and the fuzz target
//! `signals` runs it on arbitrary bytes without building Nautilus
//! (docs/decisions/0024-fuzzing.md).

pub mod records;
pub mod schema;
pub mod strict_json;
pub mod validate;
