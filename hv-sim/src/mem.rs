//! Guest physical memory as the partition model sees it: the SIM and SIEF slots, the
//! reference TSC page, the VP assist page and crash messages are read and written through
//! [`GuestMemory`], so their rules are unit-tested without the emulator.

use crate::uc::Cpu;

/// Byte access to guest physical memory.
pub(crate) trait GuestMemory {
    /// Reads `buf.len()` bytes at `gpa`; `false` when the range is not RAM.
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> bool;
    /// Writes `bytes` at `gpa`; `false` when the range is not RAM.
    fn write_phys(&mut self, gpa: u64, bytes: &[u8]) -> bool;

    /// Drops translated code for `len` bytes at `gpa` (after an overlay changed code).
    fn flush_phys(&mut self, _gpa: u64, _len: u64) {}

    /// The little-endian `u32` at `gpa`.
    fn read_u32(&mut self, gpa: u64) -> Option<u32> {
        let mut bytes = [0; 4];
        self.read_phys(gpa, &mut bytes)
            .then(|| u32::from_le_bytes(bytes))
    }
}

impl GuestMemory for Cpu<'_> {
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> bool {
        self.read_mem(gpa, buf).is_ok()
    }

    fn write_phys(&mut self, gpa: u64, bytes: &[u8]) -> bool {
        self.write_mem(gpa, bytes).is_ok()
    }

    fn flush_phys(&mut self, gpa: u64, len: u64) {
        let _ = self.flush_code(gpa, gpa + len);
    }
}

/// RAM in a vector, for unit tests.
#[cfg(test)]
pub(crate) struct TestRam(pub(crate) Vec<u8>);

#[cfg(test)]
impl GuestMemory for TestRam {
    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> bool {
        let start = gpa as usize;
        match self.0.get(start..start + buf.len()) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    fn write_phys(&mut self, gpa: u64, bytes: &[u8]) -> bool {
        let start = gpa as usize;
        match self.0.get_mut(start..start + bytes.len()) {
            Some(ram) => {
                ram.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }
}
