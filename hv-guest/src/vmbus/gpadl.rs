//! GPADLs: lending guest pages to the host.
//!
//! A GPADL here is one [`VmbusGpaRange`] covering whole pages from offset 0 (what Linux
//! `channel.c` `create_gpadl_header` sends and what QEMU `vmbus.c` `handle_gpadl_header`
//! requires: one range, a whole number of pages). The first
//! [`VMBUS_GPADL_HEADER_MAX_PFNS`] page numbers go in the [`VmbusGpadlHeader`] message, the
//! rest in [`VmbusGpadlBody`] messages of up to [`VMBUS_GPADL_BODY_MAX_PFNS`]. Each message
//! is exactly as long as its page numbers need; QEMU derives the count from the length.
//!
//! The body's message number is 0, as Linux sends it (its message buffers are zeroed and the
//! field is never set) and QEMU ignores; the bodies go out in order, so the host needs no
//! number to reassemble them. The hv-defs docs of [`VmbusGpadlBody::message_number`] say the
//! same.

use hv_defs::HV_PAGE_SIZE;
use hv_defs::vmbus::{
    VMBUS_GPADL_BODY_MAX_PFNS, VMBUS_GPADL_HEADER_MAX_PFNS, VMBUS_MAX_MESSAGE_SIZE, VMBUS_PFN_SIZE,
    VmbusChannelMessage, VmbusGpaRange, VmbusGpadlBody, VmbusGpadlHeader,
};
use zerocopy::IntoBytes;

/// Most pages one GPADL can lend: the header's `range_buf_len` is 16 bits and holds the
/// 8-byte range plus 8 bytes per page, so `(65535 - 8) / 8` = 8190 pages (the limit the
/// MacHyperVSupport VMBus driver also states).
pub const GPADL_MAX_PAGES: usize =
    (u16::MAX as usize - size_of::<VmbusGpaRange>()) / VMBUS_PFN_SIZE;

/// Where a GPADL is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GpadlState {
    /// Some of its messages are not posted yet (a post failed; resume with
    /// [`VmbusClient::continue_gpadl`](super::VmbusClient::continue_gpadl)).
    Sending {
        /// Page numbers posted so far.
        pfns_sent: usize,
    },
    /// All messages posted; waiting for `GPADL_CREATED`.
    Creating,
    /// The host accepted it and may access the pages.
    Created,
    /// `GPADL_TEARDOWN` posted; waiting for `GPADL_TORNDOWN`.
    TearingDown,
}

#[derive(Debug)]
pub(crate) struct Gpadl<'a> {
    pub(crate) handle: u32,
    pub(crate) relid: u32,
    pub(crate) pfns: &'a [u64],
    pub(crate) state: GpadlState,
}

/// Storage for one GPADL the client tracks; the caller provides an array of these.
#[derive(Debug)]
pub struct GpadlSlot<'a>(pub(crate) Option<Gpadl<'a>>);

impl GpadlSlot<'_> {
    /// An unused slot.
    pub const EMPTY: Self = Self(None);
}

/// One encoded channel message.
pub(crate) struct Encoded {
    buf: [u8; VMBUS_MAX_MESSAGE_SIZE],
    len: usize,
}

impl Encoded {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn new(parts: &[&[u8]]) -> Self {
        let mut buf = [0; VMBUS_MAX_MESSAGE_SIZE];
        let mut len = 0;
        for part in parts {
            buf[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        Self { buf, len }
    }
}

/// The message that carries page numbers `sent ..` of `gpadl`, and how many it carries:
/// the header when `sent` is 0, a body otherwise. `gpadl.pfns` is nonempty and at most
/// [`GPADL_MAX_PAGES`] long (checked when the GPADL was created).
pub(crate) fn next_message(gpadl: &Gpadl<'_>, sent: usize) -> (Encoded, usize) {
    let total = gpadl.pfns.len();
    if sent == 0 {
        let n = total.min(VMBUS_GPADL_HEADER_MAX_PFNS);
        let range = VmbusGpaRange::new((total * HV_PAGE_SIZE) as u32, 0);
        let header = VmbusGpadlHeader {
            header: VmbusGpadlHeader::HEADER,
            child_relid: gpadl.relid,
            gpadl: gpadl.handle,
            range_buf_len: VmbusGpaRange::encoded_size(total as u32) as u16,
            range_count: 1,
        };
        let message = Encoded::new(&[
            header.as_bytes(),
            range.as_bytes(),
            gpadl.pfns[..n].as_bytes(),
        ]);
        (message, n)
    } else {
        let n = (total - sent).min(VMBUS_GPADL_BODY_MAX_PFNS);
        let body = VmbusGpadlBody {
            header: VmbusGpadlBody::HEADER,
            message_number: 0,
            gpadl: gpadl.handle,
        };
        let message = Encoded::new(&[body.as_bytes(), gpadl.pfns[sent..sent + n].as_bytes()]);
        (message, n)
    }
}
