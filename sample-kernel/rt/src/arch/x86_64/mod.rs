//! The x86_64 half of the runtime.
//!
//! | module | what |
//! | --- | --- |
//! | `boot` | PVH and 64-bit entry points, boot page tables, stack (not in UEFI builds) |
//! | [`paging`] | the runtime's identity map |
//! | [`serial`] | 16550 UART (COM1 at port 0x3F8, or the port the ACPI SPCR names) |
//! | [`gdt`] | GDT and TSS (IST stack for #DF) |
//! | [`idt`] | IDT, interrupt entry stubs, exception reports |
//! | [`interrupts`] | vectors the kernel can register handlers for |
//! | [`apic`] | local APIC in x2APIC mode |
//! | [`pic`] | the legacy 8259 PICs (remapped and masked) |
//! | [`smp`] | one application processor: finding it (ACPI MADT) and starting it |
//! | [`exit`] | isa-debug-exit and halt |
//! | [`cpu`] | CPUID and SSE set-up |
//! | `uefi` | the UEFI entry's console choice and stack switch (`x86_64-unknown-uefi` only) |

pub mod apic;
#[cfg(not(target_os = "uefi"))]
pub mod boot;
pub mod cpu;
pub mod exit;
pub mod gdt;
pub mod idt;
pub mod interrupts;
pub mod paging;
pub mod pic;
pub mod serial;
pub mod smp;
#[cfg(target_os = "uefi")]
pub(crate) mod uefi;
