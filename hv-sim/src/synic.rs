//! The synthetic interrupt controller of each VP (TLFS 11): message queues and delivery into
//! the SIM page, event flags in the SIEF page, SINT interrupts through the x2APIC model, and
//! the loopback connections that let a guest post messages and signal events without a
//! device.
//!
//! # Message delivery (TLFS 11.4, 11.8.6)
//!
//! Each VP has one queue per SINT. A message is queued, then delivered when its SINT's slot
//! in the SIM page is empty (message type 0): it is copied in, its buffer is freed and the
//! SINT's vector is raised at the APIC, unless the SINT is masked or polling (the message
//! is delivered either way). A message that finds the slot busy stays queued and the
//! occupant's message-pending flag is set; when a message is delivered with more queued
//! behind it, it carries the flag. Queues are scanned again when a message is queued, on an
//! EOM write and on every EOI (explicit, automatic or assisted), and whenever the SIM page
//! or the SynIC is enabled. With SCONTROL or SIMP disabled messages stay queued.
//!
//! # Where the TLFS leaves behaviour open
//!
//! * Polling (bit 18) "unmasks without an interrupt": a SINT with the polling bit counts as
//!   unmasked for `HvCallSignalEvent`, whatever its mask bit, and never raises its vector.
//! * A delivered message carries the pending flag exactly when its queue is not empty after
//!   it; the flag is never cleared by the model (the guest empties the slot).
//! * Messages queued for a SINT stay queued across SINT reprogramming and SIMP changes.
//!
//! # Loopback connections
//!
//! A profile may pre-create connections ([`Connection`]) whose port belongs to the guest
//! itself: [`ECHO_CONNECTION_ID`] echoes every posted message back into
//! [`LOOPBACK_SINT`] of VP 0, [`EVENT_CONNECTION_ID`] sets an event flag in that SINT's
//! SIEF area. See the README for what each profile offers and why.

use std::collections::VecDeque;

use hv_defs::HV_PAGE_SIZE;
use hv_defs::status::HvStatus;
use hv_defs::synic::{
    HV_EVENT_FLAGS_BYTE_COUNT, HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT, HV_MESSAGE_SIZE,
    HV_SYNIC_SINT_COUNT, HvMessage, HvMessageType, HvPostMessageInput, HvSignalEventInput,
    HvSynicScontrol, HvSynicSiefp, HvSynicSimp, HvSynicSint,
};
use zerocopy::{FromBytes, IntoBytes};

use crate::apic::Apic;
use crate::machine::Vm;
use crate::mem::GuestMemory;
use crate::stats::Stats;

/// The connection id of the loopback message port: every message posted to it is queued
/// back, unchanged, to [`LOOPBACK_SINT`] of VP 0.
pub const ECHO_CONNECTION_ID: u32 = 0xE0;
/// The connection id of the loopback event port: `HvCallSignalEvent` on it sets an event
/// flag in [`LOOPBACK_SINT`]'s SIEF area of VP 0.
pub const EVENT_CONNECTION_ID: u32 = 0xE1;
/// The SINT the loopback ports target.
pub const LOOPBACK_SINT: u8 = 4;

/// Guest message buffers of a Hyper-V port (TLFS 11.3.1).
const HYPERV_PORT_BUFFERS: usize = 16;

/// Where a message buffer comes from: a port (its connection id) or a VP's timer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A guest message buffer of the port behind this connection (TLFS 11.3.1).
    Port(u32),
    /// The timer message buffer of synthetic timer `n` (TLFS 11.3.2).
    Timer(u8),
    /// A secure intercept for a higher VTL (TLFS 15.13; `vsm`).
    Intercept,
}

/// A port the partition can reach through a connection (TLFS 11.10.6, 11.10.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The connection id the guest names in its hypercalls.
    pub id: u32,
    /// The VP whose SynIC receives.
    pub vp: u32,
    /// The SINT that receives.
    pub sint: u8,
    /// The port's type and behaviour.
    pub port: Port,
}

