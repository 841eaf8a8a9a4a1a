//! Hypervisor discovery through CPUID (TLFS 2.2–2.4, 3.13 steps 1–2).
//!
//! [`detect`] reads CPUID.1:ECX bit 31 (hypervisor present), the vendor leaf 0x4000_0000 and
//! the interface leaf 0x4000_0001, and accepts the partition only when the interface is
//! "Hv#1" and the maximum leaf is at least 0x4000_0005 (TLFS 3.13). It then decodes every
//! Microsoft leaf the maximum leaf covers into one [`HvInfo`].
//!
//! Anything else — bare metal, QEMU TCG, a KVM without `hv-*` flags, Xen without Viridian,
//! VMware — is a [`NoHyperV`] that says what was found. Discovery never touches an MSR.

use hv_defs::cpuid::{
    HV_CPUID_1_ECX_HYPERVISOR_PRESENT, HV_CPUID_INTERFACE_SIGNATURE_HV1, HV_CPUID_MIN_MAX_FUNCTION,
    HvCpuManagementFeatures, HvCpuidInterface, HvCpuidVendorAndMax, HvEnlightenmentInformation,
    HvFeatures, HvHardwareFeatures, HvHypervisorVersion, HvImplementationLimits,
    HvIsolationConfiguration, HvNestedHypervisorFeatures, HvNestedVirtFeatures, HvSvmFeatures,
};
use hv_defs::partition::HvPartitionPrivilegeMask;

use crate::platform::X64Platform;

/// Why this partition does not offer the Hyper-V interface.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NoHyperV {
    /// CPUID.1:ECX bit 31 is clear: no hypervisor (bare metal, or one that hides itself)
    /// (TLFS 2.2).
    NoHypervisor,
    /// A hypervisor is present but does not offer the "Hv#1" interface with the leaves the
    /// TLFS requires (TLFS 2.3, 3.13).
    OtherInterface {
        /// The vendor signature of leaf 0x4000_0000 (e.g. `KVMKVMKVM\0\0\0`, `TCGTCGTCGTCG`).
        vendor: [u8; 12],
        /// The maximum hypervisor leaf.
        max_leaf: u32,
        /// EAX of leaf 0x4000_0001 (0x3123_7648 is "Hv#1").
        interface: u32,
    },
}

impl NoHyperV {
    /// The vendor signature as text, with trailing NULs removed and anything non-printable
    /// replaced by `?`, or `None` when there is no hypervisor.
    #[must_use]
    pub fn vendor(&self) -> Option<VendorText> {
        match self {
            Self::NoHypervisor => None,
            Self::OtherInterface { vendor, .. } => Some(VendorText(*vendor)),
        }
    }
}

impl core::fmt::Display for NoHyperV {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoHypervisor => f.write_str("no hypervisor present"),
            Self::OtherInterface {
                vendor,
                max_leaf,
                interface,
            } => write!(
                f,
                "hypervisor \"{}\" without the Hyper-V interface (max leaf {max_leaf:#x}, interface {interface:#x})",
                VendorText(*vendor)
            ),
        }
    }
}

/// A 12-byte CPUID vendor signature, displayed as text.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VendorText(pub [u8; 12]);

impl core::fmt::Display for VendorText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let len = self.0.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        for &byte in &self.0[..len] {
            let c = if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '?'
            };
            core::fmt::Write::write_char(f, c)?;
        }
        Ok(())
    }
}

/// Everything the Microsoft hypervisor CPUID leaves say about this partition (TLFS 2.4).
///
/// Leaves above the reported maximum are `None`. The version leaf reads zero until a guest
/// OS identity is set (TLFS 2.4.3); [`HvInfo::read_version`] reads it again.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HvInfo {
    /// Leaf 0x4000_0000: vendor and maximum leaf (TLFS 2.4.1).
    pub vendor_and_max: HvCpuidVendorAndMax,
    /// Leaf 0x4000_0001: the interface signature, "Hv#1" (TLFS 2.4.2).
    pub interface: HvCpuidInterface,
    /// Leaf 0x4000_0002: the hypervisor version (TLFS 2.4.3).
    pub version: HvHypervisorVersion,
    /// Leaf 0x4000_0003: partition privileges and features (TLFS 2.4.4).
    pub features: HvFeatures,
    /// Leaf 0x4000_0004: implementation recommendations (TLFS 2.4.5).
    pub recommendations: HvEnlightenmentInformation,
    /// Leaf 0x4000_0005: implementation limits (TLFS 2.4.6).
    pub limits: HvImplementationLimits,
    /// Leaf 0x4000_0006: hardware features in use (TLFS 2.4.7).
    pub hardware: Option<HvHardwareFeatures>,
    /// Leaf 0x4000_0007: CPU management features (TLFS 2.4.8).
    pub cpu_management: Option<HvCpuManagementFeatures>,
    /// Leaf 0x4000_0008: SVM features (TLFS 2.4.9).
    pub svm: Option<HvSvmFeatures>,
    /// Leaf 0x4000_0009: nested hypervisor features (TLFS 2.4.10).
    pub nested_hypervisor: Option<HvNestedHypervisorFeatures>,
    /// Leaf 0x4000_000A: nested virtualization features (TLFS 2.4.11).
    pub nested: Option<HvNestedVirtFeatures>,
    /// Leaf 0x4000_000C: isolation configuration (post-TLFS 6.0; Linux `hvgdk_mini.h`).
    pub isolation: Option<HvIsolationConfiguration>,
}

