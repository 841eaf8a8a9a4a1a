//! The VMBus step: connect, list the offers, echo packets through a channel, disconnect.
//!
//! # What counts as `ok`
//!
//! The kernel connects with [`hv_guest::vmbus::VmbusClient`] over the SynIC (messages on
//! SINT 2, vector 0x52), asking for the newest version first and falling back as the host
//! refuses (QEMU-like hosts take 4.0 on connection 1, Hyper-V-like ones 5.x on connection 4).
//! It requests the offers and needs the *echo device*
//! ([`HV_ENLIGHTENMENTS_ECHO_GUID`], offered by hv-sim): it lends the channel's rings as a
//! GPADL, opens the channel, sends [`PACKETS`] in-band packets of varied sizes as fast as the
//! ring takes them, and checks that every one comes back as a completion with the same
//! transaction id and bytes, in order. It then closes the channel, tears the GPADL down and
//! unloads. The line gives the version, the offers (class names for the well-known Hyper-V
//! devices), the round trips and the signals per packet each way: guest-to-host
//! `HvCallSignalEvent`s and host-to-guest channel interrupts, both well below one because
//! the ring rules signal only a waiting side.
//!
//! `unavailable`: no Hyper-V interface, no PostMessages/SignalEvents privilege, no SynIC, no
//! VMBus host (connection 1 unknown), or no echo device offered. Anything the host does
//! wrong (a malformed message, a corrupt ring, a rescinded channel) is `FAILED` with the
//! client's typed error.

#![expect(
    clippy::result_large_err,
    reason = "no allocator to box into; the error is the step's report line, made once per step"
)]

use core::fmt::{self, Write as _};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use hv_defs::cpuid::HvFeaturesInfo;
use hv_defs::status::HvError;
use hv_defs::synic::HvSint;
use hv_defs::vmbus::{
    HV_ENLIGHTENMENTS_ECHO_GUID, VMBUS_MESSAGE_SINT, VMBUS_SYNIC_MESSAGE_TYPE, VmbusPacketType,
};
use hv_guest::arch::x86_64::X64;
use hv_guest::synic::{SintConfig, Synic, SynicSender, SynicTransport};
use hv_guest::vmbus::{
    ChannelSlot, ConnectConfig, Error, Event, GpadlSlot, InterruptPage, MonitorPages,
    OutgoingPacket, RingBufferMemory, VmbusClient, VmbusTransport,
};
use kernel_rt::frames::alloc_pages_forever;
use kernel_rt::interrupts::{self, Eoi, Vector};
use kernel_rt::report::Outcome;
use kernel_rt::text::Text;

use super::{Context, static_page};

/// The vector of SINT 2.
const VMBUS_VECTOR: u8 = 0x52;
/// Packets echoed.
const PACKETS: u32 = 1000;
/// Pages of each ring (one control page, the rest data).
const RING_PAGES: usize = 4;
/// How many times a wait halts for an interrupt before the step gives up.
const MAX_WAITS: u32 = 100;
/// Channel slots (offers recorded).
const CHANNELS: usize = 8;

static VMBUS_IRQS: AtomicU32 = AtomicU32::new(0);

fn count_irq(_: Vector) {
    VMBUS_IRQS.fetch_add(1, Ordering::AcqRel);
}

fn failed(e: impl fmt::Display) -> Outcome {
    Outcome::failed(format_args!("{e}"))
}

/// The payload size of packet `n`: 0 to 1016 bytes, varied.
const fn size_of_packet(n: u32) -> usize {
    (n as usize * 97) % 1017
}

/// Fills `buf` with the bytes of packet `n`: its number (little-endian) then its low byte
/// repeated (`fill` and slice comparison compile to `memset`/`memcmp` even in debug builds,
/// so the check costs little next to the rings).
fn fill(buf: &mut [u8], n: u32) {
    buf.fill(n as u8);
    let head = buf.len().min(4);
    buf[..head].copy_from_slice(&n.to_le_bytes()[..head]);
}

