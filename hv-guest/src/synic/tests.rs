extern crate std;

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::vec;
use std::vec::Vec;

use hv_defs::cpuid::{HvArch, HvFeatures};
use hv_defs::hypercall::{HvHypercallInput, HvHypercallOutput};
use hv_defs::msr::{
    HV_X64_MSR_EOM, HV_X64_MSR_SCONTROL, HV_X64_MSR_SIEFP, HV_X64_MSR_SIMP, HV_X64_MSR_SINT0,
    HV_X64_MSR_SVERSION,
};
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::status::HvStatus;
use hv_defs::synic::{HvMessagePage, HvSynicEventFlagsPage};
use proptest::prelude::*;
use zerocopy::IntoBytes;

use super::*;
use crate::testing::{Event, FakePlatform, MsrAccess};

/// SIMP as the host hands it over: disabled, an old base page and RsvdP bits set.
const SIMP_RESET: u64 = 0x7_7000 | 0xF0E;
/// SIEFP: disabled, RsvdP bits set.
const SIEFP_RESET: u64 = 0xAAA;
/// SCONTROL: disabled, RsvdP bits set.
const SCONTROL_RESET: u64 = 0xFFFF_0000_0000_0000;
/// A SINT: masked, vector 0, RsvdP bits 15:8 and 63:21 set, and bit 19 (post-TLFS 6.0
/// `as_intercept`, RsvdP in TLFS 6.0) set.
const SINT_RESET: u64 = 0x1234_5670_0009_5A00;

const SINT2: HvSint = const_sint(2);
const SINT5: HvSint = const_sint(5);

const fn const_sint(n: u32) -> HvSint {
    match HvSint::new(n) {
        Ok(sint) => sint,
        Err(_) => panic!("SINT index out of range"),
    }
}

fn sint(n: u32) -> HvSint {
    HvSint::new(n).unwrap()
}

fn privileges() -> HvPartitionPrivilegeMask {
    HvPartitionPrivilegeMask::new()
        .with_access_synic_regs(true)
        .with_post_messages(true)
        .with_signal_events(true)
}

fn features(privileges: HvPartitionPrivilegeMask) -> HvFeaturesInfo {
    HvFeaturesInfo::X64(HvFeatures::new().with_privileges(privileges))
}

/// A fake partition with the SynIC MSRs.
fn partition() -> FakePlatform {
    let fake = FakePlatform::new();
    fake.define_msr(HV_X64_MSR_SCONTROL, SCONTROL_RESET, MsrAccess::ReadWrite);
    fake.define_msr(HV_X64_MSR_SVERSION, 1, MsrAccess::ReadOnly);
    fake.define_msr(HV_X64_MSR_SIEFP, SIEFP_RESET, MsrAccess::ReadWrite);
    fake.define_msr(HV_X64_MSR_SIMP, SIMP_RESET, MsrAccess::ReadWrite);
    fake.define_msr(HV_X64_MSR_EOM, 0, MsrAccess::WriteOnly);
    for i in 0..16 {
        fake.define_msr(HV_X64_MSR_SINT0 + i, SINT_RESET, MsrAccess::ReadWrite);
    }
    fake
}

fn enable(fake: &FakePlatform) -> Synic<&FakePlatform> {
    Synic::enable(fake, features(privileges()), fake.page(), fake.page())
        .map_err(|e| e.reason)
        .unwrap()
}

/// Writes a message into `sint`'s slot as the hypervisor would.
fn deliver(fake: &FakePlatform, synic: &Synic<&FakePlatform>, sint: HvSint, message: &HvMessage) {
    let gpa = synic.message_page_gpa() + 256 * sint.get() as u64;
    fake.write_guest(gpa, message.as_bytes());
}

fn slot(fake: &FakePlatform, synic: &Synic<&FakePlatform>, sint: HvSint) -> HvMessage {
    let gpa = synic.message_page_gpa() + 256 * sint.get() as u64;
    HvMessage::read_from_bytes(&fake.read_guest(gpa, 256)).unwrap()
}

fn message(message_type: u32, payload: &[u8], pending: bool) -> HvMessage {
    let mut m = HvMessage::new(HvMessageType::new(message_type), 0x42, payload).unwrap();
    m.header.message_flags = HvMessageFlags::new().with_message_pending(pending);
    m
}

const EOM: Event = Event::WriteMsr(HV_X64_MSR_EOM, 0);

