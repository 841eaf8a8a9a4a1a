//! Golden CPUID decoding: leaf values that real hypervisors report, decoded field by field.
//!
//! Sources of the raw values:
//!
//! * **Hyper-V (WSL2 on a Windows 10 build 19041 host).** A Linux guest boot log published in
//!   microsoft/WSL issue #12591 prints
//!   `Hyper-V: privilege flags low 0xae7f, high 0x3b8030, hints 0x20e24, misc 0x20bed7b2` and
//!   `Hyper-V Host Build:19041-10.0-5-0.5486`. Linux prints leaf 0x4000_0003 EAX ("low"),
//!   EBX ("high") and EDX ("misc"), leaf 0x4000_0004 EAX ("hints"), and the version leaf as
//!   `EAX-(EBX>>16).(EBX&0xFFFF)-ECX-(EDX>>24).(EDX&0xFFFFFF)`. Registers the log does not
//!   print are 0 here and no field of them is asserted. Leaf 0x4000_0000 of a WSL2 guest,
//!   `4000000B-7263694D-666F736F-76482074`, and leaf 0x4000_0001, `31237648-0-0-0`, are
//!   from the cpuid dump in pytorch/cpuinfo pull request #349.
//! * **QEMU/KVM with `-cpu ...,hv-relaxed,hv-vapic,hv-time,hv-crash,hv-vpindex,hv-synic,
//!   hv-stimer`.** QEMU's `target/i386/kvm/kvm.c` table `kvm_hyperv_properties` maps each
//!   flag to bits: relaxed → 0x4000_0004 EAX bit 5; vapic → 0x4000_0003 EAX bit 4 and
//!   0x4000_0004 EAX bit 3; time → EAX bits 1 and 9; crash → EDX bit 10; vpindex → EAX bit 6;
//!   synic → EAX bit 2; stimer → EAX bit 3; and since QEMU 6.1 the hypercall bit (EAX bit 5)
//!   is always set. The default `hv-spinlocks` is 0xFFFF_FFFF ("never notify"). The values
//!   below are what that mapping produces, not a captured dump.

use hv_defs::cpuid::*;
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::{HvRegisterName, HvRegisterValue};

#[test]
fn hyper_v_wsl2_vendor_and_interface() {
    let vendor =
        HvCpuidVendorAndMax::from_cpuid([0x4000_000B, 0x7263_694D, 0x666F_736F, 0x7648_2074]);
    assert_eq!(vendor.max_function(), 0x4000_000B);
    assert_eq!(&vendor.vendor(), b"Microsoft Hv");
    assert!(vendor.is_microsoft());
    assert!(vendor.has_leaf(HV_CPUID_NESTED_FEATURES));
    assert!(!vendor.has_leaf(HV_CPUID_ISOLATION_CONFIGURATION));
    assert!(!vendor.has_leaf(0x3FFF_FFFF));
    assert_eq!(
        HvCpuidVendorAndMax::new()
            .with_max_function(0x4000_000B)
            .with_vendor(HV_CPUID_VENDOR_MICROSOFT),
        vendor
    );

    let interface = HvCpuidInterface::from_cpuid([0x3123_7648, 0, 0, 0]);
    assert!(interface.is_hv1());
    assert_eq!(&interface.signature().to_le_bytes(), b"Hv#1");

    let kvm = HvCpuidVendorAndMax::from_cpuid([0x4000_0001, 0x4B4D_564B, 0x564B_4D56, 0x4D]);
    assert!(!kvm.is_microsoft());
    assert_eq!(&kvm.vendor(), b"KVMKVMKVM\0\0\0");
}

#[test]
fn hyper_v_wsl2_version() {
    let version = HvHypervisorVersion::from_cpuid([19041, 0x000A_0000, 5, 5486]);
    assert_eq!(version.build_number(), 19041);
    assert_eq!(version.major_version(), 10);
    assert_eq!(version.minor_version(), 0);
    assert_eq!(version.service_pack(), 5);
    assert_eq!(version.service_branch(), 0);
    assert_eq!(version.service_number(), 5486);
}

