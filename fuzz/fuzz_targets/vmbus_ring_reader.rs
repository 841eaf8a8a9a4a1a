//! A hostile writer against the VMBus ring reader.
//!
//! The input sets the control page and the data area, then keeps writing to the ring between
//! the reader's steps (as a host can, concurrently). The reader must never panic, read outside
//! the ring or loop without end; ASan reports any stray access. A writer over the same ring
//! then faces the same hostile control page.
#![no_main]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

use hv_guest::vmbus::{OutgoingPacket, PacketKind, Ring, RingError, RingReader, RingWriter};
use libfuzzer_sys::fuzz_target;

const PAGE: usize = 4096;
/// Control page and two data pages.
const RING_BYTES: usize = 3 * PAGE;
const DATA_BYTES: usize = RING_BYTES - PAGE;

/// Page-aligned memory standing in for the ring pages, freed on drop.
struct Memory {
    base: NonNull<u8>,
    layout: Layout,
}

impl Memory {
    fn new() -> Self {
        let layout = Layout::from_size_align(RING_BYTES, PAGE).unwrap();
        // SAFETY: nonzero size.
        let base = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("allocation failed");
        Self { base, layout }
    }

    /// The "host" writes: raw pointer stores, no reference to the ring memory.
    fn write(&self, offset: usize, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let at = (offset + i) % RING_BYTES;
            // SAFETY: `at < RING_BYTES`, inside the allocation; single-threaded, and the
            // reader holds no reference to the memory.
            unsafe { self.base.as_ptr().add(at).write_volatile(b) };
        }
    }

    fn ring(&self) -> Ring<'_> {
        // SAFETY: the allocation outlives the ring (borrowed) and is only accessed through
        // rings and `write`.
        unsafe { Ring::new(self.base, RING_BYTES).unwrap() }
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.base.as_ptr(), self.layout) };
    }
}

/// Input bytes consumed in order; zeros once exhausted.
struct Input<'i>(&'i [u8]);

impl Input<'_> {
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | u16::from(self.u8()) << 8
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let memory = Memory::new();
    // Control page: write index, read index, interrupt mask, pending send size, features.
    let control = input.bytes(16).to_vec();
    memory.write(0, &control);
    memory.write(64, &[input.u8() & 1, 0, 0, 0]);
    let scratch_len = usize::from(input.u16()) % (DATA_BYTES + 64);
    let initial = usize::from(input.u16()) % (DATA_BYTES + 1);
    let data_area = input.bytes(initial).to_vec();
    memory.write(PAGE, &data_area);

    if let Ok(mut reader) = RingReader::new(memory.ring()) {
        let mut scratch = vec![0u8; scratch_len];
        'batches: for _ in 0..4 {
            let Ok(mut batch) = reader.batch() else { break };
            loop {
                let packet = match batch.next(&mut scratch) {
                    Ok(Some(packet)) => packet,
                    Ok(None) | Err(RingError::ScratchTooSmall { .. }) => break,
                    Err(_) => break 'batches,
                };
                // The host rewrites some bytes while the guest holds the packet.
                let edits = input.u8() % 4;
                for _ in 0..edits {
                    let offset = usize::from(input.u16());
                    let len = usize::from(input.u8() % 16);
                    let bytes = input.bytes(len).to_vec();
                    memory.write(offset, &bytes);
                }
                let payload = packet.payload();
                let mut copy = vec![0u8; payload.len()];
                payload.read(0, &mut copy).unwrap();
                let _ = packet.extra_header().read_obj::<u64>(0);
                match packet.kind() {
                    PacketKind::GpaDirect(ranges) => {
                        for range in ranges.iter() {
                            let Ok(range) = range else { break };
                            for i in 0..range.pfn_count() {
                                range.pfn(i).unwrap();
                            }
                            assert!(range.pfn(range.pfn_count()).is_err());
                        }
                    }
                    PacketKind::TransferPages(pages) => {
                        for i in 0..pages.len() as usize {
                            pages.range(i).unwrap();
                        }
                    }
                    _ => {}
                }
            }
            if batch.finish().is_err() {
                break;
            }
            let _ = reader.unmask_interrupts();
        }
    }

    // The writing end against the same hostile control page.
    if let Ok(mut writer) = RingWriter::new(memory.ring()) {
        for _ in 0..4 {
            let len = usize::from(input.u16()) % (DATA_BYTES + 32);
            let payload = vec![0x5A; len];
            match writer.write(&OutgoingPacket::in_band(&payload, 1, false)) {
                Ok(_) | Err(RingError::Full { .. } | RingError::InvalidPacket) => {}
                Err(_) => break,
            }
            let _ = writer.request_space(u32::from(input.u16()));
            let offset = usize::from(input.u8() % 16);
            let bytes = input.bytes(4).to_vec();
            memory.write(offset, &bytes);
        }
    }
});
