//! Which UART the console uses when the firmware can say (the UEFI entry): the ACPI SPCR's
//! UART when the runtime can drive it, else the platform's legacy one.
//!
//! On x86 the runtime drives a 16550 in I/O port space. It takes the SPCR's UART when the
//! SPCR names a 16550 (full, subset, or 16550-compatible laid out by the Generic Address
//! Structure) in system I/O space; otherwise (no ACPI tables, no SPCR, an SPCR naming
//! another kind of UART, or broken tables) it uses the legacy COM1 at port 0x3F8, which is
//! what QEMU's `-serial` and Hyper-V generation 2 VMs' COM1 provide (QEMU's x86 machines
//! publish no SPCR). The choice, and why, is printed in the `[rt] console:` line.
//!
//! On arm64 the runtime drives a PL011 in system memory ([`Pl011Choice`]). It takes the
//! SPCR's UART when the SPCR names a PL011 or an SBSA generic UART (the PL011 subset that
//! server firmware describes) in system memory, inside the part of the address space the
//! runtime maps as device memory; otherwise the PL011 of QEMU `virt` at 0x0900_0000. AAVMF
//! on QEMU `virt` publishes an SPCR for that PL011.

use core::fmt;

use crate::acpi::{AcpiError, AddressSpace, Spcr, UartInterface};

/// The legacy COM1 I/O port.
pub const COM1_PORT: u16 = 0x3f8;

/// What looking for the SPCR found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpcrLookup {
    /// The firmware gave no ACPI root pointer.
    NoAcpi,
    /// The ACPI tables have no SPCR.
    Absent,
    /// The SPCR.
    Found(Spcr),
    /// The ACPI tables are broken.
    Broken(AcpiError),
}

/// The console UART on x86: a 16550 at an I/O port, and why that one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uart16550Choice {
    /// The I/O port of the UART's first register.
    pub port: u16,
    /// What the SPCR lookup found.
    pub lookup: SpcrLookup,
}

impl Uart16550Choice {
    /// Chooses the SPCR's UART when it is a 16550 in I/O space whose eight registers fit
    /// in the port space, else [`COM1_PORT`].
    pub fn from_spcr(lookup: SpcrLookup) -> Self {
        let port = match lookup {
            SpcrLookup::Found(spcr) => spcr_port(&spcr),
            _ => None,
        };
        Self {
            port: port.unwrap_or(COM1_PORT),
            lookup,
        }
    }

    /// Whether the port came from the SPCR.
    pub fn from_firmware(&self) -> bool {
        matches!(self.lookup, SpcrLookup::Found(spcr) if spcr_port(&spcr).is_some())
    }
}

/// The SPCR's UART port when the runtime can drive it.
fn spcr_port(spcr: &Spcr) -> Option<u16> {
    if !spcr.interface.is_16550() || spcr.base.space != AddressSpace::SYSTEM_IO {
        return None;
    }
    let port = u16::try_from(spcr.base.address).ok()?;
    (port != 0 && port.checked_add(7).is_some()).then_some(port)
}

impl fmt::Display for Uart16550Choice {
    /// `16550 at I/O port 0x3f8 (legacy COM1: no ACPI SPCR)` and the like.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "16550 at I/O port {:#x} (", self.port)?;
        match self.lookup {
            SpcrLookup::Found(spcr) if self.from_firmware() => {
                write!(f, "ACPI SPCR revision {}", spcr.revision)?
            }
            SpcrLookup::Found(spcr) => {
                let space = match spcr.base.space {
                    AddressSpace::SYSTEM_IO => "I/O space",
                    AddressSpace::SYSTEM_MEMORY => "system memory",
                    _ => "address space",
                };
                write!(
                    f,
                    "legacy COM1: the ACPI SPCR names a {} in {space} at {:#x}, not a 16550 \
                     at a usable I/O port",
                    spcr.interface, spcr.base.address
                )?
            }
            SpcrLookup::Absent => f.write_str("legacy COM1: no ACPI SPCR")?,
            SpcrLookup::NoAcpi => f.write_str("legacy COM1: no ACPI tables")?,
            SpcrLookup::Broken(e) => write!(f, "legacy COM1: ACPI tables unusable: {e}")?,
        }
        f.write_str(")")
    }
}

/// The PL011 of QEMU `virt` (`VIRT_UART`), the arm64 console when the firmware names none.
pub const QEMU_VIRT_PL011: u64 = 0x0900_0000;

/// The size of a PL011's (or SBSA generic UART's) register frame.
pub const PL011_FRAME: u64 = 0x1000;

/// The console UART on arm64: a PL011 in system memory, and why that one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pl011Choice {
    /// The physical address of the UART's registers.
    pub base: u64,
    /// What the SPCR lookup found.
    pub lookup: SpcrLookup,
    /// The addresses the runtime can reach the UART at (its device memory): first byte
    /// and one past the last.
    pub usable: (u64, u64),
}