impl HvInfo {
    /// The highest hypervisor CPUID leaf.
    #[must_use]
    pub const fn max_leaf(&self) -> u32 {
        self.vendor_and_max.max_function()
    }

    /// The vendor signature (informational only, TLFS 2.3).
    #[must_use]
    pub const fn vendor(&self) -> VendorText {
        VendorText(self.vendor_and_max.vendor())
    }

    /// The spinlock retry count after which to notify the hypervisor, or `None` for "never
    /// notify" (TLFS 2.4.5, 14.5.1).
    #[must_use]
    pub const fn spinlock_retries(&self) -> Option<u32> {
        self.recommendations.spinlock_retries()
    }

    /// The partition privileges that are granted, by name (TLFS 4.2.2).
    #[must_use]
    pub fn privilege_flags(&self) -> SetFlags<HvPartitionPrivilegeMask> {
        SetFlags::new(self.features.privileges(), PRIVILEGE_FLAGS)
    }

    /// The feature flags of CPUID 0x4000_0003 ECX and EDX that are set, by name
    /// (TLFS 2.4.4).
    #[must_use]
    pub fn feature_flags(&self) -> SetFlags<HvFeatures> {
        SetFlags::new(self.features, FEATURE_FLAGS)
    }

    /// The recommendations of CPUID 0x4000_0004 EAX that are set, by name (TLFS 2.4.5).
    #[must_use]
    pub fn recommendation_flags(&self) -> SetFlags<HvEnlightenmentInformation> {
        SetFlags::new(self.recommendations, RECOMMENDATION_FLAGS)
    }

    /// Reads the version leaf again: it is zero until the guest OS identity is set
    /// (TLFS 2.4.3).
    pub fn read_version(&mut self, platform: &impl X64Platform) {
        let leaf = HvHypervisorVersion::LEAF;
        self.version = HvHypervisorVersion::from_cpuid(platform.cpuid(leaf, 0).to_array());
    }
}

/// One named single-bit flag of a CPUID leaf value `T`, for reports.
#[derive(Copy, Clone, Debug)]
pub struct Flag<T> {
    /// The `hv-defs` accessor name (`access_vp_index`); [`SetFlags`] prints it in the
    /// TLFS's CamelCase spelling (`AccessVpIndex`).
    pub name: &'static str,
    /// Reads the flag.
    pub is_set: fn(T) -> bool,
}

/// A table of [`Flag`]s: each entry names an `hv-defs` accessor.
macro_rules! flags {
    ($ty:ty: $($flag:ident),* $(,)?) => {
        &[$(Flag { name: stringify!($flag), is_set: |value: $ty| value.$flag() }),*]
    };
}

/// Every flag of the partition privilege mask (TLFS 4.2.2; CPUID 0x4000_0003 EAX:EBX).
pub static PRIVILEGE_FLAGS: &[Flag<HvPartitionPrivilegeMask>] = flags!(HvPartitionPrivilegeMask:
    access_vp_runtime_reg, access_partition_reference_counter, access_synic_regs,
    access_synthetic_timer_regs, access_intr_ctrl_regs, access_hypercall_msrs, access_vp_index,
    access_reset_reg, access_stats_reg, access_partition_reference_tsc, access_guest_idle_reg,
    access_frequency_regs, access_debug_regs, access_reenlightenment_controls,
    access_root_scheduler_reg, access_tsc_invariant_controls, create_partitions,
    access_partition_id, access_memory_pool, adjust_message_buffers, post_messages,
    signal_events, create_port, connect_port, access_stats, debugging, cpu_management,
    configure_profiler, access_vp_exit_tracing, enable_extended_gva_ranges_flush_va_list,
    access_vsm, access_vp_registers, fast_hypercall_output, enable_extended_hypercalls,
    start_virtual_processor, isolation,
);

