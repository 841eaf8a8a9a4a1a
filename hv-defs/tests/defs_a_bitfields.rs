//! Round trips and reserved-bit checks for every bitfield and wire structure of the
//! `cpuid`, `guest_id`, `partition`, `msr` and `timer` modules.
//!
//! For each bitfield:
//!
//! * `round_trip`: bits → struct → bits is the identity (proptest);
//! * `fields_cover_exactly_the_defined_bits`: rebuilding a value from its public getters
//!   gives back exactly its non-reserved bits (proptest), so every public field sits on its
//!   own bits and the fields together cover `!RESERVED_MASK`;
//! * `all_fields_at_max_set_exactly_the_defined_bits`: setting every public field to its
//!   largest value through the builders sets exactly `!RESERVED_MASK` (no reserved bit).
//!
//! Types without reserved bits use a mask of 0; the arm64 features view uses the bits it
//! leaves unnamed (`ARM64_NOT_NAMED`).

use hv_defs::cpuid::*;
use hv_defs::guest_id::*;
use hv_defs::msr::*;
use hv_defs::partition::*;
use hv_defs::timer::*;
use proptest::prelude::*;
use zerocopy::{FromBytes, IntoBytes};

/// The bits `HvArm64Features` does not name: the privilege mask's reserved bits and every
/// bit of words 2 and 3 except word 2 bits 8 and 13.
const ARM64_NOT_NAMED: u128 = HvPartitionPrivilegeMask::RESERVED_MASK as u128
    | (!0u128 << 64) & !(1 << (64 + 8)) & !(1 << (64 + 13));

macro_rules! bitfield_tests {
    (
        $module:ident, $ty:ident, $int:ty, reserved = $reserved:expr,
        fields { $($get:ident: $set:ident = $max:expr,)* }
        $(nested { $($nget:ident: $nset:ident = $nmax:expr => $nmap:path,)* })?
    ) => {
        mod $module {
            use super::*;

            /// A value rebuilt from `value`'s public fields only.
            #[allow(dead_code)]
            pub(crate) fn rebuild(value: $ty) -> $ty {
                $ty::new()
                    $(.$set(value.$get()))*
                    $($(.$nset($nmap(value.$nget())))*)?
            }

            /// Every public field at its largest value.
            #[allow(dead_code)]
            pub(crate) fn all_max() -> $ty {
                $ty::new()
                    $(.$set($max))*
                    $($(.$nset($nmax))*)?
            }

            proptest! {
                #[test]
                fn round_trip(bits in any::<$int>()) {
                    prop_assert_eq!($ty::from_bits(bits).into_bits(), bits);
                }

                #[test]
                fn fields_cover_exactly_the_defined_bits(bits in any::<$int>()) {
                    let reserved: $int = $reserved;
                    prop_assert_eq!(rebuild($ty::from_bits(bits)).into_bits(), bits & !reserved);
                }
            }

            #[test]
            fn all_fields_at_max_set_exactly_the_defined_bits() {
                let reserved: $int = $reserved;
                assert_eq!(all_max().into_bits(), !reserved);
            }
        }
    };
}

bitfield_tests! {
    hv_partition_privilege_mask, HvPartitionPrivilegeMask, u64, reserved = HvPartitionPrivilegeMask::RESERVED_MASK,
    fields {
        access_vp_runtime_reg: with_access_vp_runtime_reg = true,
        access_partition_reference_counter: with_access_partition_reference_counter = true,
        access_synic_regs: with_access_synic_regs = true,
        access_synthetic_timer_regs: with_access_synthetic_timer_regs = true,
        access_intr_ctrl_regs: with_access_intr_ctrl_regs = true,
        access_hypercall_msrs: with_access_hypercall_msrs = true,
        access_vp_index: with_access_vp_index = true,
        access_reset_reg: with_access_reset_reg = true,
        access_stats_reg: with_access_stats_reg = true,
        access_partition_reference_tsc: with_access_partition_reference_tsc = true,
        access_guest_idle_reg: with_access_guest_idle_reg = true,
        access_frequency_regs: with_access_frequency_regs = true,
        access_debug_regs: with_access_debug_regs = true,
        access_reenlightenment_controls: with_access_reenlightenment_controls = true,
        access_root_scheduler_reg: with_access_root_scheduler_reg = true,
        access_tsc_invariant_controls: with_access_tsc_invariant_controls = true,
        create_partitions: with_create_partitions = true,
        access_partition_id: with_access_partition_id = true,
        access_memory_pool: with_access_memory_pool = true,
        adjust_message_buffers: with_adjust_message_buffers = true,
        post_messages: with_post_messages = true,
        signal_events: with_signal_events = true,
        create_port: with_create_port = true,
        connect_port: with_connect_port = true,
        access_stats: with_access_stats = true,
        debugging: with_debugging = true,
        cpu_management: with_cpu_management = true,
        configure_profiler: with_configure_profiler = true,
        access_vp_exit_tracing: with_access_vp_exit_tracing = true,
        enable_extended_gva_ranges_flush_va_list: with_enable_extended_gva_ranges_flush_va_list = true,
        access_vsm: with_access_vsm = true,
        access_vp_registers: with_access_vp_registers = true,
        fast_hypercall_output: with_fast_hypercall_output = true,
        enable_extended_hypercalls: with_enable_extended_hypercalls = true,
        start_virtual_processor: with_start_virtual_processor = true,
        isolation: with_isolation = true,
    }
}

