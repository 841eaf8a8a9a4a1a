//! VMBus ring buffers: one writer and one reader sharing a control page and a data area.
//!
//! The layout is [`VmbusRingControl`] (one page) followed by the data area, used as a circular
//! byte buffer ([`VMBUS_RING_DATA_OFFSET`]). A packet is a [`VmbusPacketDescriptor`], the
//! type's extra header, the payload padded to 8 bytes, then the 8-byte [`VmbusRingTrailer`]
//! naming where the packet started. Indices are byte offsets into the data area, multiples of
//! 8; the ring is empty when they are equal and the writer never fills it completely (Linux
//! `ring_buffer.c` `hv_ringbuffer_write`).
//!
//! [`RingWriter`] and [`RingReader`] work for either side: the guest writes the
//! guest-to-host ring and reads the host-to-guest ring, a host model (and the tests) does the
//! opposite. Each keeps its own index privately and only *publishes* it to the control page;
//! the other side's index is loaded once per operation and checked (inside the data area,
//! 8-byte aligned) before use. Any inconsistency is a [`RingCorruption`]: the ring stops,
//! and every later call returns the same error.
//!
//! # Memory ordering
//!
//! The control fields are accessed as `AtomicU32` (interior mutability: a shared reference to
//! an atomic does not claim the bytes are immutable); the data area with volatile copies.
//!
//! * Writer publishes: copy the packet, then store `write_index` with **Release**, so the
//!   reader never sees the index before the bytes (Linux uses a full barrier, `virt_mb()`,
//!   before the store; release is the part of it that matters here).
//! * Reader consumes: load `write_index` with **Acquire** before reading the bytes it
//!   covers; after reading, store `read_index` with **Release**, so the writer cannot reuse
//!   the space before the reads are done (Linux `virt_rmb()` in `hv_pkt_iter_close`).
//! * Writer reuses space: load `read_index` with **Acquire** before overwriting freed bytes.
//! * Signalling decisions pair a store with a later load of a field the other side writes
//!   (store `write_index`, load `interrupt_mask`; store `read_index`, load
//!   `pending_send_size`; store `interrupt_mask = 0`, load `write_index`; store
//!   `pending_send_size`, load `read_index`). Each has a **SeqCst fence** between the store
//!   and the load, and the other side does the mirror image, so at least one of the two sees
//!   the other's store: either the sleeper sees the new data/space, or the waker sees that it
//!   must signal (Linux `virt_mb()` in `hv_signal_on_write`, `hv_pkt_iter_close`,
//!   `hv_end_read`). Without it, the store could sit in a store buffer while the load reads an
//!   old value, and both sides would go to sleep.
//!
//! # Signalling
//!
//! * After a write the writer signals only if the reader has not set `interrupt_mask` and
//!   the ring was empty before the write (`read_index` equals the packet's start): a reader
//!   that still has data to read will find the new packet without an interrupt (Linux
//!   `hv_signal_on_write`).
//! * After reading, the reader signals only if the ring's `feature_bits` has
//!   `pending_send_size`, the writer set a nonzero `pending_send_size`, the free space was at
//!   most that before this batch of reads and is more than it now (Linux
//!   `hv_pkt_iter_close`). A batch ([`ReadBatch`]) publishes its reads once, so a burst of
//!   packets costs at most one signal.

use core::marker::PhantomData;
use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering, fence};

use hv_defs::HV_PAGE_SIZE;
use hv_defs::vmbus::{
    VMBUS_PACKET_ALIGNMENT, VMBUS_RING_DATA_OFFSET, VMBUS_RING_TRAILER_SIZE, VmbusPacketDescriptor,
    VmbusRingControl, VmbusRingFeatureBits, VmbusRingTrailer,
};
use zerocopy::{FromZeros, IntoBytes};

use super::packet::{OutgoingPacket, Packet, PacketError};
use super::shared::{SharedBytes, copy_from_shared, copy_to_shared};

/// Largest data area this module accepts: indices and sums of two indices stay below 2^32.
pub const RING_MAX_DATA_SIZE: usize = 1 << 30;

