//! The PL011 UART: polled output, 115200 baud 8N1.
//!
//! After the `Image` entry the console is the PL011 of QEMU `virt` at 0x0900_0000. The
//! address is fixed rather than read from the device tree so that the runtime can print
//! before (and about) a device tree it cannot read. After the UEFI entry it is the UART the
//! ACPI SPCR names (else the same QEMU `virt` address), used as the firmware programmed it
//! (see `crate::uart::Pl011Choice`).

use core::fmt;

/// Base address of the PL011 on QEMU `virt` (`VIRT_UART`).
pub const QEMU_VIRT_PL011: usize = crate::uart::QEMU_VIRT_PL011 as usize;

/// Data register.
const DR: usize = 0x00;
/// Flag register; bit 5 is "transmit FIFO full".
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;
/// Integer and fractional baud rate divisors.
const IBRD: usize = 0x24;
const FBRD: usize = 0x28;
/// Line control: bits 6:5 word length, bit 4 FIFO enable.
const LCR_H: usize = 0x2C;
/// Control: bit 0 UART enable, bit 8 transmit enable, bit 9 receive enable.
const CR: usize = 0x30;
/// Interrupt mask set/clear.
const IMSC: usize = 0x38;

/// How many times to poll the flag register before writing anyway: a stuck UART must not
/// hang the kernel.
const POLL_LIMIT: u32 = 100_000;

/// A PL011 UART.
#[derive(Debug)]
pub struct Pl011 {
    base: usize,
}

impl Pl011 {
    /// The UART of QEMU `virt`. Call [`init`](Self::init) once before relying on the line
    /// settings.
    pub const fn qemu_virt() -> Self {
        Self::at(QEMU_VIRT_PL011)
    }

    /// The PL011 whose registers start at MMIO address `base` (identity-mapped device
    /// memory).
    pub const fn at(base: usize) -> Self {
        Self { base }
    }

    fn write_reg(&mut self, offset: usize, value: u32) {
        let reg = core::ptr::with_exposed_provenance_mut::<u32>(self.base + offset);
        // SAFETY: the register lies in the PL011's MMIO page, identity-mapped as device
        // memory; a volatile aligned 32-bit write is how the device is programmed.
        unsafe { reg.write_volatile(value) };
    }

    fn read_reg(&self, offset: usize) -> u32 {
        let reg = core::ptr::with_exposed_provenance::<u32>(self.base + offset);
        // SAFETY: as in `write_reg`; reading FR has no side effect.
        unsafe { reg.read_volatile() }
    }

    /// Programs 115200 baud (24 MHz reference clock), 8 data bits, no parity, one stop bit,
    /// FIFOs on, interrupts masked.
    pub fn init(&mut self) {
        self.write_reg(CR, 0);
        self.write_reg(IMSC, 0);
        self.write_reg(IBRD, 13);
        self.write_reg(FBRD, 1);
        self.write_reg(LCR_H, 0b111 << 4);
        self.write_reg(CR, 1 | 1 << 8 | 1 << 9);
    }

    /// Sends one byte, waiting (bounded) for room in the transmit FIFO.
    pub fn write_byte(&mut self, byte: u8) {
        for _ in 0..POLL_LIMIT {
            if self.read_reg(FR) & FR_TXFF == 0 {
                break;
            }
            core::hint::spin_loop();
        }
        self.write_reg(DR, u32::from(byte));
    }
}

impl fmt::Write for Pl011 {
    /// Sends `s`, turning `\n` into `\r\n` for terminals.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}
