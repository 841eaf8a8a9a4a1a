//! arm64: hypercalls with `HVC`, synthetic registers through fast VP register calls, and
//! discovery through the Arm SMC Calling Convention (SMCCC).
//!
//! Compiled for `aarch64` (and for host tests and feature `testing`). The x86_64-only parts of
//! the crate (`X64Platform`, CPUID discovery, the hypercall page, XMM fast calls) do not exist
//! in an `aarch64` build.
//!
//! # The ABI
//!
//! TLFS 6.0 describes only x64. The arm64 interface as this module implements it, from the
//! public sources cited in `hv_defs::arm64` (Linux `arch/arm64/hyperv`, OpenVMM, Microsoft's
//! guest firmware `mu_msvm`):
//!
//! * **Discovery** ([`discovery::detect`]): `hvc #0` with W0 =
//!   [`SMCCC_VENDOR_HYP_CALL_UID`] (0x8600_FF01) and X1–X17 zero. The Microsoft hypervisor
//!   answers its UID in W0–W3: [`HV_ARM64_SMCCC_UID`] = 0x4D32_BA58, 0xCD24_4764,
//!   0x8EEF_6C75, 0x1659_7024 (UUID 58ba324d-6447-24cd-756c-ef8e24705916). A host without
//!   vendor hypervisor services answers `SMCCC_RET_NOT_SUPPORTED` (W0 = 0xFFFF_FFFF).
//! * **Guest OS identity first** ([`Hyperv::set_guest_os_id`]): the identity is the
//!   synthetic register `HvRegisterGuestOsId` (0x0009_0002), written with a fast
//!   `HvCallSetVpRegisters` before any other hypercall, as Linux `hyperv_init` does (TLFS 2.6,
//!   3.13 require the identity before hypercalls; arm64 has no MSR to write it with).
//! * **Hypercalls** ([`HvcConvention`]): with [`HvcConvention::Smccc`], `hvc #0` with X0 =
//!   [`HV_FUNC_ID`] (0x4600_0001: yielding, SMC64, owner vendor hypervisor, function 1),
//!   X1 = hypercall input value, then the *block*: X2–X17. With [`HvcConvention::HyperV`],
//!   `hvc #1` with X0 = hypercall input value, block X1–X16. Memory-based calls put the input
//!   and output GPAs in block registers 0 and 1; fast calls fill the block with the input, 8
//!   bytes a register. The result value comes back in X0 (TLFS 3.8 layout).
//! * **Register output of fast calls**: a fast `HvCallGetVpRegisters` of one register
//!   returns the 128-bit value in X6:X7 with SMCCC (block registers 4 and 5, right after the
//!   24-byte input rounded up to 16 bytes; Linux `hv_get_vpreg_128` reads SMCCC 1.2 results
//!   `a6`, `a7`) and in X15:X16 with `hvc #1` (block registers 14 and 15; `mu_msvm`
//!   `AsmGetVpRegister`, OpenVMM `get_register_fast`). The positions differ between the
//!   conventions (with `hvc #1` the value is in the last two block registers, not right after
//!   the input); each is taken from the published code of that convention.
//! * **Synthetic registers** ([`get_vp_register`], [`set_vp_register`]): the fast forms
//!   with rep count 1, whose block is
//!
//!   | block register | get | set |
//!   | --- | --- | --- |
//!   | 0 | partition id (`HV_PARTITION_ID_SELF`) | partition id |
//!   | 1 | VP index, input VTL in bits 39:32 | VP index, input VTL |
//!   | 2 | register name (bits 31:0) | register name |
//!   | 3 | 0 | 0 |
//!   | 4, 5 | (SMCCC: value out) | value, low then high |
//!
//!   and whose control word is 0x0000_0001_0001_0050 (get) or 0x0000_0001_0001_0051 (set):
//!   fast, rep count 1. Success means status 0 *and* one rep completed.
//! * **What the TLFS is silent about and this module decides**: every call declares X0–X17
//!   as read and written by the hypervisor (SMCCC 1.2 lets a callee return results in all of
//!   them, and the `hvc #1` register use is not published beyond the examples above);
//!   memory-based calls zero the unused block registers.
//!
//! XMM fast hypercalls do not exist on arm64; the fast block is the arm64 way to pass more
//! than 16 bytes in registers ([`hypercall_block`]).
//!
//! # Layers
//!
//! [`Arm64Platform`] is the one privileged primitive: `HVC` with X0–X17 in and out. The real
//! one is `crate::arch::aarch64::Arm64`; the fake in `crate::testing::arm64` records every
//! call. Everything in this module is built on it and unit-tested against the fake.

