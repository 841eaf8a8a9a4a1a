//! The generic timer: the virtual counter and the EL1 virtual timer.
//!
//! The counter (CNTVCT_EL0) ticks at CNTFRQ_EL0 Hz on every host; the virtual timer raises
//! the PPI the device tree names (27 on QEMU `virt`) when the counter passes its compare
//! value. Under a hypervisor the virtual counter is the physical one minus the hypervisor's
//! offset, which is what a guest sees as time.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    CNTFRQ_EL0, CNTV_CTL_EL0, CNTV_TVAL_EL0, CNTVCT_EL0, Readable, Writeable,
};

/// The counter frequency in Hz.
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

/// The virtual counter, read after the instructions before it (`ISB`).
pub fn counter() -> u64 {
    barrier::isb(barrier::SY);
    CNTVCT_EL0.get()
}

/// Arms the virtual timer to fire `ticks` counter ticks from now (unmasked).
pub fn arm_virtual(ticks: u32) {
    CNTV_TVAL_EL0.set(u64::from(ticks));
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
    barrier::isb(barrier::SY);
}

/// Stops the virtual timer (its interrupt line drops).
pub fn disarm_virtual() {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR);
    barrier::isb(barrier::SY);
}

/// Whether the virtual timer's condition is met (CNTV_CTL_EL0.ISTATUS).
pub fn virtual_fired() -> bool {
    CNTV_CTL_EL0.is_set(CNTV_CTL_EL0::ISTATUS)
}