/// A transport that counts the guest's channel signals.
struct Counting<'t, T> {
    inner: &'t mut T,
    signals: u32,
}

impl<T: VmbusTransport> VmbusTransport for Counting<'_, T> {
    fn post_message(
        &mut self,
        connection_id: u32,
        message_type: u32,
        payload: &[u8],
    ) -> Result<(), HvError> {
        self.inner
            .post_message(connection_id, message_type, payload)
    }

    fn signal_event(&mut self, connection_id: u32) -> Result<(), HvError> {
        self.signals += 1;
        self.inner.signal_event(connection_id)
    }
}

/// The VMBus step; see the module docs.
pub(super) fn vmbus(cx: &mut Context) -> Outcome {
    let Some(mut synic) = cx.synic.take() else {
        return match cx.info() {
            Ok(_) => Outcome::unavailable(format_args!("no SynIC (see the SynIC line)")),
            Err(outcome) => outcome,
        };
    };
    let outcome = match vmbus_inner(cx, &mut synic) {
        Ok(outcome) | Err(outcome) => outcome,
    };
    cx.synic = Some(synic);
    outcome
}

fn vmbus_inner(cx: &mut Context, synic: &mut Synic<X64>) -> Result<Outcome, Outcome> {
    let info = cx.info()?;
    let privileges = info.features.privileges();
    if !privileges.post_messages() || !privileges.signal_events() {
        return Err(Outcome::unavailable(format_args!(
            "no PostMessages and SignalEvents privileges"
        )));
    }
    let auto_eoi = !info.recommendations.deprecate_auto_eoi();
    let sint = HvSint::new(u32::from(VMBUS_MESSAGE_SINT)).map_err(failed)?;
    let vector = Vector::new(VMBUS_VECTOR).ok_or_else(|| failed("vector rejected"))?;
    let eoi = if auto_eoi { Eoi::None } else { Eoi::Apic };
    interrupts::register(vector, count_irq, eoi).map_err(failed)?;
    let config = SintConfig::new(VMBUS_VECTOR)
        .map_err(failed)?
        .with_auto_eoi(auto_eoi);
    synic.configure_sint(sint, config).map_err(failed)?;
    let pages = |e| Outcome::failed(format_args!("pages: {e}"));
    let interrupt_page = InterruptPage::from_phys_page(static_page().map_err(pages)?);
    let (monitor1, monitor2) = (
        static_page().map_err(pages)?.gpa(),
        static_page().map_err(pages)?.gpa(),
    );
    // SAFETY: two zeroed pages leaked for this purpose: nothing else uses them.
    let monitor = unsafe { MonitorPages::new(monitor1, monitor2) }.map_err(failed)?;
    let rings = alloc_pages_forever(2 * RING_PAGES).map_err(pages)?;
    let mut pfns = [0u64; 2 * RING_PAGES];
    for (pfn, page) in pfns.iter_mut().zip(rings.iter()) {
        *pfn = page.phys_addr() >> 12;
    }
    let base = NonNull::from(rings).cast::<u8>();
    // SAFETY: `rings` is `2 * RING_PAGES` zeroed, physically contiguous, identity-mapped
    // pages leaked to this step, whose page numbers are `pfns`; the reference was turned
    // into `base` and is not used again.
    let memory = unsafe { RingBufferMemory::new(base, &pfns, RING_PAGES) }.map_err(failed)?;

    let (hc, info, io) = cx.hypercalls_with_pages()?;
    let sender = SynicSender::new(hc, HvFeaturesInfo::X64(info.features));
    let mut synic_transport = SynicTransport::new(sender, io);
    let mut transport = Counting {
        inner: &mut synic_transport,
        signals: 0,
    };
    let mut channels = [const { ChannelSlot::EMPTY }; CHANNELS];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(
        ConnectConfig::new(0, monitor, Some(interrupt_page)),
        &mut channels,
        &mut gpadls,
    );
    let waiter = Waiter { synic, sint };

    // Connect, newest version first.
    let (version, connection) = loop {
        match client.initiate_contact(&mut transport) {
            Ok(_) => {}
            Err(Error::Transport(HvError::INVALID_CONNECTION_ID)) => {
                return Err(Outcome::unavailable(format_args!(
                    "no VMBus host: HV_STATUS_INVALID_CONNECTION_ID on connection 1"
                )));
            }
            Err(e) => return Err(failed(format_args!("connecting: {e}"))),
        }
        match waiter.event(&mut client)? {
            Event::Connected {
                version,
                message_connection_id,
            } => break (version, message_connection_id),
            Event::VersionRejected { .. } => {}
            other => return Err(failed(format_args!("connecting: {other:?}"))),
        }
    };
    client.request_offers(&mut transport).map_err(failed)?;
    while !client.all_offers_delivered() {
        match waiter.event(&mut client)? {
            Event::Offer { .. } | Event::AllOffersDelivered => {}
            other => return Err(failed(format_args!("offers: {other:?}"))),
        }
    }
    let mut offers: Text<96> = Text::new();
    let mut echo = None;
    for (i, channel) in client.channels().enumerate() {
        let class = channel.offer().interface_type;
        let sep = if i == 0 { "" } else { ", " };
        let _ = match channel.class_name() {
            Some(name) => write!(offers, "{sep}{name}"),
            None => write!(offers, "{sep}{class}"),
        };
        if class == HV_ENLIGHTENMENTS_ECHO_GUID {
            echo = Some(channel.relid());
        }
    }
    let mut version_text: Text<16> = Text::new();
    let _ = write!(version_text, "{}.{}", version.major(), version.minor());
    let Some(relid) = echo else {
        return Err(Outcome::unavailable(format_args!(
            "VMBus {version_text} on connection {connection}, no echo device offered \
             (offers: {offers})"
        )));
    };

    // The rings: GPADL, open.
    // SAFETY: the ring pages are this step's alone and stay lent until the teardown below.
    let gpadl =
        unsafe { client.create_gpadl(&mut transport, relid, memory.pfns()) }.map_err(failed)?;
    match waiter.event(&mut client)? {
        Event::GpadlCreated { .. } => {}
        other => return Err(failed(format_args!("GPADL: {other:?}"))),
    }
    client
        .open_channel(&mut transport, relid, memory, gpadl, 0, &[])
        .map_err(|e| failed(format_args!("open: {}", e.error)))?;
    match waiter.event(&mut client)? {
        Event::Opened { .. } => {}
        Event::Rescinded { relid, .. } => {
            return Err(failed(format_args!(
                "the host rescinded channel {relid} while it was opening"
            )));
        }
        other => return Err(failed(format_args!("open: {other:?}"))),
    }

    let (round_trips, host_signals) = echo_packets(&mut client, &mut transport, &waiter, relid)?;
    let guest_signals = transport.signals;

    client
        .close_channel(&mut transport, relid)
        .map_err(failed)?;
    client
        .teardown_gpadl(&mut transport, gpadl)
        .map_err(failed)?;
    match waiter.event(&mut client)? {
        Event::GpadlTornDown { .. } => {}
        other => return Err(failed(format_args!("teardown: {other:?}"))),
    }
    client.unload(&mut transport).map_err(failed)?;
    match waiter.event(&mut client)? {
        Event::Unloaded => {}
        other => return Err(failed(format_args!("unload: {other:?}"))),
    }
    let per_mille = |n: u32| n * 1000 / round_trips.max(1);
    let (g, h) = (per_mille(guest_signals), per_mille(host_signals));
    Ok(Outcome::ok(format_args!(
        "{version_text}; offers {offers}; {round_trips} echoes of 0-1016 B; signals per packet \
         {}.{:03} out, {}.{:03} in",
        g / 1000,
        g % 1000,
        h / 1000,
        h % 1000
    )))
}