/// What a loopback port does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Port {
    /// A message port that echoes every message posted to it.
    Echo {
        /// Guest message buffers: posts beyond this many undelivered messages fail with
        /// `HV_STATUS_INSUFFICIENT_BUFFERS`.
        buffers: usize,
        /// The origination id of echoed messages (TLFS 11.10.4: the port id).
        origination_id: u64,
    },
    /// An event port: flag number `n` sets SIEF flag `base + n`.
    Event {
        /// The port's base flag number (TLFS 11.11.2).
        base: u32,
        /// The port's flag count: flag numbers at or beyond it fail.
        count: u32,
        /// The status of a flag number beyond the count.
        beyond: HvStatus,
    },
}

impl Connection {
    /// The loopback ports of a Hyper-V partition as this model offers them: an echo port
    /// with the 16 guest message buffers of TLFS 11.3.1, its port id equal to the connection
    /// id; an event port with base flag 0 and 16 flags.
    #[must_use]
    pub fn hyperv_loopback() -> Vec<Self> {
        vec![
            Self {
                id: ECHO_CONNECTION_ID,
                vp: 0,
                sint: LOOPBACK_SINT,
                port: Port::Echo {
                    buffers: HYPERV_PORT_BUFFERS,
                    origination_id: u64::from(ECHO_CONNECTION_ID),
                },
            },
            Self {
                id: EVENT_CONNECTION_ID,
                vp: 0,
                sint: LOOPBACK_SINT,
                port: Port::Event {
                    base: 0,
                    count: 16,
                    beyond: HvStatus::INVALID_PARAMETER,
                },
            },
        ]
    }

    /// The connections QEMU's `hyperv-testdev` creates (`HV_TEST_DEV_MSG_CONN_CREATE`,
    /// `HV_TEST_DEV_EVT_CONN_CREATE`) for SINT 4 of VP 0, as QEMU serves them: the echo
    /// connection stages one message per SINT route (a second undelivered message gets
    /// `HV_STATUS_INSUFFICIENT_BUFFERS`) and echoes with origination id 0; the event
    /// connection sets the flag whose number is the connection id, and QEMU adds the flag
    /// number to the connection id, so any other flag number is an unknown connection.
    #[must_use]
    pub fn qemu_testdev() -> Vec<Self> {
        vec![
            Self {
                id: ECHO_CONNECTION_ID,
                vp: 0,
                sint: LOOPBACK_SINT,
                port: Port::Echo {
                    buffers: 1,
                    origination_id: 0,
                },
            },
            Self {
                id: EVENT_CONNECTION_ID,
                vp: 0,
                sint: LOOPBACK_SINT,
                port: Port::Event {
                    base: EVENT_CONNECTION_ID,
                    count: 1,
                    beyond: HvStatus::INVALID_CONNECTION_ID,
                },
            },
        ]
    }
}

/// A message waiting in a SINT queue.
#[derive(Clone, Debug)]
struct Queued {
    source: Source,
    message: HvMessage,
}

/// What message delivery needs besides the SynIC: guest memory, the counters and the
/// reference time (for timer messages' delivery time).
pub(crate) struct Env<'a> {
    pub(crate) mem: &'a mut dyn GuestMemory,
    pub(crate) stats: &'a mut Stats,
    /// The partition reference time, 100 ns units.
    pub(crate) now: u64,
}

/// The timer message payload's delivery time offset in the message (TLFS 13.3.1).
const DELIVERY_TIME_AT: usize = 16 + 16;

/// Offset of the message flags byte in a slot (see `HvMessageHeader`).
const FLAGS_AT: u64 = 5;

/// Why a message could not be queued at a VP (TLFS 11.11.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum QueueError {
    /// SCONTROL or the SIM (SIEF for events) page is disabled.
    SynicState,
}