#[test]
fn enable_configure_and_disable_write_the_registers_in_order_and_restore_them() {
    let fake = partition();
    let (sim, sief) = (fake.page(), fake.page());
    let (sim_gpa, sief_gpa) = (sim.gpa(), sief.gpa());
    let mut synic = Synic::enable(&fake, features(privileges()), sim, sief)
        .map_err(|e| e.reason)
        .unwrap();
    assert_eq!(synic.message_page_gpa(), sim_gpa);
    assert_eq!(synic.event_flags_page_gpa(), sief_gpa);
    let config = SintConfig::new(0x30).unwrap().with_auto_eoi(true);
    synic.configure_sint(SINT2, config).unwrap();
    // A second change keeps the first original for teardown.
    synic
        .configure_sint(SINT2, config.with_masked(true))
        .unwrap();
    synic.mask_sint(SINT5).unwrap();
    let (_, sim, sief) = synic.disable().map_err(|(_, e)| e).unwrap();
    assert_eq!((sim.gpa(), sief.gpa()), (sim_gpa, sief_gpa));

    let simp = sim_gpa | 0xF0E | 1;
    let siefp = sief_gpa | 0xAAA | 1;
    let scontrol = SCONTROL_RESET | 1;
    let sint2 = HV_X64_MSR_SINT0 + 2;
    let sint5 = HV_X64_MSR_SINT0 + 5;
    assert_eq!(
        fake.log(),
        [
            Event::ReadMsr(HV_X64_MSR_SIMP, SIMP_RESET),
            Event::ReadMsr(HV_X64_MSR_SIEFP, SIEFP_RESET),
            Event::ReadMsr(HV_X64_MSR_SCONTROL, SCONTROL_RESET),
            // The old base page is replaced, RsvdP bits kept, enable set.
            Event::WriteMsr(HV_X64_MSR_SIMP, simp),
            Event::WriteMsr(HV_X64_MSR_SIEFP, siefp),
            Event::WriteMsr(HV_X64_MSR_SCONTROL, scontrol),
            Event::ReadMsr(HV_X64_MSR_SIMP, simp),
            Event::ReadMsr(HV_X64_MSR_SIEFP, siefp),
            Event::ReadMsr(HV_X64_MSR_SCONTROL, scontrol),
            // Vector 0x30, unmasked, AutoEOI; RsvdP bits and bit 19 kept.
            Event::ReadMsr(sint2, SINT_RESET),
            Event::WriteMsr(sint2, 0x1234_5670_000A_5A30),
            Event::ReadMsr(sint2, 0x1234_5670_000A_5A30),
            Event::WriteMsr(sint2, 0x1234_5670_000B_5A30),
            Event::ReadMsr(sint5, SINT_RESET),
            Event::WriteMsr(sint5, SINT_RESET),
            // Teardown: SINTs, SCONTROL, SIEFP, SIMP, each back to what was found.
            Event::WriteMsr(sint2, SINT_RESET),
            Event::WriteMsr(sint5, SINT_RESET),
            Event::WriteMsr(HV_X64_MSR_SCONTROL, SCONTROL_RESET),
            Event::WriteMsr(HV_X64_MSR_SIEFP, SIEFP_RESET),
            Event::WriteMsr(HV_X64_MSR_SIMP, SIMP_RESET),
        ]
    );
}

#[test]
fn enable_zeroes_the_pages_and_teardown_clears_overlays_found_enabled() {
    let fake = partition();
    // A previous owner left the SIM page enabled elsewhere.
    fake.define_msr(HV_X64_MSR_SIMP, 0x9_9000 | 1, MsrAccess::ReadWrite);
    let mut sim = fake.page();
    sim.bytes_mut().fill(0xEE);
    let synic = Synic::enable(&fake, features(privileges()), sim, fake.page())
        .map_err(|e| e.reason)
        .unwrap();
    assert_eq!(slot(&fake, &synic, sint(7)), HvMessage::EMPTY);
    let _ = synic.disable().map_err(|(_, e)| e).unwrap();
    // The base is restored but the foreign overlay is not re-armed.
    assert_eq!(fake.msr(HV_X64_MSR_SIMP), Some(0x9_9000));
}

