//! x86_64: CPUID, RDMSR/WRMSR, the call into the hypercall page, the VTL call and return
//! sequences, and the reads of the processor state an initial VP context is captured from.
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
use core::mem::offset_of;

use x86_64::registers::model_specific::Msr;

use hv_defs::register::HvRegisterName;
use hv_defs::status::HvError;
use hv_defs::vp::HvX64TableRegister;
use hv_defs::vsm::{HV_VTL_CALL_CONTROL, HvVtlReturnControl};

use crate::platform::{
    CpuidResult, HypercallEntry, Platform, X64Platform, XmmBlock, x64_read_register,
    x64_write_register,
};
use crate::vsm::{
    VtlCodeEntry, VtlPlatform, X64CpuState, X64Selectors, X64SystemState, X64VtlRegisters,
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

/// Enters a VTL call or return sequence of the hypercall page (TLFS 15.6.1, 15.7.1, 15.8)
/// with RCX = `control`, RAX = 0 and the other shared registers loaded from `regs`; stores
/// every shared register back into `regs` when the VP comes back to this VTL.
///
/// # Safety
///
/// As [`VtlPlatform::vtl_call`] or [`VtlPlatform::vtl_return`], whichever sequence `target`
/// is.
unsafe fn vtl_switch(target: *const u8, control: u64, regs: &mut X64VtlRegisters) {
    let block = core::ptr::from_mut(regs);
    // SAFETY:
    // * Target: `target` is a VTL call or return sequence of an enabled hypercall page
    //   (the caller's contract); like the hypercall entry it is reached with CALL and ends
    //   in RET (TLFS 15.8 step 3).
    // * Stack: the block is not `nostack`, so RSP is 16-byte aligned on entry; four pushes
    //   keep it aligned at the CALL. RSP is private to each VTL (TLFS 15.11.1.2), so the
    //   pushed values are found again when the VP comes back, and every push is popped (or
    //   dropped with `add rsp`) before the block ends.
    // * Registers: every shared general purpose register may come back changed, because the
    //   other VTL runs in between (TLFS 15.11.2.2). RAX, RCX, RDX, RSI, RDI and R8–R15 are
    //   declared as outputs. RBX and RBP cannot be operands (LLVM reserves them), so they
    //   are saved by the first pushes and restored by the last pops. `clobber_abi("C")`
    //   declares the caller-saved vector, mask and x87/MMX registers clobbered, which covers
    //   the shared x87, XMM and AVX state (on targets without SSE there are none to declare).
    //   RFLAGS is private but the sequence may change the arithmetic flags, so
    //   `preserves_flags` is not claimed; DF is private and stays clear.
    // * Memory: `block` points to a live `X64VtlRegisters`, read before the CALL and written
    //   after it at the field offsets below; its address is kept on the stack across the
    //   call because no register survives it. The other VTL may read or write memory, so the
    //   block is neither `nomem` nor `readonly`.
    unsafe {
        asm!(
            "push rbp",
            "push rbx",
            "push rax",
            "push rdx",
            "mov rbx, [rax + {rbx}]",
            "mov rbp, [rax + {rbp}]",
            "mov rdx, [rax + {rdx}]",
            "mov rsi, [rax + {rsi}]",
            "mov rdi, [rax + {rdi}]",
            "mov r8, [rax + {r8}]",
            "mov r9, [rax + {r9}]",
            "mov r10, [rax + {r10}]",
            "mov r11, [rax + {r11}]",
            "mov r12, [rax + {r12}]",
            "mov r13, [rax + {r13}]",
            "mov r14, [rax + {r14}]",
            "mov r15, [rax + {r15}]",
            // RAX is reserved by the VTL call and return conventions: pass zero.
            "xor eax, eax",
            "call qword ptr [rsp]",
            // Back in this VTL: [rsp] = target, [rsp + 8] = block.
            "push rax",
            "mov rax, [rsp + 16]",
            "mov [rax + {rcx}], rcx",
            "mov [rax + {rdx}], rdx",
            "mov [rax + {rbx}], rbx",
            "mov [rax + {rsi}], rsi",
            "mov [rax + {rdi}], rdi",
            "mov [rax + {rbp}], rbp",
            "mov [rax + {r8}], r8",
            "mov [rax + {r9}], r9",
            "mov [rax + {r10}], r10",
            "mov [rax + {r11}], r11",
            "mov [rax + {r12}], r12",
            "mov [rax + {r13}], r13",
            "mov [rax + {r14}], r14",
            "mov [rax + {r15}], r15",
            "pop rcx",
            "mov [rax + {rax}], rcx",
            "add rsp, 16",
            "pop rbx",
            "pop rbp",
            rax = const offset_of!(X64VtlRegisters, rax),
            rcx = const offset_of!(X64VtlRegisters, rcx),
            rdx = const offset_of!(X64VtlRegisters, rdx),
            rbx = const offset_of!(X64VtlRegisters, rbx),
            rsi = const offset_of!(X64VtlRegisters, rsi),
            rdi = const offset_of!(X64VtlRegisters, rdi),
            rbp = const offset_of!(X64VtlRegisters, rbp),
            r8 = const offset_of!(X64VtlRegisters, r8),
            r9 = const offset_of!(X64VtlRegisters, r9),
            r10 = const offset_of!(X64VtlRegisters, r10),
            r11 = const offset_of!(X64VtlRegisters, r11),
            r12 = const offset_of!(X64VtlRegisters, r12),
            r13 = const offset_of!(X64VtlRegisters, r13),
            r14 = const offset_of!(X64VtlRegisters, r14),
            r15 = const offset_of!(X64VtlRegisters, r15),
            inout("rax") block => _,
            inout("rcx") control => _,
            inout("rdx") target => _,
            out("rsi") _,
            out("rdi") _,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
            out("r12") _,
            out("r13") _,
            out("r14") _,
            out("r15") _,
            clobber_abi("C"),
        );
    }
}

impl VtlPlatform for X64 {
    type Registers = X64VtlRegisters;

    unsafe fn vtl_call(&self, entry: VtlCodeEntry, regs: &mut X64VtlRegisters) {
        // SAFETY: the caller upholds `VtlPlatform::vtl_call`'s contract; the call control is
        // 0 with every bit RsvdZ (TLFS 15.6.1).
        unsafe { vtl_switch(entry.as_ptr(), HV_VTL_CALL_CONTROL, regs) }
    }

    unsafe fn vtl_return(
        &self,
        entry: VtlCodeEntry,
        control: HvVtlReturnControl,
        regs: &mut X64VtlRegisters,
    ) {
        // SAFETY: the caller upholds `VtlPlatform::vtl_return`'s contract, including a
        // control value without reserved bits (TLFS 15.7.1).
        unsafe { vtl_switch(entry.as_ptr(), control.into_bits(), regs) }
    }
}

/// IA32_PAT (Intel SDM vol. 3 13.12.2).
const IA32_PAT: u32 = 0x277;
/// The power-on value of IA32_PAT, used when CPUID.1:EDX.PAT (bit 16) is clear.
const IA32_PAT_DEFAULT: u64 = 0x0007_0406_0007_0406;

impl X64CpuState for X64 {
    fn system_state(&self) -> X64SystemState {
        use x86_64::registers::control::{Cr0, Cr3, Cr4};
        use x86_64::registers::model_specific::{Efer, FsBase, GsBase};
        use x86_64::registers::segmentation::{CS, DS, ES, FS, GS, SS, Segment};

        let table = |t: x86_64::structures::DescriptorTablePointer| HvX64TableRegister {
            pad: [0; 3],
            limit: t.limit,
            base: t.base.as_u64(),
        };
        let (tr, ldtr): (u16, u16);
        // SAFETY: STR and SLDT only copy the TR and LDTR selectors into registers; they touch
        // no memory or flags. This crate runs at CPL 0, where UMIP does not apply.
        unsafe {
            asm!(
                "str {tr:x}",
                "sldt {ldtr:x}",
                tr = out(reg) tr,
                ldtr = out(reg) ldtr,
                options(nomem, nostack, preserves_flags),
            );
        }
        let pat = if self.cpuid(1, 0).edx & (1 << 16) != 0 {
            // SAFETY: CPUID says IA32_PAT exists; reading it has no side effect.
            unsafe { Msr::new(IA32_PAT).read() }
        } else {
            IA32_PAT_DEFAULT
        };
        let (frame, flags) = Cr3::read_raw();
        X64SystemState {
            cr0: Cr0::read_raw(),
            cr3: frame.start_address().as_u64() | u64::from(flags),
            cr4: Cr4::read_raw(),
            efer: Efer::read_raw(),
            pat,
            gdtr: table(x86_64::instructions::tables::sgdt()),
            idtr: table(x86_64::instructions::tables::sidt()),
            selectors: X64Selectors {
                cs: CS::get_reg().0,
                ds: DS::get_reg().0,
                es: ES::get_reg().0,
                fs: FS::get_reg().0,
                gs: GS::get_reg().0,
                ss: SS::get_reg().0,
                tr,
                ldtr,
            },
            fs_base: FsBase::read().as_u64(),
            gs_base: GsBase::read().as_u64(),
        }
    }

    fn gdt_entry(&self, index: u16) -> Option<u64> {
        let gdt = x86_64::instructions::tables::sgdt();
        let offset = u64::from(index) * 8;
        if offset + 7 > u64::from(gdt.limit) {
            return None;
        }
        let address = usize::try_from(gdt.base.as_u64() + offset).ok()?;
        let entry = core::ptr::with_exposed_provenance::<u64>(address);
        // SAFETY: GDTR holds the linear address of the GDT the processor itself reads on
        // every segment load and interrupt, so it is mapped and readable; the entry lies
        // within the limit. The table need not be 8-byte aligned, hence the unaligned read.
        Some(unsafe { entry.read_unaligned() })
    }
}