/// Smallest ring: the control page and one page of data.
pub const RING_MIN_SIZE: usize = VMBUS_RING_DATA_OFFSET + HV_PAGE_SIZE;

const DESCRIPTOR_SIZE: u32 = size_of::<VmbusPacketDescriptor>() as u32;
const TRAILER_SIZE: u32 = VMBUS_RING_TRAILER_SIZE as u32;
const ALIGN: u32 = VMBUS_PACKET_ALIGNMENT as u32;

/// Why a ring's memory was refused by [`Ring::new`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RingSetupError {
    /// The base address is not page aligned.
    Misaligned,
    /// The length is not a whole number of pages of at least [`RING_MIN_SIZE`] bytes, or the
    /// data area exceeds [`RING_MAX_DATA_SIZE`].
    BadLength(usize),
}

impl core::fmt::Display for RingSetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Misaligned => f.write_str("ring memory is not page aligned"),
            Self::BadLength(len) => write!(
                f,
                "ring length {len} is not a whole number of pages between {RING_MIN_SIZE} and \
                 {} bytes",
                RING_MAX_DATA_SIZE + VMBUS_RING_DATA_OFFSET
            ),
        }
    }
}

impl core::error::Error for RingSetupError {}

/// What the other side of a ring got wrong. After one of these the ring refuses all I/O.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RingCorruption {
    /// The other side's `read_index` is outside the data area or not 8-byte aligned.
    BadReadIndex(u32),
    /// The other side's `write_index` is outside the data area or not 8-byte aligned.
    BadWriteIndex(u32),
    /// Fewer bytes are published than a descriptor and trailer take.
    Truncated {
        /// Bytes between the read and write indices.
        available: u32,
    },
    /// The descriptor's offsets are inconsistent or the packet is longer than the published
    /// bytes.
    BadDescriptor {
        /// The descriptor as read.
        descriptor: VmbusPacketDescriptor,
        /// Bytes between the read and write indices.
        available: u32,
    },
    /// The packet's extra header is malformed.
    BadPacket(PacketError),
}

impl core::fmt::Display for RingCorruption {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadReadIndex(i) => write!(f, "read index {i:#x} is invalid"),
            Self::BadWriteIndex(i) => write!(f, "write index {i:#x} is invalid"),
            Self::Truncated { available } => {
                write!(f, "only {available} bytes published, less than a packet")
            }
            Self::BadDescriptor {
                descriptor,
                available,
            } => write!(
                f,
                "packet descriptor (offset8 {}, length8 {}) does not fit {available} published \
                 bytes",
                descriptor.data_offset8, descriptor.length8
            ),
            Self::BadPacket(e) => write!(f, "malformed packet: {e}"),
        }
    }
}

/// A ring operation that did not complete.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RingError {
    /// Not enough free space now; nothing was written. The ring is fine: try again after the
    /// reader frees space ([`RingWriter::request_space`] arranges a signal for that).
    Full {
        /// Bytes the packet needs, including its trailer.
        needed: u32,
        /// Bytes free (the writer needs strictly more than `needed`).
        free: u32,
    },
    /// The packet can never be written: longer than a descriptor can describe or than the
    /// ring, or its GPA ranges disagree with their page lists.
    InvalidPacket,
    /// The packet wraps around the end of the ring and the scratch buffer is shorter than it;
    /// nothing was consumed.
    ScratchTooSmall {
        /// Bytes the packet needs.
        needed: u32,
    },
    /// The ring is corrupt; it refuses all further I/O.
    Corrupt(RingCorruption),
}

impl core::fmt::Display for RingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Full { needed, free } => {
                write!(f, "ring full: {needed} bytes needed, {free} free")
            }
            Self::InvalidPacket => f.write_str("the packet cannot be written to this ring"),
            Self::ScratchTooSmall { needed } => {
                write!(f, "a wrapped packet needs a {needed}-byte scratch buffer")
            }
            Self::Corrupt(c) => write!(f, "ring corrupt: {c}"),
        }
    }
}

impl core::error::Error for RingError {}

