//! A hostile host against the VMBus message parser and the client state machine.
//!
//! The whole input is first parsed as one message. Then it drives a client: the first byte
//! chooses how far a well-behaved host gets it (connected, offers received, a channel open),
//! and the rest is a script of host messages, guest operations, failing hypercalls and writes
//! into the channel's rings. Nothing may panic; ASan reports stray accesses.
#![no_main]

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

use hv_defs::status::HvError;
use hv_defs::vmbus::{
    HV_NIC_GUID, VmbusAllOffersDelivered, VmbusChannelMessage, VmbusConnectionState,
    VmbusGpadlCreated, VmbusOfferChannel, VmbusOfferInterruptFlags, VmbusOpenResult,
    VmbusVersionResponse,
};
use hv_guest::vmbus::{
    ChannelSlot, ConnectConfig, GpadlSlot, InterruptPage, MonitorPages, OutgoingPacket,
    RingBufferMemory, VmbusClient, VmbusTransport, parse_message,
};
use libfuzzer_sys::fuzz_target;
use zerocopy::{FromZeros, IntoBytes};

const PAGE: usize = 4096;
const PAGES: usize = 8;
/// Fake guest page number of the first arena page.
const ARENA_PFN: u64 = 0x100;
const RING_FIRST: usize = 4;
const RING_PAGES: usize = 4;

struct Arena {
    base: NonNull<u8>,
    layout: Layout,
}

impl Arena {
    fn new() -> Self {
        let layout = Layout::from_size_align(PAGES * PAGE, PAGE).unwrap();
        // SAFETY: nonzero size.
        let base = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("allocation failed");
        Self { base, layout }
    }

    fn page(&self, index: usize) -> NonNull<u8> {
        // SAFETY: callers pass `index < PAGES`.
        unsafe { self.base.add(index * PAGE) }
    }

    /// The "host" writes into the ring pages.
    fn write(&self, offset: usize, bytes: &[u8]) {
        let span = RING_PAGES * PAGE;
        for (i, &b) in bytes.iter().enumerate() {
            let at = RING_FIRST * PAGE + (offset + i) % span;
            // SAFETY: inside the ring pages of the allocation; single-threaded, no reference
            // to the memory exists.
            unsafe { self.base.as_ptr().add(at).write_volatile(b) };
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.base.as_ptr(), self.layout) };
    }
}

/// A transport that accepts everything, or fails the next post as told.
#[derive(Default)]
struct Sink {
    fail_next: Option<HvError>,
}

impl VmbusTransport for Sink {
    fn post_message(&mut self, _: u32, _: u32, payload: &[u8]) -> Result<(), HvError> {
        assert!(payload.len() <= 240);
        self.fail_next.take().map_or(Ok(()), Err)
    }

    fn signal_event(&mut self, _: u32) -> Result<(), HvError> {
        Ok(())
    }
}

struct Input<'i>(&'i [u8]);

impl Input<'_> {
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).first().copied()
    }
}