/// One VP's SynIC: registers and message queues.
#[derive(Clone, Debug)]
pub(crate) struct Synic {
    pub(crate) scontrol: HvSynicScontrol,
    pub(crate) siefp: HvSynicSiefp,
    pub(crate) simp: HvSynicSimp,
    /// `HV_X64_MSR_SIRBP`: stored and read back only (its layout is not published).
    pub(crate) sirbp: u64,
    pub(crate) sint: [HvSynicSint; HV_SYNIC_SINT_COUNT],
    queues: [VecDeque<Queued>; HV_SYNIC_SINT_COUNT],
}

impl Default for Synic {
    fn default() -> Self {
        Self {
            scontrol: HvSynicScontrol::new(),
            siefp: HvSynicSiefp::new(),
            simp: HvSynicSimp::new(),
            sirbp: 0,
            // TLFS 11.8.5: every SINT starts masked.
            sint: [HvSynicSint::new().with_masked(true); HV_SYNIC_SINT_COUNT],
            queues: Default::default(),
        }
    }
}

impl Synic {
    /// The GPA of `sint`'s message slot, when the SIM page is enabled.
    fn slot(&self, sint: usize) -> Option<u64> {
        self.simp
            .enable()
            .then(|| (self.simp.base_gpfn() << 12) + (sint * HV_MESSAGE_SIZE) as u64)
    }

    /// The GPA of `sint`'s event flags, when the SIEF page is enabled.
    fn flags(&self, sint: usize) -> Option<u64> {
        self.siefp
            .enable()
            .then(|| (self.siefp.base_gpfn() << 12) + (sint * HV_EVENT_FLAGS_BYTE_COUNT) as u64)
    }

    /// Messages from `source` queued and not yet delivered (their buffers are in use).
    pub(crate) fn queued_from(&self, source: Source) -> usize {
        self.queues
            .iter()
            .flatten()
            .filter(|q| q.source == source)
            .count()
    }

    /// Whether `sint` takes messages now: SCONTROL and the SIM page are enabled.
    pub(crate) fn accepts_messages(&self) -> bool {
        self.scontrol.enable() && self.simp.enable()
    }

    /// Whether an interrupt for `vector` is ended by the hypervisor on delivery: some SINT
    /// with that vector has AutoEOI (TLFS 11.8.5).
    pub(crate) fn is_auto_eoi(&self, vector: u8) -> bool {
        self.sint
            .iter()
            .any(|s| s.auto_eoi() && s.vector() == vector && !s.masked())
    }

    /// Raises `sint`'s vector unless the SynIC is disabled or the SINT masked or polling
    /// (TLFS 11.4: the interrupt is then lost; 11.8.5 polling).
    fn interrupt(&self, apic: &mut Apic, sint: usize) {
        let value = self.sint[sint];
        if self.scontrol.enable() && !value.masked() && !value.polling() {
            apic.accept(value.vector());
        }
    }

    /// Queues `message` for `sint` (TLFS 11.4) and tries to deliver.
    pub(crate) fn enqueue(
        &mut self,
        env: &mut Env<'_>,
        apic: &mut Apic,
        sint: usize,
        source: Source,
        message: HvMessage,
    ) {
        self.queues[sint].push_back(Queued { source, message });
        self.deliver(env, apic, sint);
    }

    /// Delivers the head of every queue whose slot is empty (EOM, EOI, TLFS 11.8.6). Returns
    /// whether a timer message was delivered, which frees that timer's buffer.
    pub(crate) fn scan(&mut self, env: &mut Env<'_>, apic: &mut Apic) -> bool {
        let mut timer_freed = false;
        for sint in 0..HV_SYNIC_SINT_COUNT {
            if let Some(Source::Timer(_)) = self.deliver(env, apic, sint) {
                timer_freed = true;
            }
        }
        timer_freed
    }

