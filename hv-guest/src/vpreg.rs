//! Per-VP registers a kernel reads once or often: the VP index (TLFS 7.8.1) and the VP
//! runtime (TLFS 7.9.1). Both are reached by register name, so they work unchanged on x64
//! (MSRs 0x4000_0002 and 0x4000_0010) and arm64 (VP registers).
//!
//! ```no_run
//! # use hv_guest::platform::Platform;
//! # fn demo<P: Platform>(platform: &P, privileges: hv_defs::partition::HvPartitionPrivilegeMask)
//! #     -> Result<(), hv_guest::gate::AccessError> {
//! use hv_guest::vpreg::{vp_index, vp_runtime};
//!
//! let me = vp_index(platform, privileges)?; // keep it in per-CPU data: it never changes
//! let busy_ns = vp_runtime(platform, privileges)?.as_nanos();
//! # let _ = (me, busy_ns); Ok(()) }
//! ```

use hv_defs::HvVpIndex;
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::HvRegisterName;
use hv_defs::vp::HvVpRuntime;

use crate::gate::{AccessError, Unavailable};
use crate::platform::Platform;

/// The index of the VP this runs on (TLFS 7.8.1): fixed for the VP's lifetime, the number
/// the flush and IPI hypercalls use for it. Needs `AccessVpIndex`.
///
/// # Errors
///
/// [`AccessError::Unavailable`] without the privilege (nothing touched),
/// [`AccessError::Hv`] when the platform cannot read the register,
/// [`AccessError::OutOfRange`] when the value does not fit 32 bits.
pub fn vp_index<P: Platform + ?Sized>(
    platform: &P,
    privileges: HvPartitionPrivilegeMask,
) -> Result<HvVpIndex, AccessError> {
    Unavailable::AccessVpIndex.require(privileges.access_vp_index())?;
    // SAFETY: the register exists with the privilege just checked (TLFS 7.8.1); reading it
    // has no effect.
    let value = unsafe { platform.read_register(HvRegisterName::HvRegisterVpIndex) }?;
    HvVpIndex::try_from(value).map_err(|_| AccessError::OutOfRange { value })
}

/// The time this VP has run, guest plus hypervisor time on its behalf, in 100 ns units
/// (TLFS 7.9.1). Needs `AccessVpRunTimeReg`.
///
/// # Errors
///
/// [`AccessError::Unavailable`] without the privilege (nothing touched),
/// [`AccessError::Hv`] when the platform cannot read the register.
pub fn vp_runtime<P: Platform + ?Sized>(
    platform: &P,
    privileges: HvPartitionPrivilegeMask,
) -> Result<HvVpRuntime, AccessError> {
    Unavailable::AccessVpRunTimeReg.require(privileges.access_vp_runtime_reg())?;
    // SAFETY: the register exists with the privilege just checked (TLFS 7.9.1); reading it
    // has no effect.
    let value = unsafe { platform.read_register(HvRegisterName::HvX64RegisterVpRuntime) }?;
    Ok(HvVpRuntime::from_bits(value))
}

#[cfg(test)]
mod tests {
    use hv_defs::msr::{HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_RUNTIME};

    use super::*;
    use crate::testing::{Event, FakePlatform, MsrAccess};

    #[test]
    fn vp_index_and_runtime_read_their_registers() {
        let fake = FakePlatform::new();
        fake.define_msr(HV_X64_MSR_VP_INDEX, 70, MsrAccess::ReadOnly);
        fake.define_msr(HV_X64_MSR_VP_RUNTIME, 12_345, MsrAccess::ReadOnly);
        let all = HvPartitionPrivilegeMask::new()
            .with_access_vp_index(true)
            .with_access_vp_runtime_reg(true);
        assert_eq!(vp_index(&fake, all), Ok(70));
        assert_eq!(
            vp_runtime(&fake, all).map(HvVpRuntime::as_nanos),
            Ok(1_234_500)
        );
        assert_eq!(
            fake.log(),
            [
                Event::ReadMsr(HV_X64_MSR_VP_INDEX, 70),
                Event::ReadMsr(HV_X64_MSR_VP_RUNTIME, 12_345)
            ]
        );
    }

    #[test]
    fn missing_privileges_touch_nothing_and_bad_values_are_errors() {
        let fake = FakePlatform::new();
        let none = HvPartitionPrivilegeMask::new();
        assert_eq!(
            vp_index(&fake, none),
            Err(AccessError::Unavailable(Unavailable::AccessVpIndex))
        );
        assert_eq!(
            vp_runtime(&fake, none),
            Err(AccessError::Unavailable(Unavailable::AccessVpRunTimeReg))
        );
        assert!(fake.log().is_empty());
        fake.define_msr(HV_X64_MSR_VP_INDEX, 1 << 32, MsrAccess::ReadOnly);
        assert_eq!(
            vp_index(&fake, none.with_access_vp_index(true)),
            Err(AccessError::OutOfRange { value: 1 << 32 })
        );
    }
}