pub mod discovery;
mod hyperv;

use hv_defs::arm64::{
    HV_ARM64_FAST_BLOCK_REGISTERS, HV_ARM64_HVC_FAST_FIRST, HV_ARM64_HVC_GET_VP_REGISTER_OUTPUT,
    HV_ARM64_SMCCC_FAST_FIRST, HV_ARM64_SMCCC_GET_VP_REGISTER_OUTPUT, HV_FUNC_ID,
    HvArm64HvcImmediate,
};
#[cfg(doc)]
use hv_defs::arm64::{HV_ARM64_SMCCC_UID, SMCCC_VENDOR_HYP_CALL_UID};
use hv_defs::hypercall::{HvCallCode, HvHypercallInput, HvHypercallOutput};
use hv_defs::register::{HvRegisterName, HvRegisterValue};
use hv_defs::status::HvError;
use hv_defs::vp::HvInputVtl;
use hv_defs::{HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, HvVpIndex};

pub use discovery::{HvInfo, NoHyperV};
pub use hyperv::{GuestOs, Hyperv, IdentityError};

use crate::hypercall::CallError;
use crate::platform::Platform;

/// The general-purpose registers X0–X17 around an `HVC`: the caller's values going in, the
/// hypervisor's coming out (SMCCC 1.2 passes arguments and results in X0–X17).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct HvcRegs {
    /// X0–X17.
    pub x: [u64; 18],
}

/// Which `HVC` convention a platform makes hypercalls with (see the module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum HvcConvention {
    /// `hvc #0`, SMCCC: X0 = [`HV_FUNC_ID`], X1 = control, block X2–X17 (Linux).
    Smccc,
    /// `hvc #1`, the Hyper-V AArch64 convention: X0 = control, block X1–X16 (Microsoft's
    /// guest firmware and OpenVMM).
    HyperV,
}

impl HvcConvention {
    /// The `HVC` immediate (0 or 1).
    #[must_use]
    pub const fn immediate(self) -> HvArm64HvcImmediate {
        match self {
            Self::Smccc => HvArm64HvcImmediate::SMCCC,
            Self::HyperV => HvArm64HvcImmediate::HYPERCALL,
        }
    }

    /// The register number of block register 0 (X2 or X1).
    #[must_use]
    pub const fn block_start(self) -> usize {
        match self {
            Self::Smccc => HV_ARM64_SMCCC_FAST_FIRST,
            Self::HyperV => HV_ARM64_HVC_FAST_FIRST,
        }
    }

    /// The block register that receives the low half of a one-register fast
    /// `HvCallGetVpRegisters` (4 or 14: X6 or X15); the high half follows.
    #[must_use]
    pub const fn get_vp_register_output(self) -> usize {
        match self {
            Self::Smccc => HV_ARM64_SMCCC_GET_VP_REGISTER_OUTPUT - HV_ARM64_SMCCC_FAST_FIRST,
            Self::HyperV => HV_ARM64_HVC_GET_VP_REGISTER_OUTPUT - HV_ARM64_HVC_FAST_FIRST,
        }
    }
}

/// What arm64 adds to [`Platform`]: the `HVC` instruction itself.
pub trait Arm64Platform: Platform {
    /// The convention this platform makes hypercalls with.
    fn convention(&self) -> HvcConvention;

    /// Executes `HVC` with the immediate of `convention`: X0–X17 from `regs` going in, X0–X17
    /// written back to `regs` afterwards.
    ///
    /// # Safety
    ///
    /// Registers that carry guest physical addresses (memory-based hypercalls) must name
    /// memory the caller owns, holding the input and able to take the output; calls that make
    /// the hypervisor overlay or write memory must own it for as long as it is used.
    unsafe fn hvc(&self, convention: HvcConvention, regs: &mut HvcRegs);
}

