//! The host's view of a VMBus ring: a control page and data pages named by a GPADL's page
//! list, reached through [`GuestMemory`] (the pages need not be contiguous in guest physical
//! memory).
//!
//! Everything the guest writes is checked before use: an index outside the data area or not
//! 8-byte aligned, a packet longer than the bytes published, a page outside RAM are
//! [`RingFault`]s, never a panic. The host keeps its own copy of the indices it owns (the
//! read index of the guest-to-host ring, the write index of the host-to-guest ring) and
//! never reads them back from guest memory.

use hv_defs::HV_PAGE_SIZE;
use hv_defs::vmbus::{VMBUS_PACKET_ALIGNMENT, VMBUS_RING_TRAILER_SIZE};

use crate::mem::GuestMemory;

/// Offsets of the control page fields (`hv_defs::vmbus::VmbusRingControl`).
pub(crate) const WRITE_INDEX: u64 = 0;
pub(crate) const READ_INDEX: u64 = 4;
pub(crate) const INTERRUPT_MASK: u64 = 8;
pub(crate) const PENDING_SEND_SIZE: u64 = 12;
pub(crate) const FEATURE_BITS: u64 = 64;

/// Why a ring cannot be used.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RingFault {
    /// A page of the ring lies outside RAM.
    Memory,
    /// The guest's index is outside the data area or not 8-byte aligned.
    Index(u32),
    /// A packet descriptor whose lengths do not fit the published bytes.
    Packet,
}

/// One ring: page 0 is the control page, pages 1.. the data area.
#[derive(Clone, Debug)]
pub(crate) struct HostRing {
    pages: Vec<u64>,
}

impl HostRing {
    /// The ring on these page frame numbers; `None` without a data page.
    pub(crate) fn new(pfns: &[u64]) -> Option<Self> {
        (pfns.len() >= 2).then(|| Self {
            pages: pfns.iter().map(|pfn| pfn << 12).collect(),
        })
    }

    /// Bytes in the data area.
    pub(crate) fn data_len(&self) -> u32 {
        ((self.pages.len() - 1) * HV_PAGE_SIZE) as u32
    }

    /// Reads a control page field.
    pub(crate) fn control(&self, mem: &mut dyn GuestMemory, field: u64) -> Result<u32, RingFault> {
        mem.read_u32(self.pages[0] + field).ok_or(RingFault::Memory)
    }

    /// Writes a control page field.
    pub(crate) fn set_control(
        &self,
        mem: &mut dyn GuestMemory,
        field: u64,
        value: u32,
    ) -> Result<(), RingFault> {
        if mem.write_phys(self.pages[0] + field, &value.to_le_bytes()) {
            Ok(())
        } else {
            Err(RingFault::Memory)
        }
    }

    /// The guest-owned index `field`, checked.
    pub(crate) fn index(&self, mem: &mut dyn GuestMemory, field: u64) -> Result<u32, RingFault> {
        let index = self.control(mem, field)?;
        if index >= self.data_len() || index as usize % VMBUS_PACKET_ALIGNMENT != 0 {
            return Err(RingFault::Index(index));
        }
        Ok(index)
    }

    /// Bytes between `from` and `to` going forward around the ring.
    pub(crate) fn distance(&self, from: u32, to: u32) -> u32 {
        if to >= from {
            to - from
        } else {
            self.data_len() - from + to
        }
    }

    /// `offset + n` around the ring.
    pub(crate) fn advance(&self, offset: u32, n: u32) -> u32 {
        ((u64::from(offset) + u64::from(n)) % u64::from(self.data_len())) as u32
    }

    /// Calls `f(gpa, range)` for each page piece of `len` bytes at data offset `offset`,
    /// wrapping at the end of the data area.
    fn pieces(
        &self,
        offset: u32,
        len: usize,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> bool,
    ) -> Result<(), RingFault> {
        let mut done = 0;
        let mut at = offset as usize;
        let data_len = self.data_len() as usize;
        while done < len {
            let page = 1 + at / HV_PAGE_SIZE;
            let in_page = at % HV_PAGE_SIZE;
            let n = (HV_PAGE_SIZE - in_page).min(len - done);
            if !f(self.pages[page] + in_page as u64, done..done + n) {
                return Err(RingFault::Memory);
            }
            done += n;
            at = (at + n) % data_len;
        }
        Ok(())
    }

    /// Reads `buf.len()` bytes of the data area at `offset`, wrapping.
    pub(crate) fn read(
        &self,
        mem: &mut dyn GuestMemory,
        offset: u32,
        buf: &mut [u8],
    ) -> Result<(), RingFault> {
        self.pieces(offset, buf.len(), |gpa, range| {
            mem.read_phys(gpa, &mut buf[range])
        })
    }

    /// Writes `bytes` into the data area at `offset`, wrapping.
    pub(crate) fn write(
        &self,
        mem: &mut dyn GuestMemory,
        offset: u32,
        bytes: &[u8],
    ) -> Result<(), RingFault> {
        self.pieces(offset, bytes.len(), |gpa, range| {
            mem.write_phys(gpa, &bytes[range])
        })
    }

    /// Writes one packet and its trailer at `write_index` and returns the next write index;
    /// the caller checked that it fits.
    pub(crate) fn put_packet(
        &self,
        mem: &mut dyn GuestMemory,
        write_index: u32,
        packet: &[u8],
    ) -> Result<u32, RingFault> {
        self.write(mem, write_index, packet)?;
        let end = self.advance(write_index, packet.len() as u32);
        let trailer = u64::from(write_index) << 32;
        self.write(mem, end, &trailer.to_le_bytes())?;
        Ok(self.advance(end, VMBUS_RING_TRAILER_SIZE as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::TestRam;

    #[test]
    fn pieces_follow_the_page_list_and_wrap() {
        // Control page at pfn 3, data pages at pfns 1 and 5 (not contiguous).
        let ring = HostRing::new(&[3, 1, 5]).unwrap();
        let mut ram = TestRam(vec![0; 6 * HV_PAGE_SIZE]);
        assert_eq!(ring.data_len(), 8192);
        let bytes: Vec<u8> = (0..32).collect();
        ring.write(&mut ram, 8192 - 16, &bytes).unwrap();
        assert_eq!(&ram.0[5 * 4096 + 4080..5 * 4096 + 4096], &bytes[..16]);
        assert_eq!(&ram.0[4096..4096 + 16], &bytes[16..]);
        let mut back = [0; 32];
        ring.read(&mut ram, 8192 - 16, &mut back).unwrap();
        assert_eq!(back.as_slice(), bytes.as_slice());
        assert_eq!(ring.advance(8192 - 8, 16), 8);
        assert_eq!(ring.distance(8184, 8), 16);
    }

    #[test]
    fn guest_indices_and_pages_are_checked() {
        let mut ram = TestRam(vec![0; 4 * HV_PAGE_SIZE]);
        let ring = HostRing::new(&[0, 1]).unwrap();
        ring.set_control(&mut ram, WRITE_INDEX, 4096).unwrap();
        assert_eq!(
            ring.index(&mut ram, WRITE_INDEX),
            Err(RingFault::Index(4096))
        );
        ring.set_control(&mut ram, WRITE_INDEX, 12).unwrap();
        assert_eq!(ring.index(&mut ram, WRITE_INDEX), Err(RingFault::Index(12)));
        let outside = HostRing::new(&[0, 100]).unwrap();
        assert_eq!(
            outside.read(&mut ram, 0, &mut [0; 8]),
            Err(RingFault::Memory)
        );
        assert!(HostRing::new(&[0]).is_none(), "a ring needs a data page");
    }
}
