//! The entry points (see `docs/architecture.md`, "Boot contract of the x86_64 sample
//! kernel").
//!
//! * `rt_entry_pvh`, published in the `XEN_ELFNOTE_PHYS32_ENTRY` ELF note: 32-bit protected
//!   mode, paging off, `EBX` = physical address of the `hvm_start_info`. It clears `.bss`,
//!   builds boot page tables (identity map of the first 1 GiB with 2 MiB pages: enough for
//!   the kernel image and the low memory where hosts put the start info), enters long mode
//!   through a boot GDT and joins the common path.
//! * `rt_entry64`, the ELF `e_entry`: long mode with the host's identity map, `RDI` =
//!   physical address of the `hvm_start_info` or 0. It clears `.bss` and joins the common
//!   path.
//!
//! The common path switches to the runtime's stack and calls `rt_start` with the start
//! info address and the entry kind; `rt_start` replaces the boot page tables and GDT with
//! the runtime's own before doing anything else.

use crate::bootinfo::EntryKind;

/// Size of the boot stack, which the kernel's main function runs on.
pub const STACK_SIZE: usize = 256 * 1024;

core::arch::global_asm!(
    r#"
    .set XEN_ELFNOTE_PHYS32_ENTRY, 18

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                         /* namesz: "Xen\0" */
    .long 4                         /* descsz: a 32-bit entry address */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long rt_entry_pvh
    .balign 4

    .section .rodata.rt_boot, "a"
    .balign 16
rt_boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code, present, ring 0 */
    .quad 0x00cf92000000ffff        /* 0x10: flat data, present, ring 0 */
rt_boot_gdt_end:
    .balign 4
rt_boot_gdt_ptr:
    .word rt_boot_gdt_end - rt_boot_gdt - 1
    .long rt_boot_gdt

    .section .bss.rt_boot, "aw", @nobits
    .balign 4096
rt_boot_pml4:
    .skip 4096
rt_boot_pdpt:
    .skip 4096
rt_boot_pd:
    .skip 4096
rt_boot_stack:
    .skip {stack_size}
rt_boot_stack_top:

    .section .text.rt_boot, "ax"
    .code32
    .global rt_entry_pvh
rt_entry_pvh:
    cli
    cld
    movl %ebx, %esi                 /* hvm_start_info, kept in esi */

    movl $__bss_start, %edi         /* clear .bss */
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl $rt_boot_pdpt, %eax        /* PML4[0] -> PDPT, present + writable */
    orl $0x3, %eax
    movl %eax, rt_boot_pml4
    movl $rt_boot_pd, %eax          /* PDPT[0] -> PD */
    orl $0x3, %eax
    movl %eax, rt_boot_pdpt
    xorl %ecx, %ecx                 /* PD[i] = i * 2 MiB, present + writable + 2 MiB page */
1:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, rt_boot_pd(,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b

    movl %cr4, %eax                 /* CR4.PAE */
    orl $0x20, %eax
    movl %eax, %cr4
    movl $rt_boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx          /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax                 /* CR0.PG | CR0.PE */
    orl $0x80000001, %eax
    movl %eax, %cr0

    lgdt rt_boot_gdt_ptr
    ljmpl $0x08, $rt_pvh_long

    .code64
rt_pvh_long:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movl %esi, %edi                 /* start info (zero-extended) */
    movl ${entry_pvh}, %esi
    jmp rt_common64

    .global rt_entry64
rt_entry64:
    cli
    cld
    movq %rdi, %r12                 /* start info, kept across the clearing */
    leaq __bss_start(%rip), %rdi
    leaq __bss_end(%rip), %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movq %r12, %rdi
    movl ${entry_long64}, %esi

rt_common64:
    leaq rt_boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    call {start}
    ud2
    "#,
    stack_size = const STACK_SIZE,
    entry_pvh = const ENTRY_PVH,
    entry_long64 = const ENTRY_LONG64,
    start = sym rt_start,
    options(att_syntax)
);

const ENTRY_PVH: u64 = 0;
const ENTRY_LONG64: u64 = 1;

/// The Rust side of both entry points: `start_info` is the `hvm_start_info` physical address
/// (0 if none), `entry` says which entry point ran.
extern "sysv64" fn rt_start(start_info: u64, entry: u64) -> ! {
    let entry = if entry == ENTRY_PVH {
        EntryKind::Pvh
    } else {
        EntryKind::Long64
    };
    crate::entry::start(start_info, entry)
}
