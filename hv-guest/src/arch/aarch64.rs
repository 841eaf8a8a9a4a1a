//! aarch64: the `HVC` instruction and the virtual counter.
//!
//! [`Arm64`] is the real [`Arm64Platform`]: one `HVC` with X0–X17 in and out. The calling
//! conventions built on it (SMCCC discovery, hypercalls, fast VP register calls) are in
//! [`crate::arm64`], which documents the ABI. It is also the [`TscSource`] of the reference
//! TSC page on arm64: the virtual counter CNTVCT_EL0 (Linux arm64 Hyper-V guests compute the
//! page's reference time from the architectural counter).

use core::arch::asm;

use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;

use crate::arm64::{self, Arm64Platform, HvcConvention, HvcRegs};
use crate::platform::{HypercallEntry, Platform};
use crate::reftime::TscSource;

/// The aarch64 processor this code runs on, at EL1 under a hypervisor.
///
/// Holds only the convention its hypercalls use; all other state lives in the processor and
/// the hypervisor.
#[derive(Copy, Clone, Debug)]
pub struct Arm64 {
    convention: HvcConvention,
}

impl Arm64 {
    /// The platform, making hypercalls with `convention`.
    ///
    /// # Safety
    ///
    /// `HVC` at the current exception level must be handled by a higher one: the kernel runs
    /// at EL1 and an EL2 (a hypervisor, or firmware that emulates one, such as QEMU's built-in
    /// PSCI) takes `HVC` — for example because the device tree's PSCI conduit is `hvc`.
    /// Otherwise `HVC` is an undefined instruction.
    #[must_use]
    pub const unsafe fn new(convention: HvcConvention) -> Self {
        Self { convention }
    }
}

impl Arm64Platform for Arm64 {
    fn convention(&self) -> HvcConvention {
        self.convention
    }

    unsafe fn hvc(&self, convention: HvcConvention, regs: &mut HvcRegs) {
        let x = &mut regs.x;
        macro_rules! hvc {
            ($imm:literal) => {
                asm!(
                    concat!("hvc #", $imm),
                    inout("x0") x[0], inout("x1") x[1], inout("x2") x[2], inout("x3") x[3],
                    inout("x4") x[4], inout("x5") x[5], inout("x6") x[6], inout("x7") x[7],
                    inout("x8") x[8], inout("x9") x[9], inout("x10") x[10],
                    inout("x11") x[11], inout("x12") x[12], inout("x13") x[13],
                    inout("x14") x[14], inout("x15") x[15], inout("x16") x[16],
                    inout("x17") x[17],
                    options(nostack),
                )
            };
        }
        // Both arms: `Arm64::new`'s contract makes `HVC` reach the hypervisor (or firmware),
        // and the caller's contract covers any memory the registers name. X0–X17 are declared
        // read and written, since SMCCC 1.2 callees may return results in all of them; X18 and
        // up are preserved by SMCCC and the Hyper-V convention. The asm is not `nomem`, so the
        // compiler treats memory as read and written by the call.
        match convention {
            // SAFETY: see above.
            HvcConvention::Smccc => unsafe { hvc!("0") },
            // SAFETY: see above.
            HvcConvention::HyperV => unsafe { hvc!("1") },
        }
    }
}

impl Platform for Arm64 {
    unsafe fn hypercall(
        &self,
        _entry: HypercallEntry,
        control: u64,
        input: u64,
        output: u64,
    ) -> u64 {
        // SAFETY: the caller upholds `Platform::hypercall`'s contract for the GPAs.
        unsafe { arm64::hypercall(self, control, input, output) }
    }

    // Host test builds on an aarch64 machine compile the x64 API too (so the x64 fake and
    // its tests build everywhere), which gives `Platform` its XMM method. An arm64
    // `Hypercalls` is built without XMM (`Hypercalls::hvc`) and never calls it.
    #[cfg(any(test, feature = "testing"))]
    unsafe fn hypercall_xmm(
        &self,
        _entry: HypercallEntry,
        _control: u64,
        _block: &mut crate::platform::XmmBlock,
    ) -> u64 {
        unreachable!("arm64 has no XMM fast hypercalls")
    }

    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError> {
        arm64::read_register(self, name)
    }

    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError> {
        // SAFETY: the caller upholds `Platform::write_register`'s contract.
        unsafe { arm64::write_register(self, name, value) }
    }
}

impl TscSource for Arm64 {
    /// CNTVCT_EL0 after an `ISB`, so the read is not taken before the instructions that
    /// precede it (the first sequence read of the TSC page protocol), as Linux's
    /// `arch_timer_read_cntvct_el0` orders it.
    fn read_tsc(&self) -> u64 {
        let count: u64;
        // SAFETY: ISB and reading the virtual counter touch no memory and have no effect
        // beyond the value; EL1 may read the counter (CNTKCTL_EL1 only controls EL0). The asm
        // is not `nomem`, so the compiler keeps the earlier loads (the TSC page's sequence)
        // before it.
        unsafe {
            asm!(
                "isb",
                "mrs {count}, cntvct_el0",
                count = out(reg) count,
                options(nostack, preserves_flags),
            );
        }
        count
    }
}