fn offer(relid: u32) -> Vec<u8> {
    let mut offer = VmbusOfferChannel::new_zeroed();
    offer.header = VmbusOfferChannel::HEADER;
    offer.interface_type = HV_NIC_GUID;
    offer.child_relid = relid;
    offer.connection_id = relid + 16;
    offer.interrupt_flags = VmbusOfferInterruptFlags::new().with_dedicated_interrupt(relid == 1);
    offer.as_bytes().to_vec()
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_message(data);

    let mut input = Input(data);
    let arena = Arena::new();
    let ring_pfns: Vec<u64> = (0..RING_PAGES as u64)
        .map(|i| ARENA_PFN + RING_FIRST as u64 + i)
        .collect();
    // SAFETY: arena pages 1 and 2 stand in for the monitor pages; nothing else uses them.
    let monitor =
        unsafe { MonitorPages::new((ARENA_PFN + 1) << 12, (ARENA_PFN + 2) << 12) }.unwrap();
    // SAFETY: arena page 0 is used only as the interrupt page.
    let page = unsafe { InterruptPage::new(arena.page(0), ARENA_PFN << 12) }.unwrap();
    let mut channels = [ChannelSlot::EMPTY, ChannelSlot::EMPTY, ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY, GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(
        ConnectConfig::new(0, monitor, Some(page)),
        &mut channels,
        &mut gpadls,
    );
    let mut sink = Sink::default();
    let mut handles = Vec::new();
    let memory = || {
        // SAFETY: arena pages RING_FIRST.. are used only as this channel's rings.
        unsafe { RingBufferMemory::new(arena.page(RING_FIRST), &ring_pfns, RING_PAGES / 2) }
            .unwrap()
    };

    // How far a well-behaved host gets the client first.
    let preset = input.u8().unwrap_or(0) % 4;
    if preset >= 1 {
        let _ = client.initiate_contact(&mut sink);
        let accept = VmbusVersionResponse {
            header: VmbusVersionResponse::HEADER,
            version_supported: 1,
            connection_state: VmbusConnectionState::SUCCESSFUL,
            padding: 0,
            message_connection_id: 4,
        };
        let _ = client.handle_message(accept.as_bytes());
    }
    if preset >= 2 {
        let _ = client.request_offers(&mut sink);
        let _ = client.handle_message(&offer(1));
        let _ = client.handle_message(&offer(2));
        let all = VmbusAllOffersDelivered {
            header: VmbusAllOffersDelivered::HEADER,
        };
        let _ = client.handle_message(all.as_bytes());
    }
    if preset >= 3 {
        // SAFETY: the ring pages are arena memory lent to nobody else.
        if let Ok(handle) = unsafe { client.create_gpadl(&mut sink, 1, &ring_pfns) } {
            handles.push(handle);
            let created = VmbusGpadlCreated {
                header: VmbusGpadlCreated::HEADER,
                child_relid: 1,
                gpadl: handle,
                creation_status: 0,
            };
            let _ = client.handle_message(created.as_bytes());
            if let Ok(open_id) = client.open_channel(&mut sink, 1, memory(), handle, 0, &[]) {
                let result = VmbusOpenResult {
                    header: VmbusOpenResult::HEADER,
                    child_relid: 1,
                    open_id,
                    status: 0,
                };
                let _ = client.handle_message(result.as_bytes());
            }
        }
    }

    let mut scratch = vec![0u8; 2 * PAGE];
    while let Some(op) = input.u8() {
        let arg = input.u8().unwrap_or(0);
        let relid = u32::from(arg % 4);
        let handle = handles
            .get(usize::from(arg) % handles.len().max(1))
            .copied()
            .unwrap_or(1);
        match op % 16 {
            0..=3 => {
                let len = usize::from(arg);
                let message = input.bytes(len).to_vec();
                let _ = client.handle_message(&message);
            }
            4 => {
                let _ = client.initiate_contact(&mut sink);
            }
            5 => {
                let _ = client.request_offers(&mut sink);
            }
            6 => {
                let pages = usize::from(arg) % (RING_PAGES + 1);
                // SAFETY: arena ring pages, lent to nobody but the (fake) host.
                if let Ok(h) = unsafe { client.create_gpadl(&mut sink, relid, &ring_pfns[..pages]) }
                {
                    handles.push(h);
                }
            }
            7 => {
                // Only channel 1 is opened on the ring pages, so they serve one channel.
                let _ = client.open_channel(&mut sink, 1, memory(), handle, arg.into(), &[arg]);
            }
            8 => {
                let _ = client.close_channel(&mut sink, relid);
            }
            9 => {
                let _ = client.teardown_gpadl(&mut sink, handle);
                let _ = client.continue_gpadl(&mut sink, handle);
            }
            10 => {
                let _ = client.release_channel(&mut sink, relid);
                let _ = client.unload(&mut sink);
            }
            11 => {
                let payload = vec![arg; usize::from(arg) * 8];
                let _ = client.send(
                    &mut sink,
                    relid,
                    &OutgoingPacket::in_band(&payload, 0, true),
                );
                let _ = client.request_send_space(relid, u32::from(arg) * 16);
            }
            12 => {
                if let Ok(mut receiver) = client.receive(relid) {
                    while let Ok(Some(packet)) = receiver.next(&mut scratch) {
                        let mut out = vec![0; packet.payload().len()];
                        packet.payload().read(0, &mut out).unwrap();
                    }
                    let _ = receiver.finish(&mut sink);
                }
                let _ = client.mask_interrupts(relid);
                let _ = client.unmask_interrupts(relid);
            }
            13 => {
                let offset = usize::from(arg) * 64 + usize::from(input.u8().unwrap_or(0));
                let len = usize::from(input.u8().unwrap_or(0) % 32);
                let bytes = input.bytes(len).to_vec();
                arena.write(offset, &bytes);
            }
            14 => {
                sink.fail_next = Some(match arg % 3 {
                    0 => HvError::INSUFFICIENT_BUFFERS,
                    1 => HvError::INVALID_CONNECTION_ID,
                    _ => HvError::INVALID_PARAMETER,
                });
            }
            _ => {
                let _ = client.signal_channel(&mut sink, relid);
                for channel in client.channels() {
                    let _ = (
                        channel.class_name(),
                        channel.signal_connection_id(),
                        channel.status(),
                    );
                }
                if let Some(page) = client.interrupt_page() {
                    let _ = page.take_signalled().count();
                }
            }
        }
    }
});
