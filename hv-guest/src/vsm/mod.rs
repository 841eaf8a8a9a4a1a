//! Virtual Secure Mode, the guest side (TLFS 15): discovering VSM, enabling a VTL for the
//! partition and its VPs, VTL calls and returns, the registers of other VTLs, and VTL memory
//! protections.
//!
//! [`Vsm`] is the handle. It is made from a [`Hypercalls`] handle and the partition
//! privileges, and only when the partition has the three privileges TLFS 15.3.1 requires
//! (`AccessVsm`, `AccessVpRegisters`, `AccessSynicRegs`); otherwise
//! [`VsmError::Unavailable`] says which one is missing, before anything is touched.
//!
//! | TLFS | what | here |
//! | --- | --- | --- |
//! | 15.3.1 | detection | [`Vsm::new`] |
//! | 15.3.2, 15.3.3, 15.8 | capabilities, partition and VP status, code page offsets | [`Vsm::status`] and one getter each |
//! | 15.4, 15.15.3 | enable a VTL for the partition | [`Vsm::enable_partition_vtl`] |
//! | 15.4, 15.15.4 | enable a VTL on a VP, with its initial context | [`Vsm::enable_vp_vtl`], [`InitialVpContextBuilder`] |
//! | 15.5.1 | partition configuration per VTL | [`Vsm::partition_config`], [`Vsm::set_partition_config`] |
//! | 15.6, 15.15.5 | VTL call through the hypercall page | [`Vsm::vtl_call_gate`], [`VtlCallGate::call`] |
//! | 15.7, 15.15.6 | VTL return, normal and fast | [`Vsm::vtl_return_gate`], [`VtlReturnGate`] |
//! | 15.6.1.2, 15.8.2 | entry reason, VINA flag, return registers | [`VpAssistPage`], [`VtlControl`] |
//! | 15.13.3, 7.10.1, 7.10.2 | registers of another VTL | [`Vsm::get_vtl_registers`], [`Vsm::set_vtl_registers`] |
//! | 15.9, 15.15.2 | VTL protections of GPA pages | [`Vsm::modify_vtl_protection_mask`] |
//! | 7.10.3, 15.5.1.4 | start a VP in a VTL | [`Vsm::start_virtual_processor`] |
//!
//! # Typed outcomes
//!
//! Enabling a VTL that is already enabled is reported by the hypervisor as
//! `HV_STATUS_VTL_ALREADY_ENABLED`; the enable calls turn it into
//! [`Enablement::AlreadyEnabled`], an `Ok`, so idempotent setup (a kernel that runs its VSM
//! bring-up again, or one VP enabling a VTL the partition already has) needs no special
//! case, and a caller who cares can still tell. `HV_STATUS_ACCESS_DENIED` and
//! `HV_STATUS_INVALID_VTL_STATE` become [`VsmError::AccessDenied`] and
//! [`VsmError::InvalidVtlState`]; every other failure is [`VsmError::Call`].
//!
//! # The flow, for a kernel that carries its own VTL 1
//!
//! VTL 0 enables VTL 1 for the partition and for its VP, with an initial context captured
//! from its own state that starts VTL 1 at an entry function of the same kernel on a stack
//! of its own; then it makes VTL calls. The first call enters VTL 1 at that function. VTL 1
//! has private copies of the guest OS identity, the hypercall page and the VP assist page
//! (TLFS 15.11.1.1), so it brings them up itself, then serves requests in a loop of VTL
//! returns. Requests and answers travel in the shared registers ([`X64VtlRegisters`]).
//!
//! ```no_run
//! # #[cfg(target_arch = "x86_64")]
//! # mod demo {
//! use hv_guest::arch::x86_64::X64;
//! use hv_guest::defs::vsm::{HV_VTL1, HvEnablePartitionVtlFlags, HvMapGpaFlags};
//! use hv_guest::defs::vsm::{HvRegisterVsmPartitionConfig, HvVtlEntryReason};
//! use hv_guest::defs::vp::HvInputVtl;
//! use hv_guest::hyperv::HypercallPage;
//! use hv_guest::page::IoPages;
//! use hv_guest::vsm::{InitialVpContextBuilder, VpAssistPage, Vsm, X64VtlRegisters};
//! use hv_guest::vsm::entry_stack_pointer;
//!
//! type Error = Box<dyn core::error::Error>;
//!
//! /// VTL 0: enable VTL 1 on this VP, then ask it to protect page `gpn`.
//! fn vtl0(
//!     hcp: &HypercallPage<X64>,
//!     io: &mut IoPages<'_>,
//!     vp_index: u32,
//!     vtl1_stack_top: u64,
//!     gpn: u64,
//! ) -> Result<u64, Error> {
//!     let vsm = Vsm::new(hcp.hypercalls(), hcp.info().features.privileges())?;
//!     let status = vsm.status(io)?;
//!     if status.partition.maximum_vtl() < HV_VTL1 {
//!         return Err("the partition may not enable VTL 1".into());
//!     }
//!     // Enabled now or already: both are fine for setup.
//!     let _ = vsm.enable_partition_vtl(io, HV_VTL1, HvEnablePartitionVtlFlags::new())?;
//!     let rsp = entry_stack_pointer(vtl1_stack_top).ok_or("no stack")?;
//!     let entry = vtl1_entry as extern "C" fn() -> ! as usize as u64;
//!     let context = InitialVpContextBuilder::capture(&X64, entry, rsp)?.build();
//!     let _ = vsm.enable_vp_vtl(io, vp_index, HV_VTL1, &context)?;
//!
//!     let gate = vsm.vtl_call_gate(io)?;
//!     let mut regs = X64VtlRegisters::default();
//!     gate.call(&mut regs); // first entry: VTL 1 starts at `vtl1_entry` and sets itself up
//!     regs.rdi = gpn; // the request goes up in RDI ...
//!     gate.call(&mut regs);
//!     Ok(regs.rsi) // ... and the answer comes down in RSI
//! }
//!
//! /// VTL 1 starts here on its own stack; it brings up its own hypercall page (as
//! /// `hyperv` does for VTL 0) and VP assist page, then calls `vtl1_serve`.
//! extern "C" fn vtl1_entry() -> ! {
//!     loop {}
//! }
//!
//! /// VTL 1's request loop: return to VTL 0, handle the call that brings the VP back.
//! fn vtl1_serve(
//!     hcp: &HypercallPage<X64>,
//!     io: &mut IoPages<'_>,
//!     assist: &VpAssistPage,
//! ) -> Result<(), Error> {
//!     let vsm = Vsm::new(hcp.hypercalls(), hcp.info().features.privileges())?;
//!     // VTL 1 may apply protections once this write-once bit is set (TLFS 15.5.1.1).
//!     let config = vsm.partition_config(io, HvInputVtl::CURRENT)?;
//!     let config = config.with_enable_vtl_protection(true);
//!     vsm.set_partition_config(io, HvInputVtl::CURRENT, config)?;
//!     let gate = vsm.vtl_return_gate(io)?;
//!     let control = assist.vtl_control();
//!     let mut regs = X64VtlRegisters::default();
//!     loop {
//!         gate.fast_return(&mut regs); // runs VTL 0 until its next VTL call
//!         if control.entry_reason() == HvVtlEntryReason::HvVtlEntryVtlCall {
//!             let read_only = HvMapGpaFlags::new().with_readable(true);
//!             let done = vsm.modify_vtl_protection_mask(
//!                 io,
//!                 HvInputVtl::CURRENT,
//!                 read_only,
//!                 &[regs.rdi],
//!             );
//!             regs.rsi = u64::from(done.is_ok());
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! A write by VTL 0 to the protected page then leaves VTL 0 and enters VTL 1 with a memory
//! intercept (TLFS 15.9.2, 15.13).

