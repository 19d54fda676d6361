//! Argument checks every capability applies before doing anything: size caps on what the
//! guest hands over, and the grant itself (a revoked capability traps).

use crate::sandbox::HostTrap;

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