    /// Delivers the head of `sint`'s queue if its slot is empty, setting the pending flag
    /// when more stay queued; otherwise flags the occupant. Returns the delivered message's
    /// source.
    fn deliver(&mut self, env: &mut Env<'_>, apic: &mut Apic, sint: usize) -> Option<Source> {
        if self.queues[sint].is_empty() || !self.scontrol.enable() {
            return None;
        }
        let slot = self.slot(sint)?;
        let occupied = env.mem.read_u32(slot).is_none_or(|t| t != 0);
        if occupied {
            set_pending(env, slot);
            return None;
        }
        let mut queued = self.queues[sint].pop_front()?;
        if let Source::Timer(_) = queued.source {
            queued.message.as_mut_bytes()[DELIVERY_TIME_AT..DELIVERY_TIME_AT + 8]
                .copy_from_slice(&env.now.to_le_bytes());
        }
        let more = !self.queues[sint].is_empty();
        queued
            .message
            .header
            .message_flags
            .set_message_pending(more);
        if !env.mem.write_phys(slot, queued.message.as_bytes()) {
            // The SIM page lies outside RAM: the message cannot be delivered; keep it.
            self.queues[sint].push_front(queued);
            return None;
        }
        env.stats.synic.messages += 1;
        if more {
            env.stats.synic.pending_flags += 1;
        }
        self.interrupt(apic, sint);
        Some(queued.source)
    }

    /// Sets event flag `flag` of `sint` (TLFS 11.5.1) and raises the SINT when it was clear.
    ///
    /// # Errors
    ///
    /// [`QueueError::SynicState`] when SCONTROL or the SIEF page is disabled.
    pub(crate) fn signal(
        &mut self,
        env: &mut Env<'_>,
        apic: &mut Apic,
        sint: usize,
        flag: u32,
    ) -> Result<(), QueueError> {
        let base = self
            .flags(sint)
            .filter(|_| self.scontrol.enable())
            .ok_or(QueueError::SynicState)?;
        let at = base + u64::from(flag / 8);
        let mut byte = [0u8];
        if !env.mem.read_phys(at, &mut byte) {
            return Err(QueueError::SynicState);
        }
        let bit = 1 << (flag % 8);
        if byte[0] & bit == 0 {
            byte[0] |= bit;
            if env.mem.write_phys(at, &byte) {
                env.stats.synic.events += 1;
                self.interrupt(apic, sint);
            }
        }
        Ok(())
    }

    /// Whether `sint` is masked for event signalling: masked and not polling (TLFS 11.5.1,
    /// 11.8.5).
    pub(crate) fn sint_masked(&self, sint: usize) -> bool {
        let value = self.sint[sint];
        value.masked() && !value.polling()
    }
}

/// Sets the message-pending flag of the slot at `slot` if it is clear.
fn set_pending(env: &mut Env<'_>, slot: u64) {
    let mut flags = [0u8];
    if env.mem.read_phys(slot + FLAGS_AT, &mut flags) && flags[0] & 1 == 0 {
        flags[0] |= 1;
        if env.mem.write_phys(slot + FLAGS_AT, &flags) {
            env.stats.synic.pending_flags += 1;
        }
    }
}

/// Checks an `HvCallPostMessage` input (TLFS 11.11.1): the message type must be non-zero
/// with the high bit clear and the payload at most 240 bytes.
pub(crate) fn check_post(input: &[u8]) -> Result<HvPostMessageInput, HvStatus> {
    let input =
        HvPostMessageInput::read_from_bytes(input).map_err(|_| HvStatus::INVALID_PARAMETER)?;
    let message_type = input.message_type;
    if message_type == HvMessageType::HvMessageTypeNone
        || message_type.is_hypervisor()
        || input.payload_size as usize > HV_MESSAGE_MAX_PAYLOAD_BYTE_COUNT
    {
        return Err(HvStatus::INVALID_PARAMETER);
    }
    Ok(input)
}

/// Reads an `HvCallSignalEvent` input (TLFS 11.11.2).
pub(crate) fn read_signal(input: &[u8]) -> Result<HvSignalEventInput, HvStatus> {
    HvSignalEventInput::read_from_bytes(input).map_err(|_| HvStatus::INVALID_HYPERCALL_INPUT)
}