mod context;
mod switch;

pub use context::{
    CaptureError, InitialVpContextBuilder, X64CpuState, X64Selectors, X64SystemState,
    entry_stack_pointer,
};
pub use switch::{
    VpAssistPage, VtlCallGate, VtlCodeEntry, VtlControl, VtlPlatform, VtlReturnGate,
    X64VtlRegisters,
};

use hv_defs::hypercall::HvCallCode;
use hv_defs::partition::HvPartitionPrivilegeMask;
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::status::HvError;
use hv_defs::vp::{HvInitialVpContext, HvInputVtl};
use hv_defs::vsm::{
    HV_MAX_VTL, HvEnablePartitionVtlFlags, HvEnablePartitionVtlInput, HvEnableVpVtlInput,
    HvMapGpaFlags, HvModifyVtlProtectionMaskInput, HvRegisterVsmCapabilities,
    HvRegisterVsmCodePageOffsets, HvRegisterVsmPartitionConfig, HvRegisterVsmPartitionStatus,
    HvRegisterVsmVpStatus,
};
use hv_defs::{HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, HvVpIndex, HvVtl};

use crate::hypercall::{CallError, Hypercalls, RepError};
use crate::page::IoPages;
use crate::platform::Platform;

/// A partition privilege a VSM operation needs (TLFS 4.2.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// `AccessVsm`, bit 48 (TLFS 15.3.1).
    AccessVsm,
    /// `AccessVpRegisters`, bit 49: the VSM registers are VP registers (TLFS 15.3.1).
    AccessVpRegisters,
    /// `AccessSynicRegs`, bit 2 (TLFS 15.3.1).
    AccessSynicRegs,
    /// `StartVirtualProcessor`, bit 53 (TLFS 7.10.3).
    StartVirtualProcessor,
    /// `AccessIntrCtrlRegs` (appendix C: `AccessApicMsrs`), bit 4: the VP assist page
    /// register.
    AccessIntrCtrlRegs,
}