/// One ring in shared memory: its control page and data area.
///
/// Only raw pointers to the memory are kept; see the module docs for how it is accessed.
#[derive(Debug)]
pub struct Ring<'a> {
    control: NonNull<u8>,
    data: NonNull<u8>,
    data_len: u32,
    _memory: PhantomData<&'a mut [u8]>,
}

// SAFETY: a `Ring` is a pair of pointers into memory that is only accessed with atomics and
// volatile copies, and whose owner promised (`Ring::new`) that it stays valid for `'a`;
// nothing in it is tied to the thread that made it.
unsafe impl Send for Ring<'_> {}

impl<'a> Ring<'a> {
    /// A ring occupying `len` bytes at `base`: the control page, then `len - 4096` bytes of
    /// data.
    ///
    /// # Errors
    ///
    /// [`RingSetupError`] when `base` is not page aligned or `len` is not a whole number of
    /// pages of at least [`RING_MIN_SIZE`] with at most [`RING_MAX_DATA_SIZE`] of data.
    ///
    /// # Safety
    ///
    /// For `'a`, `base .. base + len` must be valid for reads and writes, must not be used
    /// for anything else, and no Rust reference to it may exist; the only other party that
    /// may access it is the other end of the ring (the host, or another `Ring` over the same
    /// memory used for the opposite role), with atomic accesses to the control fields.
    pub unsafe fn new(base: NonNull<u8>, len: usize) -> Result<Self, RingSetupError> {
        if base.addr().get() % HV_PAGE_SIZE != 0 {
            return Err(RingSetupError::Misaligned);
        }
        if len % HV_PAGE_SIZE != 0
            || len < RING_MIN_SIZE
            || len - VMBUS_RING_DATA_OFFSET > RING_MAX_DATA_SIZE
        {
            return Err(RingSetupError::BadLength(len));
        }
        Ok(Self {
            control: base,
            // SAFETY: `len > VMBUS_RING_DATA_OFFSET`, so the data area starts inside the range.
            data: unsafe { base.add(VMBUS_RING_DATA_OFFSET) },
            data_len: (len - VMBUS_RING_DATA_OFFSET) as u32,
            _memory: PhantomData,
        })
    }

    /// Size of the data area in bytes.
    #[must_use]
    pub const fn data_len(&self) -> u32 {
        self.data_len
    }