impl Vm {
    /// The connection with id `id`, if the profile offers it.
    fn connection(&self, id: u32) -> Option<Connection> {
        self.profile
            .hv
            .as_ref()?
            .connections
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }

    /// `HvCallPostMessage` (TLFS 11.11.1): checks in the order of its status table, then
    /// queues the message at the port's VP.
    pub(crate) fn post_message(&mut self, mem: &mut dyn GuestMemory, input: &[u8]) -> HvStatus {
        let input = match check_post(input) {
            Ok(input) => input,
            Err(status) => return status,
        };
        let Some(connection) = self.connection(input.connection_id.into_bits()) else {
            return HvStatus::INVALID_CONNECTION_ID;
        };
        let Port::Echo {
            buffers,
            origination_id,
        } = connection.port
        else {
            return HvStatus::INVALID_PORT_ID;
        };
        let now = self.ref_time();
        let Some(vp) = self.vps.get_mut(connection.vp as usize) else {
            return HvStatus::INVALID_VP_INDEX;
        };
        if !vp.synic.accepts_messages() {
            return HvStatus::INVALID_SYNIC_STATE;
        }
        let source = Source::Port(connection.id);
        if vp.synic.queued_from(source) >= buffers {
            return HvStatus::INSUFFICIENT_BUFFERS;
        }
        let payload = &input.payload[..input.payload_size as usize];
        let Ok(message) = HvMessage::new(input.message_type, origination_id, payload) else {
            return HvStatus::INVALID_PARAMETER;
        };
        let mut env = Env {
            mem,
            stats: &mut self.stats,
            now,
        };
        let sint = usize::from(connection.sint);
        vp.synic
            .enqueue(&mut env, &mut vp.apic, sint, source, message);
        HvStatus::SUCCESS
    }

    /// `HvCallSignalEvent` (TLFS 11.11.2), in the order of its status table.
    pub(crate) fn signal_event(&mut self, mem: &mut dyn GuestMemory, input: &[u8]) -> HvStatus {
        let input = match read_signal(input) {
            Ok(input) => input,
            Err(status) => return status,
        };
        let Some(connection) = self.connection(input.connection_id.into_bits()) else {
            return HvStatus::INVALID_CONNECTION_ID;
        };
        let Port::Event {
            base,
            count,
            beyond,
        } = connection.port
        else {
            return HvStatus::INVALID_PORT_ID;
        };
        let flag = u32::from(input.flag_number);
        if flag >= count {
            return beyond;
        }
        let now = self.ref_time();
        let Some(vp) = self.vps.get_mut(connection.vp as usize) else {
            return HvStatus::INVALID_VP_INDEX;
        };
        let sint = usize::from(connection.sint);
        if vp.synic.sint_masked(sint) {
            return HvStatus::INVALID_SYNIC_STATE;
        }
        let mut env = Env {
            mem,
            stats: &mut self.stats,
            now,
        };
        match vp.synic.signal(&mut env, &mut vp.apic, sint, base + flag) {
            Ok(()) => HvStatus::SUCCESS,
            Err(QueueError::SynicState) => HvStatus::INVALID_SYNIC_STATE,
        }
    }

    /// Scans VP `vp`'s SynIC queues (EOM, EOI; TLFS 11.8.6); a freed timer buffer lets a
    /// waiting timer expiration through.
    pub(crate) fn synic_scan(&mut self, mem: &mut dyn GuestMemory, vp: usize) {
        let now = self.ref_time();
        let Some(v) = self.vps.get_mut(vp) else {
            return;
        };
        let mut env = Env {
            mem: &mut *mem,
            stats: &mut self.stats,
            now,
        };
        if v.synic.scan(&mut env, &mut v.apic) {
            self.run_timers(mem, vp);
        }
    }
}

