//! The local APIC in x2APIC mode (Intel SDM vol. 3, 11.12): registers are MSRs
//! `0x800 + offset / 16`.
//!
//! [`init`] enables it when `CPUID.1:ECX[21]` says the processor has x2APIC; without it the
//! runtime reports the APIC as absent and everything here answers [`ApicError::Absent`]
//! (the kernel has no xAPIC MMIO path).

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::registers::model_specific::Msr;

use super::cpu::cpuid;
use super::interrupts::Vector;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;

const X2APIC_ID: u32 = 0x802;
const X2APIC_TPR: u32 = 0x808;
const X2APIC_EOI: u32 = 0x80b;
const X2APIC_SVR: u32 = 0x80f;
const X2APIC_ISR0: u32 = 0x810;
const X2APIC_IRR0: u32 = 0x820;
const X2APIC_ESR: u32 = 0x828;
const X2APIC_LVT_TIMER: u32 = 0x832;
const X2APIC_LVT_LINT0: u32 = 0x835;
const X2APIC_LVT_ERROR: u32 = 0x837;
const X2APIC_SELF_IPI: u32 = 0x83f;
const X2APIC_ICR: u32 = 0x830;

/// ICR delivery mode INIT with level assert (Intel SDM vol. 3, 10.6.1).
const ICR_INIT_ASSERT: u64 = 0x4500;
/// ICR delivery mode start-up (SIPI).
const ICR_STARTUP: u64 = 0x0600;

const LVT_MASKED: u64 = 1 << 16;
const SVR_APIC_ENABLE: u64 = 1 << 8;

/// The spurious interrupt vector (also never registrable).
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// CPUID.1:ECX bit announcing x2APIC.
const CPUID_1_ECX_X2APIC: u32 = 1 << 21;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// What [`init`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicState {
    /// x2APIC mode is on.
    X2Apic {
        /// This processor's x2APIC ID.
        id: u32,
    },
    /// The processor has no x2APIC (`CPUID.1:ECX[21]` = 0).
    Absent,
}

/// Why an APIC operation did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicError {
    /// The processor has no x2APIC, so the APIC is not in use.
    Absent,
}

impl fmt::Display for ApicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no x2APIC (CPUID.1:ECX[21] clear)")
    }
}

impl core::error::Error for ApicError {}

/// Writes an x2APIC register.
///
/// # Safety
///
/// x2APIC mode must be enabled and `msr` must be an x2APIC register for which `value` is
/// valid.
unsafe fn write(msr: u32, value: u64) {
    let mut msr = Msr::new(msr);
    // SAFETY: the caller guarantees the register exists and the value is valid.
    unsafe { msr.write(value) };
}

/// Reads an x2APIC register.
///
/// # Safety
///
/// x2APIC mode must be enabled and `msr` must be a readable x2APIC register.
unsafe fn read(msr: u32) -> u64 {
    // SAFETY: the caller guarantees the register exists and is readable.
    unsafe { Msr::new(msr).read() }
}

fn check() -> Result<(), ApicError> {
    if ENABLED.load(Ordering::Acquire) {
        Ok(())
    } else {
        Err(ApicError::Absent)
    }
}

