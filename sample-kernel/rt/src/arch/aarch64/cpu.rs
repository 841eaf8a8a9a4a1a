//! Processor state the runtime reads and changes: interrupt masking, the exception level,
//! the processor's affinity.

use aarch64_cpu::registers::{CurrentEL, DAIF, MPIDR_EL1, ReadWriteable, Readable, Writeable};

/// Runs `f` with IRQs masked, restoring the previous mask afterwards.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let saved = DAIF.get();
    DAIF.modify(DAIF::I::Masked);
    let result = f();
    DAIF.set(saved);
    result
}

/// Unmasks IRQs.
pub fn enable_interrupts() {
    DAIF.modify(DAIF::I::Unmasked);
}

/// Masks IRQs.
pub fn disable_interrupts() {
    DAIF.modify(DAIF::I::Masked);
}

/// Whether IRQs are unmasked.
pub fn interrupts_enabled() -> bool {
    DAIF.matches_all(DAIF::I::Unmasked)
}

/// The current exception level (1 once the runtime runs).
pub fn current_el() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

/// The affinity fields of MPIDR_EL1: Aff3 in bits 39:32, Aff2–Aff0 in bits 23:0.
pub fn affinity() -> u64 {
    MPIDR_EL1.get() & 0xFF_00FF_FFFF
}

/// Waits for an interrupt (or any other wake-up event).
pub fn wait_for_interrupt() {
    aarch64_cpu::asm::wfi();
}