#[test]
fn without_access_synic_regs_nothing_is_touched() {
    let fake = partition();
    let (sim, sief) = (fake.page(), fake.page());
    let gpas = (sim.gpa(), sief.gpa());
    let no_synic = privileges().with_access_synic_regs(false);
    let err = Synic::enable(&fake, features(no_synic), sim, sief).unwrap_err();
    assert_eq!(err.reason, SynicError::NoPrivilege);
    let (sim, sief) = err.pages.unwrap();
    assert_eq!((sim.gpa(), sief.gpa()), gpas);
    assert!(fake.log().is_empty());
    // The same on arm64's layout of the features value.
    let arm64 = HvFeaturesInfo::new(HvArch::Arm64, u128::from(no_synic.into_bits()));
    let err = Synic::enable(&fake, arm64, sim, sief).unwrap_err();
    assert_eq!(err.reason, SynicError::NoPrivilege);
    assert!(fake.log().is_empty());
}

#[test]
fn a_host_that_ignores_simp_gets_everything_put_back() {
    let fake = partition();
    fake.define_msr(HV_X64_MSR_SIMP, SIMP_RESET, MsrAccess::DropsWrites);
    let sim = fake.page();
    let sim_gpa = sim.gpa();
    let err = Synic::enable(&fake, features(privileges()), sim, fake.page()).unwrap_err();
    assert_eq!(
        err.reason,
        SynicError::NotAccepted {
            register: HvRegisterName::HvRegisterSipp,
            written: sim_gpa | 0xF0E | 1,
            readback: SIMP_RESET,
        }
    );
    assert!(err.pages.is_some());
    assert_eq!(fake.msr(HV_X64_MSR_SIEFP), Some(SIEFP_RESET));
    assert_eq!(fake.msr(HV_X64_MSR_SCONTROL), Some(SCONTROL_RESET));
    assert_eq!(
        fake.log()[fake.log().len() - 3..],
        [
            Event::WriteMsr(HV_X64_MSR_SCONTROL, SCONTROL_RESET),
            Event::WriteMsr(HV_X64_MSR_SIEFP, SIEFP_RESET),
            Event::WriteMsr(HV_X64_MSR_SIMP, SIMP_RESET),
        ]
    );
}

#[test]
fn sint_vectors_below_16_are_refused() {
    for vector in 0..=u8::MAX {
        let config = SintConfig::new(vector);
        if vector < 16 {
            assert_eq!(config, Err(SynicError::InvalidVector(vector)));
        } else {
            assert_eq!(config.unwrap().vector(), vector);
        }
    }
}

#[test]
fn sint_config_bits_are_the_tlfs_ones() {
    let current = HvSynicSint::from_bits(SINT_RESET);
    let config = SintConfig::new(0xFF).unwrap();
    assert_eq!(config.apply(current).into_bits(), 0x1234_5670_0008_5AFF);
    assert_eq!(
        config.with_masked(true).apply(current).into_bits(),
        0x1234_5670_0009_5AFF
    );
    assert_eq!(
        config.with_auto_eoi(true).apply(current).into_bits(),
        0x1234_5670_000A_5AFF
    );
    assert_eq!(
        config.with_polling(true).apply(current).into_bits(),
        0x1234_5670_000C_5AFF
    );
    assert_eq!(
        config.apply(HvSynicSint::new()).into_bits(),
        0x0000_0000_0000_00FF
    );
}

#[test]
fn polling_needs_the_feature() {
    let fake = partition();
    let mut synic = enable(&fake);
    fake.clear_log();
    let polling = SintConfig::new(0x40).unwrap().with_polling(true);
    assert_eq!(
        synic.configure_sint(SINT2, polling),
        Err(SynicError::PollingUnavailable)
    );
    assert!(fake.log().is_empty());

    let fake = partition();
    let with_polling = HvFeatures::new()
        .with_privileges(privileges())
        .with_sint_polling_mode_available(true);
    let mut synic = Synic::enable(
        &fake,
        HvFeaturesInfo::X64(with_polling),
        fake.page(),
        fake.page(),
    )
    .map_err(|e| e.reason)
    .unwrap();
    synic.configure_sint(SINT2, polling).unwrap();
    assert_eq!(fake.msr(HV_X64_MSR_SINT0 + 2), Some(0x1234_5670_000C_5A40));
    assert!(synic.read_sint(SINT2).unwrap().polling());
}

#[test]
fn an_empty_slot_reads_as_none_and_touches_nothing() {
    let fake = partition();
    let synic = enable(&fake);
    fake.clear_log();
    for sint in HvSint::all() {
        assert_eq!(synic.receive(sint), Ok(None));
    }
    assert!(fake.log().is_empty());
}

