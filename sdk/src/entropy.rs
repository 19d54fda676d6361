//! The guest's only "randomness": a fixed-seed, deterministic byte stream behind getrandom's
//! `custom` backend.
//!
//! Strategies run with no clock and no entropy: identical inputs must give identical
//! decisions. Nautilus's identifiers intern strings in hash maps (`ustr` -> `ahash`), and
//! ahash seeds itself through getrandom on first use; on `wasm32-unknown-unknown` there is
//! no source, so without this the first `InstrumentId` would panic. A deterministic seed is
//! also what determinism wants: hash-map iteration order is then the same on every run.
//! Nothing here is, or pretends to be, cryptographic.

use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64 state; the seed is arbitrary and fixed forever.
static STATE: AtomicU64 = AtomicU64::new(0x5EED_5742_A7B0_0001);

fn next() -> u64 {
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `dest` with the next bytes of the stream.
pub fn fill(dest: &mut [u8]) {
    for chunk in dest.chunks_mut(8) {
        let bytes = next().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// getrandom 0.3 / 0.4 `custom` backend hook (both versions call this symbol).
///
/// # Safety
/// Called by getrandom with a valid, writable `dest` of `len` bytes.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
unsafe extern "Rust" fn __getrandom_v03_custom(
    dest: *mut u8,
    len: usize,
) -> Result<(), getrandom::Error> {
    // SAFETY: getrandom guarantees `dest` points to `len` writable bytes.
    let dest = unsafe { std::slice::from_raw_parts_mut(dest, len) };
    fill(dest);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_every_byte_and_moves_on() {
        let mut a = [0u8; 13];
        let mut b = [0u8; 13];
        super::fill(&mut a);
        super::fill(&mut b);
        assert_ne!(a, [0; 13]);
        assert_ne!(a, b);
    }
}
