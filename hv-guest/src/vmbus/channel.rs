//! Channels: what the client keeps per offer, the ring memory of an open channel, and the
//! interrupt page.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use hv_defs::HV_PAGE_SIZE;
use hv_defs::vmbus::{
    VMBUS_EVENT_CONNECTION_ID, VMBUS_MAX_CHILD_RELID, VmbusOfferChannel, VmbusVersion, class_name,
};

use crate::page::PhysPage;

use super::ring::{Ring, RingCorruption, RingReader, RingSetupError, RingWriter};
use super::shared::zero_shared;

/// Pages a ring needs at least: the control page and one data page.
const RING_MIN_PAGES: usize = 2;

/// The memory of a channel's two rings: `pfns.len()` pages, virtually contiguous at `base`,
/// whose guest page numbers are `pfns`. The first `send_pages` pages are the guest-to-host
/// ring, the rest the host-to-guest ring, whose first page number is the open message's
/// `downstream_ring_buffer_page_offset` (Linux `channel.c` `__vmbus_open`).
#[derive(Debug)]
pub struct RingBufferMemory<'a> {
    send: Ring<'a>,
    recv: Ring<'a>,
    pfns: &'a [u64],
    send_pages: usize,
}

impl<'a> RingBufferMemory<'a> {
    /// Describes the ring memory of one channel.
    ///
    /// # Errors
    ///
    /// [`RingSetupError`] when `base` is not page aligned, or either ring would have fewer
    /// than two pages or more data than [`RING_MAX_DATA_SIZE`](super::RING_MAX_DATA_SIZE).
    ///
    /// # Safety
    ///
    /// For `'a`: `base .. base + pfns.len() * 4096` is valid for reads and writes, is used
    /// for nothing else, and no Rust reference to it exists; page `i` of it is the guest
    /// physical page `pfns[i]`. The host may read and write the whole range once the GPADL
    /// made from `pfns` is created, until it is torn down.
    pub unsafe fn new(
        base: NonNull<u8>,
        pfns: &'a [u64],
        send_pages: usize,
    ) -> Result<Self, RingSetupError> {
        let recv_pages = pfns.len().saturating_sub(send_pages);
        if send_pages < RING_MIN_PAGES || recv_pages < RING_MIN_PAGES {
            return Err(RingSetupError::BadLength(
                send_pages.min(recv_pages) * HV_PAGE_SIZE,
            ));
        }
        // SAFETY: the first `send_pages` pages of the caller's memory, valid and exclusive
        // for `'a` by the caller's contract.
        let send = unsafe { Ring::new(base, send_pages * HV_PAGE_SIZE)? };
        // SAFETY: `send_pages` pages from `base` are still inside the caller's memory.
        let recv_base = unsafe { base.add(send_pages * HV_PAGE_SIZE) };
        // SAFETY: the remaining pages (disjoint from the first ring), valid and exclusive for
        // `'a` by the caller's contract.
        let recv = unsafe { Ring::new(recv_base, recv_pages * HV_PAGE_SIZE)? };
        Ok(Self {
            send,
            recv,
            pfns,
            send_pages,
        })
    }

    /// The page numbers, for the GPADL that lends this memory to the host.
    #[must_use]
    pub const fn pfns(&self) -> &'a [u64] {
        self.pfns
    }

    /// Pages of the guest-to-host ring: the host-to-guest ring's page offset.
    #[must_use]
    pub const fn send_pages(&self) -> usize {
        self.send_pages
    }

    /// Resets both rings' control pages ([`Ring::reset`]).
    pub(crate) fn reset(&self) {
        self.send.reset();
        self.recv.reset();
    }

    /// The two rings (guest-to-host, host-to-guest).
    pub(crate) fn into_rings(self) -> (Ring<'a>, Ring<'a>) {
        (self.send, self.recv)
    }
}

/// The interrupt page of VMBus versions before 5.0: the host-to-guest half first (bit
/// *relid* set by the host to signal a channel before 2.4), then the guest-to-host half (bit
/// *relid* set by the guest before it signals a channel without a dedicated interrupt)
/// (Linux `connection.c` `vmbus_connect`, `vmbus_set_event`).
#[derive(Debug)]
pub struct InterruptPage<'a> {
    base: NonNull<u8>,
    gpa: u64,
    _memory: PhantomData<&'a mut [u8]>,
}

/// Bytes in each half of the interrupt page.
const HALF: usize = HV_PAGE_SIZE / 2;

