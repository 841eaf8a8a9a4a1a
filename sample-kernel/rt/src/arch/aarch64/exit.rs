//! Ending the run with a status the host can see.
//!
//! 1. Semihosting `SYS_EXIT_EXTENDED` (Arm semihosting 2.0, `HLT #0xF000` with W0 = 0x20 and
//!    X1 = the address of `{ADP_Stopped_ApplicationExit, status}`): QEMU started with
//!    `-semihosting` exits with that status. The runtime uses the statuses of the x86_64
//!    contract, [`EXIT_SUCCESS`] (33) and [`EXIT_FAILURE`] (35), so one harness reads both.
//! 2. On a host without semihosting the `HLT` is an undefined instruction: the exception
//!    handler recognises this one instruction, skips it, and the run ends with PSCI
//!    `SYSTEM_OFF` (0x8400_0008) through the conduit the device tree names. The status is then
//!    only in the console's `[rt] exit:` line (QEMU exits with 0).
//! 3. Without a PSCI conduit (or if `SYSTEM_OFF` returns), the processor waits for interrupts
//!    forever with all of them masked.

use core::sync::atomic::{AtomicU8, Ordering};

use super::exceptions::TrapFrame;
use crate::fdt::PsciConduit;

/// Status of a successful run (QEMU exit status).
pub const EXIT_SUCCESS: u64 = 33;

/// Status of a failed run (QEMU exit status).
pub const EXIT_FAILURE: u64 = 35;

/// Semihosting operation `SYS_EXIT_EXTENDED`.
const SYS_EXIT_EXTENDED: u64 = 0x20;

/// Semihosting stop reason "application exit", whose subcode is the exit status.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// PSCI `SYSTEM_OFF` (PSCI 0.2, SMC32 function id).
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

/// What `rt_semihosting_call` returns when the host has no semihosting.
const NO_SEMIHOSTING: u64 = u64::MAX;

/// The PSCI conduit: 0 unknown, 1 HVC, 2 SMC.
static PSCI: AtomicU8 = AtomicU8::new(0);

core::arch::global_asm!(
    r#"
    .section .text.rt_semihosting, "ax"
    .global rt_semihosting_call
    .global rt_semihosting_hlt
rt_semihosting_call:
rt_semihosting_hlt:
    hlt #0xf000
    ret
"#
);

unsafe extern "C" {
    /// Makes semihosting call `op` with parameter block `param`; returns X0, or
    /// [`NO_SEMIHOSTING`] when the host has none.
    fn rt_semihosting_call(op: u64, param: *const u64) -> u64;
    /// The `HLT` instruction of `rt_semihosting_call`.
    static rt_semihosting_hlt: u8;
}

/// Records the PSCI conduit from the device tree (called once at boot).
pub(crate) fn set_psci_conduit(conduit: Option<PsciConduit>) {
    let value = match conduit {
        None => 0,
        Some(PsciConduit::Hvc) => 1,
        Some(PsciConduit::Smc) => 2,
    };
    PSCI.store(value, Ordering::Release);
}

/// Whether `elr` is the semihosting `HLT`.
pub(crate) fn is_semihosting_probe(elr: u64) -> bool {
    elr == core::ptr::addr_of!(rt_semihosting_hlt).addr() as u64
}

/// Skips the semihosting `HLT` that faulted and makes the call return [`NO_SEMIHOSTING`].
pub(crate) fn skip_semihosting_probe(frame: &mut TrapFrame) {
    frame.elr += 4;
    frame.x[0] = NO_SEMIHOSTING;
}

/// Ends the run with `success`, printing `[rt] exit: success` or `[rt] exit: failure`
/// first. Never returns.
pub fn exit(success: bool) -> ! {
    let verdict = if success { "success" } else { "failure" };
    crate::console::print_unlocked(format_args!("[rt] exit: {verdict}\n"));
    exit_quietly(success)
}

/// Ends the run without printing.
pub(crate) fn exit_quietly(success: bool) -> ! {
    let status = if success { EXIT_SUCCESS } else { EXIT_FAILURE };
    let block = [ADP_STOPPED_APPLICATION_EXIT, status];
    // SAFETY: the block is two valid words that outlive the call; semihosting reads them and
    // ends the process. Without semihosting the HLT faults and the handler skips it.
    let _ = unsafe { rt_semihosting_call(SYS_EXIT_EXTENDED, block.as_ptr()) };
    // An SMCCC call may change X0–X17 when it returns (SMCCC 1.0 leaves X4–X17 unpredictable).
    macro_rules! psci_call {
        ($insn:literal) => {
            core::arch::asm!(
                $insn,
                inout("x0") PSCI_SYSTEM_OFF => _,
                out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x5") _, out("x6") _,
                out("x7") _, out("x8") _, out("x9") _, out("x10") _, out("x11") _,
                out("x12") _, out("x13") _, out("x14") _, out("x15") _, out("x16") _,
                out("x17") _,
                options(nostack),
            )
        };
    }
    match PSCI.load(Ordering::Acquire) {
        // SAFETY: the device tree names HVC as the PSCI conduit, so EL2 (a hypervisor or
        // QEMU's built-in PSCI) handles it; SYSTEM_OFF powers the machine off and touches no
        // memory of ours. Every register the call may change is declared.
        1 => unsafe { psci_call!("hvc #0") },
        // SAFETY: as above, through EL3 (or QEMU's PSCI with the SMC conduit).
        2 => unsafe { psci_call!("smc #0") },
        _ => {}
    }
    halt_forever()
}

/// Masks interrupts and waits, forever.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: masking interrupts and waiting changes no memory.
        unsafe { core::arch::asm!("msr daifset, #0xf", "wfi", options(nomem, nostack)) };
    }
}
