//! Fuel for host calls (decision 0021).
//!
//! Wasmtime meters only wasm instructions; time spent in a host import is free to the guest
//! unless the host charges for it. Every host function of every capability records what it
//! costs with [`charge_host_call`]: [`HOST_CALL_FUEL`] per call plus [`HOST_BYTE_FUEL`] per
//! byte of string or list it copied in from the guest or out to it. The store's call hook
//! ([`call_hook`]) takes that charge from the calling store's fuel as the call returns to the
//! guest; a charge larger than what is left traps with `Trap::OutOfFuel`, like a guest loop
//! that used its budget. The charge is deterministic: it depends only on the calls and the
//! sizes of their values, never on time.
//!
//! The charge travels in a per-thread counter because a generated host function only sees
//! its capability's state, never the `Store`: a callback runs on one thread from start to
//! finish, the counter is cleared when the callback begins and taken when a host call
//! returns to the guest, so every charge lands on the store of the callback that made it.
//!
//! Only the return of an *outermost* host call takes the charge. While the host lowers a
//! result it may call the guest's `cabi_realloc`, which may make a libcall (`memory.grow`)
//! that also returns through the hook; compiled code keeps its fuel in a register across a
//! libcall and writes it back afterwards, so fuel set there would be lost. A call, by
//! contrast, reloads fuel as it returns. The hook therefore counts how deeply host calls
//! are nested and charges only when the outermost one returns.

use std::cell::Cell;

use wasmtime::{CallHook, StoreContextMut, Trap};

/// Fuel every host call costs, whatever it does: about what a thousand wasm instructions
/// cost, a fair price for crossing the boundary, checking the grant and the arguments.
pub const HOST_CALL_FUEL: u64 = 1_000;

/// Fuel per byte of string or list data a host call copies from or to the guest.
pub const HOST_BYTE_FUEL: u64 = 1;

thread_local! {
    /// Fuel owed by the host call running on this thread.
    static OWED: Cell<u64> = const { Cell::new(0) };
    /// How many calls from wasm into the host are running on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// What one host call that copied `bytes` (in and out) costs.
#[must_use]
pub fn host_call_cost(bytes: usize) -> u64 {
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    HOST_CALL_FUEL.saturating_add(bytes.saturating_mul(HOST_BYTE_FUEL))
}

/// Records the cost of the running host call, which copied `bytes` between guest and host
/// (strings and lists, in and out). Called by every host function of every capability.
pub fn charge_host_call(bytes: usize) {
    let cost = host_call_cost(bytes);
    OWED.with(|o| o.set(o.get().saturating_add(cost)));
}

fn take_owed() -> u64 {
    OWED.with(|o| o.replace(0))
}

/// The store's call hook when fuel is metered: when the outermost host call returns to the
/// guest, takes what it owes from the store's fuel. Libcalls (memory growth, the epoch
/// check) pass through here too and owe nothing of their own.
pub(crate) fn call_hook<T>(
    mut store: StoreContextMut<'_, T>,
    hook: CallHook,
) -> wasmtime::Result<()> {
    match hook {
        CallHook::CallingHost => {
            DEPTH.with(|d| d.set(d.get().saturating_add(1)));
            Ok(())
        }
        CallHook::ReturningFromHost => {
            let depth = DEPTH.with(|d| {
                d.set(d.get().saturating_sub(1));
                d.get()
            });
            if depth > 0 {
                return Ok(());
            }
            let owed = take_owed();
            if owed == 0 {
                return Ok(());
            }
            let left = store.get_fuel()?;
            if owed > left {
                store.set_fuel(0)?;
                return Err(Trap::OutOfFuel.into());
            }
            store.set_fuel(left - owed)
        }
        CallHook::CallingWasm | CallHook::ReturningFromWasm => Ok(()),
    }
}

/// Forgets any charge recorded outside a guest call (a host function called directly, as
/// unit tests do), so it is never billed to the next callback on this thread. Called as
/// every callback begins.
pub(crate) fn forget_owed() {
    take_owed();
    DEPTH.with(|d| d.set(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_costs_its_fixed_price_plus_its_bytes() {
        assert_eq!(host_call_cost(0), HOST_CALL_FUEL);
        assert_eq!(host_call_cost(100), HOST_CALL_FUEL + 100 * HOST_BYTE_FUEL);
        assert_eq!(host_call_cost(usize::MAX), u64::MAX);
        forget_owed();
        charge_host_call(10);
        charge_host_call(0);
        assert_eq!(take_owed(), host_call_cost(10) + host_call_cost(0));
        assert_eq!(take_owed(), 0);
    }
}