/// Words of each half that hold bits of valid relids.
const RELID_WORDS: usize = (VMBUS_MAX_CHILD_RELID as usize + 1) / 32;

impl<'a> InterruptPage<'a> {
    /// The interrupt page at `base`, guest physical address `gpa`.
    ///
    /// # Errors
    ///
    /// [`RingSetupError::Misaligned`] when `base` or `gpa` is not page aligned.
    ///
    /// # Safety
    ///
    /// For `'a`, the page at `base` is valid for reads and writes, is used for nothing else,
    /// no Rust reference to it exists, and its guest physical address is `gpa`; the host may
    /// write it once it is named in an initiate-contact message.
    pub unsafe fn new(base: NonNull<u8>, gpa: u64) -> Result<Self, RingSetupError> {
        if base.addr().get() % HV_PAGE_SIZE != 0 || gpa % HV_PAGE_SIZE as u64 != 0 {
            return Err(RingSetupError::Misaligned);
        }
        Ok(Self {
            base,
            gpa,
            _memory: PhantomData,
        })
    }

    /// The interrupt page `page`, which the caller lends for `'a` (its GPA was vouched for
    /// when the [`PhysPage`] was made).
    #[must_use]
    pub fn from_phys_page(page: PhysPage<'a>) -> Self {
        let gpa = page.gpa();
        // The reference is turned into the only pointer to the page and never used again;
        // `'a` keeps the page lent for as long as `Self` lives.
        let base = NonNull::from(page.into_inner()).cast::<u8>();
        Self {
            base,
            gpa,
            _memory: PhantomData,
        }
    }

    /// The page's guest physical address.
    #[must_use]
    pub const fn gpa(&self) -> u64 {
        self.gpa
    }

    fn word(&self, half: usize, index: usize) -> &AtomicU32 {
        debug_assert!(index < HALF / 4);
        // SAFETY: `half * 2048 + index * 4` is a 4-byte aligned offset inside the page
        // (`index < RELID_WORDS <= 512`), which `new`'s caller vouches for; the host accesses
        // it with atomic bit operations.
        unsafe {
            AtomicU32::from_ptr(
                self.base
                    .as_ptr()
                    .wrapping_add(half * HALF + index * 4)
                    .cast::<u32>(),
            )
        }
    }

    /// Zeroes the page (before it is handed to the host).
    pub(crate) fn clear(&self) {
        // SAFETY: the whole page is ours to write (`new`).
        unsafe { zero_shared(self.base.as_ptr(), HV_PAGE_SIZE) };
    }

    /// Sets bit `relid` of the guest-to-host half (`relid <= VMBUS_MAX_CHILD_RELID`).
    pub(crate) fn set_send_bit(&self, relid: u32) {
        let relid = relid as usize;
        self.word(1, relid / 32)
            .fetch_or(1 << (relid % 32), Ordering::SeqCst);
    }

    /// Takes the relids the host has signalled in the host-to-guest half (clearing their
    /// bits), lowest first. Used before 2.4, when the host signals channels through this
    /// page and SynIC event flag 0 (Linux `vmbus_drv.c` `vmbus_chan_sched`).
    pub fn take_signalled(&self) -> SignalledRelids<'_, 'a> {
        SignalledRelids {
            page: self,
            word: 0,
            bits: 0,
        }
    }
}

/// Iterator of [`InterruptPage::take_signalled`]: each word is swapped with zero once.
#[derive(Debug)]
pub struct SignalledRelids<'p, 'a> {
    page: &'p InterruptPage<'a>,
    word: usize,
    bits: u32,
}

impl Iterator for SignalledRelids<'_, '_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            if self.bits != 0 {
                let bit = self.bits.trailing_zeros();
                self.bits &= self.bits - 1;
                return Some((self.word as u32 - 1) * 32 + bit);
            }
            if self.word == RELID_WORDS {
                return None;
            }
            self.bits = self.page.word(0, self.word).swap(0, Ordering::Acquire);
            self.word += 1;
        }
    }
}

/// Where a channel is, as seen by the caller.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChannelStatus {
    /// Offered and not open.
    Closed,
    /// Open requested; waiting for the result.
    Opening,
    /// Open; packets can be sent and received.
    Open,
    /// Open, but a ring was found corrupt: the channel refuses I/O. Close it.
    Failed(RingCorruption),
}

