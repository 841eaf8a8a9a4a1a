//! Idling and resetting through the hypervisor: the guest idle MSR (TLFS 7.5) and the reset
//! MSR (appendix C). Both are x64 MSRs with no arm64 counterpart in the TLFS, so both take an
//! [`X64Platform`].
//!
//! ```no_run
//! # use hv_guest::platform::X64Platform;
//! # fn idle_loop<P: X64Platform>(platform: &P, info: &hv_guest::discovery::HvInfo) {
//! use hv_guest::power::guest_idle;
//!
//! // In the idle loop, instead of HLT: returns when an interrupt arrives, even a masked one.
//! if guest_idle(platform, info.features.privileges()).is_err() {
//!     // No AccessGuestIdleReg: fall back to STI; HLT.
//! }
//! # }
//! ```

use hv_defs::cpuid::HvEnlightenmentInformation;
use hv_defs::msr::{HV_X64_MSR_GUEST_IDLE, HV_X64_MSR_RESET, HvResetMsr};
use hv_defs::partition::HvPartitionPrivilegeMask;

use crate::gate::Unavailable;
use crate::platform::X64Platform;

/// Enters the virtual processor idle sleep state by reading `HV_X64_MSR_GUEST_IDLE`
/// (TLFS 7.5); returns when an interrupt arrives for this VP, whether or not interrupts are
/// enabled. Needs `AccessGuestIdleReg`.
///
/// # Errors
///
/// [`Unavailable::AccessGuestIdleReg`]; the MSR is not touched then.
pub fn guest_idle<P: X64Platform + ?Sized>(
    platform: &P,
    privileges: HvPartitionPrivilegeMask,
) -> Result<(), Unavailable> {
    Unavailable::AccessGuestIdleReg.require(privileges.access_guest_idle_reg())?;
    // SAFETY: the MSR exists with the privilege just checked (TLFS 7.5, appendix C); the
    // read idles the VP and returns a value that means nothing.
    let _ = unsafe { platform.read_msr(HV_X64_MSR_GUEST_IDLE) };
    Ok(())
}

/// Whether the hypervisor recommends resetting through `HV_X64_MSR_RESET` rather than the
/// chipset (CPUID 0x4000_0004 EAX bit 4, TLFS 2.4.5).
#[must_use]
pub const fn reset_recommended(recommendations: HvEnlightenmentInformation) -> bool {
    recommendations.use_hv_register_for_reset()
}

/// Asks the hypervisor to reset the partition by writing [`HvResetMsr::RESET`] to
/// `HV_X64_MSR_RESET` (appendix C). Needs `AccessResetReg`. On a hypervisor that honours it
/// this does not return; it returns `Ok` only when the host ignored the request.
///
/// # Errors
///
/// [`Unavailable::AccessResetReg`]; the MSR is not touched then.
pub fn reset<P: X64Platform + ?Sized>(
    platform: &P,
    privileges: HvPartitionPrivilegeMask,
) -> Result<(), Unavailable> {
    Unavailable::AccessResetReg.require(privileges.access_reset_reg())?;
    // SAFETY: the MSR exists with the privilege just checked (appendix C); the value sets
    // only the reset bit, and the write makes the hypervisor touch no guest memory.
    unsafe { platform.write_msr(HV_X64_MSR_RESET, HvResetMsr::RESET.into_bits()) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    #[test]
    fn idle_reads_and_reset_writes_their_msrs() {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_GUEST_IDLE, 0, MsrAccess::ReadOnly);
        fake.define_msr(HV_X64_MSR_RESET, 0, MsrAccess::ReadWrite);
        let all = HvPartitionPrivilegeMask::new()
            .with_access_guest_idle_reg(true)
            .with_access_reset_reg(true);
        assert_eq!(guest_idle(&fake, all), Ok(()));
        assert_eq!(reset(&fake, all), Ok(()));
        assert_eq!(
            fake.log(),
            [
                Event::ReadMsr(HV_X64_MSR_GUEST_IDLE, 0),
                Event::WriteMsr(HV_X64_MSR_RESET, 1)
            ]
        );
        assert!(reset_recommended(
            HvEnlightenmentInformation::new().with_use_hv_register_for_reset(true)
        ));
    }

    #[test]
    fn missing_privileges_touch_nothing() {
        let fake = FakePlatform::new();
        let none = HvPartitionPrivilegeMask::new();
        assert_eq!(
            guest_idle(&fake, none),
            Err(Unavailable::AccessGuestIdleReg)
        );
        assert_eq!(reset(&fake, none), Err(Unavailable::AccessResetReg));
        assert!(fake.log().is_empty());
    }
}
