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

    /// Reads the version leaf again: it is zero until the guest OS identity is set
    /// (TLFS 2.4.3).
    pub fn read_version(&mut self, platform: &impl X64Platform) {
        let leaf = HvHypervisorVersion::LEAF;
        self.version = HvHypervisorVersion::from_cpuid(platform.cpuid(leaf, 0).to_array());
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

    #[test]
    fn vendor_text_is_printable() {
        assert_eq!(VendorText(*b"ab\x01c\0\0\0\0\0\0\0\0").to_string(), "ab?c");
        assert_eq!(VendorText([0; 12]).to_string(), "");
    }
}
