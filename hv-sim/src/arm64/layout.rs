//! Guest physical addresses of the arm64 machine: QEMU `virt`'s (`hw/arm/virt.c`
//! `base_memmap`), so the same kernel boots on both.

/// RAM base.
pub(crate) const RAM_BASE: u64 = 0x4000_0000;
/// Where the `Image` is loaded and entered: RAM base + `text_offset` (0x20_0000).
pub(crate) const IMAGE_ADDR: u64 = RAM_BASE + 0x20_0000;
/// Where the device tree is written: the start of RAM, below the kernel.
pub(crate) const DTB_ADDR: u64 = RAM_BASE;
/// GICv3 distributor.
pub(crate) const GICD_BASE: u64 = 0x0800_0000;
/// Distributor size.
pub(crate) const GICD_SIZE: u64 = 0x1_0000;
/// The redistributor region: one redistributor (RD and SGI frames) for processor 0.
pub(crate) const GICR_BASE: u64 = 0x080A_0000;
/// Redistributor region size.
pub(crate) const GICR_SIZE: u64 = 0x2_0000;
/// PL011 UART.
pub(crate) const PL011_BASE: u64 = 0x0900_0000;
/// PL011 register block size.
pub(crate) const PL011_SIZE: u64 = 0x1000;