#[test]
fn a_message_without_the_pending_flag_is_released_without_eom() {
    let fake = partition();
    let synic = enable(&fake);
    fake.clear_log();
    let sent = message(1, b"hello vmbus", false);
    deliver(&fake, &synic, SINT2, &sent);
    let received = synic.receive(SINT2).unwrap().unwrap();
    assert_eq!(received.payload(), b"hello vmbus");
    assert_eq!(received.message_type(), HvMessageType::new(1));
    assert_eq!(received.header().origination_id, 0x42);
    assert_eq!(received.as_raw(), &sent);
    // Only the type was cleared; nothing else in the slot was written.
    let mut after = sent;
    after.header.message_type = HvMessageType::HvMessageTypeNone;
    assert_eq!(slot(&fake, &synic, SINT2), after);
    assert!(fake.log().is_empty(), "no EOM without the pending flag");
    assert_eq!(synic.receive(SINT2), Ok(None));
}

#[test]
fn a_message_with_the_pending_flag_is_released_then_eom_is_written_once() {
    let fake = partition();
    let synic = enable(&fake);
    fake.clear_log();
    deliver(&fake, &synic, SINT5, &message(7, &[1; 240], true));
    let received = synic.receive(SINT5).unwrap().unwrap();
    assert_eq!(received.payload(), &[1; 240]);
    assert_eq!(fake.log(), [EOM]);
    assert!(slot(&fake, &synic, SINT5).is_empty());
}

#[test]
fn a_pending_flag_set_after_delivery_is_honoured() {
    // The hypervisor may set the flag at any time after delivery (TLFS 11.10.3), writing
    // only the flags byte of the occupied slot.
    let fake = partition();
    let synic = enable(&fake);
    deliver(&fake, &synic, SINT2, &message(1, b"b", false));
    let flags_gpa = synic.message_page_gpa() + 2 * 256 + 5;
    fake.write_guest(flags_gpa, &[1]);
    fake.clear_log();
    synic.receive(SINT2).unwrap().unwrap();
    assert_eq!(fake.log(), [EOM]);
}

#[test]
fn malformed_messages_are_typed_errors_and_still_released() {
    let fake = partition();
    let synic = enable(&fake);
    fake.clear_log();
    for size in [241u8, 255] {
        let mut bad = message(1, &[9; 16], true);
        bad.header.payload_size = size;
        deliver(&fake, &synic, SINT2, &bad);
        assert_eq!(
            synic.receive(SINT2),
            Err(MessageError::PayloadTooLarge { header: bad.header })
        );
        assert!(slot(&fake, &synic, SINT2).is_empty());
    }
    let unknown = message(0x8000_7777, &[], false);
    deliver(&fake, &synic, SINT2, &unknown);
    assert_eq!(
        synic.receive(SINT2),
        Err(MessageError::UnknownType {
            header: unknown.header
        })
    );
    assert!(slot(&fake, &synic, SINT2).is_empty());
    // Two EOMs: one per malformed message that had the pending flag.
    assert_eq!(fake.log(), [EOM, EOM]);
    // Any guest type and every named hypervisor type are accepted.
    for t in [0x1234, 0x7FFF_FFFF, 0x8000_0010, 0x8001_0000] {
        deliver(&fake, &synic, SINT2, &message(t, &[], false));
        assert!(synic.receive(SINT2).unwrap().is_some(), "type {t:#x}");
    }
}

/// A model of the hypervisor's message queue for one SINT (TLFS 11.4, 11.8.6, 11.10.3).
struct Queue {
    sint: HvSint,
    sim_gpa: u64,
    queued: VecDeque<u32>,
    /// Deliveries whose pending flag was set by the time the slot was emptied.
    pending_cases: usize,
}

impl Queue {
    fn slot_gpa(&self) -> u64 {
        self.sim_gpa + 256 * u64::from(self.sint.get())
    }

    fn slot_empty(&self, fake: &FakePlatform) -> bool {
        fake.read_guest(self.slot_gpa(), 4) == [0; 4]
    }

    /// Delivers the next queued message if the slot is empty, with the pending flag set when
    /// more are queued behind it.
    fn deliver(&mut self, fake: &FakePlatform) {
        if !self.slot_empty(fake) {
            return;
        }
        if let Some(n) = self.queued.pop_front() {
            let pending = !self.queued.is_empty();
            self.pending_cases += usize::from(pending);
            let m = message(1, &n.to_le_bytes(), pending);
            fake.write_guest(self.slot_gpa(), m.as_bytes());
        }
    }

