//! Paths of every plugin component, built by this crate's build script from `plugins/`.
//!
//! ```ignore
//! let bytes = std::fs::read(stratbox_artifacts::EMA_CROSS)?;
//! ```

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