#[test]
fn hyper_v_wsl2_features() {
    let features = HvFeatures::from_cpuid([0xAE7F, 0x003B_8030, 0, 0x20BE_D7B2]);
    let p = features.privileges();
    assert!(!p.has_reserved_bits());
    // low 0xae7f: bits 0-6, 9, 10, 11, 13, 15.
    assert!(p.access_vp_runtime_reg());
    assert!(p.access_partition_reference_counter());
    assert!(p.access_synic_regs());
    assert!(p.access_synthetic_timer_regs());
    assert!(p.access_intr_ctrl_regs());
    assert!(p.access_hypercall_msrs());
    assert!(p.access_vp_index());
    assert!(!p.access_reset_reg());
    assert!(!p.access_stats_reg());
    assert!(p.access_partition_reference_tsc());
    assert!(p.access_guest_idle_reg());
    assert!(p.access_frequency_regs());
    assert!(!p.access_debug_regs());
    assert!(p.access_reenlightenment_controls());
    assert!(!p.access_root_scheduler_reg());
    assert!(p.access_tsc_invariant_controls());
    // high 0x3b8030: bits 4, 5, 15, 16, 17, 19, 20, 21.
    assert!(!p.create_partitions());
    assert!(!p.access_partition_id());
    assert!(p.post_messages());
    assert!(p.signal_events());
    assert!(!p.cpu_management());
    assert!(p.enable_extended_gva_ranges_flush_va_list());
    assert!(p.access_vsm());
    assert!(p.access_vp_registers());
    assert!(p.fast_hypercall_output());
    assert!(p.enable_extended_hypercalls());
    assert!(p.start_virtual_processor());
    assert!(!p.isolation());
    // misc 0x20bed7b2: EDX bits 1, 4, 5, 7, 8, 9, 10, 12, 14, 15, 17, 18, 19, 20, 21, 23, 29.
    assert!(!features.mwait_available_deprecated());
    assert!(features.guest_debugging_available());
    assert!(!features.performance_monitors_available());
    assert!(features.xmm_registers_for_fast_hypercall_available());
    assert!(features.guest_idle_available());
    assert!(!features.hypervisor_sleep_state_available());
    assert!(features.numa_distance_query_available());
    assert!(features.frequency_regs_available());
    assert!(features.synthetic_machine_check_available());
    assert!(features.guest_crash_regs_available());
    assert!(!features.debug_regs_available());
    assert!(features.npiep_available());
    assert!(!features.disable_hypervisor_available());
    assert!(features.extended_gva_ranges_for_flush_virtual_address_list_available());
    assert!(features.fast_hypercall_output_available());
    assert!(!features.svm_features_available());
    assert!(features.sint_polling_mode_available());
    assert!(features.hypercall_msr_lock_available());
    assert!(features.direct_synthetic_timers());
    assert!(features.register_pat_available());
    assert!(features.register_bndcfgs_available());
    assert!(!features.watchdog_timer_available());
    assert!(features.synthetic_time_unhalted_timer_available());
    assert!(!features.lbr_available());
    assert!(features.idle_spec_ctrl_available());
    assert!(!features.apic_eoi_intercept_available());

    let info = HvFeaturesInfo::X64(features);
    assert!(info.guest_crash_regs_available());
    assert!(info.direct_synthetic_timers());
    assert_eq!(info.privileges(), p);
}

#[test]
fn hyper_v_wsl2_recommendations() {
    let hints = HvEnlightenmentInformation::from_cpuid([0x0002_0E24, 0, 0, 0]);
    // 0x20e24: bits 2, 5, 9, 10, 11, 17.
    assert!(!hints.use_hypercall_for_address_space_switch());
    assert!(!hints.use_hypercall_for_local_flush());
    assert!(hints.use_hypercall_for_remote_flush());
    assert!(!hints.use_apic_msrs());
    assert!(hints.use_relaxed_timing());
    assert!(hints.deprecate_auto_eoi());
    assert!(hints.use_synthetic_cluster_ipi());
    assert!(hints.use_ex_processor_masks());
    assert!(!hints.nested());
    assert!(!hints.use_vmcs_enlightenments());
    assert!(hints.use_direct_local_flush_entire());
    assert!(!hints.no_non_architectural_core_sharing());
    assert_eq!(
        hints.into_bits() & HvEnlightenmentInformation::RESERVED_MASK,
        0
    );
}