    /// Queues a message; if the slot is busy and its flag not yet set, sets the flag (the
    /// hypervisor may do so at any time after delivery).
    fn post(&mut self, fake: &FakePlatform, n: u32) {
        self.queued.push_back(n);
        if self.slot_empty(fake) {
            self.deliver(fake);
        } else {
            let flags_gpa = self.slot_gpa() + 5;
            if fake.read_guest(flags_gpa, 1) == [0] {
                fake.write_guest(flags_gpa, &[1]);
                self.pending_cases += 1;
            }
        }
    }
}

#[test]
fn a_thousand_messages_cost_one_eom_per_pending_flag() {
    let fake = partition();
    let synic = enable(&fake);
    let queue = Rc::new(RefCell::new(Queue {
        sint: SINT5,
        sim_gpa: synic.message_page_gpa(),
        queued: VecDeque::new(),
        pending_cases: 0,
    }));
    let host = queue.clone();
    fake.on_msr_write(HV_X64_MSR_EOM, move |fake, _| {
        host.borrow_mut().deliver(fake)
    });
    fake.clear_log();

    // A thousand natively; fewer under Miri, which interprets every step.
    let total: u32 = if cfg!(miri) { 200 } else { 1000 };
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = 0u32;
    let mut received = Vec::new();
    while received.len() < total as usize {
        // The host posts a burst of 0 to 3 messages, then the guest handles one interrupt.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        for _ in 0..rng % 4 {
            if next < total {
                queue.borrow_mut().post(&fake, next);
                next += 1;
            }
        }
        if rng % 3 == 0 {
            // Sometimes the guest handles only one message per interrupt.
            if let Some(m) = synic.receive(SINT5).unwrap() {
                received.push(u32::from_le_bytes(m.payload().try_into().unwrap()));
            }
        } else {
            while let Some(m) = synic.receive(SINT5).unwrap() {
                received.push(u32::from_le_bytes(m.payload().try_into().unwrap()));
            }
        }
    }
    assert_eq!(received, (0..total).collect::<Vec<_>>());
    let eoms = fake.log().iter().filter(|e| **e == EOM).count();
    let pending_cases = queue.borrow().pending_cases;
    assert_eq!(eoms, pending_cases);
    assert!(
        eoms < 1000,
        "EOM only on pending flags, not per message ({eoms})"
    );
    assert_eq!(fake.log().len(), eoms, "nothing but EOM writes");
}

fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn flags_gpa(synic: &Synic<&FakePlatform>, sint: HvSint) -> u64 {
    synic.event_flags_page_gpa() + 256 * u64::from(sint.get())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn every_set_flag_is_taken_exactly_once_and_cleared(
        flags in proptest::collection::btree_set(0u32..2048, 0..if cfg!(miri) { 24 } else { 300 }),
        target in 0u32..16,
    ) {
        let fake = partition();
        let synic = enable(&fake);
        let target = sint(target);
        let other = sint((target.get() + 1) % 16);
        let mut page = HvSynicEventFlagsPage { sint_event_flags: [Default::default(); 16] };
        for &flag in &flags {
            page.flags_mut(target).set(flag).unwrap();
        }
        page.flags_mut(other).set(77).unwrap();
        fake.write_guest(synic.event_flags_page_gpa(), page.as_bytes());
        fake.clear_log();

        let taken: Vec<u32> = synic.take_events(target).collect();
        let expected: Vec<u32> = flags.iter().copied().collect();
        prop_assert_eq!(taken, expected);
        prop_assert_eq!(fake.read_guest(flags_gpa(&synic, target), 256), vec![0; 256]);
        let mut rest = [0u8; 256];
        rest[77 / 8] = 1 << (77 % 8);
        prop_assert_eq!(fake.read_guest(flags_gpa(&synic, other), 256), rest.to_vec());
        prop_assert_eq!(synic.take_events(target).count(), 0);
        prop_assert!(fake.log().is_empty());
    }
}

#[test]
fn dropping_the_flag_iterator_early_puts_back_what_it_did_not_yield() {
    let fake = partition();
    let synic = enable(&fake);
    let gpa = flags_gpa(&synic, SINT2);
    let mut flags = HvSynicEventFlagsPage {
        sint_event_flags: [Default::default(); 16],
    };
    for flag in [1, 5, 70, 2047] {
        flags.flags_mut(SINT2).set(flag).unwrap();
    }
    fake.write_guest(synic.event_flags_page_gpa(), flags.as_bytes());
    let mut events = synic.take_events(SINT2);
    assert_eq!(events.next(), Some(1));
    drop(events);
    assert_eq!(synic.take_events(SINT2).collect::<Vec<_>>(), [5, 70, 2047]);
    assert_eq!(fake.read_guest(gpa, 256), vec![0; 256]);
}

