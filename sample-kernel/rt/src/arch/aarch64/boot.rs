//! The arm64 entry point: the Linux `Image` header and the first instructions (see
//! `docs/architecture.md`, "Boot contract of the arm64 sample kernel").
//!
//! The header follows Linux `Documentation/arch/arm64/booting.rst`: `code0` branches to the
//! entry, `text_offset` is 0x20_0000 (the kernel is linked at RAM base + 2 MiB), `image_size`
//! covers the whole image including `.bss`, and `flags` say little-endian, 4 KiB pages, placed
//! at the 2 MiB aligned base closest to the start of RAM. A loader that follows the protocol
//! (QEMU `-kernel`, Linux-style VMMs) enters at the first byte with X0 = physical address of
//! the device tree, the MMU off, interrupts masked, at EL2 or EL1.
//!
//! `rt_image_entry` then:
//!
//! 1. keeps the device tree address and the entry exception level;
//! 2. at EL2, drops to EL1: EL1 runs AArch64 (HCR_EL2.RW), with no EL2 traps (HCR_EL2 zero
//!    otherwise, CPTR_EL2 without TFP), the EL1 physical timer and counter accessible
//!    (CNTHCTL_EL2.EL1PCEN|EL1PCTEN), a zero virtual counter offset, GICv3 system registers
//!    enabled for EL1 (ICC_SRE_EL2.SRE|Enable) when the CPU has them, and returns to EL1h with
//!    DAIF masked. Nothing stays at EL2: `HVC` from EL1 would then reach no handler, so the
//!    runtime never makes one in that case (it knows there is no hypervisor below it);
//! 3. at EL1: lets FP/SIMD run (CPACR_EL1.FPEN, the compiler uses NEON), clears `.bss`, takes
//!    the runtime's stack, installs the vector table, and calls `rt_start_aarch64(device
//!    tree, entry EL)`, which turns the MMU on before it does anything else.

use super::start::STACK_SIZE;

core::arch::global_asm!(
    r#"
    .section .text.rt_image_header, "ax"
    .global rt_image_start
rt_image_start:
    b rt_image_entry                /* code0 */
    .long 0                         /* code1 */
    .quad 0x200000                  /* text_offset */
    .quad __kernel_size             /* image_size, .bss included */
    .quad 0x2                       /* flags: LE, 4 KiB pages, 2 MiB aligned base near RAM start */
    .quad 0                         /* res2 */
    .quad 0                         /* res3 */
    .quad 0                         /* res4 */
    .long 0x644d5241                /* magic "ARM\x64" */
    .long 0                         /* res5 */

    .section .bss.rt_boot, "aw", @nobits
    .balign 16
rt_boot_stack:
    .skip {stack_size}
rt_boot_stack_top:

    .section .text.rt_boot, "ax"
rt_image_entry:
    msr daifset, #0xf
    mov x19, x0                     /* device tree */
    mrs x20, CurrentEL
    lsr x20, x20, #2                /* entry EL */
    cmp x20, #2
    b.ne 2f

    /* EL2: hand everything to EL1. */
    mov x1, #(1 << 31)              /* HCR_EL2.RW: EL1 is AArch64; no traps, no stage 2 */
    msr hcr_el2, x1
    mov x1, #0x3                    /* CNTHCTL_EL2.EL1PCTEN | EL1PCEN */
    msr cnthctl_el2, x1
    msr cntvoff_el2, xzr
    mov x1, #0x33ff                 /* CPTR_EL2: RES1 bits, TFP clear */
    msr cptr_el2, x1
    mrs x1, id_aa64pfr0_el1
    ubfx x1, x1, #24, #4            /* GIC system register interface */
    cbz x1, 1f
    mrs x1, S3_4_C12_C9_5           /* ICC_SRE_EL2 */
    orr x1, x1, #0x1                /* SRE */
    orr x1, x1, #0x8                /* Enable: EL1 may use ICC_SRE_EL1 */
    msr S3_4_C12_C9_5, x1
    isb
1:
    ldr x1, =0x30d00800             /* SCTLR_EL1: RES1 bits, MMU and caches off */
    msr sctlr_el1, x1
    mov x1, #0x3c5                  /* SPSR_EL2: EL1h, DAIF masked */
    msr spsr_el2, x1
    adr x1, 2f
    msr elr_el2, x1
    eret

2:  /* EL1 */
    mov x1, #(3 << 20)              /* CPACR_EL1.FPEN: FP/SIMD at EL1 and EL0 */
    msr cpacr_el1, x1
    isb

    ldr x1, =__bss_start
    ldr x2, =__bss_end
3:  cmp x1, x2
    b.hs 4f
    stp xzr, xzr, [x1], #16
    b 3b
4:
    ldr x1, =rt_boot_stack_top
    mov sp, x1
    ldr x1, =rt_vectors
    msr vbar_el1, x1
    isb
    mov x0, x19
    mov x1, x20
    bl rt_start_aarch64
5:  wfe
    b 5b
"#,
    stack_size = const STACK_SIZE,
);