#[test]
fn qemu_kvm_hv_flags_features() {
    let features = HvFeatures::from_cpuid([0x27E, 0, 0, 0x400]);
    let p = features.privileges();
    assert_eq!(
        p,
        HvPartitionPrivilegeMask::new()
            .with_access_partition_reference_counter(true)
            .with_access_synic_regs(true)
            .with_access_synthetic_timer_regs(true)
            .with_access_intr_ctrl_regs(true)
            .with_access_hypercall_msrs(true)
            .with_access_vp_index(true)
            .with_access_partition_reference_tsc(true)
    );
    assert!(features.guest_crash_regs_available());
    assert!(!features.direct_synthetic_timers());
    assert!(!features.xmm_registers_for_fast_hypercall_available());

    let hints = HvEnlightenmentInformation::from_cpuid([0x28, 0xFFFF_FFFF, 0, 0]);
    assert!(hints.use_relaxed_timing());
    assert!(hints.use_apic_msrs());
    assert!(!hints.use_hypercall_for_remote_flush());
    assert_eq!(hints.long_spin_wait_count(), HV_SPINLOCK_RETRY_NEVER_NOTIFY);
    assert_eq!(hints.spinlock_retries(), None);
    assert_eq!(hints.physical_address_bits(), None);

    let counted = HvEnlightenmentInformation::from_cpuid([0, 0x1FFF, 46, 0]);
    assert_eq!(counted.spinlock_retries(), Some(0x1FFF));
    assert_eq!(counted.physical_address_bits(), Some(46));
}

#[test]
fn arm64_feature_bits_sit_elsewhere() {
    // Word 2 bits 8 and 13 set: crash registers and direct timers on arm64.
    let raw = HvFeatures::from_cpuid([0x27E, 0, (1 << 8) | (1 << 13), 0]).into_bits();
    let arm64 = HvFeaturesInfo::new(HvArch::Arm64, raw);
    let x64 = HvFeaturesInfo::new(HvArch::X64, raw);
    assert_eq!(arm64.arch(), HvArch::Arm64);
    assert!(arm64.guest_crash_regs_available());
    assert!(arm64.direct_synthetic_timers());
    // The same value read with the x64 layout has neither (x64 uses EDX bits 10 and 19).
    assert!(!x64.guest_crash_regs_available());
    assert!(!x64.direct_synthetic_timers());
    assert_eq!(arm64.privileges(), x64.privileges());
    assert_eq!(arm64.raw(), raw);

    // x64 EDX bit 10 means nothing to the arm64 view.
    let x64_crash = HvFeatures::new()
        .with_guest_crash_regs_available(true)
        .into_bits();
    assert!(HvFeaturesInfo::new(HvArch::X64, x64_crash).guest_crash_regs_available());
    assert!(!HvFeaturesInfo::new(HvArch::Arm64, x64_crash).guest_crash_regs_available());

    let from_register = HvArm64Features::from_register(HvRegisterValue::from_u128(raw));
    assert!(from_register.guest_crash_regs_available());
}

#[test]
fn leaves_decode_from_their_registers() {
    let regs = [19041, 0x000A_0000, 5, 5486];
    let value = HvRegisterValue::from_u128(HvHypervisorVersion::from_cpuid(regs).into_bits());
    assert_eq!(value.low, 0x000A_0000_0000_4A61);
    assert_eq!(HvHypervisorVersion::from_register(value).into_cpuid(), regs);

    assert_eq!(
        cpuid_leaf_register(HV_CPUID_FEATURES),
        Some(HvRegisterName::HvRegisterPrivilegesAndFeaturesInfo)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_FEATURES).map(HvRegisterName::get),
        Some(0x200)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_VERSION).map(HvRegisterName::get),
        Some(0x100)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_ENLIGHTENMENT_INFO).map(HvRegisterName::get),
        Some(0x201)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_IMPLEMENTATION_LIMITS).map(HvRegisterName::get),
        Some(0x202)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_HARDWARE_FEATURES).map(HvRegisterName::get),
        Some(0x203)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_NESTED_FEATURES).map(HvRegisterName::get),
        Some(0x207)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_ISOLATION_CONFIGURATION).map(HvRegisterName::get),
        Some(0x209)
    );
    assert_eq!(
        cpuid_leaf_register(HV_CPUID_INTERFACE).map(HvRegisterName::get),
        Some(0x0009_0006)
    );
    assert_eq!(cpuid_leaf_register(HV_CPUID_VENDOR_AND_MAX_FUNCTION), None);
    assert_eq!(cpuid_leaf_register(0x4000_000B), None);
}