bitfield_tests! {
    hv_guest_crash_control, HvGuestCrashControl, u64, reserved = HvGuestCrashControl::RESERVED_MASK,
    fields {
        pre_os_id: with_pre_os_id = 0x7,
        no_crash_dump: with_no_crash_dump = true,
        crash_message: with_crash_message = true,
        crash_notify: with_crash_notify = true,
    }
}

bitfield_tests! {
    hv_cpuid_vendor_and_max, HvCpuidVendorAndMax, u128, reserved = 0,
    fields {
        max_function: with_max_function = 0xFFFF_FFFF,
        vendor_ebx: with_vendor_ebx = 0xFFFF_FFFF,
        vendor_ecx: with_vendor_ecx = 0xFFFF_FFFF,
        vendor_edx: with_vendor_edx = 0xFFFF_FFFF,
    }
}

bitfield_tests! {
    hv_cpuid_interface, HvCpuidInterface, u128, reserved = HvCpuidInterface::RESERVED_MASK,
    fields {
        signature: with_signature = 0xFFFF_FFFF,
    }
}

bitfield_tests! {
    hv_hypervisor_version, HvHypervisorVersion, u128, reserved = 0,
    fields {
        build_number: with_build_number = 0xFFFF_FFFF,
        minor_version: with_minor_version = 0xFFFF,
        major_version: with_major_version = 0xFFFF,
        service_pack: with_service_pack = 0xFFFF_FFFF,
        service_number: with_service_number = 0xFF_FFFF,
        service_branch: with_service_branch = 0xFF,
    }
}

bitfield_tests! {
    hv_features, HvFeatures, u128, reserved = HvFeatures::RESERVED_MASK,
    fields {
        max_supported_cstate: with_max_supported_cstate = 0xF,
        hpet_needed_for_c3_deprecated: with_hpet_needed_for_c3_deprecated = true,
        invariant_mperf_available: with_invariant_mperf_available = true,
        supervisor_shadow_stack_available: with_supervisor_shadow_stack_available = true,
        arch_pmu_available: with_arch_pmu_available = true,
        exception_trap_intercept_available: with_exception_trap_intercept_available = true,
        vp_dispatch_interrupt_injection_available: with_vp_dispatch_interrupt_injection_available = true,
        vp_ghcb_root_mapping_available: with_vp_ghcb_root_mapping_available = true,
        mwait_available_deprecated: with_mwait_available_deprecated = true,
        guest_debugging_available: with_guest_debugging_available = true,
        performance_monitors_available: with_performance_monitors_available = true,
        cpu_dynamic_partitioning_available: with_cpu_dynamic_partitioning_available = true,
        xmm_registers_for_fast_hypercall_available: with_xmm_registers_for_fast_hypercall_available = true,
        guest_idle_available: with_guest_idle_available = true,
        hypervisor_sleep_state_available: with_hypervisor_sleep_state_available = true,
        numa_distance_query_available: with_numa_distance_query_available = true,
        frequency_regs_available: with_frequency_regs_available = true,
        synthetic_machine_check_available: with_synthetic_machine_check_available = true,
        guest_crash_regs_available: with_guest_crash_regs_available = true,
        debug_regs_available: with_debug_regs_available = true,
        npiep_available: with_npiep_available = true,
        disable_hypervisor_available: with_disable_hypervisor_available = true,
        extended_gva_ranges_for_flush_virtual_address_list_available: with_extended_gva_ranges_for_flush_virtual_address_list_available = true,
        fast_hypercall_output_available: with_fast_hypercall_output_available = true,
        svm_features_available: with_svm_features_available = true,
        sint_polling_mode_available: with_sint_polling_mode_available = true,
        hypercall_msr_lock_available: with_hypercall_msr_lock_available = true,
        direct_synthetic_timers: with_direct_synthetic_timers = true,
        register_pat_available: with_register_pat_available = true,
        register_bndcfgs_available: with_register_bndcfgs_available = true,
        watchdog_timer_available: with_watchdog_timer_available = true,
        synthetic_time_unhalted_timer_available: with_synthetic_time_unhalted_timer_available = true,
        device_domains_available: with_device_domains_available = true,
        s1_device_domains_available: with_s1_device_domains_available = true,
        lbr_available: with_lbr_available = true,
        ipt_available: with_ipt_available = true,
        cross_vtl_flush_available: with_cross_vtl_flush_available = true,
        idle_spec_ctrl_available: with_idle_spec_ctrl_available = true,
        translate_gva_flags_available: with_translate_gva_flags_available = true,
        apic_eoi_intercept_available: with_apic_eoi_intercept_available = true,
    }
    nested {
        privileges: with_privileges = hv_partition_privilege_mask::all_max() => hv_partition_privilege_mask::rebuild,
    }
}