impl Privilege {
    /// The TLFS name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::AccessVsm => "AccessVsm",
            Self::AccessVpRegisters => "AccessVpRegisters",
            Self::AccessSynicRegs => "AccessSynicRegs",
            Self::StartVirtualProcessor => "StartVirtualProcessor",
            Self::AccessIntrCtrlRegs => "AccessIntrCtrlRegs",
        }
    }
}

/// Why a VSM operation was not made or did not succeed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VsmError {
    /// The partition lacks this privilege; nothing was touched.
    Unavailable(Privilege),
    /// The hypervisor refused the caller (`HV_STATUS_ACCESS_DENIED`), e.g. a VTL enabling
    /// a VTL it may not (TLFS 15.15.3, 15.15.4).
    AccessDenied,
    /// The VTL is not in a state that allows the operation (`HV_STATUS_INVALID_VTL_STATE`),
    /// e.g. enabling a VP VTL the partition has not enabled (TLFS 15.4.2).
    InvalidVtlState,
    /// A VTL number outside what the operation accepts (1–15 to enable, 0–15 otherwise;
    /// TLFS 15.2).
    InvalidVtl(HvVtl),
    /// An input sets bits outside `allowed` (reserved bits, or flags the call does not
    /// take); nothing was sent.
    InvalidBits {
        /// The value given.
        value: u64,
        /// The bits it may set.
        allowed: u64,
    },
    /// A VTL call is impossible: no VTL above the active one is enabled on this VP (the call
    /// would raise #UD, TLFS 15.6.1.1).
    NoHigherVtl {
        /// The active VTL.
        active: HvVtl,
        /// The VTLs enabled on the VP.
        enabled: u16,
    },
    /// A VTL return is impossible: the VP runs in VTL 0 (it would raise #UD, TLFS 15.7.2).
    LowestVtlActive,
    /// A register did not read back as written (e.g. a host that ignores the write).
    NotAccepted {
        /// What it read back.
        readback: u64,
    },
    /// Any other failure of the call.
    Call(CallError),
}

impl From<CallError> for VsmError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Hv(HvError::ACCESS_DENIED) => Self::AccessDenied,
            CallError::Hv(HvError::INVALID_VTL_STATE) => Self::InvalidVtlState,
            other => Self::Call(other),
        }
    }
}

impl From<HvError> for VsmError {
    fn from(error: HvError) -> Self {
        Self::from(CallError::Hv(error))
    }
}