#[test]
fn leaf_numbers_are_the_tlfs_ones() {
    let leaves = [
        (HvCpuidVendorAndMax::LEAF, 0x4000_0000),
        (HvCpuidInterface::LEAF, 0x4000_0001),
        (HvHypervisorVersion::LEAF, 0x4000_0002),
        (HvFeatures::LEAF, 0x4000_0003),
        (HvEnlightenmentInformation::LEAF, 0x4000_0004),
        (HvImplementationLimits::LEAF, 0x4000_0005),
        (HvHardwareFeatures::LEAF, 0x4000_0006),
        (HvCpuManagementFeatures::LEAF, 0x4000_0007),
        (HvSvmFeatures::LEAF, 0x4000_0008),
        (HvNestedHypervisorFeatures::LEAF, 0x4000_0009),
        (HvNestedVirtFeatures::LEAF, 0x4000_000A),
        (HvIsolationConfiguration::LEAF, 0x4000_000C),
    ];
    for (leaf, tlfs) in leaves {
        assert_eq!(leaf, tlfs);
    }
    assert_eq!(HV_CPUID_MIN_MAX_FUNCTION, 0x4000_0005);
    assert_eq!(HV_CPUID_1_ECX_HYPERVISOR_PRESENT, 0x8000_0000);
}

#[test]
fn other_leaves_decode_their_fields() {
    let limits = HvImplementationLimits::from_cpuid([2048, 512, 0x100, 0]);
    assert_eq!(limits.max_virtual_processors(), 2048);
    assert_eq!(limits.max_logical_processors(), 512);
    assert_eq!(limits.max_interrupt_remapping_vectors(), 0x100);

    let hardware = HvHardwareFeatures::from_cpuid([(1 << 3) | (1 << 1) | (2 << 10), 48, 0, 0]);
    assert!(hardware.second_level_address_translation_in_use());
    assert!(hardware.msr_bitmaps_in_use());
    assert!(!hardware.apic_overlay_assist_in_use());
    assert_eq!(hardware.hypervisor_level(), 2);
    assert_eq!(hardware.device_domain_input_width(), 48);

    let management = HvCpuManagementFeatures::from_cpuid([(1 << 31) | 1, 0b110, 1, 0]);
    assert!(management.start_logical_processor());
    assert!(management.reserved_identity_bit());
    assert!(!management.processor_power_management());
    assert!(management.mwait_idle_states());
    assert!(management.logical_processor_idling());
    assert!(management.remap_guest_uncached());

    let svm = HvSvmFeatures::from_cpuid([1 | (0x1F_FFFF << 11), 0, 0, 0]);
    assert!(svm.svm_supported());
    assert_eq!(svm.max_pasid_space_pasid_count(), 0x1F_FFFF);

    let nested_hv = HvNestedHypervisorFeatures::from_cpuid([0x1074, 0, 0, 0x0002_8010]);
    assert!(nested_hv.access_synic_regs());
    assert!(nested_hv.access_intr_ctrl_regs());
    assert!(nested_hv.access_hypercall_msrs());
    assert!(nested_hv.access_vp_index());
    assert!(nested_hv.access_reenlightenment_controls());
    assert!(nested_hv.xmm_registers_for_fast_hypercall_available());
    assert!(nested_hv.fast_hypercall_output_available());
    assert!(nested_hv.sint_polling_mode_available());
    assert_eq!(
        nested_hv.into_bits() & HvNestedHypervisorFeatures::RESERVED_MASK,
        0
    );

    // Enlightened VMCS 1.0 with direct flush, guest mapping flush and MSR bitmap (Linux's
    // nested feature bits 17-19).
    let nested = HvNestedVirtFeatures::from_cpuid([0x000E_0101, 1, 0, 0]);
    assert_eq!(nested.enlightened_vmcs_versions(), (1, 1));
    assert!(nested.direct_virtual_flush());
    assert!(nested.guest_mapping_flush());
    assert!(nested.enlightened_msr_bitmap());
    assert!(!nested.virtualization_exception());
    assert!(!nested.enlightened_tlb());
    assert!(nested.evmcs1_perf_global_ctrl());

    // An SNP partition with a paravisor and a shared GPA boundary at bit 46.
    let isolation = HvIsolationConfiguration::from_cpuid([1, 2 | (1 << 5) | (46 << 6), 0, 0]);
    assert!(isolation.paravisor_present());
    assert_eq!(isolation.isolation_type(), HvIsolationType::SNP);
    assert!(isolation.shared_gpa_boundary_active());
    assert_eq!(isolation.shared_gpa_boundary(), Some(1 << 46));
    let vbs = HvIsolationConfiguration::from_cpuid([0, 1, 0, 0]);
    assert_eq!(vbs.isolation_type(), HvIsolationType::VBS);
    assert_eq!(vbs.shared_gpa_boundary(), None);
    let unknown = HvIsolationConfiguration::from_cpuid([0, 0xF, 0, 0]);
    assert_eq!(unknown.isolation_type().name(), None);
    assert_eq!(
        format!("{:?}", unknown.isolation_type()),
        "HvIsolationType(0xf)"
    );
}
