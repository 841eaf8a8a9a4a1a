//! A PL011 UART (Arm DDI 0183) for polled output: the data register transmits, the flag
//! register always reports an empty transmit FIFO (never full), the control registers keep
//! what is written, and the PrimeCell identification registers identify a PL011. Nothing is
//! ever received.

use std::io::Write as _;

/// Data register.
const DR: u64 = 0x00;
/// Flag register.
const FR: u64 = 0x18;
/// FR: receive FIFO empty (bit 4), transmit FIFO empty (bit 7); TXFF (bit 5) never set.
const FR_IDLE: u32 = (1 << 4) | (1 << 7);
/// The registers that keep their value: IBRD, FBRD, LCR_H, CR, IFLS, IMSC.
const STORED: [u64; 6] = [0x24, 0x28, 0x2C, 0x30, 0x34, 0x38];
/// Peripheral and PrimeCell ids at 0xFE0–0xFFC (a PL011, revision 1).
const IDS: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

/// The UART and what it transmitted.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pl011 {
    regs: [u32; 6],
    output: Vec<u8>,
    echo: bool,
}

impl Pl011 {
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

    /// Reads the register at `offset`.
    pub(crate) fn read(&self, offset: u64) -> u32 {
        match offset {
            FR => FR_IDLE,
            0xFE0..=0xFFC => IDS[((offset - 0xFE0) / 4) as usize],
            _ => STORED
                .iter()
                .position(|&o| o == offset)
                .map_or(0, |i| self.regs[i]),
        }
    }

    /// Writes the register at `offset`.
    pub(crate) fn write(&mut self, offset: u64, value: u32) {
        if offset == DR {
            let byte = value as u8;
            self.output.push(byte);
            if self.echo {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&[byte]);
                if byte == b'\n' {
                    let _ = out.flush();
                }
            }
        } else if let Some(i) = STORED.iter().position(|&o| o == offset) {
            self.regs[i] = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmits_and_is_never_full() {
        let mut uart = Pl011::new(false);
        uart.write(0x30, 0x301);
        assert_eq!(uart.read(0x30), 0x301);
        uart.write(DR, u32::from(b'h'));
        uart.write(DR, u32::from(b'i'));
        assert_eq!(uart.output(), b"hi");
        assert_eq!(uart.read(FR) & (1 << 5), 0);
        assert_eq!(uart.read(0xFE0), 0x11);
    }
}