impl core::fmt::Display for VsmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unavailable(privilege) => {
                write!(f, "the partition lacks the {} privilege", privilege.name())
            }
            Self::AccessDenied => f.write_str("the hypervisor denied access"),
            Self::InvalidVtlState => f.write_str("the VTL is not in a state for this operation"),
            Self::InvalidVtl(vtl) => write!(f, "VTL {vtl} is not valid here"),
            Self::InvalidBits { value, allowed } => {
                write!(f, "{value:#x} sets bits outside {allowed:#x}")
            }
            Self::NoHigherVtl { active, enabled } => write!(
                f,
                "no VTL above VTL {active} is enabled on this VP (enabled set {enabled:#x})"
            ),
            Self::LowestVtlActive => f.write_str("the VP runs in VTL 0; there is no lower VTL"),
            Self::NotAccepted { readback } => {
                write!(f, "the register read back as {readback:#018x}")
            }
            Self::Call(error) => write!(f, "{error}"),
        }
    }
}

impl core::error::Error for VsmError {}

/// A rep operation that stopped before completing every element.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VsmRepError {
    /// Why it stopped.
    pub error: VsmError,
    /// How many elements, counted from the first, completed (TLFS 3.2).
    pub completed: usize,
}

impl From<RepError> for VsmRepError {
    fn from(error: RepError) -> Self {
        Self {
            error: error.error.into(),
            completed: error.completed,
        }
    }
}

impl From<VsmError> for VsmRepError {
    fn from(error: VsmError) -> Self {
        Self {
            error,
            completed: 0,
        }
    }
}

impl core::fmt::Display for VsmRepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} after {} completed elements",
            self.error, self.completed
        )
    }
}

impl core::error::Error for VsmRepError {}

/// The outcome of enabling a VTL: both are success (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum Enablement {
    /// The call enabled the VTL.
    Enabled,
    /// The VTL was already enabled (`HV_STATUS_VTL_ALREADY_ENABLED`); nothing changed.
    AlreadyEnabled,
}

impl Enablement {
    /// Maps the result of an enable call: `VTL_ALREADY_ENABLED` is [`Self::AlreadyEnabled`].
    fn from_result(result: Result<(), CallError>) -> Result<Self, VsmError> {
        match result {
            Ok(()) => Ok(Self::Enabled),
            Err(CallError::Hv(HvError::VTL_ALREADY_ENABLED)) => Ok(Self::AlreadyEnabled),
            Err(error) => Err(error.into()),
        }
    }
}

/// What VSM reports about the partition and the calling VP, read in one
/// `HvCallGetVpRegisters` call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VsmStatus {
    /// `HvRegisterVsmCapabilities` (TLFS 15.3.2).
    pub capabilities: HvRegisterVsmCapabilities,
    /// `HvRegisterVsmPartitionStatus`: enabled VTLs, maximum VTL, MBEC (TLFS 15.3.3.1).
    pub partition: HvRegisterVsmPartitionStatus,
    /// `HvRegisterVsmVpStatus` of the calling VP: active VTL, enabled VTLs (TLFS 15.3.3.2).
    pub vp: HvRegisterVsmVpStatus,
    /// `HvRegisterVsmCodePageOffsets` of the calling VTL: where the VTL call and return
    /// sequences are in its hypercall page (TLFS 15.8).
    pub code_page_offsets: HvRegisterVsmCodePageOffsets,
}

/// The VSM handle: hypercalls of a partition that has the VSM privileges (TLFS 15.3.1).
#[derive(Debug)]
pub struct Vsm<'a, P: Platform> {
    hc: Hypercalls<'a, P>,
    privileges: HvPartitionPrivilegeMask,
}

impl<P: Platform> Clone for Vsm<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Platform> Copy for Vsm<'_, P> {}

/// Checks that `vtl` is at most `HV_MAX_VTL` and at least `min`.
const fn check_vtl(vtl: HvVtl, min: HvVtl) -> Result<(), VsmError> {
    if vtl < min || vtl > HV_MAX_VTL {
        Err(VsmError::InvalidVtl(vtl))
    } else {
        Ok(())
    }
}

/// Checks that `value` sets no bit outside `allowed`.
const fn check_bits(value: u64, allowed: u64) -> Result<(), VsmError> {
    if value & !allowed != 0 {
        Err(VsmError::InvalidBits { value, allowed })
    } else {
        Ok(())
    }
}

/// Checks an `HV_INPUT_VTL` for reserved bits (TLFS 15.15.1).
const fn check_input_vtl(vtl: HvInputVtl) -> Result<(), VsmError> {
    check_bits(vtl.into_bits() as u64, !HvInputVtl::RESERVED_MASK as u64)
}

