extern crate std;

use hv_defs::cpuid::{HvArch, HvFeatures};
use hv_defs::msr::{
    HV_X64_MSR_EOM, HV_X64_MSR_SCONTROL, HV_X64_MSR_SIEFP, HV_X64_MSR_SIMP, HV_X64_MSR_SINT0,
    HV_X64_MSR_STIMER0_CONFIG, x64_msr_for_register,
};
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::synic::{HvMessage, HvMessageFlags};
use hv_defs::timer::{stimer_config_msr, stimer_count_msr};
use zerocopy::IntoBytes;

use super::*;
use crate::synic::SintConfig;
use crate::testing::{Event, FakePlatform, MsrAccess};

const CONFIG3: u32 = HV_X64_MSR_STIMER0_CONFIG + 6;
const COUNT3: u32 = HV_X64_MSR_STIMER0_CONFIG + 7;

fn sint(n: u32) -> HvSint {
    HvSint::new(n).unwrap()
}

fn privileges() -> HvPartitionPrivilegeMask {
    HvPartitionPrivilegeMask::new()
        .with_access_synic_regs(true)
        .with_access_synthetic_timer_regs(true)
}

fn x64(direct: bool) -> HvFeaturesInfo {
    HvFeaturesInfo::X64(
        HvFeatures::new()
            .with_privileges(privileges())
            .with_direct_synthetic_timers(direct),
    )
}

/// A fake partition with the SynIC and timer MSRs, SINTs masked.
fn partition() -> FakePlatform {
    let fake = FakePlatform::new();
    for msr in [HV_X64_MSR_SCONTROL, HV_X64_MSR_SIEFP, HV_X64_MSR_SIMP] {
        fake.define_msr(msr, 0, MsrAccess::ReadWrite);
    }
    fake.define_msr(HV_X64_MSR_EOM, 0, MsrAccess::WriteOnly);
    for i in 0..16 {
        fake.define_msr(HV_X64_MSR_SINT0 + i, 1 << 16, MsrAccess::ReadWrite);
    }
    for i in 0..8 {
        fake.define_msr(HV_X64_MSR_STIMER0_CONFIG + i, 0, MsrAccess::ReadWrite);
    }
    fake
}

/// An enabled SynIC with SINT3 unmasked at vector 0x50.
fn synic(fake: &FakePlatform) -> Synic<&FakePlatform> {
    let mut synic = Synic::enable(fake, x64(false), fake.page(), fake.page())
        .map_err(|e| e.reason)
        .unwrap();
    synic
        .configure_sint(sint(3), SintConfig::new(0x50).unwrap())
        .unwrap();
    synic
}

fn timers(fake: &FakePlatform, direct: bool) -> SyntheticTimers<&FakePlatform> {
    SyntheticTimers::new(fake, x64(direct)).unwrap()
}

fn message_mode(synic: &Synic<&FakePlatform>) -> TimerMode {
    TimerMode::Message(TimerSint::new(synic, sint(3)).unwrap())
}

#[test]
fn timer_registers_are_the_tlfs_msrs() {
    for timer in TimerIndex::all() {
        let i = timer.get() as usize;
        assert_eq!(
            x64_msr_for_register(timer.config_register()),
            stimer_config_msr(i)
        );
        assert_eq!(
            x64_msr_for_register(timer.count_register()),
            stimer_count_msr(i)
        );
    }
    assert_eq!(
        x64_msr_for_register(TimerIndex::TIMER3.count_register()),
        Some(0x4000_00B7)
    );
    assert_eq!(TimerIndex::new(3), Ok(TimerIndex::TIMER3));
    assert_eq!(TimerIndex::new(4), Err(TimerError::InvalidTimer(4)));
    assert_eq!(TimerIndex::all().count(), 4);
}

