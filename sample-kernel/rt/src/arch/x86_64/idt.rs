//! The IDT: one entry stub per vector, a common register-saving path, and the exception
//! report.
//!
//! Every vector has a 16-byte stub at `rt_isr_stubs + 16 * vector` that pushes a zero error
//! code (unless the CPU pushed one) and the vector number, then jumps to the common path,
//! which saves the general registers and calls `rt_isr_dispatch` with a [`TrapFrame`].
//! Exceptions (vectors 0-31) print a report and end the run with the failure status, so a
//! fault can never hang a test; vectors 32-255 go to [`super::interrupts`].

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::VirtAddr;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{Entry, InterruptDescriptorTable};

use super::gdt::DOUBLE_FAULT_IST_INDEX;
use crate::console::print_unlocked;
use crate::sync::{SpinLock, StaticCell};

core::arch::global_asm!(
    r#"
    .section .text.rt_isr, "ax"
    .balign 16
    .global rt_isr_stubs
rt_isr_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq $0
    .endif
    pushq $vector
    jmp rt_isr_common
    .set vector, vector + 1
    .endr

rt_isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call {dispatch}
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq
    "#,
    dispatch = sym rt_isr_dispatch,
    options(att_syntax)
);

/// What the entry path saved: general registers (pushed by the common path), the vector and
/// error code (pushed by the stub; 0 when the CPU pushes none), and the CPU's interrupt
/// frame.
///
/// With 22 eight-byte words the frame keeps the stack 16-byte aligned for the call, since
/// the CPU aligns RSP to 16 bytes before pushing its frame.
#[repr(C)]
#[derive(Debug)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

const _: () = assert!(size_of::<TrapFrame>() == 22 * 8);

/// Vectors for which the CPU pushes an error code (SDM vol. 3, table 6-1).
const WITH_ERROR_CODE: [u8; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];

/// Mnemonic and name of each exception vector.
const EXCEPTIONS: [(&str, &str); 32] = [
    ("#DE", "divide error"),
    ("#DB", "debug"),
    ("NMI", "non-maskable interrupt"),
    ("#BP", "breakpoint"),
    ("#OF", "overflow"),
    ("#BR", "bound range exceeded"),
    ("#UD", "invalid opcode"),
    ("#NM", "device not available"),
    ("#DF", "double fault"),
    ("#MP", "coprocessor segment overrun"),
    ("#TS", "invalid TSS"),
    ("#NP", "segment not present"),
    ("#SS", "stack-segment fault"),
    ("#GP", "general protection"),
    ("#PF", "page fault"),
    ("#15", "reserved"),
    ("#MF", "x87 floating-point error"),
    ("#AC", "alignment check"),
    ("#MC", "machine check"),
    ("#XM", "SIMD floating-point exception"),
    ("#VE", "virtualization exception"),
    ("#CP", "control protection"),
    ("#22", "reserved"),
    ("#23", "reserved"),
    ("#24", "reserved"),
    ("#25", "reserved"),
    ("#26", "reserved"),
    ("#27", "reserved"),
    ("#HV", "hypervisor injection"),
    ("#VC", "VMM communication"),
    ("#SX", "security exception"),
    ("#31", "reserved"),
];

static IDT: StaticCell<InterruptDescriptorTable> = StaticCell::new();
/// The loaded IDT, for the application processor.
static LOADED: SpinLock<Option<&'static InterruptDescriptorTable>> = SpinLock::new(None);

/// The address of the stub for `vector`.
fn stub(vector: u8) -> VirtAddr {
    unsafe extern "C" {
        static rt_isr_stubs: u8;
    }
    VirtAddr::from_ptr(core::ptr::addr_of!(rt_isr_stubs)) + 16 * u64::from(vector)
}

/// Points `entry` at the stub for `vector`.
fn set<F>(entry: &mut Entry<F>, vector: u8) -> &mut x86_64::structures::idt::EntryOptions {
    // SAFETY: the stub for `vector` is an interrupt entry point for exactly this vector: it
    // pushes a dummy error code only when the CPU pushes none (WITH_ERROR_CODE matches
    // `F`'s kind of entry) and returns with IRETQ.
    unsafe { entry.set_handler_addr(stub(vector)) }
}

/// Builds and loads the IDT. Must run after [`super::gdt::init`] (entries take the current
/// code segment). Called once at boot.
///
/// # Panics
///
/// If called twice.
pub fn init() {
    let idt = IDT
        .init(InterruptDescriptorTable::new())
        .expect("idt::init runs once");
    for vector in (0..=255_u8).filter(|v| !WITH_ERROR_CODE.contains(v)) {
        if matches!(vector, 15 | 18 | 22..=27 | 31) {
            continue; // reserved (no public entry) or machine check (set below)
        }
        set(&mut idt[vector], vector);
    }
    let df = set(&mut idt.double_fault, 8);
    // SAFETY: IST index 0 holds the top of the 16 KiB double fault stack set up by
    // `gdt::init`, used by nothing else.
    unsafe { df.set_stack_index(DOUBLE_FAULT_IST_INDEX) };
    set(&mut idt.invalid_tss, 10);
    set(&mut idt.segment_not_present, 11);
    set(&mut idt.stack_segment_fault, 12);
    set(&mut idt.general_protection_fault, 13);
    set(&mut idt.page_fault, 14);
    set(&mut idt.alignment_check, 17);
    set(&mut idt.machine_check, 18);
    set(&mut idt.cp_protection_exception, 21);
    set(&mut idt.vmm_communication_exception, 29);
    set(&mut idt.security_exception, 30);
    let idt: &'static InterruptDescriptorTable = idt;
    idt.load();
    *LOADED.lock() = Some(idt);
}

/// Loads the IDT [`init`] built on the application processor: every processor shares it.
///
/// # Panics
///
/// Before [`init`].
pub fn init_ap() {
    let idt = (*LOADED.lock()).expect("idt::init ran on the boot processor");
    idt.load();
}

/// Set while an exception is being reported, so a fault inside the report ends the run at
/// once instead of recursing.
static IN_EXCEPTION: AtomicBool = AtomicBool::new(false);

/// Called by the common entry path for every vector.
extern "sysv64" fn rt_isr_dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    if vector < 32 {
        exception(frame)
    }
    super::interrupts::dispatch(vector, frame);
}

fn exception(frame: &TrapFrame) -> ! {
    if IN_EXCEPTION.swap(true, Ordering::AcqRel) {
        print_unlocked(format_args!(
            "[rt] exception while reporting an exception\n"
        ));
        super::exit::exit_quietly(false)
    }
    let (mnemonic, name) = EXCEPTIONS[usize::from(frame.vector as u8 & 31)];
    print_unlocked(format_args!(
        "[rt] exception {mnemonic} {name} (vector {}, error code {:#x}, rip {:#x}, cr2 {:#x}, rsp {:#x}, rflags {:#x})\n",
        frame.vector,
        frame.error_code,
        frame.rip,
        Cr2::read_raw(),
        frame.rsp,
        frame.rflags,
    ));
    super::exit::exit(false)
}