/// Waits for host messages on the VMBus SINT.
struct Waiter<'a> {
    synic: &'a Synic<X64>,
    sint: HvSint,
}

impl Waiter<'_> {
    /// The event of the next host message, halting for its interrupt as needed.
    fn event(&self, client: &mut VmbusClient<'_, '_>) -> Result<Event, Outcome> {
        for _ in 0..MAX_WAITS {
            match self.synic.receive(self.sint) {
                Ok(Some(message)) => {
                    if message.message_type().get() != VMBUS_SYNIC_MESSAGE_TYPE {
                        return Err(failed(format_args!(
                            "host message of SynIC type {:#x}",
                            message.message_type().get()
                        )));
                    }
                    return client
                        .handle_message(message.payload())
                        .map_err(|e| failed(format_args!("host message: {e}")));
                }
                Ok(None) => interrupts::wait(),
                Err(e) => return Err(failed(format_args!("host message: {e}"))),
            }
        }
        Err(failed("no answer from the VMBus host"))
    }

    /// Halts until a SINT 2 interrupt arrives after `seen` were counted.
    fn channel_interrupt(&self, seen: u32) -> bool {
        for _ in 0..MAX_WAITS {
            if VMBUS_IRQS.load(Ordering::Acquire) != seen {
                return true;
            }
            interrupts::wait();
        }
        false
    }

    /// Takes the SINT's event flags and says whether channel `relid` was signalled: flag
    /// *relid* from 2.4, flag 0 before (relids start at 1, so flag 0 is never a channel's).
    fn take_signal(&self, relid: u32) -> bool {
        self.synic
            .take_events(self.sint)
            .fold(false, |hit, flag| hit || flag == relid || flag == 0)
    }
}

