//! A 16550 UART in I/O port space, normally COM1 at 0x3F8: 115200 baud, 8N1, polled output.

use core::fmt;

use x86_64::instructions::port::Port;

/// I/O base of COM1.
pub const COM1: u16 = 0x3f8;

/// Line status register bit: the transmit holding register is empty.
const LSR_THR_EMPTY: u8 = 1 << 5;

/// How many times to poll the line status before writing anyway: a host without a UART
/// reads 0xFF (ready) and a stuck one must not hang the kernel.
const POLL_LIMIT: u32 = 100_000;

/// A 16550 UART.
#[derive(Debug)]
pub struct Serial {
    base: u16,
}

impl Serial {
    /// The UART at COM1. Call [`init`](Self::init) once before relying on the line
    /// settings.
    pub const fn com1() -> Self {
        Self::at(COM1)
    }

    /// The UART whose first register is I/O port `base`.
    pub const fn at(base: u16) -> Self {
        Self { base }
    }

    /// Whether a UART answers at the port: its scratch register (offset 7, which the
    /// 16550 keeps and nothing reads) holds two test patterns; a port with no device
    /// reads 0xFF. The register's old value is put back.
    pub fn answers(&mut self) -> bool {
        let mut scratch = self.port(7);
        // SAFETY: the scratch register has no function; reading and writing it changes
        // nothing in the UART's operation and touches no memory.
        let old = unsafe { scratch.read() };
        let answers = [0x5a_u8, 0xa5].into_iter().all(|pattern| {
            // SAFETY: as above.
            unsafe { scratch.write(pattern) };
            // SAFETY: as above.
            unsafe { scratch.read() == pattern }
        });
        // SAFETY: as above.
        unsafe { scratch.write(old) };
        answers
    }

    fn port(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    /// Programs 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on, interrupts
    /// off.
    pub fn init(&mut self) {
        let settings: [(u16, u8); 7] = [
            (1, 0x00), // IER: no interrupts
            (3, 0x80), // LCR: DLAB on, to reach the divisor
            (0, 0x01), // DLL: divisor 1 = 115200 baud
            (1, 0x00), // DLM
            (3, 0x03), // LCR: 8N1, DLAB off
            (2, 0xc7), // FCR: FIFOs on and cleared, 14-byte threshold
            (4, 0x03), // MCR: DTR, RTS
        ];
        for (offset, value) in settings {
            // SAFETY: COM1's registers are the 16550's; writing them only changes the UART's
            // line settings, no memory.
            unsafe { self.port(offset).write(value) };
        }
    }

    /// Sends one byte, waiting (bounded) for room in the transmitter.
    pub fn write_byte(&mut self, byte: u8) {
        let mut lsr = self.port(5);
        for _ in 0..POLL_LIMIT {
            // SAFETY: reading the line status register has no side effect on memory.
            if unsafe { lsr.read() } & LSR_THR_EMPTY != 0 {
                break;
            }
            core::hint::spin_loop();
        }
        // SAFETY: writing the transmit holding register sends a byte; no memory effect.
        unsafe { self.port(0).write(byte) };
    }
}

impl fmt::Write for Serial {
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