/// Every single-bit feature flag of CPUID 0x4000_0003 ECX and EDX (TLFS 2.4.4); the
/// privileges are [`PRIVILEGE_FLAGS`], the C-state field is a number.
pub static FEATURE_FLAGS: &[Flag<HvFeatures>] = flags!(HvFeatures:
    hpet_needed_for_c3_deprecated, invariant_mperf_available,
    supervisor_shadow_stack_available, arch_pmu_available, exception_trap_intercept_available,
    vp_dispatch_interrupt_injection_available, vp_ghcb_root_mapping_available,
    mwait_available_deprecated, guest_debugging_available, performance_monitors_available,
    cpu_dynamic_partitioning_available, xmm_registers_for_fast_hypercall_available,
    guest_idle_available, hypervisor_sleep_state_available, numa_distance_query_available,
    frequency_regs_available, synthetic_machine_check_available, guest_crash_regs_available,
    debug_regs_available, npiep_available, disable_hypervisor_available,
    extended_gva_ranges_for_flush_virtual_address_list_available,
    fast_hypercall_output_available, svm_features_available, sint_polling_mode_available,
    hypercall_msr_lock_available, direct_synthetic_timers, register_pat_available,
    register_bndcfgs_available, watchdog_timer_available,
    synthetic_time_unhalted_timer_available, device_domains_available,
    s1_device_domains_available, lbr_available, ipt_available, cross_vtl_flush_available,
    idle_spec_ctrl_available, translate_gva_flags_available, apic_eoi_intercept_available,
);

/// Every recommendation flag of CPUID 0x4000_0004 EAX (TLFS 2.4.5); the spinlock retry
/// count and the physical address width are numbers.
pub static RECOMMENDATION_FLAGS: &[Flag<HvEnlightenmentInformation>] = flags!(
    HvEnlightenmentInformation:
    use_hypercall_for_address_space_switch, use_hypercall_for_local_flush,
    use_hypercall_for_remote_flush, use_apic_msrs, use_hv_register_for_reset,
    use_relaxed_timing, use_dma_remapping, use_interrupt_remapping, use_x2apic_msrs,
    deprecate_auto_eoi, use_synthetic_cluster_ipi, use_ex_processor_masks, nested,
    use_int_for_mbec_system_calls, use_vmcs_enlightenments, use_synced_timeline,
    core_scheduler_requested, use_direct_local_flush_entire,
    no_non_architectural_core_sharing, use_x2apic, restore_time_on_resume,
    use_hypercall_for_mmio_access, use_gpa_pinning_hypercall, wake_vps,
);

/// The flags of `table` that are set in `value`, displayed as their names in CamelCase
/// separated by spaces (`AccessVpIndex AccessHypercallMsrs`), or `none`.
#[derive(Copy, Clone, Debug)]
pub struct SetFlags<T: 'static> {
    value: T,
    table: &'static [Flag<T>],
}

impl<T: Copy> SetFlags<T> {
    /// The set flags of `value` among `table`.
    #[must_use]
    pub const fn new(value: T, table: &'static [Flag<T>]) -> Self {
        Self { value, table }
    }

    /// The set flags' `hv-defs` accessor names, in table order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.table
            .iter()
            .filter(|flag| (flag.is_set)(self.value))
            .map(|flag| flag.name)
    }
}