#[test]
fn without_access_synthetic_timer_regs_nothing_is_touched() {
    let fake = partition();
    let no_timers = privileges().with_access_synthetic_timer_regs(false);
    let x64 = HvFeaturesInfo::X64(HvFeatures::new().with_privileges(no_timers));
    assert_eq!(
        SyntheticTimers::new(&fake, x64).map(|_| ()),
        Err(TimerError::NoPrivilege)
    );
    let arm64 = HvFeaturesInfo::new(HvArch::Arm64, u128::from(no_timers.into_bits()));
    assert_eq!(
        SyntheticTimers::new(&fake, arm64).map(|_| ()),
        Err(TimerError::NoPrivilege)
    );
    assert!(fake.log().is_empty());
}

#[test]
fn config_encodings_are_golden() {
    let fake = partition();
    let synic = synic(&fake);
    let message = message_mode(&synic);
    let direct = TimerMode::Direct { vector: 0x40 };
    let cases = [
        // AutoEnable (bit 3), SINTx 3 (bits 19:16).
        (TimerConfig::one_shot(message), 0x0003_0008),
        // + Periodic (bit 1).
        (TimerConfig::periodic(message), 0x0003_000A),
        // + Lazy (bit 2).
        (TimerConfig::periodic(message).with_lazy(true), 0x0003_000E),
        (TimerConfig::one_shot(message).with_lazy(true), 0x0003_000C),
        // DirectMode (bit 12), ApicVector 0x40 (bits 11:4), SINTx 0.
        (TimerConfig::one_shot(direct), 0x0000_1408),
        (TimerConfig::periodic(direct), 0x0000_140A),
        (
            TimerConfig::periodic(TimerMode::Direct { vector: 0xFF }).with_lazy(true),
            0x0000_1FFE,
        ),
    ];
    for (config, golden) in cases {
        let value = config.to_register();
        assert_eq!(value.into_bits(), golden, "{config:?}");
        assert!(!value.has_reserved_bits());
        assert!(!value.enable(), "Enable is left to AutoEnable");
    }
}

#[test]
fn start_stops_then_configures_then_writes_the_count() {
    let fake = partition();
    let synic = synic(&fake);
    let timers = timers(&fake, false);
    let config = TimerConfig::one_shot(message_mode(&synic));
    fake.clear_log();
    timers
        .start(TimerIndex::TIMER3, config, 0x1234_5678)
        .unwrap();
    assert_eq!(
        fake.log(),
        [
            Event::WriteMsr(COUNT3, 0),
            Event::WriteMsr(CONFIG3, 0x0003_0008),
            Event::WriteMsr(COUNT3, 0x1234_5678),
        ]
    );
    let state = timers.state(TimerIndex::TIMER3).unwrap();
    assert_eq!(state.count, 0x1234_5678);
    assert!(!state.config.periodic());
}

#[test]
fn periodic_and_one_shot_differ_only_in_the_periodic_bit_and_rearm() {
    let fake = partition();
    let synic = synic(&fake);
    let timers = timers(&fake, false);
    let mode = message_mode(&synic);
    timers
        .start(TimerIndex::TIMER0, TimerConfig::periodic(mode), 100_000)
        .unwrap();
    timers
        .start(TimerIndex::TIMER1, TimerConfig::one_shot(mode), 500_000)
        .unwrap();
    let periodic = timers.state(TimerIndex::TIMER0).unwrap().config;
    let one_shot = timers.state(TimerIndex::TIMER1).unwrap().config;
    assert_eq!(periodic.into_bits() ^ one_shot.into_bits(), 0b10);
    fake.clear_log();
    // A periodic timer is not re-armed by a count write.
    assert_eq!(
        timers.rearm(TimerIndex::TIMER0, 600_000),
        Err(TimerError::NotOneShot { config: periodic })
    );
    assert_eq!(
        fake.log(),
        [Event::ReadMsr(HV_X64_MSR_STIMER0_CONFIG, 0x0003_000A)]
    );
}