    fn field(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` is the offset of a `u32` field of `VmbusRingControl`, inside the
        // page-aligned control page (`new`), so the pointer is valid and 4-byte aligned; the
        // other side accesses these fields only atomically (`new`'s contract).
        unsafe { AtomicU32::from_ptr(self.control.as_ptr().wrapping_add(offset).cast::<u32>()) }
    }

    fn write_index(&self) -> &AtomicU32 {
        self.field(offset_of!(VmbusRingControl, write_index))
    }

    fn read_index(&self) -> &AtomicU32 {
        self.field(offset_of!(VmbusRingControl, read_index))
    }

    fn interrupt_mask(&self) -> &AtomicU32 {
        self.field(offset_of!(VmbusRingControl, interrupt_mask))
    }

    fn pending_send_size(&self) -> &AtomicU32 {
        self.field(offset_of!(VmbusRingControl, pending_send_size))
    }

    fn feature_bits(&self) -> &AtomicU32 {
        self.field(offset_of!(VmbusRingControl, feature_bits))
    }

    /// Puts the control page in its initial state: both indices, the interrupt mask and the
    /// pending send size zero, and the [`VmbusRingFeatureBits::pending_send_size`] feature
    /// bit set. The guest does this for both rings of a channel before opening it, as Linux
    /// `hv_ringbuffer_init` does (it sets the feature bit in both rings).
    pub fn reset(&self) {
        self.write_index().store(0, Ordering::Relaxed);
        self.read_index().store(0, Ordering::Relaxed);
        self.interrupt_mask().store(0, Ordering::Relaxed);
        self.pending_send_size().store(0, Ordering::Relaxed);
        let features = VmbusRingFeatureBits::new().with_pending_send_size(true);
        // Release: a side that reads the feature bits with Acquire also sees the zeroed fields.
        self.feature_bits()
            .store(features.into_bits(), Ordering::Release);
    }

    /// Checks an index the other side published.
    const fn valid_index(&self, index: u32) -> bool {
        index < self.data_len && index % ALIGN == 0
    }

    /// Bytes between `read` and `write` (what the reader may consume).
    const fn used(&self, read: u32, write: u32) -> u32 {
        if write >= read {
            write - read
        } else {
            self.data_len - read + write
        }
    }

    /// Bytes the writer may use, counting the one slot it must leave free as free (Linux
    /// `hv_get_bytes_to_write`; a write needs strictly more than its size).
    const fn free(&self, read: u32, write: u32) -> u32 {
        self.data_len - self.used(read, write)
    }

    /// `index + len` modulo the data size (`index < data_len`, `len <= data_len`).
    const fn advance(&self, index: u32, len: u32) -> u32 {
        let next = index + len;
        if next >= self.data_len {
            next - self.data_len
        } else {
            next
        }
    }

    /// Copies `bytes` into the data area at `index`, wrapping; returns the index after them.
    fn put(&self, index: u32, bytes: &[u8]) -> u32 {
        let first = bytes.len().min((self.data_len - index) as usize);
        // SAFETY: `index < data_len` and `first <= data_len - index`: inside the data area,
        // which the writer owns between its private index and the reader's published index
        // (the caller checked the packet fits the free space).
        unsafe {
            copy_to_shared(
                self.data.as_ptr().wrapping_add(index as usize),
                &bytes[..first],
            )
        };
        // SAFETY: the rest (shorter than the data area, as the packet fits) goes to the start.
        unsafe { copy_to_shared(self.data.as_ptr(), &bytes[first..]) };
        self.advance(index, bytes.len() as u32)
    }

    /// Copies `dst.len()` bytes from the data area at `index`, wrapping.
    fn get(&self, index: u32, dst: &mut [u8]) {
        let first = dst.len().min((self.data_len - index) as usize);
        let (head, tail) = dst.split_at_mut(first);
        // SAFETY: `index < data_len` and `first <= data_len - index`: inside the data area.
        unsafe { copy_from_shared(self.data.as_ptr().wrapping_add(index as usize), head) };
        // SAFETY: `tail` is shorter than the data area (callers read at most the published
        // bytes, which are fewer than `data_len`).
        unsafe { copy_from_shared(self.data.as_ptr(), tail) };
    }
}

/// The writing end of a ring.
#[derive(Debug)]
pub struct RingWriter<'a> {
    ring: Ring<'a>,
    /// Where the next packet goes; ours, only ever published.
    write: u32,
    /// Whether we set `pending_send_size` and have not cleared it.
    pending: bool,
    failed: Option<RingCorruption>,
}

/// What a successful write asks of the caller.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use = "the reader may be waiting for a signal"]
pub struct WriteOutcome {
    /// Signal the reader (`HvSignalEvent` for a guest): the ring was empty and not masked.
    pub signal: bool,
}

impl<'a> RingWriter<'a> {
    /// The writer of `ring`, continuing at the `write_index` the control page holds (zero
    /// after [`Ring::reset`]).
    ///
    /// # Errors
    ///
    /// [`RingCorruption::BadWriteIndex`] when that index is not valid.
    pub fn new(ring: Ring<'a>) -> Result<Self, RingCorruption> {
        let write = ring.write_index().load(Ordering::Acquire);
        if !ring.valid_index(write) {
            return Err(RingCorruption::BadWriteIndex(write));
        }
        Ok(Self {
            ring,
            write,
            pending: false,
            failed: None,
        })
    }

    /// The writer of a ring its owner has just [`reset`](Ring::reset): the write index is
    /// zero, known without reading the (host-writable) control page.
    pub(crate) const fn after_reset(ring: Ring<'a>) -> Self {
        Self {
            ring,
            write: 0,
            pending: false,
            failed: None,
        }
    }

    /// The ring.
    #[must_use]
    pub const fn ring(&self) -> &Ring<'a> {
        &self.ring
    }

    /// The corruption that stopped this ring, if any.
    #[must_use]
    pub const fn failure(&self) -> Option<RingCorruption> {
        self.failed
    }

    fn fail(&mut self, corruption: RingCorruption) -> RingError {
        self.failed = Some(corruption);
        RingError::Corrupt(corruption)
    }

    /// Loads and checks the reader's index.
    fn load_read(&mut self) -> Result<u32, RingError> {
        if let Some(c) = self.failed {
            return Err(RingError::Corrupt(c));
        }
        // Acquire: the reader's reads of the bytes it released happen before we overwrite them.
        let read = self.ring.read_index().load(Ordering::Acquire);
        if !self.ring.valid_index(read) {
            return Err(self.fail(RingCorruption::BadReadIndex(read)));
        }
        Ok(read)
    }

    /// Bytes free for the next packet (a packet needs strictly more than its size).
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] when the reader's index is invalid (or was before).
    pub fn free_space(&mut self) -> Result<u32, RingError> {
        let read = self.load_read()?;
        Ok(self.ring.free(read, self.write))
    }

    /// Writes one packet and publishes it.
    ///
    /// # Errors
    ///
    /// * [`RingError::Full`] when the packet does not fit now (nothing written);
    /// * [`RingError::InvalidPacket`] when it can never be written;
    /// * [`RingError::Corrupt`] when the reader's index is invalid.
    pub fn write(&mut self, packet: &OutgoingPacket<'_>) -> Result<WriteOutcome, RingError> {
        let layout = packet.layout().ok_or(RingError::InvalidPacket)?;
        let needed = layout.ring_size();
        if needed >= self.ring.data_len {
            return Err(RingError::InvalidPacket);
        }
        let read = self.load_read()?;
        let free = self.ring.free(read, self.write);
        if free <= needed {
            return Err(RingError::Full { needed, free });
        }

        let start = self.write;
        let mut at = start;
        packet.for_each_piece(&layout, |piece| at = self.ring.put(at, piece));
        at = self.ring.put(at, VmbusRingTrailer::new(start).as_bytes());
        debug_assert_eq!(at, self.ring.advance(start, needed));
        self.write = at;
        // Release: the packet bytes above are visible before the index that covers them.
        self.ring.write_index().store(at, Ordering::Release);
        if self.pending {
            self.pending = false;
            self.ring.pending_send_size().store(0, Ordering::Relaxed);
        }

        // SeqCst fence: order the index store before the loads below (store-load), pairing
        // with the reader's fence between clearing `interrupt_mask` and re-reading
        // `write_index` (see the module docs).
        fence(Ordering::SeqCst);
        if self.ring.interrupt_mask().load(Ordering::Relaxed) != 0 {
            return Ok(WriteOutcome { signal: false });
        }
        // Acquire, after the mask (Linux `virt_rmb()` "check interrupt_mask before
        // read_index"). Only compared, never used as an index.
        let read_now = self.ring.read_index().load(Ordering::Acquire);
        Ok(WriteOutcome {
            signal: read_now == start,
        })
    }

    /// Asks the reader to signal once more than `needed` bytes are free, by setting
    /// `pending_send_size` (meaningful when the reader honours
    /// [`VmbusRingFeatureBits::pending_send_size`]). Returns whether that much is already free
    /// (then write now: the signal may never come). The next successful write clears it.
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] when the reader's index is invalid.
    pub fn request_space(&mut self, needed: u32) -> Result<bool, RingError> {
        if let Some(c) = self.failed {
            return Err(RingError::Corrupt(c));
        }
        self.ring
            .pending_send_size()
            .store(needed, Ordering::Relaxed);
        self.pending = true;
        // SeqCst fence: the store above is visible before we re-read the reader's index,
        // pairing with the reader's fence between publishing `read_index` and loading
        // `pending_send_size`.
        fence(Ordering::SeqCst);
        let free = self.free_space()?;
        Ok(free > needed)
    }
}

/// The reading end of a ring.
#[derive(Debug)]
pub struct RingReader<'a> {
    ring: Ring<'a>,
    /// Where the next unconsumed packet starts; ours, only ever published.
    read: u32,
    failed: Option<RingCorruption>,
}

impl<'a> RingReader<'a> {
    /// The reader of `ring`, continuing at the `read_index` the control page holds (zero
    /// after [`Ring::reset`]).
    ///
    /// # Errors
    ///
    /// [`RingCorruption::BadReadIndex`] when that index is not valid.
    pub fn new(ring: Ring<'a>) -> Result<Self, RingCorruption> {
        let read = ring.read_index().load(Ordering::Acquire);
        if !ring.valid_index(read) {
            return Err(RingCorruption::BadReadIndex(read));
        }
        Ok(Self {
            ring,
            read,
            failed: None,
        })
    }

    /// The reader of a ring its owner has just [`reset`](Ring::reset): the read index is
    /// zero, known without reading the (host-writable) control page.
    pub(crate) const fn after_reset(ring: Ring<'a>) -> Self {
        Self {
            ring,
            read: 0,
            failed: None,
        }
    }

    /// The ring.
    #[must_use]
    pub const fn ring(&self) -> &Ring<'a> {
        &self.ring
    }

    /// The corruption that stopped this ring, if any.
    #[must_use]
    pub const fn failure(&self) -> Option<RingCorruption> {
        self.failed
    }

    fn fail(&mut self, corruption: RingCorruption) -> RingError {
        self.failed = Some(corruption);
        RingError::Corrupt(corruption)
    }

    /// Loads and checks the writer's index.
    fn load_write(&mut self) -> Result<u32, RingError> {
        if let Some(c) = self.failed {
            return Err(RingError::Corrupt(c));
        }
        // Acquire: the writer's packet bytes are visible before we read them.
        let write = self.ring.write_index().load(Ordering::Acquire);
        if !self.ring.valid_index(write) {
            return Err(self.fail(RingCorruption::BadWriteIndex(write)));
        }
        Ok(write)
    }

    /// Starts reading the packets published so far. Packets arriving later are left for the
    /// next batch, so a batch ends even if the writer never stops.
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] when the writer's index is invalid (or the ring failed before).
    pub fn batch(&mut self) -> Result<ReadBatch<'_, 'a>, RingError> {
        let end = self.load_write()?;
        Ok(ReadBatch {
            start: self.read,
            cursor: self.read,
            end,
            reader: self,
        })
    }

    /// Bytes published and not yet consumed.
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] when the writer's index is invalid.
    pub fn available(&mut self) -> Result<u32, RingError> {
        let write = self.load_write()?;
        Ok(self.ring.used(self.read, write))
    }

    /// Asks the writer not to signal (set `interrupt_mask`): the reader is draining the ring
    /// and will look again before it sleeps (Linux `hv_begin_read`).
    pub fn mask_interrupts(&self) {
        self.ring.interrupt_mask().store(1, Ordering::Relaxed);
    }

    /// Clears `interrupt_mask` and returns whether data arrived meanwhile; if it did, read it
    /// now, as the writer may not have signalled (Linux `hv_end_read`).
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] when the writer's index is invalid.
    pub fn unmask_interrupts(&mut self) -> Result<bool, RingError> {
        self.ring.interrupt_mask().store(0, Ordering::Relaxed);
        // SeqCst fence: the cleared mask is visible before we re-read `write_index`, pairing
        // with the writer's fence between publishing `write_index` and loading the mask.
        fence(Ordering::SeqCst);
        Ok(self.available()? != 0)
    }
}

/// The packets published when the batch started, read one at a time and released together
/// by [`ReadBatch::finish`].
///
/// Dropping a batch without `finish` releases nothing: the packets are read again by the next
/// batch.
#[derive(Debug)]
pub struct ReadBatch<'b, 'a> {
    reader: &'b mut RingReader<'a>,
    start: u32,
    cursor: u32,
    end: u32,
}

impl ReadBatch<'_, '_> {
    /// The next packet, or `None` when the batch is exhausted.
    ///
    /// A packet that lies contiguously in the ring is returned as a zero-copy view of it;
    /// one that wraps around the end is copied into `scratch` first.
    ///
    /// # Errors
    ///
    /// * [`RingError::ScratchTooSmall`] when the packet wraps and `scratch` is too short;
    ///   nothing is consumed;
    /// * [`RingError::Corrupt`] when the published bytes do not hold a valid packet; the ring
    ///   stops.
    pub fn next<'p>(&'p mut self, scratch: &'p mut [u8]) -> Result<Option<Packet<'p>>, RingError> {
        if let Some(c) = self.reader.failed {
            return Err(RingError::Corrupt(c));
        }
        let ring = &self.reader.ring;
        let available = ring.used(self.cursor, self.end);
        if available == 0 {
            return Ok(None);
        }
        if available < DESCRIPTOR_SIZE + TRAILER_SIZE {
            return Err(self.reader.fail(RingCorruption::Truncated { available }));
        }
        let mut descriptor = VmbusPacketDescriptor::new_zeroed();
        ring.get(self.cursor, descriptor.as_mut_bytes());
        let length = descriptor.length();
        if descriptor.payload_length().is_none() || length + TRAILER_SIZE > available {
            return Err(self.reader.fail(RingCorruption::BadDescriptor {
                descriptor,
                available,
            }));
        }

        let at = self.cursor;
        let bytes = if at + length <= ring.data_len {
            // SAFETY: `at + length <= data_len`: inside the data area; the bytes are published
            // (below `end`) and stay ours until `finish` releases them, which needs `&mut
            // self`, so the view (borrowing `self`) is gone by then.
            unsafe {
                SharedBytes::shared(
                    ring.data.as_ptr().wrapping_add(at as usize),
                    length as usize,
                )
            }
        } else {
            let Some(copy) = scratch.get_mut(..length as usize) else {
                return Err(RingError::ScratchTooSmall { needed: length });
            };
            ring.get(at, copy);
            SharedBytes::local(copy)
        };
        match Packet::parse(descriptor, bytes) {
            Ok(packet) => {
                self.cursor = ring.advance(at, length + TRAILER_SIZE);
                Ok(Some(packet))
            }
            Err(e) => Err(self.reader.fail(RingCorruption::BadPacket(e))),
        }
    }

    /// Releases the packets read so far to the writer (publishes `read_index`) and returns
    /// whether to signal the writer, under the pending-send-size rule of the module docs.
    ///
    /// # Errors
    ///
    /// [`RingError::Corrupt`] when the ring failed, or the writer's index is invalid when it is
    /// read again for the signalling decision (the reads are released regardless).
    pub fn finish(self) -> Result<bool, RingError> {
        let reader = self.reader;
        if let Some(c) = reader.failed {
            return Err(RingError::Corrupt(c));
        }
        if self.cursor == self.start {
            return Ok(false);
        }
        let ring = &reader.ring;
        reader.read = self.cursor;
        // Release: our reads of the packets happen before the writer may overwrite them.
        ring.read_index().store(self.cursor, Ordering::Release);

        let features = VmbusRingFeatureBits::from_bits(ring.feature_bits().load(Ordering::Relaxed));
        if !features.pending_send_size() {
            return Ok(false);
        }
        // SeqCst fence: the published read index is visible before we sample
        // `pending_send_size`, pairing with the writer's fence between setting it and
        // re-reading `read_index`.
        fence(Ordering::SeqCst);
        // Acquire: the `write_index` load below is not satisfied before this one (Linux
        // `virt_rmb()` "read of write_index after pending_send_sz").
        let pending = ring.pending_send_size().load(Ordering::Acquire);
        if pending == 0 {
            return Ok(false);
        }
        let write = reader.load_write()?;
        let ring = &reader.ring;
        let freed = ring.used(self.start, self.cursor);
        let free_now = ring.free(self.cursor, write);
        let free_before = free_now.saturating_sub(freed);
        Ok(free_before <= pending && free_now > pending)
    }
}

#[cfg(test)]
mod tests;