bitfield_tests! {
    hv_arm64_features, HvArm64Features, u128, reserved = ARM64_NOT_NAMED,
    fields {
        guest_crash_regs_available: with_guest_crash_regs_available = true,
        direct_synthetic_timers: with_direct_synthetic_timers = true,
    }
    nested {
        privileges: with_privileges = hv_partition_privilege_mask::all_max() => hv_partition_privilege_mask::rebuild,
    }
}

bitfield_tests! {
    hv_enlightenment_information, HvEnlightenmentInformation, u128, reserved = HvEnlightenmentInformation::RESERVED_MASK,
    fields {
        use_hypercall_for_address_space_switch: with_use_hypercall_for_address_space_switch = true,
        use_hypercall_for_local_flush: with_use_hypercall_for_local_flush = true,
        use_hypercall_for_remote_flush: with_use_hypercall_for_remote_flush = true,
        use_apic_msrs: with_use_apic_msrs = true,
        use_hv_register_for_reset: with_use_hv_register_for_reset = true,
        use_relaxed_timing: with_use_relaxed_timing = true,
        use_dma_remapping: with_use_dma_remapping = true,
        use_interrupt_remapping: with_use_interrupt_remapping = true,
        use_x2apic_msrs: with_use_x2apic_msrs = true,
        deprecate_auto_eoi: with_deprecate_auto_eoi = true,
        use_synthetic_cluster_ipi: with_use_synthetic_cluster_ipi = true,
        use_ex_processor_masks: with_use_ex_processor_masks = true,
        nested: with_nested = true,
        use_int_for_mbec_system_calls: with_use_int_for_mbec_system_calls = true,
        use_vmcs_enlightenments: with_use_vmcs_enlightenments = true,
        use_synced_timeline: with_use_synced_timeline = true,
        core_scheduler_requested: with_core_scheduler_requested = true,
        use_direct_local_flush_entire: with_use_direct_local_flush_entire = true,
        no_non_architectural_core_sharing: with_no_non_architectural_core_sharing = true,
        use_x2apic: with_use_x2apic = true,
        restore_time_on_resume: with_restore_time_on_resume = true,
        use_hypercall_for_mmio_access: with_use_hypercall_for_mmio_access = true,
        use_gpa_pinning_hypercall: with_use_gpa_pinning_hypercall = true,
        wake_vps: with_wake_vps = true,
        long_spin_wait_count: with_long_spin_wait_count = 0xFFFF_FFFF,
        implemented_physical_address_bits: with_implemented_physical_address_bits = 0x7F,
    }
}

bitfield_tests! {
    hv_implementation_limits, HvImplementationLimits, u128, reserved = HvImplementationLimits::RESERVED_MASK,
    fields {
        max_virtual_processors: with_max_virtual_processors = 0xFFFF_FFFF,
        max_logical_processors: with_max_logical_processors = 0xFFFF_FFFF,
        max_interrupt_remapping_vectors: with_max_interrupt_remapping_vectors = 0xFFFF_FFFF,
    }
}

