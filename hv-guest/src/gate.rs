//! What gates each enlightenment: the typed "unavailable" answers of the wrappers in this
//! crate (TLFS 2.4.4, 2.4.5, 4.2.2).
//!
//! Every wrapper checks the privilege, feature flag or recommendation the TLFS names for the
//! register or hypercall it uses *before* touching it, and answers [`Unavailable`] naming the
//! missing bit otherwise. A missing privilege therefore never reaches the hardware: on x64
//! an absent synthetic MSR raises #GP, and a hypercall the partition may not make fails.
//!
//! The privileges are the partition privilege mask, the same on x64 (CPUID 0x4000_0003
//! EAX:EBX) and arm64 (`HvRegisterPrivilegesAndFeaturesInfo` words 0–1). Feature flags sit at
//! different bits on the two architectures, so wrappers that need one take an
//! [`hv_defs::cpuid::HvFeaturesInfo`]. Recommendations are CPUID 0x4000_0004 /
//! `HvRegisterFeaturesInfo` ([`hv_defs::cpuid::HvEnlightenmentInformation`]) on both.

use hv_defs::status::HvError;

/// The privilege, feature flag or recommendation an enlightenment needs and the partition
/// lacks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Unavailable {
    /// Privilege `AccessVpRunTimeReg`, bit 0 (TLFS 4.2.2): the VP runtime register.
    AccessVpRunTimeReg,
    /// Privilege `AccessPartitionReferenceCounter`, bit 1 (TLFS 4.2.2, 12.4): the reference
    /// counter register.
    AccessPartitionReferenceCounter,
    /// Privilege `AccessIntrCtrlRegs`, bit 4 (TLFS 4.2.2, 10.2.3, 7.8.7): the APIC MSRs and
    /// the VP assist page register.
    AccessIntrCtrlRegs,
    /// Privilege `AccessVpIndex`, bit 6 (TLFS 4.2.2, 7.8.1): the VP index register.
    AccessVpIndex,
    /// Privilege `AccessResetReg`, bit 7 (TLFS 4.2.2, appendix C): the reset MSR.
    AccessResetReg,
    /// Privilege `AccessPartitionReferenceTsc`, bit 9 (TLFS 4.2.2, 12.7): the reference TSC
    /// page register.
    AccessPartitionReferenceTsc,
    /// Privilege `AccessGuestIdleReg`, bit 10 (TLFS 4.2.2, 7.5): the guest idle MSR.
    AccessGuestIdleReg,
    /// Privilege `AccessFrequencyRegs`, bit 11 (TLFS 4.2.2, appendix C): the TSC and APIC
    /// frequency MSRs.
    AccessFrequencyRegs,
    /// Feature "timer frequency details available", CPUID 0x4000_0003 EDX bit 8
    /// (TLFS 2.4.4).
    FrequencyRegsAvailable,
    /// Feature `GuestCrashMsrsAvailable` (x64 CPUID 0x4000_0003 EDX bit 10, arm64 features
    /// word 2 bit 8; TLFS 2.4.4, 4.3).
    GuestCrashRegsAvailable,
    /// Neither "use hypercall for local flush" nor "for remote flush" is recommended
    /// (CPUID 0x4000_0004 EAX bits 1 and 2, TLFS 2.4.5, appendix A).
    UseHypercallForFlush,
    /// "Use `HvCallSendSyntheticClusterIpi`" is not recommended (CPUID 0x4000_0004 EAX bit 10,
    /// TLFS 2.4.5).
    UseSyntheticClusterIpi,
    /// "Use the `Ex` processor-set hypercalls" is not recommended (CPUID 0x4000_0004 EAX bit
    /// 11, TLFS 2.4.5, 9.4.3, 9.4.5, 10.5.3), but the request needs a VP set.
    UseExProcessorMasks,
}