#[test]
fn test_and_clear_reports_a_flag_once() {
    let fake = partition();
    let synic = enable(&fake);
    fake.write_guest(flags_gpa(&synic, SINT2) + 128, &[0b100]);
    assert_eq!(synic.test_and_clear_event(SINT2, 1026), Ok(true));
    assert_eq!(synic.test_and_clear_event(SINT2, 1026), Ok(false));
    assert_eq!(synic.test_and_clear_event(SINT5, 1026), Ok(false));
    assert_eq!(
        synic.test_and_clear_event(SINT2, 2048),
        Err(HvSynicError::EventFlagOutOfRange(2048))
    );
}

#[test]
fn page_layouts_match_the_slot_arithmetic() {
    // The quadword arithmetic agrees with the hv-defs page types.
    let mut page = HvMessagePage {
        sint_message: [HvMessage::EMPTY; 16],
    };
    page.slot_mut(sint(3)).header.message_flags = HvMessageFlags::new().with_message_pending(true);
    let qwords: [u64; 512] = zerocopy::transmute!(page);
    assert_eq!(qwords[3 * SLOT_QWORDS] >> FLAGS_SHIFT, 1);
}

fn ok() -> u64 {
    HvHypercallOutput::new()
        .with_status(HvStatus::SUCCESS)
        .into_bits()
}

fn fail(status: HvStatus) -> u64 {
    HvHypercallOutput::new().with_status(status).into_bits()
}

fn sender(
    fake: &FakePlatform,
    privileges: HvPartitionPrivilegeMask,
) -> SynicSender<'_, FakePlatform> {
    // SAFETY: the fake never executes the entry.
    let hc = unsafe { Hypercalls::new(fake, FakePlatform::entry(), false, false) };
    SynicSender::new(hc, features(privileges))
}

fn connection(id: u32) -> HvConnectionId {
    HvConnectionId::from_bits(id)
}

#[test]
fn post_message_sends_the_tlfs_input_from_an_aligned_page() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = seen.clone();
    fake.on_hypercall(move |fake, ctx| {
        assert_eq!(ctx.rdx % 8, 0, "input 8-byte aligned");
        assert!(ctx.rdx % 4096 + 256 <= 4096, "input inside one page");
        *record.borrow_mut() = ctx.read(fake, ctx.rdx, 256);
        ok()
    });
    let payload: Vec<u8> = (1..=240).collect();
    sender(&fake, privileges())
        .post_message(
            &mut io,
            connection(0x00AB_CDEF),
            HvMessageType::new(1),
            &payload,
        )
        .unwrap();
    let Event::Hypercall(control, rdx, r8) = fake.log()[0] else {
        panic!("no hypercall")
    };
    assert_eq!(control, 0x005C, "HvCallPostMessage, slow, no rep");
    assert_eq!((rdx, r8), (io.input.gpa(), io.output.gpa()));
    let input = seen.borrow().clone();
    assert_eq!(
        input[..16],
        [0xEF, 0xCD, 0xAB, 0, 0, 0, 0, 0, 1, 0, 0, 0, 240, 0, 0, 0]
    );
    assert_eq!(input[16..], payload[..]);

    // A short payload: the rest of the 240 bytes is zero.
    sender(&fake, privileges())
        .post_message(
            &mut io,
            connection(1),
            HvMessageType::new(0x7FFF_FFFF),
            b"abc",
        )
        .unwrap();
    let input = seen.borrow();
    assert_eq!(input[8..16], [0xFF, 0xFF, 0xFF, 0x7F, 3, 0, 0, 0]);
    assert_eq!(&input[16..19], b"abc");
    assert!(input[19..].iter().all(|&b| b == 0));
}

#[test]
fn post_message_refuses_what_the_hypervisor_would_before_calling() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let s = sender(&fake, privileges());
    let ty = HvMessageType::new(1);
    assert_eq!(
        s.post_message(&mut io, connection(1), ty, &[0; 241]),
        Err(SendError::Invalid(HvSynicError::PayloadTooLarge(241)))
    );
    for bad in [0, 0x8000_0000, 0x8000_0010] {
        let bad = HvMessageType::new(bad);
        assert_eq!(
            s.post_message(&mut io, connection(1), bad, b"x"),
            Err(SendError::Invalid(HvSynicError::InvalidPostedMessageType(
                bad
            )))
        );
    }
    assert_eq!(
        s.post_message(&mut io, connection(0x0100_0001), ty, b"x"),
        Err(SendError::InvalidConnectionId(connection(0x0100_0001)))
    );
    let no_post = sender(&fake, privileges().with_post_messages(false));
    assert_eq!(
        no_post.post_message(&mut io, connection(1), ty, b"x"),
        Err(SendError::NoPrivilege)
    );
    assert!(fake.log().is_empty());
}