bitfield_tests! {
    hv_hardware_features, HvHardwareFeatures, u128, reserved = HvHardwareFeatures::RESERVED_MASK,
    fields {
        apic_overlay_assist_in_use: with_apic_overlay_assist_in_use = true,
        msr_bitmaps_in_use: with_msr_bitmaps_in_use = true,
        architectural_performance_counters_in_use: with_architectural_performance_counters_in_use = true,
        second_level_address_translation_in_use: with_second_level_address_translation_in_use = true,
        dma_remapping_in_use: with_dma_remapping_in_use = true,
        interrupt_remapping_in_use: with_interrupt_remapping_in_use = true,
        memory_patrol_scrubber_present: with_memory_patrol_scrubber_present = true,
        dma_protection_in_use: with_dma_protection_in_use = true,
        hpet_requested: with_hpet_requested = true,
        synthetic_timers_volatile: with_synthetic_timers_volatile = true,
        hypervisor_level: with_hypervisor_level = 0xF,
        physical_destination_mode_required: with_physical_destination_mode_required = true,
        use_vmfunc_for_alias_map_switch: with_use_vmfunc_for_alias_map_switch = true,
        hv_register_for_memory_zeroing_supported: with_hv_register_for_memory_zeroing_supported = true,
        unrestricted_guest_supported: with_unrestricted_guest_supported = true,
        rdt_afeatures_supported: with_rdt_afeatures_supported = true,
        rdt_mfeatures_supported: with_rdt_mfeatures_supported = true,
        child_perfmon_pmu_supported: with_child_perfmon_pmu_supported = true,
        child_perfmon_lbr_supported: with_child_perfmon_lbr_supported = true,
        child_perfmon_ipt_supported: with_child_perfmon_ipt_supported = true,
        apic_emulation_supported: with_apic_emulation_supported = true,
        child_x2apic_recommended: with_child_x2apic_recommended = true,
        device_access_tracking_supported: with_device_access_tracking_supported = true,
        hardware_gpa_access_tracking_supported: with_hardware_gpa_access_tracking_supported = true,
        device_domain_input_width: with_device_domain_input_width = 0xFF,
    }
}

bitfield_tests! {
    hv_cpu_management_features, HvCpuManagementFeatures, u128, reserved = HvCpuManagementFeatures::RESERVED_MASK,
    fields {
        start_logical_processor: with_start_logical_processor = true,
        create_root_virtual_processor: with_create_root_virtual_processor = true,
        performance_counter_sync: with_performance_counter_sync = true,
        reserved_identity_bit: with_reserved_identity_bit = true,
        processor_power_management: with_processor_power_management = true,
        mwait_idle_states: with_mwait_idle_states = true,
        logical_processor_idling: with_logical_processor_idling = true,
        remap_guest_uncached: with_remap_guest_uncached = true,
    }
}

bitfield_tests! {
    hv_svm_features, HvSvmFeatures, u128, reserved = HvSvmFeatures::RESERVED_MASK,
    fields {
        svm_supported: with_svm_supported = true,
        max_pasid_space_pasid_count: with_max_pasid_space_pasid_count = 0x1F_FFFF,
    }
}

bitfield_tests! {
    hv_nested_hypervisor_features, HvNestedHypervisorFeatures, u128, reserved = HvNestedHypervisorFeatures::RESERVED_MASK,
    fields {
        access_synic_regs: with_access_synic_regs = true,
        access_intr_ctrl_regs: with_access_intr_ctrl_regs = true,
        access_hypercall_msrs: with_access_hypercall_msrs = true,
        access_vp_index: with_access_vp_index = true,
        access_reenlightenment_controls: with_access_reenlightenment_controls = true,
        xmm_registers_for_fast_hypercall_available: with_xmm_registers_for_fast_hypercall_available = true,
        fast_hypercall_output_available: with_fast_hypercall_output_available = true,
        sint_polling_mode_available: with_sint_polling_mode_available = true,
    }
}

bitfield_tests! {
    hv_nested_virt_features, HvNestedVirtFeatures, u128, reserved = HvNestedVirtFeatures::RESERVED_MASK,
    fields {
        enlightened_vmcs_version_low: with_enlightened_vmcs_version_low = 0xFF,
        enlightened_vmcs_version_high: with_enlightened_vmcs_version_high = 0xFF,
        direct_virtual_flush: with_direct_virtual_flush = true,
        guest_mapping_flush: with_guest_mapping_flush = true,
        enlightened_msr_bitmap: with_enlightened_msr_bitmap = true,
        virtualization_exception: with_virtualization_exception = true,
        enlightened_tlb: with_enlightened_tlb = true,
        evmcs1_perf_global_ctrl: with_evmcs1_perf_global_ctrl = true,
    }
}

bitfield_tests! {
    hv_isolation_configuration, HvIsolationConfiguration, u128, reserved = HvIsolationConfiguration::RESERVED_MASK,
    fields {
        paravisor_present: with_paravisor_present = true,
        isolation_type: with_isolation_type = HvIsolationType::new(0xF),
        shared_gpa_boundary_active: with_shared_gpa_boundary_active = true,
        shared_gpa_boundary_bits: with_shared_gpa_boundary_bits = 0x3F,
    }
}