impl<T: Copy> core::fmt::Display for SetFlags<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut any = false;
        for name in self.names() {
            if any {
                f.write_str(" ")?;
            }
            any = true;
            for word in name.split('_') {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    core::fmt::Write::write_char(f, first.to_ascii_uppercase())?;
                    f.write_str(chars.as_str())?;
                }
            }
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// Detects the Hyper-V interface and decodes every Microsoft leaf (TLFS 2.2–2.4, 3.13).
///
/// # Errors
///
/// [`NoHyperV`] when there is no hypervisor or it does not offer "Hv#1" with at least leaf
/// 0x4000_0005.
pub fn detect(platform: &impl X64Platform) -> Result<HvInfo, NoHyperV> {
    let leaf1 = platform.cpuid(1, 0);
    if leaf1.ecx & HV_CPUID_1_ECX_HYPERVISOR_PRESENT == 0 {
        return Err(NoHyperV::NoHypervisor);
    }
    let read = |leaf: u32| platform.cpuid(leaf, 0).to_array();
    let vendor_and_max = HvCpuidVendorAndMax::from_cpuid(read(HvCpuidVendorAndMax::LEAF));
    let interface = HvCpuidInterface::from_cpuid(read(HvCpuidInterface::LEAF));
    let max_leaf = vendor_and_max.max_function();
    if interface.signature() != HV_CPUID_INTERFACE_SIGNATURE_HV1
        || max_leaf < HV_CPUID_MIN_MAX_FUNCTION
    {
        return Err(NoHyperV::OtherInterface {
            vendor: vendor_and_max.vendor(),
            max_leaf,
            interface: interface.signature(),
        });
    }
    let optional = |leaf: u32| (max_leaf >= leaf).then(|| read(leaf));
    Ok(HvInfo {
        vendor_and_max,
        interface,
        version: HvHypervisorVersion::from_cpuid(read(HvHypervisorVersion::LEAF)),
        features: HvFeatures::from_cpuid(read(HvFeatures::LEAF)),
        recommendations: HvEnlightenmentInformation::from_cpuid(read(
            HvEnlightenmentInformation::LEAF,
        )),
        limits: HvImplementationLimits::from_cpuid(read(HvImplementationLimits::LEAF)),
        hardware: optional(HvHardwareFeatures::LEAF).map(HvHardwareFeatures::from_cpuid),
        cpu_management: optional(HvCpuManagementFeatures::LEAF)
            .map(HvCpuManagementFeatures::from_cpuid),
        svm: optional(HvSvmFeatures::LEAF).map(HvSvmFeatures::from_cpuid),
        nested_hypervisor: optional(HvNestedHypervisorFeatures::LEAF)
            .map(HvNestedHypervisorFeatures::from_cpuid),
        nested: optional(HvNestedVirtFeatures::LEAF).map(HvNestedVirtFeatures::from_cpuid),
        isolation: optional(HvIsolationConfiguration::LEAF)
            .map(HvIsolationConfiguration::from_cpuid),
    })
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::ToString;

    use super::*;
    use crate::testing::{Event, FakePlatform};

    /// The leaves a QEMU/KVM guest with `hv-relaxed,hv-vpindex,hv-time` reports (vendor
    /// "Microsoft Hv", max leaf 0x4000_000A).
    pub(crate) fn kvm_like() -> FakePlatform {
        let fake = FakePlatform::new();
        fake.set_cpuid(1, 0, [0, 0, 1 << 31, 0]);
        fake.set_cpuid(
            0x4000_0000,
            0,
            [0x4000_000A, 0x7263_694D, 0x666F_736F, 0x7648_2074],
        );
        fake.set_cpuid(0x4000_0001, 0, [0x3123_7648, 0, 0, 0]);
        fake.set_cpuid(0x4000_0003, 0, [0x0000_0262, 0, 0, 0]);
        fake.set_cpuid(0x4000_0004, 0, [0x0000_0020, 0x0000_1FFF, 0, 0]);
        fake.set_cpuid(0x4000_0005, 0, [0x0000_0100, 0x0000_0040, 0, 0]);
        fake
    }

    #[test]
    fn bare_metal_has_no_hypervisor_and_reads_no_more_leaves() {
        let fake = FakePlatform::new();
        assert_eq!(detect(&fake), Err(NoHyperV::NoHypervisor));
        assert_eq!(fake.log(), [Event::Cpuid(1, 0)]);
        assert_eq!(NoHyperV::NoHypervisor.to_string(), "no hypervisor present");
    }

    #[test]
    fn tcg_and_plain_kvm_are_other_interfaces() {
        for (vendor, max, iface, text) in [
            (*b"TCGTCGTCGTCG", 0x4000_0001, 0, "TCGTCGTCGTCG"),
            (*b"KVMKVMKVM\0\0\0", 0x4000_0001, 0, "KVMKVMKVM"),
            (*b"VMwareVMware", 0x4000_0010, 0, "VMwareVMware"),
            (*b"XenVMMXenVMM", 0x4000_0005, 0, "XenVMMXenVMM"),
        ] {
            let fake = FakePlatform::new();
            fake.set_cpuid(1, 0, [0, 0, 1 << 31, 0]);
            let regs = HvCpuidVendorAndMax::new()
                .with_max_function(max)
                .with_vendor(vendor)
                .into_cpuid();
            fake.set_cpuid(0x4000_0000, 0, regs);
            fake.set_cpuid(0x4000_0001, 0, [iface, 0, 0, 0]);
            let err = detect(&fake).unwrap_err();
            assert_eq!(
                err,
                NoHyperV::OtherInterface {
                    vendor,
                    max_leaf: max,
                    interface: iface
                }
            );
            assert_eq!(err.vendor().unwrap().to_string(), text);
        }
    }

    #[test]
    fn hv1_with_too_few_leaves_is_refused() {
        let fake = kvm_like();
        fake.set_cpuid(
            0x4000_0000,
            0,
            [0x4000_0004, 0x7263_694D, 0x666F_736F, 0x7648_2074],
        );
        assert!(matches!(
            detect(&fake),
            Err(NoHyperV::OtherInterface {
                max_leaf: 0x4000_0004,
                ..
            })
        ));
    }

    #[test]
    fn hyperv_leaves_are_decoded_and_leaves_beyond_max_are_not_read() {
        let fake = kvm_like();
        fake.set_cpuid(
            0x4000_0000,
            0,
            [0x4000_0005, 0x7263_694D, 0x666F_736F, 0x7648_2074],
        );
        let info = detect(&fake).unwrap();
        assert_eq!(info.vendor().to_string(), "Microsoft Hv");
        assert_eq!(info.max_leaf(), 0x4000_0005);
        assert!(info.features.privileges().access_hypercall_msrs());
        assert!(info.features.privileges().access_vp_index());
        assert!(
            info.features
                .privileges()
                .access_partition_reference_counter()
        );
        assert!(!info.features.privileges().access_synic_regs());
        assert!(info.recommendations.use_relaxed_timing());
        assert_eq!(info.spinlock_retries(), Some(0x1FFF));
        assert_eq!(info.limits.max_virtual_processors(), 0x100);
        assert_eq!(info.hardware, None);
        assert_eq!(info.isolation, None);
        let highest = fake
            .log()
            .iter()
            .filter_map(|e| {
                if let Event::Cpuid(leaf, _) = e {
                    Some(*leaf)
                } else {
                    None
                }
            })
            .max();
        assert_eq!(highest, Some(0x4000_0005));
    }

    /// Asserts that `table` has exactly one flag for every bit of `flag_bits` and none for
    /// the other bits of a `bits`-wide value.
    fn assert_covers<T: Copy>(
        table: &[Flag<T>],
        bits: u32,
        flag_bits: u128,
        from_bits: impl Fn(u128) -> T,
    ) {
        for bit in 0..bits {
            let value = from_bits(1 << bit);
            let set: std::vec::Vec<_> = table
                .iter()
                .filter(|f| (f.is_set)(value))
                .map(|f| f.name)
                .collect();
            let expected = usize::from(flag_bits & (1 << bit) != 0);
            assert_eq!(set.len(), expected, "bit {bit}: {set:?}");
        }
    }

    #[test]
    fn flag_tables_name_every_single_bit_flag_once() {
        use hv_defs::cpuid::HvEnlightenmentInformation as Rec;
        // Privileges: every non-reserved bit is a flag.
        let privileges = u128::from(!HvPartitionPrivilegeMask::RESERVED_MASK);
        assert_covers(PRIVILEGE_FLAGS, 64, privileges, |b| {
            HvPartitionPrivilegeMask::from_bits(b as u64)
        });
        // Features: ECX bits 10:4 and all of EDX; the privileges and the C-state field
        // (ECX 3:0) are not flags of this table.
        let features = (0x7F0_u128 << 64) | (0xFFFF_FFFF_u128 << 96);
        assert_covers(FEATURE_FLAGS, 128, features, HvFeatures::from_bits);
        // Recommendations: EAX bits 23:0.
        assert_covers(RECOMMENDATION_FLAGS, 128, 0xFF_FFFF, Rec::from_bits);
        assert_eq!(PRIVILEGE_FLAGS.len(), privileges.count_ones() as usize);
        assert_eq!(FEATURE_FLAGS.len(), features.count_ones() as usize);
        assert_eq!(RECOMMENDATION_FLAGS.len(), 24);
    }

    #[test]
    fn set_flags_print_camel_case_names_or_none() {
        let fake = kvm_like();
        let info = detect(&fake).unwrap();
        assert_eq!(
            info.privilege_flags().to_string(),
            "AccessPartitionReferenceCounter AccessHypercallMsrs AccessVpIndex \
             AccessPartitionReferenceTsc"
        );
        assert_eq!(info.feature_flags().to_string(), "none");
        assert_eq!(info.recommendation_flags().to_string(), "UseRelaxedTiming");
        assert_eq!(
            info.privilege_flags().names().next(),
            Some("access_partition_reference_counter")
        );
    }

    #[test]
    fn vendor_text_is_printable() {
        assert_eq!(VendorText(*b"ab\x01c\0\0\0\0\0\0\0\0").to_string(), "ab?c");
        assert_eq!(VendorText([0; 12]).to_string(), "");
    }
}
