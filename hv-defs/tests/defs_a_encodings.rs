//! Golden encodings of the guest OS identity, the MSR contents, the timer registers and the
//! reference TSC formula: each field lands on the bits the TLFS (or the cited source) gives.

use hv_defs::guest_id::*;
use hv_defs::msr::*;
use hv_defs::nested::{HvReenlightenmentControl, HvTscEmulationControl, HvTscEmulationStatus};
use hv_defs::partition::*;
use hv_defs::timer::*;

#[test]
fn linux_guest_id_matches_linux_encoding() {
    // Linux: guest_id = HV_LINUX_VENDOR_ID (0x8100) << 48 | LINUX_VERSION_CODE << 16;
    // kernel 6.1.0 has LINUX_VERSION_CODE 0x060100.
    let id = HvGuestOsIdOpenSource::build(HvGuestOsType::LINUX, 0, 0x06_0100, 0).unwrap();
    assert_eq!(id.into_bits(), 0x8100_0006_0100_0000);
    match HvGuestOsId::from_bits(0x8100_0006_0100_0000) {
        HvGuestOsId::OpenSource(decoded) => {
            assert!(decoded.open_source());
            assert_eq!(decoded.os_type(), HvGuestOsType::LINUX);
            assert_eq!(decoded.os_id(), 0);
            assert_eq!(decoded.version(), 0x06_0100);
            assert_eq!(decoded.build_number(), 0);
        }
        other => panic!("decoded as {other:?}"),
    }
    // TLFS 2.6.2: OS type 62:56, OS id 55:48, version 47:16, build 15:0.
    let freebsd =
        HvGuestOsIdOpenSource::build(HvGuestOsType::FREEBSD, 0xAB, 0x1234_5678, 0x9ABC).unwrap();
    assert_eq!(freebsd.into_bits(), 0x82AB_1234_5678_9ABC);
}

#[test]
fn windows_guest_id_matches_tlfs_layout() {
    // Windows 10 (NT, 10.0) build 19041: vendor 1, OS id 4.
    let id = HvGuestOsIdProprietary::build(
        HvGuestOsVendor::MICROSOFT,
        HvGuestOsMicrosoftId::WINDOWS_NT.get(),
        10,
        0,
        0,
        19041,
    )
    .unwrap();
    assert_eq!(id.into_bits(), 0x0001_040A_0000_4A61);
    assert!(!id.open_source());
    // TLFS 2.6.1: vendor 62:48, OS id 47:40, major 39:32, minor 31:24, service 23:16,
    // build 15:0.
    let hpe = HvGuestOsIdProprietary::build(HvGuestOsVendor::HPE, 0x12, 0x34, 0x56, 0x78, 0x9ABC)
        .unwrap();
    assert_eq!(hpe.into_bits(), 0x0002_1234_5678_9ABC);
    assert_eq!(hpe.vendor_id(), HvGuestOsVendor::HPE);
    assert!(matches!(
        HvGuestOsId::from_bits(hpe.into_bits()),
        HvGuestOsId::Proprietary(p) if p == hpe
    ));
    assert!(HvGuestOsId::from(hpe).is_set());
    assert!(!HvGuestOsId::from_bits(0).is_set());
}

#[test]
fn guest_id_builders_reject_out_of_range_values() {
    assert_eq!(
        HvGuestOsIdProprietary::build(HvGuestOsVendor::new(0), 0, 0, 0, 0, 0),
        Err(HvGuestOsIdError::ReservedVendor)
    );
    assert_eq!(
        HvGuestOsIdProprietary::build(HvGuestOsVendor::new(0x8000), 0, 0, 0, 0, 0),
        Err(HvGuestOsIdError::VendorOutOfRange(0x8000))
    );
    assert!(HvGuestOsIdProprietary::build(HvGuestOsVendor::new(0x7FFF), 0, 0, 0, 0, 0).is_ok());
    assert_eq!(
        HvGuestOsIdOpenSource::build(HvGuestOsType::new(0x80), 0, 0, 0),
        Err(HvGuestOsIdError::OsTypeOutOfRange(0x80))
    );
    assert!(HvGuestOsIdOpenSource::build(HvGuestOsType::new(0x7F), 0, 0, 0).is_ok());
    assert_eq!(
        HvGuestOsIdError::OsTypeOutOfRange(0x80).to_string(),
        "guest OS type 0x80 does not fit in 7 bits"
    );
}

#[test]
fn known_values_are_the_tlfs_ones() {
    assert_eq!(HvGuestOsVendor::MICROSOFT.get(), 0x0001);
    assert_eq!(HvGuestOsVendor::HPE.get(), 0x0002);
    assert_eq!(HvGuestOsVendor::LANCOM.get(), 0x0200);
    assert_eq!(HvGuestOsType::LINUX.get(), 1);
    assert_eq!(HvGuestOsType::FREEBSD.get(), 2);
    assert_eq!(HvGuestOsType::XEN.get(), 3);
    assert_eq!(HvGuestOsType::ILLUMOS.get(), 4);
    assert_eq!(HvGuestOsMicrosoftId::WINDOWS_CE.get(), 5);
    assert_eq!(format!("{:?}", HvGuestOsType::new(9)), "HvGuestOsType(0x9)");
}

