//! Argument checks every capability applies before doing anything: size caps on what the
//! guest hands over, and the grant itself (a revoked capability traps).

use crate::{
    bindings::{market_data::DataError, signals::SignalError, types::Rejection},
    sandbox::HostTrap,
};

/// A host function's failure: a WIT error value the guest receives, or a trap. `?` converts
/// both (`From<E>` for the WIT error, `From<wasmtime::Error>` for traps), so a host function
/// needs no nested `Result<Result<..>>`.
#[derive(Debug)]
pub enum HostError<E> {
    /// Returned to the guest as the WIT error.
    Wit(E),
    /// Traps the guest.
    Trap(wasmtime::Error),
}

impl<E> From<wasmtime::Error> for HostError<E> {
    fn from(e: wasmtime::Error) -> Self {
        Self::Trap(e)
    }
}

impl<E> From<HostTrap> for HostError<E> {
    fn from(t: HostTrap) -> Self {
        Self::Trap(wasmtime::Error::new(t))
    }
}

impl<E> HostError<E> {
    /// The WIT error for the guest, or the trap.
    pub fn into_wit(self) -> wasmtime::Result<E> {
        match self {
            Self::Wit(e) => Ok(e),
            Self::Trap(t) => Err(t),
        }
    }
}

/// `market-data`'s errors.
pub type DataTrap = HostError<DataError>;
/// `signals`' errors.
pub type SignalTrap = HostError<SignalError>;
/// The risk gate's refusals of a cancel.
pub type RejectTrap = HostError<Rejection>;

impl From<Rejection> for RejectTrap {
    fn from(e: Rejection) -> Self {
        Self::Wit(e)
    }
}

impl From<DataError> for DataTrap {
    fn from(e: DataError) -> Self {
        Self::Wit(e)
    }
}

impl From<SignalError> for SignalTrap {
    fn from(e: SignalError) -> Self {
        Self::Wit(e)
    }
}

/// Largest string any import accepts. Longer is a contract violation, not a bad value: no
/// honest strategy sends 64 KiB where an instrument id or a log line is expected.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Traps with a contract violation if `s` is over [`MAX_STRING_BYTES`].
pub fn check_str(s: &str, what: &str) -> wasmtime::Result<()> {
    if s.len() > MAX_STRING_BYTES {
        return Err(wasmtime::Error::new(HostTrap::ContractViolation(format!(
            "{what} is {} bytes; the contract allows at most {MAX_STRING_BYTES}",
            s.len()
        ))));
    }
    Ok(())
}

/// Traps with `CapabilityDenied` when the capability was revoked from this instance.
pub fn check_granted(granted: bool, capability: &str, function: &str) -> wasmtime::Result<()> {
    if granted {
        Ok(())
    } else {
        Err(wasmtime::Error::new(HostTrap::CapabilityDenied {
            capability: capability.to_string(),
            function: function.to_string(),
        }))
    }
}

/// `instruments` narrows a grant; `None` means every instrument the host knows.
#[must_use]
pub fn in_scope(instruments: Option<&std::collections::BTreeSet<String>>, id: &str) -> bool {
    instruments.is_none_or(|set| set.contains(id))
}

/// The instruments a (narrowed) request names; `None` (every instrument) when it names none.
#[must_use]
pub fn requested_instruments(
    request: Option<&stratbox_manifest::CapabilityRequest>,
) -> Option<std::collections::BTreeSet<String>> {
    request
        .filter(|r| !r.instruments.is_empty())
        .map(|r| r.instruments.iter().cloned().collect())
}
