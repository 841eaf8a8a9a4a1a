//! arm64 discovery: the SMCCC vendor-hypervisor UID, then the feature registers (post-TLFS
//! 6.0; Linux `arch/arm64/hyperv/mshyperv.c` `hyperv_detect_via_smccc`, `hyperv_init`).
//!
//! [`detect`] makes one SMCCC call, the vendor-specific hypervisor service's "Call UID
//! query" (`hvc #0`, W0 = 0x8600_FF01), and accepts the partition only when the UID is the
//! Microsoft hypervisor's. It makes no hypercall: the first hypercall is the one that sets the
//! guest OS identity. [`HvInfo::read`] then reads the CPUID-equivalent synthetic registers
//! Linux reads after the identity: the hypervisor version (`HvRegisterHypervisorVersion`),
//! the privileges and features (`HvRegisterPrivilegesAndFeaturesInfo`, arm64 layout) and the
//! recommendations (`HvRegisterFeaturesInfo`).

use hv_defs::HV_VP_INDEX_SELF;
use hv_defs::arm64::{
    HV_ARM64_SMCCC_UID, KVM_ARM64_SMCCC_UID, SMCCC_RET_NOT_SUPPORTED, SMCCC_VENDOR_HYP_CALL_UID,
    SmcccUid,
};
use hv_defs::cpuid::{
    HvArm64Features, HvEnlightenmentInformation, HvFeaturesInfo, HvHypervisorVersion,
};
use hv_defs::register::HvRegisterName;
use hv_defs::vp::HvInputVtl;

use super::{Arm64Platform, HvcConvention, HvcRegs, get_vp_register};
use crate::hypercall::CallError;

/// Why this partition does not offer the Hyper-V interface.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NoHyperV {
    /// The "Call UID query" is not implemented: W0 read `SMCCC_RET_NOT_SUPPORTED` (QEMU's
    /// built-in PSCI under TCG, firmware without vendor hypervisor services).
    UidQueryNotSupported,
    /// A hypervisor answered with another UID.
    OtherHypervisor {
        /// The UID it returned.
        uid: SmcccUid,
    },
}

impl NoHyperV {
    /// The name of a hypervisor this crate knows by UID (KVM), if the UID is one.
    #[must_use]
    pub fn known_hypervisor(&self) -> Option<&'static str> {
        match self {
            Self::OtherHypervisor { uid } if *uid == KVM_ARM64_SMCCC_UID => Some("KVM"),
            _ => None,
        }
    }
}

impl core::fmt::Display for NoHyperV {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UidQueryNotSupported => {
                f.write_str("SMCCC vendor hypervisor UID query not supported")
            }
            Self::OtherHypervisor { uid } => match self.known_hypervisor() {
                Some(name) => write!(f, "SMCCC vendor hypervisor UID {uid} ({name}), not Hyper-V"),
                None => write!(f, "SMCCC vendor hypervisor UID {uid}, not Hyper-V"),
            },
        }
    }
}

/// Asks the hypervisor for its SMCCC UID and accepts only the Microsoft hypervisor's.
///
/// # Errors
///
/// [`NoHyperV`] says what answered instead.
pub fn detect<P: Arm64Platform + ?Sized>(platform: &P) -> Result<SmcccUid, NoHyperV> {
    let mut regs = HvcRegs::default();
    regs.x[0] = u64::from(SMCCC_VENDOR_HYP_CALL_UID);
    // SAFETY: the UID query names no memory and changes nothing.
    unsafe { platform.hvc(HvcConvention::Smccc, &mut regs) };
    // An SMC32 result is W0; QEMU sign-extends -1 into X0, a 32-bit host may not.
    if regs.x[0] as u32 as i32 == SMCCC_RET_NOT_SUPPORTED {
        return Err(NoHyperV::UidQueryNotSupported);
    }
    let uid = SmcccUid::from_regs([regs.x[0], regs.x[1], regs.x[2], regs.x[3]]);
    if uid == HV_ARM64_SMCCC_UID {
        Ok(uid)
    } else {
        Err(NoHyperV::OtherHypervisor { uid })
    }
}

/// What the Microsoft hypervisor reports about this arm64 partition.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HvInfo {
    /// The SMCCC UID the hypervisor answered.
    pub uid: SmcccUid,
    /// `HvRegisterHypervisorVersion`, as CPUID 0x4000_0002 (TLFS 2.4.3, 7.8.2).
    pub version: HvHypervisorVersion,
    /// `HvRegisterPrivilegesAndFeaturesInfo` in its arm64 layout (post-TLFS 6.0; Linux
    /// `hyperv_init` reads privileges from words 0–1 and the feature flags from word 2).
    pub features: HvArm64Features,
    /// `HvRegisterFeaturesInfo`, as CPUID 0x4000_0004 (TLFS 2.4.5, 7.8.2).
    pub recommendations: HvEnlightenmentInformation,
}

impl HvInfo {
    /// Reads the three registers (after the guest OS identity is set, as the version reads
    /// zero before, TLFS 2.4.3).
    ///
    /// # Errors
    ///
    /// The first register read that failed.
    pub fn read<P: Arm64Platform + ?Sized>(platform: &P, uid: SmcccUid) -> Result<Self, CallError> {
        let read = |name| {
            get_vp_register(platform, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, name)
                .map(|v| v.as_u128())
        };
        Ok(Self {
            uid,
            version: HvHypervisorVersion::from_bits(read(
                HvRegisterName::HvRegisterHypervisorVersion,
            )?),
            features: HvArm64Features::from_bits(read(
                HvRegisterName::HvRegisterPrivilegesAndFeaturesInfo,
            )?),
            recommendations: HvEnlightenmentInformation::from_bits(read(
                HvRegisterName::HvRegisterFeaturesInfo,
            )?),
        })
    }

    /// The features value in the architecture-neutral form, for questions whose bits differ
    /// between x64 and arm64 (crash registers, direct synthetic timers).
    #[must_use]
    pub const fn features_info(&self) -> HvFeaturesInfo {
        HvFeaturesInfo::Arm64(self.features)
    }

    /// The spinlock retry count after which to notify the hypervisor, or `None` for "never
    /// notify" (TLFS 2.4.5, 14.5.1).
    #[must_use]
    pub const fn spinlock_retries(&self) -> Option<u32> {
        self.recommendations.spinlock_retries()
    }
}