#[test]
fn crash_control_bits() {
    assert_eq!(HvGuestCrashControl::NOTIFY.into_bits(), 1 << 63);
    assert_eq!(
        HvGuestCrashControl::NOTIFY_WITH_MESSAGE.into_bits(),
        3 << 62
    );
    let ctl = HvGuestCrashControl::new()
        .with_pre_os_id(5)
        .with_no_crash_dump(true);
    assert_eq!(ctl.into_bits(), (5 << 58) | (1 << 61));
    assert!(HvGuestCrashControl::from_bits(1).has_reserved_bits());
    assert_eq!(HV_GUEST_CRASH_PARAMETER_COUNT, 5);
    assert_eq!(
        HV_X64_MSR_CRASH_P0 + HV_GUEST_CRASH_MESSAGE_GPA_PARAMETER as u32,
        HV_X64_MSR_CRASH_P3
    );
    assert_eq!(
        HV_X64_MSR_CRASH_P0 + HV_GUEST_CRASH_MESSAGE_LENGTH_PARAMETER as u32,
        HV_X64_MSR_CRASH_P4
    );
    assert_eq!(HV_GUEST_CRASH_MESSAGE_MAX_BYTES, 4096);
}

#[test]
fn privilege_mask_helpers() {
    let mask = HvPartitionPrivilegeMask::from_cpuid(0x20, 0x10);
    assert!(mask.access_hypercall_msrs());
    assert!(mask.post_messages());
    assert!(mask.contains(HvPartitionPrivilegeMask::new().with_post_messages(true)));
    assert!(!mask.contains(HvPartitionPrivilegeMask::new().with_signal_events(true)));
    assert!(mask.contains(HvPartitionPrivilegeMask::NONE));
    assert!(HvPartitionPrivilegeMask::NONE.is_empty());
    assert!(HvPartitionPrivilegeMask::from_bits(1 << 16).has_reserved_bits());
    // TLFS 4.2.2 positions of a few hypercall privileges.
    assert_eq!(
        HvPartitionPrivilegeMask::new()
            .with_access_vsm(true)
            .into_bits(),
        1 << 48
    );
    assert_eq!(
        HvPartitionPrivilegeMask::new()
            .with_start_virtual_processor(true)
            .into_bits(),
        1 << 53
    );
    assert_eq!(
        HvPartitionPrivilegeMask::new()
            .with_cpu_management(true)
            .into_bits(),
        1 << 44
    );
}

#[test]
fn hypercall_msr_bits() {
    let msr = HvHypercallMsr::new()
        .with_enable(true)
        .with_gpa_page_number(0x12345);
    assert_eq!(msr.into_bits(), 0x1234_5001);
    let locked = HvHypercallMsr::from_bits(0xABC_D003);
    assert!(locked.enable());
    assert!(locked.locked());
    assert_eq!(locked.gpa_page_number(), 0xABCD);
    // RsvdP bits read back are kept for the write-back.
    assert_eq!(
        HvHypercallMsr::from_bits(0xFFC)
            .with_enable(true)
            .into_bits(),
        0xFFD
    );
}

#[test]
fn other_msr_contents_bits() {
    assert_eq!(HvResetMsr::RESET.into_bits(), 1);
    assert_eq!(
        HvNpiepConfig::new()
            .with_prevent_sidt(true)
            .with_prevent_str(true)
            .into_bits(),
        0b1010
    );
    let reenlightenment = HvReenlightenmentControl::new()
        .with_vector(0x40)
        .with_enabled(true)
        .with_target_vp(3);
    assert_eq!(reenlightenment.into_bits(), 0x0000_0003_0001_0040);
    assert_eq!(
        HvTscEmulationControl::new().with_enabled(true).into_bits(),
        1
    );
    assert!(HvTscEmulationStatus::from_bits(1).in_progress());
    assert_eq!(
        HvTscInvariantControl::new()
            .with_expose_invariant_tsc(true)
            .into_bits(),
        1
    );
}

#[test]
fn stimer_config_bits() {
    let message = HvStimerConfig::new()
        .with_enable(true)
        .with_auto_enable(true)
        .with_sintx(2);
    assert_eq!(message.into_bits(), 0x2_0009);
    let direct = HvStimerConfig::new()
        .with_enable(true)
        .with_periodic(true)
        .with_lazy(true)
        .with_direct_mode(true)
        .with_apic_vector(0xEF);
    assert_eq!(direct.into_bits(), 0x1EF7);
    assert!(!direct.has_reserved_bits());
    assert!(HvStimerConfig::from_bits(1 << 13).has_reserved_bits());
    assert!(HvStimerConfig::from_bits(1 << 20).has_reserved_bits());
}