bitfield_tests! {
    hv_guest_os_id_proprietary, HvGuestOsIdProprietary, u64, reserved = 0,
    fields {
        build_number: with_build_number = 0xFFFF,
        service_version: with_service_version = 0xFF,
        minor_version: with_minor_version = 0xFF,
        major_version: with_major_version = 0xFF,
        os_id: with_os_id = 0xFF,
        vendor_id: with_vendor_id = HvGuestOsVendor::new(0x7FFF),
        open_source: with_open_source = true,
    }
}

bitfield_tests! {
    hv_guest_os_id_open_source, HvGuestOsIdOpenSource, u64, reserved = 0,
    fields {
        build_number: with_build_number = 0xFFFF,
        version: with_version = 0xFFFF_FFFF,
        os_id: with_os_id = 0xFF,
        os_type: with_os_type = HvGuestOsType::new(0x7F),
        open_source: with_open_source = true,
    }
}

bitfield_tests! {
    hv_hypercall_msr, HvHypercallMsr, u64, reserved = HvHypercallMsr::RESERVED_MASK,
    fields {
        enable: with_enable = true,
        locked: with_locked = true,
        gpa_page_number: with_gpa_page_number = 0xF_FFFF_FFFF_FFFF,
    }
}

bitfield_tests! {
    hv_reset_msr, HvResetMsr, u64, reserved = HvResetMsr::RESERVED_MASK,
    fields {
        reset: with_reset = true,
    }
}

bitfield_tests! {
    hv_npiep_config, HvNpiepConfig, u64, reserved = HvNpiepConfig::RESERVED_MASK,
    fields {
        prevent_sgdt: with_prevent_sgdt = true,
        prevent_sidt: with_prevent_sidt = true,
        prevent_sldt: with_prevent_sldt = true,
        prevent_str: with_prevent_str = true,
    }
}

bitfield_tests! {
    hv_tsc_invariant_control, HvTscInvariantControl, u64, reserved = HvTscInvariantControl::RESERVED_MASK,
    fields {
        expose_invariant_tsc: with_expose_invariant_tsc = true,
    }
}

bitfield_tests! {
    hv_stimer_config, HvStimerConfig, u64, reserved = HvStimerConfig::RESERVED_MASK,
    fields {
        enable: with_enable = true,
        periodic: with_periodic = true,
        lazy: with_lazy = true,
        auto_enable: with_auto_enable = true,
        apic_vector: with_apic_vector = 0xFF,
        direct_mode: with_direct_mode = true,
        sintx: with_sintx = 0xF,
    }
}

bitfield_tests! {
    hv_stime_unhalted_timer_config, HvStimeUnhaltedTimerConfig, u64, reserved = HvStimeUnhaltedTimerConfig::RESERVED_MASK,
    fields {
        enabled: with_enabled = true,
        vector: with_vector = 0xFF,
    }
}

bitfield_tests! {
    hv_reference_tsc_msr, HvReferenceTscMsr, u64, reserved = HvReferenceTscMsr::RESERVED_MASK,
    fields {
        enable: with_enable = true,
        gpa_page_number: with_gpa_page_number = 0xF_FFFF_FFFF_FFFF,
    }
}

proptest! {
    #[test]
    fn reference_tsc_page_round_trips_through_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 4096),
    ) {
        let page = HvReferenceTscPage::read_from_bytes(&bytes).unwrap();
        prop_assert_eq!(page.as_bytes(), &bytes[..]);
    }

    #[test]
    fn guest_os_id_decodes_by_bit_63(bits in any::<u64>()) {
        let id = HvGuestOsId::from_bits(bits);
        prop_assert_eq!(id.into_bits(), bits);
        prop_assert_eq!(matches!(id, HvGuestOsId::OpenSource(_)), bits >> 63 == 1);
    }

    #[test]
    fn cpuid_registers_round_trip(regs in any::<[u32; 4]>()) {
        prop_assert_eq!(HvFeatures::from_cpuid(regs).into_cpuid(), regs);
        prop_assert_eq!(HvEnlightenmentInformation::from_cpuid(regs).into_cpuid(), regs);
        prop_assert_eq!(HvIsolationConfiguration::from_cpuid(regs).into_cpuid(), regs);
    }

    #[test]
    fn privilege_mask_cpuid_words_round_trip(eax in any::<u32>(), ebx in any::<u32>()) {
        let mask = HvPartitionPrivilegeMask::from_cpuid(eax, ebx);
        prop_assert_eq!(mask.into_cpuid(), (eax, ebx));
        prop_assert_eq!(
            HvFeatures::from_cpuid([eax, ebx, 0, 0]).privileges(),
            mask
        );
    }
}