/// Sends [`PACKETS`] packets through the echo channel and checks every completion; returns
/// the round trips and the host's signals of the channel (its event flag found set).
fn echo_packets(
    client: &mut VmbusClient<'_, '_>,
    transport: &mut impl VmbusTransport,
    waiter: &Waiter<'_>,
    relid: u32,
) -> Result<(u32, u32), Outcome> {
    let mut signals = 0;
    let mut packet = [0u8; 1024];
    let mut expected = [0u8; 1024];
    let mut scratch = [0u8; 1100];
    let (mut sent, mut received) = (0u32, 0u32);
    while received < PACKETS {
        let before = (sent, received);
        let seen = VMBUS_IRQS.load(Ordering::Acquire);
        while sent < PACKETS {
            let payload = &mut packet[..size_of_packet(sent)];
            fill(payload, sent);
            match client.send(
                transport,
                relid,
                &OutgoingPacket::in_band(payload, u64::from(sent), true),
            ) {
                Ok(()) => sent += 1,
                Err(e) if e.is_retryable() => break,
                Err(e) => return Err(failed(format_args!("packet {sent}: {e}"))),
            }
        }
        signals += u32::from(waiter.take_signal(relid));
        let mut receiver = client
            .receive(relid)
            .map_err(|e| failed(format_args!("receiving: {e}")))?;
        while let Some(p) = receiver
            .next(&mut scratch)
            .map_err(|e| failed(format_args!("receiving: {e}")))?
        {
            let size = size_of_packet(received);
            let want = &mut expected[..size.next_multiple_of(8)];
            want.fill(0);
            fill(&mut want[..size], received);
            let payload = p.payload();
            let mut got = [0u8; 1024];
            let n = payload.copy_to(&mut got).map_err(failed)?;
            if p.packet_type() != VmbusPacketType::COMPLETION
                || p.transaction_id() != u64::from(received)
                || got[..n] != *want
            {
                return Err(failed(format_args!(
                    "echo {received}: type {:?}, id {}, {n} bytes",
                    p.packet_type(),
                    p.transaction_id()
                )));
            }
            received += 1;
        }
        receiver
            .finish(transport)
            .map_err(|e| failed(format_args!("receiving: {e}")))?;
        if (sent, received) == before && !waiter.channel_interrupt(seen) {
            return Err(failed(format_args!(
                "stuck after {sent} sent, {received} echoed"
            )));
        }
    }
    Ok((received, signals))
}