#[test]
fn stimer_msr_numbers() {
    assert_eq!(HV_STIMER_COUNT, 4);
    assert_eq!(stimer_config_msr(0), Some(HV_X64_MSR_STIMER0_CONFIG));
    assert_eq!(stimer_count_msr(0), Some(HV_X64_MSR_STIMER0_COUNT));
    assert_eq!(stimer_config_msr(3), Some(HV_X64_MSR_STIMER3_CONFIG));
    assert_eq!(stimer_count_msr(3), Some(HV_X64_MSR_STIMER3_COUNT));
    assert_eq!(stimer_config_msr(4), None);
    assert_eq!(stimer_count_msr(usize::MAX), None);
}

#[test]
fn unhalted_timer_and_reference_tsc_msr_bits() {
    let unhalted = HvStimeUnhaltedTimerConfig::new()
        .with_enabled(true)
        .with_vector(0x50);
    assert_eq!(unhalted.into_bits(), 0x5080_0000_0000_0000);
    assert!(HvStimeUnhaltedTimerConfig::from_bits(1).has_reserved_bits());

    let tsc = HvReferenceTscMsr::new()
        .with_enable(true)
        .with_gpa_page_number(0xABCDE);
    assert_eq!(tsc.into_bits(), 0xABCD_E001);
}

#[test]
fn reference_time_formula() {
    assert_eq!(HV_REFERENCE_TIME_UNIT_NS, 100);
    assert_eq!(HV_REFERENCE_TIME_HZ, 10_000_000);
    // A 2.5 GHz TSC: scale = 2^64 / 250, so one second of TSC is 10^7 - 1 ticks after
    // truncation.
    let scale = 0x0106_24DD_2F1A_9FBE;
    assert_eq!(hv_reference_time(2_500_000_000, scale, 0), 9_999_999);
    assert_eq!(hv_reference_time(2_500_000_000, scale, 1), 10_000_000);
    assert_eq!(hv_reference_time(2_500_000_000, scale, -9_999_999), 0);
    assert_eq!(hv_reference_time(0, u64::MAX, -1), u64::MAX);
    // scale = 2^64 - 1 is just below 1.0: (t * scale) >> 64 = t - 1 for t > 0.
    assert_eq!(hv_reference_time(1000, u64::MAX, 0), 999);
}

#[test]
fn reference_tsc_page_snapshot() {
    use zerocopy::FromZeros;
    let mut page = HvReferenceTscPage::new_zeroed();
    page.tsc_scale = 0x0106_24DD_2F1A_9FBE;
    page.tsc_offset = 1;
    assert_eq!(page.reference_time(2_500_000_000), None);
    page.tsc_sequence = 7;
    assert_eq!(page.reference_time(2_500_000_000), Some(10_000_000));
    assert_eq!(HV_REFERENCE_TSC_SEQUENCE_INVALID, 0);
}

#[test]
fn synthetic_registers_map_to_their_appendix_c_msrs() {
    use hv_defs::msr::*;
    use hv_defs::register::HvRegisterName as R;
    let pairs = [
        (R::HvRegisterGuestOsId, 0x4000_0000),
        (R::HvX64RegisterHypercall, 0x4000_0001),
        (R::HvRegisterVpIndex, 0x4000_0002),
        (R::HvX64RegisterVpRuntime, 0x4000_0010),
        (R::HvRegisterTimeRefCount, 0x4000_0020),
        (R::HvRegisterReferenceTsc, 0x4000_0021),
        (R::HvRegisterVpAssistPage, 0x4000_0073),
        (R::HvRegisterScontrol, 0x4000_0080),
        (R::HvRegisterSversion, 0x4000_0081),
        (R::HvRegisterSifp, 0x4000_0082),
        (R::HvRegisterSipp, 0x4000_0083),
        (R::HvRegisterEom, 0x4000_0084),
        (R::HvRegisterSint0, 0x4000_0090),
        (R::HvRegisterSint15, 0x4000_009F),
        (R::HvRegisterStimer0Config, 0x4000_00B0),
        (R::HvRegisterStimer0Count, 0x4000_00B1),
        (R::HvRegisterStimer3Count, 0x4000_00B7),
        (R::HvRegisterGuestIdle, 0x4000_00F0),
        (R::HvRegisterGuestCrashP0, 0x4000_0100),
        (R::HvRegisterGuestCrashP4, 0x4000_0104),
        (R::HvRegisterGuestCrashCtl, 0x4000_0105),
    ];
    for (name, msr) in pairs {
        assert_eq!(x64_msr_for_register(name), Some(msr), "{name:?}");
        assert!(msr_info(msr).is_some(), "{msr:#x} is an appendix C MSR");
    }
    assert_eq!(x64_msr_for_register(R::HvX64RegisterRax), None);
    assert_eq!(x64_msr_for_register(R::HvRegisterHypervisorVersion), None);
    assert_eq!(x64_msr_for_register(R::new(0x000B_0008)), None);
}