impl Unavailable {
    /// The TLFS name of the missing bit.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AccessVpRunTimeReg => "AccessVpRunTimeReg",
            Self::AccessPartitionReferenceCounter => "AccessPartitionReferenceCounter",
            Self::AccessIntrCtrlRegs => "AccessIntrCtrlRegs",
            Self::AccessVpIndex => "AccessVpIndex",
            Self::AccessResetReg => "AccessResetReg",
            Self::AccessPartitionReferenceTsc => "AccessPartitionReferenceTsc",
            Self::AccessGuestIdleReg => "AccessGuestIdleReg",
            Self::AccessFrequencyRegs => "AccessFrequencyRegs",
            Self::FrequencyRegsAvailable => "timer frequency details available",
            Self::GuestCrashRegsAvailable => "GuestCrashMsrsAvailable",
            Self::UseHypercallForFlush => "UseHypercallForLocalFlush/RemoteFlush",
            Self::UseSyntheticClusterIpi => "UseSyntheticClusterIpi",
            Self::UseExProcessorMasks => "UseExProcessorMasks",
        }
    }

    /// What kind of bit is missing: `"privilege"`, `"feature"` or `"recommendation"`.
    #[must_use]
    pub const fn kind(self) -> &'static str {
        match self {
            Self::AccessVpRunTimeReg
            | Self::AccessPartitionReferenceCounter
            | Self::AccessIntrCtrlRegs
            | Self::AccessVpIndex
            | Self::AccessResetReg
            | Self::AccessPartitionReferenceTsc
            | Self::AccessGuestIdleReg
            | Self::AccessFrequencyRegs => "privilege",
            Self::FrequencyRegsAvailable | Self::GuestCrashRegsAvailable => "feature",
            Self::UseHypercallForFlush
            | Self::UseSyntheticClusterIpi
            | Self::UseExProcessorMasks => "recommendation",
        }
    }

    /// `Ok(())` when `present`, else `Err(self)`.
    ///
    /// # Errors
    ///
    /// `self` when the bit is not present.
    pub const fn require(self, present: bool) -> Result<(), Self> {
        if present { Ok(()) } else { Err(self) }
    }
}

impl core::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the partition lacks the {} {}", self.name(), self.kind())
    }
}

impl core::error::Error for Unavailable {}

/// Why reading or writing a synthetic register failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// The register is not available to this partition; nothing was touched.
    Unavailable(Unavailable),
    /// The platform could not reach the register (on arm64 the register hypercall failed;
    /// on x64 a register without an MSR).
    Hv(HvError),
    /// The register held a value its TLFS definition rules out (for example a VP index that
    /// does not fit 32 bits).
    OutOfRange {
        /// The value read.
        value: u64,
    },
}

impl From<Unavailable> for AccessError {
    fn from(missing: Unavailable) -> Self {
        Self::Unavailable(missing)
    }
}

impl From<HvError> for AccessError {
    fn from(error: HvError) -> Self {
        Self::Hv(error)
    }
}

impl core::fmt::Display for AccessError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unavailable(missing) => missing.fmt(f),
            Self::Hv(error) => write!(f, "register access failed: {error}"),
            Self::OutOfRange { value } => {
                write!(f, "the register held the impossible value {value:#x}")
            }
        }
    }
}

impl core::error::Error for AccessError {}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::ToString;

    use super::*;

    #[test]
    fn messages_name_the_missing_bit_and_its_kind() {
        assert_eq!(
            Unavailable::AccessPartitionReferenceTsc.to_string(),
            "the partition lacks the AccessPartitionReferenceTsc privilege"
        );
        assert_eq!(
            Unavailable::GuestCrashRegsAvailable.to_string(),
            "the partition lacks the GuestCrashMsrsAvailable feature"
        );
        assert_eq!(
            Unavailable::UseExProcessorMasks.to_string(),
            "the partition lacks the UseExProcessorMasks recommendation"
        );
        assert_eq!(
            Unavailable::AccessVpIndex.require(false),
            Err(Unavailable::AccessVpIndex)
        );
        assert_eq!(Unavailable::AccessVpIndex.require(true), Ok(()));
    }
}