#[test]
fn a_one_shot_is_rearmed_from_its_expiry_with_one_count_write() {
    let fake = partition();
    let synic = synic(&fake);
    let timers = timers(&fake, false);
    timers
        .start(
            TimerIndex::TIMER3,
            TimerConfig::one_shot(message_mode(&synic)),
            1_000,
        )
        .unwrap();
    // The host expires the timer: it disables itself (TLFS 12.5.1) and sends the message.
    fake.poke_msr(CONFIG3, 0x0003_0008);
    let payload = HvTimerMessagePayload {
        timer_index: 3,
        rsvd: 0,
        expiration_time: 1_000,
        delivery_time: 1_250,
    };
    let message = HvMessage::new(
        HvMessageType::HvMessageTypeTimerExpired,
        0,
        payload.as_bytes(),
    )
    .unwrap();
    fake.write_guest(synic.message_page_gpa() + 3 * 256, message.as_bytes());
    fake.clear_log();

    let received = synic.receive(sint(3)).unwrap().unwrap();
    let expired = TimerExpired::decode(&received).unwrap();
    assert_eq!(
        expired,
        TimerExpired {
            timer: TimerIndex::TIMER3,
            expiration_time: 1_000,
            delivery_time: 1_250,
        }
    );
    assert_eq!(expired.lateness(), 250);
    timers
        .rearm(expired.timer, expired.expiration_time + 1_000)
        .unwrap();
    assert_eq!(
        fake.log(),
        [
            Event::ReadMsr(CONFIG3, 0x0003_0008),
            Event::WriteMsr(COUNT3, 2_000),
        ]
    );
}

#[test]
fn rearm_refuses_an_unconfigured_timer_and_a_zero_time() {
    let fake = partition();
    let timers = timers(&fake, false);
    assert_eq!(
        timers.rearm(TimerIndex::TIMER2, 0),
        Err(TimerError::ZeroCount)
    );
    assert!(fake.log().is_empty());
    assert_eq!(
        timers.rearm(TimerIndex::TIMER2, 10),
        Err(TimerError::NotOneShot {
            config: HvStimerConfig::new()
        })
    );
    // AutoEnable but no SINT and not direct: the count write would enable nothing useful.
    fake.poke_msr(HV_X64_MSR_STIMER0_CONFIG + 4, 0b1000);
    assert!(matches!(
        timers.rearm(TimerIndex::TIMER2, 10),
        Err(TimerError::NotOneShot { .. })
    ));
    assert!(!fake.log().iter().any(|e| matches!(e, Event::WriteMsr(..))));
}

#[test]
fn direct_mode_needs_the_feature_for_this_architecture() {
    let fake = partition();
    let direct = TimerConfig::periodic(TimerMode::Direct { vector: 0xEC });
    assert_eq!(
        timers(&fake, false).start(TimerIndex::TIMER0, direct, 10_000),
        Err(TimerError::DirectModeUnavailable)
    );
    assert!(fake.log().is_empty());

    // x64: EDX bit 19.
    let x64 = timers(&fake, true);
    assert!(x64.direct_mode_available());
    x64.start(TimerIndex::TIMER0, direct, 10_000).unwrap();
    assert_eq!(fake.msr(HV_X64_MSR_STIMER0_CONFIG), Some(0x0000_1ECA));

    // arm64: word 2 bit 13; the x64 bit means nothing there, and the reverse.
    let privileges = u128::from(privileges().into_bits());
    let arm64_bit = 1u128 << (64 + 13);
    let x64_bit = 1u128 << (96 + 19);
    let arm64 = |raw| SyntheticTimers::new(&fake, HvFeaturesInfo::new(HvArch::Arm64, raw));
    assert!(
        arm64(privileges | arm64_bit)
            .unwrap()
            .direct_mode_available()
    );
    assert!(!arm64(privileges | x64_bit).unwrap().direct_mode_available());
    let on_x64 = SyntheticTimers::new(
        &fake,
        HvFeaturesInfo::new(HvArch::X64, privileges | arm64_bit),
    );
    assert!(!on_x64.unwrap().direct_mode_available());
}