impl<'a, P: Platform> Vsm<'a, P> {
    /// Wraps `hc` when `privileges` grant VSM (TLFS 15.3.1).
    ///
    /// # Errors
    ///
    /// [`VsmError::Unavailable`] naming the first missing privilege of `AccessVsm`,
    /// `AccessVpRegisters`, `AccessSynicRegs`.
    pub const fn new(
        hc: Hypercalls<'a, P>,
        privileges: HvPartitionPrivilegeMask,
    ) -> Result<Self, VsmError> {
        let missing = if !privileges.access_vsm() {
            Some(Privilege::AccessVsm)
        } else if !privileges.access_vp_registers() {
            Some(Privilege::AccessVpRegisters)
        } else if !privileges.access_synic_regs() {
            Some(Privilege::AccessSynicRegs)
        } else {
            None
        };
        match missing {
            Some(privilege) => Err(VsmError::Unavailable(privilege)),
            None => Ok(Self { hc, privileges }),
        }
    }

    /// The hypercall handle.
    #[must_use]
    pub const fn hypercalls(&self) -> Hypercalls<'a, P> {
        self.hc
    }

    /// Reads the four VSM status registers in one rep call (TLFS 15.3.2, 15.3.3, 15.8).
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn status(&self, io: &mut IoPages<'_>) -> Result<VsmStatus, VsmError> {
        let names = [
            HvRegisterName::HvRegisterVsmCapabilities,
            HvRegisterName::HvRegisterVsmPartitionStatus,
            HvRegisterName::HvRegisterVsmVpStatus,
            HvRegisterName::HvRegisterVsmCodePageOffsets,
        ];
        let [caps, partition, vp, offsets] = self.read_registers(io, names)?;
        Ok(VsmStatus {
            capabilities: HvRegisterVsmCapabilities::from_bits(caps),
            partition: HvRegisterVsmPartitionStatus::from_bits(partition),
            vp: HvRegisterVsmVpStatus::from_bits(vp),
            code_page_offsets: HvRegisterVsmCodePageOffsets::from_bits(offsets),
        })
    }

    /// `HvRegisterVsmCapabilities` (TLFS 15.3.2).
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn capabilities(
        &self,
        io: &mut IoPages<'_>,
    ) -> Result<HvRegisterVsmCapabilities, VsmError> {
        let [value] = self.read_registers(io, [HvRegisterName::HvRegisterVsmCapabilities])?;
        Ok(HvRegisterVsmCapabilities::from_bits(value))
    }

    /// `HvRegisterVsmPartitionStatus` (TLFS 15.3.3.1).
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn partition_status(
        &self,
        io: &mut IoPages<'_>,
    ) -> Result<HvRegisterVsmPartitionStatus, VsmError> {
        let [value] = self.read_registers(io, [HvRegisterName::HvRegisterVsmPartitionStatus])?;
        Ok(HvRegisterVsmPartitionStatus::from_bits(value))
    }

    /// `HvRegisterVsmVpStatus` of VP `vp_index` ([`HV_VP_INDEX_SELF`] for the caller)
    /// (TLFS 15.3.3.2).
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn vp_status(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
    ) -> Result<HvRegisterVsmVpStatus, VsmError> {
        let value = self
            .hc
            .get_vp_register(
                io,
                vp_index,
                HvInputVtl::CURRENT,
                HvRegisterName::HvRegisterVsmVpStatus,
            )?
            .as_u64();
        Ok(HvRegisterVsmVpStatus::from_bits(value))
    }

    /// `HvRegisterVsmCodePageOffsets` of the calling VTL (TLFS 15.8).
    ///
    /// # Errors
    ///
    /// The hypervisor's status.
    pub fn code_page_offsets(
        &self,
        io: &mut IoPages<'_>,
    ) -> Result<HvRegisterVsmCodePageOffsets, VsmError> {
        let [value] = self.read_registers(io, [HvRegisterName::HvRegisterVsmCodePageOffsets])?;
        Ok(HvRegisterVsmCodePageOffsets::from_bits(value))
    }

    /// `HvRegisterVsmPartitionConfig` of `vtl` (its own with [`HvInputVtl::CURRENT`]; a lower
    /// VTL's with a target) (TLFS 15.5.1).
    ///
    /// # Errors
    ///
    /// [`VsmError::InvalidBits`] for reserved bits in `vtl`, else the hypervisor's status.
    pub fn partition_config(
        &self,
        io: &mut IoPages<'_>,
        vtl: HvInputVtl,
    ) -> Result<HvRegisterVsmPartitionConfig, VsmError> {
        check_input_vtl(vtl)?;
        let name = HvRegisterName::HvRegisterVsmPartitionConfig;
        let value = self
            .hc
            .get_vp_register(io, HV_VP_INDEX_SELF, vtl, name)?
            .as_u64();
        Ok(HvRegisterVsmPartitionConfig::from_bits(value))
    }

    /// Writes `HvRegisterVsmPartitionConfig` of `vtl` (TLFS 15.5.1). A VTL may write its own
    /// and lower VTLs' instances; `enable_vtl_protection` is write-once (15.5.1.1) and the
    /// default protection mask can only be set when the VTL is enabled (15.5.1.2).
    ///
    /// # Errors
    ///
    /// [`VsmError::InvalidBits`] for reserved bits in `vtl` or `config` (nothing sent), else
    /// the hypervisor's status.
    pub fn set_partition_config(
        &self,
        io: &mut IoPages<'_>,
        vtl: HvInputVtl,
        config: HvRegisterVsmPartitionConfig,
    ) -> Result<(), VsmError> {
        check_input_vtl(vtl)?;
        check_bits(
            config.into_bits(),
            !HvRegisterVsmPartitionConfig::RESERVED_MASK,
        )?;
        let name = HvRegisterName::HvRegisterVsmPartitionConfig;
        let value = HvRegisterValue::from_u64(config.into_bits());
        self.hc
            .set_vp_registers(io, HV_VP_INDEX_SELF, vtl, &[(name, value)])
            .map_err(|e| e.error.into())
    }

    /// Enables `vtl` (1–15) for the caller's partition (`HvCallEnablePartitionVtl`,
    /// TLFS 15.4.1, 15.15.3).
    ///
    /// # Errors
    ///
    /// [`VsmError::InvalidVtl`] or [`VsmError::InvalidBits`] (reserved flags) before any
    /// call; [`VsmError::AccessDenied`] when the caller may not enable it (15.15.3
    /// restrictions), [`VsmError::InvalidVtlState`], or the hypervisor's other status.
    pub fn enable_partition_vtl(
        &self,
        io: &mut IoPages<'_>,
        vtl: HvVtl,
        flags: HvEnablePartitionVtlFlags,
    ) -> Result<Enablement, VsmError> {
        check_vtl(vtl, 1)?;
        check_bits(
            u64::from(flags.into_bits()),
            u64::from(!HvEnablePartitionVtlFlags::RESERVED_MASK),
        )?;
        let input = HvEnablePartitionVtlInput {
            target_partition_id: HV_PARTITION_ID_SELF,
            target_vtl: vtl,
            flags,
            rsvd0: 0,
            rsvd1: 0,
        };
        Enablement::from_result(
            self.hc
                .call(io, HvCallCode::HvCallEnablePartitionVtl, &input),
        )
    }

    /// Enables `vtl` (1–15) on VP `vp_index` with the context the VP starts with on its
    /// first entry to the VTL (`HvCallEnableVpVtl`, TLFS 15.4.2, 15.15.4). The active VTL
    /// does not change.
    ///
    /// # Errors
    ///
    /// [`VsmError::InvalidVtl`] before any call; [`VsmError::InvalidVtlState`] when the
    /// partition has not enabled the VTL, [`VsmError::AccessDenied`], or the hypervisor's
    /// other status (`INVALID_VP_INDEX`, `INVALID_REGISTER_VALUE`, ...).
    pub fn enable_vp_vtl(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvVtl,
        context: &HvInitialVpContext,
    ) -> Result<Enablement, VsmError> {
        check_vtl(vtl, 1)?;
        let input = HvEnableVpVtlInput {
            target_partition_id: HV_PARTITION_ID_SELF,
            vp_index,
            target_vtl: vtl,
            rsvd: [0; 3],
            vp_vtl_context: *context,
        };
        Enablement::from_result(self.hc.call(io, HvCallCode::HvCallEnableVpVtl, &input))
    }

    /// Reads registers of `vtl` (0–15) on VP `vp_index`: `values[i]` receives `names[i]`
    /// (`HvCallGetVpRegisters` with a target VTL, TLFS 7.10.2, 15.13.3). A VTL may read its
    /// own and lower VTLs' registers.
    ///
    /// # Errors
    ///
    /// A [`VsmRepError`]; the values of the completed elements are valid.
    pub fn get_vtl_registers(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvVtl,
        names: &[HvRegisterName],
        values: &mut [HvRegisterValue],
    ) -> Result<(), VsmRepError> {
        check_vtl(vtl, 0)?;
        self.hc
            .get_vp_registers(io, vp_index, HvInputVtl::target(vtl), names, values)?;
        Ok(())
    }

    /// Writes registers of `vtl` (0–15) on VP `vp_index`, in order (`HvCallSetVpRegisters`
    /// with a target VTL, TLFS 7.10.1, 15.13.3: how a higher VTL changes a lower VTL's
    /// private state).
    ///
    /// # Errors
    ///
    /// A [`VsmRepError`]: the registers before `completed` were written.
    pub fn set_vtl_registers(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvVtl,
        registers: &[(HvRegisterName, HvRegisterValue)],
    ) -> Result<(), VsmRepError> {
        check_vtl(vtl, 0)?;
        self.hc
            .set_vp_registers(io, vp_index, HvInputVtl::target(vtl), registers)?;
        Ok(())
    }

    /// Sets the access lower VTLs have to the pages `gpns` (GPA page numbers) to `flags`
    /// (`HvCallModifyVtlProtectionMask`, a rep call, TLFS 15.9, 15.15.2). `vtl` is the VTL
    /// whose protections change, normally [`HvInputVtl::CURRENT`]: a VTL can only restrict
    /// lower VTLs, and only after setting `enable_vtl_protection` (15.5.1.1). Lists longer
    /// than one input page (510 pages) are split into several calls.
    ///
    /// TLFS 15.15.2 describes `TargetVtl` as "the VTL to be enabled by this hypercall", a
    /// copy of the 15.15.3 text; the field names the protecting VTL (OpenVMM's paravisor
    /// passes `CURRENT_VTL` when it revokes lower-VTL access), as this method documents.
    ///
    /// # Errors
    ///
    /// [`VsmError::InvalidBits`] when `vtl` sets reserved bits or `flags` sets anything but
    /// the permission bits 3:0, and the empty-list error, before any call; otherwise a
    /// [`VsmRepError`] with the pages completed (`INVALID_PARAMETER` for non-RAM pages).
    pub fn modify_vtl_protection_mask(
        &self,
        io: &mut IoPages<'_>,
        vtl: HvInputVtl,
        flags: HvMapGpaFlags,
        gpns: &[u64],
    ) -> Result<(), VsmRepError> {
        check_input_vtl(vtl)?;
        check_bits(
            u64::from(flags.into_bits()),
            u64::from(HvMapGpaFlags::PERMISSIONS_MASK),
        )?;
        let header = HvModifyVtlProtectionMaskInput {
            target_partition_id: HV_PARTITION_ID_SELF,
            map_flags: flags,
            target_vtl: vtl,
            rsvd: [0; 3],
        };
        self.hc.rep_call::<_, _, u64>(
            io,
            HvCallCode::HvCallModifyVtlProtectionMask,
            &header,
            gpns,
            &mut [],
        )?;
        Ok(())
    }

    /// Starts VP `vp_index` in `vtl` (0–15) with `context` (`HvCallStartVirtualProcessor`,
    /// TLFS 7.10.3), the only way to start a VP in a VTL above 0. A higher VTL can forbid
    /// lower VTLs to start VPs (15.5.1.4).
    ///
    /// # Errors
    ///
    /// [`VsmError::Unavailable`] without the `StartVirtualProcessor` privilege and
    /// [`VsmError::InvalidVtl`], before any call; [`VsmError::AccessDenied`],
    /// [`VsmError::InvalidVtlState`] ("the VTL state conflicts with the requested
    /// operation"), or the hypervisor's other status (`INVALID_VP_INDEX`,
    /// `INVALID_REGISTER_VALUE`, `INVALID_VP_STATE`).
    pub fn start_virtual_processor(
        &self,
        io: &mut IoPages<'_>,
        vp_index: HvVpIndex,
        vtl: HvVtl,
        context: &HvInitialVpContext,
    ) -> Result<(), VsmError> {
        if !self.privileges.start_virtual_processor() {
            return Err(VsmError::Unavailable(Privilege::StartVirtualProcessor));
        }
        check_vtl(vtl, 0)?;
        self.hc
            .start_virtual_processor(io, vp_index, vtl, context)?;
        Ok(())
    }

    /// Reads `N` registers of the calling VP and VTL in one rep call.
    fn read_registers<const N: usize>(
        &self,
        io: &mut IoPages<'_>,
        names: [HvRegisterName; N],
    ) -> Result<[u64; N], VsmError> {
        let mut values = [HvRegisterValue::default(); N];
        self.hc
            .get_vp_registers(
                io,
                HV_VP_INDEX_SELF,
                HvInputVtl::CURRENT,
                &names,
                &mut values,
            )
            .map_err(|e| VsmError::from(e.error))?;
        Ok(values.map(HvRegisterValue::as_u64))
    }

    /// The calling VP's status and the calling VTL's code page offsets, in one call.
    fn switch_state(
        &self,
        io: &mut IoPages<'_>,
    ) -> Result<(HvRegisterVsmVpStatus, HvRegisterVsmCodePageOffsets), VsmError> {
        let [vp, offsets] = self.read_registers(
            io,
            [
                HvRegisterName::HvRegisterVsmVpStatus,
                HvRegisterName::HvRegisterVsmCodePageOffsets,
            ],
        )?;
        Ok((
            HvRegisterVsmVpStatus::from_bits(vp),
            HvRegisterVsmCodePageOffsets::from_bits(offsets),
        ))
    }
}