impl Pl011Choice {
    /// Chooses the SPCR's UART when it is a PL011 or SBSA generic UART in system memory
    /// whose 4 KiB register frame lies in `usable` (the runtime's device memory), else
    /// [`QEMU_VIRT_PL011`].
    pub fn from_spcr(lookup: SpcrLookup, usable: (u64, u64)) -> Self {
        let base = match lookup {
            SpcrLookup::Found(spcr) => spcr_pl011(&spcr, usable),
            _ => None,
        };
        Self {
            base: base.unwrap_or(QEMU_VIRT_PL011),
            lookup,
            usable,
        }
    }

    /// Whether the address came from the SPCR.
    pub fn from_firmware(&self) -> bool {
        matches!(self.lookup, SpcrLookup::Found(spcr) if spcr_pl011(&spcr, self.usable).is_some())
    }
}

/// Whether the runtime drives this kind of UART as a PL011.
fn is_pl011(interface: UartInterface) -> bool {
    matches!(
        interface,
        UartInterface::ARM_PL011 | UartInterface::ARM_SBSA_GENERIC | UartInterface::ARM_SBSA_32BIT
    )
}

/// The SPCR's UART address when the arm64 runtime can drive it.
fn spcr_pl011(spcr: &Spcr, (start, end): (u64, u64)) -> Option<u64> {
    let base = spcr.base.address;
    let fits = base
        .checked_add(PL011_FRAME)
        .is_some_and(|frame_end| start <= base && frame_end <= end);
    (is_pl011(spcr.interface) && spcr.base.space == AddressSpace::SYSTEM_MEMORY && fits)
        .then_some(base)
}

