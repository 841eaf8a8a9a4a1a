//! The EL1 exception vector table and what each exception does.
//!
//! Every one of the 16 vectors saves X0–X30, ELR_EL1 and SPSR_EL1 in a [`TrapFrame`] on the
//! current stack and calls `rt_exception` with the vector's number. An IRQ taken from EL1
//! goes to the GIC (`gic::handle_irq`) and returns. Everything else is a bug in the
//! kernel (or a fault it provoked on purpose) and ends the run: the runtime prints
//!
//! ```text
//! [rt] exception <class> (vector <name>, ESR <esr>, ELR <elr>, FAR <far>, SPSR <spsr>, SP <sp>)
//! ```
//!
//! and exits with the failure status. One synchronous exception is expected: the semihosting
//! `HLT` of [`super::exit`] on a host without semihosting, which is an undefined instruction;
//! it is skipped and reported to the caller in X0 (see [`super::exit`]).

use core::fmt;

use aarch64_cpu::registers::{ESR_EL1, FAR_EL1, Readable};

use crate::console::print_unlocked;

/// The registers saved on exception entry.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    /// X0–X30.
    pub x: [u64; 31],
    /// ELR_EL1: where the exception was taken.
    pub elr: u64,
    /// SPSR_EL1: the state it was taken in.
    pub spsr: u64,
    /// Padding to 16 bytes.
    _pad: u64,
}

const _: () = assert!(size_of::<TrapFrame>() == 272);

/// The vector of the 16 in the table (current EL with SP_EL0, current EL with SP_ELx, lower
/// EL in AArch64, lower EL in AArch32; each sync, IRQ, FIQ, SError).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorKind(pub u64);

impl VectorKind {
    /// IRQ from EL1 with SP_EL1, the only interrupt the runtime takes.
    pub const IRQ_EL1H: Self = Self(5);
    /// Synchronous exception from EL1 with SP_EL1.
    pub const SYNC_EL1H: Self = Self(4);
}

impl fmt::Display for VectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = ["EL1t", "EL1h", "EL0 AArch64", "EL0 AArch32"];
        let what = ["sync", "IRQ", "FIQ", "SError"];
        match (
            from.get((self.0 / 4) as usize),
            what.get((self.0 % 4) as usize),
        ) {
            (Some(from), Some(what)) => write!(f, "{what} from {from}"),
            _ => write!(f, "unknown {}", self.0),
        }
    }
}

/// The name of an exception class (ESR_ELx.EC).
fn class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "undefined instruction",
        0x01 => "WFI/WFE trap",
        0x07 => "FP/SIMD access trap",
        0x0E => "illegal execution state",
        0x15 => "SVC",
        0x16 => "HVC",
        0x17 => "SMC",
        0x18 => "system register trap",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2F => "SError",
        0x3C => "BRK",
        _ => "exception",
    }
}

core::arch::global_asm!(
    r#"
    .macro RT_VECTOR kind
    .balign 0x80
    sub sp, sp, #272
    stp x0, x1, [sp, #0]
    mov x0, #\kind
    b rt_vector_common
    .endm

    .section .text.rt_vectors, "ax"
    .balign 0x800
    .global rt_vectors
rt_vectors:
    RT_VECTOR 0
    RT_VECTOR 1
    RT_VECTOR 2
    RT_VECTOR 3
    RT_VECTOR 4
    RT_VECTOR 5
    RT_VECTOR 6
    RT_VECTOR 7
    RT_VECTOR 8
    RT_VECTOR 9
    RT_VECTOR 10
    RT_VECTOR 11
    RT_VECTOR 12
    RT_VECTOR 13
    RT_VECTOR 14
    RT_VECTOR 15

rt_vector_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x2, elr_el1
    stp x30, x2, [sp, #240]
    mrs x2, spsr_el1
    str x2, [sp, #256]
    mov x1, x0
    mov x0, sp
    bl rt_exception
    ldr x2, [sp, #256]
    msr spsr_el1, x2
    ldp x30, x2, [sp, #240]
    msr elr_el1, x2
    ldp x28, x29, [sp, #224]
    ldp x26, x27, [sp, #208]
    ldp x24, x25, [sp, #192]
    ldp x22, x23, [sp, #176]
    ldp x20, x21, [sp, #160]
    ldp x18, x19, [sp, #144]
    ldp x16, x17, [sp, #128]
    ldp x14, x15, [sp, #112]
    ldp x12, x13, [sp, #96]
    ldp x10, x11, [sp, #80]
    ldp x8, x9, [sp, #64]
    ldp x6, x7, [sp, #48]
    ldp x4, x5, [sp, #32]
    ldp x2, x3, [sp, #16]
    ldp x0, x1, [sp, #0]
    add sp, sp, #272
    eret
"#
);

/// Called by every vector with the saved registers; returns only for an IRQ and for the
/// semihosting probe, whose frame it may change before the registers are restored.
#[unsafe(no_mangle)]
extern "C" fn rt_exception(frame: &mut TrapFrame, kind: u64) {
    let kind = VectorKind(kind);
    if kind == VectorKind::IRQ_EL1H {
        super::gic::handle_irq();
        return;
    }
    let esr = ESR_EL1.get();
    let ec = esr >> 26 & 0x3F;
    if kind == VectorKind::SYNC_EL1H && ec == 0 && super::exit::is_semihosting_probe(frame.elr) {
        super::exit::skip_semihosting_probe(frame);
        return;
    }
    let sp = core::ptr::from_ref(frame).addr() as u64 + size_of::<TrapFrame>() as u64;
    // ESR and FAR describe synchronous exceptions (and SErrors) only.
    let class = match kind.0 % 4 {
        0 => class_name(ec),
        1 => "unexpected IRQ",
        2 => "FIQ",
        _ => "SError",
    };
    print_unlocked(format_args!(
        "[rt] exception {class} (vector {kind}, ESR {esr:#x}, ELR {:#x}, FAR {:#x}, SPSR {:#x}, SP {sp:#x})\n",
        frame.elr,
        FAR_EL1.get(),
        frame.spsr,
    ));
    super::exit::exit(false)
}
