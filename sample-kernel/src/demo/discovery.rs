//! Hypervisor discovery with raw CPUID (TLFS 2.2 "Hypervisor Discovery", 2.4.1, 2.4.2,
//! and the first step of TLFS 3.13).
//!
//! Interim: this module is replaced by `hv-guest`'s discovery when it lands. It reads
//! only CPUID, never a synthetic MSR.

use kernel_rt::arch::x86_64::cpu::cpuid;
use kernel_rt::report::Outcome;

/// CPUID.1:ECX bit 31: a hypervisor is present (TLFS 2.2).
const CPUID_1_ECX_HYPERVISOR: u32 = 1 << 31;

/// Hypervisor CPUID leaf range and vendor ID signature (TLFS 2.4.1).
const LEAF_VENDOR: u32 = 0x4000_0000;

/// The maximum leaf a hypervisor with the "Hv#1" interface reports at least (TLFS 3.13).
const MIN_HV1_MAX_LEAF: u32 = 0x4000_0005;

/// Hypervisor vendor-neutral interface identification (TLFS 2.4.2).
const LEAF_INTERFACE: u32 = 0x4000_0001;

/// The interface signature of the Microsoft hypervisor interface, "Hv#1" in EAX of
/// 0x40000001 (TLFS 2.4.2).
const HV_INTERFACE_SIGNATURE: u32 = u32::from_le_bytes(*b"Hv#1");

/// What CPUID says about the hypervisor.
#[derive(Debug)]
pub(crate) enum Discovery {
    /// `CPUID.1:ECX[31]` is clear.
    NoHypervisor,
    /// A hypervisor is present; `interface` is EAX of leaf 0x40000001 (0 when the
    /// maximum leaf does not reach it).
    Hypervisor {
        vendor: [u8; 12],
        max_leaf: u32,
        interface: u32,
    },
}

impl Discovery {
    /// Reads CPUID.
    pub(crate) fn probe() -> Self {
        if cpuid(1, 0)[2] & CPUID_1_ECX_HYPERVISOR == 0 {
            return Self::NoHypervisor;
        }
        let [max_leaf, ebx, ecx, edx] = cpuid(LEAF_VENDOR, 0);
        let mut vendor = [0; 12];
        for (chunk, reg) in vendor.chunks_exact_mut(4).zip([ebx, ecx, edx]) {
            chunk.copy_from_slice(&reg.to_le_bytes());
        }
        let interface = if max_leaf >= LEAF_INTERFACE {
            cpuid(LEAF_INTERFACE, 0)[0]
        } else {
            0
        };
        Self::Hypervisor {
            vendor,
            max_leaf,
            interface,
        }
    }

    /// Whether the Microsoft hypervisor interface is offered: signature "Hv#1" and a
    /// maximum leaf of at least 0x40000005 (TLFS 3.13).
    pub(crate) fn has_hyperv_interface(&self) -> bool {
        matches!(self, Self::Hypervisor { interface, max_leaf, .. }
            if *interface == HV_INTERFACE_SIGNATURE && *max_leaf >= MIN_HV1_MAX_LEAF)
    }

    /// The report's hypervisor identity line.
    pub(crate) fn identity(&self) -> Outcome {
        match self {
            Self::NoHypervisor => {
                Outcome::unavailable(format_args!("no hypervisor: CPUID.1:ECX[31] clear"))
            }
            Self::Hypervisor {
                vendor, max_leaf, ..
            } if self.has_hyperv_interface() => Outcome::ok(format_args!(
                "vendor \"{}\", max leaf {max_leaf:#x}, interface \"Hv#1\"",
                vendor.escape_ascii()
            )),
            Self::Hypervisor {
                vendor,
                max_leaf,
                interface,
            } => Outcome::unavailable(format_args!(
                "hypervisor without Hyper-V interface (vendor \"{}\", max leaf {max_leaf:#x}, interface {interface:#x})",
                vendor.escape_ascii()
            )),
        }
    }
}