/// Whether a page at `gpa` lies inside `ram_bytes` of RAM.
pub(crate) fn page_fits(gpa: u64, ram_bytes: u64) -> bool {
    gpa.checked_add(HV_PAGE_SIZE as u64)
        .is_some_and(|end| end <= ram_bytes)
}

#[cfg(test)]
mod tests {
    use hv_defs::synic::HvMessageFlags;

    use super::*;
    use crate::mem::TestRam;

    const SIM: u64 = 0x1000;
    const SIEF: u64 = 0x2000;
    const VECTOR: u8 = 0x50;

    fn apic() -> Apic {
        let mut apic = Apic::new(0, true);
        apic.set_base(0xFEE0_0000 | 1 << 8 | 1 << 10 | 1 << 11)
            .unwrap();
        apic.write_msr(0x80F, 0x1FF).unwrap();
        apic
    }

    fn synic(sint: HvSynicSint) -> Synic {
        let mut synic = Synic {
            scontrol: HvSynicScontrol::new().with_enable(true),
            simp: HvSynicSimp::new()
                .with_enable(true)
                .with_base_gpfn(SIM >> 12),
            siefp: HvSynicSiefp::new()
                .with_enable(true)
                .with_base_gpfn(SIEF >> 12),
            ..Synic::default()
        };
        synic.sint[4] = sint;
        synic
    }

    fn message(n: u8) -> HvMessage {
        HvMessage::new(HvMessageType::new(1), 0xE0, &[n; 3]).unwrap()
    }

    fn slot(ram: &TestRam) -> HvMessage {
        let at = SIM as usize + 4 * HV_MESSAGE_SIZE;
        HvMessage::read_from_bytes(&ram.0[at..at + HV_MESSAGE_SIZE]).unwrap()
    }

    /// The guest's side of TLFS 11.10.3: takes the slot's first payload byte and clears the
    /// type; says whether to write EOM. `None` for an empty slot.
    fn take(ram: &mut TestRam) -> Option<(u8, bool)> {
        let at = SIM as usize + 4 * HV_MESSAGE_SIZE;
        let message = slot(ram);
        if message.is_empty() {
            return None;
        }
        ram.0[at..at + 4].fill(0);
        let pending = HvMessageFlags::from_bits(ram.0[at + 5]).message_pending();
        Some((message.payload[0], pending))
    }

    fn unmasked() -> HvSynicSint {
        HvSynicSint::new().with_vector(VECTOR)
    }

    #[test]
    fn busy_slot_queues_flags_pending_and_eom_redelivers_in_order() {
        let mut ram = TestRam(vec![0; 0x3000]);
        let mut stats = Stats::default();
        let mut apic = apic();
        let mut s = synic(unmasked());
        for n in 1..=3 {
            let mut env = Env {
                mem: &mut ram,
                stats: &mut stats,
                now: 0,
            };
            s.enqueue(&mut env, &mut apic, 4, Source::Port(0xE0), message(n));
        }
        assert_eq!(
            s.queued_from(Source::Port(0xE0)),
            2,
            "two wait behind the slot"
        );
        assert_eq!(stats.synic.messages, 1);
        assert_eq!(
            stats.synic.pending_flags, 1,
            "the occupant was flagged once"
        );
        assert_eq!(apic.deliverable(), Some(VECTOR));
        let mut received = Vec::new();
        let mut eoms = 0;
        while let Some((n, pending)) = take(&mut ram) {
            received.push(n);
            if pending {
                eoms += 1;
                let mut env = Env {
                    mem: &mut ram,
                    stats: &mut stats,
                    now: 0,
                };
                s.scan(&mut env, &mut apic);
            }
        }
        assert_eq!(received, [1, 2, 3], "TLFS 11.3.6: posting order");
        assert_eq!(eoms, 2, "EOM only for the flagged occupants");
        assert_eq!(stats.synic.pending_flags, 2);
        assert_eq!(s.queued_from(Source::Port(0xE0)), 0);
    }

