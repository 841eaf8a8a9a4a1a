//! A 16550-compatible UART at I/O port 0x3F8: enough for a polled driver's
//! initialisation (divisor latch, line/modem control, FIFO control, scratch register,
//! loopback self-test) and output. Transmitted bytes go to a buffer and, optionally, to
//! standard output. There is no input: the receive buffer only fills in loopback mode.

use std::io::Write as _;

/// First I/O port of COM1.
pub(crate) const COM1: u16 = 0x3F8;

const LSR_DATA_READY: u8 = 0x01;
const LSR_THR_EMPTY: u8 = 0x20;
const LSR_TX_EMPTY: u8 = 0x40;
const MCR_LOOPBACK: u8 = 0x10;
const LCR_DLAB: u8 = 0x80;

/// The UART's registers and what it transmitted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Uart {
    ier: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    fcr: u8,
    dll: u8,
    dlm: u8,
    rbr: Option<u8>,
    output: Vec<u8>,
    echo: bool,
}

impl Uart {
    /// A reset UART; `echo` also copies output to standard output.
    pub(crate) fn new(echo: bool) -> Self {
        Self {
            echo,
            ..Self::default()
        }
    }

    /// Everything transmitted so far.
    pub(crate) fn output(&self) -> &[u8] {
        &self.output
    }

    /// Reads register `offset` (0–7).
    pub(crate) fn read(&mut self, offset: u16) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            0 if dlab => self.dll,
            0 => self.rbr.take().unwrap_or(0),
            1 if dlab => self.dlm,
            1 => self.ier,
            // IIR: no interrupt pending; bits 7:6 report the FIFOs when enabled.
            2 => 0x01 | if self.fcr & 1 != 0 { 0xC0 } else { 0 },
            3 => self.lcr,
            4 => self.mcr,
            5 => {
                LSR_THR_EMPTY
                    | LSR_TX_EMPTY
                    | if self.rbr.is_some() {
                        LSR_DATA_READY
                    } else {
                        0
                    }
            }
            // MSR: in loopback the modem inputs mirror MCR; otherwise CTS, DSR, DCD.
            6 if self.mcr & MCR_LOOPBACK != 0 => (self.mcr & 0x0F) << 4,
            6 => 0xB0,
            _ => self.scr,
        }
    }

    /// Writes register `offset` (0–7).
    pub(crate) fn write(&mut self, offset: u16, value: u8) {
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            0 if dlab => self.dll = value,
            0 if self.mcr & MCR_LOOPBACK != 0 => self.rbr = Some(value),
            0 => {
                self.output.push(value);
                if self.echo {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&[value]);
                    if value == b'\n' {
                        let _ = out.flush();
                    }
                }
            }
            1 if dlab => self.dlm = value,
            1 => self.ier = value & 0x0F,
            2 => self.fcr = value,
            3 => self.lcr = value,
            4 => self.mcr = value & 0x1F,
            7 => self.scr = value,
            // LSR and MSR are read-only.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_sequence_and_loopback() {
        let mut uart = Uart::new(false);
        uart.write(1, 0);
        uart.write(3, 0x80);
        uart.write(0, 3);
        uart.write(1, 0);
        assert_eq!(uart.read(0), 3, "divisor latch low");
        uart.write(3, 0x03);
        uart.write(2, 0xC7);
        uart.write(4, 0x1E);
        uart.write(0, 0xAE);
        assert_eq!(uart.read(5) & LSR_DATA_READY, LSR_DATA_READY);
        assert_eq!(uart.read(0), 0xAE);
        uart.write(4, 0x0F);
        uart.write(0, b'x');
        uart.write(7, 0x55);
        assert_eq!(uart.read(7), 0x55);
        assert_eq!(uart.output(), b"x");
        assert_eq!(uart.read(5), 0x60);
    }
}