impl<P: Arm64Platform + ?Sized> Arm64Platform for &P {
    fn convention(&self) -> HvcConvention {
        (**self).convention()
    }

    unsafe fn hvc(&self, convention: HvcConvention, regs: &mut HvcRegs) {
        // SAFETY: forwarded; the caller upholds `Arm64Platform::hvc`'s contract.
        unsafe { (**self).hvc(convention, regs) }
    }
}

/// The 16 block registers of a fast hypercall: X2–X17 with SMCCC, X1–X16 with `hvc #1`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FastBlock {
    /// Block registers 0–15.
    pub regs: [u64; HV_ARM64_FAST_BLOCK_REGISTERS],
}

impl FastBlock {
    /// The block as bytes: register 0 bytes 0..8, register 1 bytes 8..16, and so on.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 128] {
        zerocopy::transmute_ref!(&self.regs)
    }

    /// The block as mutable bytes.
    #[must_use]
    pub fn as_bytes_mut(&mut self) -> &mut [u8; 128] {
        zerocopy::transmute_mut!(&mut self.regs)
    }
}

/// Makes a hypercall whose inputs are `block`, in `platform`'s convention; `block` receives
/// the block registers as the hypervisor left them. Returns the hypercall result value.
///
/// # Safety
///
/// As [`Arm64Platform::hvc`]: block registers that the call reads as GPAs must name memory the
/// caller owns.
pub unsafe fn hypercall_block<P: Arm64Platform + ?Sized>(
    platform: &P,
    control: u64,
    block: &mut FastBlock,
) -> u64 {
    let convention = platform.convention();
    let mut regs = HvcRegs::default();
    let start = convention.block_start();
    match convention {
        HvcConvention::Smccc => {
            regs.x[0] = u64::from(HV_FUNC_ID);
            regs.x[1] = control;
        }
        HvcConvention::HyperV => regs.x[0] = control,
    }
    regs.x[start..start + HV_ARM64_FAST_BLOCK_REGISTERS].copy_from_slice(&block.regs);
    // SAFETY: the caller's contract covers the GPAs in the block.
    unsafe { platform.hvc(convention, &mut regs) };
    block
        .regs
        .copy_from_slice(&regs.x[start..start + HV_ARM64_FAST_BLOCK_REGISTERS]);
    regs.x[0]
}

/// [`Platform::hypercall`] for arm64: block registers 0 and 1 carry the two inputs (GPAs or
/// 16 bytes of fast input), the rest are zero.
///
/// # Safety
///
/// As [`Platform::hypercall`].
pub unsafe fn hypercall<P: Arm64Platform + ?Sized>(
    platform: &P,
    control: u64,
    input: u64,
    output: u64,
) -> u64 {
    let mut block = FastBlock::default();
    block.regs[0] = input;
    block.regs[1] = output;
    // SAFETY: the caller's contract covers the two GPAs.
    unsafe { hypercall_block(platform, control, &mut block) }
}

/// Block register 1 of the VP register calls: the VP index, the input VTL in bits 39:32.
fn vp_and_vtl(vp_index: HvVpIndex, vtl: HvInputVtl) -> u64 {
    u64::from(vp_index) | u64::from(vtl.into_bits()) << 32
}

/// The control word of a one-register fast VP register call.
fn one_rep_fast(code: HvCallCode) -> HvHypercallInput {
    HvHypercallInput::new()
        .with_call_code(code)
        .with_fast(true)
        .with_rep_count(1)
}

/// Checks the result of a one-rep call: success and exactly one rep completed.
fn one_rep_result(rax: u64) -> Result<(), CallError> {
    let output = HvHypercallOutput::from_bits(rax);
    output.result()?;
    match output.reps_completed() {
        1 => Ok(()),
        completed => Err(CallError::BadRepsCompleted {
            start: 0,
            completed,
            count: 1,
        }),
    }
}

