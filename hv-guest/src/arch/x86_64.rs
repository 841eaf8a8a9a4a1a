//! x86_64: CPUID, RDMSR/WRMSR and the call into the hypercall page.
//!
//! The hypercall register convention (TLFS 3.7, 3.8, 3.9):
//!
//! * in: RCX = hypercall input value, RDX = input GPA or fast input, R8 = output GPA or fast
//!   input; XMM fast calls add XMM0–XMM5;
//! * out: RAX = hypercall result value;
//! * the hypervisor may change RCX (the rep start index of a rep call it continues), RDX and
//!   R8 and XMM0–XMM5 (fast output). Every asm block below declares those registers as
//!   clobbered on every call, so correctness never depends on which call the host thinks it
//!   is serving.

use core::arch::asm;

use x86_64::registers::model_specific::Msr;

use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;

use crate::platform::{
    CpuidResult, HypercallEntry, Platform, X64Platform, XmmBlock, x64_read_register,
    x64_write_register,
};

/// The x86_64 processor this code runs on.
///
/// Zero-sized: all state lives in the processor and in the hypervisor.
#[derive(Copy, Clone, Debug, Default)]
pub struct X64;

impl X64Platform for X64 {
    fn cpuid(&self, leaf: u32, subleaf: u32) -> CpuidResult {
        let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
        CpuidResult {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        }
    }

    unsafe fn read_msr(&self, msr: u32) -> u64 {
        // SAFETY: the caller guarantees the MSR exists and is readable at CPL 0.
        unsafe { Msr::new(msr).read() }
    }

    unsafe fn write_msr(&self, msr: u32, value: u64) {
        let mut msr = Msr::new(msr);
        // SAFETY: the caller guarantees the MSR exists, the value is valid and any memory
        // the write lets the hypervisor use is owned for the overlay's lifetime.
        unsafe { msr.write(value) }
    }
}

impl Platform for X64 {
    unsafe fn read_register(&self, name: HvRegisterName) -> Result<u64, HvError> {
        // SAFETY: the caller guarantees the register (its MSR) exists.
        unsafe { x64_read_register(self, name) }
    }

    unsafe fn write_register(&self, name: HvRegisterName, value: u64) -> Result<(), HvError> {
        // SAFETY: the caller guarantees the register exists and the value is valid.
        unsafe { x64_write_register(self, name, value) }
    }

    unsafe fn hypercall(&self, entry: HypercallEntry, control: u64, rdx: u64, r8: u64) -> u64 {
        let rax: u64;
        // SAFETY: `entry` is an enabled hypercall page (the caller's contract), which
        // behaves like a near function ending in RET (TLFS 3.13). The stack is valid (no
        // `nostack`). RCX, RDX and R8 are declared clobbered because the hypervisor may change
        // them (TLFS 3.9); RAX receives the result. Memory-based inputs/outputs are the
        // caller's responsibility, and the asm is not `nomem`, so the compiler treats memory as
        // read and written by the call.
        unsafe {
            asm!(
                "call {entry}",
                entry = in(reg) entry.as_ptr(),
                inout("rcx") control => _,
                inout("rdx") rdx => _,
                inout("r8") r8 => _,
                lateout("rax") rax,
            );
        }
        rax
    }

    unsafe fn hypercall_xmm(
        &self,
        entry: HypercallEntry,
        control: u64,
        block: &mut XmmBlock,
    ) -> u64 {
        let rax: u64;
        let block = core::ptr::from_mut(block);
        // Declares XMM0–XMM5 clobbered where the compiler may keep values in them. On
        // soft-float targets (`x86_64-unknown-none`) the compiler never uses XMM registers, so
        // there is nothing to declare; the instructions still need CR4.OSFXSR set.
        macro_rules! xmm_call {
            ($($clobber:tt)*) => {
                asm!(
                    "mov rdx, [{b}]",
                    "mov r8, [{b} + 8]",
                    "movdqa xmm0, [{b} + 16]",
                    "movdqa xmm1, [{b} + 32]",
                    "movdqa xmm2, [{b} + 48]",
                    "movdqa xmm3, [{b} + 64]",
                    "movdqa xmm4, [{b} + 80]",
                    "movdqa xmm5, [{b} + 96]",
                    "call {entry}",
                    "mov [{b}], rdx",
                    "mov [{b} + 8], r8",
                    "movdqa [{b} + 16], xmm0",
                    "movdqa [{b} + 32], xmm1",
                    "movdqa [{b} + 48], xmm2",
                    "movdqa [{b} + 64], xmm3",
                    "movdqa [{b} + 80], xmm4",
                    "movdqa [{b} + 96], xmm5",
                    b = in(reg) block,
                    entry = in(reg) entry.as_ptr(),
                    inout("rcx") control => _,
                    out("rdx") _,
                    out("r8") _,
                    out("rax") rax,
                    $($clobber)*
                )
            };
        }
        // SAFETY: `block` points to a live, 16-byte aligned `XmmBlock` of 112 bytes (the
        // loads and stores stay inside it). `entry` is an enabled hypercall page and the
        // partition offers XMM fast input (the caller's contract). RAX, RCX, RDX and R8 are
        // non-late outputs, so neither `b` nor `entry` can be allocated to a register the
        // call changes, and both survive the call. XMM0–XMM5 are declared clobbered whenever
        // the compiler could be using them.
        unsafe {
            #[cfg(target_feature = "sse")]
            xmm_call!(
                out("xmm0") _, out("xmm1") _, out("xmm2") _,
                out("xmm3") _, out("xmm4") _, out("xmm5") _,
            );
            #[cfg(not(target_feature = "sse"))]
            xmm_call!();
        }
        rax
    }
}