impl fmt::Display for Pl011Choice {
    /// `PL011 at 0x9000000 (ACPI SPCR revision 2)`, `PL011 at 0x9000000 (QEMU virt's: no
    /// ACPI SPCR)` and the like.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.lookup {
            SpcrLookup::Found(spcr) if self.from_firmware() => {
                return write!(
                    f,
                    "{} at {:#x} (ACPI SPCR revision {})",
                    spcr.interface, self.base, spcr.revision
                );
            }
            _ => write!(f, "PL011 at {:#x} (QEMU virt's: ", self.base)?,
        }
        match self.lookup {
            SpcrLookup::Found(spcr) => {
                let space = match spcr.base.space {
                    AddressSpace::SYSTEM_IO => "I/O space",
                    AddressSpace::SYSTEM_MEMORY => "system memory",
                    _ => "address space",
                };
                write!(
                    f,
                    "the ACPI SPCR names a {} in {space} at {:#x}",
                    spcr.interface, spcr.base.address
                )?;
                if is_pl011(spcr.interface) && spcr.base.space == AddressSpace::SYSTEM_MEMORY {
                    write!(
                        f,
                        ", outside the runtime's device memory {:#x}-{:#x}",
                        self.usable.0, self.usable.1
                    )?;
                } else {
                    f.write_str(", not a PL011 or SBSA UART in system memory")?;
                }
            }
            SpcrLookup::Absent => f.write_str("no ACPI SPCR")?,
            SpcrLookup::NoAcpi => f.write_str("no ACPI tables")?,
            SpcrLookup::Broken(e) => write!(f, "ACPI tables unusable: {e}")?,
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::acpi::tests::{RSDP_AT, firmware, spcr_body};
    use std::string::ToString;

    fn lookup(spcr: Option<std::vec::Vec<u8>>) -> SpcrLookup {
        match Spcr::find(&firmware(spcr), RSDP_AT) {
            Ok(Some(spcr)) => SpcrLookup::Found(spcr),
            Ok(None) => SpcrLookup::Absent,
            Err(e) => SpcrLookup::Broken(e),
        }
    }

    #[test]
    fn an_spcr_16550_in_io_space_is_used() {
        let choice = Uart16550Choice::from_spcr(lookup(Some(spcr_body(0, 1, 0x2f8))));
        assert_eq!(choice.port, 0x2f8);
        assert!(choice.from_firmware());
        assert_eq!(
            choice.to_string(),
            "16550 at I/O port 0x2f8 (ACPI SPCR revision 2)"
        );
        let gas = Uart16550Choice::from_spcr(lookup(Some(spcr_body(0x12, 1, 0x3e8))));
        assert_eq!(gas.port, 0x3e8);
    }

    #[test]
    fn anything_else_falls_back_to_com1() {
        let pl011 = Uart16550Choice::from_spcr(lookup(Some(spcr_body(3, 0, 0x900_0000))));
        assert_eq!(pl011.port, COM1_PORT);
        assert!(!pl011.from_firmware());
        assert_eq!(
            pl011.to_string(),
            "16550 at I/O port 0x3f8 (legacy COM1: the ACPI SPCR names a PL011 in system \
             memory at 0x9000000, not a 16550 at a usable I/O port)"
        );
        let mmio_16550 = Uart16550Choice::from_spcr(lookup(Some(spcr_body(0, 0, 0xfe00_0000))));
        assert_eq!(mmio_16550.port, COM1_PORT);
        for bad_port in [0, 0xfffc, 0x1_0000] {
            let c = Uart16550Choice::from_spcr(lookup(Some(spcr_body(0, 1, bad_port))));
            assert_eq!(c.port, COM1_PORT, "{bad_port:#x}");
        }
        let absent = Uart16550Choice::from_spcr(lookup(None));
        assert_eq!(
            absent.to_string(),
            "16550 at I/O port 0x3f8 (legacy COM1: no ACPI SPCR)"
        );
        assert_eq!(
            Uart16550Choice::from_spcr(SpcrLookup::NoAcpi).to_string(),
            "16550 at I/O port 0x3f8 (legacy COM1: no ACPI tables)"
        );
        let broken = Uart16550Choice::from_spcr(SpcrLookup::Broken(AcpiError::BadChecksum {
            what: "RSDP",
            paddr: 0xe_0000,
        }));
        assert_eq!(
            broken.to_string(),
            "16550 at I/O port 0x3f8 (legacy COM1: ACPI tables unusable: RSDP at 0xe0000 has \
             a wrong checksum)"
        );
    }

    /// The arm64 runtime's device memory: 2 MiB - 1 GiB.
    const DEVICE: (u64, u64) = (0x20_0000, 0x4000_0000);

    #[test]
    fn an_spcr_pl011_or_sbsa_uart_in_device_memory_is_used() {
        let choice = Pl011Choice::from_spcr(lookup(Some(spcr_body(3, 0, 0x900_0000))), DEVICE);
        assert_eq!(choice.base, 0x900_0000);
        assert!(choice.from_firmware());
        assert_eq!(
            choice.to_string(),
            "PL011 at 0x9000000 (ACPI SPCR revision 2)"
        );
        for sbsa in [0x0d, 0x0e] {
            let c = Pl011Choice::from_spcr(lookup(Some(spcr_body(sbsa, 0, 0x1c09_0000))), DEVICE);
            assert_eq!(c.base, 0x1c09_0000);
            assert!(c.from_firmware());
        }
        let last = Pl011Choice::from_spcr(lookup(Some(spcr_body(3, 0, 0x3fff_f000))), DEVICE);
        assert_eq!(last.base, 0x3fff_f000);
    }

    #[test]
    fn anything_else_falls_back_to_the_qemu_virt_pl011() {
        let com1 = Pl011Choice::from_spcr(lookup(Some(spcr_body(0, 1, 0x3f8))), DEVICE);
        assert_eq!(com1.base, QEMU_VIRT_PL011);
        assert!(!com1.from_firmware());
        assert_eq!(
            com1.to_string(),
            "PL011 at 0x9000000 (QEMU virt's: the ACPI SPCR names a 16550 in I/O space at \
             0x3f8, not a PL011 or SBSA UART in system memory)"
        );
        let high = Pl011Choice::from_spcr(lookup(Some(spcr_body(3, 0, 0xeffe_c000))), DEVICE);
        assert_eq!(high.base, QEMU_VIRT_PL011);
        assert_eq!(
            high.to_string(),
            "PL011 at 0x9000000 (QEMU virt's: the ACPI SPCR names a PL011 in system memory at \
             0xeffec000, outside the runtime's device memory 0x200000-0x40000000)"
        );
        for bad in [0, 0x1000, 0x3fff_f001, u64::MAX - 0xfff] {
            let c = Pl011Choice::from_spcr(lookup(Some(spcr_body(3, 0, bad))), DEVICE);
            assert_eq!(c.base, QEMU_VIRT_PL011, "{bad:#x}");
        }
        let io = Pl011Choice::from_spcr(lookup(Some(spcr_body(3, 1, 0x900_0000))), DEVICE);
        assert!(!io.from_firmware());
        assert_eq!(
            Pl011Choice::from_spcr(lookup(None), DEVICE).to_string(),
            "PL011 at 0x9000000 (QEMU virt's: no ACPI SPCR)"
        );
        assert_eq!(
            Pl011Choice::from_spcr(SpcrLookup::NoAcpi, DEVICE).to_string(),
            "PL011 at 0x9000000 (QEMU virt's: no ACPI tables)"
        );
        let broken = SpcrLookup::Broken(AcpiError::BadSignature {
            what: "XSDT",
            paddr: 0x4000_0000,
        });
        assert_eq!(
            Pl011Choice::from_spcr(broken, DEVICE).to_string(),
            "PL011 at 0x9000000 (QEMU virt's: ACPI tables unusable: XSDT at 0x40000000 has a \
             wrong signature)"
        );
    }
}