#[test]
fn insufficient_buffers_is_a_distinct_retry() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let status = Rc::new(RefCell::new(HvStatus::INSUFFICIENT_BUFFERS));
    let answer = status.clone();
    fake.on_hypercall(move |_, _| fail(*answer.borrow()));
    let s = sender(&fake, privileges());
    let ty = HvMessageType::new(1);
    let err = s
        .post_message(&mut io, connection(1), ty, b"x")
        .unwrap_err();
    assert_eq!(err, SendError::Retry);
    assert_eq!(err.status(), HvError::INSUFFICIENT_BUFFERS);
    *status.borrow_mut() = HvStatus::INVALID_CONNECTION_ID;
    assert_eq!(
        s.post_message(&mut io, connection(1), ty, b"x"),
        Err(SendError::Call(CallError::Hv(
            HvError::INVALID_CONNECTION_ID
        )))
    );
}

#[test]
fn signal_event_is_a_fast_call_with_the_golden_control_word() {
    let fake = FakePlatform::new();
    fake.on_hypercall(|_, _| ok());
    let s = sender(&fake, privileges());
    s.signal_event(connection(0x12), 7).unwrap();
    s.signal_event(connection(0x00FF_FFFF), 2047).unwrap();
    assert_eq!(
        fake.log(),
        [
            Event::Hypercall(0x0001_005D, 0x0000_0007_0000_0012, 0),
            Event::Hypercall(0x0001_005D, 0x0000_07FF_00FF_FFFF, 0),
        ]
    );
    let Event::Hypercall(control, ..) = fake.log()[0] else {
        panic!("no hypercall")
    };
    let control = HvHypercallInput::from_bits(control);
    assert!(control.fast());
    assert_eq!(control.call_code(), HvCallCode::HvCallSignalEvent);
}

#[test]
fn signal_event_checks_privilege_connection_and_flag_first() {
    let fake = FakePlatform::new();
    let s = sender(&fake, privileges());
    assert_eq!(
        s.signal_event(connection(1), 2048),
        Err(SendError::Invalid(HvSynicError::EventFlagOutOfRange(2048)))
    );
    assert_eq!(
        s.signal_event(connection(0xFF00_0000), 0),
        Err(SendError::InvalidConnectionId(connection(0xFF00_0000)))
    );
    let no_signal = sender(&fake, privileges().with_signal_events(false));
    assert_eq!(
        no_signal.signal_event(connection(1), 0),
        Err(SendError::NoPrivilege)
    );
    assert!(fake.log().is_empty());
}

#[test]
fn the_transport_adapter_speaks_status_codes() {
    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    let answers = Rc::new(RefCell::new(vec![
        ok(),
        fail(HvStatus::INSUFFICIENT_BUFFERS),
        ok(),
    ]));
    let next = answers.clone();
    fake.on_hypercall(move |_, _| next.borrow_mut().remove(0));
    let mut transport = SynicTransport::new(sender(&fake, privileges()), &mut io);
    assert_eq!(transport.post_message(4, 1, b"contact"), Ok(()));
    assert_eq!(
        transport.post_message(4, 1, b"contact"),
        Err(HvError::INSUFFICIENT_BUFFERS)
    );
    assert_eq!(transport.signal_event(0x2_0001), Ok(()));
    assert_eq!(
        transport.post_message(4, 0x8000_0000, b""),
        Err(HvError::INVALID_PARAMETER)
    );
    assert_eq!(
        transport.post_message(0x0100_0000, 1, b""),
        Err(HvError::INVALID_CONNECTION_ID)
    );
    let log = fake.log();
    assert_eq!(log.len(), 3);
    assert_eq!(log[2], Event::Hypercall(0x0001_005D, 0x2_0001, 0));
    let mut io = fake.io_pages();
    let mut denied = SynicTransport::new(sender(&fake, HvPartitionPrivilegeMask::new()), &mut io);
    assert_eq!(denied.signal_event(1), Err(HvError::ACCESS_DENIED));
    assert_eq!(denied.post_message(1, 1, b""), Err(HvError::ACCESS_DENIED));
}