#[derive(Debug)]
pub(crate) enum ChannelState<'a> {
    Closed,
    Opening {
        open_id: u32,
        gpadl: u32,
        send: RingWriter<'a>,
        recv: RingReader<'a>,
    },
    Open {
        gpadl: u32,
        send: RingWriter<'a>,
        recv: RingReader<'a>,
    },
}

#[derive(Debug)]
pub(crate) struct Channel<'a> {
    pub(crate) offer: VmbusOfferChannel,
    pub(crate) rescinded: bool,
    pub(crate) state: ChannelState<'a>,
}

impl Channel<'_> {
    pub(crate) fn status(&self) -> ChannelStatus {
        match &self.state {
            ChannelState::Closed => ChannelStatus::Closed,
            ChannelState::Opening { .. } => ChannelStatus::Opening,
            ChannelState::Open { send, recv, .. } => match send.failure().or(recv.failure()) {
                Some(c) => ChannelStatus::Failed(c),
                None => ChannelStatus::Open,
            },
        }
    }

    /// The GPADL holding the rings, while the channel is opening or open.
    pub(crate) fn ring_gpadl(&self) -> Option<u32> {
        match &self.state {
            ChannelState::Closed => None,
            ChannelState::Opening { gpadl, .. } | ChannelState::Open { gpadl, .. } => Some(*gpadl),
        }
    }
}

/// Storage for one channel the client tracks; the caller provides an array of these.
#[derive(Debug)]
pub struct ChannelSlot<'a>(pub(crate) Option<Channel<'a>>);

impl ChannelSlot<'_> {
    /// An unused slot.
    pub const EMPTY: Self = Self(None);
}

/// A read-only view of one channel.
#[derive(Copy, Clone, Debug)]
pub struct ChannelInfo<'c> {
    pub(crate) offer: &'c VmbusOfferChannel,
    pub(crate) version: VmbusVersion,
    pub(crate) rescinded: bool,
    pub(crate) status: ChannelStatus,
}

impl<'c> ChannelInfo<'c> {
    /// The offer as the host sent it (fields the negotiated version does not define are as
    /// received; prefer the accessors below).
    #[must_use]
    pub const fn offer(&self) -> &'c VmbusOfferChannel {
        self.offer
    }

    /// The child relid.
    #[must_use]
    pub const fn relid(&self) -> u32 {
        self.offer.child_relid
    }

    /// The device class name of the offer's interface type, if it is a known class.
    #[must_use]
    pub const fn class_name(&self) -> Option<&'static str> {
        class_name(self.offer.interface_type)
    }

    /// The sub-channel index: 0 for a primary channel (always 0 before 2.4).
    #[must_use]
    pub const fn sub_channel_index(&self) -> u16 {
        if self.version.get() >= VmbusVersion::WIN8.get() {
            self.offer.sub_channel_index
        } else {
            0
        }
    }

    /// The connection id the guest signals this channel on: the offer's from 1.1 on,
    /// [`VMBUS_EVENT_CONNECTION_ID`] on 0.13 (Linux `channel_mgmt.c`
    /// `vmbus_setup_channel_state`).
    #[must_use]
    pub const fn signal_connection_id(&self) -> u32 {
        signal_connection_id(self.offer, self.version)
    }

    /// Whether the channel has a dedicated interrupt (1.1 and later): the guest then does
    /// not set its bit in the interrupt page before signalling.
    #[must_use]
    pub const fn dedicated_interrupt(&self) -> bool {
        dedicated_interrupt(self.offer, self.version)
    }

    /// The monitor id, when the host allocated one (this client always signals with
    /// `HvSignalEvent` and does not use monitor pages for sending).
    #[must_use]
    pub const fn monitor_id(&self) -> Option<u8> {
        if self.offer.monitor_flags.monitor_allocated() {
            Some(self.offer.monitor_id)
        } else {
            None
        }
    }

    /// Whether the host has rescinded the offer.
    #[must_use]
    pub const fn rescinded(&self) -> bool {
        self.rescinded
    }

    /// The channel's state.
    #[must_use]
    pub const fn status(&self) -> ChannelStatus {
        self.status
    }
}

pub(crate) const fn signal_connection_id(offer: &VmbusOfferChannel, version: VmbusVersion) -> u32 {
    if version.has_channel_connection_id() {
        offer.connection_id
    } else {
        VMBUS_EVENT_CONNECTION_ID
    }
}

pub(crate) const fn dedicated_interrupt(offer: &VmbusOfferChannel, version: VmbusVersion) -> bool {
    version.has_channel_connection_id() && offer.interrupt_flags.dedicated_interrupt()
}
