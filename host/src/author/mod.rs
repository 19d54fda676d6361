//! Plugin crates outside this repository, built into components.
//!
//! - [`guest`]: what every plugin crate build shares: the pinning files, writing a crate,
//!   the guest target, building a crate into a core module (`stratbox translate` uses it).

pub mod guest;

pub use guest::GuestError;