#[test]
fn the_vmbus_client_posts_and_falls_back_through_the_transport() {
    use crate::vmbus::{
        ChannelSlot, ConnectConfig, ConnectionState, Error as VmbusError, GpadlSlot, MonitorPages,
        VmbusClient,
    };
    use hv_defs::vmbus::{VMBUS_MESSAGE_CONNECTION_ID_4, VmbusInitiateContact, VmbusVersion};

    let fake = FakePlatform::new();
    let mut io = fake.io_pages();
    // The first post (6.0 on connection 4) is refused as by a host without connection 4;
    // the second (5.3, also on connection 4) is accepted.
    let answers = Rc::new(RefCell::new(vec![
        fail(HvStatus::INVALID_CONNECTION_ID),
        ok(),
    ]));
    let inputs = Rc::new(RefCell::new(Vec::new()));
    let (next, record) = (answers.clone(), inputs.clone());
    fake.on_hypercall(move |fake, ctx| {
        record.borrow_mut().push(ctx.read(fake, ctx.rdx, 256));
        next.borrow_mut().remove(0)
    });
    // SAFETY: the monitor pages are never touched: the fake host does not write memory.
    let monitor = unsafe { MonitorPages::new(0x10_0000, 0x10_1000) }.unwrap();
    let mut channels = [ChannelSlot::EMPTY];
    let mut gpadls = [GpadlSlot::EMPTY];
    let mut client = VmbusClient::new(
        ConnectConfig::new(0, monitor, None),
        &mut channels,
        &mut gpadls,
    );
    let mut transport = SynicTransport::new(sender(&fake, privileges()), &mut io);
    assert_eq!(
        client.initiate_contact(&mut transport),
        Ok(VmbusVersion::WIN10_V5_3)
    );
    assert_eq!(
        client.state(),
        ConnectionState::Contacting(VmbusVersion::WIN10_V5_3)
    );
    let inputs = inputs.borrow();
    assert_eq!(inputs.len(), 2, "one hypercall per version tried");
    for (input, version) in inputs
        .iter()
        .zip([VmbusVersion::V6_0, VmbusVersion::WIN10_V5_3])
    {
        let input = HvPostMessageInput::read_from_bytes(&input[..]).unwrap();
        assert_eq!(
            input.connection_id.into_bits(),
            VMBUS_MESSAGE_CONNECTION_ID_4
        );
        assert_eq!(input.message_type, HvMessageType::new(1));
        assert_eq!(
            input.payload_size as usize,
            size_of::<VmbusInitiateContact>()
        );
        let contact = VmbusInitiateContact::read_from_prefix(&input.payload[..])
            .unwrap()
            .0;
        assert_eq!(contact.version_requested, version);
        assert_eq!(contact.monitor_page2, 0x10_1000);
    }
    // A denied post reaches the client as the hypervisor's status.
    let mut io = fake.io_pages();
    let mut denied = SynicTransport::new(sender(&fake, HvPartitionPrivilegeMask::new()), &mut io);
    // SAFETY: as above.
    let monitor = unsafe { MonitorPages::new(0x10_0000, 0x10_1000) }.unwrap();
    let (mut channels, mut gpadls) = ([ChannelSlot::EMPTY], [GpadlSlot::EMPTY]);
    let mut client = VmbusClient::new(
        ConnectConfig::new(0, monitor, None),
        &mut channels,
        &mut gpadls,
    );
    assert_eq!(
        client.initiate_contact(&mut denied),
        Err(VmbusError::Transport(HvError::ACCESS_DENIED))
    );
}

#[test]
fn message_and_flags_survive_a_teardown_cycle() {
    // Enable, use, disable and enable again with the returned pages.
    let fake = partition();
    let synic = enable(&fake);
    deliver(&fake, &synic, SINT2, &message(3, b"one", false));
    assert_eq!(synic.receive(SINT2).unwrap().unwrap().payload(), b"one");
    let (platform, sim, sief) = synic.disable().map_err(|(_, e)| e).unwrap();
    let synic = Synic::enable(platform, features(privileges()), sim, sief)
        .map_err(|e| e.reason)
        .unwrap();
    deliver(&fake, &synic, SINT2, &message(3, b"two", false));
    assert_eq!(synic.receive(SINT2).unwrap().unwrap().payload(), b"two");
    let flags: BTreeSet<u32> = synic.take_events(SINT2).collect();
    assert!(flags.is_empty());
}