#[test]
fn bad_counts_and_vectors_are_refused_before_any_write() {
    let fake = partition();
    let timers = timers(&fake, true);
    assert_eq!(
        timers.start(
            TimerIndex::TIMER1,
            TimerConfig::one_shot(TimerMode::Direct { vector: 0x40 }),
            0
        ),
        Err(TimerError::ZeroCount)
    );
    assert_eq!(
        timers.start(
            TimerIndex::TIMER1,
            TimerConfig::one_shot(TimerMode::Direct { vector: 15 }),
            1
        ),
        Err(TimerError::InvalidVector(15))
    );
    assert!(fake.log().is_empty());
}

#[test]
fn message_mode_needs_an_unmasked_sint_other_than_sint0() {
    let fake = partition();
    let mut synic = synic(&fake);
    assert_eq!(TimerSint::new(&synic, sint(0)), Err(TimerError::Sint0));
    assert_eq!(
        TimerSint::new(&synic, sint(4)),
        Err(TimerError::SintNotReady {
            sint: sint(4),
            value: HvSynicSint::from_bits(1 << 16),
        })
    );
    // Unmasked but never given a vector (a host that did not raise #GP).
    fake.poke_msr(HV_X64_MSR_SINT0 + 6, 0);
    assert_eq!(
        TimerSint::new(&synic, sint(6)),
        Err(TimerError::SintNotReady {
            sint: sint(6),
            value: HvSynicSint::new(),
        })
    );
    assert_eq!(TimerSint::new(&synic, sint(3)).unwrap().sint(), sint(3));
    synic.mask_sint(sint(3)).unwrap();
    assert!(matches!(
        TimerSint::new(&synic, sint(3)),
        Err(TimerError::SintNotReady { .. })
    ));
}

#[test]
fn stop_writes_count_zero_and_clear_also_resets_the_config() {
    let fake = partition();
    let synic = synic(&fake);
    let timers = timers(&fake, false);
    timers
        .start(
            TimerIndex::TIMER3,
            TimerConfig::periodic(message_mode(&synic)),
            5,
        )
        .unwrap();
    fake.clear_log();
    timers.stop(TimerIndex::TIMER3).unwrap();
    timers.clear(TimerIndex::TIMER3).unwrap();
    assert_eq!(
        fake.log(),
        [
            Event::WriteMsr(COUNT3, 0),
            Event::WriteMsr(COUNT3, 0),
            Event::WriteMsr(CONFIG3, 0),
        ]
    );
}

#[test]
fn timer_messages_are_decoded_defensively() {
    let fake = partition();
    let synic = synic(&fake);
    let deliver = |message: HvMessage| {
        fake.write_guest(synic.message_page_gpa() + 3 * 256, message.as_bytes());
        synic.receive(sint(3)).unwrap().unwrap()
    };
    let payload = |index: u32| HvTimerMessagePayload {
        timer_index: index,
        rsvd: 0,
        expiration_time: 7,
        delivery_time: 5,
    };
    let timer_type = HvMessageType::HvMessageTypeTimerExpired;

    let other = deliver(HvMessage::new(HvMessageType::new(1), 0, payload(0).as_bytes()).unwrap());
    assert_eq!(
        TimerExpired::decode(&other),
        Err(TimerMessageError::NotTimerMessage(HvMessageType::new(1)))
    );
    let short = deliver(HvMessage::new(timer_type, 0, &payload(0).as_bytes()[..16]).unwrap());
    assert_eq!(
        TimerExpired::decode(&short),
        Err(TimerMessageError::Payload(HvSynicError::PayloadTooSmall {
            needed: 24,
            size: 16
        }))
    );
    let bad_index = deliver(HvMessage::new(timer_type, 0, payload(4).as_bytes()).unwrap());
    assert_eq!(
        TimerExpired::decode(&bad_index),
        Err(TimerMessageError::InvalidTimerIndex(4))
    );
    let mut early = HvMessage::new(timer_type, 0, payload(1).as_bytes()).unwrap();
    early.header.message_flags = HvMessageFlags::new();
    let early = TimerExpired::decode(&deliver(early)).unwrap();
    assert_eq!(early.timer, TimerIndex::TIMER1);
    assert_eq!(
        early.lateness(),
        0,
        "a delivery before expiry does not underflow"
    );
}
