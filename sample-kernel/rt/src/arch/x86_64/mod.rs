//! The x86_64 half of the runtime.
//!
//! | module | what |
//! | --- | --- |
//! | [`boot`] | PVH and 64-bit entry points, boot page tables, stack |
//! | [`paging`] | the runtime's identity map |
//! | [`serial`] | 16550 UART at port 0x3F8 |
//! | [`gdt`] | GDT and TSS (IST stack for #DF) |
//! | [`idt`] | IDT, interrupt entry stubs, exception reports |
//! | [`interrupts`] | vectors the kernel can register handlers for |
//! | [`apic`] | local APIC in x2APIC mode |
//! | [`pic`] | the legacy 8259 PICs (remapped and masked) |
//! | [`exit`] | isa-debug-exit and halt |
//! | [`cpu`] | CPUID and SSE set-up |

pub mod apic;
pub mod boot;
pub mod cpu;
pub mod exit;
pub mod gdt;
pub mod idt;
pub mod interrupts;
pub mod paging;
pub mod pic;
pub mod serial;