/// Reads one register of a VP with the fast `HvCallGetVpRegisters` (TLFS 7.10.2), the value
/// coming back in registers (see the module docs).
///
/// # Errors
///
/// [`CallError::Hv`] with the hypervisor's status (e.g. `INVALID_PARAMETER` for a register the
/// partition does not have); [`CallError::BadRepsCompleted`] when the host reports success
/// without completing the rep.
pub fn get_vp_register<P: Arm64Platform + ?Sized>(
    platform: &P,
    vp_index: HvVpIndex,
    vtl: HvInputVtl,
    name: HvRegisterName,
) -> Result<HvRegisterValue, CallError> {
    let mut block = FastBlock::default();
    block.regs[0] = HV_PARTITION_ID_SELF;
    block.regs[1] = vp_and_vtl(vp_index, vtl);
    block.regs[2] = u64::from(name.get());
    let control = one_rep_fast(HvCallCode::HvCallGetVpRegisters).into_bits();
    // SAFETY: a fast call names no memory, and reading a register changes nothing.
    let rax = unsafe { hypercall_block(platform, control, &mut block) };
    one_rep_result(rax)?;
    let at = platform.convention().get_vp_register_output();
    Ok(HvRegisterValue {
        low: block.regs[at],
        high: block.regs[at + 1],
    })
}

/// Writes one register of a VP with the fast `HvCallSetVpRegisters` (TLFS 7.10.1).
///
/// # Errors
///
/// As [`get_vp_register`].
///
/// # Safety
///
/// `value` must not set bits the TLFS reserves as zero, and memory the write makes the
/// hypervisor overlay or write (SynIC pages, reference time page, VP assist page) must be
/// owned by the caller for as long as the hypervisor uses it.
pub unsafe fn set_vp_register<P: Arm64Platform + ?Sized>(
    platform: &P,
    vp_index: HvVpIndex,
    vtl: HvInputVtl,
    name: HvRegisterName,
    value: HvRegisterValue,
) -> Result<(), CallError> {
    let mut block = FastBlock::default();
    block.regs[0] = HV_PARTITION_ID_SELF;
    block.regs[1] = vp_and_vtl(vp_index, vtl);
    block.regs[2] = u64::from(name.get());
    block.regs[4] = value.low;
    block.regs[5] = value.high;
    let control = one_rep_fast(HvCallCode::HvCallSetVpRegisters).into_bits();
    // SAFETY: a fast call names no memory; the caller's contract covers what the new value
    // makes the hypervisor do.
    let rax = unsafe { hypercall_block(platform, control, &mut block) };
    one_rep_result(rax)
}

/// The [`HvError`] a [`Platform`] register access reports for a [`CallError`]: the
/// hypervisor's status, or `HV_STATUS_OPERATION_FAILED` when the host claimed success without
/// completing the rep (a host bug; the platform interface has no other way to say it).
fn register_error(error: CallError) -> HvError {
    match error {
        CallError::Hv(error) => error,
        _ => HvError::OPERATION_FAILED,
    }
}

/// [`Platform::read_register`] for arm64: the low 64 bits of the calling VP's register.
///
/// # Errors
///
/// The hypervisor's status, or `HV_STATUS_OPERATION_FAILED` when the host claimed success
/// without completing the rep.
pub fn read_register<P: Arm64Platform + ?Sized>(
    platform: &P,
    name: HvRegisterName,
) -> Result<u64, HvError> {
    get_vp_register(platform, HV_VP_INDEX_SELF, HvInputVtl::CURRENT, name)
        .map(HvRegisterValue::as_u64)
        .map_err(register_error)
}

/// [`Platform::write_register`] for arm64: the calling VP's register.
///
/// # Errors
///
/// As [`read_register`].
///
/// # Safety
///
/// As [`set_vp_register`].
pub unsafe fn write_register<P: Arm64Platform + ?Sized>(
    platform: &P,
    name: HvRegisterName,
    value: u64,
) -> Result<(), HvError> {
    // SAFETY: the caller's contract.
    unsafe {
        set_vp_register(
            platform,
            HV_VP_INDEX_SELF,
            HvInputVtl::CURRENT,
            name,
            HvRegisterValue::from_u64(value),
        )
    }
    .map_err(register_error)
}

#[cfg(test)]
mod tests;