/// Enables the local APIC in x2APIC mode, software-enabled with spurious vector 0xFF, task
/// priority 0, LINT0 (the 8259's ExtINT line), the timer and error interrupts masked.
/// Called once at boot.
pub fn init() -> ApicState {
    if cpuid(1, 0)[2] & CPUID_1_ECX_X2APIC == 0 {
        return ApicState::Absent;
    }
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every processor with an APIC (x2APIC implies one);
    // reading it has no side effect.
    let value = unsafe { base.read() };
    // Enable first, then switch to x2APIC: going from disabled straight to x2APIC mode is
    // an invalid transition, and so is leaving x2APIC mode by clearing EXTD alone (SDM
    // 11.12.5), which matters when a host (or a second entry) hands over the APIC in
    // x2APIC mode already.
    if value & APIC_BASE_X2APIC == 0 {
        // SAFETY: setting EN keeps the base address; the APIC's MMIO page is not used.
        unsafe { base.write(value | APIC_BASE_ENABLE) };
        // SAFETY: with EN set and CPUID announcing x2APIC, setting EXTD enters x2APIC mode.
        unsafe { base.write(value | APIC_BASE_ENABLE | APIC_BASE_X2APIC) };
    }
    ENABLED.store(true, Ordering::Release);
    let settings = [
        (X2APIC_LVT_LINT0, LVT_MASKED),
        (X2APIC_LVT_TIMER, LVT_MASKED),
        (X2APIC_LVT_ERROR, LVT_MASKED),
        (X2APIC_TPR, 0),
        (X2APIC_SVR, SVR_APIC_ENABLE | u64::from(SPURIOUS_VECTOR)),
        (X2APIC_ESR, 0),
    ];
    for (msr, value) in settings {
        // SAFETY: x2APIC mode is on; these registers exist and the values are valid (masked
        // LVTs, priority 0, software enable with spurious vector 0xFF, ESR write to clear).
        unsafe { write(msr, value) };
    }
    // SAFETY: x2APIC mode is on; the ID register is readable.
    let id = unsafe { read(X2APIC_ID) } as u32;
    ApicState::X2Apic { id }
}

/// Whether x2APIC mode is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// This processor's x2APIC ID.
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn id() -> Result<u32, ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; the ID register is readable.
    Ok(unsafe { read(X2APIC_ID) } as u32)
}

/// Signals the end of the interrupt being handled.
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn eoi() -> Result<(), ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; EOI takes 0.
    unsafe { write(X2APIC_EOI, 0) };
    Ok(())
}

/// Sets the task priority: interrupts whose vector's priority class (`vector >> 4`) is at
/// most `priority >> 4` are held pending.
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn set_task_priority(priority: u8) -> Result<(), ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; TPR takes any 8-bit value.
    unsafe { write(X2APIC_TPR, u64::from(priority)) };
    Ok(())
}

/// The task priority.
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn task_priority() -> Result<u8, ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; TPR is readable.
    Ok(unsafe { read(X2APIC_TPR) } as u8)
}

/// Sends `vector` to this processor through the x2APIC SELF IPI register.
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn self_ipi(vector: Vector) -> Result<(), ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; SELF IPI takes a vector in bits 7:0, and `Vector` is
    // never one of the reserved vectors 0-15.
    unsafe { write(X2APIC_SELF_IPI, u64::from(vector.get())) };
    Ok(())
}

fn vector_bit(base: u32, vector: u8) -> Result<bool, ApicError> {
    check()?;
    let msr = base + u32::from(vector / 32);
    // SAFETY: x2APIC mode is on; ISR0-7 and IRR0-7 are readable.
    let bits = unsafe { read(msr) };
    Ok(bits & (1 << (vector % 32)) != 0)
}

/// Whether `vector` is requested but not yet delivered (its IRR bit).
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn is_pending(vector: u8) -> Result<bool, ApicError> {
    vector_bit(X2APIC_IRR0, vector)
}

/// Whether `vector` is being serviced (its ISR bit: delivered, not yet EOIed).
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn is_in_service(vector: u8) -> Result<bool, ApicError> {
    vector_bit(X2APIC_ISR0, vector)
}

/// Sends INIT to the processor with x2APIC id `apic_id` (Intel SDM vol. 3, 8.4.4.1): it
/// stops and waits for a start-up IPI.
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn send_init(apic_id: u32) -> Result<(), ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; the ICR takes the destination in bits 63:32 and INIT with
    // level assert in the low half.
    unsafe { write(X2APIC_ICR, u64::from(apic_id) << 32 | ICR_INIT_ASSERT) };
    Ok(())
}

/// Sends a start-up IPI to the processor with x2APIC id `apic_id`: if it waits for one
/// (after INIT), it starts in real mode at `page << 12` (CS = `page << 8`, IP = 0).
///
/// # Errors
///
/// [`ApicError::Absent`] without x2APIC.
pub fn send_startup(apic_id: u32, page: u8) -> Result<(), ApicError> {
    check()?;
    // SAFETY: x2APIC mode is on; start-up carries the page number as its vector.
    unsafe {
        write(
            X2APIC_ICR,
            u64::from(apic_id) << 32 | ICR_STARTUP | u64::from(page),
        )
    };
    Ok(())
}
