//! CPUID and the processor set-up the runtime does at boot.

use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};

/// Executes CPUID for `leaf` and `subleaf`: `[eax, ebx, ecx, edx]`.
pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// Enables SSE (CR0.MP, not CR0.EM; CR4.OSFXSR and CR4.OSXMMEXCPT), so that code using
/// XMM registers can run: XMM fast hypercalls pass their input and output in XMM0–XMM5
/// (TLFS 3.7.2, 3.8.1), and without CR4.OSFXSR (or with CR0.EM) the MOVDQA that loads them
/// raises #UD. The runtime itself is compiled without SSE (`x86_64-unknown-none`), so it
/// never keeps state in XMM registers that a hypercall could clobber.
pub fn enable_sse() {
    // SAFETY: every x86_64 processor has SSE; clearing EM and setting MP only lets SSE and
    // x87 instructions run (the kernel never uses the x87 task-switch trap), and changes no
    // memory mapping.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR);
            f.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
    }
    // SAFETY: OSFXSR and OSXMMEXCPT announce that the kernel handles SSE state and SIMD
    // exceptions (#XM is reported like every exception); no memory effect.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE)) };
}