    #[test]
    fn masked_and_polling_sints_get_messages_without_interrupts() {
        for sint in [unmasked().with_masked(true), unmasked().with_polling(true)] {
            let mut ram = TestRam(vec![0; 0x3000]);
            let mut stats = Stats::default();
            let mut apic = apic();
            let mut s = synic(sint);
            let mut env = Env {
                mem: &mut ram,
                stats: &mut stats,
                now: 0,
            };
            s.enqueue(&mut env, &mut apic, 4, Source::Port(0xE0), message(7));
            assert_eq!(slot(&ram).payload[0], 7, "delivered to the slot");
            assert!(!apic.has_pending(), "no interrupt: {sint:?}");
        }
    }

    #[test]
    fn disabled_sim_or_scontrol_keeps_messages_queued() {
        let mut ram = TestRam(vec![0; 0x3000]);
        let mut stats = Stats::default();
        let mut apic = apic();
        let mut s = synic(unmasked());
        s.simp.set_enable(false);
        let mut env = Env {
            mem: &mut ram,
            stats: &mut stats,
            now: 0,
        };
        s.enqueue(&mut env, &mut apic, 4, Source::Timer(1), message(1));
        assert_eq!(s.queued_from(Source::Timer(1)), 1);
        s.simp.set_enable(true);
        s.scontrol.set_enable(false);
        assert!(!s.scan(&mut env, &mut apic));
        s.scontrol.set_enable(true);
        assert!(s.scan(&mut env, &mut apic), "a timer buffer was freed");
        assert_eq!(slot(&ram).payload[0], 1);
    }

    #[test]
    fn event_flags_interrupt_only_on_a_clear_to_set_edge() {
        let mut ram = TestRam(vec![0; 0x3000]);
        let mut stats = Stats::default();
        let mut apic = apic();
        let mut s = synic(unmasked());
        let mut env = Env {
            mem: &mut ram,
            stats: &mut stats,
            now: 0,
        };
        s.signal(&mut env, &mut apic, 4, 9).unwrap();
        assert_eq!(apic.deliverable(), Some(VECTOR));
        apic.acknowledge(VECTOR, true);
        s.signal(&mut env, &mut apic, 4, 9).unwrap();
        assert!(!apic.has_pending(), "already set: no new interrupt");
        assert_eq!(stats.synic.events, 1);
        assert_eq!(ram.0[SIEF as usize + 4 * 256 + 1], 0b10);
        s.siefp.set_enable(false);
        let mut env = Env {
            mem: &mut ram,
            stats: &mut stats,
            now: 0,
        };
        assert_eq!(
            s.signal(&mut env, &mut apic, 4, 9),
            Err(QueueError::SynicState)
        );
    }

    #[test]
    fn auto_eoi_follows_the_sint_registers() {
        let s = synic(unmasked().with_auto_eoi(true));
        assert!(s.is_auto_eoi(VECTOR));
        assert!(!s.is_auto_eoi(VECTOR + 1));
        assert!(!synic(unmasked()).is_auto_eoi(VECTOR));
    }

    #[test]
    fn post_checks_follow_tlfs_11_11_1() {
        let mut input = HvPostMessageInput::new(
            hv_defs::synic::HvConnectionId::new().with_id(0xE0),
            HvMessageType::new(1),
            b"x",
        )
        .unwrap();
        assert!(check_post(input.as_bytes()).is_ok());
        input.message_type = HvMessageType::new(0);
        assert_eq!(
            check_post(input.as_bytes()).map(|_| ()),
            Err(HvStatus::INVALID_PARAMETER)
        );
        input.message_type = HvMessageType::new(0x8000_0001);
        assert_eq!(
            check_post(input.as_bytes()).map(|_| ()),
            Err(HvStatus::INVALID_PARAMETER)
        );
        input.message_type = HvMessageType::new(1);
        input.payload_size = 241;
        assert_eq!(
            check_post(input.as_bytes()).map(|_| ()),
            Err(HvStatus::INVALID_PARAMETER)
        );
    }
}