impl<'a, P: VtlPlatform> Vsm<'a, P> {
    /// The VTL call of the calling VP (TLFS 15.6.1, 15.8): reads its VP status and the call
    /// sequence's offset, and checks that a VTL above the active one is enabled on it.
    ///
    /// # Errors
    ///
    /// [`VsmError::NoHigherVtl`] when the call would raise #UD, else the hypervisor's status.
    pub fn vtl_call_gate(&self, io: &mut IoPages<'_>) -> Result<VtlCallGate<'a, P>, VsmError> {
        let (vp, offsets) = self.switch_state(io)?;
        let active = vp.active_vtl();
        let enabled = vp.enabled_vtl_set();
        if u32::from(enabled) >> (u32::from(active) + 1) == 0 {
            return Err(VsmError::NoHigherVtl { active, enabled });
        }
        let entry = VtlCodeEntry::new(self.hc.entry(), offsets.vtl_call_offset());
        // SAFETY: `entry` is inside the hypercall page `self.hc` keeps enabled for `'a`, at
        // the offset the hypervisor gives for the call sequence, and the VP status just read
        // on this VP shows a higher VTL enabled.
        Ok(unsafe { VtlCallGate::new(self.hc.platform(), entry) })
    }

    /// The VTL return of the calling VP (TLFS 15.7.1, 15.8): reads its VP status and the
    /// return sequence's offset, and checks that the VP runs above VTL 0.
    ///
    /// # Errors
    ///
    /// [`VsmError::LowestVtlActive`] when the return would raise #UD, else the hypervisor's
    /// status.
    pub fn vtl_return_gate(&self, io: &mut IoPages<'_>) -> Result<VtlReturnGate<'a, P>, VsmError> {
        let (vp, offsets) = self.switch_state(io)?;
        if vp.active_vtl() == 0 {
            return Err(VsmError::LowestVtlActive);
        }
        let entry = VtlCodeEntry::new(self.hc.entry(), offsets.vtl_return_offset());
        // SAFETY: `entry` is inside the hypercall page `self.hc` keeps enabled for `'a`, at
        // the offset the hypervisor gives for the return sequence, and the VP status just
        // read on this VP shows it above VTL 0.
        Ok(unsafe { VtlReturnGate::new(self.hc.platform(), entry) })
    }
}

#[cfg(test)]
mod tests;
